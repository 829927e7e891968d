/**
 * Tiling, feasibility, tile-level timing and the mapper, for one SimLayer on one ResolvedArch.
 *
 * Mapping (Timeloop-style, but small): output rows in bands of `rowsPerTile` (full output width), output
 * channels in tiles of `channelsPerTile`, and for binary layers on the PE array the input channels in
 * k-tiles of `cinPerTile` (multiples of 32 channels, the packed word; partial sums stay in the outputs
 * buffer, so k is always the innermost loop and partial sums never go to DRAM). Real convs are never split
 * along K, so their fp32 accumulation order equals the golden model's. Loop order 'nmk' (channel tiles
 * outer: weights stay resident across bands when the whole K fits) or 'mnk' (bands outer: the input band
 * stays resident across channel tiles).
 *
 * Feasibility (a reason, never an exception): every buffer's per-tile footprint (half the capacity when
 * double-buffered) must hold its operands; an xnor accumulator must hold +-K (K = kh*kw*cin).
 *
 * Timing, per tile i in loop order (analytic per tile; no per-cycle loop):
 *   W_i    = max(compute_i + postOp_i, max over buffers of ceil(bytes_i / bandwidth)) (SRAM ports can throttle)
 *   d(x)   = x > 0 ? latency + ceil(x / dramBytesPerCycle) : 0                    (one DMA burst)
 *   period_i = d(exposed loads_i) [i > 0] + max(W_i, d(loads_{i+1} + stores_{i-1}) over double-buffered
 *              buffers) + d(exposed stores_i) [i < last]
 *   fill   = d(all loads of tile 0)        drain = d(all stores of the last tile)
 *   layer cycles = fill + sum_i period_i + drain
 * i.e. with double buffering the DMA of the next tile's operands and of the previous tile's results overlaps
 * this tile's compute; single-buffered operands are moved serially. Each term is non-increasing in DRAM
 * bandwidth, SRAM bandwidth, PE rows/cols (occupied skew) and lane width, and the candidate set does not
 * depend on them, so the mapper's optimum is monotone too (tested).
 * Cycle split: compute = sum compute_i; post-op = sum postOp_i; SRAM stall = sum (W_i - compute_i - postOp_i);
 * DRAM stall = sum (period_i - W_i); fill/drain = fill + drain.
 *
 * Compute units:
 *   pe-array   systolic GEMM per tile (systolic.ts): M = rows*Wo, N = channels, K = kh*kw*words-per-tap,
 *              words-per-tap = ceil(cin_tile / laneBits) on an xnor array (packing along channels per tap),
 *              cin_tile on a mac array (one element per MAC);
 *   real-unit  macsPerCycle lanes over output channels, one input value broadcast per cycle:
 *              cycles = M * K * ceil(N / macsPerCycle); weights held in lane registers along an output row;
 *   pooling    lanes tap-operations per cycle: ceil(M * N * kh * kw / lanes);
 *   PPU        lanes output elements per cycle through the whole fused chain: ceil(M * N / lanes), plus the
 *              XNOR-Net K map (|x| channel means and the k x k box sum) at lanes operations per cycle.
 */
import type { BufferName, ResolvedArch } from './arch.ts';
import { BUFFER_NAMES } from './arch.ts';
import { systolicGemm } from './systolic.ts';
import { bitsPixelBytes, realOperandBits, realPixelBytes, type SimLayer } from './layers.ts';

export type Order = 'nmk' | 'mnk';
export type Objective = 'cycles' | 'energy' | 'edp' | 'dram';
export const OBJECTIVES: readonly Objective[] = ['cycles', 'energy', 'edp', 'dram'];
export interface Mapping { rowsPerTile: number; channelsPerTile: number; cinPerTile: number; order: Order }
export type ExecUnit = 'xnor-array' | 'mac-array' | 'real-unit' | 'pooling' | 'ppu';

export interface BufferTraffic { readBytes: number; writeBytes: number }
export interface ActionCounts {
  dramReadBytes: number; dramWriteBytes: number;
  sram: Record<BufferName, BufferTraffic>;
  /** xnor word-ops (useful lane words) on an xnor array, or MACs on a mac array */
  peOps: number;
  realUnitMacs: number;
  ppuMul: number; ppuAdd: number; ppuCmp: number;
  poolOps: number;
}
export interface CycleSplit { compute: number; postOp: number; sramStall: number; dramStall: number; fill: number; drain: number; fillDrain: number; total: number }
export interface TileTrace { tile: number; band: number; channelTile: number; kTile: number; rows: [number, number]; channels: [number, number]; cin: [number, number]; computeCycles: number; postOpCycles: number; loadBytes: number; storeBytes: number; start: number; end: number }
export interface LayerEval {
  mapping: Mapping;
  tiles: number;
  cycles: CycleSplit;
  counts: ActionCounts;
  dramBytesByTensor: Record<string, number>;
  /** per-buffer bytes used by the largest tile (before double buffering) */
  footprint: Record<BufferName, number>;
  usedPeFolds: number; peFolds: number;
  /** ops the executing unit did / its peak per cycle, for utilisation */
  unitOps: number; unitPeakOpsPerCycle: number;
  trace?: TileTrace[];
}
export type Feasibility = { ok: true } | { ok: false; reason: string };

/** Per layer + arch constants. */
export interface LayerCtx {
  layer: SimLayer; arch: ResolvedArch; exec: ExecUnit;
  Ho: number; Wo: number; N: number; Hin: number; Win: number; cin: number; kh: number; kw: number; s: number; p: number;
  /** the PE array / unit reads bits (binary conv) */
  binaryOperands: boolean;
  /** tap operand bytes for c input channels */
  tapBytes: (c: number) => number;
  /** input pixel bytes (DRAM and buffer) for c channels */
  inPixelBytes: (c: number) => number;
  /** bytes per weight element word (real) */
  realWeightBytes: number;
  accBytes: number;
  realBytes: number;
  /** buffer holding the main input */
  inputBuffer: BufferName;
  ppuActive: boolean;
}

export function layerContext(layer: SimLayer, arch: ResolvedArch): LayerCtx {
  let exec: ExecUnit;
  if (layer.unit === 'pe-array') exec = arch.peArray.type === 'xnor' ? 'xnor-array' : 'mac-array';
  else if (layer.unit === 'real-unit') exec = arch.realUnit.onPeArray ? 'mac-array' : 'real-unit';
  else exec = layer.unit;
  const binaryOperands = layer.binary;
  const realBytes = arch.realBits / 8;
  const inPixelBytes = (c: number) => (layer.input.dtype === 'bits' ? bitsPixelBytes(c, arch) : realPixelBytes(c, arch));
  const tapBytes = (c: number) => (binaryOperands ? bitsPixelBytes(c, arch) : (c * realOperandBits(arch)) / 8);
  const accBytes = exec === 'xnor-array' ? arch.peArray.accumulatorBits / 8 : exec === 'mac-array' ? realOperandBits(arch) / 8 : 0;
  const pp = layer.ppuPerElement;
  return {
    layer, arch, exec, Ho: layer.out.h, Wo: layer.out.w, N: layer.out.c, Hin: layer.input.h, Win: layer.input.w, cin: layer.cin,
    kh: layer.kh, kw: layer.kw, s: layer.stride, p: layer.pad, binaryOperands, tapBytes, inPixelBytes,
    realWeightBytes: realOperandBits(arch) / 8, accBytes, realBytes,
    inputBuffer: exec === 'xnor-array' || exec === 'mac-array' ? 'inputs' : 'realStream',
    ppuActive: pp.mul + pp.add + pp.cmp > 0,
  };
}

/** Input rows [lo, hi) read by output rows [oy0, oy1) of a window (kernel rows k, stride s, pad p) over `inH` rows. */
export function inputRows(oy0: number, oy1: number, k: number, s: number, p: number, inH: number): [number, number] {
  return [Math.max(0, oy0 * s - p), Math.min(inH, (oy1 - 1) * s - p + k)];
}

/** Distinct values of ceil(n / t) for split counts t in a 1..16 then x1.25 progression (independent of the arch). */
export function splitSizes(n: number): number[] {
  const out = new Set<number>();
  let t = 1;
  while (t <= n) {
    out.add(Math.ceil(n / t));
    t = t < 16 ? t + 1 : Math.ceil(t * 1.25);
  }
  out.add(1);
  return [...out].sort((a, b) => b - a);
}

export function candidateMappings(ctx: LayerCtx): Mapping[] {
  const { layer } = ctx;
  const rows = splitSizes(ctx.Ho);
  let chans = splitSizes(ctx.N);
  // packed outputs: channel tiles hold whole 32-bit words (no read-modify-write of shared words)
  if (layer.writesBits && ctx.arch.peArray.binaryElementBits === 1) chans = chans.filter((c) => c % 32 === 0 || c >= ctx.N);
  let cins = [ctx.cin];
  if (layer.binary && (ctx.exec === 'xnor-array' || ctx.exec === 'mac-array')) {
    const g = Math.ceil(ctx.cin / 32);
    cins = splitSizes(g).map((x) => Math.min(ctx.cin, 32 * x));
  }
  const out: Mapping[] = [];
  for (const order of ['nmk', 'mnk'] as const) for (const r of rows) for (const c of chans) for (const k of cins) out.push({ rowsPerTile: r, channelsPerTile: c, cinPerTile: k, order });
  return out;
}

const BI: Record<BufferName, number> = { weights: 0, inputs: 1, realStream: 2, outputs: 3 };

/** Largest band's input rows, for footprints. */
function maxBandRows(ctx: LayerCtx, r: number, k: number, s: number, p: number, inH: number): number {
  let m = 0;
  for (let oy0 = 0; oy0 < ctx.Ho; oy0 += r) { const [lo, hi] = inputRows(oy0, Math.min(ctx.Ho, oy0 + r), k, s, p, inH); m = Math.max(m, hi - lo); }
  return m;
}

function weightTileBytes(ctx: LayerCtx, nt: number, ct: number): number {
  const l = ctx.layer;
  if (l.unit === 'pooling' || l.unit === 'ppu') return nt * l.paramWordsPerChannel * 4;
  const w = l.binary ? nt * ctx.kh * ctx.kw * ctx.tapBytes(ct) : nt * ctx.kh * ctx.kw * ct * ctx.realWeightBytes;
  return w + nt * l.paramWordsPerChannel * 4;
}

function sideTileBytes(ctx: LayerCtx, mt: number, nt: number, xRows: number): number {
  let b = 0;
  for (const si of ctx.layer.sideInputs) b += si.role === 'elementwise' ? mt * nt * ctx.realBytes : xRows * si.w * si.c * ctx.realBytes;
  return b;
}

function outTileBytes(ctx: LayerCtx, mt: number, nt: number): { real: number; bits: number } {
  let real = 0, bits = 0;
  for (const o of ctx.layer.outputs) { if (o.dtype === 'bits') bits += mt * bitsPixelBytes(nt, ctx.arch); else real += mt * nt * ctx.realBytes; }
  return { real, bits };
}

/** Per-buffer footprint of the largest tile of a mapping. */
export function footprint(ctx: LayerCtx, m: Mapping): Record<BufferName, number> {
  const f: Record<BufferName, number> = { weights: 0, inputs: 0, realStream: 0, outputs: 0 };
  const r = Math.min(m.rowsPerTile, ctx.Ho), nt = Math.min(m.channelsPerTile, ctx.N), ct = Math.min(m.cinPerTile, ctx.cin);
  const mt = r * ctx.Wo;
  const inRows = maxBandRows(ctx, r, ctx.kh, ctx.s, ctx.p, ctx.Hin);
  const inCh = ctx.layer.channelwise ? nt : ct;
  f[ctx.inputBuffer] += inRows * ctx.Win * ctx.inPixelBytes(inCh);
  f.weights += weightTileBytes(ctx, nt, ct);
  const aw = ctx.layer.actWindow;
  const xRows = aw ? maxBandRows(ctx, r, aw.kernel, aw.stride, aw.pad, ctx.layer.sideInputs.find((x) => x.role === 'window')?.h ?? 0) : 0;
  f.realStream += sideTileBytes(ctx, mt, nt, xRows);
  const o = outTileBytes(ctx, mt, nt);
  f.realStream += o.real;
  f.outputs += o.bits + mt * nt * ctx.accBytes;
  return f;
}

export function feasibility(ctx: LayerCtx, m: Mapping): Feasibility {
  const { arch, layer } = ctx;
  if (ctx.exec === 'xnor-array') {
    const K = ctx.kh * ctx.kw * ctx.cin;
    const need = Math.ceil(Math.log2(K + 1)) + 1;
    if (need > arch.peArray.accumulatorBits) return { ok: false, reason: `${layer.id}: a ${arch.peArray.accumulatorBits}-bit accumulator cannot hold a dot product of K = ${K} +-1 terms (needs ${need} bits signed)` };
  }
  const f = footprint(ctx, m);
  for (const b of BUFFER_NAMES) {
    const cap = arch.buffers[b].tileBytes;
    if (f[b] > cap) {
      return { ok: false, reason: `${layer.id}: ${b} buffer needs ${Math.ceil(f[b])} B for a tile of ${Math.min(m.rowsPerTile, ctx.Ho)} output rows x ${Math.min(m.channelsPerTile, ctx.N)} channels${layer.binary ? ` x ${Math.min(m.cinPerTile, ctx.cin)} input channels` : ''}, but holds ${cap} B per tile${arch.buffers[b].doubleBuffered ? ' (double-buffered: half of the capacity)' : ''}` };
    }
  }
  return { ok: true };
}

interface TileClass {
  compute: number; post: number; peOps: number; realMacs: number; poolOps: number; ppuMul: number; ppuAdd: number; ppuCmp: number;
  /** array-side SRAM bytes (reads, writes) per buffer index, excluding DMA and band-dependent parts */
  sr: Float64Array; sw: Float64Array;
  usedPeFolds: number; peFolds: number;
}

interface Bands { rows: Int32Array; first: Int32Array; inRows: Int32Array; xRows: Int32Array }

/** Per-context caches: tile classes depend only on (rows, channels, cin, first/last k), bands only on the band height. */
const classCache = new WeakMap<LayerCtx, Map<number, TileClass>>();
const bandCache = new WeakMap<LayerCtx, Map<number, Bands>>();

function bandsOf(ctx: LayerCtx, r: number): Bands {
  let m = bandCache.get(ctx);
  if (!m) { m = new Map(); bandCache.set(ctx, m); }
  let b = m.get(r);
  if (b) return b;
  const nb = Math.ceil(ctx.Ho / r);
  b = { rows: new Int32Array(nb), first: new Int32Array(nb), inRows: new Int32Array(nb), xRows: new Int32Array(nb) };
  const aw = ctx.layer.actWindow, xSide = ctx.layer.sideInputs.find((x) => x.role === 'window');
  for (let i = 0; i < nb; i++) {
    const oy0 = i * r, oy1 = Math.min(ctx.Ho, oy0 + r);
    b.first[i] = oy0; b.rows[i] = oy1 - oy0;
    const [lo, hi] = inputRows(oy0, oy1, ctx.kh, ctx.s, ctx.p, ctx.Hin);
    b.inRows[i] = hi - lo;
    if (aw && xSide) { const [a0, a1] = inputRows(oy0, oy1, aw.kernel, aw.stride, aw.pad, xSide.h); b.xRows[i] = a1 - a0; }
  }
  m.set(r, b);
  return b;
}

function tileClass(ctx: LayerCtx, rows: number, nt: number, ct: number, firstK: boolean, lastK: boolean): TileClass {
  let cache = classCache.get(ctx);
  if (!cache) { cache = new Map(); classCache.set(ctx, cache); }
  const key = ((rows * 16384 + nt) * 16384 + ct) * 4 + (firstK ? 2 : 0) + (lastK ? 1 : 0);
  let tc = cache.get(key);
  if (tc) return tc;
  const { arch, layer } = ctx;
  const R = arch.peArray.rows, C = arch.peArray.cols;
  const mt = rows * ctx.Wo;
  const sr = new Float64Array(4), sw = new Float64Array(4);
  let compute = 0, post = 0, peOps = 0, realMacs = 0, poolOps = 0, ppuMul = 0, ppuAdd = 0, ppuCmp = 0, usedPeFolds = 0, peFolds = 0;
  if (ctx.exec === 'xnor-array' || ctx.exec === 'mac-array') {
    const wordsPerTap = ctx.exec === 'xnor-array' && layer.binary ? Math.ceil(ct / arch.peArray.laneBits) : ct;
    const Kt = ctx.kh * ctx.kw * wordsPerTap;
    const g = systolicGemm(mt, nt, Kt, R, C, arch.peArray.dataflow, arch.peArray.skew, arch.peArray.ofmapWriteQuirk);
    compute = g.computeCycles;
    peOps = mt * nt * Kt;
    usedPeFolds = g.usedPeFolds; peFolds = g.peFolds;
    const wordBytes = ctx.tapBytes(ct) / wordsPerTap;
    sr[BI.inputs] += g.ifmapReads * wordBytes;
    sr[BI.weights] += g.filterReads * wordBytes;
    sw[BI.outputs] += g.ofmapWrites * ctx.accBytes;
    const quirk = arch.peArray.ofmapWriteQuirk && arch.peArray.dataflow === 'os' ? g.foldsRow * g.foldsCol * (R + C) : 0;
    const intraPsumReads = Math.max(0, g.ofmapWrites - mt * nt - quirk); // ws/is: K folds re-read partial sums
    sr[BI.outputs] += (intraPsumReads + (firstK ? 0 : mt * nt)) * ctx.accBytes;
    if (lastK) sr[BI.outputs] += mt * nt * ctx.accBytes; // PPU reads the final accumulators
  } else if (ctx.exec === 'real-unit') {
    const K = ctx.kh * ctx.kw * ctx.cin;
    compute = mt * K * Math.ceil(nt / arch.realUnit.macsPerCycle);
    realMacs = mt * nt * K;
    sr[BI.realStream] += mt * K * ctx.realBytes; // one input value broadcast to all lanes per cycle
    sr[BI.weights] += K * nt * rows * ctx.realWeightBytes; // lane registers reused along an output row
  } else if (ctx.exec === 'pooling') {
    compute = Math.ceil((mt * nt * ctx.kh * ctx.kw) / arch.pooling.lanes);
    poolOps = mt * nt * ctx.kh * ctx.kw;
  } else {
    sr[BI.realStream] += mt * nt * ctx.realBytes; // stand-alone post-op reads its main input
  }
  if (lastK && ctx.ppuActive) {
    const el = mt * nt, pp = layer.ppuPerElement;
    ppuMul = el * pp.mul; ppuAdd = el * pp.add; ppuCmp = el * pp.cmp;
    post = Math.ceil(el / arch.postProcessing.lanes);
    for (const si of layer.sideInputs) if (si.role === 'elementwise') sr[BI.realStream] += el * ctx.realBytes;
    const o = outTileBytes(ctx, mt, nt);
    sw[BI.realStream] += o.real;
    sw[BI.outputs] += o.bits;
  }
  tc = { compute, post, peOps, realMacs, poolOps, ppuMul, ppuAdd, ppuCmp, sr, sw, usedPeFolds, peFolds };
  cache.set(key, tc);
  return tc;
}

// scratch per-tile arrays, grown on demand (evaluate is not re-entrant)
let scratchN = 0;
let sW = new Float64Array(0), sComp = new Float64Array(0), sPost = new Float64Array(0), sLov = new Float64Array(0), sLex = new Float64Array(0), sSov = new Float64Array(0), sSex = new Float64Array(0);
function scratch(T: number): void {
  if (T <= scratchN) return;
  scratchN = Math.max(T, 2 * scratchN);
  sW = new Float64Array(scratchN); sComp = new Float64Array(scratchN); sPost = new Float64Array(scratchN);
  sLov = new Float64Array(scratchN); sLex = new Float64Array(scratchN); sSov = new Float64Array(scratchN); sSex = new Float64Array(scratchN);
}

/** One DMA burst of x bytes: latency + ceil(x / bytes per cycle), 0 when nothing moves. */
function dmaCycles(x: number, lat: number, bw: number): number { return x > 0 ? lat + Math.ceil(x / bw - 1e-9) : 0; }

/** Evaluates one mapping (assumed feasible). */
export function evaluate(ctx: LayerCtx, m: Mapping, withTrace = false): LayerEval {
  return evaluateBounded(ctx, m, withTrace, Infinity, 0)!;
}

/**
 * evaluate(), but gives up (undefined) as soon as the layer's cycles are known to exceed `abortAbove`.
 * After tile i: cycles >= fill + sum_{j<i} period_j + max(W_i + (the rest's compute + post-op cycles),
 * the DRAM bytes not yet moved / bytes per cycle): period_j of j < i is exact once tile j+1's loads are
 * known; period_i >= W_i, every later period_j >= W_j >= compute_j + postOp_j, and the rest is bounded
 * below by `computeLb` (computeLowerBound, a lower bound on the sum of compute + post-op over all tiles)
 * minus the tiles done; every later burst of x bytes adds d(x) >= x / bytes per cycle to a later period or
 * the drain, and the bytes not yet moved are `dramBytes` (dramBytesOf, equal to this evaluation's count)
 * minus those moved so far. A mapping abandoned here has more cycles than `abortAbove` (the search's
 * current best) and cannot win.
 */
function evaluateBounded(ctx: LayerCtx, m: Mapping, withTrace: boolean, abortAbove: number, computeLb: number, dramBytes = 0): LayerEval | undefined {
  const { arch, layer } = ctx;
  const R = arch.peArray.rows, C = arch.peArray.cols;
  const r = Math.min(m.rowsPerTile, ctx.Ho), ntFull = Math.min(m.channelsPerTile, ctx.N), ctFull = Math.min(m.cinPerTile, ctx.cin);
  const nb = Math.ceil(ctx.Ho / r), nn = Math.ceil(ctx.N / ntFull), nk = Math.ceil(ctx.cin / ctFull);
  const T = nb * nn * nk;
  scratch(T);
  const W = sW, comp = sComp, post = sPost, Lov = sLov, Lex = sLex, Sov = sSov, Sex = sSex;
  const bw = arch.dram.bytesPerCycle, lat = arch.dram.latencyCycles;
  const aw = layer.actWindow;
  const xSide = layer.sideInputs.find((x) => x.role === 'window');
  const bands = bandsOf(ctx, r);
  const buf = arch.buffers;
  const dblW = buf.weights.doubleBuffered, dblIn = buf[ctx.inputBuffer].doubleBuffered, dblRS = buf.realStream.doubleBuffered, dblOut = buf.outputs.doubleBuffered;
  const bwB = [buf.weights.bandwidthBytesPerCycle, buf.inputs.bandwidthBytesPerCycle, buf.realStream.bandwidthBytesPerCycle, buf.outputs.bandwidthBytesPerCycle];
  const inBI = BI[ctx.inputBuffer];
  const inKeyMode = ctx.exec === 'real-unit' || (ctx.exec === 'mac-array' && !layer.binary) ? 0 : layer.channelwise ? 1 : 2;
  const sides = layer.sideInputs, outs = layer.outputs;
  const sideBytes = new Float64Array(sides.length), outBytes = new Float64Array(outs.length);
  const rdB = new Float64Array(4), wrB = new Float64Array(4);
  let weightBytes = 0, inputBytes = 0, peOps = 0, realMacs = 0, poolOps = 0, ppuMul = 0, ppuAdd = 0, ppuCmp = 0, usedPeFolds = 0, peFolds = 0;
  const trace: TileTrace[] | undefined = withTrace ? [] : undefined;
  let prevW = -1, prevIn = -1, prevX = -1;
  const nmk = m.order === 'nmk';
  const ppuLanes = arch.postProcessing.lanes;
  // the 'scalesim-printed' convention subtracts one cycle at the end (see below)
  const printedAdj = arch.peArray.cycleConvention === 'scalesim-printed' && (ctx.exec === 'xnor-array' || ctx.exec === 'mac-array') ? 1 : 0;
  const bounded = abortAbove !== Infinity;
  let fill0 = 0, runT = 0, runCP = 0, moved = 0;
  let i = 0;
  for (let a = 0; a < (nmk ? nn : nb); a++) {
    for (let b2 = 0; b2 < (nmk ? nb : nn); b2++) {
      const n = nmk ? a : b2, band = nmk ? b2 : a;
      const nt = Math.min(ntFull, ctx.N - n * ntFull), rows = bands.rows[band], mt = rows * ctx.Wo;
      for (let k = 0; k < nk; k++, i++) {
        const ct = Math.min(ctFull, ctx.cin - k * ctFull);
        const lastK = k === nk - 1;
        const tc = tileClass(ctx, rows, nt, ct, k === 0, lastK);
        let r0 = tc.sr[0], r1 = tc.sr[1], r2 = tc.sr[2], r3 = tc.sr[3];
        let w0 = tc.sw[0], w1 = tc.sw[1], w2 = tc.sw[2], w3 = tc.sw[3];
        let lov = 0, lex = 0, sov = 0, sex = 0, p = tc.post;
        // weights (and folded params): resident while (n, k) is unchanged
        const wKey = n * nk + k;
        if (wKey !== prevW) {
          const wb = weightTileBytes(ctx, nt, ct);
          if (wb > 0) { if (dblW) lov += wb; else lex += wb; w0 += wb; weightBytes += wb; }
          prevW = wKey;
        }
        // main input: resident while its key is unchanged
        const inKey = inKeyMode === 0 ? band : inKeyMode === 1 ? band * nn + n : band * nk + k;
        if (inKey !== prevIn) {
          const ib = bands.inRows[band] * ctx.Win * ctx.inPixelBytes(layer.channelwise ? nt : ct);
          if (dblIn) lov += ib; else lex += ib;
          if (inBI === 1) w1 += ib; else w2 += ib;
          if (ctx.exec === 'pooling') r2 += ib; // line buffer: every input value read once
          inputBytes += ib;
          prevIn = inKey;
        }
        if (lastK) {
          // side inputs: elementwise per output tile; the actscale window (all channels of x) per band, resident across channel tiles
          for (let si = 0; si < sides.length; si++) {
            const sd = sides[si];
            let sb = 0;
            if (sd.role === 'elementwise') sb = mt * nt * ctx.realBytes;
            else if (band !== prevX) { sb = bands.xRows[band] * sd.w * sd.c * ctx.realBytes; r2 += sb; }
            if (sb) { if (dblRS) lov += sb; else lex += sb; w2 += sb; sideBytes[si] += sb; }
          }
          prevX = band;
          if (xSide && ctx.ppuActive) {
            // K map: |x| summed over channels per x pixel and divided, box sum per output pixel, one divide
            const red = bands.xRows[band] * xSide.w * xSide.c + mt * aw!.kernel * aw!.kernel;
            ppuAdd += red; ppuMul += bands.xRows[band] * xSide.w + mt;
            p += Math.ceil(red / ppuLanes);
          }
          for (let oi = 0; oi < outs.length; oi++) {
            const o = outs[oi];
            if (o.dtype === 'bits') { const ob = mt * bitsPixelBytes(nt, arch); if (dblOut) sov += ob; else sex += ob; r3 += ob; outBytes[oi] += ob; }
            else { const ob = mt * nt * ctx.realBytes; if (dblRS) sov += ob; else sex += ob; r2 += ob; outBytes[oi] += ob; }
          }
        }
        comp[i] = tc.compute; post[i] = p;
        rdB[0] += r0; rdB[1] += r1; rdB[2] += r2; rdB[3] += r3; wrB[0] += w0; wrB[1] += w1; wrB[2] += w2; wrB[3] += w3;
        const sram = Math.max(Math.ceil((r0 + w0) / bwB[0] - 1e-9), Math.ceil((r1 + w1) / bwB[1] - 1e-9), Math.ceil((r2 + w2) / bwB[2] - 1e-9), Math.ceil((r3 + w3) / bwB[3] - 1e-9));
        W[i] = Math.max(tc.compute + p, sram);
        Lov[i] = lov; Lex[i] = lex; Sov[i] = sov; Sex[i] = sex;
        if (bounded) {
          if (i === 0) { fill0 = dmaCycles(lov + lex, lat, bw) - printedAdj; moved = lov + lex; }
          else { // period of tile i-1 (as in the timing loop below; i-1 < T-1 here)
            const j = i - 1;
            runT += (j > 0 ? dmaCycles(Lex[j], lat, bw) : 0) + Math.max(W[j], dmaCycles(lov + (j > 0 ? Sov[j - 1] : 0), lat, bw)) + dmaCycles(Sex[j], lat, bw);
            moved += lov + (j > 0 ? Lex[j] + Sov[j - 1] : 0) + Sex[j];
          }
          runCP += tc.compute + p;
          const rest = Math.max(W[i] + Math.max(0, computeLb - runCP), (dramBytes - moved) / bw - 1e-3);
          if (fill0 + runT + rest > abortAbove) return undefined;
        }
        peOps += tc.peOps; realMacs += tc.realMacs; poolOps += tc.poolOps;
        ppuMul += tc.ppuMul; ppuAdd += tc.ppuAdd; ppuCmp += tc.ppuCmp;
        usedPeFolds += tc.usedPeFolds; peFolds += tc.peFolds;
        if (trace) {
          const c0 = n * ntFull, k0 = k * ctFull;
          trace.push({ tile: i, band, channelTile: n, kTile: k, rows: [bands.first[band], bands.first[band] + rows], channels: [c0, c0 + nt], cin: layer.channelwise ? [c0, c0 + nt] : [k0, k0 + ct], computeCycles: comp[i], postOpCycles: post[i], loadBytes: lov + lex, storeBytes: sov + sex, start: 0, end: 0 });
        }
      }
    }
  }
  const d = (x: number) => dmaCycles(x, lat, bw);
  const fill = d(Lov[0] + Lex[0]);
  const drain = d(Sov[T - 1] + Sex[T - 1]);
  let t = fill, sumComp = 0, sumPost = 0, sumW = 0, sumPeriod = 0, dramRead = 0, dramWrite = 0;
  for (let j = 0; j < T; j++) {
    const overlapped = d((j + 1 < T ? Lov[j + 1] : 0) + (j > 0 ? Sov[j - 1] : 0));
    const period = (j > 0 ? d(Lex[j]) : 0) + Math.max(W[j], overlapped) + (j < T - 1 ? d(Sex[j]) : 0);
    if (trace) { trace[j].start = t; trace[j].end = t + period; }
    t += period;
    sumComp += comp[j]; sumPost += post[j]; sumW += W[j]; sumPeriod += period;
    dramRead += Lov[j] + Lex[j]; dramWrite += Sov[j] + Sex[j];
  }
  let total = fill + sumPeriod + drain;
  let compute = sumComp;
  if (arch.peArray.cycleConvention === 'scalesim-printed' && (ctx.exec === 'xnor-array' || ctx.exec === 'mac-array')) { compute -= 1; total -= 1; }
  const cycles: CycleSplit = { compute, postOp: sumPost, sramStall: sumW - sumComp - sumPost, dramStall: sumPeriod - sumW, fill, drain, fillDrain: fill + drain, total };
  const counts: ActionCounts = {
    dramReadBytes: dramRead, dramWriteBytes: dramWrite,
    sram: { weights: { readBytes: rdB[0], writeBytes: wrB[0] }, inputs: { readBytes: rdB[1], writeBytes: wrB[1] }, realStream: { readBytes: rdB[2], writeBytes: wrB[2] }, outputs: { readBytes: rdB[3], writeBytes: wrB[3] } },
    peOps, realUnitMacs: realMacs, ppuMul, ppuAdd, ppuCmp, poolOps,
  };
  const byTensor: Record<string, number> = {};
  if (inputBytes) byTensor[`input:${layer.input.name}`] = inputBytes;
  if (weightBytes) byTensor['weights+params'] = weightBytes;
  sides.forEach((sd, si) => { if (sideBytes[si]) byTensor[`side:${sd.name}`] = sideBytes[si]; });
  outs.forEach((o, oi) => { byTensor[`output:${o.name}`] = outBytes[oi]; });
  let unitOps: number, unitPeak: number;
  switch (ctx.exec) {
    case 'xnor-array': unitOps = layer.bops; unitPeak = R * C * arch.peArray.laneBits; break;
    case 'mac-array': unitOps = layer.binary ? layer.bops : layer.macs; unitPeak = R * C; break;
    case 'real-unit': unitOps = layer.macs; unitPeak = arch.realUnit.macsPerCycle; break;
    case 'pooling': unitOps = poolOps; unitPeak = arch.pooling.lanes; break;
    default: unitOps = ctx.Ho * ctx.Wo * ctx.N; unitPeak = arch.postProcessing.lanes; break;
  }
  return { mapping: m, tiles: T, cycles, counts, dramBytesByTensor: byTensor, footprint: footprint(ctx, m), usedPeFolds, peFolds, unitOps, unitPeakOpsPerCycle: unitPeak, trace };
}

/** Energy of a set of action counts under the arch's energy table (joules), by component. */
export function energyOf(counts: ActionCounts, arch: ResolvedArch): Record<string, number> {
  const e: Record<string, number> = {};
  e.dram = (counts.dramReadBytes + counts.dramWriteBytes) * 8 * arch.dram.energyPerBit.joules;
  for (const b of BUFFER_NAMES) {
    const buf = arch.buffers[b];
    const accesses = Math.ceil(((counts.sram[b].readBytes + counts.sram[b].writeBytes) * 8) / buf.portBits);
    e[`sram.${b}`] = accesses * buf.accessEnergy.joules;
  }
  e.peArray = counts.peOps * arch.peArray.opEnergy.joules;
  e.realUnit = counts.realUnitMacs * arch.realUnit.macEnergy.joules;
  e.ppu = counts.ppuMul * arch.postProcessing.mulEnergy.joules + counts.ppuAdd * arch.postProcessing.addEnergy.joules + counts.ppuCmp * arch.postProcessing.compareEnergy.joules;
  e.pooling = counts.poolOps * arch.pooling.opEnergy.joules;
  return e;
}

export function sumEnergy(e: Record<string, number>): number { return Object.values(e).reduce((a, b) => a + b, 0); }

export interface MapResult { feasible: true; best: LayerEval; candidates: number; feasibleCandidates: number; evaluated: number }
export interface MapFailure { feasible: false; reason: string; candidates: number }

/**
 * Searches the candidate mappings for the best by `objective` (ties: fewer DRAM bytes, then fewer cycles,
 * then candidate order). For 'cycles' a lower bound (sum of compute+post-op cycles; the mapping's DRAM
 * bytes / bandwidth + the fill and drain latencies) prunes the exact evaluations; the result equals the
 * exhaustive optimum.
 */
export function mapLayer(ctx: LayerCtx, objective: Objective = 'cycles', fixed?: Mapping): MapResult | MapFailure {
  const cands = fixed ? [fixed] : candidateMappings(ctx);
  const feasible: Mapping[] = [];
  let smallest = Infinity;
  let closest: Mapping | undefined; // the infeasible candidate with the smallest footprint: its reason is reported
  const accOk = ctx.exec !== 'xnor-array' || Math.ceil(Math.log2(ctx.kh * ctx.kw * ctx.cin + 1)) + 1 <= ctx.arch.peArray.accumulatorBits;
  for (const m of cands) {
    // = feasibility(ctx, m).ok, with the footprint computed once
    const fp = footprint(ctx, m);
    let ok = accOk;
    if (ok) for (const b of BUFFER_NAMES) if (fp[b] > ctx.arch.buffers[b].tileBytes) { ok = false; break; }
    if (ok) feasible.push(m);
    else {
      let size = 0;
      for (const b of BUFFER_NAMES) size += fp[b] / ctx.arch.buffers[b].tileBytes;
      if (size < smallest) { smallest = size; closest = m; }
    }
  }
  const closestF = closest ? feasibility(ctx, closest) : undefined;
  const reason = closestF && !closestF.ok ? closestF.reason : '';
  if (!feasible.length) return { feasible: false, reason: reason || `${ctx.layer.id}: no mapping`, candidates: cands.length };
  const score = (ev: LayerEval): number[] => {
    const cyc = ev.cycles.total, dram = ev.counts.dramReadBytes + ev.counts.dramWriteBytes;
    switch (objective) {
      case 'cycles': return [cyc, dram];
      case 'dram': return [dram, cyc];
      case 'energy': return [sumEnergy(energyOf(ev.counts, ctx.arch)), cyc];
      case 'edp': return [sumEnergy(energyOf(ev.counts, ctx.arch)) * cyc, dram];
    }
  };
  const better = (a: number[], b: number[]) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  let best: LayerEval | undefined, bestScore: number[] = [Infinity, Infinity];
  let evaluated = 0;
  if (objective === 'cycles' && !fixed) {
    const lat2 = 2 * ctx.arch.dram.latencyCycles;
    const all = feasible.map((m, idx) => { const clb = computeLowerBound(ctx, m), db = dramBytesOf(ctx, m); return { m, idx, clb, db, lb: Math.max(clb, db / ctx.arch.dram.bytesPerCycle + lat2) }; });
    // visiting order: (lb, candidate index). The first visited is the minimum; its cycles bound every later
    // best, so candidates with a larger lb are never visited and need no sorting.
    let first = all[0];
    for (const c of all) if (c.lb < first.lb) first = c;
    const firstEv = evaluate(ctx, first.m);
    const lbs = all.filter((c) => c.lb <= firstEv.cycles.total);
    lbs.sort((a, b) => a.lb - b.lb || a.idx - b.idx);
    for (const { m, lb, clb, db } of lbs) {
      if (lb > bestScore[0]) break;
      const ev = m === first.m ? firstEv : evaluateBounded(ctx, m, false, bestScore[0], clb, db); evaluated++;
      if (!ev) continue; // more cycles than the best so far
      const s = score(ev);
      if (better(s, bestScore)) { best = ev; bestScore = s; }
    }
  } else {
    for (const m of feasible) {
      const ev = evaluate(ctx, m); evaluated++;
      const s = score(ev);
      if (better(s, bestScore)) { best = ev; bestScore = s; }
    }
  }
  return { feasible: true, best: best!, candidates: cands.length, feasibleCandidates: feasible.length, evaluated };
}

/** sum over tiles of compute + post-op cycles (a lower bound on the layer's cycles), from tile classes. */
const gemmCycleCache = new WeakMap<LayerCtx, Map<number, number>>();
/** systolicGemm(...).computeCycles on the ctx's PE array, memoised per context. */
function gemmCycles(ctx: LayerCtx, mt: number, n: number, K: number): number {
  let c = gemmCycleCache.get(ctx);
  if (!c) { c = new Map(); gemmCycleCache.set(ctx, c); }
  const key = (mt * 65536 + n) * 65536 + K;
  let v = c.get(key);
  if (v === undefined) {
    const pe = ctx.arch.peArray;
    v = systolicGemm(mt, n, K, pe.rows, pe.cols, pe.dataflow, pe.skew).computeCycles;
    c.set(key, v);
  }
  return v;
}

function computeLowerBound(ctx: LayerCtx, m: Mapping): number {
  const r = Math.min(m.rowsPerTile, ctx.Ho), nt = Math.min(m.channelsPerTile, ctx.N), ct = Math.min(m.cinPerTile, ctx.cin);
  const { arch, layer } = ctx;
  const nk = Math.ceil(ctx.cin / ct);
  // tile sizes come in (full, count) and (remainder, 1) classes per dimension, summed in that order
  const rf = Math.floor(ctx.Ho / r), rrem = ctx.Ho - rf * r;
  const nf = Math.floor(ctx.N / nt), nrem = ctx.N - nf * nt;
  const kf = Math.floor(ctx.cin / ct), krem = ctx.cin - kf * ct;
  let lb = 0;
  for (let ri = 0; ri < (rrem ? 2 : 1); ri++) for (let ni = 0; ni < (nrem ? 2 : 1); ni++) {
    const rows = ri ? rrem : r, cr = ri ? 1 : rf, n = ni ? nrem : nt, cn = ni ? 1 : nf;
    const mt = rows * ctx.Wo;
    let c = 0;
    if (ctx.exec === 'xnor-array' || ctx.exec === 'mac-array') {
      for (let ki = 0; ki < (krem ? 2 : 1); ki++) {
        const k = ki ? krem : ct, ck = ki ? 1 : kf;
        const wpt = ctx.exec === 'xnor-array' && layer.binary ? Math.ceil(k / arch.peArray.laneBits) : k;
        c += ck * gemmCycles(ctx, mt, n, ctx.kh * ctx.kw * wpt);
      }
    } else if (ctx.exec === 'real-unit') c = nk * mt * ctx.kh * ctx.kw * ctx.cin * Math.ceil(n / arch.realUnit.macsPerCycle);
    else if (ctx.exec === 'pooling') c = Math.ceil((mt * n * ctx.kh * ctx.kw) / arch.pooling.lanes);
    if (ctx.ppuActive) c += Math.ceil((mt * n) / arch.postProcessing.lanes);
    lb += cr * cn * c;
  }
  return lb;
}

/** Input rows touched by any output row's window (strided windows may skip rows). */
function touchedRows(Ho: number, k: number, s: number, p: number, inH: number): number {
  let n = 0, covered = 0; // rows [0, covered) already counted
  for (let oy = 0; oy < Ho; oy++) {
    const lo = Math.max(covered, oy * s - p, 0), hi = Math.min(inH, oy * s - p + k);
    if (hi > lo) { n += hi - lo; covered = hi; }
  }
  return n;
}

/** Compulsory DRAM bytes: every operand once (input rows touched by the windows, at full width), every output once. */
export function compulsoryDramBytes(ctx: LayerCtx): number {
  const { layer, arch } = ctx;
  let b = touchedRows(ctx.Ho, ctx.kh, ctx.s, ctx.p, ctx.Hin) * ctx.Win * ctx.inPixelBytes(ctx.cin);
  b += weightTileBytes(ctx, ctx.N, ctx.cin);
  for (const si of layer.sideInputs) {
    if (si.role === 'elementwise') b += ctx.Ho * ctx.Wo * ctx.N * ctx.realBytes;
    else { const aw = layer.actWindow!; b += touchedRows(ctx.Ho, aw.kernel, aw.stride, aw.pad, si.h) * si.w * si.c * ctx.realBytes; }
  }
  for (const o of layer.outputs) b += o.dtype === 'bits' ? ctx.Ho * ctx.Wo * bitsPixelBytes(ctx.N, arch) : ctx.Ho * ctx.Wo * ctx.N * ctx.realBytes;
  return b;
}

/**
 * DRAM bytes of a mapping in closed form (equals evaluate()'s count; tested). Residency: a weight tile is
 * reused by consecutive tiles with the same (n, k); the input by consecutive tiles with the same key
 * (band; band and channel tile for channel-wise layers; band and k-tile for binary PE-array layers); the
 * actscale window by consecutive tiles of the same band; element-wise side inputs and outputs move once.
 */
export function dramBytesOf(ctx: LayerCtx, m: Mapping): number {
  const { layer } = ctx;
  const r = Math.min(m.rowsPerTile, ctx.Ho), ntFull = Math.min(m.channelsPerTile, ctx.N), ctFull = Math.min(m.cinPerTile, ctx.cin);
  const nb = Math.ceil(ctx.Ho / r), nn = Math.ceil(ctx.N / ntFull), nk = Math.ceil(ctx.cin / ctFull);
  const bands = bandsOf(ctx, r);
  const nmk = m.order === 'nmk';
  let inRowsSum = 0, xRowsSum = 0;
  for (let b = 0; b < nb; b++) { inRowsSum += bands.inRows[b]; xRowsSum += bands.xRows[b]; }
  // weights over all (n, k) once: tiles come in at most two sizes per dimension (full and the remainder);
  // every term is an integer or a multiple of 1/8 byte far below 2^50, so grouping them sums exactly
  const nFullCount = Math.floor(ctx.N / ntFull), nRem = ctx.N - nFullCount * ntFull;
  const kFullCount = Math.floor(ctx.cin / ctFull), kRem = ctx.cin - kFullCount * ctFull;
  let wAll = nFullCount * kFullCount * weightTileBytes(ctx, ntFull, ctFull);
  if (kRem) wAll += nFullCount * weightTileBytes(ctx, ntFull, kRem);
  if (nRem) { wAll += kFullCount * weightTileBytes(ctx, nRem, ctFull); if (kRem) wAll += weightTileBytes(ctx, nRem, kRem); }
  const wOnce = nmk ? nk === 1 || nb === 1 : nn === 1 && nk === 1;
  let bytes = wOnce ? wAll : nb * wAll;
  // input
  const inKeyMode = ctx.exec === 'real-unit' || (ctx.exec === 'mac-array' && !layer.binary) ? 0 : layer.channelwise ? 1 : 2;
  if (inKeyMode === 1) bytes += inRowsSum * ctx.Win * (nFullCount * ctx.inPixelBytes(ntFull) + (nRem ? ctx.inPixelBytes(nRem) : 0));
  else {
    const perPass = inRowsSum * ctx.Win * (inKeyMode === 0 ? ctx.inPixelBytes(ctx.cin) : kFullCount * ctx.inPixelBytes(ctFull) + (kRem ? ctx.inPixelBytes(kRem) : 0));
    const once = inKeyMode === 0 ? (nmk ? nb === 1 : true) : (nmk ? nb === 1 && nk === 1 : nk === 1);
    bytes += once ? perPass : nn * perPass;
  }
  for (const si of layer.sideInputs) {
    if (si.role === 'elementwise') bytes += ctx.Ho * ctx.Wo * ctx.N * ctx.realBytes;
    else bytes += (nmk && nb > 1 ? nn : 1) * xRowsSum * si.w * si.c * ctx.realBytes;
  }
  for (const o of layer.outputs) bytes += o.dtype === 'bits' ? ctx.Ho * ctx.Wo * (nFullCount * bitsPixelBytes(ntFull, ctx.arch) + (nRem ? bitsPixelBytes(nRem, ctx.arch) : 0)) : ctx.Ho * ctx.Wo * ctx.N * ctx.realBytes;
  return bytes;
}
