/**
 * Start-up bench (issue 12, "fast start"): process wall time of `birealsim` commands as a user runs them
 * (`node bin/birealsim.mjs ...`, spawn to exit, output discarded), over >= 10 runs each, against the
 * targets: `--version` < 0.3 s, `cost bireal18-imagenet` < 0.6 s, `simulate bireal18-imagenet --arch edge`
 * < 1 s. A target is met (PASS) when the median run is under it; min and max are printed beside it.
 * Commands are interleaved (run 1 of each, then run 2 of each, ...) after one untimed warm-up run each,
 * so load from other jobs spreads over all of them; the load average before and after is printed.
 * The launcher runs dist/ only when the build is fresh (bin/build-stamp.mjs); the section says which ran,
 * since a stale build measures the TypeScript sources through tsx.
 * Standalone: node bin/run-ts.mjs bench/startup.ts [--runs N]
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleReason } from '../bin/build-stamp.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'birealsim.mjs');

export interface StartupTarget { args: string[]; targetS: number }
export const TARGETS: StartupTarget[] = [
  { args: ['--version'], targetS: 0.3 },
  { args: ['cost', 'bireal18-imagenet'], targetS: 0.6 },
  { args: ['simulate', 'bireal18-imagenet', '--arch', 'edge'], targetS: 1 },
];

export interface StartupRow { command: string; runs: number; medianS: number; minS: number; maxS: number; targetS: number; pass: boolean }

/** Wall time of one `node bin/birealsim.mjs args` process, in seconds; throws when it does not exit 0. */
function timeOnce(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`birealsim ${args.join(' ')} exited ${r.status}: ${r.stderr.trim().split('\n')[0] ?? ''}`);
  return s;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function measureStartup(runs = 10, targets = TARGETS): StartupRow[] {
  if (!(runs >= 1)) throw new Error(`runs must be >= 1, got ${runs}`);
  for (const t of targets) timeOnce(t.args); // warm-up: file cache, not counted
  const times = targets.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) targets.forEach((t, k) => times[k].push(timeOnce(t.args)));
  return targets.map((t, k) => {
    const m = median(times[k]);
    return { command: `birealsim ${t.args.join(' ')}`, runs, medianS: m, minS: Math.min(...times[k]), maxS: Math.max(...times[k]), targetS: t.targetS, pass: m < t.targetS };
  });
}

const f3 = (x: number) => x.toFixed(3);

export async function benchStartup(runs = runsArg()): Promise<{ markdown: string; rows: StartupRow[] }> {
  const stale = staleReason(ROOT);
  const loadBefore = loadavg();
  const rows = measureStartup(runs);
  const loadAfter = loadavg();
  const markdown = [
    `Runs: ${stale === null ? 'the compiled CLI (dist/ is fresh)' : `the TypeScript sources through tsx: dist/ is not usable (${stale}); \`npm run build\` first to measure the build`}.`,
    `Load average (1/5/15 min) before: ${loadBefore.map((x) => x.toFixed(2)).join(' / ')}; after: ${loadAfter.map((x) => x.toFixed(2)).join(' / ')} (the targets are for an idle machine).`,
    '',
    '| command | runs | median [s] | min [s] | max [s] | target [s] | result |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| \`${r.command}\` | ${r.runs} | ${f3(r.medianS)} | ${f3(r.minS)} | ${f3(r.maxS)} | < ${r.targetS} | ${r.pass ? 'PASS' : 'MISS'} |`),
    '',
    'Process wall time: spawn to exit of `node bin/birealsim.mjs <args>`, output discarded; PASS = median under the target.',
  ].join('\n');
  return { markdown, rows };
}

function runsArg(): number {
  const i = process.argv.indexOf('--runs');
  return i >= 0 ? Number(process.argv[i + 1]) : 10;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  process.stdout.write((await benchStartup()).markdown + '\n');
}
