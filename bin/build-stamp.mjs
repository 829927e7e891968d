// The build stamp: which source files dist/ was compiled from, so the launcher never runs a stale build.
//
// scripts/build.mjs records, before it reads any source, the size and modification time of every build
// input (every file under src/, plus the build's own configuration and scripts) in dist/.build-stamp.json.
// distIsFresh() re-lists the same inputs and compares: any file added, removed, resized or with a different
// mtime (older as well as newer: a checkout can move times backwards) makes dist/ stale, and the launcher
// then runs the TypeScript sources instead. It costs one readdir per src/ folder and one stat per file
// (a few milliseconds for ~150 files); it reads no file contents.
// Plain JavaScript: the launcher imports it before any TypeScript loader exists.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const STAMP_FILE = '.build-stamp.json';
export const STAMP_SCHEMA = 'birealsim.build-stamp/1';
/** Build inputs outside src/ (paths relative to the project root). */
export const EXTRA_INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs', 'bin/build-stamp.mjs'];

/** { 'src/cli/main.ts': [sizeBytes, mtimeMs], ... } for every build input under `root`, in path order. */
export function listInputs(root) {
  const out = {};
  const walk = (rel) => {
    for (const d of readdirSync(join(root, rel), { withFileTypes: true })) {
      const p = `${rel}/${d.name}`;
      if (d.isDirectory()) walk(p);
      else if (d.isFile()) {
        const s = statSync(join(root, p));
        out[p] = [s.size, s.mtimeMs];
      }
    }
  };
  walk('src');
  for (const p of EXTRA_INPUTS) {
    try {
      const s = statSync(join(root, p));
      out[p] = [s.size, s.mtimeMs];
    } catch { /* an absent optional input is recorded as absent */ }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The stamp text for the inputs listed now. */
export function stampText(inputs) {
  const lines = Object.entries(inputs).map(([p, v]) => `  ${JSON.stringify(p)}: ${JSON.stringify(v)}`);
  return `{\n "schema": ${JSON.stringify(STAMP_SCHEMA)},\n "inputs": {\n${lines.join(',\n')}\n }\n}\n`;
}

/**
 * Why dist/ under `root` must not run, or null when it is fresh: 'no build' (no stamp), or the first input
 * that differs from the stamp ('src/cli/main.ts changed', '... added', '... removed').
 */
export function staleReason(root, distDir = join(root, 'dist')) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(distDir, STAMP_FILE), 'utf8'));
  } catch {
    return 'no build';
  }
  if (stamp?.schema !== STAMP_SCHEMA || typeof stamp.inputs !== 'object') return 'unknown stamp format';
  const now = listInputs(root);
  for (const [p, v] of Object.entries(now)) {
    const was = stamp.inputs[p];
    if (!was) return `${p} added`;
    if (was[0] !== v[0] || was[1] !== v[1]) return `${p} changed`;
  }
  for (const p of Object.keys(stamp.inputs)) if (!(p in now)) return `${p} removed`;
  return null;
}
