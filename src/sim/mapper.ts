/**
 * The mapper, for one SimLayer on one ResolvedArch: the candidate mappings (the search space), feasibility
 * (a reason, never an exception), the tile-level evaluation of a mapping and the search for the best one
 * (Timeloop-style: architecture, workload and mapping are separate inputs; a cheap capacity check runs
 * before the full evaluation).
 *
 * A mapping is tile sizes and a loop order; how it tiles the layer (bands x channel tiles x k-tiles, each
 * tile's geometry, which operand tiles are (re)loaded where) is defined once, in tiling.ts. Candidates:
 * output rows in bands of `rowsPerTile` (full output width), output channels in tiles of
 * `channelsPerTile`, and for binary layers on the PE array input channels in k-tiles of `cinPerTile`
 * (multiples of 32 channels, the packed word). Real convs are never split along K, so their fp32
 * accumulation order equals the golden model's.
 *
 * Feasibility: every buffer's per-tile footprint (half the capacity when double-buffered) must hold its
 * operands; an xnor accumulator must hold +-K (K = kh*kw*cin).
 *
 * Evaluation walks the tiles once (tiling.ts TileCursor) and keeps apart the two models SCALE-Sim keeps
 * apart: the compute demand of each tile (compute.ts: unit and PPU cycles, operation counts, array-side
 * SRAM accesses; systolic.ts for the PE array) and the memory service (memory.ts: transfers of the operand
 * tiles the tiling (re)loads, SRAM port limits, the double-buffered DMA pipeline, fill and drain). Energy is
 * action counts x the arch's energy table (energyOf). Each pipeline term is non-increasing in DRAM
 * bandwidth, SRAM bandwidth, PE rows/cols (occupied skew) and lane width, and the candidate set does not
 * depend on them, so the mapper's optimum is monotone too (tested).
 * Cycle split: compute = sum compute_i; post-op = sum postOp_i; SRAM stall = sum (W_i - compute_i - postOp_i);
 * DRAM stall = sum (period_i - W_i); fill/drain = fill + drain (W_i and period_i as memory.ts defines them).
 */
import type { BufferName, ResolvedArch } from './arch.ts';
import { BUFFER_NAMES } from './arch.ts';
import { bitsPixelBytes, realOperandBits, realPixelBytes, type SimLayer } from './layers.ts';
import { TileCursor, tilingOf, type Mapping, type Tiling } from './tiling.ts';
import { kMapDemand, ppuCycles, tileDemand, unitCycles, unitThroughput, type TileDemand } from './compute.ts';
import { compulsoryBytes, dmaCycles, dramBytesOfTiling, footprint as tilingFootprint, periodOf, TileService } from './memory.ts';

export type { Mapping, Order } from './tiling.ts';
export { inputRows } from './tiling.ts';
export type Objective = 'cycles' | 'energy' | 'edp' | 'dram';
export const OBJECTIVES: readonly Objective[] = ['cycles', 'energy', 'edp', 'dram'];
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
  /** what of this layer stays on chip across layers (residency.ts); NO_RESIDENCY = today's layer-by-layer model */
  res: LayerResidency;
  /** bytes per buffer one tile may use: (capacity - bytes reserved by resident tensors) / 2 when double-buffered */
  tileCap: Record<BufferName, number>;
  /** mapping restriction of a layer in a fused chain: loop order m outermost and bands of at most this many rows */
  maxRowsPerTile?: number;
}

/**
 * Inter-layer residency of one layer's operands (decided by residency.ts; all false = every operand moves
 * through DRAM, as in the layer-by-layer model). A resident operand is on chip for the whole layer, in space
 * reserved outside the tiles (`reserved`): it is neither loaded nor stored by DMA and takes no tile footprint.
 * Resident weights are loaded once (`preloadBytes`, before the layer's first tile, exposed) per batch.
 */
export interface LayerResidency {
  input: boolean; weights: boolean; sides: boolean[]; outputs: boolean[];
  reserved: Record<BufferName, number>;
  preloadBytes: number;
}

export function noResidency(layer: SimLayer): LayerResidency {
  return { input: false, weights: false, sides: layer.sideInputs.map(() => false), outputs: layer.outputs.map(() => false), reserved: { weights: 0, inputs: 0, realStream: 0, outputs: 0 }, preloadBytes: 0 };
}

export function layerContext(layer: SimLayer, arch: ResolvedArch, res: LayerResidency = noResidency(layer), maxRowsPerTile?: number): LayerCtx {
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
    res, maxRowsPerTile,
    tileCap: Object.fromEntries(BUFFER_NAMES.map((b) => {
      const buf = arch.buffers[b];
      return [b, res.reserved[b] === 0 ? buf.tileBytes : Math.max(0, Math.floor((buf.capacityBytes - res.reserved[b]) / (buf.doubleBuffered ? 2 : 1)))];
    })) as Record<BufferName, number>,
  };
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
  const rows = ctx.maxRowsPerTile ? splitSizes(ctx.Ho).filter((r) => r <= ctx.maxRowsPerTile!) : splitSizes(ctx.Ho);
  let chans = splitSizes(ctx.N);
  // packed outputs: channel tiles hold whole 32-bit words (no read-modify-write of shared words)
  if (layer.writesBits && ctx.arch.peArray.binaryElementBits === 1) chans = chans.filter((c) => c % 32 === 0 || c >= ctx.N);
  let cins = [ctx.cin];
  if (layer.binary && (ctx.exec === 'xnor-array' || ctx.exec === 'mac-array')) {
    const g = Math.ceil(ctx.cin / 32);
    cins = splitSizes(g).map((x) => Math.min(ctx.cin, 32 * x));
  }
  const out: Mapping[] = [];
  for (const order of ctx.maxRowsPerTile ? ['mnk'] as const : ['nmk', 'mnk'] as const) for (const r of rows) for (const c of chans) for (const k of cins) out.push({ rowsPerTile: r, channelsPerTile: c, cinPerTile: k, order });
  return out;
}

/** Per-buffer footprint of the largest tile of a mapping (memory.ts footprint on its tiling). */
export function footprint(ctx: LayerCtx, m: Mapping): Record<BufferName, number> {
  return tilingFootprint(ctx, tilingOf(ctx.layer, m));
}

/** The xnor accumulator's bits hold a dot product of K = kh*kw*cin +-1 terms (or the layer is not on an xnor array). */
function accumulatorFits(ctx: LayerCtx): boolean {
  return ctx.exec !== 'xnor-array' || Math.ceil(Math.log2(ctx.kh * ctx.kw * ctx.cin + 1)) + 1 <= ctx.arch.peArray.accumulatorBits;
}

/** Why a buffer's per-tile capacity is what it is (double buffering, space held by resident tensors). */
function tileCapNote(ctx: LayerCtx, b: BufferName): string {
  const notes: string[] = [];
  if (ctx.arch.buffers[b].doubleBuffered) notes.push('double-buffered: half of the capacity');
  if (ctx.res.reserved[b]) notes.push(`after ${ctx.res.reserved[b]} B held by resident tensors`);
  return notes.length ? ` (${notes.join(', ')})` : '';
}

export function feasibility(ctx: LayerCtx, m: Mapping): Feasibility {
  const { arch, layer } = ctx;
  if (!accumulatorFits(ctx)) {
    const K = ctx.kh * ctx.kw * ctx.cin;
    const need = Math.ceil(Math.log2(K + 1)) + 1;
    return { ok: false, reason: `${layer.id}: a ${arch.peArray.accumulatorBits}-bit accumulator cannot hold a dot product of K = ${K} +-1 terms (needs ${need} bits signed)` };
  }
  const f = footprint(ctx, m);
  for (const b of BUFFER_NAMES) {
    const cap = ctx.tileCap[b];
    if (f[b] > cap) {
      return { ok: false, reason: `${layer.id}: ${b} buffer needs ${Math.ceil(f[b])} B for a tile of ${Math.min(m.rowsPerTile, ctx.Ho)} output rows x ${Math.min(m.channelsPerTile, ctx.N)} channels${layer.binary ? ` x ${Math.min(m.cinPerTile, ctx.cin)} input channels` : ''}, but holds ${cap} B per tile${tileCapNote(ctx, b)}` };
    }
  }
  return { ok: true };
}

/** Per evaluation: the compute demand of each tile class (at most 2 x 2 x 3 classes). */
const demandOfClass: (TileDemand | undefined)[] = new Array(12).fill(undefined);

/** Evaluates one mapping (assumed feasible). */
export function evaluate(ctx: LayerCtx, m: Mapping, withTrace = false): LayerEval {
  return evaluateTiling(ctx, tilingOf(ctx.layer, m), withTrace, Infinity, 0)!;
}

/**
 * Evaluates a tiling; gives up (undefined) as soon as the layer's cycles are known to exceed `abortAbove`.
 * After tile i: cycles >= fill + sum_{j<i} period_j + max(W_i + (the rest's compute + post-op cycles),
 * the DRAM bytes not yet moved / bytes per cycle): period_j of j < i is exact once tile j+1's loads are
 * known; period_i >= W_i, every later period_j >= W_j >= compute_j + postOp_j, and the rest is bounded
 * below by `computeLb` (computeLowerBound, a lower bound on the sum of compute + post-op over all tiles)
 * minus the tiles done; every later burst of x bytes adds d(x) >= x / bytes per cycle to a later period or
 * the drain, and the bytes not yet moved are `dramBytes` (dramBytesOf, equal to this evaluation's count)
 * minus those moved so far. A mapping abandoned here has more cycles than `abortAbove` (the search's
 * current best) and cannot win.
 */
function evaluateTiling(ctx: LayerCtx, t: Tiling, withTrace: boolean, abortAbove: number, computeLb: number, dramBytes = 0): LayerEval | undefined {
  const { arch, layer } = ctx;
  const T = t.tiles;
  const bw = arch.dram.bytesPerCycle, lat = arch.dram.latencyCycles;
  const aw = layer.actWindow;
  const xSide = layer.sideInputs.find((x) => x.role === 'window');
  let peOps = 0, realMacs = 0, poolOps = 0, ppuMul = 0, ppuAdd = 0, ppuCmp = 0, usedPeFolds = 0, peFolds = 0;
  let sumComp = 0, sumPost = 0;
  const trace: TileTrace[] | undefined = withTrace ? [] : undefined;
  const ppuLanes = arch.postProcessing.lanes;
  // the 'scalesim-printed' convention subtracts one cycle at the end (see below)
  const printedAdj = arch.peArray.cycleConvention === 'scalesim-printed' && (ctx.exec === 'xnor-array' || ctx.exec === 'mac-array') ? 1 : 0;
  const bounded = abortAbove !== Infinity;
  let fill0 = 0, runT = 0, runCP = 0, moved = 0;
  // resident weights: loaded once before the first tile, nothing overlaps that DMA (residency.ts)
  const preload = ctx.res.preloadBytes;
  // compute demand of each tile class (compute.ts; looked up once per class, when first met: an evaluation the
  // search abandons early meets few) and the memory service of the tiles (memory.ts)
  demandOfClass.fill(undefined);
  const svc = new TileService(ctx, T), tr = svc.tr;
  const cur = new TileCursor(t);
  while (cur.next()) {
    const i = cur.index;
    const tc = (demandOfClass[cur.cls] ??= tileDemand(ctx, cur.rows, cur.channels, cur.cin, cur.firstK, cur.lastK));
    let p = tc.post;
    if (cur.lastK && xSide && ctx.ppuActive) {
      // the band's K map on the PPU (compute demand that depends on the band's window rows)
      const km = kMapDemand(cur.winHi - cur.winLo, xSide.w, xSide.c, cur.rows * ctx.Wo, aw!.kernel, ppuLanes);
      ppuAdd += km.add; ppuMul += km.mul; p += km.cycles;
    }
    svc.serve(i, cur, tc.sr, tc.sw, tc.compute + p);
    if (bounded) {
      const lov = svc.lov, lex = svc.lex;
      if (i === 0) { fill0 = dmaCycles(lov + lex, lat, bw) + dmaCycles(preload, lat, bw) - printedAdj; moved = lov + lex; }
      else { // period of tile i-1 (as TileService.finish computes it; i-1 < T-1 here)
        const j = i - 1;
        runT += periodOf(tr, j, T, lov, lat, bw);
        moved += lov + (j > 0 ? tr.Lex[j] + tr.Sov[j - 1] : 0) + tr.Sex[j];
      }
      runCP += tc.compute + p;
      const rest = Math.max(tr.W[i] + Math.max(0, computeLb - runCP), (dramBytes - moved) / bw - 1e-3);
      if (fill0 + runT + rest > abortAbove) return undefined;
    }
    sumComp += tc.compute; sumPost += p;
    peOps += tc.peOps; realMacs += tc.realMacs; poolOps += tc.poolOps;
    ppuMul += tc.ppuMul; ppuAdd += tc.ppuAdd; ppuCmp += tc.ppuCmp;
    usedPeFolds += tc.usedPeFolds; peFolds += tc.peFolds;
    if (trace) {
      const c0 = cur.c0, nt = cur.channels;
      trace.push({ tile: i, band: cur.band, channelTile: cur.n, kTile: cur.k, rows: [cur.oy0, cur.oy1], channels: [c0, c0 + nt], cin: layer.channelwise ? [c0, c0 + nt] : [cur.k0, cur.k0 + cur.cin], computeCycles: tc.compute, postOpCycles: p, loadBytes: svc.lov + svc.lex, storeBytes: svc.sov + svc.sex, start: 0, end: 0 });
    }
  }
  const s = svc.finish(trace);
  const { drain } = s;
  const preloadCycles = dmaCycles(preload, lat, bw);
  const fill = s.fill + preloadCycles;
  if (trace && preloadCycles) for (const x of trace) { x.start += preloadCycles; x.end += preloadCycles; }
  let total = fill + s.sumPeriod + drain;
  let compute = sumComp;
  if (printedAdj) { compute -= 1; total -= 1; }
  const cycles: CycleSplit = { compute, postOp: sumPost, sramStall: s.sumW - sumComp - sumPost, dramStall: s.sumPeriod - s.sumW, fill, drain, fillDrain: fill + drain, total };
  const rdB = svc.rd, wrB = svc.wr;
  const counts: ActionCounts = {
    dramReadBytes: s.dramRead + preload, dramWriteBytes: s.dramWrite,
    sram: { weights: { readBytes: rdB[0], writeBytes: wrB[0] + preload }, inputs: { readBytes: rdB[1], writeBytes: wrB[1] }, realStream: { readBytes: rdB[2], writeBytes: wrB[2] }, outputs: { readBytes: rdB[3], writeBytes: wrB[3] } },
    peOps, realUnitMacs: realMacs, ppuMul, ppuAdd, ppuCmp, poolOps,
  };
  const byTensor: Record<string, number> = {};
  if (svc.inputBytes) byTensor[`input:${layer.input.name}`] = svc.inputBytes;
  if (svc.weightBytes + preload) byTensor['weights+params'] = svc.weightBytes + preload;
  layer.sideInputs.forEach((sd, si) => { if (svc.sideBytes[si]) byTensor[`side:${sd.name}`] = svc.sideBytes[si]; });
  layer.outputs.forEach((o, oi) => { byTensor[`output:${o.name}`] = svc.outBytes[oi]; });
  const { unitOps, unitPeak } = unitThroughput(ctx, poolOps);
  return { mapping: t.mapping, tiles: T, cycles, counts, dramBytesByTensor: byTensor, footprint: tilingFootprint(ctx, t), usedPeFolds, peFolds, unitOps, unitPeakOpsPerCycle: unitPeak, trace };
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
 * exhaustive optimum. A fixed mapping is only checked and evaluated.
 */
export function mapLayer(ctx: LayerCtx, objective: Objective = 'cycles', fixed?: Mapping): MapResult | MapFailure {
  if (!fixed) return new MappingSearch(new CandidateSet(new ShapeCandidates(ctx), ctx, objective), objective).search(ctx);
  const f = feasibility(ctx, fixed);
  if (!f.ok) return { feasible: false, reason: f.reason, candidates: 1 };
  return { feasible: true, best: evaluate(ctx, fixed), candidates: 1, feasibleCandidates: 1, evaluated: 1 };
}

const NB = BUFFER_NAMES.length;

/**
 * The candidate mappings of one layer shape, free or in a band chain (then built without a limit: the
 * candidates under limit R are those with rowsPerTile <= R, in the same order, exactly candidateMappings'
 * list under R since rows are filtered inside the same loop nest), and their compute lower bounds
 * (computeLowerBound: it reads the shape and the arch only; NaN until needed). Layers of the same shape
 * may share one.
 */
export class ShapeCandidates {
  readonly ms: Mapping[];
  readonly clb: Float64Array;
  constructor(ctx: LayerCtx) {
    this.ms = candidateMappings(ctx.maxRowsPerTile ? { ...ctx, maxRowsPerTile: Infinity } : ctx);
    this.clb = new Float64Array(this.ms.length).fill(NaN);
  }
}

/**
 * The candidates of one layer shape under one set of residency flags (input, weights, sides, outputs
 * resident) with what the search reads of them that depends neither on the tile capacity, the band limit
 * nor the preload: footprints and, for 'cycles', DRAM bytes (memory.ts: they read the shape and the flags
 * only). Numbers are kept in typed arrays and tilings are rebuilt when needed (retaining thousands of
 * tilings costs more than rebuilding them); the bounds are computed with the footprints for the candidates
 * feasible in the context the set is built from (its first search), for the others when first needed.
 */
export class CandidateSet {
  readonly ms: Mapping[];
  /** per candidate: footprint per buffer (BUFFER_NAMES order); compute lower bound (shared per shape) and DRAM bytes (NaN: not yet) */
  readonly fp: Float64Array; readonly clb: Float64Array; readonly db: Float64Array;
  constructor(shape: ShapeCandidates, ctx: LayerCtx, objective: Objective) {
    this.ms = shape.ms; this.clb = shape.clb;
    const n = this.ms.length, R = ctx.maxRowsPerTile || Infinity, bounds = objective === 'cycles' && accumulatorFits(ctx);
    this.fp = new Float64Array(n * NB); this.db = new Float64Array(n).fill(NaN);
    for (let i = 0; i < n; i++) {
      const t = tilingOf(ctx.layer, this.ms[i]), f = tilingFootprint(ctx, t);
      for (let b = 0; b < NB; b++) this.fp[i * NB + b] = f[BUFFER_NAMES[b]];
      if (bounds && this.ms[i].rowsPerTile <= R && this.fits(i, ctx.tileCap)) this.setBounds(ctx, i, t);
    }
  }

  fits(i: number, cap: Record<BufferName, number>): boolean {
    for (let b = 0; b < NB; b++) if (this.fp[i * NB + b] > cap[BUFFER_NAMES[b]]) return false;
    return true;
  }

  /** Candidate i's lower bound (computeLowerBound) and DRAM bytes, computed once. */
  bounds(ctx: LayerCtx, i: number): void {
    if (Number.isNaN(this.db[i])) this.setBounds(ctx, i, tilingOf(ctx.layer, this.ms[i]));
  }

  private setBounds(ctx: LayerCtx, i: number, t: Tiling): void {
    if (Number.isNaN(this.clb[i])) this.clb[i] = computeLowerBound(ctx, t);
    this.db[i] = dramBytesOfTiling(ctx, t);
  }
}

/**
 * The mapping search of one layer shape under one residency (the flags of its CandidateSet, the preload and
 * the band mode: everything of its context but the tile capacity and the band limit), run again for each
 * capacity and limit. It visits the candidates exactly as a single search does (the feasible ones in order;
 * for 'cycles' by (lower bound, order), stopping at a bound above the best so far) and keeps what it learns
 * about each candidate across the searches. Exact: an evaluation reads the shape, the residency flags and
 * the preload, never the capacity or the limit, so a candidate's score is the same in every search of this
 * object, and a visit's outcome (better than the best so far or not) depends only on that score: an
 * evaluation abandoned above a bound B proves cycles > B (evaluateTiling), which decides every later visit
 * whose best so far is <= B. So every search returns what a fresh search would (best mapping, feasible and
 * evaluated counts). A layer of the same shape gets the best mapping evaluated on its own context (its
 * tensor names differ).
 */
export class MappingSearch {
  /** per candidate: its exact score and evaluation (and the layer evaluated), or cycles known to exceed `above` */
  private readonly score: (number[] | undefined)[] = [];
  private readonly ev: { ev: LayerEval; layer: SimLayer }[] = [];
  private readonly above: Float64Array;
  constructor(private readonly set: CandidateSet, private readonly objective: Objective) {
    this.above = new Float64Array(set.ms.length).fill(-Infinity);
  }

  search(ctx: LayerCtx): MapResult | MapFailure {
    const set = this.set, R = ctx.maxRowsPerTile || Infinity;
    const accOk = accumulatorFits(ctx);
    const feasible: number[] = [];
    let candidates = 0;
    for (let i = 0; i < set.ms.length; i++) {
      if (set.ms[i].rowsPerTile > R) continue;
      candidates++;
      if (accOk && set.fits(i, ctx.tileCap)) feasible.push(i);
    }
    if (!feasible.length) return { feasible: false, reason: this.infeasibleReason(ctx, R), candidates };
    const objective = this.objective;
    const scoreOf = (ev: LayerEval): number[] => {
      const cyc = ev.cycles.total, dram = ev.counts.dramReadBytes + ev.counts.dramWriteBytes;
      switch (objective) {
        case 'cycles': return [cyc, dram];
        case 'dram': return [dram, cyc];
        case 'energy': return [sumEnergy(energyOf(ev.counts, ctx.arch)), cyc];
        case 'edp': return [sumEnergy(energyOf(ev.counts, ctx.arch)) * cyc, dram];
      }
    };
    // candidate i's score, or undefined when its cycles exceed abortAbove (evaluateTiling's bound)
    const visit = (i: number, abortAbove: number): number[] | undefined => {
      const known = this.score[i];
      if (known) return known;
      if (this.above[i] >= abortAbove) return undefined;
      const ev = evaluateTiling(ctx, tilingOf(ctx.layer, set.ms[i]), false, abortAbove, set.clb[i], set.db[i]);
      if (!ev) { this.above[i] = abortAbove; return undefined; }
      this.ev[i] = { ev, layer: ctx.layer };
      return (this.score[i] = scoreOf(ev));
    };
    const better = (a: number[], b: number[]) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
    let best = -1, bestScore: number[] = [Infinity, Infinity];
    let evaluated = 0;
    const consider = (i: number, s: number[] | undefined) => { evaluated++; if (s && better(s, bestScore)) { best = i; bestScore = s; } };
    if (objective === 'cycles') {
      // fill and drain latencies in the bound: the first tile loads the main input unless it is resident, the
      // last tile stores the outputs that are not resident
      const lat2 = ctx.arch.dram.latencyCycles * ((ctx.res.input ? 0 : 1) + (ctx.res.outputs.every((x) => x) ? 0 : 1));
      const all = feasible.map((i, idx) => { set.bounds(ctx, i); return { i, idx, lb: Math.max(set.clb[i], set.db[i] / ctx.arch.dram.bytesPerCycle + lat2) }; });
      // visiting order: (lb, candidate index). The first visited is the minimum; its cycles bound every later
      // best, so candidates with a larger lb are never visited and need no sorting.
      let first = all[0];
      for (const a of all) if (a.lb < first.lb) first = a;
      const firstScore = visit(first.i, Infinity)!;
      const lbs = all.filter((a) => a.lb <= firstScore[0]);
      lbs.sort((a, b) => a.lb - b.lb || a.idx - b.idx);
      for (const { i, lb } of lbs) {
        if (lb > bestScore[0]) break;
        consider(i, i === first.i ? firstScore : visit(i, bestScore[0]));
      }
    } else for (const i of feasible) consider(i, visit(i, Infinity));
    const b = this.ev[best];
    return { feasible: true, best: b.layer === ctx.layer ? b.ev : evaluate(ctx, set.ms[best]), candidates, feasibleCandidates: feasible.length, evaluated };
  }

  /** The reason of the infeasible candidate with the smallest footprint relative to the capacity (the first such). */
  private infeasibleReason(ctx: LayerCtx, R: number): string {
    const set = this.set;
    let smallest = Infinity;
    let closest: Mapping | undefined;
    for (let i = 0; i < set.ms.length; i++) {
      if (set.ms[i].rowsPerTile > R) continue;
      let size = 0;
      for (let b = 0; b < NB; b++) size += set.fp[i * NB + b] / Math.max(1, ctx.tileCap[BUFFER_NAMES[b]]);
      if (size < smallest) { smallest = size; closest = set.ms[i]; }
    }
    const f = closest ? feasibility(ctx, closest) : undefined;
    return (f && !f.ok ? f.reason : '') || `${ctx.layer.id}: no mapping`;
  }
}

/**
 * Sum over the tiles of compute + post-op cycles (without the K map), a lower bound on the layer's cycles
 * (every W_i >= compute_i + postOp_i; tested equal to the tile walk's sum). It is the sum over the tiling's
 * classes (forEachClass) regrouped: per output-tile class (rows x channels, count) the unit's cycles of its
 * k-tiles by size ((kTiles - 1) full ones and the last) plus the PPU's once. Written with the tiling's
 * class numbers rather than callbacks: it runs for every feasible candidate.
 */
export function computeLowerBound(ctx: LayerCtx, t: Tiling): number {
  let lb = 0;
  for (let a = 0; a < (t.remRows ? 2 : 1); a++) {
    const mt = (a ? t.remRows : t.rowsPerTile) * ctx.Wo, cr = a ? 1 : t.fullBands;
    for (let b = 0; b < (t.remChannels ? 2 : 1); b++) {
      const nt = b ? t.remChannels : t.channelsPerTile, cn = b ? 1 : t.fullChannelTiles;
      const full = unitCycles(ctx, mt, nt, t.cinPerTile);
      const unit = t.lastCin === t.cinPerTile ? t.kTiles * full : (t.kTiles - 1) * full + unitCycles(ctx, mt, nt, t.lastCin);
      lb += cr * cn * (unit + ppuCycles(ctx, mt, nt, true));
    }
  }
  return lb;
}

/** Compulsory DRAM bytes: every operand once (input rows touched by the windows, at full width), every output once. */
export function compulsoryDramBytes(ctx: LayerCtx): number {
  // per layer, as if it ran alone: every operand through DRAM once (whatever stays resident across layers)
  return compulsoryBytes({ ...ctx, res: noResidency(ctx.layer) }, tilingOf(ctx.layer, { rowsPerTile: ctx.Ho, channelsPerTile: ctx.N, cinPerTile: ctx.cin, order: 'nmk' }));
}

/** DRAM bytes of a mapping in closed form (memory.ts; equals evaluate()'s count, tested). */
export function dramBytesOf(ctx: LayerCtx, m: Mapping): number {
  return dramBytesOfTiling(ctx, tilingOf(ctx.layer, m));
}
