/**
 * Finite-difference gradient checking helpers for the trainer's op tests. The loss is L = sum(y * R) with a
 * fixed random R, so dL/dy = R; the numeric derivative is a central difference in float64 over float32 ops.
 */
import { Rng } from '../../src/core/rng.ts';
import { bt, type BT } from '../../src/kernels/batch.ts';
import { birealNet } from '../../src/ir/builders.ts';
import type { Workload } from '../../src/ir/types.ts';

/** A tiny Bi-Real network (8x8x2 input, 4 binary convs, 3 classes) for gradient and resume tests. */
export function tinyBireal(shortcut: 'per-conv' | 'per-block' = 'per-conv'): Workload {
  return birealNet({
    name: 'tiny', input: { h: 8, w: 8, c: 2 }, stem: { channels: 4, kernel: 3, stride: 1, pad: 1, maxpool: false },
    stages: [{ blocks: 2, channels: 4 }, { blocks: 2, channels: 8 }], classes: 3, shortcut,
  });
}


export function randBT(rng: Rng, n: number, h: number, w: number, c: number, std = 1): BT {
  return bt(n, h, w, c, rng.fillNormal(new Float32Array(n * h * w * c), std));
}

export function dot(a: Float32Array, b: Float32Array): number { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; }

/**
 * Checks analytic gradient `analytic` of f at `x` (f returns the loss) on up to `samples` coordinates.
 * Returns the worst relative error max |a - n| / max(|a|, |n|, floor).
 */
export function checkGrad(x: Float32Array, f: () => number, analytic: Float32Array, opts: { h?: number; samples?: number; seed?: number; floor?: number } = {}): number {
  const h = opts.h ?? 1e-2, floor = opts.floor ?? 1e-2;
  const rng = new Rng(opts.seed ?? 7);
  const n = x.length, samples = Math.min(n, opts.samples ?? 40);
  const idx = samples === n ? [...Array(n).keys()] : Array.from({ length: samples }, () => rng.int(n));
  let worst = 0;
  for (const i of idx) {
    const orig = x[i];
    x[i] = orig + h; const lp = f();
    x[i] = orig - h; const lm = f();
    x[i] = orig;
    const num = (lp - lm) / (2 * h);
    const a = analytic[i];
    const err = Math.abs(a - num) / Math.max(Math.abs(a), Math.abs(num), floor);
    if (err > worst) worst = err;
  }
  return worst;
}
