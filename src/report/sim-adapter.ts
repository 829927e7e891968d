/**
 * The one place the report layer calls the simulator directly (sweeps). Everything else in report/ reads
 * the simulator's JSON output, so a change of the simulator's API touches only this file and build.ts.
 *
 * Timing-only: sim/simulate.ts `simulate(plan, arch)` without the functional option (analytic per tile,
 * best mapping per layer under the point's objective, fusion and batch).
 */
import type { ExecPlan } from '../golden/plan.ts';
import type { ResolvedArch } from '../sim/arch.ts';
import { simulate, type SimOptions } from '../sim/simulate.ts';

export type TimingResult = { latencyCycles: number; energyJoules: number; dramBytes: number; framesPerSecond?: number } | { infeasible: string };

/** Options of a timing run (sweep run axes): mapper objective, fusion, batch. */
export type TimingOptions = Pick<SimOptions, 'objective' | 'fusion' | 'batch'>;

/** latencyCycles: the whole batch; energyJoules and dramBytes: per frame (equal to the totals at batch 1). */
export function simulateTiming(plan: ExecPlan, arch: ResolvedArch, opts: TimingOptions = {}): TimingResult {
  const r = simulate(plan, arch, opts);
  if (!r.feasible || !r.totals) return { infeasible: r.infeasible.map((x) => `${x.layer}: ${x.reason}`).join('; ') || 'infeasible' };
  return { latencyCycles: r.totals.cycles, energyJoules: r.totals.energyPerFrameJ, dramBytes: r.totals.dramBytesPerFrame, framesPerSecond: r.totals.framesPerSecond };
}
