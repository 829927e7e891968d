/** Optimisers, schedules, data augmentation rules, flag validation and export agreement with golden. */
import { beforeAll, describe, expect, it } from 'vitest';
import { Optimizer, learningRate } from '../../src/train/optim.ts';
import { makeBatch, type Dataset } from '../../src/data/datasets.ts';
import { Rng } from '../../src/core/rng.ts';
import { UserError } from '../../src/core/diagnostics.ts';
import { trainOptionsFrom, resolveModelArg } from '../../src/cli/train.ts';
import { initGemm } from '../../src/kernels/batch-fast.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { TrainNet } from '../../src/train/net.ts';
import { trainNetFor } from '../../src/train/export.ts';
import { toDeployable } from '../../src/ir/deploy.ts';
import { lower } from '../../src/golden/plan.ts';
import { runPlan } from '../../src/golden/run.ts';
import { argmax, tensor } from '../../src/core/tensor.ts';
import { tinyBireal, randBT } from './gradcheck.ts';
import { TRAIN_VARIANTS, variantWorkload } from '../../src/train/variants.ts';

beforeAll(async () => { await initGemm(); });

describe('optimisers (hand-computed steps)', () => {
  it('Adam: the first step moves each weight by lr * sign(g) (bias-corrected m/sqrt(v)), with coupled L2', () => {
    const p = new Map([['w', new Float32Array([1, -2])]]), g = new Map([['w', new Float32Array([0.5, -0.1])]]);
    const o = new Optimizer({ name: 'adam', lr: 0.1, weightDecay: 0, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    o.update(p, g, ['w'], new Set(), 0.1);
    expect(p.get('w')![0]).toBeCloseTo(0.9, 5);
    expect(p.get('w')![1]).toBeCloseTo(-1.9, 5);
    // with wd = 1: g' = 0.5 + 1*0.9 = 1.4 > 0 -> step -lr*1 again (second step: m/sqrt(v) no longer exactly 1)
    const o2 = new Optimizer({ name: 'adam', lr: 0.1, weightDecay: 1, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    const p2 = new Map([['w', new Float32Array([1])]]), g2 = new Map([['w', new Float32Array([-0.5])]]);
    o2.update(p2, g2, ['w'], new Set(['w']), 0.1); // g' = -0.5 + 1 = 0.5 -> w = 0.9
    expect(p2.get('w')![0]).toBeCloseTo(0.9, 5);
  });
  it('SGD momentum: buf = g, then buf = mu*buf + g', () => {
    const p = new Map([['w', new Float32Array([1])]]), g = new Map([['w', new Float32Array([2])]]);
    const o = new Optimizer({ name: 'sgd', lr: 0.1, weightDecay: 0, momentum: 0.9, beta1: 0, beta2: 0, eps: 0 });
    o.update(p, g, ['w'], new Set(), 0.1); // w = 1 - 0.2 = 0.8
    o.update(p, g, ['w'], new Set(), 0.1); // buf = 1.8 + 2 = 3.8, w = 0.8 - 0.38 = 0.42
    expect(p.get('w')![0]).toBeCloseTo(0.42, 5);
  });
  it('schedules: linear to 0, cosine, step at milestones', () => {
    const s = (name: 'linear' | 'cosine' | 'step' | 'constant') => ({ name, milestones: [2, 4], gamma: 0.1 });
    expect(learningRate(1, s('linear'), 0, 100, 0)).toBe(1);
    expect(learningRate(1, s('linear'), 75, 100, 0)).toBeCloseTo(0.25, 10);
    expect(learningRate(1, s('cosine'), 50, 100, 0)).toBeCloseTo(0.5, 10);
    expect(learningRate(1, s('cosine'), 100, 100, 0)).toBeCloseTo(0, 10);
    expect(learningRate(1, s('step'), 0, 100, 3)).toBeCloseTo(0.1, 10);
    expect(learningRate(1, s('step'), 0, 100, 4)).toBeCloseTo(0.01, 10);
    expect(learningRate(1, s('constant'), 99, 100, 9)).toBe(1);
  });
});

describe('data rules', () => {
  it('normalisation and augmentation: shifted-in pixels are background; flips mirror columns', () => {
    const img = new Uint8Array(9); img[0] = 255; // top-left pixel bright
    const ds: Dataset = { name: 't', h: 3, w: 3, c: 1, classes: 1, train: { images: img, labels: new Uint8Array(1), n: 1 }, test: { images: img, labels: new Uint8Array(1), n: 1 }, mean: 0.5, std: 0.5, flipsSensible: true, note: '' };
    const plain = makeBatch(ds, ds.train, [0], { cropPad: 0, flip: false }, null).x.data;
    expect(plain[0]).toBeCloseTo(1, 6); expect(plain[1]).toBeCloseTo(-1, 6);
    // find a seed whose draw flips without shifting (cropPad 0 => only the flip draw)
    let flipped: Float32Array | null = null;
    for (let s = 0; s < 20 && !flipped; s++) { const d = makeBatch(ds, ds.train, [0], { cropPad: 0, flip: true }, new Rng(s)).x.data; if (d[2] > 0) flipped = d; }
    expect(flipped).not.toBeNull();
    expect(flipped![0]).toBeCloseTo(-1, 6);
    // with cropPad 1, every output pixel is either the bright pixel or background
    for (let s = 0; s < 10; s++) for (const v of makeBatch(ds, ds.train, [0], { cropPad: 1, flip: false }, new Rng(s)).x.data) expect([1, -1].some((t) => Math.abs(v - t) < 1e-6)).toBe(true);
  });
});

describe('flag validation', () => {
  const base = { epochs: 1, preEpochs: 1, batch: 8, lr: 1e-3, preLr: 1e-3, wd: 0, preWd: 0, optimizer: 'adam', momentum: 0.9, schedule: 'linear', milestones: '', gamma: 0.1, labelSmoothing: 0.1, actGrad: 'approxsign', weightGrad: 'magnitude-aware', init: 'clip', weightClip: true, cropPad: 2, seed: 1, limitTrain: 0, gemm: 'js' };
  const ds = { flipsSensible: false } as Dataset;
  it('bad switches and numbers are UserErrors with a did-you-mean hint', () => {
    expect(() => trainOptionsFrom({ ...base, actGrad: 'approxsing' }, ds)).toThrow(UserError);
    try { trainOptionsFrom({ ...base, init: 'clp' }, ds); } catch (e) { expect((e as UserError).hint).toContain("did you mean 'clip'"); }
    expect(() => trainOptionsFrom({ ...base, batch: 0 }, ds)).toThrow(/--batch/);
    expect(() => trainOptionsFrom({ ...base, lr: -1 }, ds)).toThrow(/--lr/);
    expect(() => trainOptionsFrom({ ...base, replicas: 0 }, ds)).toThrow(/--replicas/);
    expect(() => trainOptionsFrom({ ...base, replicas: 1.5 }, ds)).toThrow(/--replicas: expected an integer/);
    expect(trainOptionsFrom({ ...base, replicas: 3 }, ds).replicas).toBe(3);
    expect(() => trainOptionsFrom({ ...base, replicas: 9 }, ds)).toThrow(/--replicas 9 is more than --batch 8/);
    try { resolveModelArg('bireal-mnist-fsat'); expect.unreachable(); } catch (e) { expect((e as UserError).hint).toContain("did you mean 'bireal-mnist-fast'"); }
    expect(() => resolveModelArg('bireal18-imagenet', 'per-block')).toThrow(UserError);
  });
  it('digits default to no flips; --shortcut per-block changes the structure', () => {
    expect(trainOptionsFrom(base, ds).augment.flip).toBe(false);
    const a = resolveModelArg('bireal-tiny').net, b = resolveModelArg('bireal-tiny', 'per-block').net;
    expect(a.layers.filter((l) => l.layer.op === 'add').length).toBe(4);
    expect(b.layers.filter((l) => l.layer.op === 'add').length).toBe(2);
  });
});

describe('export agreement', () => {
  it('the deployable model run by the golden model predicts what the trainer predicts', () => {
    const net = resolveNetwork(tinyBireal());
    const t = new TrainNet(net, { signAs: 'binary', bconvWeights: 'binary', actGrad: 'approxsign', weightGrad: 'magnitude-aware' }, 8);
    const rng = new Rng(9);
    for (const [k, v] of t.params) if (k.endsWith('running_var')) rng.fillUniform(v, 0.5, 2); else if (k.endsWith('running_mean') || k.endsWith('beta')) rng.fillNormal(v, 0.3);
    const latent = t.toLatent({});
    const x = randBT(rng, 20, 8, 8, 2);
    const ours = trainNetFor(latent).forward(x, false);
    const preds = Array.from({ length: 20 }, (_, b) => argmax(ours.data, b * 3, 3));
    const plan = lower(toDeployable(latent));
    let agree = 0, maxDiff = 0;
    for (let b = 0; b < 20; b++) {
      const { logits } = runPlan(plan, tensor(8, 8, 2, x.data.slice(b * 128, (b + 1) * 128)));
      for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(logits[c] - ours.data[b * 3 + c]));
      if (argmax(logits) === preds[b]) agree++;
    }
    expect(agree).toBe(20);
    expect(maxDiff).toBeLessThan(1e-3);
  });
});

describe('trainer variants', () => {
  it('each variant has the stages its description states (binary convs x channels @ size) and the stem it names', () => {
    for (const [name, v] of Object.entries(TRAIN_VARIANTS)) {
      const net = resolveNetwork(variantWorkload(name)!);
      const bconvs = net.layers.filter((l) => l.layer.op === 'bconv');
      expect(v.description, name).toBeTypeOf('string');
      const description = v.description!;
      // "binary stages 2x32 @14x14, 4x64 @7x7" -> [[2, 32, 14], [4, 64, 7]]
      const stated = [...description.matchAll(/(\d+)x(\d+) @(\d+)x\3/g)].map((m) => m.slice(1, 4).map(Number));
      const desc = description.match(/binary stages (.*), \d+ classes/)![1];
      const parsed = [...desc.matchAll(/(\d+)x(\d+)(?: @(\d+)x\d+)?/g)].map((m) => [Number(m[1]), Number(m[2])]);
      expect(parsed.length, name).toBeGreaterThan(0);
      expect(bconvs.length, name).toBe(parsed.reduce((s, [n]) => s + n, 0));
      let i = 0;
      for (const [n, ch] of parsed) for (let k = 0; k < n; k++, i++) expect(bconvs[i].out.c, `${name} ${bconvs[i].layer.id}`).toBe(ch);
      for (const [, ch, size] of stated) expect(bconvs.some((l) => l.out.c === ch && l.out.h === size), `${name} ${ch} @${size}`).toBe(true);
      const pool = net.layers.find((l) => l.layer.id === 'stem.pool');
      expect(Boolean(pool), name).toBe(/maxpool/.test(description));
    }
  });

  it('the paper-stem variant (conv5x5/1 + maxpool3x3/2) exports to a deployable model the golden model agrees with', () => {
    const net = resolveNetwork(variantWorkload('bireal-mnist-deep-pool')!);
    const stemOut = net.layers.find((l) => l.layer.id === 'stem.pool')!.out;
    expect([stemOut.h, stemOut.w]).toEqual([14, 14]);
    const t = new TrainNet(net, { signAs: 'binary', bconvWeights: 'binary', actGrad: 'approxsign', weightGrad: 'magnitude-aware' }, 21);
    const rng = new Rng(22);
    for (const [k, v] of t.params) if (k.endsWith('running_var')) rng.fillUniform(v, 0.5, 2); else if (k.endsWith('running_mean') || k.endsWith('beta')) rng.fillNormal(v, 0.3);
    const latent = t.toLatent({});
    const N = 6, px = 28 * 28;
    const x = randBT(rng, N, 28, 28, 1);
    const ours = trainNetFor(latent).forward(x, false);
    const plan = lower(toDeployable(latent));
    let maxDiff = 0;
    for (let b = 0; b < N; b++) {
      const { logits } = runPlan(plan, tensor(28, 28, 1, x.data.slice(b * px, (b + 1) * px)));
      for (let c = 0; c < 10; c++) maxDiff = Math.max(maxDiff, Math.abs(logits[c] - ours.data[b * 10 + c]) / Math.max(1, Math.abs(ours.data[b * 10 + c])));
    }
    expect(maxDiff).toBeLessThan(1e-3);
  });
});
