/**
 * Exact, hand-derived cycle counts and the identities of shared/reference/accelerator-model.md §1 and §5.
 * Every expected number below is derived in the comment next to it from the formulas in that file
 * (per-fold cycles OS: R + C + T - 2, WS/IS: 2R + C + T - 2; (Sr, Sc, T) = OS (M,N,K), WS (K,N,M), IS (K,M,N)),
 * not read back from the code.
 */
import { describe, expect, it } from 'vitest';
import { systolicGemm } from '../../src/sim/systolic.ts';
import { evaluate, layerContext, mapLayer } from '../../src/sim/mapper.ts';
import { loadArch } from '../../src/sim/arch.ts';
import { Rng } from '../../src/core/rng.ts';
import { archWith, HUGE_BUFFERS, layerOf, planOf } from './helpers.ts';

describe('systolic fold model, hand-derived', () => {
  it('a layer that divides the array evenly (OS, 16x16, M=N=32, K=10)', () => {
    // Fr = 32/16 = 2, Fc = 2, 4 full folds of 16 + 16 + 10 - 2 = 40 cycles -> 160 under both skew models
    expect(systolicGemm(32, 32, 10, 16, 16, 'os', 'array').computeCycles).toBe(160);
    expect(systolicGemm(32, 32, 10, 16, 16, 'os', 'occupied').computeCycles).toBe(160);
    expect(systolicGemm(32, 32, 10, 16, 16, 'os', 'array').mappingEfficiency).toBe(1);
  });
  it('a single fold (M=5, N=3, K=7 on 8x8)', () => {
    // OS, SCALE-Sim skew: 8 + 8 + 7 - 2 = 21; occupied: 5 + 3 + 7 - 2 = 13
    expect(systolicGemm(5, 3, 7, 8, 8, 'os', 'array').computeCycles).toBe(21);
    expect(systolicGemm(5, 3, 7, 8, 8, 'os', 'occupied').computeCycles).toBe(13);
    // WS: (Sr, Sc, T) = (K, N, M) = (7, 3, 5): 2*8 + 8 + 5 - 2 = 27; occupied 2*7 + 3 + 5 - 2 = 20
    expect(systolicGemm(5, 3, 7, 8, 8, 'ws', 'array').computeCycles).toBe(27);
    expect(systolicGemm(5, 3, 7, 8, 8, 'ws', 'occupied').computeCycles).toBe(20);
    // mapping efficiency of the OS fold: 5*3 / 64
    expect(systolicGemm(5, 3, 7, 8, 8, 'os', 'array').mappingEfficiency).toBeCloseTo(15 / 64, 12);
  });
  it('partial folds (OS, M=20, N=10, K=4 on 8x8)', () => {
    // Fr = 3 (rows 8, 8, 4), Fc = 2 (cols 8, 2): array 6 * (8 + 8 + 4 - 2) = 108;
    // occupied: sum over folds of r + c + 2 = 2*20 + 3*10 + 6*2 = 82
    expect(systolicGemm(20, 10, 4, 8, 8, 'os', 'array').computeCycles).toBe(108);
    expect(systolicGemm(20, 10, 4, 8, 8, 'os', 'occupied').computeCycles).toBe(82);
  });
  it('identities: IS(M,N,K) = WS(N,M,K); OS(M,N,K) = OS(N,M,K) on a square array', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 500; i++) {
      const M = 1 + rng.int(300), N = 1 + rng.int(300), K = 1 + rng.int(300), R = 1 + rng.int(40), C = 1 + rng.int(40);
      for (const skew of ['array', 'occupied'] as const) {
        const is = systolicGemm(M, N, K, R, C, 'is', skew), ws = systolicGemm(N, M, K, R, C, 'ws', skew);
        expect(is.computeCycles).toBe(ws.computeCycles);
        // the operands swap roles: IS ifmap = WS filter and vice versa
        expect(is.ifmapReads).toBe(ws.filterReads);
        expect(is.filterReads).toBe(ws.ifmapReads);
        expect(is.ofmapWrites).toBe(ws.ofmapWrites);
        expect(systolicGemm(M, N, K, R, R, 'os', skew).computeCycles).toBe(systolicGemm(N, M, K, R, R, 'os', skew).computeCycles);
      }
    }
  });
});

describe('SCALE-Sim compatibility (scalesim-compat preset, 32x32, 1-bit lanes as 1-byte words)', () => {
  // bconv 3x3, pad 0, on 8x8x16 -> 6x6x40: M = 36, N = 40, K = 3*3*16 = 144 one-byte words
  const plan = planOf({ h: 8, w: 8, c: 16 }, [
    { id: 'sg', op: 'sign' },
    { id: 'bc', op: 'bconv', outChannels: 40, kernel: 3, stride: 1, pad: 0, padMode: 'zero', weightScale: 'channel' },
    { id: 'gap', op: 'gap' },
  ]);
  const layer = layerOf(plan, 'bc');
  const single = { rowsPerTile: 6, channelsPerTile: 40, cinPerTile: 16, order: 'nmk' as const };
  const cases = {
    // OS: Fr = ceil(36/32) = 2, Fc = ceil(40/32) = 2, 4 folds x (32 + 32 + 144 - 2 = 206) = 824, printed 823;
    //     ifmap M*K*ceil(N/C) = 36*144*2 = 10368; filter K*N*ceil(M/R) = 144*40*2 = 11520;
    //     ofmap M*N + folds*(R+C) = 1440 + 4*64 = 1696
    os: { printed: 823, ifmap: 10368, filter: 11520, ofmap: 1696 },
    // WS: (Sr,Sc,T) = (144, 40, 36): Fr = 5, Fc = 2, 10 x (64 + 32 + 36 - 2 = 130) = 1300, printed 1299;
    //     ifmap 36*144*2 = 10368; filter K*N = 5760; ofmap M*N*ceil(K/R) = 1440*5 = 7200
    ws: { printed: 1299, ifmap: 10368, filter: 5760, ofmap: 7200 },
    // IS: (Sr,Sc,T) = (144, 36, 40): Fr = 5, Fc = 2, 10 x (64 + 32 + 40 - 2 = 134) = 1340, printed 1339;
    //     ifmap M*K = 5184; filter K*N*ceil(M/C) = 5760*2 = 11520; ofmap 1440*5 = 7200
    is: { printed: 1339, ifmap: 5184, filter: 11520, ofmap: 7200 },
  };
  for (const [df, e] of Object.entries(cases)) {
    it(`${df}: compute cycles and SRAM accesses`, () => {
      const arch = archWith('scalesim-compat', { peArray: { dataflow: df } });
      const ev = evaluate(layerContext(layer, arch), single);
      expect(ev.tiles).toBe(1);
      expect(ev.cycles.compute).toBe(e.printed);
      // 1-byte words: bytes read = words read
      expect(ev.counts.sram.inputs.readBytes).toBe(e.ifmap);
      expect(ev.counts.sram.weights.readBytes).toBe(e.filter);
      expect(systolicGemm(36, 40, 144, 32, 32, df as 'os', 'array', df === 'os').ofmapWrites).toBe(e.ofmap);
      // the RTL convention is one more
      const rtl = archWith('scalesim-compat', { peArray: { dataflow: df, cycleConvention: 'rtl' } });
      expect(evaluate(layerContext(layer, rtl), single).cycles.compute).toBe(e.printed + 1);
    });
  }
});

describe('tile-level timing, hand-derived', () => {
  // bconv 3x3/1 pad 1 on 4x4x128 -> 4x4x16, BN folded. Edge PE array (16x16, OS, occupied skew, 64-bit lanes),
  // PPU 16 lanes; DRAM 8 GB/s at 500 MHz = 16 B/cycle, 20 ns = 10 cycles; buffers huge (no SRAM stalls).
  const plan = planOf({ h: 4, w: 4, c: 128 }, [
    { id: 'sg', op: 'sign' },
    { id: 'bc', op: 'bconv', outChannels: 16, kernel: 3, stride: 1, pad: 1, padMode: 'zero', weightScale: 'channel' },
    { id: 'bn', op: 'bn', eps: 1e-5 },
    { id: 'gap', op: 'gap' },
  ]);
  const layer = layerOf(plan, 'bc');
  const arch = archWith('edge', { dram: { bandwidth: '8 GB/s', latency: '20 ns' }, buffers: HUGE_BUFFERS });
  const ctx = layerContext(layer, arch);
  it('lane packing: K = 9 taps x ceil(128 / laneBits) words', () => {
    const m = { rowsPerTile: 4, channelsPerTile: 16, cinPerTile: 128, order: 'nmk' as const };
    // M = 16 pixels, N = 16, one fold: occupied skew 16 + 16 + K - 2 with K = 9*2 = 18 -> 48
    expect(evaluate(ctx, m).cycles.compute).toBe(48);
    // 128-bit lanes: K = 9 -> 39; 32-bit lanes: K = 36 -> 66
    expect(evaluate(layerContext(layer, archWith('edge', { peArray: { laneBits: 128 }, buffers: HUGE_BUFFERS })), m).cycles.compute).toBe(39);
    expect(evaluate(layerContext(layer, archWith('edge', { peArray: { laneBits: 32 }, buffers: HUGE_BUFFERS })), m).cycles.compute).toBe(66);
  });
  it('one tile: fill + compute + post-op + drain', () => {
    // loads: input 16 px x 16 B (4 words) = 256 B; weights 16 x 9 x 16 B = 2304 B + mul/bias 16 x 2 x 4 B = 128 B
    // fill = 10 + ceil(2688/16) = 178; compute 48; post-op ceil(16*16/16) = 16; drain = 10 + 1024/16 = 74 (fp32 out)
    const ev = evaluate(ctx, { rowsPerTile: 4, channelsPerTile: 16, cinPerTile: 128, order: 'nmk' });
    expect(ev.cycles).toMatchObject({ compute: 48, postOp: 16, sramStall: 0, dramStall: 0, fill: 178, drain: 74, total: 316 });
    expect(ev.counts.dramReadBytes).toBe(2688);
    expect(ev.counts.dramWriteBytes).toBe(1024);
  });
  it('two channel tiles: the second tile\'s weights load under the first tile\'s compute', () => {
    // 8 channels per tile. Tile work: M=16, N=8, K=18, occupied: 16 + 8 + 16 = 40, + post ceil(128/16) = 8 -> 48
    // loads: tile 0 = input 256 + weights 8*9*16 + 8*8 = 1216 -> 1472; tile 1 = 1216 (input resident); stores 512 each
    // fill = 10 + 1472/16 = 102; period 0 = max(48, 10 + 1216/16 = 86) = 86; period 1 = max(48, 10 + 512/16 = 42) = 48
    // drain = 42; total = 102 + 86 + 48 + 42 = 278; DRAM stall = 86 - 48 = 38
    const ev = evaluate(ctx, { rowsPerTile: 4, channelsPerTile: 8, cinPerTile: 128, order: 'nmk' });
    expect(ev.cycles).toMatchObject({ compute: 80, postOp: 16, dramStall: 38, fill: 102, drain: 42, total: 278 });
  });
  it('without double buffering the same transfers are serial', () => {
    const single = archWith('edge', { dram: { bandwidth: '8 GB/s', latency: '20 ns' }, buffers: { ...HUGE_BUFFERS, weights: { ...HUGE_BUFFERS.weights, doubleBuffered: false }, realStream: { ...HUGE_BUFFERS.realStream, doubleBuffered: false } } });
    // tile 1's weights (1216 B) are exposed before it: 86; tile 0's store (512 B, real output) exposed after it: 42
    // total = 102 + (48 + 42) + (86 + 48) + 42 = 368
    const ev = evaluate(layerContext(layer, single), { rowsPerTile: 4, channelsPerTile: 8, cinPerTile: 128, order: 'nmk' });
    expect(ev.cycles.total).toBe(368);
  });
  it('the mapper finds a mapping at least as fast as the hand-derived one, and reports infeasibility as a reason', () => {
    const r = mapLayer(ctx);
    expect(r.feasible).toBe(true);
    if (r.feasible) expect(r.best.cycles.total).toBeLessThanOrEqual(278);
    // smallest weight tile: 1 channel x 9 taps x one 32-channel word (4 B) + mul/bias 8 B = 44 B > 64 B / 2
    const tiny = archWith('edge', { buffers: { weights: { capacity: '64 B' } } });
    const f = mapLayer(layerContext(layer, tiny));
    expect(f.feasible).toBe(false);
    if (!f.feasible) expect(f.reason).toMatch(/weights buffer needs \d+ B/);
  });
  it('an accumulator too narrow for K is infeasible with a reason', () => {
    // K = 9 * 128 = 1152 needs ceil(log2(1153)) + 1 = 12 bits signed
    const narrow = archWith('edge', { peArray: { accumulatorBits: 11 } });
    const f = mapLayer(layerContext(layer, narrow));
    expect(f.feasible).toBe(false);
    if (!f.feasible) expect(f.reason).toMatch(/11-bit accumulator.*K = 1152.*needs 12 bits/);
    expect(mapLayer(layerContext(layer, archWith('edge', { peArray: { accumulatorBits: 12 } }))).feasible).toBe(true);
  });
  it('edge preset resolves', () => { expect(loadArch('edge').peArray.rows).toBe(16); });
});
