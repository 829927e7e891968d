/**
 * Real-valued element and window ops of the golden model, fp32 in one fixed order (each arithmetic result
 * rounded to fp32 with Math.fround; sums run in index order). The simulator calls these same functions, so
 * the two agree bit for bit by construction; only the heavy conv/GEMM kernels are swappable (kernels/).
 */
import { tensor, type Tensor } from '../core/tensor.ts';
import { outSize, validTaps } from '../core/geometry.ts';

const f = Math.fround;

/** y = fp32(fp32(mul_c * acc) + bias_c): the binary conv's output transform (alpha and BN folded). */
export function xnorOutputTransform(acc: Int32Array, mul: Float32Array, bias: Float32Array, h: number, w: number, c: number): Tensor {
  const out = tensor(h, w, c);
  const d = out.data;
  for (let p = 0, i = 0; p < h * w; p++) for (let o = 0; o < c; o++, i++) d[i] = f(f(mul[o] * acc[i]) + bias[o]);
  return out;
}

export function bnApply(x: Tensor, scale: Float32Array, shift: Float32Array): Tensor {
  const out = tensor(x.h, x.w, x.c);
  for (let p = 0, i = 0; p < x.h * x.w; p++) for (let c = 0; c < x.c; c++, i++) out.data[i] = f(f(x.data[i] * scale[c]) + shift[c]);
  return out;
}

export function addApply(a: Tensor, b: Tensor): Tensor {
  const out = tensor(a.h, a.w, a.c);
  for (let i = 0; i < a.data.length; i++) out.data[i] = f(a.data[i] + b.data[i]);
  return out;
}

export function reluApply(x: Tensor): Tensor {
  const out = tensor(x.h, x.w, x.c);
  for (let i = 0; i < x.data.length; i++) out.data[i] = x.data[i] > 0 ? x.data[i] : 0;
  return out;
}

export function clipApply(x: Tensor): Tensor {
  const out = tensor(x.h, x.w, x.c);
  for (let i = 0; i < x.data.length; i++) out.data[i] = Math.min(1, Math.max(-1, x.data[i]));
  return out;
}

/** avg pool: in-bounds taps summed in (ky, kx) order, divided by the in-bounds count. max pool ignores padding. */
export function poolApply(x: Tensor, kind: 'avgpool' | 'maxpool', kernel: number, stride: number, pad: number): Tensor {
  const win = { kernel, stride, pad };
  const oh = outSize(x.h, win), ow = outSize(x.w, win);
  const out = tensor(oh, ow, x.c);
  for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    const count = validTaps(oy, x.h, win) * validTaps(ox, x.w, win);
    for (let c = 0; c < x.c; c++) {
      let acc = kind === 'maxpool' ? -Infinity : 0;
      for (let ky = 0; ky < kernel; ky++) {
        const iy = oy * stride - pad + ky;
        if (iy < 0 || iy >= x.h) continue;
        for (let kx = 0; kx < kernel; kx++) {
          const ix = ox * stride - pad + kx;
          if (ix < 0 || ix >= x.w) continue;
          const v = x.data[(iy * x.w + ix) * x.c + c];
          acc = kind === 'maxpool' ? (v > acc ? v : acc) : f(acc + v);
        }
      }
      out.data[(oy * ow + ox) * x.c + c] = kind === 'maxpool' ? acc : f(acc / count);
    }
  }
  return out;
}

export function gapApply(x: Tensor): Tensor {
  const out = tensor(1, 1, x.c);
  const n = x.h * x.w;
  for (let c = 0; c < x.c; c++) {
    let acc = 0;
    for (let p = 0; p < n; p++) acc = f(acc + x.data[p * x.c + c]);
    out.data[c] = f(acc / n);
  }
  return out;
}

/**
 * XNOR-Net activation scale (Rastegari et al. 2016, eq. 10): A = mean_c |x| per pixel, K = A * k where k is
 * a kxk box filter of 1/(k*k) with zero padding (padded taps add nothing but still count in the divisor).
 * Returns conv * K (broadcast over channels).
 */
export function actScaleApply(conv: Tensor, x: Tensor, kernel: number, stride: number, pad: number): Tensor {
  const A = new Float32Array(x.h * x.w);
  for (let p = 0; p < x.h * x.w; p++) {
    let s = 0;
    for (let c = 0; c < x.c; c++) s = f(s + Math.abs(x.data[p * x.c + c]));
    A[p] = f(s / x.c);
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
        s = f(s + A[iy * x.w + ix]);
      }
    }
    const K = f(s / area);
    const base = (oy * conv.w + ox) * conv.c;
    for (let c = 0; c < conv.c; c++) out.data[base + c] = f(conv.data[base + c] * K);
  }
  return out;
}
