/**
 * Resident plan execution (golden/resident.ts) gives the same bytes as the per-step run: logits and every
 * tap (accumulators, packed bits, fp32 tensors), on nets with awkward channel counts and odd map sizes, both
 * pad modes, both shortcut forms (Bi-Real per conv: fused add + sign; per block: fused sign without add),
 * fallback steps (ReLU), on 1 and 2 threads; and it survives other programs and per-call kernels sharing the
 * wasm memory, and in-place weight edits.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { birealNet, birealSmall, resnet, type BiRealOptions } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { randomModel } from '../../src/ir/model.ts';
import { lower, type ExecPlan } from '../../src/golden/plan.ts';
import { runPlan, type RunResult } from '../../src/golden/run.ts';
import { tensor, packSigns } from '../../src/core/tensor.ts';
import { Rng } from '../../src/core/rng.ts';
import { referenceKernels } from '../../src/kernels/reference.ts';
import type { FcStep } from '../../src/ops/fc.ts';
import { binaryConvFast, closeKernelPool, fastKernels, getBinaryKernel, setBinaryKernel, setKernelThreads, sgemm } from '../../src/kernels/fast.ts';
import type { PadMode } from '../../src/core/bits.ts';
import { setRegionsMaxBytes } from '../../src/kernels/wasm.ts';
import { nativeKernels, setNativeIsa, setNativeThreads } from '../../src/kernels/native.ts';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (v, i) => (Number.isNaN(a[i]) ? 0x7fc00000 : v));

function inputFor(plan: ExecPlan, seed: number) {
  const t = tensor(plan.input.h, plan.input.w, plan.input.c);
  new Rng(seed).fillNormal(t.data);
  return t;
}

/** Every tap and the logits equal (NaN payloads aside). */
function expectSame(got: RunResult, want: RunResult, what: string) {
  expect(bits(got.logits), `${what}: logits`).toEqual(bits(want.logits));
  expect([...got.taps.keys()], what).toEqual([...want.taps.keys()]);
  for (const [id, w] of want.taps) {
    const g = got.taps.get(id)!;
    if (w.acc) expect(Array.from(g.acc!), `${what}: ${id} acc`).toEqual(Array.from(w.acc));
    else expect(g.acc, `${what}: ${id} acc`).toBeUndefined();
    if (w.bits) expect(Array.from(g.bits!.words), `${what}: ${id} bits`).toEqual(Array.from(w.bits.words));
    if (w.real) {
      expect([g.real!.h, g.real!.w, g.real!.c], `${what}: ${id} shape`).toEqual([w.real.h, w.real.w, w.real.c]);
      expect(bits(g.real!.data), `${what}: ${id} real`).toEqual(bits(w.real.data));
    }
  }
}

function smallNet(name: string, padMode: PadMode, shortcut: 'per-conv' | 'per-block', input: BiRealOptions['input'], stemCh: number, chans: number[], maxpool: boolean) {
  return birealNet({
    name, input, padMode, shortcut, classes: 11,
    stem: { channels: stemCh, kernel: 3, stride: 1, pad: 1, maxpool },
    stages: chans.map((channels) => ({ blocks: 2, channels })),
  });
}

const CASES: [string, ReturnType<typeof birealNet>][] = [
  ['zero pad, awkward channels', smallNet('a', 'zero', 'per-conv', { h: 12, w: 20, c: 3 }, 5, [7, 33, 65], false)],
  ['one pad, awkward channels, max pool', smallNet('b', 'one', 'per-conv', { h: 23, w: 15, c: 2 }, 12, [12, 40, 130], true)],
  ['zero pad, per-block shortcut, wide (no im2col gather)', smallNet('c', 'zero', 'per-block', { h: 12, w: 10, c: 1 }, 16, [200, 96], false)],
  ['one pad, per-block shortcut, 1-channel stages', smallNet('d', 'one', 'per-block', { h: 16, w: 12, c: 3 }, 1, [1, 3], true)],
  ['zero pad, odd map, one stage', smallNet('e', 'zero', 'per-conv', { h: 13, w: 17, c: 3 }, 34, [34], false)],
  ['Bi-Real MNIST-size', birealSmall('f', [16, 40, 72], [2, 2, 2])],
];

afterAll(async () => { await closeKernelPool(); });

describe('resident execution = per-step execution (bytes)', () => {
  for (const threads of [1, 2]) {
    it(`small nets vs the reference kernels, taps and plain (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
      await setKernelThreads(threads);
      for (const [what, wl] of CASES) {
        const plan = lower(randomModel(resolveNetwork(wl), 5));
        const x = inputFor(plan, 9);
        const want = runPlan(plan, x, { taps: true, kernels: referenceKernels });
        expectSame(runPlan(plan, x, { taps: true, kernels: fastKernels }), want, `${what} (taps)`);
        const plain = runPlan(plan, x, { kernels: fastKernels });
        expect(plain.taps.size).toBe(0);
        expect(bits(plain.logits), `${what} (plain)`).toEqual(bits(want.logits));
      }
    });
  }

  it('every binary register tile (with and without the output pre-touch and the short-window kernels) gives the same bytes', async () => {
    await setKernelThreads(2);
    const def = getBinaryKernel();
    const plan = lower(randomModel(resolveNetwork(CASES[0][1]), 6));
    const x = inputFor(plan, 6);
    const want = bits(runPlan(plan, x, { kernels: referenceKernels }).logits);
    for (const [kind, P, O, touch, short, shortInPlace] of [['i64', 2, 2, false, true, true], ['i64', 3, 2, true, false, true], ['v128', 2, 4, false, true, true], ['i64', 1, 4, true, false, false], ['i64', 1, 2, true, true, false], ['i64', 1, 4, false, true, false]] as const) {
      setBinaryKernel({ kind, P, O, touch, short, shortInPlace });
      const plan2 = lower(randomModel(resolveNetwork(CASES[0][1]), 6)); // compiled with this kernel
      expect(bits(runPlan(plan2, x).logits), `${kind} ${P}x${O}${touch ? ' touch' : ''}${short ? ' short' : ''}${shortInPlace ? ' in place' : ''}`).toEqual(want);
    }
    setBinaryKernel(def);
  });

  it('ResNet-18 (ReLU steps run through the per-step fallback), 64x64, 2 threads', async () => {
    await setKernelThreads(2);
    const wl = resnet(18);
    wl.input = { h: 64, w: 64, c: 3 };
    const plan = lower(randomModel(resolveNetwork(wl), 3));
    const x = inputFor(plan, 4);
    const want = runPlan(plan, x, { taps: true, perStep: true });
    expectSame(runPlan(plan, x, { taps: true }), want, 'resnet18 taps');
    expect(bits(runPlan(plan, x).logits)).toEqual(bits(want.logits));
  });

  it('programs share the memory: alternating plans, per-call kernels in between, repeated runs, regions dropped', async () => {
    await setKernelThreads(2);
    setRegionsMaxBytes(3 << 20); // a few small programs, then all regions are dropped and rebuilt
    const planA = lower(randomModel(resolveNetwork(CASES[0][1]), 1));
    const planB = lower(randomModel(resolveNetwork(CASES[1][1]), 2));
    const xa = inputFor(planA, 1), xb = inputFor(planB, 2);
    const wantA = bits(runPlan(planA, xa, { kernels: referenceKernels }).logits);
    const wantB = bits(runPlan(planB, xb, { kernels: referenceKernels }).logits);
    const rng = new Rng(3);
    for (let i = 0; i < 3; i++) {
      expect(bits(runPlan(planA, xa).logits)).toEqual(wantA);
      // per-call kernels lay out their scratch above the resident region
      const t = tensor(30, 30, 70);
      rng.fillNormal(t.data);
      binaryConvFast({ input: packSigns(t), weightBits: new Uint32Array(9 * 9 * 3).fill(0x5a5a5a5a), cout: 9, kernel: 3, stride: 1, pad: 1, padMode: 'zero', outH: 30, outW: 30 });
      const c = new Float32Array(64 * 64);
      sgemm({ M: 64, N: 64, K: 64, a: new Float32Array(64 * 64).fill(1), b: new Float32Array(64 * 64).fill(2), c });
      expect(c[0]).toBe(128);
      expect(bits(runPlan(planB, xb).logits)).toEqual(wantB);
      expect(bits(runPlan(planA, xa, { taps: true }).logits)).toEqual(wantA);
      expect(bits(runPlan(planB, xb, { taps: true }).logits)).toEqual(wantB);
    }
    setRegionsMaxBytes(512 << 20);
  });

  it('weights edited in place between runs are picked up (recompiled)', async () => {
    await setKernelThreads(1);
    const model = randomModel(resolveNetwork(CASES[5][1]), 7);
    const plan = lower(model);
    const x = inputFor(plan, 7);
    const before = bits(runPlan(plan, x).logits);
    const fc = plan.steps.find((s) => s.op === 'fc') as FcStep;
    fc.weight.fill(0.25);
    const want = bits(runPlan(plan, x, { kernels: referenceKernels }).logits);
    expect(want).not.toEqual(before);
    expect(bits(runPlan(plan, x).logits)).toEqual(want);
  });
});

// The native resident program (golden/native-program.ts) against the reference kernels: taps (every step alone,
// every tensor and accumulator kept) and plain (fused epilogues), on the awkward nets above, ResNet-18 with
// its ReLU steps on the per-step fallback, 1 and 2 threads, and an in-place weight edit (recompiles).
// Every instruction-set path the addon has (an ISA the CPU lacks falls back to the next one down), so the
// AVX2 kernels' fused epilogues are checked on an AVX-512 machine too.
describe.skipIf(!nativeKernels())('native resident program = per-step execution (bytes)', () => {
  afterAll(() => { setNativeIsa('avx512'); setNativeThreads(2); });
  for (const isa of ['avx512', 'avx2', 'scalar'] as const) for (const threads of [1, 2]) {
    it(`small nets, taps and plain (${isa}, ${threads} thread${threads > 1 ? 's' : ''})`, () => {
      setNativeIsa(isa);
      setNativeThreads(threads);
      const k = nativeKernels()!;
      for (const [what, wl] of CASES) {
        const plan = lower(randomModel(resolveNetwork(wl), 5));
        const x = inputFor(plan, 9);
        const want = runPlan(plan, x, { taps: true, kernels: referenceKernels });
        expectSame(runPlan(plan, x, { taps: true, kernels: k }), want, `${what} (native taps)`);
        const plain = runPlan(plan, x, { kernels: k });
        expect(plain.taps.size).toBe(0);
        expect(bits(plain.logits), `${what} (native plain)`).toEqual(bits(want.logits));
      }
    });
  }

  it('ResNet-18 with ReLU on the fallback, and a weight edited in place', () => {
    setNativeIsa('avx512');
    setNativeThreads(2);
    const k = nativeKernels()!;
    const wl = resnet(18);
    wl.input = { h: 48, w: 48, c: 3 };
    const plan = lower(randomModel(resolveNetwork(wl), 3));
    const x = inputFor(plan, 4);
    const want = runPlan(plan, x, { taps: true, kernels: referenceKernels });
    expectSame(runPlan(plan, x, { taps: true, kernels: k }), want, 'resnet18 native taps');
    expect(bits(runPlan(plan, x, { kernels: k }).logits)).toEqual(bits(want.logits));
    const fc = plan.steps.find((s) => s.op === 'fc') as FcStep;
    fc.weight.fill(0.25);
    const want2 = runPlan(plan, x, { kernels: referenceKernels });
    expect(bits(want2.logits)).not.toEqual(bits(want.logits));
    expect(bits(runPlan(plan, x, { kernels: k }).logits)).toEqual(bits(want2.logits));
  });
});
