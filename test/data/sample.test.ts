/**
 * `--images N` takes a class-balanced seeded sample (data/sample.ts), not the first N images: checked on
 * synthetic labels sorted by class (the case where "first N" is one class) and on the official MNIST test split,
 * with per-class counts recomputed here from the labels.
 */
import { describe, expect, it } from 'vitest';
import { parseImageCount, sampleTestIndices, subsetSplit } from '../../src/data/sample.ts';
import { loadDataset } from '../../src/data/datasets.ts';
import { runCli } from '../cli/run-cli.ts';

function counts(labels: Uint8Array, idx: Int32Array): number[] {
  const c = new Array(10).fill(0);
  for (const i of idx) c[labels[i]]++;
  return c;
}

describe('class-balanced samples', () => {
  // 1,000 labels sorted by class, 100 each: the first 50 would all be class 0
  const sorted = Uint8Array.from({ length: 1000 }, (_, i) => Math.floor(i / 100));

  it('N = 50 of a class-sorted split: 5 per class, distinct, ascending, in range', () => {
    const s = sampleTestIndices(sorted, 1000, 50, 0);
    expect(s.indices.length).toBe(50);
    expect(counts(sorted, s.indices)).toEqual(new Array(10).fill(5));
    expect(new Set(s.indices).size).toBe(50);
    for (let i = 1; i < 50; i++) expect(s.indices[i]).toBeGreaterThan(s.indices[i - 1]);
    expect(s.description).toMatch(/50 of 1,000 test images, class-balanced \(5 per class\), seed 0/);
  });

  it('N not a multiple of the classes: counts differ by at most one, lower classes first', () => {
    const c = counts(sorted, sampleTestIndices(sorted, 1000, 23, 3).indices);
    expect(c).toEqual([3, 3, 3, 2, 2, 2, 2, 2, 2, 2]);
  });

  it('a class smaller than its share: the others fill the sample', () => {
    const skew = Uint8Array.from({ length: 103 }, (_, i) => (i < 3 ? 0 : 1)); // class 0 has 3 images
    const c = counts(skew, sampleTestIndices(skew, 103, 20, 1).indices);
    expect(c.slice(0, 2)).toEqual([3, 17]);
  });

  it('same seed same indices; another seed another sample; all = the whole split in order', () => {
    const a = sampleTestIndices(sorted, 1000, 40, 7).indices, b = sampleTestIndices(sorted, 1000, 40, 7).indices;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(sampleTestIndices(sorted, 1000, 40, 8).indices)).not.toEqual(Array.from(a));
    const all = sampleTestIndices(sorted, 1000, 'all', 7);
    expect(all.all).toBe(true);
    expect(Array.from(all.indices)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(sampleTestIndices(sorted, 1000, 5000, 7).all).toBe(true);
  });

  it('subsetSplit copies the images and labels at the indices', () => {
    const split = { images: Uint8Array.from([10, 11, 20, 21, 30, 31]), labels: Uint8Array.from([1, 2, 3]), n: 3 };
    const s = subsetSplit(split, Int32Array.from([0, 2]), 2);
    expect([Array.from(s.images), Array.from(s.labels), s.n]).toEqual([[10, 11, 30, 31], [1, 3], 2]);
  });

  it('--images values: integers >= 1 and all; anything else undefined', () => {
    expect(['5', 5, 'all', ' 12 '].map(parseImageCount)).toEqual([5, 5, 'all', 12]);
    expect(['0', -1, 2.5, 'ALL', '1e3', '', 'x'].map(parseImageCount)).toEqual(new Array(7).fill(undefined));
  });

  it('official MNIST test split: 100 images = 10 per class', () => {
    const ds = loadDataset('mnist');
    expect(counts(ds.test.labels, sampleTestIndices(ds.test.labels, ds.test.n, 100, 0).indices)).toEqual(new Array(10).fill(10));
  });

  it('verify prints which images it evaluated; a bad --images is E_FLAG', async () => {
    const r = await runCli(['verify', 'reports/train/mnist-deep-pool10/deployable.safetensors', '--images', '20', '--no-sim', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.inputs.source).toMatch(/mnist: 20 of 10,000 test images, class-balanced \(2 per class\), seed 0/);
    expect(j.inputs.indices).toHaveLength(20);
    const ds = loadDataset('mnist');
    expect(counts(ds.test.labels, Int32Array.from(j.inputs.indices))).toEqual(new Array(10).fill(2));
    const bad = await runCli(['verify', 'reports/train/mnist-deep-pool10/deployable.safetensors', '--images', 'some']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--images: expected a positive integer or 'all'/);
  });
});
