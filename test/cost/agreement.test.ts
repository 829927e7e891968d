/**
 * `cost` and `simulate` report the same operation counts: for every built-in workload under every counting
 * convention, each simulator layer (a fused group of the plan) reports exactly the BOPs, real MACs and
 * per-precision op counts of the cost rows of its steps, and the network totals agree. The XNOR-Net figure
 * both must print is the paper's: Table 5 of Liu et al. 2018 gives 1.67e8 OPs for XNOR-Net-18, which only the
 * count with XNOR-Net's 2 real multiplications (alpha and K) per binary-conv output element reproduces
 * (1,676,279,808/64 + 140,804,096 = 166,995,968; without them 163,985,408 = 1.64e8).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BUILTIN_WORKLOADS } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { shapeOnlyModel } from '../../src/ir/model.ts';
import { lower } from '../../src/golden/plan.ts';
import { countPlan } from '../../src/cost/count.ts';
import { CONVENTIONS } from '../../src/cost/conventions.ts';
import { loadArch } from '../../src/sim/arch.ts';
import { simulate } from '../../src/sim/simulate.ts';

describe('cost and simulate agree on every count', () => {
  const arch = loadArch('large');
  for (const name of Object.keys(BUILTIN_WORKLOADS)) {
    it(name, () => {
      const plan = lower(shapeOnlyModel(resolveNetwork(BUILTIN_WORKLOADS[name]())));
      for (const c of Object.values(CONVENTIONS)) {
        const cost = countPlan(plan, c);
        const sim = simulate(plan, arch, { convention: c });
        const byStep = new Map(cost.layers.map((l) => [l.step, l]));
        let covered = 0;
        for (const l of sim.layers) {
          const rows = l.steps.map((id) => byStep.get(id)!);
          covered += rows.length;
          expect(l.bops, `${name} ${c.name} ${l.id} BOPs`).toBe(rows.reduce((a, r) => a + r.bops, 0));
          expect(l.realMacs, `${name} ${c.name} ${l.id} real MACs`).toBe(rows.reduce((a, r) => a + r.realMacs, 0));
          const prec: Record<string, number> = {};
          for (const r of rows) for (const [p, n] of Object.entries(r.opsByPrecision)) prec[p] = (prec[p] ?? 0) + n;
          expect(l.opsByPrecision, `${name} ${c.name} ${l.id}`).toEqual(prec);
        }
        expect(covered).toBe(cost.layers.length); // every step is in exactly one simulator layer
        expect(sim.totals!.bops).toBe(cost.totals.bops);
        expect(sim.totals!.realMacs).toBe(cost.totals.realMacs);
        expect(sim.totals!.ops).toBe(cost.totals.ops);
        expect(sim.totals!.opsByPrecision).toEqual(cost.totals.opsByPrecision);
      }
    }, 60_000);
  }

  it('XNOR-Net-18: both print the paper-convention real MACs (1.67e8 OPs, Table 5), via the CLI', () => {
    const run = (args: string[]) => {
      const r = spawnSync(process.execPath, ['bin/birealsim.mjs', ...args, '--json'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    const cost = run(['cost', 'xnornet18-imagenet']).networks[0].totals;
    const sim = run(['simulate', 'xnornet18-imagenet', '--arch', 'edge']).totals;
    expect(cost.realMacs).toBe(140_804_096);
    expect(sim.realMacs).toBe(140_804_096);
    expect(sim.bops).toBe(cost.bops);
    expect(sim.ops).toBe(166_995_968);
    expect(Number(sim.ops.toPrecision(3))).toBe(1.67e8);
  }, 120_000);
});
