/**
 * The batch ops: the trainer's numeric primitives, forward/backward over Float32Array, NHWC with a batch
 * dimension (batch.ts). The loops written here are the readable spec; with the 'wasm-simd' back end
 * (batch-fast.ts) the same results come from the one WebAssembly stack (the float GEMM, im2col / col2im,
 * the XNOR conv, the memory-bound kernels), bit for bit.
 * Each forward returns its output plus a small context holding only what its backward needs
 * (micrograd/tinygrad style). Parameter gradients are ACCUMULATED into caller-owned arrays (zeroed once per
 * step by the optimiser), input gradients are returned fresh.
 *
 * Convolution = im2col + the one sgemm (batch-fast.ts; fast.ts sgemm). Column layout: row p = (n, oy, ox), column
 * (ky, kx, ci), which matches the OHWI weight layout, so  out[P,O] = cols[P,K] * W[O,K]^T,
 * dW[O,K] += dOut[P,O]^T * cols[P,K],  dCols[P,K] = dOut[P,O] * W[O,K], then col2im scatters dCols back.
 * Padded taps read `padValue` (0 for real convs and 'zero'-padded binary convs; +1 for 'one' padding), and
 * their gradient is dropped. The im2col / dcols matrices live in caller-owned ConvScratch buffers (reused per
 * layer by TrainNet); other outputs come from batch.ts bt()/allocF32(), i.e. from TrainNet's recycling Arena
 * during a training step (zeroed on hand-out, so results are bit-identical to fresh allocation).
 *
 * Batch norm (Ioffe & Szegedy 2015), PyTorch conventions: training normalises with the biased batch variance
 * and updates running stats with momentum 0.1 and the UNBIASED variance; eval uses running stats.
 * Backward with xhat = (x - mean) * invstd over M = n*h*w values per channel, g = dy * gamma:
 *   dx = invstd * (g - mean(g) - xhat * mean(g * xhat)),  dgamma = sum(dy * xhat),  dbeta = sum(dy).
 */
import { convForwardFused, convInputGradFused, sgemm, simdOps } from './batch-fast.ts';
import { allocF32, bt, type BT } from './batch.ts';
import { outSize } from '../core/geometry.ts';
import { argmax } from '../core/tensor.ts';

// ---------------------------------------------------------------------------------------------- conv2d

export interface ConvGeom { kernel: number; stride: number; pad: number }
export interface ConvCtx { x: BT; cols: Float32Array; oh: number; ow: number; geom: ConvGeom; padValue: number; direct: boolean }

function isDirect(g: ConvGeom): boolean { return g.kernel === 1 && g.stride === 1 && g.pad === 0; }

/**
 * Per-layer scratch buffers (TrainNet keeps one per conv layer): the im2col matrix and the dcols matrix are
 * reused from step to step instead of allocating ~10 MB typed arrays per batch. A buffer is only reused when
 * it is large enough; `cols` stays referenced by the forward context until the backward of the same layer.
 */
export interface ConvScratch { cols?: Float32Array; dcols?: Float32Array; sw?: Float32Array; wb?: Float32Array; g?: Float32Array }

function scratchArray(s: ConvScratch | undefined, key: 'cols' | 'dcols', n: number): Float32Array {
  if (!s) return new Float32Array(n);
  const have = s[key];
  if (have && have.length >= n) return have.length === n ? have : have.subarray(0, n);
  const a = new Float32Array(n);
  s[key] = a;
  return a;
}

export function im2col(x: BT, g: ConvGeom, padValue: number, scratch?: ConvScratch): { cols: Float32Array; oh: number; ow: number } {
  const { n, h, w, c } = x;
  const k = g.kernel;
  const oh = outSize(h, g), ow = outSize(w, g);
  const K = k * k * c;
  // every entry is written below (padded taps included), so a reused buffer needs no clearing
  const cols = scratchArray(scratch, 'cols', n * oh * ow * K);
  const simd = simdOps();
  if (simd) { simd.im2col(x.data, x, k, g.stride, g.pad, oh, ow, padValue, cols); return { cols, oh, ow }; }
  const xd = x.data;
  const { stride, pad } = g;
  let q = 0;
  for (let b = 0; b < n; b++) {
    const xb = b * h * w * c;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        // in-bounds taps of one kernel row are contiguous both in x (NHWC) and in the column: one run copy
        const x0 = ox * stride - pad;
        const kx0 = x0 < 0 ? -x0 : 0, kx1 = x0 + k > w ? w - x0 : k;
        for (let ky = 0; ky < k; ky++) {
          const iy = oy * stride - pad + ky;
          if (iy < 0 || iy >= h || kx1 <= kx0) { cols.fill(padValue, q, q + k * c); q += k * c; continue; }
          if (kx0 > 0) cols.fill(padValue, q, q + kx0 * c);
          const src = xb + (iy * w + x0 + kx0) * c, len = (kx1 - kx0) * c, dst = q + kx0 * c;
          for (let i = 0; i < len; i++) cols[dst + i] = xd[src + i];
          if (kx1 < k) cols.fill(padValue, q + kx1 * c, q + k * c);
          q += k * c;
        }
      }
    }
  }
  return { cols, oh, ow };
}

export function col2im(dcols: Float32Array, x: BT, g: ConvGeom, oh: number, ow: number): BT {
  const { n, h, w, c } = x;
  const k = g.kernel, K = k * k * c;
  const dx = bt(n, h, w, c);
  const d = dx.data;
  const { stride, pad } = g;
  const simd = simdOps();
  if (simd) { simd.col2im(dcols, x, k, stride, pad, oh, ow, d); return dx; }
  let q = 0;
  for (let b = 0; b < n; b++) {
    const xb = b * h * w * c;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        // the same contiguous in-bounds runs as im2col (same order of additions per element as tap order)
        const x0 = ox * stride - pad;
        const kx0 = x0 < 0 ? -x0 : 0, kx1 = x0 + k > w ? w - x0 : k;
        for (let ky = 0; ky < k; ky++) {
          const iy = oy * stride - pad + ky;
          if (iy >= 0 && iy < h && kx1 > kx0) {
            const dst = xb + (iy * w + x0 + kx0) * c, len = (kx1 - kx0) * c, src = q + kx0 * c;
            for (let i = 0; i < len; i++) d[dst + i] += dcols[src + i];
          }
          q += k * c;
        }
      }
    }
  }
  return dx;
}

/** out = conv(x, W) (+ bias). W is OHWI [O, k, k, C]. */
export function conv2dForward(x: BT, weight: Float32Array, outCh: number, g: ConvGeom, bias?: Float32Array, padValue = 0, scratch?: ConvScratch): { y: BT; ctx: ConvCtx } {
  const direct = isDirect(g);
  const K = g.kernel * g.kernel * x.c;
  if (weight.length !== outCh * K) throw new Error(`conv2d: weight length ${weight.length} != ${outCh}x${K}`);
  if (!direct) {
    // fused im2col + GEMM on the wasm heap when available (gemm.ts; same bits as the two steps below)
    const oh = outSize(x.h, g), ow = outSize(x.w, g);
    const y = bt(x.n, oh, ow, outCh);
    const cols = scratchArray(scratch, 'cols', x.n * oh * ow * K);
    if (convForwardFused(x.data, { n: x.n, h: x.h, w: x.w, c: x.c, k: g.kernel, stride: g.stride, pad: g.pad, oh, ow }, padValue, weight, outCh, y.data, cols)) {
      if (bias) addBias(y.data, bias, outCh);
      return { y, ctx: { x, cols, oh, ow, geom: g, padValue, direct } };
    }
  }
  const { cols, oh, ow } = direct ? { cols: x.data, oh: x.h, ow: x.w } : im2col(x, g, padValue, scratch);
  const P = x.n * oh * ow;
  const y = bt(x.n, oh, ow, outCh);
  sgemm(P, outCh, K, cols, weight, y.data, false, true, false);
  if (bias) addBias(y.data, bias, outCh);
  return { y, ctx: { x, cols, oh, ow, geom: g, padValue, direct } };
}

/**
 * Forward of a binary conv with +-1 weights `signW` (OHWI) and an optional per-channel scale alpha:
 * y = fp32(conv(x, signW) * alpha_o) (alpha null: the conv alone), padded taps read `padValue`.
 * `plusMinusOneInput`: x is exactly +-1 (a sign layer's output), so the conv is an XNOR-popcount of packed
 * bits (batch-fast.ts xnorConv, the golden model's binary conv) with the same bits as the float GEMM, and
 * the im2col matrix the weight gradient needs is gathered only when `keepCols` (training). Otherwise the
 * float conv (conv2dForward) runs and its output is scaled in place.
 */
export function binaryConvForward(x: BT, signW: Float32Array, alpha: Float32Array | null, outCh: number, g: ConvGeom, padValue: number,
  plusMinusOneInput: boolean, scratch: ConvScratch | undefined, keepCols: boolean): { y: BT; ctx: ConvCtx } {
  const simd = plusMinusOneInput ? simdOps() : null;
  if (simd) {
    const oh = outSize(x.h, g), ow = outSize(x.w, g);
    const y = bt(x.n, oh, ow, outCh);
    simd.xnorConv(x.data, x, signW, outCh, g.kernel, g.stride, g.pad, oh, ow, padValue === 1, y.data, alpha);
    const cols = keepCols ? im2col(x, g, padValue, scratch).cols : new Float32Array(0);
    return { y, ctx: { x, cols, oh, ow, geom: g, padValue, direct: false } };
  }
  const r = conv2dForward(x, signW, outCh, g, undefined, padValue, scratch);
  if (alpha) scaleChannels(r.y.data, alpha, outCh);
  return r;
}

/** y[i*O + o] = fp32(y[i*O + o] * s[o]) in place. */
export function scaleChannels(y: Float32Array, s: Float32Array, O: number): void {
  const simd = simdOps();
  if (simd) { simd.scaleChannels(y, s, O); return; }
  for (let i = 0; i < y.length; i += O) for (let o = 0; o < O; o++) y[i + o] *= s[o];
}

function addBias(yd: Float32Array, bias: Float32Array, O: number): void {
  for (let p = 0; p < yd.length; p += O) for (let o = 0; o < O; o++) yd[p + o] += bias[o];
}

/** Accumulates dW (and dBias); returns dx unless needInputGrad is false. */
export function conv2dBackward(dy: BT, ctx: ConvCtx, weight: Float32Array, dWeight: Float32Array | null, dBias?: Float32Array | null, needInputGrad = true, scratch?: ConvScratch): BT | null {
  const { x, cols, geom } = ctx;
  const O = dy.c, P = dy.n * dy.h * dy.w, K = geom.kernel * geom.kernel * x.c;
  if (dWeight) sgemm(O, K, P, dy.data, cols, dWeight, true, false, true);
  if (dBias) {
    const d = dy.data;
    for (let p = 0; p < P; p++) for (let o = 0; o < O; o++) dBias[o] += d[p * O + o];
  }
  if (!needInputGrad) return null;
  if (!ctx.direct) {
    const dx = bt(x.n, x.h, x.w, x.c);
    const d = { n: x.n, h: x.h, w: x.w, c: x.c, k: geom.kernel, stride: geom.stride, pad: geom.pad, oh: ctx.oh, ow: ctx.ow };
    if (convInputGradFused(dy.data, d, weight, O, dx.data)) return dx;
  }
  // the direct (1x1) case returns dcols as dx itself, so it must be a fresh array
  const dcols = ctx.direct ? allocF32(P * K) : scratchArray(scratch, 'dcols', P * K);
  sgemm(P, K, O, dy.data, weight, dcols, false, false, false);
  if (ctx.direct) return bt(x.n, x.h, x.w, x.c, dcols);
  return col2im(dcols, x, geom, ctx.oh, ctx.ow);
}

// ---------------------------------------------------------------------------------------------- fc

export interface FcCtx { x: BT }
/** y[n, O] = x[n, F] * W[O, F]^T + b, x flattened in HWC order. */
export function fcForward(x: BT, weight: Float32Array, outF: number, bias?: Float32Array): { y: BT; ctx: FcCtx } {
  const F = x.h * x.w * x.c;
  if (weight.length !== outF * F) throw new Error(`fc: weight length ${weight.length} != ${outF}x${F}`);
  const y = bt(x.n, 1, 1, outF);
  sgemm(x.n, outF, F, x.data, weight, y.data, false, true, false);
  if (bias) for (let b = 0; b < x.n; b++) for (let o = 0; o < outF; o++) y.data[b * outF + o] += bias[o];
  return { y, ctx: { x } };
}

export function fcBackward(dy: BT, ctx: FcCtx, weight: Float32Array, dWeight: Float32Array | null, dBias: Float32Array | null, needInputGrad = true): BT | null {
  const { x } = ctx;
  const F = x.h * x.w * x.c, O = dy.c;
  if (dWeight) sgemm(O, F, x.n, dy.data, x.data, dWeight, true, false, true);
  if (dBias) for (let b = 0; b < x.n; b++) for (let o = 0; o < O; o++) dBias[o] += dy.data[b * O + o];
  if (!needInputGrad) return null;
  const dx = bt(x.n, x.h, x.w, x.c);
  sgemm(x.n, F, O, dy.data, weight, dx.data, false, false, false);
  return dx;
}

// ---------------------------------------------------------------------------------------------- batch norm

export interface BnParams { gamma: Float32Array; beta: Float32Array; runningMean: Float32Array; runningVar: Float32Array; eps: number }
export interface BnCtx { xhat: Float32Array; invstd: Float64Array; c: number; shape: BT }
export const BN_MOMENTUM = 0.1;

/** momentum: running = (1-m)*running + m*batch; m = 0 leaves the running stats untouched. */
export function bnForward(x: BT, p: BnParams, training: boolean, momentum = BN_MOMENTUM): { y: BT; ctx: BnCtx | null } {
  const C = x.c, M = x.n * x.h * x.w;
  const xd = x.data;
  const y = bt(x.n, x.h, x.w, C);
  const yd = y.data;
  const simd = C % 4 === 0 ? simdOps() : null;
  if (!training) {
    const mul = new Float64Array(C), add = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      mul[c] = p.gamma[c] / Math.sqrt(p.runningVar[c] + p.eps);
      add[c] = p.beta[c] - p.runningMean[c] * mul[c];
    }
    if (simd) { simd.bnNormalize(xd, C, mul, mul, mul, add, null, yd); return { y, ctx: null }; }
    for (let i = 0; i < M; i++) { const o = i * C; for (let c = 0; c < C; c++) yd[o + c] = xd[o + c] * mul[c] + add[c]; }
    return { y, ctx: null };
  }
  const mean = new Float64Array(C), sq = new Float64Array(C);
  if (simd) simd.bnSums(xd, C, null, mean);
  else for (let i = 0; i < M; i++) { const o = i * C; for (let c = 0; c < C; c++) mean[c] += xd[o + c]; }
  for (let c = 0; c < C; c++) mean[c] /= M;
  if (simd) simd.bnSums(xd, C, mean, sq);
  else for (let i = 0; i < M; i++) { const o = i * C; for (let c = 0; c < C; c++) { const d = xd[o + c] - mean[c]; sq[c] += d * d; } }
  const invstd = new Float64Array(C);
  const g32 = new Float32Array(C), b32 = new Float32Array(C), m32 = new Float32Array(C), is32 = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const varB = sq[c] / M;
    invstd[c] = 1 / Math.sqrt(varB + p.eps);
    if (momentum > 0) {
      const unbiased = M > 1 ? sq[c] / (M - 1) : varB;
      p.runningMean[c] = (1 - momentum) * p.runningMean[c] + momentum * mean[c];
      p.runningVar[c] = (1 - momentum) * p.runningVar[c] + momentum * unbiased;
    }
    g32[c] = p.gamma[c]; b32[c] = p.beta[c]; m32[c] = mean[c]; is32[c] = invstd[c];
  }
  const xhat = allocF32(xd.length);
  if (simd) { simd.bnNormalize(xd, C, m32, is32, g32, b32, xhat, yd); return { y, ctx: { xhat, invstd, c: C, shape: x } }; }
  for (let i = 0; i < M; i++) {
    const o = i * C;
    for (let c = 0; c < C; c++) {
      const xh = (xd[o + c] - m32[c]) * is32[c];
      xhat[o + c] = xh;
      yd[o + c] = xh * g32[c] + b32[c];
    }
  }
  return { y, ctx: { xhat, invstd, c: C, shape: x } };
}

export function bnBackward(dy: BT, ctx: BnCtx, gamma: Float32Array, dGamma: Float32Array, dBeta: Float32Array): BT {
  const C = ctx.c, M = dy.n * dy.h * dy.w;
  const d = dy.data, xh = ctx.xhat;
  const sumDy = new Float64Array(C), sumDyXh = new Float64Array(C);
  const simd = C % 4 === 0 ? simdOps() : null;
  if (simd) simd.bnBackwardSums(d, xh, C, sumDy, sumDyXh);
  else for (let i = 0; i < M; i++) { const o = i * C; for (let c = 0; c < C; c++) { sumDy[c] += d[o + c]; sumDyXh[c] += d[o + c] * xh[o + c]; } }
  const k1 = new Float64Array(C), k2 = new Float64Array(C), k3 = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    dGamma[c] += sumDyXh[c];
    dBeta[c] += sumDy[c];
    // dx = gamma*invstd * (dy - mean(dy) - xhat*mean(dy*xhat))
    k1[c] = gamma[c] * ctx.invstd[c];
    k2[c] = sumDy[c] / M;
    k3[c] = sumDyXh[c] / M;
  }
  const dx = bt(dy.n, dy.h, dy.w, C);
  const o2 = dx.data;
  if (simd) { simd.bnBackwardDx(d, xh, C, k1, k2, k3, o2); return dx; }
  for (let i = 0; i < M; i++) { const o = i * C; for (let c = 0; c < C; c++) o2[o + c] = k1[c] * (d[o + c] - k2[c] - xh[o + c] * k3[c]); }
  return dx;
}

// ---------------------------------------------------------------------------------------------- pooling

export interface PoolGeom { kernel: number; stride: number; pad: number }
export interface MaxPoolCtx { x: BT; argmax: Int32Array }

export function maxPoolForward(x: BT, g: PoolGeom): { y: BT; ctx: MaxPoolCtx } {
  const { n, h, w, c } = x;
  const oh = outSize(h, g), ow = outSize(w, g);
  const y = bt(n, oh, ow, c);
  const arg = new Int32Array(y.data.length);
  const simd = simdOps();
  if (simd) { simd.maxPool(x.data, x, g.kernel, g.stride, g.pad, oh, ow, y.data, arg); return { y, ctx: { x, argmax: arg } }; }
  const xd = x.data, yd = y.data;
  for (let b = 0; b < n; b++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    const yo = ((b * oh + oy) * ow + ox) * c;
    for (let ch = 0; ch < c; ch++) { yd[yo + ch] = -Infinity; arg[yo + ch] = -1; }
    for (let ky = 0; ky < g.kernel; ky++) {
      const iy = oy * g.stride - g.pad + ky;
      if (iy < 0 || iy >= h) continue;
      for (let kx = 0; kx < g.kernel; kx++) {
        const ix = ox * g.stride - g.pad + kx;
        if (ix < 0 || ix >= w) continue;
        const xo = ((b * h + iy) * w + ix) * c;
        for (let ch = 0; ch < c; ch++) if (xd[xo + ch] > yd[yo + ch]) { yd[yo + ch] = xd[xo + ch]; arg[yo + ch] = xo + ch; }
      }
    }
  }
  return { y, ctx: { x, argmax: arg } };
}

export function maxPoolBackward(dy: BT, ctx: MaxPoolCtx): BT {
  const dx = bt(ctx.x.n, ctx.x.h, ctx.x.w, ctx.x.c);
  for (let i = 0; i < dy.data.length; i++) if (ctx.argmax[i] >= 0) dx.data[ctx.argmax[i]] += dy.data[i];
  return dx;
}

/** Average pool dividing by the number of IN-BOUNDS taps (count_include_pad = false; same as pad 0). */
export function avgPoolForward(x: BT, g: PoolGeom): { y: BT; ctx: { x: BT } } {
  const { n, h, w, c } = x;
  const oh = outSize(h, g), ow = outSize(w, g);
  const y = bt(n, oh, ow, c);
  const simd = simdOps();
  if (simd) { simd.avgPool(x.data, x, g.kernel, g.stride, g.pad, oh, ow, y.data); return { y, ctx: { x } }; }
  const xd = x.data, yd = y.data;
  for (let b = 0; b < n; b++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    const yo = ((b * oh + oy) * ow + ox) * c;
    let cnt = 0;
    for (let ky = 0; ky < g.kernel; ky++) {
      const iy = oy * g.stride - g.pad + ky;
      if (iy < 0 || iy >= h) continue;
      for (let kx = 0; kx < g.kernel; kx++) {
        const ix = ox * g.stride - g.pad + kx;
        if (ix < 0 || ix >= w) continue;
        cnt++;
        const xo = ((b * h + iy) * w + ix) * c;
        for (let ch = 0; ch < c; ch++) yd[yo + ch] += xd[xo + ch];
      }
    }
    for (let ch = 0; ch < c; ch++) yd[yo + ch] /= cnt;
  }
  return { y, ctx: { x } };
}

export function avgPoolBackward(dy: BT, x: BT, g: PoolGeom): BT {
  const { n, h, w, c } = x;
  const oh = dy.h, ow = dy.w;
  const dx = bt(n, h, w, c);
  for (let b = 0; b < n; b++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    const yo = ((b * oh + oy) * ow + ox) * c;
    const y0 = oy * g.stride - g.pad, x0 = ox * g.stride - g.pad;
    const ylo = Math.max(0, y0), yhi = Math.min(h, y0 + g.kernel), xlo = Math.max(0, x0), xhi = Math.min(w, x0 + g.kernel);
    const inv = 1 / ((yhi - ylo) * (xhi - xlo));
    for (let iy = ylo; iy < yhi; iy++) for (let ix = xlo; ix < xhi; ix++) {
      const xo = ((b * h + iy) * w + ix) * c;
      for (let ch = 0; ch < c; ch++) dx.data[xo + ch] += dy.data[yo + ch] * inv;
    }
  }
  return dx;
}

export function gapForward(x: BT): BT {
  const { n, h, w, c } = x;
  const y = bt(n, 1, 1, c);
  const hw = h * w;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < hw; i++) { const o = (b * hw + i) * c; for (let ch = 0; ch < c; ch++) y.data[b * c + ch] += x.data[o + ch]; }
    for (let ch = 0; ch < c; ch++) y.data[b * c + ch] /= hw;
  }
  return y;
}

export function gapBackward(dy: BT, x: BT): BT {
  const { n, h, w, c } = x;
  const dx = bt(n, h, w, c);
  const hw = h * w;
  for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) {
    const o = (b * hw + i) * c;
    for (let ch = 0; ch < c; ch++) dx.data[o + ch] = dy.data[b * c + ch] / hw;
  }
  return dx;
}

// ---------------------------------------------------------------------------------------------- elementwise

export function addForward(a: BT, b: BT): BT {
  const y = bt(a.n, a.h, a.w, a.c);
  const simd = simdOps();
  if (simd) { simd.add(a.data, b.data, y.data); return y; }
  for (let i = 0; i < y.data.length; i++) y.data[i] = a.data[i] + b.data[i];
  return y;
}

/** A pointwise activation: forward value and derivative (as a function of the INPUT x). */
export interface Pointwise { name: string; f(x: number): number; df(x: number): number }

export const RELU: Pointwise = { name: 'relu', f: (x) => (x > 0 ? x : 0), df: (x) => (x > 0 ? 1 : 0) };
/** hardtanh(x) = clamp(x, -1, 1); derivative 1 strictly inside (-1, 1), as torch.nn.Hardtanh. */
export const CLIP: Pointwise = { name: 'clip', f: (x) => (x < -1 ? -1 : x > 1 ? 1 : x), df: (x) => (x > -1 && x < 1 ? 1 : 0) };
/** leaky clip (Caffe Bi-Real recipe): identity on [-1, 1], slope 0.1 outside. */
export const LEAKY_CLIP: Pointwise = {
  name: 'leaky-clip',
  f: (x) => (x < -1 ? -1 + 0.1 * (x + 1) : x > 1 ? 1 + 0.1 * (x - 1) : x),
  df: (x) => (x < -1 || x > 1 ? 0.1 : 1),
};

export function pointwiseForward(x: BT, act: Pointwise): BT {
  const y = bt(x.n, x.h, x.w, x.c);
  const xd = x.data, yd = y.data, n = yd.length;
  const simd = act === CLIP || act === RELU ? simdOps() : null;
  if (simd) { simd.act(act === CLIP ? 'clip' : 'relu', xd, yd); return y; }
  if (act === CLIP) { for (let i = 0; i < n; i++) { const v = xd[i]; yd[i] = v < -1 ? -1 : v > 1 ? 1 : v; } return y; }
  if (act === RELU) { for (let i = 0; i < n; i++) { const v = xd[i]; yd[i] = v > 0 ? v : 0; } return y; }
  const f = act.f;
  for (let i = 0; i < n; i++) yd[i] = f(xd[i]);
  return y;
}

export function pointwiseBackward(dy: BT, x: BT, act: Pointwise): BT {
  const dx = bt(x.n, x.h, x.w, x.c);
  const simd = act === CLIP || act === RELU ? simdOps() : null;
  if (simd) { simd.actBackward(act === CLIP ? 'clip' : 'relu', x.data, dy.data, dx.data); return dx; }
  const df = act.df;
  for (let i = 0; i < dx.data.length; i++) dx.data[i] = dy.data[i] * df(x.data[i]);
  return dx;
}

// ---------------------------------------------------------------------------------------------- XNOR-Net K

/**
 * XNOR-Net activation scale (Rastegari et al. 2016): A[y,x] = mean_c |b[y,x,c]|, K = A (*) box, box = k x k
 * filter of 1/(k*k) applied with zero padding (so border K divides by k*k, not by the in-bounds count), with
 * the bconv's stride and pad. out[p, o] = a[p, o] * K[p]. Gradient flows into both a and b (d|b|/db = sign(b),
 * taken as 0 at b = 0).
 */
export interface ActScaleCtx { a: BT; b: BT; K: Float32Array; g: PoolGeom }
export function actScaleForward(a: BT, b: BT, g: PoolGeom): { y: BT; ctx: ActScaleCtx } {
  const { n, h, w, c } = b;
  const A = new Float32Array(n * h * w);
  for (let i = 0; i < A.length; i++) { let s = 0; for (let ch = 0; ch < c; ch++) s += Math.abs(b.data[i * c + ch]); A[i] = s / c; }
  const oh = a.h, ow = a.w, kk = g.kernel * g.kernel;
  const K = new Float32Array(n * oh * ow);
  for (let bb = 0; bb < n; bb++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    let s = 0;
    for (let ky = 0; ky < g.kernel; ky++) {
      const iy = oy * g.stride - g.pad + ky;
      if (iy < 0 || iy >= h) continue;
      for (let kx = 0; kx < g.kernel; kx++) {
        const ix = ox * g.stride - g.pad + kx;
        if (ix < 0 || ix >= w) continue;
        s += A[(bb * h + iy) * w + ix];
      }
    }
    K[(bb * oh + oy) * ow + ox] = s / kk;
  }
  const y = bt(a.n, a.h, a.w, a.c);
  for (let p = 0; p < K.length; p++) for (let o = 0; o < a.c; o++) y.data[p * a.c + o] = a.data[p * a.c + o] * K[p];
  return { y, ctx: { a, b, K, g } };
}

export function actScaleBackward(dy: BT, ctx: ActScaleCtx): [BT, BT] {
  const { a, b, K, g } = ctx;
  const da = bt(a.n, a.h, a.w, a.c);
  const dK = new Float64Array(K.length);
  for (let p = 0; p < K.length; p++) {
    let s = 0;
    for (let o = 0; o < a.c; o++) { const i = p * a.c + o; da.data[i] = dy.data[i] * K[p]; s += dy.data[i] * a.data[i]; }
    dK[p] = s;
  }
  const { n, h, w, c } = b;
  const dA = new Float64Array(n * h * w);
  const oh = a.h, ow = a.w, kk = g.kernel * g.kernel;
  for (let bb = 0; bb < n; bb++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    const gk = dK[(bb * oh + oy) * ow + ox] / kk;
    for (let ky = 0; ky < g.kernel; ky++) {
      const iy = oy * g.stride - g.pad + ky;
      if (iy < 0 || iy >= h) continue;
      for (let kx = 0; kx < g.kernel; kx++) {
        const ix = ox * g.stride - g.pad + kx;
        if (ix < 0 || ix >= w) continue;
        dA[(bb * h + iy) * w + ix] += gk;
      }
    }
  }
  const db = bt(n, h, w, c);
  for (let i = 0; i < dA.length; i++) {
    const s = dA[i] / c;
    for (let ch = 0; ch < c; ch++) { const v = b.data[i * c + ch]; db.data[i * c + ch] = v > 0 ? s : v < 0 ? -s : 0; }
  }
  return [da, db];
}

// ---------------------------------------------------------------------------------------------- loss

/**
 * Softmax cross-entropy, mean over the batch, with label smoothing eps: target q = (1-eps)*onehot + eps/C.
 * loss = -(1/n) sum_b sum_c q_bc log softmax(z_b)_c ;  dL/dz_bc = (p_bc - q_bc) / n.
 * `normaliser` (default n) divides the gradient instead: a data-parallel shard of a batch of N passes N, so
 * the shards' gradients sum to the full-batch mean gradient (replicas.ts). The returned loss is the shard mean.
 */
export function softmaxCrossEntropy(logits: BT, labels: ArrayLike<number>, smoothing = 0, normaliser = logits.n): { loss: number; dlogits: BT; correct: number } {
  const n = logits.n, C = logits.h * logits.w * logits.c;
  const z = logits.data;
  const d = bt(logits.n, logits.h, logits.w, logits.c);
  let loss = 0, correct = 0;
  for (let b = 0; b < n; b++) {
    const o = b * C;
    const arg = argmax(z, o, C), mx = z[o + arg];
    if (arg === labels[b]) correct++;
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(z[o + c] - mx);
    const lse = mx + Math.log(s);
    for (let c = 0; c < C; c++) {
      const q = (c === labels[b] ? 1 - smoothing : 0) + smoothing / C;
      const logp = z[o + c] - lse;
      loss -= q * logp;
      d.data[o + c] = (Math.exp(logp) - q) / normaliser;
    }
  }
  return { loss: loss / n, dlogits: d, correct };
}

