/**
 * lower(model) -> ExecPlan: the single lowered description every consumer reads (golden run, cost model,
 * simulator timing and functional execution, reports), so a report can never disagree with what executes.
 * This is the ONLY place that decides:
 *  - steps: each IR layer lowers through its op module (src/ops) to one step; a layer absorbed at deployment
 *    (a bconv's BN, ops/bconv.ts) belongs to its absorber's step, which also answers for its id. Latent
 *    models are converted with toDeployable first, so lowering has one path;
 *  - fused groups: a step whose op is a post-op (ops' FusionSpec: element-wise, run in the same pass over the
 *    producer's output) joins the group before it when it consumes that group's current value (either
 *    operand of a commutative op); a group ends after a step whose output is bits (the packed output leaves
 *    the pass). A group's outputs are the tensors read outside it, the network output, or a tensor nobody reads
 *    (the end of an independent segment, ir/segments.ts); the others stay
 *    on chip. Golden (resident and per-step), the simulator and the reports all take these groups;
 *  - the precision of every tensor: bits (1 bit per element, packed 32 channels per word), real tensors in
 *    the plan's real-stream format, binary-conv accumulators int32.
 */
import type { ResolvedNetwork, TensorInfo } from '../ir/types.ts';
import { toDeployable } from '../ir/deploy.ts';
import { absorption, type Model } from '../ir/model.ts';
import { FP32, type RealFormat } from '../core/realformat.ts';
import { opOf } from '../ops/index.ts';
import type { ExecStep, ExecutesAs } from '../ops/types.ts';

export type { ExecStep, ExecutesAs };

/** A run of steps executed in one pass (see the header). */
export interface FusedGroup {
  /** = the first step's id */
  id: string;
  steps: ExecStep[];
  /** external tensors read: the first step's inputs, then each later step's inputs produced outside the group */
  inputs: string[];
  /** tensors written out of the group (read by a later group, the network output, or read by nothing) */
  outputs: string[];
  /** tensors produced and consumed only inside the group */
  internal: string[];
}

/** Storage precision of a tensor (core/bits.ts packing; core/realformat.ts formats). */
export interface TensorPrecision {
  dtype: 'bits' | 'real';
  /** bits per element: 1 for packed bits, the real-stream format's width for real tensors */
  bits: number;
  /** 'packed 1-bit' or the real format's name (fp32, fp16, int16q8, ...) */
  format: string;
}

export interface ExecPlan {
  name: string;
  net: ResolvedNetwork;
  steps: ExecStep[];
  groups: FusedGroup[];
  /** tensor name (layer id) -> step that produces it */
  producer: Map<string, ExecStep>;
  input: TensorInfo;
  output: string;
  /** format every stored real tensor is rounded to (core/realformat.ts) */
  realFormat: RealFormat;
}

export interface LowerOptions { realFormat?: RealFormat }

/** Name of the tensor a step produces (its last covered layer). */
export function stepOutput(s: ExecStep): string { return s.layers[s.layers.length - 1]; }

/** Precision of a tensor of the plan. */
export function precisionOf(plan: ExecPlan, t: { dtype: 'bits' | 'real' }): TensorPrecision {
  return t.dtype === 'bits' ? { dtype: 'bits', bits: 1, format: 'packed 1-bit' } : { dtype: 'real', bits: plan.realFormat.bits, format: plan.realFormat.name };
}

/** Bits of a binary conv's integer accumulators. */
export const ACCUMULATOR_BITS = 32;

/** Lowers a model (latent or deployable). */
export function lower(model: Model, opts: LowerOptions = {}): ExecPlan {
  const dep = toDeployable(model);
  const net = dep.net;
  const P = (name: string) => {
    const v = dep.params.get(name);
    if (!v) throw new Error(`lower: missing tensor ${name}`);
    return v;
  };
  const { by, absorbed } = absorption(net);
  const steps: ExecStep[] = [];
  const producer = new Map<string, ExecStep>();
  for (const rl of net.layers) {
    if (absorbed.has(rl.layer.id)) continue;
    const step = opOf(rl.layer).lower(rl, P, by.get(rl.layer.id) ?? []);
    steps.push(step);
    for (const id of step.layers) producer.set(id, step);
  }
  return { name: net.workload.name, net, steps, groups: fuse(steps, net.output), producer, input: net.input, output: net.output, realFormat: opts.realFormat ?? FP32 };
}

/** Fused groups of a step list (the rule in the header). */
export function fuse(steps: ExecStep[], output: string): FusedGroup[] {
  const runs: ExecStep[][] = [];
  let cur: ExecStep[] | null = null;
  for (const s of steps) {
    const f = opOf(s).fusion;
    if (cur && f.postOp) {
      const last = cur[cur.length - 1];
      const value = stepOutput(last);
      const first = s.inputs[0] === value, other = !!f.commutative && s.inputs[1] === value;
      if (last.out.dtype !== 'bits' && (first || other)) { cur.push(s); continue; }
    }
    cur = [s];
    runs.push(cur);
  }
  const readers = new Map<string, ExecStep[]>();
  for (const s of steps) for (const n of s.inputs) { const r = readers.get(n) ?? []; r.push(s); readers.set(n, r); }
  return runs.map((run) => {
    const own = new Set(run), made = new Set(run.map(stepOutput));
    const inputs: string[] = [];
    for (const s of run) for (const n of s.inputs) if (!made.has(n) && !inputs.includes(n)) inputs.push(n);
    const outputs: string[] = [], internal: string[] = [];
    for (const s of run) {
      const name = stepOutput(s);
      // a tensor nobody reads (the end of an independent segment, ir/segments.ts) leaves the chip like the output
      const rs = readers.get(name) ?? [];
      (rs.length === 0 || rs.some((r) => !own.has(r)) || name === output ? outputs : internal).push(name);
    }
    return { id: run[0].id, steps: run, inputs, outputs, internal };
  });
}
