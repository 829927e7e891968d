/**
 * The one evaluation loop: classifies the first `images` of a split in batches (no augmentation) with any
 * forward function (the trainer's batched network, its data-parallel replicas, or the golden model one image
 * at a time) and scores the predictions against the labels. Accuracy = correct / images evaluated; the
 * prediction of a row is core/tensor.ts argmax (first maximum).
 */
import { argmax } from '../core/tensor.ts';
import type { BT } from '../kernels/batch.ts';
import { makeBatch, NO_AUGMENT, type Dataset, type Split } from './datasets.ts';

export interface Classification { predictions: Int32Array; correct: number; images: number; accuracy: number }

/**
 * `forward(x, labels, start)` returns the logits of the batch x (x.n rows of `classes` values, row-major);
 * it may return a promise. Batches hold `batch` images (the last may be smaller).
 */
export async function classifySplit(
  ds: Dataset, split: Split,
  forward: (x: BT, labels: Uint8Array, start: number) => Float32Array | Promise<Float32Array>,
  opts: { images?: number; batch?: number } = {},
): Promise<Classification> {
  const n = Math.min(opts.images ?? split.n, split.n), batch = opts.batch ?? 500;
  const predictions = new Int32Array(n);
  let correct = 0;
  for (let s = 0; s < n; s += batch) {
    const idx = Int32Array.from({ length: Math.min(batch, n - s) }, (_, i) => s + i);
    const { x, labels } = makeBatch(ds, split, idx, NO_AUGMENT, null);
    const logits = await forward(x, labels, s);
    const classes = logits.length / idx.length;
    for (let b = 0; b < idx.length; b++) {
      const p = argmax(logits, b * classes, classes);
      predictions[s + b] = p;
      if (p === labels[b]) correct++;
    }
  }
  return { predictions, correct, images: n, accuracy: n > 0 ? correct / n : 0 };
}

/** How many predictions differ between two runs over the same images (a shorter run compares its prefix). */
export function changedPredictions(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let changed = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) changed++;
  return changed;
}
