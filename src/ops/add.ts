/**
 * `add`: element-wise sum of two real tensors of the same shape, fp32 (the residual add of a shortcut:
 * Bi-Real Net adds the real-valued shortcut after every binary conv).
 * Counts: free. Accelerator: one add per element on the post-processing unit; the operand that is not the
 * chain's value is streamed in as a side input.
 */
import { tensor, type Tensor } from '../core/tensor.ts';
import * as T from '../kernels/batch-ops.ts';
import { elementwiseWorkload, f32, real, withShape, zeroCounts } from './common.ts';
import type { ExecStep, Layer, OpModule } from './types.ts';

export function addApply(a: Tensor, b: Tensor): Tensor {
  const out = tensor(a.h, a.w, a.c);
  for (let i = 0; i < a.data.length; i++) out.data[i] = f32(a.data[i] + b.data[i]);
  return out;
}

export const add: OpModule<Layer, ExecStep> = {
  op: 'add',
  summary: 'element-wise sum of two real tensors (residual add)',
  arity: 2,
  inputDtypes: ['real', 'real'],
  keys: {},
  infer: (l, [a, b], fail) => {
    if (a.h !== b.h || a.w !== b.w || a.c !== b.c) {
      fail(`shape mismatch: '${l.inputs![0]}' is ${a.h}x${a.w}x${a.c} but '${l.inputs![1]}' is ${b.h}x${b.w}x${b.c}`, 'a downsampling block needs a shortcut with the same stride and channel count', '.inputs');
    }
    return { ...a };
  },
  lower: (rl) => ({ id: rl.layer.id, op: 'add', layers: [rl.layer.id], inputs: rl.inputs, inShapes: rl.inShapes, out: rl.out }),
  fusion: { postOp: true, commutative: true },
  executesAs: 'real',
  execute: (s, [a, b], k) => ({ out: (k.ops?.add ?? addApply)(real(a, s.id), real(b, s.id)) }),
  slice: (s, r) => ({ ...s, inShapes: r.inShapes, out: withShape(s.out, r.outH, r.c1 - r.c0) }),
  count: () => zeroCounts(),
  workload: (s) => elementwiseWorkload(s.out.c, { mul: 0, add: 1, cmp: 0 }),
  describe: () => ({ precision: 'fp32', weightBytes: 0 }),
  fast: { family: 'add', epilogue: 'residual-add' },
  train: {
    forward: (_l, [a, b]) => T.addForward(a, b),
    backward: (_l, dy) => [dy, dy],
  },
};
