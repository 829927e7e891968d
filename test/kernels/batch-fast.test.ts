/**
 * The batch ops' fast back end (src/kernels/batch-fast.ts: the one WebAssembly stack's kernels) against the
 * JS loops they replace (batch-ops.ts, ops/sign.ts, the spec), bit for bit: every op runs twice on
 * the same inputs, once with the kernels on and once off (setSimdOpsEnabled), and the float32 bit patterns
 * must be equal. Inputs include
 * the edge values of each op (+-0, +-1 exactly, values just inside / outside +-1, large magnitudes), channel
 * counts 4..64 and ragged spatial sizes; lengths that are not a whole number of vectors test the tails.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import * as ops from '../../src/kernels/batch-ops.ts';
import { convForwardFused, convInputGradFused, initGemm, setGemmBackend, setSimdOpsEnabled, simdOps } from '../../src/kernels/batch-fast.ts';
import { signBackward, signForward, SIGN_QUANTIZERS } from '../../src/ops/sign.ts';
import { bt, type BT } from '../../src/kernels/batch.ts';
import { BINARY_CONFIG, TrainNet } from '../../src/train/net.ts';
import { softmaxCrossEntropy } from '../../src/kernels/batch-ops.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { variantWorkload } from '../../src/train/variants.ts';

beforeAll(async () => { await initGemm('wasm-simd'); });

const EDGES = [0, -0, 1, -1, 0.9999999, -0.9999999, 1.0000001, -1.0000001, 1e-30, -1e-30, 3.5, -7.25, 1e20, -1e20, 0.5, -0.5];

function input(rng: Rng, n: number, h: number, w: number, c: number, scale = 1): BT {
  const t = bt(n, h, w, c, rng.fillNormal(new Float32Array(n * h * w * c), scale));
  for (let i = 0; i < t.data.length; i += 7) t.data[i] = EDGES[(i / 7) % EDGES.length];
  return t;
}

function bits(a: Float32Array): number[] { return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length)); }

/** runs f with the SIMD kernels off, then on; returns both results (each a list of arrays) */
function both(f: () => Float32Array[]): [Float32Array[], Float32Array[]] {
  setSimdOpsEnabled(false);
  let js: Float32Array[];
  try { js = f().map((a) => a.slice()); } finally { setSimdOpsEnabled(true); }
  expect(simdOps()).not.toBeNull();
  return [js, f().map((a) => a.slice())];
}

function expectSameBits(f: () => Float32Array[]): void {
  const [js, simd] = both(f);
  expect(simd.length).toBe(js.length);
  for (let i = 0; i < js.length; i++) expect(bits(simd[i])).toEqual(bits(js[i]));
}

const SHAPES: [number, number, number, number][] = [[2, 5, 3, 4], [3, 7, 7, 8], [1, 4, 6, 12], [2, 14, 14, 32], [2, 3, 5, 64], [1, 1, 3, 1], [1, 2, 3, 3]];

describe('SIMD elementwise kernels equal the JS loops bit for bit', () => {
  it('sign forward and both pseudo-gradients', () => {
    const rng = new Rng(11);
    for (const [n, h, w, c] of SHAPES) {
      const x = input(rng, n, h, w, c, 1.2), dy = input(rng, n, h, w, c);
      expectSameBits(() => [signForward(x).data, signBackward(dy, x, SIGN_QUANTIZERS.approxsign).data, signBackward(dy, x, SIGN_QUANTIZERS.ste).data]);
    }
  });

  it('clip and ReLU forward and backward, residual add', () => {
    const rng = new Rng(12);
    for (const [n, h, w, c] of SHAPES) {
      const x = input(rng, n, h, w, c, 1.5), dy = input(rng, n, h, w, c), b = input(rng, n, h, w, c);
      expectSameBits(() => [
        ops.pointwiseForward(x, ops.CLIP).data, ops.pointwiseBackward(dy, x, ops.CLIP).data,
        ops.pointwiseForward(x, ops.RELU).data, ops.pointwiseBackward(dy, x, ops.RELU).data,
        ops.addForward(x, b).data,
      ]);
    }
  });

  it('batch norm: training forward (statistics, running stats, xhat), eval forward, backward', () => {
    const rng = new Rng(13);
    for (const [n, h, w, c] of SHAPES) {
      const x = input(rng, n, h, w, c, 3), dy = input(rng, n, h, w, c);
      for (let i = 0; i < x.data.length; i++) x.data[i] += 0.25 * (i % c); // per-channel offsets
      const params = () => ({
        gamma: Float32Array.from({ length: c }, (_, i) => 0.5 + 0.1 * i), beta: Float32Array.from({ length: c }, (_, i) => 0.2 - 0.05 * i),
        runningMean: Float32Array.from({ length: c }, (_, i) => 0.01 * i), runningVar: Float32Array.from({ length: c }, (_, i) => 1 + 0.1 * i), eps: 1e-5,
      });
      expectSameBits(() => {
        const p = params();
        const f = ops.bnForward(x, p, true);
        const dG = new Float32Array(c), dB = new Float32Array(c);
        const dx = ops.bnBackward(dy, f.ctx!, p.gamma, dG, dB);
        const ev = ops.bnForward(x, p, false);
        return [f.y.data, f.ctx!.xhat, new Float32Array(f.ctx!.invstd), p.runningMean, p.runningVar, dx.data, dG, dB, ev.y.data];
      });
    }
  });

  it('im2col and col2im for 1x1, 3x3 and 5x5 windows, strides 1 and 2, zero and +1 padding', () => {
    const rng = new Rng(14);
    for (const [n, h, w, c] of SHAPES) for (const g of [{ kernel: 3, stride: 1, pad: 1 }, { kernel: 3, stride: 2, pad: 1 }, { kernel: 5, stride: 2, pad: 2 }, { kernel: 1, stride: 2, pad: 0 }, { kernel: 3, stride: 1, pad: 0 }]) {
      if (h + 2 * g.pad < g.kernel || w + 2 * g.pad < g.kernel) continue;
      const x = input(rng, n, h, w, c);
      for (const padValue of [0, 1]) {
        const oh = Math.floor((h + 2 * g.pad - g.kernel) / g.stride) + 1, ow = Math.floor((w + 2 * g.pad - g.kernel) / g.stride) + 1;
        const dcols = rng.fillNormal(new Float32Array(n * oh * ow * g.kernel * g.kernel * c));
        expectSameBits(() => {
          const r = ops.im2col(x, g, padValue);
          expect([r.oh, r.ow]).toEqual([oh, ow]);
          return [r.cols, ops.col2im(dcols, x, g, oh, ow).data];
        });
      }
    }
  });

  it('max pool forward (values and argmax indices) and backward, average pool forward, for 3x3/2 pad 1, 2x2/2 and 3x3/1 windows', () => {
    const rng = new Rng(16);
    const geoms = [{ kernel: 3, stride: 2, pad: 1 }, { kernel: 2, stride: 2, pad: 0 }, { kernel: 3, stride: 1, pad: 1 }];
    for (const [n, h, w, c] of [...SHAPES, [2, 28, 28, 32] as [number, number, number, number]]) {
      for (const g of geoms) {
        if (h < g.kernel - 2 * g.pad || w < g.kernel - 2 * g.pad) continue;
        const x = input(rng, n, h, w, c);
        // ties: repeat some values inside windows so the first maximum must win in both
        for (let i = c; i < x.data.length; i += 5) x.data[i] = x.data[i - c];
        // a NaN never wins (x > max is false), as in the JS loop
        x.data[3 % x.data.length] = NaN;
        expectSameBits(() => {
          const r = ops.maxPoolForward(x, g);
          const dy = bt(r.y.n, r.y.h, r.y.w, r.y.c, new Rng(17).fillNormal(new Float32Array(r.y.data.length)));
          return [r.y.data, new Float32Array(r.ctx.argmax.buffer.slice(0)), ops.maxPoolBackward(dy, r.ctx).data, ops.avgPoolForward(x, g).y.data];
        });
      }
    }
  });

  it('whole convs through the layer API (fused im2col+GEMM and GEMM+col2im) give the unfused bits', () => {
    const rng = new Rng(15);
    for (const [n, h, w, c, O, g, padValue] of [
      [2, 9, 9, 16, 24, { kernel: 3, stride: 1, pad: 1 }, 0], [2, 14, 14, 32, 32, { kernel: 3, stride: 1, pad: 1 }, 1],
      [3, 7, 7, 64, 13, { kernel: 3, stride: 2, pad: 1 }, 0], [1, 6, 5, 8, 8, { kernel: 5, stride: 2, pad: 2 }, 0],
      [2, 5, 5, 4, 6, { kernel: 3, stride: 1, pad: 1 }, 1], [1, 8, 8, 12, 16, { kernel: 3, stride: 1, pad: 0 }, 0],
    ] as const) {
      const x = input(rng, n, h, w, c), wt = rng.fillNormal(new Float32Array(O * g.kernel * g.kernel * c), 0.2);
      const bias = rng.fillNormal(new Float32Array(O));
      expectSameBits(() => {
        const f = ops.conv2dForward(x, wt, O, g, bias, padValue);
        const dW = new Float32Array(wt.length), dB = new Float32Array(O);
        const dy = bt(f.y.n, f.y.h, f.y.w, f.y.c, f.y.data.map((v, i) => v * (1 + (i % 3))));
        const dx = ops.conv2dBackward(dy, f.ctx, wt, dW, dB)!;
        return [f.y.data, f.ctx.cols, dW, dB, dx.data];
      });
    }
    // the fused paths run for every channel count on the wasm back end (the im2col kernel copies 32-bit
    // words), not on the JS one
    const d = { n: 1, h: 6, w: 6, c: 6, k: 3, stride: 1, pad: 1, oh: 6, ow: 6 };
    const x = new Float32Array(6 * 6 * 6).fill(1), wt = new Float32Array(4 * 54).fill(1);
    expect(convForwardFused(x, d, 0, wt, 4, new Float32Array(36 * 4), new Float32Array(36 * 54))).toBe(true);
    expect(convInputGradFused(new Float32Array(36 * 4), d, wt, 4, new Float32Array(x.length))).toBe(true);
    setGemmBackend('js');
    try { expect(convForwardFused(x, d, 0, wt, 4, new Float32Array(36 * 4), new Float32Array(36 * 54))).toBe(false); } finally { setGemmBackend('wasm-simd'); }
  });

  it('XNOR-popcount binary conv forward (channel-scaled) equals the float GEMM conv on +-1 data then the scaling, bit for bit', () => {
    const rng = new Rng(16);
    const pm1 = (len: number) => Float32Array.from({ length: len }, () => (rng.int(2) ? 1 : -1));
    let cases = 0;
    for (const [n, h, w, c, O, g] of [
      [2, 14, 14, 32, 32, { kernel: 3, stride: 1, pad: 1 }], [3, 7, 7, 64, 64, { kernel: 3, stride: 1, pad: 1 }],
      [2, 14, 14, 32, 64, { kernel: 3, stride: 2, pad: 1 }], [1, 5, 6, 96, 8, { kernel: 3, stride: 1, pad: 1 }],
      [1, 9, 7, 64, 12, { kernel: 5, stride: 2, pad: 2 }], [2, 4, 4, 32, 4, { kernel: 1, stride: 1, pad: 0 }],
      [1, 6, 6, 32, 8, { kernel: 3, stride: 1, pad: 0 }],
      // shapes the trainer's former XNOR kernel refused: partial words, odd channel counts, long rows
      [2, 6, 5, 16, 7, { kernel: 3, stride: 1, pad: 1 }], [1, 5, 5, 3, 5, { kernel: 3, stride: 2, pad: 1 }], [1, 4, 4, 352, 6, { kernel: 3, stride: 1, pad: 1 }],
    ] as const) {
      const x = bt(n, h, w, c, pm1(n * h * w * c)), sw = pm1(O * g.kernel * g.kernel * c);
      // alpha as the trainer computes it (means of |w| > 0), one zero (0 * negative dot = -0) and none
      const alphas = [Float32Array.from({ length: O }, (_, o) => (o === 1 ? 0 : 0.01 + rng.uniform())), null];
      for (const padValue of [0, 1]) for (const alpha of alphas) {
        setSimdOpsEnabled(false);
        const ref = ops.conv2dForward(x, sw, O, g, undefined, padValue).y;
        if (alpha) ops.scaleChannels(ref.data, alpha, O);
        setSimdOpsEnabled(true);
        const y = new Float32Array(ref.data.length);
        simdOps()!.xnorConv(x.data, x, sw, O, g.kernel, g.stride, g.pad, ref.h, ref.w, padValue === 1, y, alpha);
        expect(bits(y)).toEqual(bits(ref.data));
        // and the layer entry point takes that path for +-1 inputs
        const r = ops.binaryConvForward(x, sw, alpha, O, g, padValue, true, undefined, true);
        expect(bits(r.y.data)).toEqual(bits(ref.data));
        expect(bits(r.ctx.cols)).toEqual(bits(ops.im2col(x, g, padValue).cols));
        cases++;
      }
    }
    expect(cases).toBe(40);
  });

  it('a binary network trains and evaluates with the same bits with and without the kernels (XNOR forward included)', () => {
    const net = resolveNetwork(variantWorkload('bireal-mnist-deep')!);
    const rng = new Rng(17);
    const x = input(rng, 3, 28, 28, 1);
    const labels = [1, 7, 3];
    expectSameBits(() => {
      const tn = new TrainNet(net, BINARY_CONFIG, 5);
      const logits = tn.forward(x, true).data.slice();
      tn.backward(softmaxCrossEntropy(bt(3, 1, 1, 10, logits), labels).dlogits);
      const grads = [...tn.grads.values()].map((g) => g.slice());
      const evalLogits = tn.forward(x, false).data;
      return [logits, ...grads, evalLogits];
    });
  });

  it('the JS back end never uses the kernels', () => {
    setGemmBackend('js');
    try { expect(simdOps()).toBeNull(); } finally { setGemmBackend('wasm-simd'); }
    expect(simdOps()).not.toBeNull();
  });
});
