/**
 * The one place the report layer calls the simulator directly (sweeps). Everything else in report/ reads
 * the simulator's JSON output, so a change of the simulator's API touches only this file and build.ts.
 *
 * Timing-only: sim/simulate.ts `simulate(plan, arch)` without the functional option (analytic per tile,
 * best mapping by cycles per layer, layers one after another).
 */
import type { ExecPlan } from '../golden/plan.ts';
import type { ResolvedArch } from '../sim/arch.ts';
import { simulate } from '../sim/simulate.ts';

export type TimingResult = { latencyCycles: number; energyJoules: number; dramBytes: number; framesPerSecond?: number } | { infeasible: string };

export function simulateTiming(plan: ExecPlan, arch: ResolvedArch): TimingResult {
  const r = simulate(plan, arch);
  if (!r.feasible || !r.totals) return { infeasible: r.infeasible.map((x) => `${x.layer}: ${x.reason}`).join('; ') || 'infeasible' };
  return { latencyCycles: r.totals.cycles, energyJoules: r.totals.energyPerFrameJ, dramBytes: r.totals.dramBytes, framesPerSecond: r.totals.framesPerSecond };
}
