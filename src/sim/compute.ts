/**
 * Compute demand of a tile (SCALE-Sim's compute side: compute units produce demand, memory.ts serves it).
 * What one tile of a given shape asks of the executing unit and of the post-processing unit (PPU): cycles,
 * operation counts (the actions energy multiplies by the table) and the array-side SRAM accesses (operand
 * reads, partial-sum and accumulator traffic, PPU reads and writes). Nothing here depends on where the
 * operands come from or when they arrive: DMA, double buffering, bandwidth and stalls are memory.ts.
 *
 * Units (the shapes come from the tiling, tiling.ts):
 *   pe-array   systolic GEMM per tile (systolic.ts): M = rows*Wo, N = channels, K = kh*kw*words-per-tap,
 *              words-per-tap = ceil(cin_tile / laneBits) on an xnor array (packing along channels per tap),
 *              cin_tile on a mac array (one element per MAC). SRAM: SCALE-Sim's ifmap / filter / ofmap
 *              accesses in words x bytes per word; a k-tile after the first re-reads the partial sums, the
 *              last k-tile's accumulators are read once by the PPU;
 *   real-unit  macsPerCycle lanes over output channels, one input value broadcast per cycle:
 *              cycles = M * K * ceil(N / macsPerCycle); weights held in lane registers along an output row;
 *   pooling    lanes tap-operations per cycle: ceil(M * N * kh * kw / lanes);
 *   PPU        lanes output elements per cycle through the whole fused chain: ceil(M * N / lanes) on the
 *              last k-tile, plus the XNOR-Net K map (kMapDemand).
 */
import { systolicGemm, type GemmCost } from './systolic.ts';
import type { LayerCtx } from './mapper.ts';
import { BI, outTileBytes } from './memory.ts';

export interface TileDemand {
  compute: number; post: number; peOps: number; realMacs: number; poolOps: number; ppuMul: number; ppuAdd: number; ppuCmp: number;
  /** array-side SRAM bytes (reads, writes) per buffer index (memory.ts BI), excluding DMA fills and drains */
  sr: Float64Array; sw: Float64Array;
  usedPeFolds: number; peFolds: number;
}

/** systolicGemm on the context's PE array (with its SCALE-Sim write quirk), memoised per context. */
const gemmCache = new WeakMap<LayerCtx, Map<number, GemmCost>>();
let lastCtx: LayerCtx | undefined, lastGemm: Map<number, GemmCost> | undefined; // the search asks for one context many times
function gemm(ctx: LayerCtx, mt: number, n: number, K: number): GemmCost {
  let c = ctx === lastCtx ? lastGemm : gemmCache.get(ctx);
  if (!c) { c = new Map(); gemmCache.set(ctx, c); }
  lastCtx = ctx; lastGemm = c;
  const key = (mt * 65536 + n) * 65536 + K;
  let g = c.get(key);
  if (g === undefined) {
    const pe = ctx.arch.peArray;
    g = systolicGemm(mt, n, K, pe.rows, pe.cols, pe.dataflow, pe.skew, pe.ofmapWriteQuirk);
    c.set(key, g);
  }
  return g;
}

/** Words per tap of a PE-array tile of ct input channels: ceil(ct / laneBits) packed words on an xnor array, else ct elements. */
function wordsPerTap(ctx: LayerCtx, ct: number): number {
  return ctx.exec === 'xnor-array' && ctx.layer.binary ? Math.ceil(ct / ctx.arch.peArray.laneBits) : ct;
}

/**
 * The whole layer as ONE systolic GEMM on the PE array (M = Ho*Wo, N = Cout, K = kh*kw*words-per-tap of all
 * cin), as SCALE-Sim runs a layer (it does not tile): its ifmap / filter / ofmap SRAM accesses in words are
 * systolic.ts's formulas. null when the layer does not execute on the PE array.
 */
export function layerGemm(ctx: LayerCtx): GemmCost | null {
  if (ctx.exec !== 'xnor-array' && ctx.exec !== 'mac-array') return null;
  return gemm(ctx, ctx.Ho * ctx.Wo, ctx.N, ctx.kh * ctx.kw * wordsPerTap(ctx, ctx.cin));
}

/** Cycles of the executing unit for one tile of mt output pixels x nt output channels x ct input channels. */
export function unitCycles(ctx: LayerCtx, mt: number, nt: number, ct: number): number {
  const { arch } = ctx;
  switch (ctx.exec) {
    case 'xnor-array': case 'mac-array': return gemm(ctx, mt, nt, ctx.kh * ctx.kw * wordsPerTap(ctx, ct)).computeCycles;
    case 'real-unit': return mt * ctx.kh * ctx.kw * ctx.cin * Math.ceil(nt / arch.realUnit.macsPerCycle);
    case 'pooling': return Math.ceil((mt * nt * ctx.kh * ctx.kw) / arch.pooling.lanes);
    default: return 0;
  }
}

/** PPU cycles of an output tile (the whole fused chain, lanes elements per cycle), on its last k-tile. */
export function ppuCycles(ctx: LayerCtx, mt: number, nt: number, lastK: boolean): number {
  return lastK && ctx.ppuActive ? Math.ceil((mt * nt) / ctx.arch.postProcessing.lanes) : 0;
}

/** Demands depend only on (rows, channels, cin, first/last k): memoised per layer context. */
const demandCache = new WeakMap<LayerCtx, Map<number, TileDemand>>();

/** Compute demand of one tile of `rows` output rows x `nt` output channels x `ct` input channels. */
export function tileDemand(ctx: LayerCtx, rows: number, nt: number, ct: number, firstK: boolean, lastK: boolean): TileDemand {
  let cache = demandCache.get(ctx);
  if (!cache) { cache = new Map(); demandCache.set(ctx, cache); }
  const key = ((rows * 16384 + nt) * 16384 + ct) * 4 + (firstK ? 2 : 0) + (lastK ? 1 : 0);
  let tc = cache.get(key);
  if (tc) return tc;
  const { arch, layer } = ctx;
  const R = arch.peArray.rows, C = arch.peArray.cols;
  const mt = rows * ctx.Wo;
  const sr = new Float64Array(4), sw = new Float64Array(4);
  let peOps = 0, realMacs = 0, poolOps = 0, ppuMul = 0, ppuAdd = 0, ppuCmp = 0, usedPeFolds = 0, peFolds = 0;
  if (ctx.exec === 'xnor-array' || ctx.exec === 'mac-array') {
    const wpt = wordsPerTap(ctx, ct);
    const Kt = ctx.kh * ctx.kw * wpt;
    const g = gemm(ctx, mt, nt, Kt);
    peOps = mt * nt * Kt;
    usedPeFolds = g.usedPeFolds; peFolds = g.peFolds;
    const wordBytes = ctx.tapBytes(ct) / wpt;
    sr[BI.inputs] += g.ifmapReads * wordBytes;
    sr[BI.weights] += g.filterReads * wordBytes;
    sw[BI.outputs] += g.ofmapWrites * ctx.accBytes;
    const quirk = arch.peArray.ofmapWriteQuirk && arch.peArray.dataflow === 'os' ? g.foldsRow * g.foldsCol * (R + C) : 0;
    const intraPsumReads = Math.max(0, g.ofmapWrites - mt * nt - quirk); // ws/is: K folds re-read partial sums
    sr[BI.outputs] += (intraPsumReads + (firstK ? 0 : mt * nt)) * ctx.accBytes;
    if (lastK) sr[BI.outputs] += mt * nt * ctx.accBytes; // PPU reads the final accumulators
  } else if (ctx.exec === 'real-unit') {
    const K = ctx.kh * ctx.kw * ctx.cin;
    realMacs = mt * nt * K;
    sr[BI.realStream] += mt * K * ctx.realBytes; // one input value broadcast to all lanes per cycle
    sr[BI.weights] += K * nt * rows * ctx.realWeightBytes; // lane registers reused along an output row
  } else if (ctx.exec === 'pooling') {
    poolOps = mt * nt * ctx.kh * ctx.kw;
  } else {
    sr[BI.realStream] += mt * nt * ctx.realBytes; // stand-alone post-op reads its main input
  }
  if (lastK && ctx.ppuActive) {
    const el = mt * nt, pp = layer.ppuPerElement;
    ppuMul = el * pp.mul; ppuAdd = el * pp.add; ppuCmp = el * pp.cmp;
    for (const si of layer.sideInputs) if (si.role === 'elementwise') sr[BI.realStream] += el * ctx.realBytes;
    const o = outTileBytes(ctx, mt, nt);
    sw[BI.realStream] += o.real;
    sw[BI.outputs] += o.bits;
  }
  tc = { compute: unitCycles(ctx, mt, nt, ct), post: ppuCycles(ctx, mt, nt, lastK), peOps, realMacs, poolOps, ppuMul, ppuAdd, ppuCmp, sr, sw, usedPeFolds, peFolds };
  cache.set(key, tc);
  return tc;
}

/**
 * The XNOR-Net K map of one output tile on the PPU: |x| summed over the c channels of each of the band's
 * xRows x w window pixels (adds) and divided by c (one multiply per pixel), then a k x k box sum per output
 * pixel (adds) and one divide (multiply) per output pixel. Cycles: the additions at `lanes` per cycle.
 */
export function kMapDemand(xRows: number, xW: number, xC: number, outPixels: number, kernel: number, lanes: number): { add: number; mul: number; cycles: number } {
  const add = xRows * xW * xC + outPixels * kernel * kernel;
  return { add, mul: xRows * xW + outPixels, cycles: Math.ceil(add / lanes) };
}

/** Useful operations of a layer on its executing unit and that unit's peak per cycle (utilisation). */
export function unitThroughput(ctx: LayerCtx, poolOps: number): { unitOps: number; unitPeak: number } {
  const { arch, layer } = ctx;
  const R = arch.peArray.rows, C = arch.peArray.cols;
  switch (ctx.exec) {
    case 'xnor-array': return { unitOps: layer.bops, unitPeak: R * C * arch.peArray.laneBits };
    case 'mac-array': return { unitOps: layer.binary ? layer.bops : layer.macs, unitPeak: R * C };
    case 'real-unit': return { unitOps: layer.macs, unitPeak: arch.realUnit.macsPerCycle };
    case 'pooling': return { unitOps: poolOps, unitPeak: arch.pooling.lanes };
    default: return { unitOps: ctx.Ho * ctx.Wo * ctx.N, unitPeak: arch.postProcessing.lanes };
  }
}
