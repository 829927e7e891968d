/** Finite-difference gradient tests for every float op of the trainer, plus GEMM agreement tests. */
import { describe, expect, it, beforeAll } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import * as ops from '../../src/kernels/batch-ops.ts';
import { initGemm, sgemm, setGemmBackend } from '../../src/kernels/batch-fast.ts';
import { bt } from '../../src/kernels/batch.ts';
import { checkGrad, dot, randBT } from './gradcheck.ts';

const TOL = 2e-2;

beforeAll(async () => { await initGemm(); });

describe('sgemm', () => {
  it('matches a float64 triple loop for all transposes and ragged sizes, on both back ends', () => {
    const rng = new Rng(3);
    for (const [M, N, K] of [[1, 1, 1], [5, 9, 3], [13, 17, 31], [4, 8, 8]]) {
      const A = rng.fillNormal(new Float32Array(M * K)), B = rng.fillNormal(new Float32Array(K * N));
      const At = new Float32Array(M * K), Bt = new Float32Array(K * N);
      for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) At[k * M + i] = A[i * K + k];
      for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) Bt[j * K + k] = B[k * N + j];
      const ref = new Float64Array(M * N);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) { let s = 0; for (let k = 0; k < K; k++) s += A[i * K + k] * B[k * N + j]; ref[i * N + j] = s; }
      const results: Float32Array[] = [];
      for (const be of ['js', 'wasm-simd'] as const) {
        setGemmBackend(be);
        for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
          const C = new Float32Array(M * N).fill(2);
          sgemm(M, N, K, ta ? At : A, tb ? Bt : B, C, ta, tb, true);
          for (let i = 0; i < M * N; i++) expect(Math.abs(C[i] - 2 - ref[i])).toBeLessThan(1e-4 * (1 + Math.abs(ref[i])) * Math.sqrt(K));
          const D = new Float32Array(M * N).fill(5);
          sgemm(M, N, K, ta ? At : A, tb ? Bt : B, D, ta, tb, false);
          results.push(D);
        }
      }
      // the two back ends are bit-identical (same summation order)
      for (let r = 0; r < 4; r++) expect(Array.from(results[r + 4])).toEqual(Array.from(results[r]));
    }
    setGemmBackend('wasm-simd');
  });
});

describe('conv2d gradients (finite differences)', () => {
  for (const [k, s, p, padValue] of [[3, 1, 1, 0], [3, 2, 1, 0], [1, 1, 0, 0], [3, 1, 1, 1], [2, 2, 0, 0]] as const) {
    it(`kernel ${k} stride ${s} pad ${p} padValue ${padValue}`, () => {
      const rng = new Rng(11 + k * 7 + s + p);
      const x = randBT(rng, 2, 5, 6, 3);
      const O = 4, g = { kernel: k, stride: s, pad: p };
      const W = rng.fillNormal(new Float32Array(O * k * k * 3), 0.5);
      const bias = rng.fillNormal(new Float32Array(O));
      const y0 = ops.conv2dForward(x, W, O, g, bias, padValue).y;
      const R = rng.fillNormal(new Float32Array(y0.data.length));
      const loss = () => dot(ops.conv2dForward(x, W, O, g, bias, padValue).y.data, R);
      const { ctx } = ops.conv2dForward(x, W, O, g, bias, padValue);
      const dW = new Float32Array(W.length), dB = new Float32Array(O);
      const dx = ops.conv2dBackward(bt(y0.n, y0.h, y0.w, y0.c, R), ctx, W, dW, dB)!;
      expect(checkGrad(x.data, loss, dx.data)).toBeLessThan(TOL);
      expect(checkGrad(W, loss, dW)).toBeLessThan(TOL);
      expect(checkGrad(bias, loss, dB, { samples: O })).toBeLessThan(TOL);
    });
  }
  it('computes a known 3x3 convolution exactly (hand-computed)', () => {
    // 1 image 3x3x1 = 1..9, kernel all ones, pad 1: centre = 45, corner (0,0) = 1+2+4+5 = 12
    const x = bt(1, 3, 3, 1, new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const y = ops.conv2dForward(x, new Float32Array(9).fill(1), 1, { kernel: 3, stride: 1, pad: 1 }).y;
    expect(y.data[4]).toBe(45);
    expect(y.data[0]).toBe(12);
    const y1 = ops.conv2dForward(x, new Float32Array(9).fill(1), 1, { kernel: 3, stride: 1, pad: 1 }, undefined, 1).y;
    expect(y1.data[0]).toBe(12 + 5); // five padded taps read +1
  });
});

describe('other float op gradients (finite differences)', () => {
  it('fc', () => {
    const rng = new Rng(5);
    const x = randBT(rng, 3, 2, 2, 3); const O = 5, F = 12;
    const W = rng.fillNormal(new Float32Array(O * F)), b = rng.fillNormal(new Float32Array(O));
    const R = rng.fillNormal(new Float32Array(3 * O));
    const loss = () => dot(ops.fcForward(x, W, O, b).y.data, R);
    const dW = new Float32Array(W.length), dB = new Float32Array(O);
    const dx = ops.fcBackward(bt(3, 1, 1, O, R), { x }, W, dW, dB)!;
    expect(checkGrad(x.data, loss, dx.data)).toBeLessThan(TOL);
    expect(checkGrad(W, loss, dW)).toBeLessThan(TOL);
    expect(checkGrad(b, loss, dB)).toBeLessThan(TOL);
  });

  it('batch norm (training: batch statistics)', () => {
    const rng = new Rng(6);
    const x = randBT(rng, 4, 3, 3, 5, 2);
    const C = 5;
    const mk = () => ({ gamma: gamma, beta: beta, runningMean: new Float32Array(C), runningVar: new Float32Array(C).fill(1), eps: 1e-5 });
    const gamma = rng.fillUniform(new Float32Array(C), 0.5, 1.5), beta = rng.fillNormal(new Float32Array(C));
    const R = rng.fillNormal(new Float32Array(x.data.length));
    const loss = () => dot(ops.bnForward(x, mk(), true).y.data, R);
    const { ctx } = ops.bnForward(x, mk(), true);
    const dG = new Float32Array(C), dB = new Float32Array(C);
    const dx = ops.bnBackward(bt(4, 3, 3, C, R), ctx!, gamma, dG, dB);
    expect(checkGrad(x.data, loss, dx.data, { h: 3e-3 })).toBeLessThan(TOL);
    expect(checkGrad(gamma, loss, dG)).toBeLessThan(TOL);
    expect(checkGrad(beta, loss, dB)).toBeLessThan(TOL);
  });

  it('batch norm running statistics follow PyTorch (momentum 0.1, unbiased variance) and eval uses them', () => {
    const x = bt(2, 1, 1, 1, new Float32Array([1, 3])); // mean 2, biased var 1, unbiased var 2
    const p = { gamma: new Float32Array([1]), beta: new Float32Array([0]), runningMean: new Float32Array([0]), runningVar: new Float32Array([1]), eps: 0 };
    const y = ops.bnForward(x, p, true).y;
    expect(Array.from(y.data)).toEqual([-1, 1]);
    expect(p.runningMean[0]).toBeCloseTo(0.2, 6);
    expect(p.runningVar[0]).toBeCloseTo(0.9 + 0.2, 6);
    const e = ops.bnForward(bt(1, 1, 1, 1, new Float32Array([0.2 + Math.sqrt(1.1)])), p, false).y;
    expect(e.data[0]).toBeCloseTo(1, 5);
  });

  it('max pool, avg pool (count in-bounds), global average pool', () => {
    const rng = new Rng(8);
    // distinct values spaced apart so no ties/kinks within +-h
    const n = 2 * 6 * 6 * 3;
    const perm = Array.from({ length: n }, (_, i) => i); rng.shuffle(perm);
    const x = bt(2, 6, 6, 3, new Float32Array(perm.map((v) => v * 0.1)));
    for (const g of [{ kernel: 3, stride: 2, pad: 1 }, { kernel: 2, stride: 2, pad: 0 }]) {
      const y0 = ops.maxPoolForward(x, g).y;
      const R = rng.fillNormal(new Float32Array(y0.data.length));
      const dx = ops.maxPoolBackward(bt(y0.n, y0.h, y0.w, y0.c, R), ops.maxPoolForward(x, g).ctx);
      expect(checkGrad(x.data, () => dot(ops.maxPoolForward(x, g).y.data, R), dx.data, { h: 1e-3, samples: n })).toBeLessThan(TOL);
      const a0 = ops.avgPoolForward(x, g).y;
      const Ra = rng.fillNormal(new Float32Array(a0.data.length));
      const da = ops.avgPoolBackward(bt(a0.n, a0.h, a0.w, a0.c, Ra), x, g);
      expect(checkGrad(x.data, () => dot(ops.avgPoolForward(x, g).y.data, Ra), da.data)).toBeLessThan(TOL);
    }
    // count-exclude-pad: corner of a 3x3/2 pad-1 window over a constant image stays the constant
    const ones = bt(1, 4, 4, 1, new Float32Array(16).fill(3));
    expect(ops.avgPoolForward(ones, { kernel: 3, stride: 2, pad: 1 }).y.data[0]).toBe(3);
    const Rg = rng.fillNormal(new Float32Array(2 * 3));
    const dg = ops.gapBackward(bt(2, 1, 1, 3, Rg), x);
    expect(checkGrad(x.data, () => dot(ops.gapForward(x).data, Rg), dg.data)).toBeLessThan(TOL);
  });

  it('relu, clip (hardtanh), leaky-clip away from their kinks', () => {
    const rng = new Rng(9);
    const vals = rng.fillUniform(new Float32Array(60), -2.5, 2.5).map((v) => (Math.abs(Math.abs(v) - 1) < 0.05 || Math.abs(v) < 0.05 ? v + 0.2 : v));
    const x = bt(1, 1, 6, 10, vals);
    for (const act of [ops.RELU, ops.CLIP, ops.LEAKY_CLIP]) {
      const R = rng.fillNormal(new Float32Array(60));
      const dx = ops.pointwiseBackward(bt(1, 1, 6, 10, R), x, act);
      expect(checkGrad(x.data, () => dot(ops.pointwiseForward(x, act).data, R), dx.data, { h: 1e-2, samples: 60 })).toBeLessThan(TOL);
    }
    expect(ops.LEAKY_CLIP.f(3)).toBeCloseTo(1.2, 6);
    expect(ops.CLIP.f(-3)).toBe(-1);
  });

  it('XNOR-Net activation scale (both inputs)', () => {
    const rng = new Rng(10);
    const b = randBT(rng, 2, 5, 5, 3);
    const g = { kernel: 3, stride: 2, pad: 1 };
    const a = randBT(rng, 2, 3, 3, 4);
    const R = rng.fillNormal(new Float32Array(a.data.length));
    const { ctx } = ops.actScaleForward(a, b, g);
    const [da, db] = ops.actScaleBackward(bt(2, 3, 3, 4, R), ctx);
    const loss = () => dot(ops.actScaleForward(a, b, g).y.data, R);
    expect(checkGrad(a.data, loss, da.data)).toBeLessThan(TOL);
    expect(checkGrad(b.data, loss, db.data, { h: 1e-3 })).toBeLessThan(TOL);
  });

  it('softmax cross-entropy with label smoothing', () => {
    const rng = new Rng(12);
    const z = randBT(rng, 4, 1, 1, 10, 2);
    const labels = [3, 0, 9, 3];
    for (const eps of [0, 0.1]) {
      const { dlogits, loss } = ops.softmaxCrossEntropy(z, labels, eps);
      expect(checkGrad(z.data, () => ops.softmaxCrossEntropy(z, labels, eps).loss, dlogits.data, { h: 1e-3, samples: 40 })).toBeLessThan(TOL);
      expect(loss).toBeGreaterThan(0);
    }
    // uniform logits: loss = log(10) regardless of smoothing
    expect(ops.softmaxCrossEntropy(bt(1, 1, 1, 10), [2], 0.1).loss).toBeCloseTo(Math.log(10), 6);
  });
});

describe('sgemm on the kernel worker pool (useKernelGemm)', () => {
  it('KERNEL_GEMM_WHEN shapes split over 2 threads give the calling thread\'s bits; other shapes stay on the calling thread', async () => {
    const { KERNEL_GEMM_WHEN, gemmBackend, useKernelGemm } = await import('../../src/kernels/batch-fast.ts');
    const { kernelStats } = await import('../../src/kernels/fast.ts');
    const rng = new Rng(11);
    // a conv-forward shape (B transposed) and a dcols shape (plain), both split; ragged M and N
    const cases: [number, number, number, boolean][] = [[1001, 37, 288, true], [803, 289, 64, false]];
    const local: Float32Array[] = [];
    const inputs = cases.map(([M, N, K]) => [rng.fillNormal(new Float32Array(M * K)), rng.fillNormal(new Float32Array(K * N))]);
    cases.forEach(([M, N, K, tb], i) => {
      expect(KERNEL_GEMM_WHEN(M, N, K, false, tb, false)).toBe(true);
      const C = new Float32Array(M * N); sgemm(M, N, K, inputs[i][0], inputs[i][1], C, false, tb, false); local.push(C);
    });
    await useKernelGemm(2);
    try {
      expect(gemmBackend()).toBe('wasm-simd (large products on 2 threads)');
      const before = kernelStats.parallelCalls;
      cases.forEach(([M, N, K, tb], i) => {
        const C = new Float32Array(M * N).fill(7); sgemm(M, N, K, inputs[i][0], inputs[i][1], C, false, tb, false);
        expect(Buffer.from(C.buffer).equals(Buffer.from(local[i].buffer))).toBe(true);
      });
      expect(kernelStats.parallelCalls).toBe(before + 2);
      // transposed A with accumulate (the weight-gradient product) stays on the calling thread
      const C = new Float32Array(37 * 288); sgemm(37, 288, 1001, new Float32Array(1001 * 37), new Float32Array(1001 * 288), C, true, false, true);
      expect(kernelStats.parallelCalls).toBe(before + 2);
    } finally { await useKernelGemm(1); }
    expect(gemmBackend()).toBe('wasm-simd');
  });
});
