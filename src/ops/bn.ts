/**
 * `bn`: batch normalisation (Ioffe & Szegedy 2015), PyTorch conventions. Latent tensors gamma, beta,
 * running_mean, running_var [C]; deployed as a per-channel affine map y = fp32(fp32(x * scale_c) + shift_c) with
 *   t = fp32(var + eps); r = fp32(sqrt(t)); scale = fp32(gamma / r); shift = fp32(beta - fp32(scale * mean))
 * (every step rounded to fp32 in this order; bconv reuses bnScaleShift when it folds its BN).
 * Training: batch statistics with the biased variance, running statistics updated with momentum and the
 * unbiased variance (kernels/batch-ops.ts).
 * Counts: 2 affine + 2 statistics parameters per channel (a convention picks 0, 2 or 4); no OPs.
 * Accelerator: one multiply and one add per element on the post-processing unit, 2 words per channel.
 */
import { tensor, type Tensor } from '../core/tensor.ts';
import * as T from '../kernels/batch-ops.ts';
import { channels, elementwiseWorkload, f32, real, withShape, zeroCounts } from './common.ts';
import type { ExecStep, Layer, OpModule } from './types.ts';

export interface BnLayer extends Layer { op: 'bn'; eps: number }
export interface BnStep extends ExecStep { scale: Float32Array; shift: Float32Array }

export function bnScaleShift(gamma: Float32Array, beta: Float32Array, mean: Float32Array, variance: Float32Array, eps: number): { scale: Float32Array; shift: Float32Array } {
  const n = gamma.length;
  const scale = new Float32Array(n), shift = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    const s = f32(gamma[c] / f32(Math.sqrt(f32(variance[c] + eps))));
    scale[c] = s;
    shift[c] = f32(beta[c] - f32(s * mean[c]));
  }
  return { scale, shift };
}

/** y = fp32(fp32(x * scale_c) + shift_c) */
export function bnApply(x: Tensor, scale: Float32Array, shift: Float32Array): Tensor {
  const out = tensor(x.h, x.w, x.c);
  for (let p = 0, i = 0; p < x.h * x.w; p++) for (let c = 0; c < x.c; c++, i++) out.data[i] = f32(f32(x.data[i] * scale[c]) + shift[c]);
  return out;
}

/** Parameter counts of a BN over `c` channels (also used by a bconv that folds its BN). */
export function bnParamCounts(c: number): { bnAffine: number; bnStats: number } { return { bnAffine: 2 * c, bnStats: 2 * c }; }

export const bn: OpModule<BnLayer, BnStep> = {
  op: 'bn',
  summary: 'batch normalisation (running statistics at inference), a per-channel affine map',
  arity: 1,
  inputDtypes: ['real'],
  keys: { eps: { type: 'number', positive: true, default: 1e-5, doc: 'added to the variance' } },
  infer: (_l, [x]) => ({ ...x }),
  params: (_l, [x]) => ({
    gamma: { shape: [x.c], role: 'gain' }, beta: { shape: [x.c], role: 'offset' },
    running_mean: { shape: [x.c], role: 'mean' }, running_var: { shape: [x.c], role: 'variance' },
  }),
  lower: (rl, P) => {
    const id = rl.layer.id, g = (p: string) => P(`${id}.${p}`) as Float32Array;
    const { scale, shift } = bnScaleShift(g('gamma'), g('beta'), g('running_mean'), g('running_var'), rl.layer.eps);
    return { id, op: 'bn', layers: [id], inputs: rl.inputs, inShapes: rl.inShapes, out: rl.out, scale, shift };
  },
  fusion: { postOp: true },
  executesAs: 'real',
  execute: (s, [x], k) => ({ out: (k.ops?.bn ?? bnApply)(real(x, s.id), s.scale, s.shift) }),
  slice: (s, r) => ({ ...s, inShapes: r.inShapes, out: withShape(s.out, r.outH, r.c1 - r.c0), scale: channels(s.scale, r.c0, r.c1), shift: channels(s.shift, r.c0, r.c1) }),
  count: (s) => { const c = zeroCounts(); c.params = bnParamCounts(s.out.c); c.fpParams = bnParamCounts(s.out.c); return c; },
  workload: (s) => elementwiseWorkload(s.out.c, { mul: 1, add: 1, cmp: 0 }, 2),
  describe: (s) => ({ precision: 'fp32', weightBytes: s.scale.byteLength + s.shift.byteLength }),
  fast: { family: 'affine', epilogue: 'affine' },
  train: {
    forward: (l, [x], c) => {
      const bp: T.BnParams = { gamma: c.p('gamma'), beta: c.p('beta'), runningMean: c.p('running_mean'), runningVar: c.p('running_var'), eps: l.eps };
      const r = T.bnForward(x, bp, c.bnBatchStats, c.bnMomentum);
      if (c.training) c.saved.ctx = r.ctx;
      return r.y;
    },
    backward: (_l, dy, _xs, c) => [T.bnBackward(dy, c.saved.ctx as T.BnCtx, c.p('gamma'), c.g('gamma'), c.g('beta'))],
  },
};
