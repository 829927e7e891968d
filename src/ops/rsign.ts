/**
 * `rsign`: ReActNet's RSign (Liu, Shen, Savvides, Cheng, ECCV 2020, arXiv 2003.03488, eq. 3): a binary
 * activation with a learnable threshold alpha_c per input channel, placed where Bi-Real Net has its sign.
 *   forward  x_b = sign(fp32(x - alpha_c)), with the project's sign(0) = +1 (core/bits.ts), bit-packed.
 * The paper writes x_b = +1 iff x > alpha; here x = alpha gives +1, so that alpha = 0 is exactly `sign`. In fp32
 * fl(x - alpha) < 0 iff x < alpha (IEEE subtraction is exact in sign, and 0 only when x = alpha), so the bit is
 * the comparison x < alpha: one compare per element against a per-channel constant on hardware.
 * Training (the paper's eq. 5, with the sign estimator of the regime, ApproxSign in Bi-Real's recipe):
 *   u = x - alpha_c;  dL/dx = dL/dx_b * F'(u);  dL/dalpha_c = -sum over (n, y, x) of dL/dx_b * F'(u)
 * (dh/dalpha = -1 through the estimator). In stage 1 a real stand-in replaces the sign as for `sign`, on u.
 * Counts: no OPs (the paper counts it as negligible); alpha is a learnable activation parameter, one per
 * channel (category 'activation'). Accelerator: one compare per element on the post-processing unit against
 * one 32-bit threshold word per channel; packed like sign.
 */
import { packedTensor, type Tensor } from '../core/tensor.ts';
import { bt } from '../kernels/batch.ts';
import { binaryActBackward, binaryActForward } from './sign.ts';
import { channels, elementwiseWorkload, f32, real, withShape, zeroCounts } from './common.ts';
import type { ExecStep, Layer, OpModule } from './types.ts';

export interface RSignStep extends ExecStep { threshold: Float32Array }

/** Bit-packed sign(fp32(x - threshold_c)): bit 1 (= -1) iff x < threshold_c. */
export function rsignApply(x: Tensor, threshold: Float32Array) {
  const p = packedTensor(x.h, x.w, x.c);
  const C = x.c, wpp = p.wordsPerPixel;
  for (let px = 0; px < x.h * x.w; px++) {
    for (let c = 0; c < C; c++) if (f32(x.data[px * C + c] - threshold[c]) < 0) p.words[px * wpp + (c >>> 5)] |= 1 << (c & 31);
  }
  for (let i = 0; i < p.words.length; i++) p.words[i] >>>= 0;
  return p;
}

export const rsign: OpModule<Layer, RSignStep> = {
  op: 'rsign',
  summary: 'ReActNet RSign: sign(x - alpha_c) with a learnable threshold per channel, bit-packed',
  arity: 1,
  inputDtypes: ['real'],
  keys: {},
  infer: (_l, [x]) => ({ ...x, dtype: 'bits' }),
  params: (_l, [x]) => ({ threshold: { shape: [x.c], role: 'threshold' } }),
  binarises: true,
  lower: (rl, P) => ({ id: rl.layer.id, op: 'rsign', layers: [rl.layer.id], inputs: rl.inputs, inShapes: rl.inShapes, out: rl.out, threshold: P(`${rl.layer.id}.threshold`) as Float32Array }),
  fusion: { postOp: true },
  executesAs: 'pack',
  execute: (s, [x]) => ({ out: rsignApply(real(x, s.id), s.threshold) }),
  slice: (s, r) => ({ ...s, inShapes: r.inShapes, out: withShape(s.out, r.outH, r.c1 - r.c0), threshold: channels(s.threshold, r.c0, r.c1) }),
  count: (s) => { const c = zeroCounts(); c.params = { activation: s.out.c }; c.fpParams = { activation: s.out.c }; return c; },
  workload: (s) => elementwiseWorkload(s.out.c, { mul: 0, add: 0, cmp: 1 }, 1),
  describe: (s) => ({ precision: 'fp32 - threshold -> 1 bit (packed)', weightBytes: s.threshold.byteLength }),
  train: {
    forward: (_l, [x], c) => {
      const t = c.p('threshold'), C = x.c;
      const u = bt(x.n, x.h, x.w, C);
      for (let i = 0; i < u.data.length; i++) u.data[i] = x.data[i] - t[i % C];
      if (c.training) c.saved.u = u;
      return binaryActForward(u, c.cfg);
    },
    backward: (_l, dy, _xs, c) => {
      const du = binaryActBackward(dy, c.saved.u as ReturnType<typeof bt>, c.cfg);
      const C = du.c, sums = new Float64Array(C), g = c.g('threshold');
      for (let i = 0; i < du.data.length; i++) sums[i % C] += du.data[i];
      for (let k = 0; k < C; k++) g[k] -= sums[k];
      return [du];
    },
  },
};
