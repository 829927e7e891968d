#!/usr/bin/env node
// Build: compiles src/ (TypeScript) into dist/ (JavaScript, same folder layout, so paths a module computes
// from its own location, such as ../../arch or ../../package.json, still resolve), so the CLI starts without
// transpiling. `npm ci` runs it through the `prepare` script; `npm run build` runs it by hand.
//
// Steps, in order, each writing into a fresh temporary folder that replaces dist/ only when every step
// succeeded (an interrupted or failed build never leaves a half-written dist/):
//   1. stamp     record every build input's size and mtime (bin/build-stamp.mjs) BEFORE reading any,
//                so an edit made during the build makes the result stale rather than silently old
//   2. compile   TypeScript 5.9 with tsconfig.build.json: type-checked; `rewriteRelativeImportExtensions`
//                turns the sources' './x.ts' specifiers into './x.js'; a type error fails the build
//   3. assets    every other file under src/ is copied (worker bootstraps *.mjs, torch_infer.py, ...);
//                a worker bootstrap that registers tsx to import its TypeScript body is rewritten to
//                import the compiled body instead (the sources keep their tsx bootstrap for vitest/tsx)
//   4. explore   the browser bundle of `birealsim explore` (src/explore/bundle.ts: esbuild, the simulator and
//                its imports as one script) into dist/explore/explore-app.js, so the command only inlines it
//   Further steps (for example: precompile the WebAssembly kernels into dist/kernels/kernels.wasm) go in
//   STEPS below; each gets the context { root, out, log }, may be async, and writes only under `out`; it
//   runs after `compile`, so it can import the compiled modules from `out` (e.g. out/kernels/wat.js).
// Usage: node scripts/build.mjs [--quiet] [--if-stale (do nothing when dist/ is fresh)]
//        [--out DIR (instead of dist/; a folder beside src/, e.g. dist-test, keeps paths like ../../arch valid)]
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { listInputs, staleReason, stampText, STAMP_FILE } from '../bin/build-stamp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const log = (s) => { if (!quiet) process.stdout.write(`build: ${s}\n`); };

class BuildError extends Error {}

// the TypeScript compiler API: a devDependency, so absent after `npm ci --omit=dev` (see main below)
let ts = null;
try {
  ts = (await import('typescript')).default;
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
}

/** TypeScript: type-check src/ and emit JavaScript into ctx.out (tsconfig.build.json with outDir redirected). */
function compile(ctx) {
  const configPath = join(ctx.root, 'tsconfig.build.json');
  const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new BuildError(format([d])); } };
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, { outDir: ctx.out }, host);
  if (parsed.errors.length) throw new BuildError(format(parsed.errors));
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, projectReferences: parsed.projectReferences });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length) throw new BuildError(`type errors (dist/ left unchanged):\n${format(diagnostics)}`);
  const emitted = program.emit();
  if (emitted.emitSkipped || emitted.diagnostics.length) throw new BuildError(`emit failed:\n${format(emitted.diagnostics)}`);
  log(`compiled ${parsed.fileNames.length} TypeScript files`);
}

function format(diagnostics) {
  return ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' });
}

/**
 * A worker bootstrap of the form
 *     import { register } from 'tsx/esm/api';
 *     register();
 *     await import('./body.ts');
 * becomes `await import('./body.js');` (comments kept). Anything else that mentions tsx is refused, so a
 * new kind of bootstrap is noticed here rather than failing inside a worker at run time.
 */
export function compiledBootstrap(text, file) {
  if (!/tsx/.test(text)) return text;
  const lines = text.split('\n');
  const kept = [];
  for (const line of lines) {
    const t = line.trim();
    if (/^import\s*\{\s*register\s*\}\s*from\s*['"]tsx\/esm\/api['"];?$/.test(t)) continue;
    if (/^register\(\);?$/.test(t)) continue;
    kept.push(line.replace(/(import\(\s*['"]\.{1,2}\/[^'"]*)\.ts(['"]\s*\))/g, '$1.js$2'));
  }
  const out = kept.join('\n');
  const code = out.split('\n').filter((l) => !l.trim().startsWith('//')).join('\n');
  if (/tsx/.test(code) || /['"][^'"]*\.ts['"]/.test(code)) {
    throw new BuildError(`${file}: a worker bootstrap this build does not know how to compile (expected: import { register } from 'tsx/esm/api'; register(); await import('./x.ts');)`);
  }
  if (out === text) return text;
  return `// compiled by scripts/build.mjs from ${file}: imports the compiled worker body, no TypeScript loader\n${out}`;
}

/** Copies every non-TypeScript file under src/ into ctx.out (worker bootstraps compiled, see above). */
function assets(ctx) {
  let n = 0;
  const walk = (rel) => {
    for (const d of readdirSync(join(ctx.root, 'src', rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) { walk(p); continue; }
      if (!d.isFile() || /\.(c|m)?ts$/.test(d.name)) continue;
      const from = join(ctx.root, 'src', p), to = join(ctx.out, p);
      mkdirSync(dirname(to), { recursive: true });
      if (d.name.endsWith('.mjs')) writeFileSync(to, compiledBootstrap(readFileSync(from, 'utf8'), `src/${p}`));
      else cpSync(from, to);
      n++;
    }
  };
  walk('');
  log(`copied ${n} other files from src/`);
}

/** The explorer page's browser bundle (src/explore/bundle.ts, compiled by `compile`) into ctx.out/explore/. */
async function exploreBundle(ctx) {
  const { buildExploreBundle, EXPLORE_BUNDLE_FILE } = await import(pathToFileURL(join(ctx.out, 'explore', 'bundle.js')).href);
  const text = await buildExploreBundle(ctx.root);
  writeFileSync(join(ctx.out, 'explore', EXPLORE_BUNDLE_FILE), text);
  log(`bundled the explorer's browser script (${(text.length / 1e3).toFixed(0)} kB)`);
}

export const STEPS = [compile, assets, exploreBundle];

/** Builds into `dist` (default <root>/dist), replacing it only when every step succeeded. */
export async function build(dist = join(root, 'dist')) {
  const t0 = performance.now();
  const out = `${dist}.tmp-${process.pid}`;
  const stamp = stampText(listInputs(root));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  try {
    const ctx = { root, out, log };
    for (const step of STEPS) await step(ctx); // a step may be async (e.g. one that instantiates wabt)
    writeFileSync(join(out, STAMP_FILE), stamp);
    // swap into place: the old build is moved aside first (a folder cannot be renamed onto a non-empty one)
    const old = `${dist}.old-${process.pid}`;
    let hadOld = true;
    try { renameSync(dist, old); } catch (e) { if (e.code !== 'ENOENT') throw e; hadOld = false; }
    renameSync(out, dist);
    if (hadOld) rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(out, { recursive: true, force: true });
    throw e;
  }
  log(`wrote ${relative(process.cwd(), dist) || '.'} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    if (!ts) {
      // no compiler, so no build; bin/birealsim.mjs then runs the sources through tsx (a dependency)
      process.stderr.write('build: skipped: the typescript package is not installed (dev dependencies omitted?); birealsim will run the sources through tsx\n');
      process.exit(0);
    }
    const o = process.argv.indexOf('--out');
    if (o >= 0 && !process.argv[o + 1]) throw new BuildError('--out needs a folder');
    const dist = o >= 0 ? resolve(process.argv[o + 1]) : join(root, 'dist');
    if (dirname(dist) !== root) throw new BuildError(`--out ${dist}: expected a folder directly inside ${root}, beside src/`);
    if (existsSync(dist) && !existsSync(join(dist, STAMP_FILE))) throw new BuildError(`--out ${dist}: exists and is not a build folder (no ${STAMP_FILE}); refusing to replace it`);
    const stale = process.argv.includes('--if-stale') ? staleReason(root, dist) : 'asked';
    if (stale === null) log(`${relative(process.cwd(), dist)} is fresh (--if-stale): nothing to do`);
    else await build(dist);
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
    process.stderr.write(`build failed: ${e.message}\n`);
    process.exit(1);
  }
}
