/**
 * The one place the report layer calls the simulator for timing-only evaluation (sweeps). Everything else
 * in report/ reads the simulator's JSON output, so a change of the simulator's API touches only this file.
 *
 * Timing-only: per layer, the mapper's best mapping by cycles (analytic per tile, no functional run);
 * network latency = sum of layer cycles (layers run one after another); energy = action counts x the
 * arch's energy table, summed over layers.
 */
import type { ExecPlan } from '../golden/plan.ts';
import type { ResolvedArch } from '../sim/arch.ts';
import { buildLayers } from '../sim/layers.ts';
import { energyOf, layerContext, mapLayer, sumEnergy } from '../sim/mapper.ts';

export type TimingResult = { latencyCycles: number; energyJoules: number; dramBytes: number; utilisation?: number } | { infeasible: string };

const layerCache = new WeakMap<ExecPlan, ReturnType<typeof buildLayers>>();

export function simulateTiming(plan: ExecPlan, arch: ResolvedArch): TimingResult {
  let layers = layerCache.get(plan);
  if (!layers) { layers = buildLayers(plan); layerCache.set(plan, layers); }
  let cycles = 0, energy = 0, dram = 0;
  for (const l of layers) {
    const r = mapLayer(layerContext(l, arch), 'cycles');
    if (!r.feasible) return { infeasible: r.reason };
    cycles += r.best.cycles.total;
    energy += sumEnergy(energyOf(r.best.counts, arch));
    dram += r.best.counts.dramReadBytes + r.best.counts.dramWriteBytes;
  }
  return { latencyCycles: cycles, energyJoules: energy, dramBytes: dram };
}
