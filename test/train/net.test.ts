/** Whole-network gradient tests of TrainNet built from the IR. */
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { xnornet18 } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { initGemm } from '../../src/kernels/batch-fast.ts';
import { TrainNet, type NetConfig } from '../../src/train/net.ts';
import { softmaxCrossEntropy } from '../../src/kernels/batch-ops.ts';
import { channelAlpha } from '../../src/ops/bconv.ts';
import { checkGrad, randBT, tinyBireal } from './gradcheck.ts';
import type { Workload } from '../../src/ir/types.ts';

beforeAll(async () => { await initGemm(); });

function lossOf(t: TrainNet, x: ReturnType<typeof randBT>, labels: number[]): number {
  return softmaxCrossEntropy(t.forward(x, true), labels, 0.1).loss;
}

describe('TrainNet', () => {
  for (const shortcut of ['per-conv', 'per-block'] as const) {
    it(`real-valued regime (${shortcut}): every parameter gradient matches finite differences`, () => {
      const net = resolveNetwork(tinyBireal(shortcut));
      // identity where sign sits: the pointwise activations' kinks are tested in ops.test.ts; here the graph plumbing is
      const cfg: NetConfig = { signAs: 'identity', bconvWeights: 'real', actGrad: 'approxsign', weightGrad: 'magnitude-aware' };
      const t = new TrainNet(net, cfg, 3);
      const rng = new Rng(4);
      const x = randBT(rng, 3, 8, 8, 2);
      const labels = [0, 2, 1];
      t.zeroGrad();
      const { dlogits } = softmaxCrossEntropy(t.forward(x, true), labels, 0.1);
      t.backward(dlogits);
      let worst = 0;
      for (const name of t.trainableNames()) {
        const e = checkGrad(t.params.get(name)!, () => lossOf(t, x, labels), t.grads.get(name)!, { h: 3e-3, samples: 6, floor: 1e-3 });
        worst = Math.max(worst, e);
        expect(e, name).toBeLessThan(5e-2);
      }
      expect(worst).toBeGreaterThanOrEqual(0);
    });
  }

  it('binary regime: latent-weight gradient = estimator applied to dL/dW_b of the equivalent real network', () => {
    const net = resolveNetwork(tinyBireal());
    const bin = new TrainNet(net, { signAs: 'binary', bconvWeights: 'binary', actGrad: 'approxsign', weightGrad: 'magnitude-aware' }, 5);
    // make some latent weights exceed 1 so the mask matters
    const wName = 's1.b0.conv.weight';
    const w = bin.params.get(wName)!;
    w[0] = 1.5; w[3] = -1.2;
    const real = new TrainNet(net, { signAs: 'binary', bconvWeights: 'real', actGrad: 'approxsign', weightGrad: 'magnitude-aware' }, 5);
    for (const [k, v] of bin.params) real.params.get(k)!.set(v);
    const alphas = new Map<string, Float32Array>();
    for (const { name: n } of bin.clipped) {
      const lw = bin.params.get(n)!; const O = net.byId.get(n.replace(/\.weight$/, ''))!.layer as unknown as { outChannels: number };
      const a = channelAlpha(lw, O.outChannels); alphas.set(n, a);
      const k = lw.length / O.outChannels; const rw = real.params.get(n)!;
      for (let i = 0; i < lw.length; i++) rw[i] = a[Math.floor(i / k)] * (lw[i] < 0 ? -1 : 1);
    }
    const x = randBT(new Rng(6), 2, 8, 8, 2);
    const labels = [1, 2];
    const yb = bin.forward(x, true); const yr = real.forward(x, true);
    for (let i = 0; i < yb.data.length; i++) expect(yb.data[i]).toBeCloseTo(yr.data[i], 4);
    bin.zeroGrad(); real.zeroGrad();
    bin.backward(softmaxCrossEntropy(yb, labels).dlogits);
    real.backward(softmaxCrossEntropy(yr, labels).dlogits);
    const lw = bin.params.get(wName)!, a = alphas.get(wName)!, k = lw.length / a.length;
    const gb = bin.grads.get(wName)!, G = real.grads.get(wName)!;
    let nonzero = 0;
    for (let i = 0; i < lw.length; i++) {
      const expected = Math.abs(lw[i]) < 1 ? a[Math.floor(i / k)] * G[i] : 0;
      expect(gb[i]).toBeCloseTo(expected, 5);
      if (gb[i] !== 0) nonzero++;
    }
    expect(gb[0]).toBe(0); expect(gb[3]).toBe(0);
    expect(nonzero).toBeGreaterThan(lw.length / 2);
    // non-binary parameters get identical gradients
    expect(Array.from(bin.grads.get('head.fc.weight')!).map((v) => +v.toFixed(4))).toEqual(Array.from(real.grads.get('head.fc.weight')!).map((v) => +v.toFixed(4)));
  });

  it('XNOR-Net IR (actscale) trains: gradient of a real-regime XNOR network matches finite differences', () => {
    const wl = xnornet18();
    // shrink the ImageNet network to a toy of the same topology: keep its first stage only
    const keep = wl.layers.filter((l) => l.id.startsWith('stem.conv') || l.id.startsWith('stem.bn') || l.id.startsWith('s1.b0.') || l.id.startsWith('head'));
    const small: Workload = { ...wl, input: { h: 6, w: 6, c: 2 }, layers: (JSON.parse(JSON.stringify(keep).replaceAll('stem.pool', 'stem.bn')) as Workload['layers']).map((l) => (l.op === 'conv' && l.id === 'stem.conv' ? { ...l, outChannels: 4, kernel: 3, stride: 1, pad: 1 } : l.op === 'bconv' ? { ...l, outChannels: 4 } : l.op === 'fc' ? { ...l, outFeatures: 3 } : l)) as Workload['layers'] };
    const net = resolveNetwork(small);
    const t = new TrainNet(net, { signAs: 'identity', bconvWeights: 'real', actGrad: 'ste', weightGrad: 'plain' }, 9);
    const x = randBT(new Rng(10), 2, 6, 6, 2);
    t.zeroGrad();
    t.backward(softmaxCrossEntropy(t.forward(x, true), [0, 1]).dlogits);
    for (const name of ['s1.b0.conv1.weight', 'stem.conv.weight', 's1.b0.bn1.gamma']) {
      expect(checkGrad(t.params.get(name)!, () => softmaxCrossEntropy(t.forward(x, true), [0, 1]).loss, t.grads.get(name)!, { h: 1e-3, samples: 6, floor: 1e-3 }), name).toBeLessThan(5e-2);
    }
  });
});

describe('TrainNet buffer reuse (arena + per-layer im2col scratch)', () => {
  it('repeated training steps on the same input give bit-identical gradients to a fresh net; eval forwards neither disturb a step nor alias their returned logits', async () => {
    const { BINARY_CONFIG } = await import('../../src/train/net.ts');
    const { variantWorkload } = await import('../../src/train/variants.ts');
    const net = resolveNetwork(variantWorkload('bireal-tiny')!);
    const rng = new Rng(9);
    const x = randBT(rng, 4, 28, 28, 1), x2 = randBT(rng, 4, 28, 28, 1);
    const labels = [1, 2, 3, 4];
    const gradsOf = (t: TrainNet) => new Map([...t.grads].map(([k, v]) => [k, Buffer.from(v.slice().buffer)]));
    const step = (t: TrainNet, inp: typeof x) => { t.zeroGrad(); const y = t.forward(inp, true); const logits = y.data.slice(); t.backward(softmaxCrossEntropy(y, labels, 0.1).dlogits); return logits; };
    const fresh = new TrainNet(net, BINARY_CONFIG, 5);
    const y0 = step(fresh, x);
    const g0 = gradsOf(fresh);
    const reused = new TrainNet(net, BINARY_CONFIG, 5);
    step(reused, x2); step(reused, x2); // dirty every recycled buffer with another input
    const y1 = step(reused, x);
    expect(Array.from(y1)).toEqual(Array.from(y0));
    for (const [k, v] of gradsOf(reused)) expect(v.equals(g0.get(k)!), k).toBe(true);
    // eval forwards in between (their own arena) leave the training result unchanged; their logits are
    // copies that a later forward does not overwrite, and equal a fresh net's with the same state
    const e1 = reused.forward(x2, false), e1copy = e1.data.slice();
    reused.forward(x, false);
    expect(Array.from(e1.data)).toEqual(Array.from(e1copy));
    const twin = new TrainNet(net, BINARY_CONFIG, 5);
    for (const [k, v] of reused.params) twin.params.get(k)!.set(v);
    expect(Array.from(twin.forward(x2, false).data)).toEqual(Array.from(e1copy));
    step(reused, x);
    for (const [k, v] of gradsOf(reused)) expect(v.equals(g0.get(k)!), k).toBe(true);
  });
});
