/**
 * A simulation run with --fusion auto or a batch reaches a report labelled with them, with its DRAM traffic per
 * frame (like its energy), so runs of one network on one arch stay apart and comparable.
 */
import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/sim/simulate.ts';
import { loadArch } from '../../src/sim/arch.ts';
import { loadPlan } from '../../src/report/sweep-eval.ts';
import { buildReport, runLabel } from '../../src/report/build.ts';
import { doc } from './fixtures.ts';

describe('fusion and batch in reports', () => {
  it('labels a fused batch run and reports DRAM per frame; the default run keeps the bare arch name', () => {
    const plan = loadPlan('bireal-mnist');
    const arch = loadArch('edge');
    const fused = simulate(plan, arch, { fusion: 'auto', batch: 4 });
    const plain = simulate(plan, arch);
    const json = (v: object) => JSON.stringify({ ...v, timingMs: 0 });
    const rep = buildReport([doc('plain.json', json(plain)), doc('fused.json', json(fused))], { title: 't', toolVersion: '0.1.0' });
    const sims = rep.simulations!;
    expect(sims.map((s) => s.arch)).toEqual(['edge', 'edge (fusion auto, batch 4)']);
    expect(sims[1].dramBytes).toBe(fused.totals!.dramBytes / 4);
    expect(sims[0].dramBytes).toBe(plain.totals!.dramBytes);
    expect(runLabel('large', 'none', 8)).toBe('large (batch 8)');
  });
});
