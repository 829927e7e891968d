/**
 * Representative evaluation samples: which test images a command evaluates when asked for N of them.
 *
 * Taking the first N images is not representative: a split may be stored sorted by class (then the first
 * images are all one class). `sampleTestIndices` takes a class-balanced, seeded sample instead:
 *   1. per class, the class's indices in a seeded random order (Rng(seed), one shuffle per class, classes in
 *      label order);
 *   2. round-robin over the classes (0, 1, ..., C-1, 0, 1, ...) taking the next index of each class that still
 *      has one, until N are taken: every class gets floor(N/C) or ceil(N/C) images while it has them;
 *   3. the chosen indices sorted ascending (evaluation order = file order).
 * N >= the split size (or 'all') is the whole split in file order. Same labels, N and seed: same indices.
 */
import { Rng } from '../core/rng.ts';

export type ImageCount = number | 'all';

export interface Sample {
  /** indices into the split, ascending */
  indices: Int32Array;
  /** one line for the user and the JSON: which images were evaluated */
  description: string;
  /** true when the sample is the whole split */
  all: boolean;
}

export function sampleTestIndices(labels: Uint8Array, total: number, count: ImageCount, seed: number, what = 'test'): Sample {
  if (count === 'all' || count >= total) {
    return { indices: Int32Array.from({ length: total }, (_, i) => i), description: `all ${total.toLocaleString('en-US')} ${what} images`, all: true };
  }
  const byClass: number[][] = [];
  for (let i = 0; i < total; i++) (byClass[labels[i]] ??= []).push(i);
  const rng = new Rng(seed);
  const classes = byClass.map((l) => l ?? []);
  for (const list of classes) rng.shuffle(list);
  const taken: number[] = [];
  const next = new Array(classes.length).fill(0);
  while (taken.length < count) {
    for (let c = 0; c < classes.length && taken.length < count; c++) if (next[c] < classes[c].length) taken.push(classes[c][next[c]++]);
  }
  const perClass = classes.map((_, c) => next[c]).filter((k, c) => classes[c].length > 0);
  const lo = Math.min(...perClass), hi = Math.max(...perClass);
  const indices = Int32Array.from(taken).sort();
  return { indices, description: `${count.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} ${what} images, class-balanced (${lo === hi ? lo : `${lo}-${hi}`} per class), seed ${seed}`, all: false };
}

/** `--images N|all`: a positive integer or the word all. Returns undefined when the value is neither. */
export function parseImageCount(v: unknown): ImageCount | undefined {
  if (v === 'all') return 'all';
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

/** The images and labels of `split` at `indices`, in that order (a copy). */
export function subsetSplit(split: { images: Uint8Array; labels: Uint8Array; n: number }, indices: Int32Array, img: number): { images: Uint8Array; labels: Uint8Array; n: number } {
  const out = { images: new Uint8Array(indices.length * img), labels: new Uint8Array(indices.length), n: indices.length };
  indices.forEach((s, i) => { out.images.set(split.images.subarray(s * img, (s + 1) * img), i * img); out.labels[i] = split.labels[s]; });
  return out;
}
