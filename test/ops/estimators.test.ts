/** Exact-mask tests of the sign pseudo-gradients and the binary-weight gradient estimators. */
import { describe, expect, it } from 'vitest';
import { SIGN_QUANTIZERS, signBackward, signForward } from '../../src/ops/sign.ts';
import { binaryWeightBackward, channelAlpha } from '../../src/ops/bconv.ts';
import { bt } from '../../src/kernels/batch.ts';

describe('sign activation', () => {
  it('forward: sign(0) = sign(-0) = +1, negatives -1', () => {
    const y = signForward(bt(1, 1, 1, 5, new Float32Array([-2, -0, 0, 1e-30, -1e-30])));
    expect(Array.from(y.data)).toEqual([-1, 1, 1, 1, -1]);
  });
  it('ApproxSign: 2 - 2|x| inside (-1, 1), 0 outside and at |x| = 1', () => {
    const xs = [-1.5, -1, -0.75, -0.5, 0, 0.25, 0.5, 1, 1.01];
    const expected = [0, 0, 0.5, 1, 2, 1.5, 1, 0, 0];
    const dx = signBackward(bt(1, 1, 1, xs.length, new Float32Array(xs.length).fill(3)), bt(1, 1, 1, xs.length, new Float32Array(xs)), SIGN_QUANTIZERS.approxsign);
    expect(Array.from(dx.data)).toEqual(expected.map((e) => 3 * e));
  });
  it('STE: 1 on the closed window |x| <= 1, else 0', () => {
    const xs = [-1.5, -1, -0.3, 0, 1, 1.0001];
    const dx = signBackward(bt(1, 1, 1, 6, new Float32Array(6).fill(-2)), bt(1, 1, 1, 6, new Float32Array(xs)), SIGN_QUANTIZERS.ste);
    expect(Array.from(dx.data, (v) => v + 0)).toEqual([0, -2, -2, -2, -2, 0]);
  });
});

describe('binary weights', () => {
  it('alpha = mean |W| per output channel', () => {
    const a = channelAlpha(new Float32Array([1, -3, 0.5, -0.5]), 2);
    expect(Array.from(a)).toEqual([2, 0.5]);
  });
  it('alpha is the mean rounded once to fp32 (one definition for training and deployment): small terms are not lost', () => {
    // 1 + 3e-8 rounds back to 1 in fp32 (half an ulp of 1 is 6e-8), so an fp32 running sum would give 0.25;
    // the exact mean (1 + 3 * 3e-8) / 4 is 0.75 of an ulp above 0.25 and rounds up
    const t = Math.fround(3e-8), w = new Float32Array([1, t, t, t]);
    const exact = (1 + 3 * t) / 4;
    expect(channelAlpha(w, 1)[0]).toBe(Math.fround(exact));
    expect(channelAlpha(w, 1)[0]).toBeGreaterThan(0.25);
  });
  it('magnitude-aware: alpha * G * 1{|W| < 1}; plain: G * 1{|W| <= 1}', () => {
    // two output channels of 3 weights; alpha = [0.5, 1.4]
    const w = new Float32Array([0.5, -1, 0, 1.2, 1, -2]);
    const alpha = channelAlpha(w, 2);
    expect(alpha[0]).toBeCloseTo(0.5, 6); expect(alpha[1]).toBeCloseTo(1.4, 6);
    const G = new Float32Array([1, 2, 3, 4, 5, 6]);
    const dMa = new Float32Array(6), dPl = new Float32Array(6).fill(10);
    binaryWeightBackward(G, w, alpha, 2, 'magnitude-aware', dMa);
    binaryWeightBackward(G, w, alpha, 2, 'plain', dPl);
    expect(Array.from(dMa).map((v) => +v.toFixed(5))).toEqual([0.5, 0, 1.5, 0, 0, 0]);
    expect(Array.from(dPl)).toEqual([11, 12, 13, 10, 15, 10]); // accumulates onto existing values
  });
});
