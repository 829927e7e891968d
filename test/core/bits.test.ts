import { describe, expect, it } from 'vitest';
import BitSet from 'bitset';
import { dotFromPopcount, popcount32, signBit, wordsFor } from '../../src/core/bits.ts';
import { packSigns, unpackSigns, tensor } from '../../src/core/tensor.ts';
import { Rng } from '../../src/core/rng.ts';

describe('popcount', () => {
  it('agrees with an independent oracle (npm bitset) on random and edge words', () => {
    const rng = new Rng(11);
    const words = [0, 1, 0xffffffff, 0x80000000, 0x7fffffff, 0xaaaaaaaa, 0x55555555];
    for (let i = 0; i < 2000; i++) words.push(rng.nextU32());
    for (const w of words) {
      const bs = new BitSet();
      for (let b = 0; b < 32; b++) if ((w >>> b) & 1) bs.set(b, 1);
      expect(popcount32(w)).toBe(bs.cardinality());
    }
  });

  it('XOR-popcount dot equals the +-1 dot product (oracle: bitset xor + cardinality)', () => {
    const rng = new Rng(12);
    for (let trial = 0; trial < 200; trial++) {
      const k = 1 + rng.int(300);
      const a = new Float32Array(k), b = new Float32Array(k);
      rng.fillNormal(a); rng.fillNormal(b);
      const pa = packSigns(tensor(1, 1, k, a)), pb = packSigns(tensor(1, 1, k, b));
      let pop = 0;
      for (let i = 0; i < pa.words.length; i++) pop += popcount32(pa.words[i] ^ pb.words[i]);
      const A = new BitSet(), B = new BitSet();
      let dot = 0;
      for (let i = 0; i < k; i++) {
        const sa = a[i] < 0 ? -1 : 1, sb = b[i] < 0 ? -1 : 1;
        dot += sa * sb;
        if (sa < 0) A.set(i, 1);
        if (sb < 0) B.set(i, 1);
      }
      expect(pop).toBe(A.xor(B).cardinality());
      expect(dotFromPopcount(k, pop)).toBe(dot);
    }
  });
});

describe('packing conventions', () => {
  it('bit 1 means -1, sign(0) = sign(-0) = +1, LSB first, zero padding bits', () => {
    expect(signBit(-1e-30)).toBe(1);
    expect(signBit(0)).toBe(0);
    expect(signBit(-0)).toBe(0);
    const t = tensor(1, 1, 35, new Float32Array(35).fill(1));
    t.data[0] = -2; t.data[33] = -0.5; t.data[34] = -0;
    const p = packSigns(t);
    expect(p.wordsPerPixel).toBe(2);
    expect(p.words[0]).toBe(1); // channel 0 -> bit 0 of word 0
    expect(p.words[1]).toBe(2); // channel 33 -> bit 1 of word 1; channel 34 (-0) stays +1; bits 3..31 padding = 0
    expect(wordsFor(32)).toBe(1);
    expect(wordsFor(33)).toBe(2);
  });

  it('unpack(pack(x)) = sign(x)', () => {
    const rng = new Rng(3);
    const t = tensor(3, 5, 67);
    rng.fillNormal(t.data);
    const u = unpackSigns(packSigns(t));
    for (let i = 0; i < t.data.length; i++) expect(u.data[i]).toBe(t.data[i] < 0 ? -1 : 1);
  });
});
