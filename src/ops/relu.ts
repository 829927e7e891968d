/**
 * `relu`: max(x, 0) element-wise (full-precision ResNet). Counts: free. Accelerator: one compare per element
 * on the post-processing unit.
 */
import { tensor, type Tensor } from '../core/tensor.ts';
import * as T from '../kernels/batch-ops.ts';
import { elementwiseWorkload, real, withShape, zeroCounts } from './common.ts';
import type { ExecStep, Layer, OpModule } from './types.ts';

export function reluApply(x: Tensor): Tensor {
  const out = tensor(x.h, x.w, x.c);
  for (let i = 0; i < x.data.length; i++) out.data[i] = x.data[i] > 0 ? x.data[i] : 0;
  return out;
}

export const relu: OpModule<Layer, ExecStep> = {
  op: 'relu',
  summary: 'rectified linear unit, max(x, 0)',
  arity: 1,
  inputDtypes: ['real'],
  keys: {},
  infer: (_l, [x]) => ({ ...x }),
  lower: (rl) => ({ id: rl.layer.id, op: 'relu', layers: [rl.layer.id], inputs: rl.inputs, inShapes: rl.inShapes, out: rl.out }),
  fusion: { postOp: true },
  executesAs: 'real',
  execute: (s, [x]) => ({ out: reluApply(real(x, s.id)) }),
  slice: (s, r) => ({ ...s, inShapes: r.inShapes, out: withShape(s.out, r.outH, r.c1 - r.c0) }),
  count: zeroCounts,
  workload: (s) => elementwiseWorkload(s.out.c, { mul: 0, add: 0, cmp: 1 }),
  describe: () => ({ precision: 'fp32', weightBytes: 0 }),
  train: {
    forward: (_l, [x]) => T.pointwiseForward(x, T.RELU),
    backward: (_l, dy, [x]) => [T.pointwiseBackward(dy, x, T.RELU)],
  },
};
