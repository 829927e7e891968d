/**
 * Energy per frame and area of the dataflow family (sim/dataflow-cost.ts) on a tiny network whose every term
 * is derived by hand below from the energy table (docs/arch.md "Default energies"): the expected numbers are
 * written from the table values and the hand-counted shapes, never read back from the code under test. Area:
 * the sum of area.ts unit areas for hand-counted lanes and memories.
 */
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { mergeSpec, presetSpec } from '../../src/sim/arch.ts';
import { resolveDataflowArch } from '../../src/sim/dataflow-arch.ts';
import { simulateDataflow } from '../../src/sim/dataflow.ts';
import { ppuLaneArea45, realMacArea45, sramArea45, xnorPeArea45 } from '../../src/sim/area.ts';
import { planOf } from './helpers.ts';

// dataflow-bnn without its target: realStreamBits 16 (fp16 post-ops), realMacPrecision int8, fifoDepth 2,
// no dram.energyPerBit (default 8 pJ/bit), technologyNode absent (45 nm)
const { targetFps: _t, ...base } = presetSpec('dataflow-bnn');
const arch = (patch: unknown = {}) => resolveDataflowArch(mergeSpec(base, mergeSpec({ folding: { stem: { pe: 2, simd: 4 }, conv: { pe: 2, simd: 8, swgSimd: 8 } } }, patch)), 'df.json');

/**
 * input 4x4x8 (real) -> stem: 1x1 conv 8->8 (int8 MAC MVAU, no SWG) + bn0 + sign (post-op)
 *                    -> conv: 3x3 bconv 8->8 pad 1 (SWG + XNOR MVAU) + bn + add(bn, bn0) (post-op; bn0 is the
 *                       real-valued shortcut: a side input with a shortcut FIFO)
 */
const tiny = () => planOf({ h: 4, w: 4, c: 8 }, [
  { id: 'stem', op: 'conv', outChannels: 8, kernel: 1, stride: 1, pad: 0, bias: false },
  { id: 'bn0', op: 'bn', eps: 1e-5 },
  { id: 'sign', op: 'sign', in: 'bn0' },
  { id: 'conv', op: 'bconv', outChannels: 8, kernel: 3, stride: 1, pad: 1 },
  { id: 'bn', op: 'bn', eps: 1e-5 },
  { id: 'add', op: 'add', inputs: ['bn', 'bn0'] },
]);

/**
 * Horowitz's 64-bit SRAM read is 10 pJ at 8 KB and 20 pJ at 32 KB, log-log interpolated and extrapolated
 * along that segment below 8 KB: E64(B) = 10 * 2^(log4(B / 8192)) = 10 * sqrt(B / 8192) pJ. An access of
 * w bits costs E64 * w / 64, so moving N bits through a bank of B bytes costs N / 64 * E64(B).
 */
const e64 = (bytes: number) => 10 * Math.sqrt(bytes / 8192);
const pJ = 1e-12;

describe('dataflow energy per frame, hand-derived', () => {
  it('every component of the tiny network from the table numbers', () => {
    const r = simulateDataflow(tiny(), arch());
    const stem = r.stages.find((s) => s.id === 'stem')!, conv = r.stages.find((s) => s.id === 'conv')!;
    expect([stem.kind, conv.kind]).toEqual(['mac-mvau', 'xnor-mvau']);

    // ---- stem: MW = 1*1*8 = 8, MH = 8, 16 output pixels; PE 2, SIMD 4; int8 weights
    // real MACs: 8*8*16 = 1024, each int8 multiply 0.2 pJ + int8 add 0.03 pJ
    const stemMac = 1024 * (0.2 + 0.03);
    // weights 8*8*8 = 512 bits in PE = 2 banks of 32 B; read once per output pixel: 1024 weights x 8 bits = 8192 bits
    const stemW = (8192 / 64) * e64(32);
    // parameters: bn0 folded to 2 words of 32 bits per channel: 8*2*32 = 512 bits in 2 banks of 32 B;
    // one 64-bit read per output element (4*4*8 = 128)
    const stemP = ((128 * 64) / 64) * e64(32);
    // post-op per output element: bn0 multiply + add (fp16: 1.1 + 0.4 pJ) + sign compare (one int8 add, 0.03 pJ)
    const stemPost = 128 * (1.1 + 0.4 + 0.03);
    // main input stream 4x4x8 x 16 bits = 2048 bits, written and read once through a FIFO of 2 words x SIMD 4 x 16 bits = 16 B
    const stemFifo = 2 * (2048 / 64) * e64(16);

    // ---- conv: MW = 3*3*8 = 72, MH = 8, 16 output pixels; PE 2, SIMD 8, SWG SIMD 8; 1-bit weights
    // BOPs 72*8*16 = 9216 at 21.6 fJ; accumulate adds = BOPs / SIMD = 1152, accumulator ceil(log2(73)) = 7 bits -> 8-bit add 0.03 pJ
    const convXnor = 9216 * 0.0216 + 1152 * 0.03;
    // weights 72*8 = 576 bits in 2 banks of 36 B, read once per output pixel: 9216 bits
    const convW = (9216 / 64) * e64(36);
    // parameters: bn, 2 words per channel: 512 bits, 2 banks of 32 B, 128 reads of 64 bits
    const convP = ((128 * 64) / 64) * e64(32);
    // post-op per element: bn multiply + add, residual add (fp16): 1.1 + 0.4 + 0.4 pJ
    const convPost = 128 * (1.1 + 0.4 + 0.4);
    // SWG: writes the padded 6x6x8 input (288 bits) and reads 16 windows of 3*3*8 (1152 bits): 1440 bits; its
    // buffer ((3-1)*6 + 3) * (8/8) = 15 words of 8 bits = 15 B
    const convSwg = (1440 / 64) * e64(15);
    // main stream: 4x4x8 bits = 128 bits through a FIFO of 2 words x 8 bits = 2 B
    const convFifo = 2 * (128 / 64) * e64(2);
    // shortcut bn0: 4x4x8 x 16 bits = 2048 bits through its FIFO of W + 2 = 6 pixels x 8 x 16 bits = 96 B
    const convShortcut = 2 * (2048 / 64) * e64(96);

    // ---- DRAM: input 4*4*8*16 bits = 256 B and output (add, real) 256 B at 8 pJ/bit
    const dram = 512 * 8 * 8;

    const expected: Record<string, number> = {
      xnor: convXnor, realMac: stemMac, weightMemory: stemW + convW, paramMemory: stemP + convP, postOps: stemPost + convPost,
      pooling: 0, swgBuffer: convSwg, streamFifo: stemFifo + convFifo, shortcutFifo: convShortcut, dram,
    };
    for (const [k, v] of Object.entries(expected)) expect(r.totals.energyJ[k], k).toBeCloseTo(v * pJ, 20);
    expect(Object.keys(r.totals.energyJ).sort()).toEqual(Object.keys(expected).sort());
    const total = Object.values(expected).reduce((a, x) => a + x, 0) * pJ;
    expect(r.totals.energyPerFrameJ).toBeCloseTo(total, 20);
    // per stage: the same terms, split by layer
    expect(stem.energyJ.realMac).toBeCloseTo(stemMac * pJ, 20);
    expect(conv.energyJ.shortcutFifo).toBeCloseTo(convShortcut * pJ, 20);
    expect(stem.energyJ.dram).toBe(0);
  });

  it('a sourced dram.energyPerBit replaces the default; weight reads scale with the output pixels (the MVAU re-reads its matrix per pixel)', () => {
    const r = simulateDataflow(tiny(), arch({ dram: { energyPerBit: { value: '4 pJ/bit', source: 'test' } } }));
    expect(r.totals.energyJ.dram).toBeCloseTo(512 * 8 * 4 * pJ, 20);
    expect(r.arch.dram.energyPerBit.source).toBe('test');
    // 8x8 input: 4x the output pixels -> 4x the weight reads (same banks)
    const big = planOf({ h: 8, w: 8, c: 8 }, [{ id: 'stem', op: 'conv', outChannels: 8, kernel: 1, stride: 1, pad: 0, bias: false }]);
    const small = planOf({ h: 4, w: 4, c: 8 }, [{ id: 'stem', op: 'conv', outChannels: 8, kernel: 1, stride: 1, pad: 0, bias: false }]);
    const a = resolveDataflowArch(mergeSpec(base, { folding: { stem: { pe: 2, simd: 4 } } }), 'df.json');
    expect(simulateDataflow(big, a).totals.energyJ.weightMemory).toBeCloseTo(4 * simulateDataflow(small, a).totals.energyJ.weightMemory, 20);
  });
});

describe('dataflow area, the sum of area.ts unit areas', () => {
  it('hand-counted lanes and memories of the tiny network', () => {
    const r = simulateDataflow(tiny(), arch());
    const um2: Record<string, number> = {
      // conv: PE 2 xnor PEs of SIMD 8 lanes with a 7-bit accumulator (popcount of 72 bits)
      xnorLanes: 2 * xnorPeArea45(8, 7).um2,
      // stem: PE 2 x SIMD 4 int8 MACs
      macLanes: 8 * realMacArea45('int8').um2,
      // post-op lanes: PE 2 (stem) + PE 2 (conv) at the 16-bit real stream
      postOps: 4 * ppuLaneArea45('fp16', 16).um2,
      pooling: 0,
      // stem weights 64 B in 2 banks of a 4 x 8-bit port; conv weights 72 B in 2 banks of an 8 x 1-bit port
      weightMemory: sramArea45(64, 2, 32).um2 + sramArea45(72, 2, 8).um2,
      // parameters: 64 B per layer, 2 banks of 2 x 32 bits
      paramMemory: 2 * sramArea45(64, 2, 64).um2,
      // conv SWG: 15 B, one bank of 8 bits
      swgBuffers: sramArea45(15, 1, 8).um2,
      // stream FIFOs (depth 2): stem input 2 x 4 x 16 bits = 16 B (64-bit word); conv input 2 x 8 bits = 2 B;
      // conv side stream 2 x PE 2 x 16 bits = 8 B (32-bit word)
      streamFifos: sramArea45(16, 1, 64).um2 + sramArea45(2, 1, 8).um2 + sramArea45(8, 1, 32).um2,
      // shortcut FIFO: 96 B, one bank of PE 2 x 16 bits
      shortcutFifos: sramArea45(96, 1, 32).um2,
    };
    for (const [k, v] of Object.entries(um2)) expect(r.area.mm2[k], k).toBeCloseTo(v / 1e6, 12);
    const total = Object.values(um2).reduce((a, x) => a + x, 0) / 1e6;
    expect(r.area.totalMm2).toBeCloseTo(total, 12);
    expect(r.totals.areaMm2).toBe(r.area.totalMm2);
    // per stage areas add up to the components
    for (const k of Object.keys(um2)) expect(r.stages.reduce((a, s) => a + s.areaMm2[k], 0)).toBeCloseTo(r.area.mm2[k], 12);
  });

  it('a non-power-of-two SIMD uses the popcount tree of the next power of two; technologyNode scales by (node/45)^2', () => {
    const r = simulateDataflow(tiny(), arch({ folding: { conv: { simd: 9 } } }));
    // SIMD 9 -> a 16-lane xnor PE
    expect(r.area.mm2.xnorLanes).toBeCloseTo((2 * xnorPeArea45(16, 7).um2) / 1e6, 12);
    const half = simulateDataflow(tiny(), arch({ technologyNode: '22.5 nm' }));
    expect(half.area.totalMm2).toBeCloseTo(simulateDataflow(tiny(), arch()).area.totalMm2 / 4, 12);
  });
});

describe('simulate on a dataflow arch prints energy and area by component', () => {
  async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '', err = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
    try { return { code: await main(args), out, err }; } finally { o.mockRestore(); e.mockRestore(); }
  }
  it('--csv --table energy / area; --table residency is refused (exit 2)', async () => {
    const e = await run(['simulate', 'bireal-mnist', '--arch', 'dataflow-bnn', '--csv', '--table', 'energy']);
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/^component,energy \[uJ\/frame\],share \[%\]/);
    expect(e.out).toMatch(/\nweightMemory,/);
    const a = await run(['simulate', 'bireal-mnist', '--arch', 'dataflow-bnn', '--csv', '--table', 'area']);
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/\nxnorLanes,/);
    const r = await run(['simulate', 'bireal-mnist', '--arch', 'dataflow-bnn', '--csv', '--table', 'residency']);
    expect(r.code).toBe(2);
  }, 60_000);
});
