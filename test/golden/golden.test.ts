import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { bireal18, birealSmall, xnornet18 } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { decodeModel, encodeModel, randomModel } from '../../src/ir/model.ts';
import { toDeployable } from '../../src/ir/deploy.ts';
import { lower } from '../../src/golden/plan.ts';
import type { BConvStep } from '../../src/ops/bconv.ts';
import { runPlan } from '../../src/golden/run.ts';
import { unpackSigns, tensor } from '../../src/core/tensor.ts';
import { Rng } from '../../src/core/rng.ts';
import { naiveConv } from '../helpers.ts';

const hash = (a: Float32Array) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
function input(net: ReturnType<typeof resolveNetwork>, seed: number) {
  const t = tensor(net.input.h, net.input.w, net.input.c);
  new Rng(seed).fillNormal(t.data);
  return t;
}

describe('golden model', () => {
  it('random-weight Bi-Real-18 (224x224) runs end to end and is deterministic: same seed, same bytes', () => {
    const run = () => {
      const net = resolveNetwork(bireal18());
      return runPlan(lower(randomModel(net, 42)), input(net, 7)).logits;
    };
    const a = run(), b = run();
    expect(a.length).toBe(1000);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(hash(a)).toBe(hash(b));
    // a different seed changes the bytes (the check can fail)
    const net = resolveNetwork(bireal18());
    expect(hash(runPlan(lower(randomModel(net, 43)), input(net, 7)).logits)).not.toBe(hash(a));
  });

  it('every xnor step accumulator equals a naive float conv of the +-1 tensors (Bi-Real small, XNOR-Net shapes)', () => {
    for (const wl of [birealSmall('t', [16, 40, 72], [2, 2, 2])]) {
      const net = resolveNetwork(wl);
      const model = randomModel(net, 3);
      const plan = lower(model);
      const { taps } = runPlan(plan, input(net, 4), { taps: true });
      let checked = 0;
      for (const s of plan.steps) {
        if (s.op !== 'bconv') continue;
        const st = s as BConvStep;
        const bits = taps.get(plan.producer.get(s.inputs[0])!.id)!.bits!;
        const w = model.params.get(`${s.id}.weight`) as Float32Array;
        const ws = new Float32Array(w.length).map((_, i) => (w[i] < 0 ? -1 : 1));
        const want = naiveConv(unpackSigns(bits), ws, st.cout, st.kernel, st.stride, st.pad, 0);
        expect(Array.from(taps.get(s.id)!.acc!)).toEqual(Array.from(want));
        checked++;
      }
      expect(checked).toBe(6);
    }
  });

  it('Bi-Real output of a block = float BN(alpha * conv) + shortcut within fp32 rounding', () => {
    const net = resolveNetwork(birealSmall('t', [8, 16, 16], [1, 1, 1]));
    const model = randomModel(net, 5);
    const plan = lower(model);
    const { taps } = runPlan(plan, input(net, 6), { taps: true });
    const s = plan.steps.find((x) => x.op === 'bconv' && x.id === 's1.b0.conv')! as BConvStep;
    const acc = taps.get(s.id)!.acc!;
    const out = taps.get(s.id)!.real!;
    const w = model.params.get('s1.b0.conv.weight') as Float32Array;
    const n = w.length / 8;
    const P = (p: string) => model.params.get(`s1.b0.bn.${p}`) as Float32Array;
    for (let i = 0; i < acc.length; i++) {
      const o = i % 8;
      let a = 0; for (let j = 0; j < n; j++) a += Math.abs(w[o * n + j]);
      a /= n;
      const want = (a * acc[i] - P('running_mean')[o]) / Math.sqrt(P('running_var')[o] + 1e-5) * P('gamma')[o] + P('beta')[o];
      expect(Math.abs(out.data[i] - want)).toBeLessThan(1e-4 * (1 + Math.abs(want)));
    }
  });

  it('latent and exported deployable models (through the file format) give identical bytes', () => {
    for (const wl of [birealSmall(), xnornet18()]) {
      const net = resolveNetwork(wl);
      if (net.input.h > 28) continue; // ImageNet-size XNOR-Net is covered by the next test
      const latent = randomModel(net, 8);
      const dep = decodeModel(encodeModel(toDeployable(latent)));
      expect(dep.kind).toBe('deployable');
      const x = input(net, 9);
      expect(hash(runPlan(lower(dep), x).logits)).toBe(hash(runPlan(lower(latent), x).logits));
    }
  });

  it('XNOR-Net-18 lowers with alpha and K scaling and runs deterministically', () => {
    const net = resolveNetwork(xnornet18());
    const plan = lower(randomModel(net, 1));
    expect(plan.steps.filter((s) => s.op === 'actscale').length).toBe(16);
    expect(plan.steps.filter((s) => s.op === 'bconv' && (s as BConvStep).foldedBn).length).toBe(0);
    const a = runPlan(plan, input(net, 2)).logits, b = runPlan(plan, input(net, 2)).logits;
    expect(hash(a)).toBe(hash(b));
  });
});
