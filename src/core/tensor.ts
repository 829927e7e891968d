/**
 * Dense real-valued tensors (Float32, NHWC, batch 1) and bit-packed tensors.
 * Invariant: data.length equals the product of the shape; packed tensors hold wordsFor(c) words per pixel
 * with zero padding bits (see bits.ts).
 */
import { packRow, wordsFor } from './bits.ts';

export interface Shape3 { h: number; w: number; c: number }

export interface Tensor extends Shape3 {
  data: Float32Array;
}

export interface PackedTensor extends Shape3 {
  /** words per pixel = wordsFor(c) */
  wordsPerPixel: number;
  words: Uint32Array;
}

export function tensor(h: number, w: number, c: number, data?: Float32Array): Tensor {
  const n = h * w * c;
  if (data && data.length !== n) throw new Error(`tensor: data length ${data.length} != ${h}x${w}x${c}`);
  return { h, w, c, data: data ?? new Float32Array(n) };
}

export function packedTensor(h: number, w: number, c: number): PackedTensor {
  const wordsPerPixel = wordsFor(c);
  return { h, w, c, wordsPerPixel, words: new Uint32Array(h * w * wordsPerPixel) };
}

/** sign + bit-pack a real tensor (sign(0) = +1). */
export function packSigns(t: Tensor): PackedTensor {
  const p = packedTensor(t.h, t.w, t.c);
  const pixels = t.h * t.w;
  for (let i = 0; i < pixels; i++) packRow(t.data, i * t.c, t.c, p.words, i * p.wordsPerPixel);
  return p;
}

/** Expands a packed tensor back to +-1 floats. */
export function unpackSigns(p: PackedTensor): Tensor {
  const t = tensor(p.h, p.w, p.c);
  for (let i = 0; i < p.h * p.w; i++) {
    for (let ch = 0; ch < p.c; ch++) {
      const bit = (p.words[i * p.wordsPerPixel + (ch >>> 5)] >>> (ch & 31)) & 1;
      t.data[i * p.c + ch] = bit ? -1 : 1;
    }
  }
  return t;
}

/**
 * The predicted class of a row of logits: index of the first maximum of a[off .. off+n) (ties go to the lower
 * index; NaN never wins). The one argmax of the project: trainer, golden and verify predictions all use it.
 */
export function argmax(a: ArrayLike<number>, off = 0, n = a.length - off): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[off + i] > a[off + best]) best = i;
  return best;
}
