/**
 * Batched tensors: NHWC Float32 with a batch dimension, data.length = n*h*w*c (invariant).
 * The batch ops (batch-ops.ts, the trainer's forward/backward primitives) consume and produce these; the
 * core/tensor.ts Tensor is the batch-1 form used by inference code.
 *
 * Arena: allocating a fresh multi-MB Float32Array costs a page fault per 4 KiB on this VM (~10-25 us each),
 * which dominated a training step. While an Arena is active (train/net.ts TrainNet activates its own during a training
 * forward and the following backward), `bt()` without data and `allocF32()` hand out ZEROED recycled buffers
 * of at least ARENA_MIN floats; `reset()` (at the start of the next training forward) makes every buffer it
 * handed out reusable, so tensors from one training step must not be used after the next one starts.
 * Smaller arrays (logits, per-channel vectors) are always fresh.
 */
export interface BT { n: number; h: number; w: number; c: number; data: Float32Array }

export const ARENA_MIN = 16384;

export class Arena {
  private free = new Map<number, Float32Array[]>();
  private used: Float32Array[] = [];
  /** zeroed array of exactly `len` floats, recycled when possible */
  take(len: number): Float32Array {
    const list = this.free.get(len);
    let a = list?.pop();
    if (a) a.fill(0); else a = new Float32Array(len);
    this.used.push(a);
    return a;
  }
  /** every array handed out since the last reset becomes reusable */
  reset(): void {
    for (const a of this.used) {
      let list = this.free.get(a.length);
      if (!list) { list = []; this.free.set(a.length, list); }
      list.push(a);
    }
    this.used = [];
  }
}

let active: Arena | null = null;
/** Makes `a` the arena used by bt()/allocF32() (null: plain allocation); returns the previous one. */
export function setArena(a: Arena | null): Arena | null { const prev = active; active = a; return prev; }

/** A zeroed Float32Array of `len` floats (from the active arena when large enough). */
export function allocF32(len: number): Float32Array {
  return active && len >= ARENA_MIN ? active.take(len) : new Float32Array(len);
}

export function bt(n: number, h: number, w: number, c: number, data?: Float32Array): BT {
  const len = n * h * w * c;
  if (data && data.length !== len) throw new Error(`bt: data length ${data.length} != ${n}x${h}x${w}x${c}`);
  return { n, h, w, c, data: data ?? allocF32(len) };
}

export function like(t: BT): BT { return bt(t.n, t.h, t.w, t.c); }
export function sizeOf(t: BT): number { return t.n * t.h * t.w * t.c; }
