/**
 * `clip`: hardtanh, clamp(x, -1, 1) element-wise (the real-valued stand-in for sign in stage 1 of the
 * clip-activation initialisation, when written explicitly). Counts: free. Accelerator: two compares per
 * element on the post-processing unit.
 */
import { tensor, type Tensor } from '../core/tensor.ts';
import * as T from '../kernels/batch-ops.ts';
import { elementwiseWorkload, real, withShape, zeroCounts } from './common.ts';
import type { ExecStep, Layer, OpModule } from './types.ts';

export function clipApply(x: Tensor): Tensor {
  const out = tensor(x.h, x.w, x.c);
  for (let i = 0; i < x.data.length; i++) out.data[i] = Math.min(1, Math.max(-1, x.data[i]));
  return out;
}

export const clip: OpModule<Layer, ExecStep> = {
  op: 'clip',
  summary: 'hardtanh: clamp(x, -1, 1)',
  arity: 1,
  inputDtypes: ['real'],
  keys: {},
  infer: (_l, [x]) => ({ ...x }),
  lower: (rl) => ({ id: rl.layer.id, op: 'clip', layers: [rl.layer.id], inputs: rl.inputs, inShapes: rl.inShapes, out: rl.out }),
  fusion: { postOp: true },
  executesAs: 'real',
  execute: (s, [x]) => ({ out: clipApply(real(x, s.id)) }),
  slice: (s, r) => ({ ...s, inShapes: r.inShapes, out: withShape(s.out, r.outH, r.c1 - r.c0) }),
  count: zeroCounts,
  workload: (s) => elementwiseWorkload(s.out.c, { mul: 0, add: 0, cmp: 2 }),
  describe: () => ({ precision: 'fp32', weightBytes: 0 }),
  train: {
    forward: (_l, [x]) => T.pointwiseForward(x, T.CLIP),
    backward: (_l, dy, [x]) => [T.pointwiseBackward(dy, x, T.CLIP)],
  },
};
