/**
 * `actscale`: XNOR-Net's activation scale K (Rastegari et al. 2016, eq. 10), inputs [conv, x]: A = mean_c |x|
 * per pixel, K = A convolved with a k x k box filter of 1/(k*k) (zero padding: padded taps add nothing but
 * count in the divisor), with the binary conv's kernel/stride/pad; out = conv * K broadcast over channels.
 * fp32 in a fixed order: A sums channels in order, K sums taps in (ky, kx) order.
 * Counts (the paper's convention, after XNOR-Net): the scaling costs 2 real multiplications per binary-conv
 * output element, alpha and K; both are counted here as real MACs (the alpha multiply itself is folded into
 * the conv's output transform). No parameters.
 * Accelerator: one multiply per element on the post-processing unit, plus the K map (channel sums of |x| and
 * the box sum) computed there; x is streamed in as a k x k window over all its channels.
 */
import { tensor, type Tensor } from '../core/tensor.ts';
import * as T from '../kernels/batch-ops.ts';
import { elementwiseWorkload, f32, real, windowLabel, windowOut, withShape, zeroCounts } from './common.ts';
import type { ExecStep, Layer, OpModule } from './types.ts';

export interface ActScaleLayer extends Layer { op: 'actscale'; kernel: number; stride: number; pad: number }
export interface ActScaleStep extends ExecStep { kernel: number; stride: number; pad: number }

export function actScaleApply(conv: Tensor, x: Tensor, kernel: number, stride: number, pad: number): Tensor {
  const A = new Float32Array(x.h * x.w);
  for (let p = 0; p < x.h * x.w; p++) {
    let s = 0;
    for (let c = 0; c < x.c; c++) s = f32(s + Math.abs(x.data[p * x.c + c]));
    A[p] = f32(s / x.c);
  }
  const out = tensor(conv.h, conv.w, conv.c);
  const area = kernel * kernel;
  for (let oy = 0; oy < conv.h; oy++) for (let ox = 0; ox < conv.w; ox++) {
    let s = 0;
    for (let ky = 0; ky < kernel; ky++) {
      const iy = oy * stride - pad + ky;
      if (iy < 0 || iy >= x.h) continue;
      for (let kx = 0; kx < kernel; kx++) {
        const ix = ox * stride - pad + kx;
        if (ix < 0 || ix >= x.w) continue;
        s = f32(s + A[iy * x.w + ix]);
      }
    }
    const K = f32(s / area);
    const base = (oy * conv.w + ox) * conv.c;
    for (let c = 0; c < conv.c; c++) out.data[base + c] = f32(conv.data[base + c] * K);
  }
  return out;
}

export const actscale: OpModule<ActScaleLayer, ActScaleStep> = {
  op: 'actscale',
  summary: "XNOR-Net activation scale: conv * K, K = box-filtered mean |x| over channels",
  arity: 2,
  inputDtypes: ['real', 'real'],
  keys: {
    kernel: { type: 'int', min: 1, doc: 'box filter size (the binary conv\'s kernel)' },
    stride: { type: 'int', min: 1, default: 1, doc: 'the binary conv\'s stride' },
    pad: { type: 'int', min: 0, default: 0, doc: 'the binary conv\'s padding' },
  },
  infer: (l, [a, b], fail) => {
    const oh = windowOut(l.kernel, l.stride, l.pad, b.h, 'height', fail), ow = windowOut(l.kernel, l.stride, l.pad, b.w, 'width', fail);
    if (oh !== a.h || ow !== a.w) fail(`K map of '${l.inputs![1]}' is ${oh}x${ow} but '${l.inputs![0]}' is ${a.h}x${a.w}`, 'actscale takes the same kernel/stride/pad as the bconv it scales', '.inputs');
    return { ...a };
  },
  lower: (rl) => ({ id: rl.layer.id, op: 'actscale', layers: [rl.layer.id], inputs: rl.inputs, inShapes: rl.inShapes, out: rl.out, kernel: rl.layer.kernel, stride: rl.layer.stride, pad: rl.layer.pad }),
  fusion: { postOp: true },
  executesAs: 'real',
  execute: (s, [a, b]) => ({ out: actScaleApply(real(a, s.id), real(b, s.id), s.kernel, s.stride, s.pad) }),
  slice: (s, r) => ({ ...s, inShapes: r.inShapes, out: withShape(s.out, r.outH, r.c1 - r.c0) }),
  count: (s) => { const c = zeroCounts(); c.realMacs = 2 * s.out.h * s.out.w * s.out.c; return c; },
  workload: (s) => elementwiseWorkload(s.out.c, { mul: 1, add: 0, cmp: 0 }, 0, { sideWindow: { kernel: s.kernel, stride: s.stride, pad: s.pad } }),
  describe: (s) => ({ precision: 'fp32', weightBytes: 0, window: windowLabel(s.kernel, s.stride, s.pad) }),
  train: {
    forward: (l, [a, b], c) => { const r = T.actScaleForward(a, b, l); if (c.training) c.saved.ctx = r.ctx; return r.y; },
    backward: (_l, dy, _xs, c) => T.actScaleBackward(dy, c.saved.ctx as T.ActScaleCtx),
  },
};
