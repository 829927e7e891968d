/**
 * RSign (ReActNet, Liu et al. ECCV 2020, eq. 3 and 5): the op module's semantics against an independent
 * oracle, bit-exactness of the golden model (resident and reference kernels) and of the functional simulator,
 * counts and accelerator workload, and training (gradient through the sign estimator).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { packSigns, tensor } from '../../src/core/tensor.ts';
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
import { initGemm } from '../../src/kernels/batch-fast.ts';
import { TrainNet, type NetConfig } from '../../src/train/net.ts';
import { bt } from '../../src/kernels/batch.ts';
import { rsign, rsignApply } from '../../src/ops/rsign.ts';

/** input 8x8x3 -> real stem -> two blocks rsign -> bconv -> bn -> add (the second strided, with an avgpool/1x1 shortcut) -> gap -> fc */
function net(): Workload {
  const L: Layer[] = [
    { id: 'stem', op: 'conv', outChannels: 8, kernel: 3, stride: 1, pad: 1, bias: false }, { id: 'stem.bn', op: 'bn', eps: 1e-5 },
    { id: 'b0.rs', op: 'rsign' }, { id: 'b0.conv', op: 'bconv', outChannels: 8, kernel: 3, stride: 1, pad: 1, padMode: 'zero', weightScale: 'channel' },
    { id: 'b0.bn', op: 'bn', eps: 1e-5 }, { id: 'b0.add', op: 'add', inputs: ['b0.bn', 'stem.bn'] },
    { id: 'b1.rs', op: 'rsign' }, { id: 'b1.conv', op: 'bconv', outChannels: 16, kernel: 3, stride: 2, pad: 1, padMode: 'one', weightScale: 'channel' },
    { id: 'b1.bn', op: 'bn', eps: 1e-5 },
    { id: 'b1.pool', op: 'avgpool', in: 'b0.add', kernel: 2, stride: 2 }, { id: 'b1.down', op: 'conv', outChannels: 16, kernel: 1, bias: false }, { id: 'b1.dbn', op: 'bn', eps: 1e-5 },
    { id: 'b1.add', op: 'add', inputs: ['b1.bn', 'b1.dbn'] },
    { id: 'gap', op: 'gap' }, { id: 'fc', op: 'fc', outFeatures: 5, bias: true },
  ];
  return { schema: SCHEMA_ID, name: 'rsign-net', input: { h: 8, w: 8, c: 3 }, layers: L };
}

/** Validation fills in the keys' defaults (pad, stride, ...) before shape inference. */
const resolveNetwork = (w: Workload) => resolveChecked(validateWorkload(w));
const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('rsign', () => {
  it('bit = 1 (-1) exactly where x < alpha_c; x = alpha gives +1; alpha = 0 is sign', () => {
    const rng = new Rng(3);
    const x = tensor(3, 5, 37);
    rng.fillNormal(x.data);
    const t = rng.fillNormal(new Float32Array(37), 0.5);
    for (let i = 0; i < x.data.length; i += 5) x.data[i] = t[i % 37]; // ties: x = alpha
    x.data[1] = -0; t[1] = 0;
    const p = rsignApply(x, t);
    for (let i = 0; i < x.data.length; i++) {
      const c = i % 37, px = Math.floor(i / 37);
      const bit = (p.words[px * p.wordsPerPixel + (c >>> 5)] >>> (c & 31)) & 1;
      expect(bit, `element ${i}`).toBe(x.data[i] < t[c] ? 1 : 0); // independent: the comparison the header derives
    }
    expect(Array.from(rsignApply(x, new Float32Array(37)).words)).toEqual(Array.from(packSigns(x).words));
  });

  it('golden model: resident fast kernels equal the reference kernels bit for bit, and random thresholds change the bits', () => {
    const n = resolveNetwork(net());
    const m = randomModel(n, 5);
    const x = tensor(8, 8, 3);
    new Rng(9).fillNormal(x.data);
    const plan = lower(m);
    const fast = runPlan(plan, x, { taps: true }), ref = runPlan(plan, x, { kernels: referenceKernels, taps: true });
    expect(bitsOf(fast.logits)).toEqual(bitsOf(ref.logits));
    expect(Array.from(fast.taps.get('b1.rs')!.bits!.words)).toEqual(Array.from(ref.taps.get('b1.rs')!.bits!.words));
    const zero = { ...m, params: new Map(m.params) };
    zero.params.set('b1.rs.threshold', new Float32Array(8));
    expect(bitsOf(runPlan(lower(zero), x).logits)).not.toEqual(bitsOf(fast.logits));
  });

  it('functional simulation equals golden bit for bit (fp32 and fp16 real stream, whole and 1-row tiles)', () => {
    const m = randomModel(resolveNetwork(net()), 6);
    const x = tensor(8, 8, 3);
    new Rng(10).fillNormal(x.data);
    for (const fmt of [undefined, { kind: 'fp16', name: 'fp16', bits: 16 } as const]) {
      const plan = lower(m, { realFormat: fmt });
      const rows1 = Object.fromEntries(buildLayers(plan).map((l) => [l.id, { rowsPerTile: 1, channelsPerTile: 1e9, cinPerTile: 1e9, order: 'mnk' as const }]));
      for (const mappings of [undefined, rows1]) {
        const r = simulate(plan, loadArch('edge'), { mappings, functional: { input: x, verify: true } });
        expect(r.functional!.mismatches).toEqual([]);
        expect(r.functional!.verified).toBe(true);
      }
    }
  });

  it('lowers as a post-op of the group before it; counts C thresholds as activation parameters; one compare per element on the PPU', () => {
    const plan = lower(randomModel(resolveNetwork(net()), 1));
    const g = plan.groups.find((x) => x.steps.some((s) => s.id === 'b1.rs'))!;
    expect(g.steps.map((s) => s.id)).toEqual(['b0.conv', 'b0.add', 'b1.rs']); // bconv (+ its BN) -> add -> rsign, one pass
    expect(g.outputs).toEqual(['b0.add', 'b1.rs']);
    const paper = countPlan(plan, CONVENTIONS.paper), wo = countPlan(plan, CONVENTIONS['weights-only']);
    const row = (c: typeof paper) => c.layers.find((l) => l.step === 'b1.rs')!;
    expect(row(paper).realParams).toBe(8);
    expect(row(wo).realParams).toBe(0);
    expect(row(paper).bops + row(paper).realMacs).toBe(0);
    const l = buildLayers(plan).find((x) => x.id === 'b0.conv')!;
    // bconv output transform (mul + add) + residual add + the rsign compare; mul/bias + threshold words
    expect(l.ppuPerElement).toEqual({ mul: 1, add: 2, cmp: 1 });
    expect(l.paramWordsPerChannel).toBe(3);
    expect(l.writesBits).toBe(true);
    expect(rsign.workload(plan.producer.get('b1.rs')! as Parameters<typeof rsign.workload>[0]).ppu).toEqual({ mul: 0, add: 0, cmp: 1 });
  });

  it('training: dL/dalpha = -sum dL/dx_b * ApproxSign\'(x - alpha) (binary regime) and finite differences (clip stand-in)', async () => {
    await initGemm();
    const wl: Workload = { schema: SCHEMA_ID, name: 'rs', input: { h: 4, w: 4, c: 4 }, layers: [{ id: 'rs', op: 'rsign' }, { id: 'c', op: 'bconv', outChannels: 3, kernel: 3, pad: 1 }, { id: 'gap', op: 'gap' }] };
    const n = resolveNetwork(wl);
    const rng = new Rng(2);
    const x = bt(2, 4, 4, 4, rng.fillNormal(new Float32Array(2 * 4 * 4 * 4), 0.7));
    const R = rng.fillNormal(new Float32Array(2 * 3));
    const bin: NetConfig = { signAs: 'binary', bconvWeights: 'real', actGrad: 'approxsign', weightGrad: 'magnitude-aware' };
    const t = new TrainNet(n, bin, 3);
    const alpha = t.params.get('rs.threshold')!;
    rng.fillNormal(alpha, 0.3);
    t.zeroGrad();
    t.forward(x, true);
    // the bconv input is the +-1 rsign output
    const xb = t.tap('rs')!.data;
    for (let i = 0; i < xb.length; i++) expect(xb[i]).toBe(x.data[i] - alpha[i % 4] < 0 ? -1 : 1);
    t.backward(bt(2, 1, 1, 3, R));
    // oracle for dL/dx_b: with real conv weights the rest of the net is linear in x_b, so its gradient is the
    // same at every point: finite differences on the input of the same net with identity where rsign sits
    const tid = new TrainNet(n, { ...bin, signAs: 'identity' }, 3);
    for (const [k, v] of t.params) tid.params.get(k)!.set(v);
    const xin = bt(2, 4, 4, 4, Float32Array.from(x.data));
    const lossId = () => tid.forward(xin, false).data.reduce((a, v, j) => a + v * R[j], 0);
    const dxb = new Float64Array(xb.length);
    for (let i = 0; i < xb.length; i++) {
      const h = 1e-2, o = xin.data[i];
      xin.data[i] = o + h; const lp = lossId(); xin.data[i] = o - h; const lm = lossId(); xin.data[i] = o;
      dxb[i] = (lp - lm) / (2 * h);
    }
    const want = new Float64Array(4);
    for (let i = 0; i < xb.length; i++) { const u = x.data[i] - alpha[i % 4], a = Math.abs(u); want[i % 4] -= a < 1 ? dxb[i] * (2 - 2 * a) : 0; }
    const got = t.grads.get('rs.threshold')!;
    for (let c = 0; c < 4; c++) expect(got[c]).toBeCloseTo(want[c], 3);
    // clip stand-in (stage 1): finite differences on alpha
    const t3 = new TrainNet(n, { ...bin, signAs: 'clip' }, 3);
    t3.params.get('rs.threshold')!.set(alpha);
    const loss = () => t3.forward(x, false).data.reduce((a, v, j) => a + v * R[j], 0);
    t3.zeroGrad(); t3.forward(x, true); t3.backward(bt(2, 1, 1, 3, R));
    const a3 = t3.params.get('rs.threshold')!, g3 = t3.grads.get('rs.threshold')!;
    for (let c = 0; c < 4; c++) {
      const o = a3[c], h = 1e-3;
      a3[c] = o + h; const lp = loss(); a3[c] = o - h; const lm = loss(); a3[c] = o;
      expect(g3[c]).toBeCloseTo((lp - lm) / (2 * h), 2);
    }
  });
});
