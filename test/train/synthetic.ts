/** Test helpers: tiny synthetic IDX datasets written to disk (shared by the trainer tests). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.ts';

/** Writes an IDX file: magic 0,0,8,ndim, big-endian dims, bytes. */
export function idx(dims: number[], data: Uint8Array): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = 8; h[3] = dims.length;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, Buffer.from(data)]);
}

/** A synthetic 8x8x2 IDX dataset with 3 classes: class k has a bright 3x3 patch at a class-specific place. */
export function writeSynthetic(dir: string, nTrain: number, nTest: number): void {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(99);
  for (const [prefix, n] of [['train', nTrain], ['t10k', nTest]] as const) {
    const img = new Uint8Array(n * 128), lab = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const k = i % 3; lab[i] = k;
      for (let p = 0; p < 128; p++) img[i * 128 + p] = rng.int(60);
      for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) img[i * 128 + ((1 + 2 * k + y) * 8 + (1 + 2 * k + x)) * 2 + (k % 2)] = 250;
    }
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), idx([n, 8, 8, 2], img));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), idx([n], lab));
  }
}

