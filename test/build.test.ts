/**
 * The build (scripts/build.mjs) and the launcher's staleness check (bin/build-stamp.mjs):
 * - the compiled CLI answers like the sources: same --version, same `cost` table, same `run` logits (fast
 *   kernels: the pool worker), same trained weights with 2 replicas (the compiled replica-worker bootstrap);
 *   the compiled sweep-worker bootstrap is exercised by report/sweep.test.ts, whose spawned `birealsim
 *   sweep --workers 2` runs dist/ when it is fresh (as in CI);
 * - the launcher runs dist/ only while every source matches the build stamp, and the sources otherwise.
 * The compiled tree is dist/ when it is fresh (as after `npm ci`); when a developer's dist/ is stale, a
 * side build into dist-test-<pid>/ is made (and removed) so the test never checks old output.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { listInputs, staleReason, stampText, STAMP_FILE } from '../bin/build-stamp.mjs';
import { compiledBootstrap } from '../scripts/build.mjs';
import { main } from '../src/cli/main.ts';
import { decodeSafetensors } from '../src/core/safetensors.ts';
import { tinyBireal } from './train/gradcheck.ts';
import { writeSynthetic } from './train/synthetic.ts';

const ROOT = process.cwd();
let compiled = '', sideBuild = '', dir = '';

/** Runs the compiled CLI in `compiled` (its cli/main.js), as the launcher does when dist/ is fresh. */
function runCompiled(args: string[]) {
  const runner = join(dir, 'run-compiled.mjs');
  if (!existsSync(runner)) writeFileSync(runner, 'const { main } = await import(process.argv[2]);\nprocess.exitCode = await main(process.argv.slice(3));\n');
  return spawnSync(process.execPath, [runner, pathToFileURL(join(compiled, 'cli', 'main.js')).href, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

async function runSources(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  try { return { code: await main(args), out, err }; } finally { o.mockRestore(); e.mockRestore(); }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'birealsim-build-'));
  if (staleReason(ROOT) === null) compiled = join(ROOT, 'dist');
  else {
    sideBuild = join(ROOT, `dist-test-${process.pid}`);
    const b = spawnSync(process.execPath, ['scripts/build.mjs', '--quiet', '--out', sideBuild], { encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    compiled = sideBuild;
  }
}, 300000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  if (sideBuild) rmSync(sideBuild, { recursive: true, force: true });
});

describe('compiled CLI = sources', () => {
  it('--version and the cost table are identical', async () => {
    const v = runCompiled(['--version']);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    const c = runCompiled(['cost', 'bireal18-imagenet']);
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/bireal18-imagenet\s+10,985,472\s/);
    const s = await runSources(['cost', 'bireal18-imagenet']);
    expect(s.code).toBe(0);
    expect(c.stdout).toBe(s.out);
  });

  it('explore: the page from the build (prebuilt browser bundle) is the page from the sources (bundled in memory)', async () => {
    expect(existsSync(join(compiled, 'explore', 'explore-app.js'))).toBe(true);
    const c = runCompiled(['explore', '--out', join(dir, 'compiled.html')]);
    expect(c.status, c.stderr).toBe(0);
    const s = await runSources(['explore', '--out', join(dir, 'sources.html')]);
    expect(s.code, s.err).toBe(0);
    expect(readFileSync(join(dir, 'compiled.html'), 'utf8')).toBe(readFileSync(join(dir, 'sources.html'), 'utf8'));
  });

  it('run with the fast kernels (pool worker threads): same logits', async () => {
    const c = runCompiled(['run', 'bireal-mnist', '--seed', '7', '--json']);
    expect(c.status, c.stderr).toBe(0);
    const s = await runSources(['run', 'bireal-mnist', '--seed', '7', '--json']);
    expect(s.code).toBe(0);
    const a = JSON.parse(c.stdout), b = JSON.parse(s.out);
    expect(a.logits.length).toBe(10);
    expect(a.logits).toEqual(b.logits);
  });

  it('training with 2 replicas (compiled replica-worker bootstrap): the same weights, bit for bit', async () => {
    const data = join(dir, 'idx');
    writeSynthetic(data, 48, 12);
    const wl = join(dir, 'tiny.json');
    writeFileSync(wl, JSON.stringify(tinyBireal()));
    const args = (out: string) => ['train', '--model', wl, '--dataset', `idx:${data}`, '--pre-epochs', '1', '--epochs', '1', '--batch', '16', '--replicas', '2', '--seed', '5', '--quiet', '--out', join(dir, out)];
    const c = runCompiled(args('dist-run'));
    expect(c.status, c.stderr).toBe(0);
    const s = await runSources(args('src-run'));
    expect(s.code, s.err).toBe(0);
    // the metadata differs only in the command line (--out) and the training time: compare every tensor
    const tensors = (run: string) => decodeSafetensors(readFileSync(join(dir, run, 'model.safetensors'))).tensors;
    const a = tensors('dist-run'), b = tensors('src-run');
    expect(a.size).toBeGreaterThan(10);
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [k, t] of a) expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(b.get(k)!.data.buffer, b.get(k)!.data.byteOffset, b.get(k)!.data.byteLength)), k).toBe(true);
  });
});

describe('worker bootstraps in the build', () => {
  it('a tsx bootstrap becomes a plain import of the compiled body; plain ones are copied unchanged', () => {
    const boot = "// comment: registers tsx\nimport { register } from 'tsx/esm/api';\nregister();\nawait import('./w-main.ts');\n";
    const out = compiledBootstrap(boot, 'src/x/w.mjs');
    expect(out).toContain("await import('./w-main.js');");
    expect(out.split('\n').filter((l) => !l.startsWith('//')).join('\n')).not.toMatch(/tsx|register|\.ts'/);
    const plain = "// plain JS, no TypeScript loader (not tsx)\nexport const x = 1;\n";
    expect(compiledBootstrap(plain, 'src/x/p.mjs')).toBe(plain);
    expect(() => compiledBootstrap("import { tsImport } from 'tsx/esm/api';\nawait tsImport('./a.ts', import.meta.url);\n", 'src/x/odd.mjs')).toThrow(/src\/x\/odd\.mjs: a worker bootstrap this build does not know/);
  });
  it('the compiled tree has every bootstrap, none of them loading TypeScript', () => {
    for (const f of ['kernels/pool-worker.mjs', 'train/replica-worker.mjs', 'report/sweep-worker.mjs']) {
      const code = readFileSync(join(compiled, f), 'utf8').split('\n').filter((l) => !l.trim().startsWith('//')).join('\n');
      expect(code, f).not.toMatch(/tsx|\.ts['"]/);
    }
    expect(existsSync(join(compiled, 'cli', 'torch_infer.py'))).toBe(true);
  });
});

describe('staleness: the launcher never runs an old build', () => {
  // a miniature project: the real launcher and stamp module, a src/ and a dist/ whose main() say which ran
  let proj = '';
  const mainSays = (who: string) => `export async function main(args) { process.stdout.write('${who} ' + args.join(',') + '\\n'); return 0; }\n`;
  const launch = (env: Record<string, string> = {}) => spawnSync(process.execPath, [join(proj, 'bin', 'birealsim.mjs'), 'a', 'b'], { encoding: 'utf8', env: { ...process.env, ...env } });
  const restamp = () => writeFileSync(join(proj, 'dist', STAMP_FILE), stampText(listInputs(proj)));
  beforeAll(() => {
    proj = join(dir, 'proj');
    mkdirSync(join(proj, 'bin'), { recursive: true });
    for (const f of ['birealsim.mjs', 'build-stamp.mjs']) cpSync(join(ROOT, 'bin', f), join(proj, 'bin', f));
    symlinkSync(join(ROOT, 'node_modules'), join(proj, 'node_modules'));
    writeFileSync(join(proj, 'package.json'), '{ "type": "module" }\n');
    mkdirSync(join(proj, 'src', 'cli'), { recursive: true });
    writeFileSync(join(proj, 'src', 'cli', 'main.ts'), mainSays('from-src').replace('(args)', '(args: string[]): Promise<number>'));
    writeFileSync(join(proj, 'src', 'cli', 'util.ts'), 'export const u = 1;\n');
    mkdirSync(join(proj, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(proj, 'dist', 'cli', 'main.js'), mainSays('from-dist'));
  });

  it('detects an edited, re-dated (even to an older time), added or removed source, and no build', () => {
    expect(staleReason(proj)).toBe('no build');
    restamp();
    expect(staleReason(proj)).toBeNull();
    const util = join(proj, 'src', 'cli', 'util.ts');
    writeFileSync(util, 'export const u = 2;\n'); // same size, new mtime
    expect(staleReason(proj)).toBe('src/cli/util.ts changed');
    restamp();
    utimesSync(util, new Date(2001, 0, 1), new Date(2001, 0, 1)); // e.g. a checkout restoring an older file
    expect(staleReason(proj)).toBe('src/cli/util.ts changed');
    restamp();
    writeFileSync(join(proj, 'src', 'cli', 'new.ts'), '');
    expect(staleReason(proj)).toBe('src/cli/new.ts added');
    restamp();
    unlinkSync(join(proj, 'src', 'cli', 'new.ts'));
    expect(staleReason(proj)).toBe('src/cli/new.ts removed');
    restamp();
    writeFileSync(join(proj, 'tsconfig.json'), '{}');
    expect(staleReason(proj)).toBe('tsconfig.json added');
    restamp();
    expect(staleReason(proj)).toBeNull();
  });

  it('the launcher runs dist/ while fresh, the sources once one changed, and obeys BIREALSIM_FROM', () => {
    restamp();
    expect(launch().stdout).toBe('from-dist a,b\n');
    writeFileSync(join(proj, 'src', 'cli', 'util.ts'), 'export const u = 3;\n');
    const r = launch();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('from-src a,b\n');
    expect(launch({ BIREALSIM_FROM: 'dist' }).stdout).toBe('from-dist a,b\n');
    restamp();
    expect(launch({ BIREALSIM_FROM: 'src' }).stdout).toBe('from-src a,b\n');
    const bad = launch({ BIREALSIM_FROM: 'build' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/BIREALSIM_FROM must be 'src' or 'dist'/);
  });
});
