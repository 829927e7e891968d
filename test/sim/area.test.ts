/**
 * Issue 14 parts 4 and 6: the area model (src/sim/area.ts) and utilisation under both conventions.
 * Hand-derived numbers are written out from the cited unit areas (NanGate 45 nm cells, Horowitz ISSCC'14
 * operator areas as quoted, the bsg_fakeram CACTI 45 nm macros), so a change of any constant fails here.
 */
import { describe, expect, it } from 'vitest';
import { isUserError } from '../../src/core/diagnostics.ts';
import { loadArch, mergeSpec, presetSpec, resolveArch, type ResolvedArch } from '../../src/sim/arch.ts';
import { areaOf, HOROWITZ_AREA_UM2, HOROWITZ_INT32_ADD_UM2, NANGATE45_UM2, nodeScale, popcountCells, SRAM_FIT, sramArea45 } from '../../src/sim/area.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { BUILTIN_WORKLOADS } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { shapeOnlyModel } from '../../src/ir/model.ts';
import { lower } from '../../src/golden/plan.ts';
import { systolicGemm } from '../../src/sim/systolic.ts';
import { summariseSweep, type SweepFile, type SweepPoint } from '../../src/report/sweep-file.ts';
import { validateSpec } from '../../src/report/sweep-spec.ts';
import { sweepHeader } from '../../src/report/sweep-run.ts';
import { MICRO_SPEC } from '../report/fixtures.ts';
import { archWith, HUGE_BUFFERS, planOf } from './helpers.ts';

const buf = (cap: string) => ({ capacity: cap, banks: 1, portWidth: '32 bit', doubleBuffered: false, accessEnergy: 'default' });
/** A tiny arch: 2x2 PEs, 4-bit lanes, 8-bit accumulators, four 1 KiB single-bank 32-bit buffers, one lane / MAC each. */
const TINY = {
  schema: 'birealsim.arch/1', name: 'tiny', clock: '100 MHz',
  dram: { bandwidth: '1 GB/s', latency: '0 ns', energyPerBit: 'default' },
  buffers: { weights: buf('1 KiB'), inputs: buf('1 KiB'), realStream: { ...buf('1 KiB'), precisionBits: 32 }, outputs: buf('1 KiB') },
  peArray: { rows: 2, cols: 2, type: 'xnor', laneBits: 4, accumulatorBits: 8, dataflow: 'os', opEnergy: 'default' },
  postProcessing: { lanes: 1, mulEnergy: 'default', addEnergy: 'default', compareEnergy: 'default' },
  realUnit: { macsPerCycle: 1, precision: 'fp32', macEnergy: 'default' },
  pooling: { lanes: 1, opEnergy: 'default' },
};
const tiny = (patch: unknown = {}): ResolvedArch => resolveArch(mergeSpec(TINY, patch), 'tiny');
const errOf = (f: () => unknown) => { try { f(); } catch (e) { if (isUserError(e)) return e; throw e; } throw new Error('no error'); };

describe('cited unit areas', () => {
  it('NanGate 45 nm cell footprints (LEF SIZE w x h, row height 1.4 um)', () => {
    expect(NANGATE45_UM2.XNOR2_X1.um2).toBeCloseTo(1.596, 9);
    expect(NANGATE45_UM2.HA_X1.um2).toBeCloseTo(2.66, 9);
    expect(NANGATE45_UM2.FA_X1.um2).toBeCloseTo(4.256, 9);
    expect(NANGATE45_UM2.DFF_X1.um2).toBeCloseTo(4.522, 9);
  });
  it("Horowitz's quoted integer adders agree with NanGate ripple-carry adders within 6%", () => {
    expect(Math.abs(8 * NANGATE45_UM2.FA_X1.um2 / HOROWITZ_AREA_UM2.int8.add - 1)).toBeLessThan(0.06); // 34.0 vs 36
    expect(Math.abs(32 * NANGATE45_UM2.FA_X1.um2 / HOROWITZ_INT32_ADD_UM2 - 1)).toBeLessThan(0.06); // 136.2 vs 137
  });
  it('SRAM fit reproduces its two CACTI macros exactly and under-estimates the others by at most 15%', () => {
    expect(sramArea45(4096, 1, 32).um2).toBeCloseTo(16406.082, 6); // fakeram45_1024x32
    expect(sramArea45(4096, 1, 64).um2).toBeCloseTo(17301.438, 6); // fakeram45_512x64
    expect(SRAM_FIT.portBitUm2).toBeCloseTo((17301.438 - 16406.082) / 32, 9);
    for (const [bytes, port, um2] of [[1024, 32, 5065.704], [512, 32, 3295.740], [2048 * 39 / 8, 39, 45478.818]]) {
      const r = sramArea45(bytes, 1, port).um2 / um2;
      expect(r).toBeGreaterThan(0.85);
      expect(r).toBeLessThan(1.0);
    }
  });
  it('popcount tree cell counts: (L-1) half adders and L - log2 L - 1 full adders, by building the tree', () => {
    for (let L = 1; L <= 1024; L *= 2) {
      // explicit tree: level k adds pairs of k-bit numbers with 1 HA + (k-1) FA each
      let ha = 0, fa = 0, n = L, k = 1;
      while (n > 1) { n /= 2; ha += n; fa += n * (k - 1); k++; }
      expect(popcountCells(L)).toEqual({ halfAdders: ha, fullAdders: fa });
    }
    expect(popcountCells(64)).toEqual({ halfAdders: 63, fullAdders: 57 });
  });
});

describe('area of a tiny arch, by hand', () => {
  it('component by component from the cited unit areas', () => {
    const a = areaOf(tiny());
    // xnor PE, L = 4, A = 8:
    //   operand registers 2*4 DFF_X1 = 8 * 4.522       = 36.176
    //   XNOR              4 XNOR2_X1 = 4 * 1.596       =  6.384
    //   popcount          3 HA_X1 + (4-2-1) = 1 FA_X1  =  7.98 + 4.256 = 12.236
    //   accumulator       8 FA_X1 + 8 DFF_X1 = 8 * (4.256 + 4.522) = 70.224
    //   PE = 125.02 um^2; 2x2 PEs = 500.08 um^2
    expect(a.components.peArray.unitUm2).toBeCloseTo(125.02, 6);
    expect(a.mm2.peArray).toBeCloseTo(500.08e-6, 12);
    // SRAM 1 KiB, 1 bank, 32-bit port: a_port = (17301.438 - 16406.082)/32 = 27.979875;
    //   a_bit = (16406.082 - 32 * 27.979875) / 32768 = 15510.726 / 32768;
    //   8192 bits * a_bit = 3877.6815 + 32 * 27.979875 = 895.356 -> 4773.0375 um^2 per buffer
    for (const b of ['weights', 'inputs', 'realStream', 'outputs']) expect(a.mm2[`buffers.${b}`]).toBeCloseTo(4773.0375e-6, 12);
    // PPU lane (fp32 stream): fp32 mult 7700 + fp32 add 4184 + 32 FA_X1 comparator 136.192 = 12020.192 um^2
    expect(a.mm2.ppu).toBeCloseTo(12020.192e-6, 12);
    // real unit: 1 fp32 MAC = 7700 + 4184 = 11884 um^2; pooling lane: one fp32 add = 4184 um^2
    expect(a.mm2.realUnit).toBeCloseTo(11884e-6, 12);
    expect(a.mm2.pooling).toBeCloseTo(4184e-6, 12);
    // total = 500.08 + 4 * 4773.0375 + 12020.192 + 11884 + 4184 = 47680.422 um^2
    expect(a.totalMm2).toBeCloseTo(47680.422e-6, 10);
    expect(a.technologyNodeNm).toBe(45);
    expect(a.excluded).toMatch(/DRAM device and PHY/);
    expect(a.components.peArray.source).toMatch(/^default: .*NanGate 45 nm/);
    expect(a.components.buffers.weights.source).toMatch(/CACTI/);
    expect(a.components.realUnit.source).toMatch(/Horowitz/);
  });
  it('a mac array: PE = multiplier + adder + 3 registers of the precision; real unit on the PE array costs 0', () => {
    const a = areaOf(loadArch('baseline-mac'));
    const arch = loadArch('baseline-mac');
    const p = arch.peArray.precision as 'fp32' | 'fp16' | 'int8';
    const bits = { fp32: 32, fp16: 16, int8: 8 }[p];
    expect(a.components.peArray.unitUm2).toBeCloseTo(HOROWITZ_AREA_UM2[p].mul + HOROWITZ_AREA_UM2[p].add + 3 * bits * 4.522, 6);
    expect(arch.realUnit.onPeArray).toBe(true);
    expect(a.mm2.realUnit).toBe(0);
  });
  it('the result of simulate carries the same area, with sources', () => {
    const plan = planOf({ h: 4, w: 4, c: 8 }, [{ id: 'sg', op: 'sign' }, { id: 'bc', op: 'bconv', outChannels: 8, kernel: 3, stride: 1, pad: 1, padMode: 'zero', weightScale: 'channel' }, { id: 'gap', op: 'gap' }]);
    const arch = loadArch('edge');
    const r = simulate(plan, arch);
    expect(r.area).toEqual(areaOf(arch));
    expect(Object.keys(r.area.mm2)).toEqual(['peArray', 'buffers.weights', 'buffers.inputs', 'buffers.realStream', 'buffers.outputs', 'ppu', 'realUnit', 'pooling']);
  });
});

describe('monotonicity: more hardware never decreases area', () => {
  const cases: [string, (v: number) => unknown, number[]][] = [
    ['rows', (v) => ({ peArray: { rows: v } }), [1, 2, 8, 32]],
    ['cols', (v) => ({ peArray: { cols: v } }), [1, 2, 8, 32]],
    ['laneBits', (v) => ({ peArray: { laneBits: v } }), [1, 2, 4, 64, 256]],
    ['accumulatorBits', (v) => ({ peArray: { accumulatorBits: v } }), [4, 8, 16, 32]],
    ['capacity', (v) => ({ buffers: { weights: { capacity: `${v} KiB` } } }), [1, 4, 64, 1024]],
    ['banks', (v) => ({ buffers: { inputs: { banks: v } } }), [1, 2, 8]],
    ['portWidth', (v) => ({ buffers: { outputs: { portWidth: `${v} bit` } } }), [8, 32, 256]],
    ['ppu lanes', (v) => ({ postProcessing: { lanes: v } }), [1, 4, 64]],
    ['real-unit MACs', (v) => ({ realUnit: { macsPerCycle: v } }), [1, 8, 64]],
    ['pooling lanes', (v) => ({ pooling: { lanes: v } }), [1, 4, 64]],
  ];
  for (const [name, patch, values] of cases) {
    it(name, () => {
      const totals = values.map((v) => areaOf(tiny(patch(v))).totalMm2);
      for (let i = 1; i < totals.length; i++) expect(totals[i]).toBeGreaterThan(totals[i - 1]);
    });
  }
  it('real-stream precision: fp32 >= fp16 >= int8 (post-processing and pooling)', () => {
    const t = [32, 16, 8].map((b) => areaOf(tiny({ buffers: { realStream: { precisionBits: b } } })));
    expect(t[0].mm2.ppu).toBeGreaterThan(t[1].mm2.ppu);
    expect(t[1].mm2.ppu).toBeGreaterThan(t[2].mm2.ppu);
    expect(t[0].mm2.pooling).toBeGreaterThan(t[1].mm2.pooling);
    expect(t[1].mm2.pooling).toBeGreaterThan(t[2].mm2.pooling);
  });
});

describe('technology node scaling and overrides', () => {
  it('every default component scales by (node / 45 nm)^2, stated in its source', () => {
    const a45 = areaOf(tiny()), a28 = areaOf(tiny({ technologyNode: '28 nm' }));
    const s = (28 / 45) ** 2;
    expect(nodeScale(28)).toBeCloseTo(s, 12);
    for (const k of Object.keys(a45.mm2)) expect(a28.mm2[k]).toBeCloseTo(a45.mm2[k] * s, 12);
    expect(a28.technologyNodeNm).toBe(28);
    expect(a28.components.peArray.source).toMatch(/scaled to 28 nm by the ideal rule \(28\/45\)\^2 = 0\.3872/);
    expect(a28.scalingRule).toMatch(/ideal/);
    // a larger node is larger
    expect(areaOf(tiny({ technologyNode: '65 nm' })).totalMm2).toBeCloseTo(a45.totalMm2 * (65 / 45) ** 2, 10);
  });
  it('overrides win, carry their source and are not scaled by the node', () => {
    const a = areaOf(tiny({
      technologyNode: '28 nm',
      peArray: { peArea: { value: '1000 um^2', source: 'synthesised PE, 28 nm, our flow' } },
      buffers: { weights: { area: { value: '0.01 mm^2', source: 'foundry compiler macro' } } },
      postProcessing: { laneArea: { value: '2000 um^2', source: 'ppu synth' } },
      realUnit: { macArea: { value: '3000 um^2', source: 'mac synth' } },
      pooling: { laneArea: { value: '400 um^2', source: 'pool synth' } },
    }));
    expect(a.mm2.peArray).toBeCloseTo(4 * 1000e-6, 12);
    expect(a.components.peArray.source).toBe('synthesised PE, 28 nm, our flow');
    expect(a.mm2['buffers.weights']).toBeCloseTo(0.01, 12);
    expect(a.components.buffers.weights.source).toBe('foundry compiler macro');
    expect(a.mm2['buffers.inputs']).toBeCloseTo(4773.0375e-6 * (28 / 45) ** 2, 12); // not overridden: default, scaled
    expect(a.mm2.ppu).toBeCloseTo(2000e-6, 12);
    expect(a.mm2.realUnit).toBeCloseTo(3000e-6, 12);
    expect(a.mm2.pooling).toBeCloseTo(400e-6, 12);
    expect(a.components.pooling.source).toBe('pool synth');
    // "default" is the same as leaving the key out
    expect(areaOf(tiny({ peArray: { peArea: 'default' } }))).toEqual(areaOf(tiny()));
  });
  it('validation: did-you-mean, units, ranges, empty sources', () => {
    expect(errOf(() => tiny({ peArray: { peAera: 'default' } })).hint).toMatch(/peArea/);
    expect(errOf(() => tiny({ technologyNod: '28 nm' })).hint).toMatch(/technologyNode/);
    expect(errOf(() => tiny({ buffers: { inputs: { aera: 'default' } } })).hint).toMatch(/area/);
    expect(errOf(() => tiny({ technologyNode: '28 MHz' })).jsonPath).toBe('$.technologyNode');
    expect(errOf(() => tiny({ technologyNode: '5 um' })).message).toMatch(/outside the supported range/);
    expect(errOf(() => tiny({ peArray: { peArea: { value: '3 pJ', source: 'x' } } })).jsonPath).toBe('$.peArray.peArea.value');
    expect(errOf(() => tiny({ peArray: { peArea: { value: '3 um^2', source: ' ' } } })).jsonPath).toBe('$.peArray.peArea.source');
    expect(errOf(() => tiny({ pooling: { laneArea: 12 } })).jsonPath).toBe('$.pooling.laneArea');
  });
});

describe('utilisation under both conventions', () => {
  // bconv 3x3/1 pad 1 on 4x4x128 -> 4x4x16 on edge (16x16 PEs, 64-bit lanes, OS, occupied skew), one tile:
  // M = 16, N = 16, K = 9 taps x 2 words = 18: one fold, 16 + 16 + 18 - 2 = 48 compute cycles (timing.test.ts).
  const plan = planOf({ h: 4, w: 4, c: 128 }, [
    { id: 'sg', op: 'sign' },
    { id: 'bc', op: 'bconv', outChannels: 16, kernel: 3, stride: 1, pad: 1, padMode: 'zero', weightScale: 'channel' },
    { id: 'bn', op: 'bn', eps: 1e-5 },
    { id: 'gap', op: 'gap' },
  ]);
  const arch = archWith('edge', { dram: { bandwidth: '8 GB/s', latency: '20 ns' }, buffers: HUGE_BUFFERS });
  const r = simulate(plan, arch, { mappings: { bc: { rowsPerTile: 4, channelsPerTile: 16, cinPerTile: 128, order: 'nmk' } } });
  const bc = r.layers.find((l) => l.id === 'bc')!;
  it('compute-only utilisation of one layer, by hand', () => {
    expect(bc.cycles!.compute).toBe(48);
    // useful BOPs = Ho*Wo*Cout*k*k*Cin = 16 * 16 * 9 * 128 = 294912; peak = 16*16 PEs x 64 lanes = 16384 per cycle
    // compute-only = 294912 / (48 * 16384) = 0.375
    expect(bc.bops).toBe(294912);
    expect(bc.computeUtilisation).toBeCloseTo(0.375, 12);
    // end to end divides by all the layer's cycles (fill, drain, post-op, stalls too)
    expect(bc.utilisation).toBeCloseTo(294912 / (bc.cycles!.total * 16384), 12);
    expect(bc.utilisation!).toBeLessThan(bc.computeUtilisation!);
  });
  it('compute-only >= end-to-end on every layer and in the totals of a whole network', () => {
    // bireal-mnist: real stem conv, binary convs, BN, residual adds, pooling, FC: every unit executes
    const w = simulate(lower(shapeOnlyModel(resolveNetwork(BUILTIN_WORKLOADS['bireal-mnist']()))), loadArch('edge'));
    expect(new Set(w.layers.map((l) => l.executesOn)).size).toBeGreaterThanOrEqual(3);
    expect(w.feasible).toBe(true);
    for (const l of w.layers) if (l.computeUtilisation != null) {
      expect(l.computeUtilisation).toBeGreaterThanOrEqual(l.utilisation! - 1e-12);
      expect(l.computeUtilisation).toBeLessThanOrEqual(1 + 1e-12);
    }
    const t = w.totals!;
    expect(t.computeUtilisation).toBeGreaterThanOrEqual(t.utilisation);
    expect(t.utilisation).toBeGreaterThan(0);
    expect(t.computeUtilisation).toBeLessThanOrEqual(1);
    expect(w.definitions['computeUtilisation [0-1]']).toMatch(/SCALE-Sim/);
  });
});

describe('SCALE-Sim SRAM word counts (scalesim-compat)', () => {
  // bconv 3x3, pad 0, on 8x8x16 -> 6x6x40 on a 32x32 OS array, 1-bit lanes: M = 36, N = 40, K = 144 words
  const plan = planOf({ h: 8, w: 8, c: 16 }, [
    { id: 'sg', op: 'sign' },
    { id: 'bc', op: 'bconv', outChannels: 40, kernel: 3, stride: 1, pad: 0, padMode: 'zero', weightScale: 'channel' },
    { id: 'gap', op: 'gap' },
  ]);
  const hand = {
    // OS: ifmap M*K*ceil(N/C) = 36*144*2 = 10368; filter K*N*ceil(M/R) = 144*40*2 = 11520;
    //     ofmap M*N + folds*(R+C) = 1440 + (2*2)*64 = 1696 (SCALE-Sim's write quirk is on in the preset)
    os: { ifmapReads: 10368, filterReads: 11520, ofmapWrites: 1696 },
    // WS: ifmap 36*144*ceil(40/32) = 10368; filter K*N = 5760; ofmap M*N*ceil(K/R) = 1440*5 = 7200
    ws: { ifmapReads: 10368, filterReads: 5760, ofmapWrites: 7200 },
    // IS: ifmap M*K = 5184; filter K*N*ceil(M/C) = 5760*2 = 11520; ofmap 1440*5 = 7200
    is: { ifmapReads: 5184, filterReads: 11520, ofmapWrites: 7200 },
  };
  for (const [df, e] of Object.entries(hand)) {
    it(`${df}: per layer and in totals, equal to systolic.ts`, () => {
      const r = simulate(plan, archWith('scalesim-compat', { peArray: { dataflow: df } }));
      const bc = r.layers.find((l) => l.id === 'bc')!;
      expect(bc.scalesimSramWords).toEqual(e);
      const g = systolicGemm(36, 40, 144, 32, 32, df as 'os', 'array', true);
      expect(bc.scalesimSramWords).toEqual({ ifmapReads: g.ifmapReads, filterReads: g.filterReads, ofmapWrites: g.ofmapWrites });
      // only PE-array layers have them; the totals sum those
      expect(r.layers.find((l) => l.id === 'gap')!.scalesimSramWords).toBeUndefined();
      expect(r.totals!.scalesimSramWords).toEqual(e);
    });
  }
});

describe('the sweep Pareto front uses area', () => {
  const header = sweepHeader(validateSpec(MICRO_SPEC, 's'), presetSpec('edge'), null, '0.1.0');
  const pt = (index: number, areaMm2: number | undefined, onChipBytes: number, latency = 1, energy = 1): SweepPoint =>
    ({ type: 'point', index, params: {}, metrics: { latencyCycles: 1, latencySeconds: latency, energyJoules: energy, onChipBytes, dramBytes: 0, ...(areaMm2 === undefined ? {} : { areaMm2 }) } });
  const sf = (points: SweepPoint[]): SweepFile => ({ header, points, partialTail: false, validBytes: 0 });
  it('a point with less area and equal latency and energy dominates, whatever its SRAM bytes', () => {
    const s = summariseSweep(sf([pt(0, 2.0, 1000), pt(1, 1.0, 5000)]), 'x');
    expect(s.points.map((p) => [p.index, p.areaMm2, p.pareto])).toEqual([[0, 2.0, false], [1, 1.0, true]]);
    // trade-offs stay on the front
    const t = summariseSweep(sf([pt(0, 2.0, 1000, 1), pt(1, 1.0, 5000, 2)]), 'x');
    expect(t.points.every((p) => p.pareto)).toBe(true);
  });
  it('a file written before the area model: area recomputed from the header base arch and the point params', () => {
    const s = summariseSweep(sf([pt(0, undefined, 1)]), 'x');
    expect(s.points[0].areaMm2).toBeCloseTo(areaOf(loadArch('edge')).totalMm2, 12);
  });
});
