/**
 * Quantizers as tiny named objects (larq style): a forward and a pseudo-gradient.
 * Follows Liu et al. 2018 (Bi-Real Net) section 3.2 and shared/reference/bireal-method.md section 2.
 *
 * Activations: forward sign(x) with sign(0) = +1 (core/bits.ts convention). Pseudo-gradients:
 *  - 'approxsign': derivative of the piecewise polynomial F (F = -1 below -1, 2x+x^2 on [-1,0), 2x-x^2 on
 *    [0,1), 1 above), i.e. 2 - 2|x| for |x| < 1 and 0 elsewhere (0 exactly at |x| = 1).
 *  - 'ste': straight-through estimator with the clip window, 1{|x| <= 1}.
 * Weights: forward W_b = alpha_o * sign(W_o), alpha_o = mean |W_o| over (kh, kw, Cin) per output channel
 * (or alpha = 1 when weightScale is 'none'); alpha is a constant in backward. With G = dL/dW_b:
 *  - 'magnitude-aware' (paper / Larq): dL/dW = alpha_o * G * 1{|W| < 1}
 *  - 'plain' (authors' PyTorch code):  dL/dW = G * 1{|W| <= 1}
 */
import type { BT } from '../kernels/batch.ts';
import { bt } from '../kernels/batch.ts';
import { simdOps } from '../kernels/batch-fast.ts';

export type ActGrad = 'approxsign' | 'ste';
export type WeightGrad = 'magnitude-aware' | 'plain';
export const ACT_GRADS: readonly ActGrad[] = ['approxsign', 'ste'];
export const WEIGHT_GRADS: readonly WeightGrad[] = ['magnitude-aware', 'plain'];

export interface SignQuantizer { name: ActGrad; pseudoGrad(x: number): number }

export const SIGN_QUANTIZERS: Record<ActGrad, SignQuantizer> = {
  approxsign: { name: 'approxsign', pseudoGrad: (x) => { const a = Math.abs(x); return a < 1 ? 2 - 2 * a : 0; } },
  ste: { name: 'ste', pseudoGrad: (x) => (Math.abs(x) <= 1 ? 1 : 0) },
};

/** sign(x) with sign(0) = +1: the same rule as core/bits.ts signBit. */
export function signValue(x: number): 1 | -1 { return x < 0 ? -1 : 1; }

export function signForward(x: BT): BT {
  const y = bt(x.n, x.h, x.w, x.c);
  const xd = x.data, yd = y.data, n = yd.length;
  const simd = simdOps();
  if (simd) { simd.sign(xd, yd); return y; }
  for (let i = 0; i < n; i++) yd[i] = xd[i] < 0 ? -1 : 1;
  return y;
}

export function signBackward(dy: BT, x: BT, q: SignQuantizer): BT {
  const dx = bt(x.n, x.h, x.w, x.c);
  const xd = x.data, dd = dy.data, o = dx.data, n = o.length;
  const simd = q.name === 'approxsign' || q.name === 'ste' ? simdOps() : null;
  if (simd) { simd.signBackward(q.name, xd, dd, o); return dx; }
  // specialised loops (same values as q.pseudoGrad, which stays the definition)
  if (q.name === 'approxsign') { for (let i = 0; i < n; i++) { const a = Math.abs(xd[i]); o[i] = a < 1 ? dd[i] * (2 - 2 * a) : 0; } return dx; }
  if (q.name === 'ste') { for (let i = 0; i < n; i++) o[i] = Math.abs(xd[i]) <= 1 ? dd[i] : 0; return dx; }
  const g = q.pseudoGrad;
  for (let i = 0; i < n; i++) o[i] = dd[i] * g(xd[i]);
  return dx;
}

/** Per-output-channel alpha = mean |W_o| (row o of length k = kh*kw*Cin). */
export function channelAlpha(w: Float32Array, outCh: number): Float32Array {
  const k = w.length / outCh;
  const a = new Float32Array(outCh);
  for (let o = 0; o < outCh; o++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += Math.abs(w[o * k + i]);
    a[o] = s / k;
  }
  return a;
}

/** sign(W) as +-1 floats (into `out` when given: reused buffers avoid a multi-KB allocation per step). */
export function signWeights(w: Float32Array, out?: Float32Array): Float32Array {
  const s = out && out.length === w.length ? out : new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) s[i] = w[i] < 0 ? -1 : 1;
  return s;
}

/**
 * Converts G = dL/dW_b into the latent-weight gradient and ADDS it to dW.
 * alpha may be null (weightScale 'none': alpha = 1).
 */
export function binaryWeightBackward(G: Float32Array, w: Float32Array, alpha: Float32Array | null, outCh: number, mode: WeightGrad, dW: Float32Array): void {
  const k = w.length / outCh;
  for (let o = 0; o < outCh; o++) {
    const a = mode === 'magnitude-aware' && alpha ? alpha[o] : 1;
    for (let i = o * k; i < (o + 1) * k; i++) {
      const m = mode === 'magnitude-aware' ? Math.abs(w[i]) < 1 : Math.abs(w[i]) <= 1;
      if (m) dW[i] += a * G[i];
    }
  }
}
