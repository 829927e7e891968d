/**
 * Reference kernels: plain, readable TypeScript. These ARE the numeric specification of birealsim
 * (conventions in core/bits.ts); fast kernels are tested against them bit for bit.
 *
 * Binary conv with spatial padding. For output (oy, ox) and channel o, the taps (ky, kx) whose input pixel
 * lies inside the image contribute C valid +-1 pairs each: dot += C - 2*popcount(x XOR w) (padding bits
 * XOR to 0). An out-of-bounds tap contributes:
 *   padMode 'zero': nothing (the padded value 0 is neither +1 nor -1; the effective K counts only in-bounds
 *                   taps, matching a float conv on sign(x) zero-padded, as in the authors' PyTorch code);
 *   padMode 'one' : the pad value +1 (bit 0), i.e. C - 2*popcount(w), as in LCE's one-padding mode.
 */
import { popcount32 } from '../core/bits.ts';
import type { BinaryConvArgs, FcArgs, KernelSet, RealConvArgs } from './types.ts';

export function binaryConvReference(a: BinaryConvArgs): Int32Array {
  const { input, weightBits, cout, kernel, stride, pad, padMode, outH, outW } = a;
  const wpp = input.wordsPerPixel, C = input.c;
  const out = new Int32Array(outH * outW * cout);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      for (let o = 0; o < cout; o++) {
        let dot = 0;
        for (let ky = 0; ky < kernel; ky++) {
          const iy = oy * stride - pad + ky;
          for (let kx = 0; kx < kernel; kx++) {
            const ix = ox * stride - pad + kx;
            const wOff = ((o * kernel + ky) * kernel + kx) * wpp;
            const inside = iy >= 0 && iy < input.h && ix >= 0 && ix < input.w;
            if (!inside && padMode === 'zero') continue;
            let pop = 0;
            if (inside) {
              const xOff = (iy * input.w + ix) * wpp;
              for (let k = 0; k < wpp; k++) pop += popcount32(input.words[xOff + k] ^ weightBits[wOff + k]);
            } else {
              for (let k = 0; k < wpp; k++) pop += popcount32(weightBits[wOff + k]);
            }
            dot += C - 2 * pop;
          }
        }
        out[(oy * outW + ox) * cout + o] = dot;
      }
    }
  }
  return out;
}

export function realConvReference(a: RealConvArgs): Float32Array {
  const { input, weight, bias, cout, kernel, stride, pad, outH, outW } = a;
  const C = input.c, f = Math.fround;
  const out = new Float32Array(outH * outW * cout);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      for (let o = 0; o < cout; o++) {
        let acc = 0;
        for (let ky = 0; ky < kernel; ky++) {
          const iy = oy * stride - pad + ky;
          if (iy < 0 || iy >= input.h) continue;
          for (let kx = 0; kx < kernel; kx++) {
            const ix = ox * stride - pad + kx;
            if (ix < 0 || ix >= input.w) continue;
            const xOff = (iy * input.w + ix) * C;
            const wOff = ((o * kernel + ky) * kernel + kx) * C;
            for (let c = 0; c < C; c++) acc = f(acc + f(input.data[xOff + c] * weight[wOff + c]));
          }
        }
        out[(oy * outW + ox) * cout + o] = bias ? f(acc + bias[o]) : acc;
      }
    }
  }
  return out;
}

export function fcReference(a: FcArgs): Float32Array {
  const { input, weight, bias, outFeatures } = a;
  const n = input.length, f = Math.fround;
  const out = new Float32Array(outFeatures);
  for (let o = 0; o < outFeatures; o++) {
    let acc = 0;
    const wOff = o * n;
    for (let i = 0; i < n; i++) acc = f(acc + f(input[i] * weight[wOff + i]));
    out[o] = bias ? f(acc + bias[o]) : acc;
  }
  return out;
}

export const referenceKernels: KernelSet = {
  name: 'reference',
  binaryConv: binaryConvReference,
  realConv: realConvReference,
  fc: fcReference,
};

/**
 * Single-precision GEMM, the spec of kernels/fast.ts sgemm: C = A * B, or C = fp32(C + A * B) with
 * `accumulate`; A is M x K (stored K x M when transA), B is K x N (stored N x K when transB), row-major.
 * Each output is one fp32 sum from +0 over k ascending of fp32 products (no FMA). The loops run i, k, j
 * (one row of partial sums advanced by one k at a time), which keeps every output's order of additions
 * k ascending while reading B along its rows. With K = 0 there is no sum: C is left as it is (accumulate)
 * or zeroed.
 */
export function sgemmReference(g: { M: number; N: number; K: number; a: Float32Array; b: Float32Array; c: Float32Array; transA?: boolean; transB?: boolean; accumulate?: boolean }): void {
  const { M, N, K, a, b, c } = g, f = Math.fround;
  if (K === 0) { if (!g.accumulate) c.fill(0, 0, M * N); return; }
  const A = (i: number, k: number) => (g.transA ? a[k * M + i] : a[i * K + k]);
  // B as K x N row-major (a transposed B is copied once, so the inner loop reads a row)
  let B = b;
  if (g.transB) { B = new Float32Array(K * N); for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) B[k * N + j] = b[j * K + k]; }
  const row = new Float32Array(N);
  for (let i = 0; i < M; i++) {
    row.fill(0);
    for (let k = 0; k < K; k++) {
      const aik = A(i, k);
      for (let j = 0, o = k * N; j < N; j++) row[j] = f(row[j] + f(aik * B[o + j]));
    }
    for (let j = 0; j < N; j++) c[i * N + j] = g.accumulate ? f(c[i * N + j] + row[j]) : row[j];
  }
}
