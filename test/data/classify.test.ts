/** The one evaluation loop (data/classify.ts) and the one argmax (core/tensor.ts), against naive loops. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { argmax } from '../../src/core/tensor.ts';
import { changedPredictions, classifySplit } from '../../src/data/classify.ts';
import type { Dataset } from '../../src/data/datasets.ts';

function tinyDataset(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * 4 * 4), labels = new Uint8Array(n);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
  for (let i = 0; i < n; i++) labels[i] = rng.int(3);
  const split = { images, labels, n };
  return { name: 'tiny', h: 4, w: 4, c: 1, classes: 3, train: split, test: split, mean: 0.5, std: 0.25, flipsSensible: false, note: '' };
}

describe('argmax', () => {
  it('first maximum wins; NaN never wins; offset and length select a row', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([-Infinity, -Infinity])).toBe(0);
    expect(argmax([0, NaN, 5])).toBe(2);
    expect(argmax([9, 1, 2, 7, 0], 1, 3)).toBe(2); // row [1, 2, 7]
  });
});

describe('classifySplit', () => {
  it('scores any forward against the labels, batch by batch, as a naive per-image loop does', async () => {
    const ds = tinyDataset(23, 5);
    // a fixed linear "network" on the normalised pixels: logit_k = sum_i x_i * W[k][i]
    const rng = new Rng(8), W = Array.from({ length: 3 }, () => Array.from({ length: 16 }, () => rng.normal()));
    const x01 = (i: number, p: number) => (ds.test.images[i * 16 + p] / 255 - ds.mean) / ds.std;
    const naive = Array.from({ length: 23 }, (_, i) => {
      const z = W.map((w) => w.reduce((s, v, p) => s + v * Math.fround(x01(i, p)), 0));
      let best = 0; for (let k = 1; k < 3; k++) if (z[k] > z[best]) best = k;
      return best;
    });
    const batches: number[] = [];
    const r = await classifySplit(ds, ds.test, async (x) => {
      batches.push(x.n);
      const out = new Float32Array(x.n * 3);
      for (let b = 0; b < x.n; b++) for (let k = 0; k < 3; k++) { let s = 0; for (let p = 0; p < 16; p++) s += W[k][p] * x.data[b * 16 + p]; out[b * 3 + k] = s; }
      return out;
    }, { batch: 10 });
    expect(batches).toEqual([10, 10, 3]);
    expect(Array.from(r.predictions)).toEqual(naive);
    const correct = naive.filter((p, i) => p === ds.test.labels[i]).length;
    expect(r.correct).toBe(correct);
    expect(r.accuracy).toBeCloseTo(correct / 23, 12);
  });
  it('evaluates only the first `images` when asked, and counts changed predictions', async () => {
    const ds = tinyDataset(12, 6);
    const r = await classifySplit(ds, ds.test, (x) => new Float32Array(x.n * 3).map((_, i) => (i % 3 === 1 ? 1 : 0)), { images: 7, batch: 4 });
    expect(r.images).toBe(7);
    expect(Array.from(r.predictions)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(changedPredictions([1, 2, 3, 4], [1, 0, 3, 0])).toBe(2);
  });
});
