/**
 * Sweeps over run axes (workload, batch, objective, fusion, realFormat) beside arch axes, and the up-front
 * checks that refuse a typo'd axis name or value (exit-2 errors naming the JSON path, with did-you-mean).
 */
import { describe, expect, it } from 'vitest';
import { BUILTIN_WORKLOADS } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { shapeOnlyModel } from '../../src/ir/model.ts';
import { lower } from '../../src/golden/plan.ts';
import { loadArch } from '../../src/sim/arch.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { UserError } from '../../src/core/diagnostics.ts';
import { checkSweepSize, gridPoint, gridSize, validateSpec } from '../../src/report/sweep-spec.ts';
import { checkAxes, loadBaseArch, makeEvaluator } from '../../src/report/sweep-eval.ts';

const spec = (axes: Record<string, (string | number | boolean)[]>) => validateSpec({ schema: 'birealsim.sweep-spec/1', name: 'run-axes', workload: 'bireal-mnist', arch: 'edge', mode: 'grid', axes }, 'spec.json');
const errOf = (f: () => void): UserError => { try { f(); } catch (e) { return e as UserError; } throw new Error('no error'); };

describe('run axes', () => {
  it('a point with batch, fusion, objective and workload runs exactly what `simulate` runs with those options', () => {
    const s = spec({ batch: [1, 4], fusion: ['none', 'auto'], objective: ['cycles', 'dram'], workload: ['bireal-mnist', 'bireal18-imagenet'] });
    const base = loadBaseArch('edge', 'spec.json');
    checkAxes(s, base, 'spec.json');
    const ev = makeEvaluator(s, base);
    expect(gridSize(s)).toBe(16);
    const arch = loadArch('edge');
    for (const g of [0, 5, 10, 15]) {
      const p = gridPoint(s, g);
      const m = ev(p);
      if (!('metrics' in m)) throw new Error(m.infeasible);
      const plan = lower(shapeOnlyModel(resolveNetwork(BUILTIN_WORKLOADS[p.workload as string]())));
      const r = simulate(plan, arch, { batch: p.batch as number, fusion: p.fusion as 'none' | 'auto', objective: p.objective as 'cycles' | 'dram' }).totals!;
      expect(m.metrics.latencyCycles).toBe(r.cycles);
      expect(m.metrics.dramBytes).toBe(r.dramBytes / (p.batch as number));
      expect(m.metrics.energyJoules).toBeCloseTo(r.energyPerFrameJ, 15);
    }
  }, 60_000);
  it('fusion auto never moves more DRAM bytes per frame than none at the same arch point (bireal-mnist, rows x buffers)', () => {
    const s = spec({ fusion: ['none', 'auto'], 'peArray.rows': [8, 16], 'buffers.*.capacity': ['16 KiB', '64 KiB'] });
    const ev = makeEvaluator(s, loadBaseArch('edge', 'spec.json'));
    for (let g = 0; g < gridSize(s); g++) {
      const p = gridPoint(s, g);
      if (p.fusion !== 'auto') continue;
      const a = ev(p), n = ev({ ...p, fusion: 'none' });
      if ('metrics' in a && 'metrics' in n) expect(a.metrics.dramBytes).toBeLessThanOrEqual(n.metrics.dramBytes);
    }
  }, 60_000);
  it('refuses typo\'d run-axis values and names up front, with the JSON path and did-you-mean', () => {
    const base = loadBaseArch('edge', 'spec.json');
    let e = errOf(() => checkAxes(spec({ fusion: ['none', 'atuo'] }), base, 'spec.json'));
    expect(e.code).toBe('E_SWEEP_AXIS'); expect(e.jsonPath).toBe('$.axes["fusion"][1]'); expect(e.hint).toMatch(/did you mean 'auto'/);
    e = errOf(() => checkAxes(spec({ objective: ['cycels'] }), base, 'spec.json'));
    expect(e.jsonPath).toBe('$.axes["objective"][0]'); expect(e.hint).toMatch(/did you mean 'cycles'/);
    e = errOf(() => checkAxes(spec({ batch: [1, 0] }), base, 'spec.json'));
    expect(e.jsonPath).toBe('$.axes["batch"][1]');
    e = errOf(() => checkAxes(spec({ workload: ['bireal18-imagenett'] }), base, 'spec.json'));
    expect(e.jsonPath).toBe('$.axes["workload"][0]'); expect(e.hint).toMatch(/bireal18-imagenet/);
    e = errOf(() => checkAxes(spec({ realFormat: ['fp17'] }), base, 'spec.json'));
    expect(e.jsonPath).toBe('$.axes["realFormat"][0]');
    e = errOf(() => checkAxes(spec({ batchh: [1] }), base, 'spec.json'));
    expect(e.code).toBe('E_SWEEP_AXIS'); expect(e.hint).toMatch(/did you mean 'batch'/);
    // an arch field with a fixed set of choices: a value outside it is a typo, not an infeasible point
    e = errOf(() => checkAxes(spec({ 'peArray.dataflow': ['os', 'wss'] }), base, 'spec.json'));
    expect(e.code).toBe('E_SWEEP_AXIS'); expect(e.jsonPath).toBe('$.axes["peArray.dataflow"][1]'); expect(e.hint).toMatch(/did you mean 'ws'/);
  });
  it('a grid over the run-point limit is refused with the random-sampling hint unless --max-points allows it', () => {
    const big = spec({ 'peArray.rows': Array.from({ length: 100 }, (_, i) => i + 1), 'peArray.cols': Array.from({ length: 100 }, (_, i) => i + 1), batch: Array.from({ length: 1001 }, (_, i) => i + 1) });
    const e = errOf(() => checkSweepSize(big, 'spec.json', null));
    expect(e.code).toBe('E_SWEEP_SIZE'); expect(e.hint).toMatch(/"mode": "random"/); expect(e.hint).toMatch(/--max-points 10010000/);
    expect(() => checkSweepSize(big, 'spec.json', null, undefined, 10_010_000)).not.toThrow();
    expect(() => checkSweepSize(spec({ batch: [1, 2, 3] }), 'spec.json', null, undefined, 2)).toThrow(/more than the maximum of 2 \(--max-points\)/);
  });
});
