/**
 * The fast kernel set inside the golden model: its element ops equal the op modules' reference execution (src/ops) bit for bit (including
 * -0, NaN and +-Inf lanes and channel counts that leave scalar tails), and a whole random Bi-Real-18 at
 * 224x224 gives the same bytes on every tap (accumulators, packed bits, fp32 tensors) as the reference set,
 * on the WebAssembly set and, when the addon is built, the native set (its element ops: test/kernels/native.test.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { bireal18 } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { randomModel } from '../../src/ir/model.ts';
import { lower } from '../../src/golden/plan.ts';
import { runPlan, type Tap } from '../../src/golden/run.ts';
import { addApply } from '../../src/ops/add.ts';
import { bnApply } from '../../src/ops/bn.ts';
import { poolApply } from '../../src/ops/common.ts';
import { xnorOutputTransform } from '../../src/ops/bconv.ts';
import { packSigns, tensor, type Tensor } from '../../src/core/tensor.ts';
import { packRow, wordsFor } from '../../src/core/bits.ts';
import { outSize } from '../../src/core/geometry.ts';
import { Rng } from '../../src/core/rng.ts';
import { binaryConvReference, referenceKernels } from '../../src/kernels/reference.ts';
import { nativeKernels } from '../../src/kernels/native.ts';
import { addFast, bnFast, closeKernelPool, fastKernels, kernelStats, poolFast, setKernelThreads, signPackFast, xnorConvFast } from '../../src/kernels/fast.ts';

// bit patterns, with every NaN mapped to one value: NaN sign/payload is not part of the spec (V8's own JS
// arithmetic yields 0x7fc00000 or 0xffc00000 for the same expression depending on the tier); all other bits are
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (v, i) => (Number.isNaN(a[i]) ? 0x7fc00000 : v));
const SPECIALS = [0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-45];

function randomTensor(rng: Rng, h: number, w: number, c: number): Tensor {
  const t = tensor(h, w, c);
  rng.fillNormal(t.data);
  for (let i = 0; i < t.data.length; i += 7) t.data[i] = SPECIALS[rng.int(SPECIALS.length)];
  return t;
}

afterAll(async () => { await closeKernelPool(); });

describe('fast element ops = golden ops (bit patterns)', () => {
  for (const threads of [1, 2]) {
    it(`bn, add, sign+pack, max/avg pool, xnor output transform (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
      await setKernelThreads(threads);
      const before = kernelStats.parallelCalls;
      const rng = new Rng(50 + threads);
      for (const c of threads > 1 ? [65] : [1, 3, 31, 32, 33, 65, 100]) {
        // large enough that the 2-thread run splits (>= 300K values, see fast.ts elementWork)
        const h = threads > 1 ? 70 : 9, w = threads > 1 ? 70 : 7;
        const x = randomTensor(rng, h, w, c), y = randomTensor(rng, h, w, c);
        const scale = rng.fillNormal(new Float32Array(c)), shift = rng.fillNormal(new Float32Array(c));
        expect(bits(bnFast(x, scale, shift).data)).toEqual(bits(bnApply(x, scale, shift).data));
        expect(bits(addFast(x, y).data)).toEqual(bits(addApply(x, y).data));
        expect(Array.from(signPackFast(x).words)).toEqual(Array.from(packSigns(x).words));
        for (const [k, s, pad] of [[3, 2, 1], [2, 2, 0], [3, 1, 1], [5, 3, 2]]) {
          for (const kind of ['maxpool', 'avgpool'] as const) {
            const got = poolFast(x, kind, k, s, pad), want = poolApply(x, kind, k, s, pad);
            expect([got.h, got.w, got.c]).toEqual([want.h, want.w, want.c]);
            expect(bits(got.data), `${kind} c=${c} k=${k}/${s} pad ${pad}`).toEqual(bits(want.data));
          }
        }
        // xnor conv + transform
        const xb = randomTensor(rng, h, w, c);
        const wf = rng.fillNormal(new Float32Array(5 * 9 * c));
        const wb = new Uint32Array(5 * 9 * wordsFor(c));
        for (let t = 0; t < 45; t++) packRow(wf, t * c, c, wb, t * wordsFor(c));
        const args = { input: packSigns(xb), weightBits: wb, cout: 5, kernel: 3, stride: 1, pad: 1, padMode: 'zero' as const, outH: outSize(h, { kernel: 3, stride: 1, pad: 1 }), outW: outSize(w, { kernel: 3, stride: 1, pad: 1 }) };
        const mul = rng.fillNormal(new Float32Array(5)), bias = rng.fillNormal(new Float32Array(5));
        const { acc, out } = xnorConvFast(args, mul, bias);
        const accRef = binaryConvReference(args);
        expect(Array.from(acc)).toEqual(Array.from(accRef));
        expect(bits(out.data)).toEqual(bits(xnorOutputTransform(accRef, mul, bias, args.outH, args.outW, 5).data));
      }
      // 70x70x65 = 318K values: bn, add, sign+pack and the xnor transform were split over both threads
      if (threads > 1) expect(kernelStats.parallelCalls - before).toBeGreaterThanOrEqual(4);
    });
  }
});

describe('golden model: fast kernels = reference kernels on every tap', () => {
  it('random Bi-Real-18, 224x224, one image', async () => {
    await setKernelThreads(2);
    const net = resolveNetwork(bireal18());
    const plan = lower(randomModel(net, 42));
    const x = tensor(224, 224, 3);
    new Rng(7).fillNormal(x.data);
    const before = kernelStats.calls;
    const fast = runPlan(plan, x, { taps: true });
    expect(kernelStats.calls - before).toBeGreaterThan(20); // the default kernel set is the fast one
    const ref = runPlan(plan, x, { taps: true, kernels: referenceKernels });
    expect(fast.taps.size).toBe(plan.steps.length);
    expect([...fast.taps.keys()]).toEqual([...ref.taps.keys()]);
    const eqWords = (a: ArrayLike<number>, b: ArrayLike<number>) => { if (a.length !== b.length) return false; for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false; return true; };
    const u32 = bits;
    const same = (a: Tap, b: Tap) =>
      (a.acc === undefined) === (b.acc === undefined) && (!a.acc || eqWords(a.acc, b.acc!)) &&
      (a.bits === undefined) === (b.bits === undefined) && (!a.bits || eqWords(a.bits.words, b.bits!.words)) &&
      (a.real === undefined) === (b.real === undefined) && (!a.real || eqWords(u32(a.real.data), u32(b.real!.data)));
    const differing = [...ref.taps.keys()].filter((id) => !same(fast.taps.get(id)!, ref.taps.get(id)!));
    expect(differing).toEqual([]);
    expect(bits(fast.logits)).toEqual(bits(ref.logits));
    // explicit fast selection gives the same logits as the default
    expect(bits(runPlan(plan, x, { kernels: fastKernels }).logits)).toEqual(bits(ref.logits));
    // every other backend present: the native set (C++ addon, when built) on every tap too
    const native = nativeKernels();
    if (native) {
      const nat = runPlan(plan, x, { taps: true, kernels: native });
      expect([...ref.taps.keys()].filter((id) => !same(nat.taps.get(id)!, ref.taps.get(id)!))).toEqual([]);
      expect(bits(nat.logits)).toEqual(bits(ref.logits));
    }
  });
});
