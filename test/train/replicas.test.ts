/**
 * Data-parallel replicas (src/train/replicas.ts): the combined gradient of R replicas equals, bit for bit,
 * the sum of single-threaded shard gradients (each shard's loss gradient divided by the full batch size),
 * running statistics are the replica average, weights are shared without copies, and a replicated training
 * run resumes exactly.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { initGemm } from '../../src/kernels/batch-fast.ts';
import { BINARY_CONFIG, TrainNet } from '../../src/train/net.ts';
import { softmaxCrossEntropy } from '../../src/kernels/batch-ops.ts';
import { Replicas, shardRange } from '../../src/train/replicas.ts';
import { bt } from '../../src/kernels/batch.ts';
import { train, type TrainOptions } from '../../src/train/trainer.ts';
import { loadIdxDir } from '../../src/data/datasets.ts';
import { randBT, tinyBireal } from './gradcheck.ts';
import { writeSynthetic } from './synthetic.ts';

beforeAll(async () => { await initGemm(); });

function bitsEqual(a: Float32Array, b: Float32Array): boolean { return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)); }

describe('shardRange', () => {
  it('covers [0, N) contiguously with sizes differing by at most one', () => {
    for (const [N, R] of [[64, 2], [7, 3], [3, 4], [1, 1]]) {
      let next = 0;
      const sizes: number[] = [];
      for (let r = 0; r < R; r++) { const [a, b] = shardRange(N, R, r); expect(a).toBe(next); next = b; sizes.push(b - a); }
      expect(next).toBe(N);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });
});

describe('Replicas', () => {
  it('2 replicas: gradients = sum of shard gradients, running stats = average, loss = batch mean (bit-exact)', async () => {
    const net = resolveNetwork(tinyBireal());
    const rng = new Rng(3);
    const N = 7; // odd: unequal shards 3 + 4
    const x = randBT(rng, N, 8, 8, 2);
    const labels = Uint8Array.from({ length: N }, (_, i) => (i * 5) % 3);
    // expected: two single-threaded nets with the same weights, one per shard
    const ref = new TrainNet(net, BINARY_CONFIG, 11);
    const img = 8 * 8 * 2;
    const expGrads = new Map<string, Float32Array>();
    const expStats = new Map<string, Float32Array>();
    let lossSum = 0, correct = 0;
    const statsBefore = new Map([...ref.params].filter(([k]) => k.includes('running')).map(([k, v]) => [k, v.slice()]));
    const statsAfter: Map<string, Float32Array>[] = [];
    for (let r = 0; r < 2; r++) {
      for (const [k, v] of statsBefore) ref.params.get(k)!.set(v);
      const [a, b] = shardRange(N, 2, r);
      ref.zeroGrad();
      const y = ref.forward(bt(b - a, 8, 8, 2, x.data.slice(a * img, b * img)), true);
      const ce = softmaxCrossEntropy(y, labels.subarray(a, b), 0.1, N);
      ref.backward(ce.dlogits);
      lossSum += ce.loss * (b - a); correct += ce.correct;
      for (const [k, g] of ref.grads) {
        const e = expGrads.get(k);
        if (!e) expGrads.set(k, g.slice()); else for (let i = 0; i < g.length; i++) e[i] += g[i];
      }
      statsAfter.push(new Map([...statsBefore.keys()].map((k) => [k, ref.params.get(k)!.slice()])));
    }
    for (const k of statsBefore.keys()) {
      const s0 = statsAfter[0].get(k)!, s1 = statsAfter[1].get(k)!;
      expStats.set(k, s0.map((v, i) => (v + s1[i]) / 2));
    }
    const tn = new TrainNet(net, BINARY_CONFIG, 11);
    const rep = await Replicas.start(tn, 2, 'wasm-simd');
    try {
      const r = await rep.trainStep(x, labels, 0.1);
      expect(r.correct).toBe(correct);
      expect(r.loss).toBe(lossSum / N);
      let n = 0;
      for (const [k, e] of expGrads) { expect(bitsEqual(tn.grads.get(k)!, e), k).toBe(true); n++; }
      expect(n).toBeGreaterThan(10);
      for (const [k, e] of expStats) expect(bitsEqual(tn.params.get(k)!, e), k).toBe(true);
      // the stats did move (the check above is not vacuous)
      const anyStat = [...expStats.keys()][0];
      expect(bitsEqual(expStats.get(anyStat)!, statsBefore.get(anyStat)!)).toBe(false);
      // weights are shared: a change on the main thread is seen by the worker's next forward
      const evalBefore = await rep.forwardEval(x);
      const single = new TrainNet(net, BINARY_CONFIG, 11);
      for (const [k, v] of tn.params) single.params.get(k)!.set(v);
      expect(bitsEqual(evalBefore.data, single.forward(x, false).data)).toBe(true);
      const fcw = tn.params.get('head.fc.weight')!;
      for (let i = 0; i < fcw.length; i++) fcw[i] *= -1;
      const evalAfter = await rep.forwardEval(x);
      for (const [k, v] of tn.params) single.params.get(k)!.set(v);
      expect(bitsEqual(evalAfter.data, single.forward(x, false).data)).toBe(true);
      expect(bitsEqual(evalAfter.data, evalBefore.data)).toBe(false);
      // a batch smaller than R runs on the calling thread; a training batch smaller than R is refused
      const one = bt(1, 8, 8, 2, x.data.slice(0, img));
      expect(bitsEqual((await rep.forwardEval(one)).data, single.forward(one, false).data)).toBe(true);
      await expect(rep.trainStep(one, labels.subarray(0, 1), 0.1)).rejects.toThrow(/cannot be split/);
    } finally {
      await rep.close();
    }
  }, 60_000);

  it('a replicated run (R = 2) resumes to bit-identical weights and differs from R = 1 only through BN shards', async () => {
    const root = mkdtempSync(join(tmpdir(), 'birealsim-rep-'));
    try {
      writeSynthetic(join(root, 'data'), 96, 30);
      const ds = loadIdxDir(join(root, 'data'));
      const net = resolveNetwork(tinyBireal());
      const opts: TrainOptions = {
        seed: 5, batch: 16, init: 'clip', actGrad: 'approxsign', weightGrad: 'magnitude-aware', optimizer: 'adam', momentum: 0.9,
        schedule: 'linear', milestones: [], gamma: 0.1, labelSmoothing: 0.1, weightClip: true, augment: { cropPad: 1, flip: true },
        pre: { epochs: 1, lr: 5e-3, weightDecay: 1e-4 }, main: { epochs: 1, lr: 5e-3, weightDecay: 0 }, replicas: 2,
      };
      const a = await train({ net, dataset: ds, options: opts, outDir: join(root, 'a') });
      const b1 = await train({ net, dataset: ds, options: opts, outDir: join(root, 'b'), stopAtStep: 8 });
      expect(b1.interrupted).toBe(true);
      const b2 = await train({ net, dataset: ds, options: { ...opts, replicas: 1 }, outDir: join(root, 'b'), resume: true });
      for (const [k, v] of a.model!.params) expect(bitsEqual(b2.model!.params.get(k) as Float32Array, v as Float32Array), k).toBe(true);
      const one = await train({ net, dataset: ds, options: { ...opts, replicas: 1 }, outDir: join(root, 'c') });
      expect(bitsEqual(one.model!.params.get('head.fc.weight') as Float32Array, a.model!.params.get('head.fc.weight') as Float32Array)).toBe(false);
      expect(a.testAccuracy).toBeGreaterThan(0.5);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);
});
