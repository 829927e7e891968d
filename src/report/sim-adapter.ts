/**
 * The one place the report layer calls the simulator directly (sweeps). Everything else in report/ reads
 * the simulator's JSON output, so a change of the simulator's API touches only this file and build.ts.
 *
 * Timing-only: sim/simulate.ts `simulate(plan, arch)` without the functional option (analytic per tile,
 * best mapping per layer under the point's objective, fusion and batch). Dataflow archs: sim/dataflow.ts
 * `simulateDataflow(plan, arch)` (FINN analytic cycles, folding for the arch's targetFps, energy and area).
 */
import type { ExecPlan } from '../golden/plan.ts';
import type { ResolvedArch } from '../sim/arch.ts';
import { simulate, type SimOptions } from '../sim/simulate.ts';
import type { ResolvedDataflowArch } from '../sim/dataflow-arch.ts';
import { simulateDataflow } from '../sim/dataflow.ts';
import { isUserError } from '../core/diagnostics.ts';

export type TimingResult = { latencyCycles: number; energyJoules: number; dramBytes: number; framesPerSecond?: number } | { infeasible: string };

/** Options of a timing run (sweep run axes): mapper objective, fusion, batch. */
export type TimingOptions = Pick<SimOptions, 'objective' | 'fusion' | 'batch'>;

/** latencyCycles: the whole batch; energyJoules and dramBytes: per frame (equal to the totals at batch 1). */
export function simulateTiming(plan: ExecPlan, arch: ResolvedArch, opts: TimingOptions = {}): TimingResult {
  const r = simulate(plan, arch, opts);
  if (!r.feasible || !r.totals) return { infeasible: r.infeasible.map((x) => `${x.layer}: ${x.reason}`).join('; ') || 'infeasible' };
  return { latencyCycles: r.totals.cycles, energyJoules: r.totals.energyPerFrameJ, dramBytes: r.totals.dramBytesPerFrame, framesPerSecond: r.totals.framesPerSecond };
}

export type DataflowTimingResult = { latencyCycles: number; framesPerSecond: number; energyJoules: number; dramBytes: number; onChipBytes: number; areaMm2: number } | { infeasible: string };

/**
 * A dataflow arch point. latencyCycles: the batch, FINN's critical-path latency of the first frame plus one
 * initiation interval per further frame (frames stream back to back); framesPerSecond: the streaming
 * throughput clock / II; energyJoules and dramBytes: per frame (the same for every frame: weights stay on
 * chip). A missed targetFps, a folding that does not fit the workload or an engine the family does not model
 * (depthwise convs) makes the point infeasible.
 */
export function simulateDataflowTiming(plan: ExecPlan, arch: ResolvedDataflowArch, opts: { batch?: number } = {}): DataflowTimingResult {
  let r;
  try { r = simulateDataflow(plan, arch); } catch (e) {
    if (isUserError(e)) return { infeasible: `${e.jsonPath ? e.jsonPath + ': ' : ''}${e.message}` };
    throw e;
  }
  if (!r.feasible) return { infeasible: r.infeasible.map((x) => `${x.layer}: ${x.reason}`).join('; ') };
  const t = r.totals;
  return {
    latencyCycles: t.latencyCycles + ((opts.batch ?? 1) - 1) * t.initiationIntervalCycles,
    framesPerSecond: t.framesPerSecond, energyJoules: t.energyPerFrameJ, dramBytes: t.dramBytesPerFrame,
    onChipBytes: t.onChipBytes, areaMm2: t.areaMm2,
  };
}
