/**
 * Batched training tensors: NHWC Float32 with a batch dimension, data.length = n*h*w*c (invariant).
 * The trainer's ops (ops.ts) consume and produce these; the core/tensor.ts Tensor is the batch-1 form used by
 * inference code.
 */
export interface BT { n: number; h: number; w: number; c: number; data: Float32Array }

export function bt(n: number, h: number, w: number, c: number, data?: Float32Array): BT {
  const len = n * h * w * c;
  if (data && data.length !== len) throw new Error(`bt: data length ${data.length} != ${n}x${h}x${w}x${c}`);
  return { n, h, w, c, data: data ?? new Float32Array(len) };
}

export function like(t: BT): BT { return bt(t.n, t.h, t.w, t.c); }
export function sizeOf(t: BT): number { return t.n * t.h * t.w * t.c; }
