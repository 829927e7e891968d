/**
 * The native kernels (C++ addon, src/kernels/native.ts) against the reference kernels and the golden ops,
 * bit for bit, on every instruction-set path the addon has (AVX-512 VPOPCNTDQ, AVX2, scalar: forced lower
 * with setNativeIsa, so one machine tests all that it can run) and on 1 and 2 threads. Shapes: awkward
 * channel counts (partial words, odd word counts, channel counts not a multiple of the 16-lane blocks),
 * strides 1/2, kernels 1/3/7, both pad modes, K not a multiple of 64 bits, -0 / NaN / Inf lanes.
 * Skipped (with a note) when the addon was not built: then 'fast' is the WebAssembly set, tested elsewhere.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { binaryConvReference, fcReference, realConvReference } from '../../src/kernels/reference.ts';
import { nativeBinaryGemm, nativeIsa, nativeKernels, setNativeIsa, setNativeThreads, nativeUnavailableReason } from '../../src/kernels/native.ts';
import { getKernels } from '../../src/kernels/index.ts';
import { addApply } from '../../src/ops/add.ts';
import { bnApply } from '../../src/ops/bn.ts';
import { poolApply } from '../../src/ops/common.ts';
import { xnorOutputTransform } from '../../src/ops/bconv.ts';
import { packRow, popcount32, wordsFor } from '../../src/core/bits.ts';
import { packSigns, tensor, type Tensor } from '../../src/core/tensor.ts';
import { outSize } from '../../src/core/geometry.ts';
import { Rng } from '../../src/core/rng.ts';
import type { BinaryConvArgs, RealConvArgs } from '../../src/kernels/types.ts';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (v, i) => (Number.isNaN(a[i]) ? 0x7fc00000 : v));
const SPECIALS = [0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-45];
const K = nativeKernels();
const ISAS = (['avx512', 'avx2', 'scalar'] as const);

function binaryCase(rng: Rng, h: number, w: number, c: number, cout: number, k: number, stride: number, pad: number, padMode: 'zero' | 'one'): BinaryConvArgs {
  const x = tensor(h, w, c);
  rng.fillNormal(x.data);
  const wf = rng.fillNormal(new Float32Array(cout * k * k * c));
  const wpp = wordsFor(c);
  const weightBits = new Uint32Array(cout * k * k * wpp);
  for (let t = 0; t < cout * k * k; t++) packRow(wf, t * c, c, weightBits, t * wpp);
  const win = { kernel: k, stride, pad };
  return { input: packSigns(x), weightBits, cout, kernel: k, stride, pad, padMode, outH: outSize(h, win), outW: outSize(w, win) };
}
function realCase(rng: Rng, h: number, w: number, c: number, cout: number, k: number, stride: number, pad: number, withBias: boolean): RealConvArgs {
  const x = tensor(h, w, c);
  rng.fillNormal(x.data);
  for (let i = 0; i < x.data.length; i += 17) x.data[i] = i % 2 ? -0 : 0;
  const weight = rng.fillNormal(new Float32Array(cout * k * k * c), 0.5);
  const bias = withBias ? rng.fillNormal(new Float32Array(cout)) : undefined;
  const win = { kernel: k, stride, pad };
  return { input: x, weight, bias, cout, kernel: k, stride, pad, outH: outSize(h, win), outW: outSize(w, win) };
}
function randomTensor(rng: Rng, h: number, w: number, c: number): Tensor {
  const t = tensor(h, w, c);
  rng.fillNormal(t.data);
  for (let i = 0; i < t.data.length; i += 7) t.data[i] = SPECIALS[rng.int(SPECIALS.length)];
  return t;
}

const CHANNELS = [1, 3, 31, 33, 65, 100, 128];
const GEOMS: [number, number, number][] = [[1, 1, 0], [1, 2, 0], [3, 1, 1], [3, 2, 1], [7, 1, 3], [7, 2, 3], [3, 1, 0]];

afterAll(() => { setNativeIsa('avx512'); setNativeThreads(2); });

describe.skipIf(!K)(`native kernels = reference (bit for bit)${K ? '' : ` — skipped: ${nativeUnavailableReason()}`}`, () => {
  it('the addon reports an instruction set and `fast` resolves to it', () => {
    expect(['avx512-vpopcntdq', 'avx2', 'scalar']).toContain(nativeIsa());
    expect(getKernels('fast')).toBe(K);
    expect(getKernels('wasm').name).toBe('fast');
  });
  for (const isa of ISAS) for (const threads of [1, 2]) {
    it(`binary conv, both pad modes, awkward shapes (${isa}, ${threads} thread${threads > 1 ? 's' : ''})`, () => {
      setNativeIsa(isa); setNativeThreads(threads);
      const rng = new Rng(100 + threads);
      for (const c of CHANNELS) for (const [k, s, pad] of GEOMS) for (const padMode of ['zero', 'one'] as const) {
        // cout spans < 16, 16..64 and > 64 (several lane blocks and a partial one); large enough images to split
        const cout = [1 + rng.int(13), 16 + rng.int(50), 65 + rng.int(80)][rng.int(3)];
        const a = binaryCase(rng, 9 + rng.int(20), 8 + rng.int(20), c, cout, k, s, pad, padMode);
        const want = binaryConvReference(a), got = K!.binaryConv(a);
        if (!want.every((v, i) => v === got[i])) expect({ isa, c, k, s, pad, padMode, cout, got: Array.from(got) }).toEqual({ isa, c, k, s, pad, padMode, cout, got: Array.from(want) });
      }
    });
    it(`fp32 conv and fc, spec summation order (${isa}, ${threads} thread${threads > 1 ? 's' : ''})`, () => {
      setNativeIsa(isa); setNativeThreads(threads);
      const rng = new Rng(200 + threads);
      for (const c of CHANNELS) for (const [k, s, pad] of GEOMS) {
        const cout = [1 + rng.int(15), 17 + rng.int(60), 70 + rng.int(70)][rng.int(3)];
        const a = realCase(rng, 9 + rng.int(12), 7 + rng.int(12), c, cout, k, s, pad, rng.int(2) === 1);
        expect(bits(K!.realConv(a)), `c=${c} k=${k}/${s} pad ${pad} cout ${cout}`).toEqual(bits(realConvReference(a)));
      }
      for (const [n, o] of [[1, 1], [3, 7], [100, 10], [512, 1000], [77, 129]]) {
        const input = randomTensor(rng, 1, 1, n).data, weight = rng.fillNormal(new Float32Array(n * o));
        for (const bias of [undefined, rng.fillNormal(new Float32Array(o))]) {
          expect(bits(K!.fc({ input, weight, bias, outFeatures: o }))).toEqual(bits(fcReference({ input, weight, bias, outFeatures: o })));
        }
      }
    });
    it(`element ops and the fused xnor transform = golden ops (${isa}, ${threads} thread${threads > 1 ? 's' : ''})`, () => {
      setNativeIsa(isa); setNativeThreads(threads);
      const rng = new Rng(300 + threads);
      const ops = K!.ops!;
      for (const c of threads > 1 ? [65] : [1, 3, 31, 32, 33, 65, 100]) {
        const h = threads > 1 ? 60 : 9, w = threads > 1 ? 61 : 7; // 2 threads: large enough to split
        const x = randomTensor(rng, h, w, c), y = randomTensor(rng, h, w, c);
        const scale = rng.fillNormal(new Float32Array(c)), shift = rng.fillNormal(new Float32Array(c));
        expect(bits(ops.bn!(x, scale, shift).data)).toEqual(bits(bnApply(x, scale, shift).data));
        expect(bits(ops.add!(x, y).data)).toEqual(bits(addApply(x, y).data));
        expect(Array.from(ops.signPack!(x).words)).toEqual(Array.from(packSigns(x).words));
        for (const [k, s, pad] of [[3, 2, 1], [2, 2, 0], [3, 1, 1], [5, 3, 2]]) for (const kind of ['maxpool', 'avgpool'] as const) {
          const got = ops.pool!(x, kind, k, s, pad), want = poolApply(x, kind, k, s, pad);
          expect([got.h, got.w, got.c]).toEqual([want.h, want.w, want.c]);
          expect(bits(got.data), `${kind} c=${c} k=${k}/${s} pad ${pad}`).toEqual(bits(want.data));
        }
        const a = binaryCase(rng, h, w, c, 21, 3, 1, 1, 'zero');
        const mul = rng.fillNormal(new Float32Array(21)), bias = rng.fillNormal(new Float32Array(21));
        const { acc, out } = ops.xnorConv!(a, mul, bias);
        const accRef = binaryConvReference(a);
        expect(Array.from(acc)).toEqual(Array.from(accRef));
        expect(bits(out.data)).toEqual(bits(xnorOutputTransform(accRef, mul, bias, a.outH, a.outW, 21).data));
      }
    });
    it(`binary GEMM, K not a multiple of 64 (${isa}, ${threads} thread${threads > 1 ? 's' : ''})`, () => {
      setNativeIsa(isa); setNativeThreads(threads);
      const rng = new Rng(400 + threads);
      for (const [M, N, kBits] of [[1, 1, 1], [7, 5, 33], [64, 48, 4608], [37, 70, 100], [300, 20, 4607]]) {
        const wpr = Math.ceil(kBits / 32);
        const mask = kBits % 32 ? (2 ** (kBits % 32)) - 1 : 0xffffffff;
        const rand = (rows: number) => { const v = new Uint32Array(rows * wpr); for (let i = 0; i < v.length; i++) v[i] = rng.int(0x10000) * 0x10000 + rng.int(0x10000); for (let r = 0; r < rows; r++) v[r * wpr + wpr - 1] &= mask; return v; };
        const A = rand(M), B = rand(N);
        const got = nativeBinaryGemm(A, B, M, N, kBits);
        for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
          let pop = 0;
          for (let i = 0; i < wpr; i++) pop += popcount32(A[m * wpr + i] ^ B[n * wpr + i]);
          if (got[m * N + n] !== kBits - 2 * pop) expect({ M, N, kBits, m, n, got: got[m * N + n] }).toEqual({ M, N, kBits, m, n, got: kBits - 2 * pop });
        }
      }
    });
  }
  it('a weight array edited in place is re-arranged (cache probe)', () => {
    setNativeIsa('avx512'); setNativeThreads(1);
    const rng = new Rng(9);
    const a = realCase(rng, 5, 5, 8, 4, 3, 1, 1, false);
    expect(bits(K!.realConv(a))).toEqual(bits(realConvReference(a)));
    a.weight.fill(0.25);
    expect(bits(K!.realConv(a))).toEqual(bits(realConvReference(a)));
  });
});
