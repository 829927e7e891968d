/**
 * RPReLU (ReActNet, Liu et al. ECCV 2020, eq. 4, 6, 7): the op module's semantics against a float64 oracle,
 * bit-exactness of the golden model (resident and reference kernels) and of the functional simulator, counts
 * and accelerator workload, and its gradients against finite differences.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { tensor } from '../../src/core/tensor.ts';
import { SCHEMA_ID, type Layer, type Workload } from '../../src/ir/types.ts';
import { resolveNetwork as resolveChecked, validateWorkload } from '../../src/ir/validate.ts';
import { randomModel } from '../../src/ir/model.ts';
import { lower } from '../../src/golden/plan.ts';
import { runPlan } from '../../src/golden/run.ts';
import { referenceKernels } from '../../src/kernels/reference.ts';
import { countPlan } from '../../src/cost/count.ts';
import { CONVENTIONS } from '../../src/cost/conventions.ts';
import { loadArch } from '../../src/sim/arch.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { buildLayers } from '../../src/sim/layers.ts';
import { TrainNet } from '../../src/train/net.ts';
import { bt } from '../../src/kernels/batch.ts';
import { rprelu, rpreluApply } from '../../src/ops/rprelu.ts';
import type { TrainCtx } from '../../src/ops/types.ts';
import { checkGrad } from '../train/gradcheck.ts';

const resolveNetwork = (w: Workload) => resolveChecked(validateWorkload(w));
const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** input 8x8x3 -> stem -> two Bi-Real blocks whose sums pass through RPReLU (the second strided) -> gap -> fc */
function net(): Workload {
  const L: Layer[] = [
    { id: 'stem', op: 'conv', outChannels: 8, kernel: 3, pad: 1 }, { id: 'stem.bn', op: 'bn' },
    { id: 'b0.sign', op: 'sign' }, { id: 'b0.conv', op: 'bconv', outChannels: 8, kernel: 3, pad: 1 }, { id: 'b0.bn', op: 'bn' },
    { id: 'b0.add', op: 'add', inputs: ['b0.bn', 'stem.bn'] }, { id: 'b0.act', op: 'rprelu' },
    { id: 'b1.sign', op: 'sign' }, { id: 'b1.conv', op: 'bconv', outChannels: 16, kernel: 3, stride: 2, pad: 1 }, { id: 'b1.bn', op: 'bn' },
    { id: 'b1.pool', op: 'avgpool', in: 'b0.act', kernel: 2, stride: 2 }, { id: 'b1.down', op: 'conv', outChannels: 16, kernel: 1 }, { id: 'b1.dbn', op: 'bn' },
    { id: 'b1.add', op: 'add', inputs: ['b1.bn', 'b1.dbn'] }, { id: 'b1.act', op: 'rprelu' },
    { id: 'gap', op: 'gap' }, { id: 'fc', op: 'fc', outFeatures: 5 },
  ];
  return { schema: SCHEMA_ID, name: 'rprelu-net', input: { h: 8, w: 8, c: 3 }, layers: L };
}

describe('rprelu', () => {
  it('matches the float64 formula within fp32 rounding; x = gamma gives zeta; gamma = zeta = 0, beta = 1 is the identity', () => {
    const rng = new Rng(4), C = 19;
    const x = tensor(4, 3, C);
    rng.fillNormal(x.data, 2);
    const g = rng.fillNormal(new Float32Array(C), 0.5), b = rng.fillUniform(new Float32Array(C), -0.5, 1), z = rng.fillNormal(new Float32Array(C), 0.5);
    for (let i = 0; i < x.data.length; i += 6) x.data[i] = g[i % C];
    const y = rpreluApply(x, g, b, z);
    for (let i = 0; i < x.data.length; i++) {
      const c = i % C, t = x.data[i] - g[c];
      const want = x.data[i] > g[c] ? t + z[c] : b[c] * t + z[c];
      expect(Math.abs(y.data[i] - want), `element ${i}`).toBeLessThanOrEqual(4e-7 * Math.max(1, Math.abs(want)));
      if (x.data[i] === g[c]) expect(y.data[i]).toBe(Math.fround(z[c]));
    }
    const id = rpreluApply(x, new Float32Array(C), new Float32Array(C).fill(1), new Float32Array(C));
    expect(bitsOf(id.data)).toEqual(bitsOf(x.data));
  });

  it('golden model: resident fast kernels equal the reference kernels bit for bit', () => {
    const m = randomModel(resolveNetwork(net()), 5);
    const x = tensor(8, 8, 3);
    new Rng(9).fillNormal(x.data);
    const plan = lower(m);
    const fast = runPlan(plan, x, { taps: true }), ref = runPlan(plan, x, { kernels: referenceKernels, taps: true });
    expect(bitsOf(fast.logits)).toEqual(bitsOf(ref.logits));
    expect(bitsOf(fast.taps.get('b1.act')!.real!.data)).toEqual(bitsOf(ref.taps.get('b1.act')!.real!.data));
  });

  it('functional simulation equals golden bit for bit (fp32 and fp16 real stream, whole and 1-row tiles)', () => {
    const m = randomModel(resolveNetwork(net()), 6);
    const x = tensor(8, 8, 3);
    new Rng(10).fillNormal(x.data);
    for (const fmt of [undefined, { kind: 'fp16', name: 'fp16', bits: 16 } as const]) {
      const plan = lower(m, { realFormat: fmt });
      const rows1 = Object.fromEntries(buildLayers(plan).map((l) => [l.id, { rowsPerTile: 1, channelsPerTile: 1e9, cinPerTile: 1e9, order: 'nmk' as const }]));
      for (const mappings of [undefined, rows1]) {
        const r = simulate(plan, loadArch('edge'), { mappings, functional: { input: x, verify: true } });
        expect(r.functional!.mismatches).toEqual([]);
        expect(r.functional!.verified).toBe(true);
      }
    }
  });

  it('runs as a post-op after the residual add; 3 activation parameters per channel; mul + 2 adds + compare per element', () => {
    const plan = lower(randomModel(resolveNetwork(net()), 1));
    const g = plan.groups.find((x) => x.steps.some((s) => s.id === 'b0.act'))!;
    expect(g.steps.map((s) => s.id)).toEqual(['b0.conv', 'b0.add', 'b0.act', 'b1.sign']);
    const paper = countPlan(plan, CONVENTIONS.paper), wo = countPlan(plan, CONVENTIONS['weights-only']);
    const row = (c: typeof paper, id: string) => c.layers.find((l) => l.step === id)!;
    expect(row(paper, 'b1.act').realParams).toBe(3 * 16);
    expect(row(wo, 'b1.act').realParams).toBe(0);
    expect(paper.totals.ops).toBe(wo.totals.ops); // element-wise: no OPs
    const l = buildLayers(plan).find((x) => x.id === 'b0.conv')!;
    // output transform (mul + add), residual add, RPReLU (mul + 2 adds + compare), sign (compare)
    expect(l.ppuPerElement).toEqual({ mul: 2, add: 4, cmp: 2 });
    expect(l.paramWordsPerChannel).toBe(2 + 3);
  });

  it('gradients of the input and of shift_in, slope, shift_out match finite differences', () => {
    const C = 5, rng = new Rng(8);
    const P: Record<string, Float32Array> = {
      shift_in: rng.fillNormal(new Float32Array(C), 0.3), slope: rng.fillUniform(new Float32Array(C), -0.5, 1), shift_out: rng.fillNormal(new Float32Array(C), 0.3),
    };
    const G: Record<string, Float32Array> = { shift_in: new Float32Array(C), slope: new Float32Array(C), shift_out: new Float32Array(C) };
    const x = bt(2, 3, 3, C, rng.fillNormal(new Float32Array(2 * 9 * C)));
    // keep every x at least 0.01 away from its channel's kink so a finite difference of 1e-3 never crosses it
    for (let i = 0; i < x.data.length; i++) if (Math.abs(x.data[i] - P.shift_in[i % C]) < 0.01) x.data[i] += 0.05;
    const R = rng.fillNormal(new Float32Array(x.data.length));
    const ctx = { p: (n: string) => P[n], g: (n: string) => G[n], needInputGrad: true, training: true, saved: {} } as unknown as TrainCtx;
    const l = { id: 'act', op: 'rprelu' };
    const loss = () => rprelu.train.forward(l, [x], ctx).data.reduce((a, v, j) => a + v * R[j], 0);
    const [dx] = rprelu.train.backward(l, bt(2, 3, 3, C, R), [x], ctx);
    expect(checkGrad(x.data, loss, dx!.data, { h: 1e-3, samples: 90, floor: 1e-3 }), 'input').toBeLessThan(1e-2);
    for (const p of Object.keys(P)) expect(checkGrad(P[p], loss, G[p], { h: 1e-3, samples: C, floor: 1e-3 }), p).toBeLessThan(1e-2);
    // the trainer initialises the slope as PyTorch's PReLU (0.25) and the shifts at 0
    const wl: Workload = { schema: SCHEMA_ID, name: 'rp', input: { h: 4, w: 4, c: 4 }, layers: [{ id: 'act', op: 'rprelu' }, { id: 'gap', op: 'gap' }] };
    const t = new TrainNet(resolveNetwork(wl), { signAs: 'identity', bconvWeights: 'real', actGrad: 'approxsign', weightGrad: 'magnitude-aware' }, 2);
    expect([...t.params.get('act.slope')!]).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect([...t.params.get('act.shift_in')!, ...t.params.get('act.shift_out')!]).toEqual(new Array(8).fill(0));
  });
});
