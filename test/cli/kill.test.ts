/**
 * kill -9 tests (issue 15 item 6): `train`, `sweep`, `export` and `report` run as child processes
 * (bin/birealsim.mjs) and are SIGKILLed mid-run; the output location must then hold the old complete set
 * (or nothing) or a complete new set, never a mix and never a half-written file; the same command run again
 * succeeds (train and sweep resume), takes over the dead run's lock and cleans its stale temps.
 *
 * Kill points: as soon as the run has visibly started its work (train: its first checkpoint in <out>.partial;
 * sweep: its first point line; report: its temp directory; export: its new file, i.e. during its golden
 * check), else after a seeded random delay. A run that finishes before the kill is accepted (then the new set
 * must be complete), so the tests are not timing-flaky; the planted temps cover a kill inside a write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runCli } from './run-cli.ts';
import { writeSynthetic } from '../train/synthetic.ts';
import { tinyBireal } from '../train/gradcheck.ts';
import { loadModel } from '../../src/ir/model.ts';
import { readSweepFile } from '../../src/report/sweep-file.ts';
import { Rng } from '../../src/core/rng.ts';

let root = '';
const P = (...p: string[]) => join(root, ...p);
const TRAIN = () => ['--model', P('tiny.json'), '--dataset', `idx:${P('data')}`, '--pre-epochs', '0', '--batch', '16', '--replicas', '1', '--gemm', 'js', '--quiet'];

/** Spawns the CLI; SIGKILLs it once `ready()` holds (polled every 5 ms) or after `afterMs`. Returns whether it was killed before exiting, and its pid. */
async function killMidRun(args: string[], when: { ready?: () => boolean; afterMs?: number }, timeoutMs = 60000): Promise<{ killed: boolean; pid: number }> {
  const child = spawn(process.execPath, ['bin/birealsim.mjs', ...args], { stdio: 'ignore' });
  let exited = false;
  const done = new Promise<void>((res) => child.on('exit', () => { exited = true; res(); }));
  const t0 = Date.now();
  while (!exited && Date.now() - t0 < timeoutMs && !(when.ready?.() ?? false) && !(when.afterMs !== undefined && Date.now() - t0 >= when.afterMs)) await new Promise((r) => setTimeout(r, 5));
  const killed = !exited && child.kill('SIGKILL');
  await done;
  if (process.env.KILL_DEBUG) console.log(args[0], killed ? `killed after ${Date.now() - t0} ms` : 'finished before the kill');
  return { killed, pid: child.pid! };
}

const strays = (dir: string) => readdirSync(dir).filter((e) => /\.(tmp|old)-\d+-|\.lock$|\.partial$/.test(e));

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'birealsim-kill-'));
  writeSynthetic(P('data'), 96, 30);
  writeFileSync(P('tiny.json'), JSON.stringify(tinyBireal()));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('kill -9 leaves the old or the new complete output, and a re-run recovers', () => {
  it('train: <out> keeps the old set while the killed run resumes from <out>.partial', async () => {
    const out = P('run');
    expect((await runCli(['train', ...TRAIN(), '--epochs', '2', '--out', out])).code).toBe(0);
    const old = new Map(readdirSync(out).map((f) => [f, readFileSync(join(out, f))]));
    expect([...old.keys()].sort()).toEqual(['checkpoint.safetensors', 'metrics.jsonl', 'model.safetensors']);
    const EPOCHS = 30;
    const k = await killMidRun(['train', ...TRAIN(), '--epochs', String(EPOCHS), '--seed', '2', '--out', out], { ready: () => existsSync(P('run.partial', 'checkpoint.safetensors')) });
    const now = readdirSync(out).sort();
    if (k.killed) {
      // the old set, byte for byte: nothing of the new run mixed in
      expect(now).toEqual([...old.keys()].sort());
      for (const f of now) expect(readFileSync(join(out, f)).equals(old.get(f)!), f).toBe(true);
      expect(readFileSync(P('run.lock'), 'utf8')).toBe(String(k.pid)); // the dead run's lock
    } else {
      expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(EPOCHS);
    }
    mkdirSync(P(`.run.tmp-${k.pid}-dead`)); // as if killed inside a swap
    const r = await runCli(['train', ...TRAIN(), '--epochs', String(EPOCHS), '--seed', '2', '--out', out, ...(k.killed ? ['--resume'] : [])]);
    expect(r.code, r.err).toBe(0);
    expect(loadModel(join(out, 'model.safetensors')).kind).toBe('latent');
    const epochs = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).epoch);
    expect(epochs).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1)); // the new run only, each epoch once
    expect(strays(root)).toEqual([]);
  }, 60000);

  it('sweep: the file holds only complete points; the re-run takes over the lock and completes it', async () => {
    const spec = P('spec.json');
    writeFileSync(spec, JSON.stringify({ schema: 'birealsim.sweep-spec/1', name: 'kill', workload: 'bireal-mnist', arch: 'edge', mode: 'grid', axes: { 'peArray.rows': [8, 16, 32, 64], 'dram.bandwidth': ['3.2 GB/s', '25.6 GB/s'] } }));
    const out = P('sweep.jsonl');
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 2 : 0);
    const k = await killMidRun(['sweep', spec, '--out', out, '--workers', '0', '--quiet'], { ready: () => lines() >= 1 });
    const before = readSweepFile(out); // parses: a header and complete point lines (at most a torn tail, which readers drop)
    if (k.killed) { expect(before.points.length).toBeLessThan(8); expect(existsSync(`${out}.lock`)).toBe(true); }
    const r = await runCli(['sweep', spec, '--out', out, '--workers', '0']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`${before.points.length} already in the file`);
    expect(readSweepFile(out).points.map((p) => p.index).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(strays(root)).toEqual([]);
  }, 60000);

  it('export: the target is the old model or the complete new one; a dead writer\'s temp is cleaned', async () => {
    const dep = P('dep.safetensors');
    if (!existsSync(P('run', 'model.safetensors'))) expect((await runCli(['train', ...TRAIN(), '--epochs', '1', '--out', P('run')])).code).toBe(0); // run alone (-t)
    const args = (extra: string[]) => ['export', P('run', 'model.safetensors'), '--dataset', `idx:${P('data')}`, '--out', dep, '--gemm', 'js', ...extra];
    expect((await runCli(args(['--no-check']))).code).toBe(0);
    const old = readFileSync(dep);
    // killed right after it replaced the file (during its golden check), or at a seeded random moment if that never shows
    const k = await killMidRun(args(['--bn-reestimate', '2', '--batch', '16']), { ready: () => !readFileSync(dep).equals(old), afterMs: 4000 + Math.floor(new Rng(15).uniform() * 4000) });
    const now = readFileSync(dep);
    if (!now.equals(old)) expect(loadModel(dep).kind).toBe('deployable'); // complete, not torn
    writeFileSync(P(`.dep.safetensors.tmp-${k.pid}-dead`), now.subarray(0, 100)); // as if killed inside the write
    const r = await runCli(args(['--bn-reestimate', '2', '--batch', '16']));
    expect(r.code, r.err).toBe(0);
    expect(loadModel(dep).kind).toBe('deployable');
    expect(readFileSync(dep).equals(old)).toBe(false); // the re-estimated model replaced the old one
    expect(strays(root)).toEqual([]);
  }, 60000);

  it('report: every report file is from the old run or every one from the new run; the re-run cleans up', async () => {
    const out = P('rep');
    const titled = (t: string) => ['report', 'paper-table', ...(existsSync(P('sweep.jsonl')) ? [P('sweep.jsonl')] : []), '--out', out, '--title', t];
    expect((await runCli(titled('OLD-REPORT'))).code).toBe(0);
    writeFileSync(join(out, 'NOTES.md'), 'mine');
    const tmpSeen = () => readdirSync(root).some((e) => e.startsWith('.rep.tmp-'));
    const k = await killMidRun([...titled('NEW-REPORT'), '--png'], { ready: tmpSeen });
    const which = ['report.json', 'report.txt', 'report.md', 'report.html'].map((f) => {
      const t = readFileSync(join(out, f), 'utf8');
      return t.includes('OLD-REPORT') ? 'old' : t.includes('NEW-REPORT') ? 'new' : 'neither';
    });
    expect(new Set(which).size, which.join()).toBe(1);
    expect(which[0]).not.toBe('neither');
    expect(existsSync(join(out, 'img'))).toBe(which[0] === 'new'); // the PNGs belong to the new set only
    expect(readFileSync(join(out, 'NOTES.md'), 'utf8')).toBe('mine');
    if (k.killed) expect(which[0]).toBe('old');
    const r = await runCli([...titled('NEW-REPORT-2'), '--png']);
    expect(r.code, r.err).toBe(0);
    for (const f of ['report.json', 'report.txt', 'report.md', 'report.html']) expect(readFileSync(join(out, f), 'utf8')).toContain('NEW-REPORT-2');
    expect(readdirSync(join(out, 'img')).length).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'NOTES.md'), 'utf8')).toBe('mine');
    expect(strays(root)).toEqual([]);
  }, 60000);
});
