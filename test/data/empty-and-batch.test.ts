/**
 * Data that cannot train or evaluate anything is refused, not silently used: an IDX dataset whose test (or
 * training) split has no images (was: "golden accuracy: 0.00%"), and a --batch larger than the training set
 * (was: zero batches per epoch and an untrained model written with exit 0).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIdxDir, type Dataset } from '../../src/data/datasets.ts';
import { trainOptionsFrom } from '../../src/cli/train.ts';
import { idx } from '../train/synthetic.ts';

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'birealsim-empty-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function idxDir(name: string, nTrain: number, nTest: number): string {
  const d = join(dir, name);
  mkdirSync(d);
  writeFileSync(join(d, 'train-images-idx3-ubyte'), idx([nTrain, 4, 4], new Uint8Array(nTrain * 16).fill(7)));
  writeFileSync(join(d, 'train-labels-idx1-ubyte'), idx([nTrain], new Uint8Array(nTrain)));
  writeFileSync(join(d, 't10k-images-idx3-ubyte'), idx([nTest, 4, 4], new Uint8Array(nTest * 16).fill(9)));
  writeFileSync(join(d, 't10k-labels-idx1-ubyte'), idx([nTest], new Uint8Array(nTest)));
  return d;
}

describe('empty splits and oversized batches', () => {
  it('an IDX dataset with an empty test split is E_DATA naming the split', () => {
    expect(() => loadIdxDir(idxDir('no-test', 10, 0))).toThrow(/test split has no images/);
  });
  it('an IDX dataset with an empty training split is E_DATA', () => {
    expect(() => loadIdxDir(idxDir('no-train', 0, 5))).toThrow(/training split has no images/);
  });
  it('the same data with images in both splits loads', () => {
    expect(loadIdxDir(idxDir('ok', 10, 5)).test.n).toBe(5);
  });
  it('--batch above the number of training images is refused (--batch named), equal is accepted', () => {
    const ds = loadIdxDir(idxDir('small', 12, 5));
    const base = { epochs: 1, preEpochs: 0, batch: 64, lr: 1e-3, preLr: 1e-3, wd: 0, preWd: 0, optimizer: 'adam', momentum: 0.9, schedule: 'linear', milestones: '', gamma: 0.1, labelSmoothing: 0, actGrad: 'approxsign', weightGrad: 'magnitude-aware', init: 'clip', weightClip: true, cropPad: 0, seed: 1, limitTrain: 0, gemm: 'js' } as Parameters<typeof trainOptionsFrom>[0];
    expect(() => trainOptionsFrom(base, ds)).toThrow(/--batch 64 is more than the 12 training images/);
    expect(trainOptionsFrom({ ...base, batch: 12 }, ds as Dataset).batch).toBe(12);
  });
});
