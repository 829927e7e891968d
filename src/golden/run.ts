/**
 * Golden inference: executes an ExecPlan on one NHWC image, returning logits and, on request, per-step taps
 * (integer accumulators of binary convs, packed bits of binary activations, fp32 outputs). Each step runs its
 * op module's reference execution (src/ops): this is the numeric spec that the simulator and every fast
 * kernel must match bit for bit.
 */
import type { PackedTensor, Tensor } from '../core/tensor.ts';
import type { KernelSet } from '../kernels/types.ts';
import { fastKernels } from '../kernels/fast.ts';
import type { ExecPlan, ExecStep } from './plan.ts';
import { stepOutput } from './plan.ts';
import { runResident } from './resident.ts';
import { FP32, quantizeInPlace, type RealFormat } from '../core/realformat.ts';
import { opOf } from '../ops/index.ts';
import { segmentInputTensor } from '../ir/segments.ts';
import { runNativeProgram } from './native-program.ts';

export interface Tap { acc?: Int32Array; bits?: PackedTensor; real?: Tensor }
export interface RunResult { logits: Float32Array; taps: Map<string, Tap> }
export interface RunOptions {
  kernels?: KernelSet;
  taps?: boolean;
  /** run step by step through the KernelSet calls even when it offers resident execution (tests, comparisons) */
  perStep?: boolean;
}

type Value = Tensor | PackedTensor;
const isPacked = (v: Value): v is PackedTensor => 'words' in v;

/**
 * Executes one step given its input values; returns the output value (real outputs rounded to the
 * real-stream format) and the accumulators if any.
 */
export function executeStep(step: ExecStep, ins: Value[], kernels: KernelSet, realFormat: RealFormat = FP32): { out: Value; acc?: Int32Array } {
  const r = opOf(step).execute(step, ins, kernels);
  if (realFormat.kind !== 'fp32' && !isPacked(r.out)) quantizeInPlace(r.out.data, realFormat);
  return r;
}

/** Runs the plan on one image (h x w x c fp32, NHWC). */
export function runPlan(plan: ExecPlan, input: Tensor, opts: RunOptions = {}): RunResult {
  const kernels = opts.kernels ?? fastKernels; // bit-identical to referenceKernels (test/kernels)
  const i0 = plan.input;
  if (input.h !== i0.h || input.w !== i0.w || input.c !== i0.c) throw new Error(`runPlan: input ${input.h}x${input.w}x${input.c}, plan expects ${i0.h}x${i0.w}x${i0.c}`);
  // kernels that keep data in their own memory run the whole plan there (golden/resident.ts: same bytes)
  // (a network with independent segments runs step by step: its segment inputs are extra tensors, ir/segments.ts)
  if (kernels.device === 'wasm' && plan.realFormat.kind === 'fp32' && !opts.perStep && plan.net.segmentInputs.size === 0) {
    return runResident(plan, input, !!opts.taps, (step, ins) => executeStep(step, ins, kernels, plan.realFormat));
  }
  if (kernels.device === 'native' && !opts.perStep) {
    const r = runNativeProgram(plan, input, !!opts.taps, kernels, (step, ins) => executeStep(step, ins, kernels, plan.realFormat));
    if (r) return r;
  }
  // last step index that reads each tensor, so intermediate tensors can be dropped when taps are off
  const lastUse = new Map<string, number>();
  plan.steps.forEach((s, i) => s.inputs.forEach((n) => lastUse.set(n, i)));
  const values = new Map<string, Value>([['input', input]]);
  for (const [name, t] of plan.net.segmentInputs) values.set(name, segmentInputTensor(name, t));
  const taps = new Map<string, Tap>();
  let last: Value = input;
  plan.steps.forEach((step, i) => {
    const ins = step.inputs.map((n) => {
      const v = values.get(n);
      if (!v) throw new Error(`runPlan: tensor ${n} not available for ${step.id}`);
      return v;
    });
    const { out, acc } = executeStep(step, ins, kernels, plan.realFormat);
    const name = stepOutput(step);
    values.set(name, out);
    if (opts.taps) taps.set(step.id, isPacked(out) ? { bits: out, acc } : { real: out, acc });
    else for (const n of step.inputs) if (lastUse.get(n) === i && n !== plan.output) values.delete(n);
    last = out;
  });
  const outV = values.get(plan.output) ?? last;
  if (isPacked(outV)) throw new Error('runPlan: output is packed');
  return { logits: outV.data, taps };
}
