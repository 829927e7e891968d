/**
 * The fast kernels (WebAssembly SIMD / i64 popcount, worker threads) against the reference kernels, bit for
 * bit: integer accumulators equal, fp32 outputs equal as bit patterns (so -0 vs +0 or NaN payloads would
 * fail too). Shapes include awkward channel counts (1, 3, 31, 33, 65, 100: partial words, odd word counts,
 * masked 128-bit tails), strides 1/2, kernels 1/3/7, both pad modes, every compiled binary variant, and
 * both ways of splitting a call over threads.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { binaryConvReference, fcReference, realConvReference, sgemmReference } from '../../src/kernels/reference.ts';
import {
  binaryConvFast, binaryGemm, closeKernelPool, fcFast, getBinaryKernel, kernelStats, setIm2colBelowWords, realConvFast, setBinaryKernel, setGemmSplit, setKernelThreads, sgemm,
} from '../../src/kernels/fast.ts';
import { getKernels, nativeKernels } from '../../src/kernels/index.ts';
import { BCONV64_TILES, BCONV_TILES } from '../../src/kernels/wat.ts';
import { packRow, popcount32, wordsFor } from '../../src/core/bits.ts';
import { packSigns, tensor } from '../../src/core/tensor.ts';
import { outSize } from '../../src/core/geometry.ts';
import { Rng } from '../../src/core/rng.ts';
import type { BinaryConvArgs, RealConvArgs } from '../../src/kernels/types.ts';

// bit patterns, with every NaN mapped to one value: NaN sign/payload is not part of the spec (V8's own JS
// arithmetic yields 0x7fc00000 or 0xffc00000 for the same expression depending on the tier); all other bits are
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (v, i) => (Number.isNaN(a[i]) ? 0x7fc00000 : v));

function binaryCase(rng: Rng, h: number, w: number, c: number, cout: number, k: number, stride: number, pad: number, padMode: 'zero' | 'one'): BinaryConvArgs {
  const x = tensor(h, w, c);
  rng.fillNormal(x.data);
  const wf = new Float32Array(cout * k * k * c);
  rng.fillNormal(wf);
  const wpp = wordsFor(c);
  const weightBits = new Uint32Array(cout * k * k * wpp);
  for (let t = 0; t < cout * k * k; t++) packRow(wf, t * c, c, weightBits, t * wpp);
  const win = { kernel: k, stride, pad };
  return { input: packSigns(x), weightBits, cout, kernel: k, stride, pad, padMode, outH: outSize(h, win), outW: outSize(w, win) };
}

function realCase(rng: Rng, h: number, w: number, c: number, cout: number, k: number, stride: number, pad: number, withBias: boolean): RealConvArgs {
  const x = tensor(h, w, c);
  rng.fillNormal(x.data);
  // a few exact zeros and negative zeros in the input: signed-zero handling must match too
  for (let i = 0; i < x.data.length; i += 17) x.data[i] = i % 2 ? -0 : 0;
  const weight = new Float32Array(cout * k * k * c);
  rng.fillNormal(weight, 0.5);
  const bias = withBias ? rng.fillNormal(new Float32Array(cout)) : undefined;
  const win = { kernel: k, stride, pad };
  return { input: x, weight, bias, cout, kernel: k, stride, pad, outH: outSize(h, win), outW: outSize(w, win) };
}

const CHANNELS = [1, 3, 31, 33, 65, 100, 128];
const GEOMS: [number, number, number][] = [[1, 1, 0], [1, 2, 0], [3, 1, 1], [3, 2, 1], [7, 1, 3], [7, 2, 3], [3, 1, 0]];

afterAll(async () => { await closeKernelPool(); });

describe('fast binary conv = reference (bit for bit)', () => {
  const original = getBinaryKernel();
  const variants = [
    ...BCONV_TILES.map(([P, O]) => ({ kind: 'v128' as const, P, O })),
    ...BCONV64_TILES.map(([P, O]) => ({ kind: 'i64' as const, P, O })),
  ];
  it('every shape x pad mode, default variant, single thread', async () => {
    await setKernelThreads(1);
    const rng = new Rng(11);
    let checked = 0;
    for (const c of CHANNELS) for (const [k, s, pad] of GEOMS) for (const padMode of ['zero', 'one'] as const) {
      const a = binaryCase(rng, 9 + rng.int(4), 8 + rng.int(5), c, 1 + rng.int(13), k, s, pad, padMode);
      const want = binaryConvReference(a), got = binaryConvFast(a);
      expect(got.length).toBe(want.length);
      if (!want.every((v, i) => v === got[i])) expect({ c, k, s, pad, padMode, got: Array.from(got) }).toEqual({ c, k, s, pad, padMode, got: Array.from(want) });
      checked++;
    }
    expect(checked).toBe(CHANNELS.length * GEOMS.length * 2);
  });
  it('every compiled register tile and variant (v128 and i64), awkward shapes', async () => {
    await setKernelThreads(1);
    const rng = new Rng(12);
    try {
      for (const v of variants) {
        setBinaryKernel(v);
        for (const [c, k, s, padMode] of [[33, 3, 1, 'zero'], [100, 3, 2, 'one'], [65, 1, 1, 'zero'], [3, 7, 2, 'zero'], [256, 3, 1, 'zero']] as const) {
          const a = binaryCase(rng, 7, 10, c, 1 + rng.int(11), k, s, k >> 1, padMode);
          expect(Array.from(binaryConvFast(a)), `${v.kind} ${v.P}x${v.O} c=${c} k=${k}`).toEqual(Array.from(binaryConvReference(a)));
        }
      }
    } finally { setBinaryKernel(original); }
  });
  it('with the im2col gather forced on and off for every shape', async () => {
    await setKernelThreads(1);
    const rng = new Rng(16);
    try {
      for (const below of [0, 1_000_000]) {
        setIm2colBelowWords(below);
        for (const c of [1, 33, 100, 256]) for (const [k, s, pad] of [[3, 1, 1], [3, 2, 1], [7, 2, 3]]) for (const padMode of ['zero', 'one'] as const) {
          const a = binaryCase(rng, 9, 8, c, 1 + rng.int(9), k, s, pad, padMode);
          expect(Array.from(binaryConvFast(a)), `below=${below} c=${c} k=${k}/${s} ${padMode}`).toEqual(Array.from(binaryConvReference(a)));
        }
      }
    } finally { setIm2colBelowWords(16); }
  });
  it('long windows (more than 31 SIMD steps between widenings) stay exact', async () => {
    await setKernelThreads(1);
    const rng = new Rng(13);
    // 3x3 x 1000 channels: a segment is 3 * 32 = 96 words = 24 steps, a window 72 steps; 7x7 x 200: 49 taps
    for (const [c, k] of [[1000, 3], [200, 7]]) {
      const a = binaryCase(rng, 5, 6, c, 5, k, 1, k >> 1, 'zero');
      expect(Array.from(binaryConvFast(a))).toEqual(Array.from(binaryConvReference(a)));
    }
  });
  it('all-ones and all-zeros inputs reach the extreme dots +-K', async () => {
    await setKernelThreads(1);
    const a = binaryCase(new Rng(14), 4, 4, 65, 2, 3, 1, 1, 'one');
    a.input.words.fill(0); a.weightBits.fill(0);
    const r = binaryConvFast(a);
    expect(r.every((v) => v === 9 * 65)).toBe(true);
    // all -1 activations against all +1 weights: every product -1
    for (let p = 0; p < 16; p++) { a.input.words[p * 3] = 0xffffffff; a.input.words[p * 3 + 1] = 0xffffffff; a.input.words[p * 3 + 2] = 1; }
    const z = { ...a, padMode: 'zero' as const };
    expect(Array.from(binaryConvFast(z))).toEqual(Array.from(binaryConvReference(z)));
    expect(binaryConvFast(z)[(1 * 4 + 1) * 2]).toBe(-9 * 65);
  });
  for (const [threads, split] of [[1, 'rows'], [2, 'rows'], [2, 'tiles']] as const) it(`binary GEMM equals a popcount loop (${threads} thread${threads > 1 ? 's' : ''}, split by ${split})`, async () => {
    await setKernelThreads(threads);
    setGemmSplit(split);
    const rng = new Rng(15);
    const before = kernelStats.parallelCalls;
    for (const [M, N, K] of [[5, 7, 100], [16, 9, 4608], [3, 4, 1], [9, 13, 129], [67, 33, 4608], [64, 64, 4608], [64, 64, 4608]]) {
      const wpr = Math.ceil(K / 32);
      const mk = (rows: number) => {
        const m = new Uint32Array(rows * wpr).map(() => rng.nextU32());
        if (K % 32) for (let r = 0; r < rows; r++) m[r * wpr + wpr - 1] &= (1 << (K % 32)) - 1;
        return m;
      };
      const a = mk(M), b = mk(N);
      const got = binaryGemm(a, b, M, N, K);
      const into = new Int32Array(M * N + 3).fill(-7);
      expect(binaryGemm(a, b, M, N, K, into)).toBe(into);
      expect(Array.from(into.subarray(0, M * N))).toEqual(Array.from(got));
      expect(into[M * N]).toBe(-7);
      expect(Array.from(binaryGemm(a, b, M, N, K, 'view'))).toEqual(Array.from(got));
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
        let pop = 0;
        for (let w = 0; w < wpr; w++) pop += popcount32(a[m * wpr + w] ^ b[n * wpr + w]);
        expect(got[m * N + n]).toBe(K - 2 * pop);
      }
    }
    if (threads > 1) expect(kernelStats.parallelCalls - before).toBeGreaterThanOrEqual(4);
    // register tiles of several pixels: the last tile of rows runs past M (slack), same dots
    const def = getBinaryKernel();
    const a = new Uint32Array(67 * 144).map(() => rng.nextU32()), b = new Uint32Array(33 * 144).map(() => rng.nextU32());
    const want = Array.from(binaryGemm(a, b, 67, 33, 4608));
    for (const [kind, P, O, touch] of [['i64', 2, 2, false], ['i64', 3, 2, true], ['v128', 2, 4, false], ['i64', 4, 1, false], ['i64', 1, 4, true], ['i64', 1, 4, false]] as const) {
      setBinaryKernel({ kind, P, O, touch });
      expect(Array.from(binaryGemm(a, b, 67, 33, 4608)), `${kind} ${P}x${O}${touch ? ' touch' : ''}`).toEqual(want);
    }
    setBinaryKernel(def);
    setGemmSplit('rows');
  });
});

describe('fast fp32 conv / fc = reference (bit patterns)', () => {
  it('every shape, with and without bias', async () => {
    await setKernelThreads(1);
    const rng = new Rng(21);
    for (const c of CHANNELS) for (const [k, s, pad] of GEOMS) {
      const a = realCase(rng, 8 + rng.int(4), 7 + rng.int(5), c, 1 + rng.int(19), k, s, pad, rng.int(2) === 1);
      const want = realConvReference(a), got = realConvFast(a);
      expect(got.length).toBe(want.length);
      if (bits(got).some((v, i) => v !== bits(want)[i])) expect({ c, k, s, got: Array.from(got) }).toEqual({ c, k, s, got: Array.from(want) });
    }
  });
  it('the Bi-Real stem shape (7x7/2, 3 -> 64) on a 40x40 crop', async () => {
    await setKernelThreads(1);
    const a = realCase(new Rng(22), 40, 40, 3, 64, 7, 2, 3, false);
    expect(bits(realConvFast(a))).toEqual(bits(realConvReference(a)));
  });
  it('weights edited in place after a call are repacked (cache validation)', async () => {
    await setKernelThreads(1);
    const rng = new Rng(25);
    const a = realCase(rng, 6, 6, 8, 8, 3, 1, 1, true);
    realConvFast(a);
    for (let i = 0; i < a.weight.length; i++) a.weight[i] = -a.weight[i] * 0.5; // an 'optimiser step'
    expect(bits(realConvFast(a))).toEqual(bits(realConvReference(a)));
    const b = binaryCase(rng, 6, 6, 40, 8, 3, 1, 1, 'zero');
    binaryConvFast(b);
    for (let i = 0; i < b.weightBits.length; i++) b.weightBits[i] = ~b.weightBits[i] & (i % 2 ? 0xff : 0xffffffff);
    expect(Array.from(binaryConvFast(b))).toEqual(Array.from(binaryConvReference(b)));
  });
  it('non-finite weights take the reference path (0 * Inf at padded taps must not appear)', async () => {
    await setKernelThreads(1);
    const a = realCase(new Rng(23), 5, 5, 3, 4, 3, 1, 1, false);
    a.weight[0] = Infinity;
    const got = realConvFast(a), want = realConvReference(a);
    expect(bits(got)).toEqual(bits(want));
    expect(Number.isNaN(got[0])).toBe(false); // the corner output skips the Inf tap in the reference
  });
  it('fc for several sizes, with and without bias', async () => {
    await setKernelThreads(1);
    const rng = new Rng(24);
    for (const [n, o] of [[1, 1], [3, 10], [100, 1000], [513, 7]]) {
      const input = rng.fillNormal(new Float32Array(n)), weight = rng.fillNormal(new Float32Array(n * o));
      for (const bias of [undefined, rng.fillNormal(new Float32Array(o))]) {
        expect(bits(fcFast({ input, weight, bias, outFeatures: o }))).toEqual(bits(fcReference({ input, weight, bias, outFeatures: o })));
      }
    }
  });
});

describe('sgemm exactness contract', () => {
  const f = Math.fround;
  function sgemmSpec(transA: boolean, transB: boolean, M: number, N: number, K: number, a: Float32Array, b: Float32Array, c: Float32Array, accumulate: boolean): Float32Array {
    const out = new Float32Array(M * N);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s = f(s + f((transA ? a[k * M + i] : a[i * K + k]) * (transB ? b[j * K + k] : b[k * N + j])));
      out[i * N + j] = accumulate ? f(c[i * N + j] + s) : s;
    }
    return out;
  }
  it('all transposes, accumulate on/off, odd sizes, 1 and 2 threads; reference.ts sgemmReference states the same contract', async () => {
    const rng = new Rng(31);
    for (const threads of [1, 2]) {
      await setKernelThreads(threads);
      for (const [M, N, K] of [[1, 1, 1], [5, 9, 7], [13, 17, 33], [4, 8, 64], [37, 3, 150], [301, 45, 260]]) for (const transA of [false, true]) for (const transB of [false, true]) for (const accumulate of [false, true]) {
        const a = rng.fillNormal(new Float32Array(M * K)), b = rng.fillNormal(new Float32Array(K * N)), c0 = rng.fillNormal(new Float32Array(M * N));
        for (let i = 0; i < c0.length; i += 5) c0[i] = -0; // -0 + s: the sum is added to C last
        const c = c0.slice(), r = c0.slice();
        sgemm({ transA, transB, M, N, K, a, b, c, accumulate });
        const spec = sgemmSpec(transA, transB, M, N, K, a, b, c0, accumulate);
        expect(bits(c), `${M}x${N}x${K} tA=${transA} tB=${transB} acc=${accumulate}`).toEqual(bits(spec));
        sgemmReference({ transA, transB, M, N, K, a, b, c: r, accumulate });
        expect(bits(r)).toEqual(bits(spec));
      }
    }
    await setKernelThreads(1);
  });
  it('im2col(x) * W^T with k in (ky, kx, ci) order equals the reference conv', async () => {
    await setKernelThreads(1);
    const a = realCase(new Rng(32), 6, 7, 5, 6, 3, 1, 1, false);
    const { input: x, weight, cout, outH, outW } = a, K = 9 * x.c;
    const cols = new Float32Array(outH * outW * K); // only in-bounds taps: the zero taps add +-0, a no-op
    for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) for (let ci = 0; ci < x.c; ci++) {
      const iy = oy - 1 + ky, ix = ox - 1 + kx;
      if (iy >= 0 && iy < x.h && ix >= 0 && ix < x.w) cols[(oy * outW + ox) * K + (ky * 3 + kx) * x.c + ci] = x.data[(iy * x.w + ix) * x.c + ci];
    }
    const c = new Float32Array(outH * outW * cout);
    sgemm({ M: outH * outW, N: cout, K, a: cols, b: weight, transB: true, c });
    expect(bits(c)).toEqual(bits(realConvReference(a)));
  });
  it('K = 0 gives zeros, or leaves C when accumulating', () => {
    const c = new Float32Array([1, 2, 3, 4]);
    sgemm({ M: 2, N: 2, K: 0, a: new Float32Array(0), b: new Float32Array(0), c, accumulate: true });
    expect(Array.from(c)).toEqual([1, 2, 3, 4]);
    sgemm({ M: 2, N: 2, K: 0, a: new Float32Array(0), b: new Float32Array(0), c });
    expect(Array.from(c)).toEqual([0, 0, 0, 0]);
    const r = new Float32Array([1, -0, 3, 4]);
    sgemmReference({ M: 2, N: 2, K: 0, a: new Float32Array(0), b: new Float32Array(0), c: r, accumulate: true });
    expect(Object.is(r[1], -0)).toBe(true);
  });
});

describe('two threads (worker pool on shared memory)', () => {
  it('split by channel tiles and by rows gives the single-thread bytes', async () => {
    await setKernelThreads(2);
    const before = kernelStats.parallelCalls;
    const rng = new Rng(41);
    // many channel tiles -> split by tiles; few channels, many rows -> split by rows
    for (const [h, c, cout] of [[20, 128, 64], [48, 64, 3]]) {
      const b = binaryCase(rng, h, h, c, cout, 3, 1, 1, 'zero');
      expect(Array.from(binaryConvFast(b))).toEqual(Array.from(binaryConvReference(b)));
      const r = realCase(rng, h, h, c, cout, 3, 1, 1, true);
      expect(bits(realConvFast(r))).toEqual(bits(realConvReference(r)));
    }
    const M = 300, N = 20, K = 200;
    const a = rng.fillNormal(new Float32Array(M * K)), bm = rng.fillNormal(new Float32Array(K * N));
    const c2 = new Float32Array(M * N);
    sgemm({ M, N, K, a, b: bm, c: c2 });
    expect(kernelStats.parallelCalls - before).toBe(5); // every call above was split over the two threads
    await setKernelThreads(1);
    const c1 = new Float32Array(M * N);
    sgemm({ M, N, K, a, b: bm, c: c1 });
    expect(bits(c2)).toEqual(bits(c1));
  });
  it('getKernels names the sets', () => {
    // 'fast' is the native set when the addon is built, else the WebAssembly set (named 'fast')
    expect(getKernels('fast').name).toBe(nativeKernels() ? 'native' : 'fast');
    expect(getKernels('wasm').name).toBe('fast');
    expect(getKernels('reference').name).toBe('reference');
    expect(() => getKernels('nope' as 'fast')).toThrow(/unknown kernel set/);
  });
});
