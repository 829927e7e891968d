/**
 * Sweeps: deterministic point lists and shards, resume after a kill (spawned CLI, SIGKILL midway, plus a
 * torn trailing line), merge of shards, Pareto fronts against a brute-force oracle.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { UserError } from '../../src/core/diagnostics.ts';
import { Rng } from '../../src/core/rng.ts';
import { paretoFront, paretoFront2 } from '../../src/report/pareto.ts';
import { mergeSweepFiles, parseSweepText, readSweepFile, SweepWriter } from '../../src/report/sweep-file.ts';
import { runSweep, sweepHeader } from '../../src/report/sweep-run.ts';
import { applyPoint, checkSweepSize, gridIndices, gridPoint, gridSize, inShard, pointsInShard, specHash, validateSpec, type SweepSpec } from '../../src/report/sweep-spec.ts';
import { loadBaseArch, makeEvaluator } from '../../src/report/sweep-eval.ts';
import { MICRO_SPEC, cli } from './fixtures.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'birealsim-sweep-test-'));

describe('sweep grids are counted and enumerated lazily', () => {
  const axes = (n: number) => Object.fromEntries(['peArray.rows', 'peArray.cols', 'postProcessing.lanes', 'pooling.lanes', 'realUnit.macsPerCycle', 'buffers.*.banks', 'peArray.laneBits', 'peArray.accumulatorBits', 'buffers.*.portWidth', 'dram.bandwidth'].slice(0, n).map((k) => [k, Array.from({ length: 100 }, (_, i) => i + 1)]));
  const big = (n: number) => validateSpec({ schema: 'birealsim.sweep-spec/1', name: 'big', workload: 'bireal-mnist', arch: 'edge', mode: 'grid', axes: axes(n) }, 's');
  it('a 1e8-point grid: refused whole, allowed as a shard with --limit, which evaluates only its own points', async () => {
    const spec = big(4);
    expect(gridSize(spec)).toBe(1e8);
    expect(() => checkSweepSize(spec, 's.json', null)).toThrow(/100000000 points.*more than the maximum of 10000000/);
    expect(() => checkSweepSize(spec, 's.json', { k: 1, n: 10 })).not.toThrow();
    expect(() => checkSweepSize(spec, 's.json', null, 1000)).not.toThrow();
    expect(pointsInShard(1e8, { k: 17, n: 20 })).toBe(5e6);
    expect(pointsInShard(5, { k: 5, n: 6 })).toBe(1);
    expect(pointsInShard(5, { k: 6, n: 6 })).toBe(0);
    const dir = tmp();
    try {
      const out = join(dir, 'big.jsonl');
      const t0 = performance.now();
      const r = await runSweep({ spec, baseArch: loadBaseArch('edge', 's'), out, shard: { k: 17, n: 20 }, workers: 0, toolVersion: '0.1.0', limit: 2 });
      expect(performance.now() - t0).toBeLessThan(20000);
      expect(r.inShard).toBe(5e6);
      const pts = readSweepFile(out).points;
      expect(pts.map((p) => p.index)).toEqual([16, 36]);
      expect(pts[1].params).toEqual(gridPoint(spec, 36));
      // resumed with a larger limit: continues after the points already there
      await runSweep({ spec, baseArch: loadBaseArch('edge', 's'), out, shard: { k: 17, n: 20 }, workers: 0, toolVersion: '0.1.0', limit: 1 });
      expect(readSweepFile(out).points.map((p) => p.index)).toEqual([16, 36, 56]);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
  it('a 1e20-point grid is refused as unindexable, even with --limit', () => {
    expect(() => checkSweepSize(big(10), 's.json', null, 5)).toThrow(/1\.00e\+20 points.*too large to index/);
  });
});

describe('sweep spec', () => {
  const spec = validateSpec({ ...MICRO_SPEC, mode: 'random', samples: 10, seed: 7 }, 's');
  it('grid points enumerate the full product exactly once', () => {
    const g = validateSpec(MICRO_SPEC, 's');
    const seen = new Set(Array.from({ length: gridSize(g) }, (_, i) => JSON.stringify(gridPoint(g, i))));
    expect(gridSize(g)).toBe(16);
    expect(seen.size).toBe(16);
  });
  it('random samples are distinct grid points, seeded, and a prefix of a larger sample', () => {
    const a = gridIndices(spec);
    expect(new Set(a).size).toBe(10);
    expect(a.every((g) => g >= 0 && g < 16)).toBe(true);
    expect(gridIndices(spec)).toEqual(a);
    expect(gridIndices({ ...spec, samples: 14 }).slice(0, 10)).toEqual(a);
    expect(gridIndices({ ...spec, seed: 8 })).not.toEqual(a);
    expect(gridIndices({ ...spec, samples: 99 }).sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i));
  });
  it('shards partition the points', () => {
    for (const n of [1, 3, 4]) {
      const owners = Array.from({ length: 10 }, (_, j) => Array.from({ length: n }, (_, k) => inShard(j, { k: k + 1, n })).filter(Boolean).length);
      expect(owners.every((c) => c === 1)).toBe(true);
    }
  });
  it('the spec hash ignores key order but not values', () => {
    const reordered = JSON.parse(JSON.stringify({ axes: spec.axes, seed: 7, samples: 10, mode: 'random', arch: 'edge', workload: spec.workload, name: spec.name, schema: spec.schema }));
    expect(specHash(reordered as SweepSpec, { a: 1, b: 2 })).toBe(specHash(spec, { b: 2, a: 1 }));
    expect(specHash({ ...spec, seed: 8 }, {})).not.toBe(specHash(spec, {}));
    expect(specHash(spec, { a: 1 })).not.toBe(specHash(spec, { a: 2 }));
  });
  it('a "*" axis patches every key at that level of the base arch', () => {
    const base = loadBaseArch('edge', 's') as { buffers: Record<string, { capacity: string }> };
    const p = applyPoint(base, { 'buffers.*.capacity': '8 KiB', 'peArray.rows': 4 }) as typeof base & { peArray: { rows: number } };
    expect(Object.values(p.buffers).map((b) => b.capacity)).toEqual(['8 KiB', '8 KiB', '8 KiB', '8 KiB']);
    expect(p.peArray.rows).toBe(4);
    expect(Object.values(base.buffers).map((b) => b.capacity)).not.toContain('8 KiB'); // base untouched
  });
  it('rejects bad specs with a JSON path', () => {
    const fmt = (f: () => unknown) => { try { f(); } catch (e) { expect(e).toBeInstanceOf(UserError); return (e as UserError).format(); } return 'no error'; };
    expect(fmt(() => validateSpec({ ...MICRO_SPEC, mode: 'gird' }, 'f.json'))).toMatch(/f\.json: \$\.mode: .*did you mean 'grid'/);
    try { validateSpec({ ...MICRO_SPEC, axes: { 'peArray.rows': [] } }, 'f.json'); expect.unreachable(); } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      expect((e as UserError).format()).toMatch(/f\.json: \$\.axes\["peArray\.rows"\]/);
    }
  });
});

describe('pareto', () => {
  const brute = (pts: number[][]) => pts.map((p, i) => i).filter((i) => !pts.some((q) => q.every((v, d) => v <= pts[i][d]) && q.some((v, d) => v < pts[i][d])));
  it('matches a brute-force oracle on random points with ties and duplicates (2 and 3 objectives)', () => {
    const rng = new Rng(3);
    for (let t = 0; t < 40; t++) {
      const dims = t % 2 ? 3 : 2;
      const pts = Array.from({ length: 60 }, () => Array.from({ length: dims }, () => rng.int(8)));
      expect(paretoFront(pts)).toEqual(brute(pts));
      if (dims === 2) expect(paretoFront2(pts as [number, number][]).sort((a, b) => a - b)).toEqual(brute(pts));
    }
  });
});

describe('sweep files: resume, torn lines, merge', () => {
  it('resume after a torn trailing line keeps every finished point and drops only the torn one', () => {
    const dir = tmp();
    try {
      const spec = validateSpec(MICRO_SPEC, 's');
      const header = sweepHeader(spec, { x: 1 }, null, '0.1.0');
      const file = join(dir, 'r.jsonl');
      const pt = (i: number) => ({ type: 'point' as const, index: i, params: {}, metrics: { latencyCycles: i, latencySeconds: i, energyJoules: i, onChipBytes: i, dramBytes: i } });
      writeFileSync(file, [header, pt(0), pt(3), pt(5)].map((x) => JSON.stringify(x) + '\n').join('') + JSON.stringify(pt(6)).slice(0, 30));
      expect(parseSweepText(readFileSync(file, 'utf8'), file).partialTail).toBe(true);
      const { writer, done, droppedPartial } = SweepWriter.open(file, header, true);
      expect([...done.keys()].sort()).toEqual([0, 3, 5]);
      expect(droppedPartial).toBe(true);
      writer.append(pt(6));
      writer.close();
      const sf = readSweepFile(file);
      expect(sf.partialTail).toBe(false);
      expect(sf.points.map((p) => p.index)).toEqual([0, 3, 5, 6]);
      // a different sweep in the same file is refused, not overwritten
      expect(() => SweepWriter.open(file, sweepHeader({ ...spec, name: 'other' }, { x: 1 }, null, '0.1.0'), true)).toThrow(/different sweep/);
      expect(() => SweepWriter.open(file, sweepHeader(spec, { x: 1 }, { k: 1, n: 2 }, '0.1.0'), true)).toThrow(/shard/);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('a second live writer is refused; a stale lock (dead pid) is taken over', async () => {
    const dir = tmp();
    try {
      const spec = validateSpec(MICRO_SPEC, 's');
      const out = join(dir, 'l.jsonl');
      writeFileSync(`${out}.lock`, String(process.ppid)); // a live process that is not us
      await expect(runSweep({ spec, baseArch: loadBaseArch('edge', 's'), out, shard: null, workers: 0, toolVersion: '0.1.0' })).rejects.toThrow(/another sweep \(pid \d+\) is writing this file/);
      writeFileSync(`${out}.lock`, '999999999'); // no such process
      const r = await runSweep({ spec, baseArch: loadBaseArch('edge', 's'), out, shard: null, workers: 0, toolVersion: '0.1.0' });
      expect(r.evaluated).toBe(16);
      expect(existsSync(`${out}.lock`)).toBe(false); // released
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('a corrupt complete line is an error naming the file and line', () => {
    const spec = validateSpec(MICRO_SPEC, 's');
    const text = JSON.stringify(sweepHeader(spec, {}, null, '0.1.0')) + '\n{"type":"point","index":1,\n';
    try { parseSweepText(text, 'bad.jsonl'); expect.unreachable(); } catch (e) {
      expect((e as UserError).format()).toMatch(/^error E_SWEEP_FILE: bad\.jsonl: line 2: line is not JSON/);
    }
  });

  it('shards run separately and merged equal the whole sweep; foreign files are refused', async () => {
    const dir = tmp();
    try {
      const spec = validateSpec(MICRO_SPEC, 's');
      const base = loadBaseArch('edge', 's');
      const whole = join(dir, 'whole.jsonl');
      await runSweep({ spec, baseArch: base, out: whole, shard: null, workers: 0, toolVersion: '0.1.0' });
      const shards = [1, 2, 3].map((k) => join(dir, `s${k}.jsonl`));
      for (const [i, f] of shards.entries()) await runSweep({ spec, baseArch: base, out: f, shard: { k: i + 1, n: 3 }, workers: 0, toolVersion: '0.1.0' });
      const m = mergeSweepFiles([shards[2], shards[0], shards[1], shards[0]]);
      expect(m.missing).toBe(0);
      expect(m.duplicates).toBe(readSweepFile(shards[0]).points.length);
      expect(m.points).toEqual(readSweepFile(whole).points);
      const other = join(dir, 'other.jsonl');
      await runSweep({ spec: { ...spec, axes: { 'peArray.rows': [8] } }, baseArch: base, out: other, shard: null, workers: 0, toolVersion: '0.1.0' });
      expect(() => mergeSweepFiles([whole, other])).toThrow(/spec hash/);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('CLI: killed midway (SIGKILL) and restarted, no finished point is lost or repeated, results equal an uninterrupted run', async () => {
    const dir = tmp();
    try {
      const spec = { schema: 'birealsim.sweep-spec/1', name: 'resume', workload: 'bireal-mnist', arch: 'edge', mode: 'grid',
        axes: { 'peArray.rows': [8, 16, 32], 'peArray.cols': [8, 32], 'dram.bandwidth': ['3.2 GB/s', '6.4 GB/s', '25.6 GB/s'] } };
      const specFile = join(dir, 'spec.json');
      writeFileSync(specFile, JSON.stringify(spec));
      const out = join(dir, 'out.jsonl');
      const child = spawn(process.execPath, ['bin/birealsim.mjs', 'sweep', specFile, '--out', out, '--workers', '2', '--quiet'], { stdio: 'ignore' });
      const exited = new Promise<void>((res) => child.on('exit', () => res()));
      const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 2 : 0);
      const t0 = Date.now();
      while (lines() < 3 && Date.now() - t0 < 60000) await new Promise((r) => setTimeout(r, 25));
      child.kill('SIGKILL');
      await exited;
      const before = readSweepFile(out).points;
      expect(before.length).toBeGreaterThanOrEqual(3);
      expect(before.length).toBeLessThan(18); // killed midway, not after the end
      appendFileSync(out, '{"type":"point","index":17,"par'); // and a torn write on top
      const r = cli(['sweep', specFile, '--out', out, '--workers', '2']);
      expect(r.status).toBe(0);
      expect(r.stderr).toContain(`${before.length} already in the file`);
      expect(r.stderr).toContain('partial trailing line was dropped');
      const after = readSweepFile(out);
      expect(after.partialTail).toBe(false);
      const idx = after.points.map((p) => p.index).sort((a, b) => a - b);
      expect(idx).toEqual(Array.from({ length: 18 }, (_, i) => i)); // none lost, none repeated
      expect(after.points.slice(0, before.length)).toEqual(before); // finished points kept verbatim
      // results equal an uninterrupted evaluation (spot check: points finished before and after the kill)
      const vspec = validateSpec(spec, 's');
      const ev = makeEvaluator(vspec, loadBaseArch('edge', 's'));
      const gi = gridIndices(vspec);
      for (const p of [before[0], before[before.length - 1], ...after.points.slice(-2)]) {
        expect(p.params).toEqual(gridPoint(vspec, gi[p.index]));
        expect({ ...p }).toEqual({ type: 'point', index: p.index, params: p.params, ...ev(p.params) });
      }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  }, 240000);
});
