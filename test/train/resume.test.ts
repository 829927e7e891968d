/** Trainer reliability: a resumed run ends with bit-identical weights; checkpoints and metrics are written. */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { loadModel } from '../../src/ir/model.ts';
import { initGemm } from '../../src/kernels/batch-fast.ts';
import { loadIdxDir, parseIdx, type Dataset } from '../../src/data/datasets.ts';
import { CHECKPOINT_FILE, METRICS_FILE, train, workDirOf, type TrainOptions } from '../../src/train/trainer.ts';
import { tinyBireal } from './gradcheck.ts';
import { UserError } from '../../src/core/diagnostics.ts';
import { idx, writeSynthetic } from './synthetic.ts';

beforeAll(async () => { await initGemm(); });

const OPTS: TrainOptions = {
  seed: 5, batch: 16, init: 'clip', actGrad: 'approxsign', weightGrad: 'magnitude-aware', optimizer: 'adam', momentum: 0.9,
  schedule: 'linear', milestones: [], gamma: 0.1, labelSmoothing: 0.1, weightClip: true, augment: { cropPad: 1, flip: true },
  pre: { epochs: 1, lr: 5e-3, weightDecay: 1e-4 }, main: { epochs: 2, lr: 5e-3, weightDecay: 0 },
};

describe('IDX parsing', () => {
  it('reads dims big-endian and rejects bad magic, dtype and truncation with UserErrors', () => {
    const a = parseIdx(idx([2, 3], new Uint8Array([1, 2, 3, 4, 5, 6])));
    expect(a.dims).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
    const bad = idx([2, 3], new Uint8Array(6)); bad[0] = 1;
    expect(() => parseIdx(bad)).toThrow(UserError);
    const dt = idx([2], new Uint8Array(2)); dt[2] = 0x0d;
    expect(() => parseIdx(dt)).toThrow(/dtype/);
    expect(() => parseIdx(idx([4, 4], new Uint8Array(10)))).toThrow(/promises 16 values/);
  });
  it('a missing dataset directory is a UserError', () => {
    expect(() => loadIdxDir('/nonexistent/dir')).toThrow(UserError);
  });
});

describe('train: checkpoint and exact resume', () => {
  it('interrupt + resume gives bit-identical final weights to an uninterrupted run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'birealsim-train-'));
    try {
      writeSynthetic(join(root, 'data'), 96, 30);
      const ds: Dataset = loadIdxDir(join(root, 'data'));
      expect(ds.train.n).toBe(96); expect(ds.c).toBe(2); expect(ds.classes).toBe(3);
      const net = resolveNetwork(tinyBireal());
      const a = await train({ net, dataset: ds, options: OPTS, outDir: join(root, 'a') });
      expect(a.interrupted).toBe(false);
      // stop in the middle of stage 2 epoch 1 (6 batches per epoch: step 8 = stage 2, epoch 1, batch 2)
      const b1 = await train({ net, dataset: ds, options: OPTS, outDir: join(root, 'b'), stopAtStep: 8 });
      expect(b1.interrupted).toBe(true);
      expect(existsSync(join(workDirOf(join(root, 'b')), CHECKPOINT_FILE))).toBe(true); // the run works in <out>.partial
      expect(existsSync(join(root, 'b'))).toBe(false); // and publishes <out> only when it completes
      expect(b1.position).toEqual({ stage: 1, epoch: 0, batch: 2, optStep: 2 });
      // a fresh process-equivalent: new TrainNet built from the checkpoint, options read from the checkpoint
      const b2 = await train({ net, dataset: ds, options: { ...OPTS, seed: 12345 }, outDir: join(root, 'b'), resume: true });
      expect(b2.interrupted).toBe(false);
      const ma = loadModel(join(root, 'a', 'model.safetensors')), mb = loadModel(join(root, 'b', 'model.safetensors'));
      let tensors = 0;
      for (const [k, v] of ma.params) { expect(Buffer.from((mb.params.get(k) as Float32Array).buffer).equals(Buffer.from(v.buffer)), k).toBe(true); tensors++; }
      expect(tensors).toBeGreaterThan(10);
      // the weights actually trained (differ from a differently seeded run)
      const c = await train({ net, dataset: ds, options: { ...OPTS, seed: 6 }, outDir: join(root, 'c') });
      expect(Buffer.from(c.model!.params.get('head.fc.weight')!.buffer).equals(Buffer.from(ma.params.get('head.fc.weight')!.buffer))).toBe(false);
      const lines = readFileSync(join(root, 'a', METRICS_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.length).toBe(3);
      expect(lines[2]).toMatchObject({ stage: 2, epoch: 2 });
      expect(lines[2].test_acc).toBeGreaterThan(0.5); // the synthetic task is easy
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('birealsim train --no-epoch-eval', () => {
  it('evaluates the test split only after the last epoch of each stage; with the default, after every epoch', async () => {
    const { main } = await import('../../src/cli/main.ts');
    const root = mkdtempSync(join(tmpdir(), 'epoch-eval-'));
    try {
      writeSynthetic(join(root, 'data'), 48, 12);
      const wl = join(root, 'tiny.json');
      writeFileSync(wl, JSON.stringify(tinyBireal()));
      const run = async (out: string, extra: string[]) => {
        const w = process.stderr.write, o = process.stdout.write;
        process.stderr.write = (() => true) as typeof process.stderr.write;
        process.stdout.write = (() => true) as typeof process.stdout.write;
        try {
          expect(await main(['train', '--model', wl, '--dataset', `idx:${join(root, 'data')}`, '--pre-epochs', '2', '--epochs', '2', '--batch', '16', '--replicas', '1', '--out', join(root, out), ...extra])).toBe(0);
        } finally { process.stderr.write = w; process.stdout.write = o; }
        return readFileSync(join(root, out, METRICS_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stage: number; epoch: number; test_acc?: number });
      };
      const every = await run('every', []);
      expect(every.map((r) => r.test_acc !== undefined)).toEqual([true, true, true, true]);
      const last = await run('last', ['--no-epoch-eval']);
      expect(last.map((r) => [r.stage, r.epoch, r.test_acc !== undefined])).toEqual([[1, 1, false], [1, 2, true], [2, 1, false], [2, 2, true]]);
      // skipping evaluations changes nothing else: the same final accuracy
      expect(last[3].test_acc).toBe(every[3].test_acc);
    } finally { rmSync(root, { recursive: true, force: true }); }
  });
});
