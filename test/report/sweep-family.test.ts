/**
 * Sweeps over the architecture family (docs/sweep.md "Architecture families"): a `family` axis gives feasible
 * points of both families, a dataflow point carries latency, frames/s, energy, area and DRAM bytes from the
 * dataflow model of the documented counterpart arch, it sits on the Pareto front with layer-sequential points
 * (and alone on it when it dominates), family-specific axes are ignored by the other family, and axes or
 * values of no family are refused up front (exit 2).
 */
import { describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { UserError } from '../../src/core/diagnostics.ts';
import { main } from '../../src/cli/main.ts';
import { resolveDataflowArch } from '../../src/sim/dataflow-arch.ts';
import { simulateDataflow } from '../../src/sim/dataflow.ts';
import { readSweepFile, summariseSweep } from '../../src/report/sweep-file.ts';
import { runSweep } from '../../src/report/sweep-run.ts';
import { validateSpec } from '../../src/report/sweep-spec.ts';
import { checkAxes, dataflowSpecOf, loadBaseArch, loadPlan, makeEvaluator } from '../../src/report/sweep-eval.ts';

const specOf = (axes: Record<string, (string | number | boolean)[]>, arch = 'edge') => validateSpec({ schema: 'birealsim.sweep-spec/1', name: 'family', workload: 'bireal-mnist', arch, mode: 'grid', axes }, 'spec.json');
const errOf = (f: () => void): UserError => { try { f(); } catch (e) { return e as UserError; } throw new Error('no error'); };

async function sweep(axes: Record<string, (string | number | boolean)[]>) {
  const dir = mkdtempSync(join(tmpdir(), 'birealsim-family-'));
  try {
    const spec = specOf(axes);
    const base = loadBaseArch('edge', 'spec.json');
    checkAxes(spec, base, 'spec.json');
    const out = join(dir, 'r.jsonl');
    await runSweep({ spec, baseArch: base, out, shard: null, workers: 0, toolVersion: '0.1.0' });
    const sf = readSweepFile(out);
    return { points: sf.points, summary: summariseSweep(sf, out) };
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

describe('family axis', () => {
  it('gives feasible points of both families; a dataflow point is the dataflow model of the documented counterpart of the base', async () => {
    const { points } = await sweep({ family: ['layer-sequential', 'dataflow'], targetFps: [20000], clock: ['500 MHz'] });
    expect(points.map((p) => p.params.family)).toEqual(['layer-sequential', 'dataflow']);
    for (const p of points) expect(p.infeasible, String(p.infeasible)).toBeUndefined();
    // the counterpart of edge, written out by hand (docs/sweep.md): clock and dram carried over, realStreamBits =
    // buffers.realStream.precisionBits (32), realMacPrecision = realUnit.precision (fp32), targetFps from its axis
    const edge = loadBaseArch('edge', 'spec.json') as { dram: { energyPerBit: unknown } };
    const df = resolveDataflowArch({
      schema: 'birealsim.arch/1', family: 'dataflow', name: 'edge+dataflow', clock: '500 MHz',
      dram: { bandwidth: '6.4 GB/s', latency: '100 ns', energyPerBit: edge.dram.energyPerBit },
      realStreamBits: 32, realMacPrecision: 'fp32', targetFps: 20000,
    }, 'df.json');
    const r = simulateDataflow(loadPlan('bireal-mnist'), df);
    const m = points[1].metrics!;
    expect(m.latencyCycles).toBe(r.totals.latencyCycles);
    expect(m.latencySeconds).toBeCloseTo(r.totals.latencyCycles / 500e6, 15);
    expect(m.framesPerSecond).toBe(r.totals.framesPerSecond);
    expect(m.framesPerSecond).toBeGreaterThanOrEqual(20000);
    expect(m.energyJoules).toBe(r.totals.energyPerFrameJ);
    expect(m.areaMm2).toBe(r.area.totalMm2);
    expect(m.dramBytes).toBe(r.totals.dramBytesPerFrame);
    expect(m.onChipBytes).toBe(r.totals.onChipBytes);
    // DRAM carries only the input and output frames
    expect(m.dramBytes).toBeLessThan(points[0].metrics!.dramBytes);
  }, 60_000);

  it('the conversion keeps shared keys and maps the real-value widths (pe-array real unit: the PE precision)', () => {
    const ls = { schema: 'birealsim.arch/1', name: 'x', clock: '1 GHz', technologyNode: '28 nm', dram: { bandwidth: '1 GB/s', energyPerBit: 'default' }, buffers: { realStream: { precisionBits: 16 } }, peArray: { type: 'mac', precision: 'int8' }, realUnit: 'pe-array' };
    expect(dataflowSpecOf(ls)).toMatchObject({ family: 'dataflow', clock: '1 GHz', technologyNode: '28 nm', dram: { bandwidth: '1 GB/s', latency: '100 ns', energyPerBit: 'default' }, realStreamBits: 16, realMacPrecision: 'int8' });
  });

  it('a dominating dataflow point is on the Pareto front, alone', async () => {
    // a starved layer-sequential design (1x1 PE array, one real MAC, 512 KiB buffers) against a dataflow design
    // at 20000 frames/s: faster, less energy and less area
    const { summary } = await sweep({ family: ['layer-sequential', 'dataflow'], 'peArray.rows': [1], 'peArray.cols': [1], 'realUnit.macsPerCycle': [1], 'buffers.*.capacity': ['512 KiB'], targetFps: [20000], clock: ['500 MHz'] });
    expect(summary.points).toHaveLength(2);
    const [ls, df] = summary.points;
    expect([ls.params.family, df.params.family]).toEqual(['layer-sequential', 'dataflow']);
    expect(df.latencySeconds).toBeLessThan(ls.latencySeconds);
    expect(df.energyJoules).toBeLessThan(ls.energyJoules);
    expect(df.areaMm2).toBeLessThan(ls.areaMm2);
    expect(summary.points.filter((p) => p.pareto).map((p) => p.params.family)).toEqual(['dataflow']);
  }, 60_000);

  it('a family-specific axis is ignored by the other family: layer-sequential points repeat across targetFps', () => {
    const spec = specOf({ family: ['layer-sequential', 'dataflow'], targetFps: [2000, 20000], 'peArray.rows': [8, 16] });
    const base = loadBaseArch('edge', 'spec.json');
    checkAxes(spec, base, 'spec.json');
    const ev = makeEvaluator(spec, base);
    const m = (p: Record<string, unknown>) => { const r = ev(p); if (!('metrics' in r)) throw new Error(r.infeasible); return r.metrics; };
    expect(m({ family: 'layer-sequential', targetFps: 2000, 'peArray.rows': 8 })).toEqual(m({ family: 'layer-sequential', targetFps: 20000, 'peArray.rows': 8 }));
    expect(m({ family: 'dataflow', targetFps: 2000, 'peArray.rows': 8 })).toEqual(m({ family: 'dataflow', targetFps: 2000, 'peArray.rows': 16 }));
    expect(m({ family: 'dataflow', targetFps: 20000, 'peArray.rows': 8 }).framesPerSecond).toBeGreaterThan(m({ family: 'dataflow', targetFps: 2000, 'peArray.rows': 8 }).framesPerSecond!);
  });

  it('a dataflow base sweeps dataflow keys; a missed target is an infeasible point, not an error', () => {
    const spec = specOf({ targetFps: [1000, 1e8], fifoDepth: [2, 8], realMacPrecision: ['int8', 'fp16'] }, 'dataflow-bnn');
    const base = loadBaseArch('dataflow-bnn', 'spec.json');
    checkAxes(spec, base, 'spec.json');
    const ev = makeEvaluator(spec, base);
    const ok = ev({ targetFps: 1000, fifoDepth: 8, realMacPrecision: 'fp16' });
    if (!('metrics' in ok)) throw new Error(ok.infeasible);
    expect(ok.metrics.energyJoules).toBeGreaterThan(0);
    const miss = ev({ targetFps: 1e8, fifoDepth: 2, realMacPrecision: 'int8' });
    expect('infeasible' in miss && miss.infeasible).toMatch(/cannot meet/);
  });
});

describe('up-front refusals (E_SWEEP_AXIS)', () => {
  const edge = () => loadBaseArch('edge', 'spec.json');
  it('a typo\'d dataflow key, a bad family value, a layer-sequential point on a dataflow base, objective/fusion without layer-sequential points', () => {
    let e = errOf(() => checkAxes(specOf({ family: ['layer-sequential', 'dataflow'], targetFPS: [1000] }), edge(), 'spec.json'));
    expect(e.code).toBe('E_SWEEP_AXIS'); expect(e.jsonPath).toBe('$.axes["targetFPS"]'); expect(e.hint).toMatch(/did you mean 'targetFps'/);
    e = errOf(() => checkAxes(specOf({ family: ['dataflow'], fifoDepht: [4] }), edge(), 'spec.json'));
    expect(e.jsonPath).toBe('$.axes["fifoDepht"]'); expect(e.hint).toMatch(/did you mean 'fifoDepth'/);
    e = errOf(() => checkAxes(specOf({ family: ['dataflow'], realMacPrecision: ['int8', 'int4'] }), edge(), 'spec.json'));
    expect(e.jsonPath).toBe('$.axes["realMacPrecision"][1]');
    e = errOf(() => checkAxes(specOf({ family: ['layer-sequential', 'dataflw'] }), edge(), 'spec.json'));
    expect(e.jsonPath).toBe('$.axes["family"][1]'); expect(e.hint).toMatch(/did you mean 'dataflow'/);
    e = errOf(() => checkAxes(specOf({ family: ['layer-sequential'] }, 'dataflow-bnn'), loadBaseArch('dataflow-bnn', 'spec.json'), 'spec.json'));
    expect(e.jsonPath).toBe('$.axes["family"][0]'); expect(e.hint).toMatch(/layer-sequential base/);
    e = errOf(() => checkAxes(specOf({ fusion: ['none', 'auto'] }, 'dataflow-bnn'), loadBaseArch('dataflow-bnn', 'spec.json'), 'spec.json'));
    expect(e.jsonPath).toBe('$.axes["fusion"]');
    // an axis of the other family only, with no family axis, names no field of the sweep's family
    e = errOf(() => checkAxes(specOf({ 'peArray.rows': [8] }, 'dataflow-bnn'), loadBaseArch('dataflow-bnn', 'spec.json'), 'spec.json'));
    expect(e.jsonPath).toBe('$.axes["peArray.rows"]');
    e = errOf(() => checkAxes(specOf({ targetFps: [1000] }), edge(), 'spec.json'));
    expect(e.jsonPath).toBe('$.axes["targetFps"]');
  });

  it('CLI: a typo\'d dataflow key on a family axis exits 2 with one line, before any file is written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'birealsim-family-cli-'));
    try {
      const f = join(dir, 'spec.json');
      writeFileSync(f, JSON.stringify({ schema: 'birealsim.sweep-spec/1', name: 'typo', workload: 'bireal-mnist', arch: 'edge', mode: 'grid', axes: { family: ['layer-sequential', 'dataflow'], targetFsp: [1000] } }));
      let err = '';
      const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
      let code: number;
      try { code = await main(['sweep', f, '--out', join(dir, 'r.jsonl'), '--workers', '0']); } finally { o.mockRestore(); e.mockRestore(); }
      expect(code).toBe(2);
      expect(err).toMatch(/E_SWEEP_AXIS.*\$\.axes\["targetFsp"\]/);
      expect(err).toMatch(/did you mean 'targetFps'/);
      expect(err.trim().split('\n')).toHaveLength(1);
      expect(existsSync(join(dir, 'r.jsonl'))).toBe(false);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
