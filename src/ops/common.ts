/**
 * Helpers shared by op modules (not an op): window shape inference, channel slicing for tiles, the
 * element-wise workload and zero counts, tensor views. Geometry itself is core/geometry.ts.
 */
import { outSize, validTaps, windowProblem } from '../core/geometry.ts';
import { tensor, type Tensor } from '../core/tensor.ts';
import type { OpCounts, OpWorkload, PpuOps, ShapeFail, TensorInfo } from './types.ts';

export const f32 = Math.fround;

/** Output size of a window along one axis, or a shape error naming the axis. */
export function windowOut(kernel: number, stride: number, pad: number, size: number, axis: 'height' | 'width', fail: ShapeFail): number {
  const pr = windowProblem(size, { kernel, stride, pad });
  if (pr) fail(`${axis}: ${pr}`);
  return outSize(size, { kernel, stride, pad });
}

/** `k x k / s p pad` for tables. */
export function windowLabel(kernel: number, stride: number, pad: number): string { return `${kernel}x${kernel}/${stride} p${pad}`; }

export const NO_PPU: PpuOps = { mul: 0, add: 0, cmp: 0 };

export function zeroCounts(): OpCounts {
  return { binaryWeights: 0, params: {}, fpParams: {}, bops: 0, realMacs: 0, fpMacs: 0 };
}

/** Workload of an element-wise op over c channels (a post-op, or a stand-alone layer on the PPU). */
export function elementwiseWorkload(c: number, ppu: PpuOps, paramWordsPerChannel = 0, extra: Partial<OpWorkload> = {}): OpWorkload {
  return { unit: 'ppu', binary: false, kh: 1, kw: 1, stride: 1, pad: 0, cin: c, channelwise: true, ppu, paramWordsPerChannel, ...extra };
}

/** The same shape with another channel count / height (tile sub-steps). */
export function withShape(t: TensorInfo, h: number, c = t.c): TensorInfo { return { ...t, h, c }; }

/**
 * Per-channel slices of parameter arrays for tiles, kept while the source lives so kernels' packed-weight
 * caches (keyed on array identity) hit on every run. A kept slice is compared with its source on each use
 * and replaced when they differ, so a cache never sees stale weights. The whole range is the array itself.
 */
const sliceCache = new WeakMap<object, Map<string, Float32Array | Uint32Array>>();
function sameBits(a: Float32Array | Uint32Array, b: Float32Array | Uint32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Int32Array(a.buffer, a.byteOffset, a.length), y = new Int32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
export function cachedSlice<T extends Float32Array | Uint32Array>(src: T, key: string, make: () => T, check: (kept: T) => boolean): T {
  let m = sliceCache.get(src);
  if (!m) { m = new Map(); sliceCache.set(src, m); }
  const kept = m.get(key) as T | undefined;
  if (kept && check(kept)) return kept;
  const fresh = make();
  m.set(key, fresh);
  return fresh;
}
/** Elements [start, end) of a parameter array (rows of `per` values for channels [c0, c1): start = c0*per). */
export function rangeOf<T extends Float32Array | Uint32Array>(src: T, start: number, end: number): T {
  if (start === 0 && end === src.length) return src;
  return cachedSlice(src, `${start}/${end}`, () => src.slice(start, end) as T, (kept) => sameBits(src.subarray(start, end), kept));
}
/** Channels [c0, c1) of a per-channel vector (a view: vectors are not cached by kernels). */
export function channels(v: Float32Array, c0: number, c1: number): Float32Array { return c0 === 0 && c1 === v.length ? v : v.subarray(c0, c1); }

/** A real tensor value (throws on packed bits: an internal invariant). */
export function real(v: unknown, where: string): Tensor {
  if (!v || typeof v !== 'object' || 'words' in v) throw new Error(`${where}: expected a real tensor`);
  return v as Tensor;
}

/** Maps a real tensor element-wise into a fresh tensor. */
export function mapReal(x: Tensor, fn: (v: number, c: number) => number): Tensor {
  const out = tensor(x.h, x.w, x.c), d = out.data, s = x.data, C = x.c;
  for (let i = 0; i < s.length; i++) d[i] = fn(s[i], i % C);
  return out;
}

/**
 * Window pooling reference (max / average) over in-bounds taps: the average sums in (ky, kx) order in fp32
 * and divides by the in-bounds count (count_include_pad = false); the max ignores padding.
 */
export function poolApply(x: Tensor, kind: 'avgpool' | 'maxpool', kernel: number, stride: number, pad: number): Tensor {
  const win = { kernel, stride, pad };
  const oh = outSize(x.h, win), ow = outSize(x.w, win);
  const out = tensor(oh, ow, x.c);
  const max = kind === 'maxpool';
  for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    const count = validTaps(oy, x.h, win) * validTaps(ox, x.w, win);
    for (let c = 0; c < x.c; c++) {
      let acc = max ? -Infinity : 0;
      for (let ky = 0; ky < kernel; ky++) {
        const iy = oy * stride - pad + ky;
        if (iy < 0 || iy >= x.h) continue;
        for (let kx = 0; kx < kernel; kx++) {
          const ix = ox * stride - pad + kx;
          if (ix < 0 || ix >= x.w) continue;
          const v = x.data[(iy * x.w + ix) * x.c + c];
          acc = max ? (v > acc ? v : acc) : f32(acc + v);
        }
      }
      out.data[(oy * ow + ox) * x.c + c] = max ? acc : f32(acc / count);
    }
  }
  return out;
}
