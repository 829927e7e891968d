/**
 * The paper's operation counts, derived BY HAND from layer shapes (not from the code under test), and the
 * printed values of Liu et al. ECCV 2018 Table 5 (shared/reference/bireal-method.md section 3).
 */
import { describe, expect, it } from 'vitest';
import { costOf, paperOpsCheck } from '../../src/cli/cost.ts';
import { CONVENTIONS } from '../../src/cost/conventions.ts';

// 3x3 conv MACs at output size s: s*s*cout*9*cin
const m3 = (s: number, cin: number, cout: number) => s * s * cout * 9 * cin;
const STEM = 112 * 112 * 64 * 7 * 7 * 3; // 118,013,952
const DOWN = 28 * 28 * 128 * 64 + 14 * 14 * 256 * 128 + 7 * 7 * 512 * 256; // three 1x1 projections
const FC = 512 * 1000;
/** binary 3x3 conv MACs for [n1, n2, n3, n4] convs per stage (first conv of stages 2-4 halves the map). */
function binary(n: number[]): number {
  return n[0] * m3(56, 64, 64)
    + m3(28, 64, 128) + (n[1] - 1) * m3(28, 128, 128)
    + m3(14, 128, 256) + (n[2] - 1) * m3(14, 256, 256)
    + m3(7, 256, 512) + (n[3] - 1) * m3(7, 512, 512);
}
const REAL = STEM + DOWN + FC;
const B18 = binary([4, 4, 4, 4]);
const B34 = binary([6, 8, 12, 6]);
// XNOR-Net: 2 real multiplications (alpha, K) per binary-conv output element
const XNOR_EXTRA = 2 * (4 * 56 * 56 * 64 + 4 * 28 * 28 * 128 + 4 * 14 * 14 * 256 + 4 * 7 * 7 * 512);

describe('paper table (convention "paper")', () => {
  const c = CONVENTIONS.paper;
  it('Bi-Real-18: OPs = BOPs/64 + real MACs = 163,985,408 (paper prints 1.63e8), speed-up 11.06x', () => {
    const k = costOf('bireal18-imagenet', c).totals;
    expect(k.bops).toBe(B18);
    expect(k.realMacs).toBe(REAL);
    expect(k.ops).toBe(B18 / 64 + REAL);
    expect(k.ops).toBe(163985408);
    expect(paperOpsCheck(k.ops, '1.63e8')).toBe('ours, truncated');
    expect(k.speedup.toFixed(2)).toBe('11.06');
  });
  it('XNOR-Net-18: 1.67e8 OPs, 10.86x', () => {
    const k = costOf('xnornet18-imagenet', c).totals;
    expect(k.ops).toBe(B18 / 64 + REAL + XNOR_EXTRA);
    expect(paperOpsCheck(k.ops, '1.67e8')).not.toBe('DIFFERS');
    expect(k.speedup.toFixed(2)).toBe('10.86');
  });
  it('ResNet-18: 1.81e9 MACs; Bi-Real-34 1.93e8 OPs, 18.99x; ResNet-34 3.66e9', () => {
    expect(costOf('resnet18-imagenet', c).totals.ops).toBe(B18 + REAL);
    const b34 = costOf('bireal34-imagenet', c).totals;
    expect(b34.ops).toBe(B34 / 64 + REAL);
    expect(paperOpsCheck(b34.ops, '1.93e8')).not.toBe('DIFFERS');
    expect(b34.speedup.toFixed(2)).toBe('18.99');
    const r34 = costOf('resnet34-imagenet', c).totals.ops;
    expect(r34).toBe(B34 + REAL);
    expect(paperOpsCheck(r34, '3.66e9')).not.toBe('DIFFERS');
    expect(paperOpsCheck(B18 + REAL, '1.81e9')).not.toBe('DIFFERS');
  });
  it('memory: ResNet-18 = 11,689,512 parameters x 32 bit (torchvision count) = 374.06 Mbit (paper 374.1)', () => {
    const k = costOf('resnet18-imagenet', c).totals;
    expect(k.realParams).toBe(11689512);
    expect(k.memoryMbit.toFixed(1)).toBe('374.1');
  });
  it('memory: Bi-Real-18 exact count under the paper rule', () => {
    // binary weights: 3x3 kernels of the 16 binary convs
    const bw = 4 * 9 * 64 * 64 + (9 * 64 * 128 + 3 * 9 * 128 * 128) + (9 * 128 * 256 + 3 * 9 * 256 * 256) + (9 * 256 * 512 + 3 * 9 * 512 * 512);
    // real: stem + 1x1 projections + FC weights and bias + BN gamma/beta on 64 + 16 binary BNs + 3 projection BNs
    const bnCh = 64 + 4 * (64 + 128 + 256 + 512) + (128 + 256 + 512);
    const real = 7 * 7 * 3 * 64 + (64 * 128 + 128 * 256 + 256 * 512) + 512 * 1000 + 1000 + 2 * bnCh;
    const k = costOf('bireal18-imagenet', c).totals;
    expect(k.binaryWeights).toBe(bw);
    expect(k.realParams).toBe(real);
    expect(k.memoryBits).toBe(bw + 32 * real);
  });
  it('switches change the memory count by exactly the switched parameters', () => {
    const base = costOf('bireal18-imagenet', c).totals;
    const all = costOf('bireal18-imagenet', CONVENTIONS['all-params']).totals;
    const bnCh = 64 + 4 * (64 + 128 + 256 + 512) + (128 + 256 + 512);
    const binaryOutCh = 4 * (64 + 128 + 256 + 512);
    expect(all.realParams - base.realParams).toBe(2 * bnCh + binaryOutCh);
    const w = costOf('bireal18-imagenet', CONVENTIONS['weights-only']).totals;
    expect(base.realParams - w.realParams).toBe(2 * bnCh + 1000);
    expect(w.ops).toBe(base.ops); // conventions change memory rules, not operation counts
  });
});
