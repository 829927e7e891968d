import { describe, expect, it } from 'vitest';
import { binaryConvReference, fcReference, realConvReference } from '../../src/kernels/reference.ts';
import { packSigns, tensor } from '../../src/core/tensor.ts';
import { packWeights } from '../../src/ops/bconv.ts';
import { Rng } from '../../src/core/rng.ts';
import { naiveConv, randomTensor, signOf } from '../helpers.ts';

const cases: [number, number, number, number, number, number][] = [
  // h, w, cin, cout, kernel, stride
  [7, 7, 1, 3, 3, 1], [8, 6, 3, 5, 3, 2], [9, 9, 31, 4, 3, 1], [6, 7, 33, 6, 3, 2], [5, 5, 64, 8, 3, 1],
  [6, 6, 65, 3, 1, 1], [8, 8, 100, 7, 1, 2], [4, 4, 32, 2, 3, 2], [3, 3, 17, 9, 3, 1], [10, 3, 96, 4, 3, 2],
];

describe('binary conv reference = naive float conv on +-1 data (exact)', () => {
  for (const [h, w, cin, cout, k, stride] of cases) {
    for (const padMode of ['zero', 'one'] as const) {
      it(`${h}x${w}x${cin} -> ${cout}, ${k}x${k}/${stride}, pad ${padMode}`, () => {
        const rng = new Rng(h * 1000 + cin * 10 + cout + (padMode === 'one' ? 7 : 0));
        const x = randomTensor(rng, h, w, cin);
        const wt = new Float32Array(cout * k * k * cin);
        rng.fillNormal(wt);
        const pad = k === 3 ? 1 : 0;
        const oh = Math.floor((h + 2 * pad - k) / stride) + 1, ow = Math.floor((w + 2 * pad - k) / stride) + 1;
        const acc = binaryConvReference({ input: packSigns(x), weightBits: packWeights(wt, cout, k, cin), cout, kernel: k, stride, pad, padMode, outH: oh, outW: ow });
        const ws = new Float32Array(wt.length).map((_, i) => (wt[i] < 0 ? -1 : 1));
        // zero padding: padded taps are the value 0 (contribute nothing); one padding: padded value +1
        const want = naiveConv(signOf(x), ws, cout, k, stride, pad, padMode === 'zero' ? 0 : 1);
        expect(acc.length).toBe(want.length);
        expect(Array.from(acc)).toEqual(Array.from(want));
      });
    }
  }

  it('zero and one padding differ only at border outputs', () => {
    const rng = new Rng(5);
    const x = randomTensor(rng, 6, 6, 40);
    const wt = rng.fillNormal(new Float32Array(4 * 9 * 40));
    const args = { input: packSigns(x), weightBits: packWeights(wt, 4, 3, 40), cout: 4, kernel: 3, stride: 1, pad: 1, outH: 6, outW: 6 };
    const z = binaryConvReference({ ...args, padMode: 'zero' }), o = binaryConvReference({ ...args, padMode: 'one' });
    let borderDiffs = 0;
    for (let y = 0; y < 6; y++) for (let xx = 0; xx < 6; xx++) for (let c = 0; c < 4; c++) {
      const i = (y * 6 + xx) * 4 + c;
      const border = y === 0 || xx === 0 || y === 5 || xx === 5;
      if (!border) expect(z[i]).toBe(o[i]);
      else if (z[i] !== o[i]) borderDiffs++;
    }
    expect(borderDiffs).toBeGreaterThan(0);
  });
});

describe('real conv / fc reference', () => {
  it('conv matches a double-precision conv to fp32 accuracy and is order-exact on integers', () => {
    const rng = new Rng(9);
    const x = tensor(5, 5, 3); rng.fillNormal(x.data);
    const w = rng.fillNormal(new Float32Array(4 * 9 * 3));
    const got = realConvReference({ input: x, weight: w, cout: 4, kernel: 3, stride: 1, pad: 1, outH: 5, outW: 5 });
    const want = naiveConv(x, w, 4, 3, 1, 1, 0);
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-4 * (1 + Math.abs(want[i])));
    // small integers: every fp32 rounding is exact, so the result is exact
    const xi = tensor(4, 4, 2, new Float32Array(32).map((_, i) => (i % 5) - 2));
    const wi = new Float32Array(2 * 9 * 2).map((_, i) => (i % 3) - 1);
    const gi = realConvReference({ input: xi, weight: wi, bias: new Float32Array([0.5, -1]), cout: 2, kernel: 3, stride: 2, pad: 1, outH: 2, outW: 2 });
    const wantI = naiveConv(xi, wi, 2, 3, 2, 1, 0);
    expect(Array.from(gi)).toEqual(Array.from(wantI).map((v, i) => v + (i % 2 === 0 ? 0.5 : -1)));
  });

  it('fc accumulates in input order in fp32 (a case where order matters)', () => {
    // 1e8 + 1 - 1e8 in fp32 sequential order: fp32(1e8 + 1) = 1e8, then - 1e8 = 0; a double sum gives 1
    const out = fcReference({ input: new Float32Array([1e8, 1, -1e8]), weight: new Float32Array([1, 1, 1]), outFeatures: 1 });
    expect(out[0]).toBe(0);
  });
});
