/** Helpers for simulator tests: small workloads lowered with placeholder weights, and arch variants. */
import { SCHEMA_ID, type Layer, type Workload } from '../../src/ir/types.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { shapeOnlyModel } from '../../src/ir/model.ts';
import { lower, type ExecPlan } from '../../src/golden/plan.ts';
import { mergeSpec, presetSpec, resolveArch, type ResolvedArch } from '../../src/sim/arch.ts';
import { buildLayers, type SimLayer } from '../../src/sim/layers.ts';

export function planOf(input: { h: number; w: number; c: number }, layers: Layer[], name = 't'): ExecPlan {
  const wl: Workload = { schema: SCHEMA_ID, name, input, layers };
  return lower(shapeOnlyModel(resolveNetwork(wl)));
}

/** The simulator layer anchored at step `id` of a plan. */
export function layerOf(plan: ExecPlan, id: string): SimLayer {
  const l = buildLayers(plan).find((x) => x.id === id);
  if (!l) throw new Error(`no layer ${id}`);
  return l;
}

/** A preset with a deep patch applied, resolved. */
export function archWith(preset: string, patch: unknown): ResolvedArch {
  return resolveArch(mergeSpec(presetSpec(preset), patch), `${preset}+patch`);
}

/** Buffers so large and wide that neither capacity nor SRAM ports ever limit. */
export const HUGE_BUFFERS = {
  weights: { capacity: '64 MiB', banks: 64, portWidth: '4096 bit', doubleBuffered: true },
  inputs: { capacity: '64 MiB', banks: 64, portWidth: '4096 bit', doubleBuffered: true },
  realStream: { capacity: '64 MiB', banks: 64, portWidth: '4096 bit', doubleBuffered: true },
  outputs: { capacity: '64 MiB', banks: 64, portWidth: '4096 bit', doubleBuffered: true },
};
