/** Test helpers: seeded random tensors and a naive float conv used as an independent oracle. */
import { Rng } from '../src/core/rng.ts';
import { tensor, type Tensor } from '../src/core/tensor.ts';

export function randomTensor(rng: Rng, h: number, w: number, c: number): Tensor {
  const t = tensor(h, w, c);
  rng.fillNormal(t.data);
  // sprinkle exact zeros and negative zeros: sign(0) = sign(-0) = +1 must hold end to end
  for (let i = 0; i < t.data.length; i += 7) t.data[i] = i % 14 === 0 ? 0 : -0;
  return t;
}

/**
 * Naive float convolution written independently of the kernels: out[oy][ox][o] = sum over taps of
 * x[iy][ix][c] * w[o][ky][kx][c], with out-of-bounds taps taking the value `padValue` (0 or +1), or being
 * skipped when padValue is 0. Computed in double precision; on +-1 data every partial sum is an exact integer.
 */
export function naiveConv(x: Tensor, w: Float32Array, cout: number, k: number, stride: number, pad: number, padValue: number): Float64Array {
  const oh = Math.floor((x.h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(oh * ow * cout);
  for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) for (let o = 0; o < cout; o++) {
    let s = 0;
    for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
      const iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
      const inside = iy >= 0 && ix >= 0 && iy < x.h && ix < x.w;
      for (let c = 0; c < x.c; c++) {
        const v = inside ? x.data[(iy * x.w + ix) * x.c + c] : padValue;
        s += v * w[((o * k + ky) * k + kx) * x.c + c];
      }
    }
    out[(oy * ow + ox) * cout + o] = s;
  }
  return out;
}

/** +-1 version of a float tensor using the convention sign(0) = +1. */
export function signOf(t: Tensor): Tensor {
  const s = tensor(t.h, t.w, t.c);
  for (let i = 0; i < t.data.length; i++) s.data[i] = t.data[i] < 0 ? -1 : 1;
  return s;
}
