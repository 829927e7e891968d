/**
 * Memory service (SCALE-Sim's memory side: compute.ts produces each tile's demand, this module serves it):
 * the bytes of every operand tile in the buffers and in DRAM, per-buffer footprints, DMA bursts, the SRAM
 * port limit and the double-buffered tile pipeline that turns demand + transfers into cycles and stalls, and
 * the closed-form DRAM bytes of a tiling (which operand tiles are (re)loaded is the tiling's, tiling.ts).
 *
 * Pipeline, per tile i in loop order (analytic per tile; no per-cycle loop):
 *   W_i    = max(compute_i + postOp_i, max over buffers of ceil(bytes_i / bandwidth))   (SRAM ports can throttle)
 *   d(x)   = x > 0 ? latency + ceil(x / dramBytesPerCycle) : 0                          (one DMA burst)
 *   period_i = d(exposed loads_i) [i > 0] + max(W_i, d(loads_{i+1} + stores_{i-1}) over double-buffered
 *              buffers) + d(exposed stores_i) [i < last]
 *   fill   = d(all loads of tile 0)        drain = d(all stores of the last tile)
 *   layer cycles = fill + sum_i period_i + drain
 * i.e. with double buffering the DMA of the next tile's operands and of the previous tile's results overlaps
 * this tile's compute; single-buffered operands are moved serially ("exposed"). Each term is non-increasing in
 * DRAM and SRAM bandwidth and non-decreasing in the compute demand.
 */
import type { BufferName } from './arch.ts';
import { bitsPixelBytes } from './layers.ts';
import type { LayerCtx } from './mapper.ts';
import { touchedRows, type TileCursor, type Tiling } from './tiling.ts';

/** Buffer indices of the per-buffer Float64Arrays. */
export const BI: Record<BufferName, number> = { weights: 0, inputs: 1, realStream: 2, outputs: 3 };

// ---------------------------------------------------------------- operand tile sizes (buffer and DRAM bytes)

/** Weights (binary: packed per tap; real: the unit's operand width) and folded 32-bit params of nt output channels x ct input channels. */
export function weightTileBytes(ctx: LayerCtx, nt: number, ct: number): number {
  const l = ctx.layer;
  if (l.unit === 'pooling' || l.unit === 'ppu') return nt * l.paramWordsPerChannel * 4;
  const w = l.binary ? nt * ctx.kh * ctx.kw * ctx.tapBytes(ct) : nt * ctx.kh * ctx.kw * ct * ctx.realWeightBytes;
  return w + nt * l.paramWordsPerChannel * 4;
}

/** The main input of a band of `inRows` rows (full width) for a tile of nt output / ct input channels. */
export function inputTileBytes(ctx: LayerCtx, inRows: number, nt: number, ct: number): number {
  return inRows * ctx.Win * ctx.inPixelBytes(ctx.layer.channelwise ? nt : ct);
}

/** Element-wise side inputs of an mt x nt output tile and the window side input's xRows rows (all channels). */
export function sideTileBytes(ctx: LayerCtx, mt: number, nt: number, xRows: number): number {
  let b = 0;
  for (const si of ctx.layer.sideInputs) b += si.role === 'elementwise' ? mt * nt * ctx.realBytes : xRows * si.w * si.c * ctx.realBytes;
  return b;
}

/** The layer's DRAM outputs of an mt x nt output tile: real ones (realStream buffer) and packed ones (outputs buffer). */
export function outTileBytes(ctx: LayerCtx, mt: number, nt: number): { real: number; bits: number } {
  let real = 0, bits = 0;
  for (const o of ctx.layer.outputs) { if (o.dtype === 'bits') bits += mt * bitsPixelBytes(nt, ctx.arch); else real += mt * nt * ctx.realBytes; }
  return { real, bits };
}

/** Per-buffer bytes of the largest tile of a tiling (before double buffering). */
export function footprint(ctx: LayerCtx, t: Tiling): Record<BufferName, number> {
  const f: Record<BufferName, number> = { weights: 0, inputs: 0, realStream: 0, outputs: 0 };
  const nt = t.channelsPerTile, ct = t.cinPerTile, mt = t.rowsPerTile * ctx.Wo;
  const res = ctx.res;
  // resident operands live in reserved space outside the tiles (residency.ts)
  if (!res.input) f[ctx.inputBuffer] += inputTileBytes(ctx, t.band.inRowsMax, nt, ct);
  if (!res.weights) f.weights += weightTileBytes(ctx, nt, ct);
  ctx.layer.sideInputs.forEach((si, i) => {
    if (!res.sides[i]) f.realStream += si.role === 'elementwise' ? mt * nt * ctx.realBytes : t.band.winRowsMax * si.w * si.c * ctx.realBytes;
  });
  ctx.layer.outputs.forEach((o, i) => {
    if (res.outputs[i]) return;
    if (o.dtype === 'bits') f.outputs += mt * bitsPixelBytes(nt, ctx.arch); else f.realStream += mt * nt * ctx.realBytes;
  });
  f.outputs += mt * nt * ctx.accBytes;
  return f;
}

// ---------------------------------------------------------------- DMA and the tile pipeline

/** One DMA burst of x bytes: latency + ceil(x / bytes per cycle), 0 when nothing moves. */
export function dmaCycles(x: number, lat: number, bw: number): number { return x > 0 ? lat + Math.ceil(x / bw - 1e-9) : 0; }

/** Per-tile work and transfers in loop order: W, loads / stores that overlap compute (double-buffered) and exposed ones. */
export interface TileTransfers { W: Float64Array; Lov: Float64Array; Lex: Float64Array; Sov: Float64Array; Sex: Float64Array }

/** period_j of the pipeline (header formula) for j < T; `nextLov` = Lov[j+1] (0 for the last tile). */
export function periodOf(tr: TileTransfers, j: number, T: number, nextLov: number, lat: number, bw: number): number {
  return (j > 0 ? dmaCycles(tr.Lex[j], lat, bw) : 0) + Math.max(tr.W[j], dmaCycles(nextLov + (j > 0 ? tr.Sov[j - 1] : 0), lat, bw)) + (j < T - 1 ? dmaCycles(tr.Sex[j], lat, bw) : 0);
}

// per-tile arrays shared by every TileService, grown on demand (one layer evaluation at a time)
let scratchN = 0;
const shared: TileTransfers = { W: new Float64Array(0), Lov: new Float64Array(0), Lex: new Float64Array(0), Sov: new Float64Array(0), Sex: new Float64Array(0) };
function scratch(T: number): TileTransfers {
  if (T > scratchN) {
    scratchN = Math.max(T, 2 * scratchN);
    shared.W = new Float64Array(scratchN); shared.Lov = new Float64Array(scratchN); shared.Lex = new Float64Array(scratchN); shared.Sov = new Float64Array(scratchN); shared.Sex = new Float64Array(scratchN);
  }
  return shared;
}

/**
 * Serves the tiles of one layer evaluation in loop order: for each tile, the DMA of the operand tiles the
 * tiling (re)loads (weights, main input, side inputs) and of its results, split into overlapped
 * (double-buffered) and exposed transfers, the buffers' fill and drain accesses on top of the tile's
 * array-side accesses (its compute demand), and W_i; then the pipeline (finish). Not re-entrant: the
 * per-tile arrays are shared.
 */
export class TileService {
  readonly tr: TileTransfers;
  /** SRAM bytes read / written per buffer (BI), DMA bytes per operand */
  readonly rd = new Float64Array(4); readonly wr = new Float64Array(4);
  weightBytes = 0; inputBytes = 0;
  readonly sideBytes: Float64Array; readonly outBytes: Float64Array;
  /** this tile's transfers (also in tr at index i) */
  lov = 0; lex = 0; sov = 0; sex = 0;
  private readonly dblW: boolean; private readonly dblIn: boolean; private readonly dblRS: boolean; private readonly dblOut: boolean;
  private readonly bwB: number[];
  private readonly inToInputs: boolean; private readonly poolLineBuffer: boolean;
  constructor(private readonly ctx: LayerCtx, readonly T: number) {
    this.tr = scratch(T);
    const buf = ctx.arch.buffers;
    this.dblW = buf.weights.doubleBuffered; this.dblIn = buf[ctx.inputBuffer].doubleBuffered; this.dblRS = buf.realStream.doubleBuffered; this.dblOut = buf.outputs.doubleBuffered;
    this.bwB = [buf.weights.bandwidthBytesPerCycle, buf.inputs.bandwidthBytesPerCycle, buf.realStream.bandwidthBytesPerCycle, buf.outputs.bandwidthBytesPerCycle];
    this.inToInputs = BI[ctx.inputBuffer] === 1;
    this.poolLineBuffer = ctx.exec === 'pooling';
    this.sideBytes = new Float64Array(ctx.layer.sideInputs.length); this.outBytes = new Float64Array(ctx.layer.outputs.length);
  }

  /**
   * Tile i (the cursor's current tile) with its array-side accesses `sr` / `sw` and its compute + post-op
   * cycles `busy`: moves what the tiling says, accounts the buffer accesses and sets W_i.
   */
  serve(i: number, cur: TileCursor, sr: Float64Array, sw: Float64Array, busy: number): void {
    const ctx = this.ctx, layer = ctx.layer;
    const nt = cur.channels, ct = cur.cin, mt = cur.rows * ctx.Wo;
    let r0 = sr[0], r1 = sr[1], r2 = sr[2], r3 = sr[3];
    let w0 = sw[0], w1 = sw[1], w2 = sw[2], w3 = sw[3];
    let lov = 0, lex = 0, sov = 0, sex = 0;
    const res = ctx.res;
    if (cur.loadWeights && !res.weights) {
      const wb = weightTileBytes(ctx, nt, ct);
      if (wb > 0) { if (this.dblW) lov += wb; else lex += wb; w0 += wb; this.weightBytes += wb; }
    }
    if (cur.loadInput && !res.input) {
      const ib = inputTileBytes(ctx, cur.inHi - cur.inLo, nt, ct);
      if (this.dblIn) lov += ib; else lex += ib;
      if (this.inToInputs) w1 += ib; else w2 += ib;
      if (this.poolLineBuffer) r2 += ib; // line buffer: every input value read once
      this.inputBytes += ib;
    }
    if (cur.lastK) {
      // side inputs: element-wise per output tile; the actscale window (all channels of x) when the tiling reloads it
      const sides = layer.sideInputs;
      for (let si = 0; si < sides.length; si++) {
        const sd = sides[si];
        if (res.sides[si]) continue;
        let sb = 0;
        if (sd.role === 'elementwise') sb = mt * nt * ctx.realBytes;
        else if (cur.loadWindow) { sb = (cur.winHi - cur.winLo) * sd.w * sd.c * ctx.realBytes; r2 += sb; }
        if (sb) { if (this.dblRS) lov += sb; else lex += sb; w2 += sb; this.sideBytes[si] += sb; }
      }
      // results to DRAM: packed ones from the outputs buffer, real ones from the real-stream buffer
      const outs = layer.outputs;
      for (let oi = 0; oi < outs.length; oi++) {
        const o = outs[oi];
        if (res.outputs[oi]) continue;
        if (o.dtype === 'bits') { const ob = mt * bitsPixelBytes(nt, ctx.arch); if (this.dblOut) sov += ob; else sex += ob; r3 += ob; this.outBytes[oi] += ob; }
        else { const ob = mt * nt * ctx.realBytes; if (this.dblRS) sov += ob; else sex += ob; r2 += ob; this.outBytes[oi] += ob; }
      }
    }
    const rd = this.rd, wr = this.wr, tr = this.tr;
    rd[0] += r0; rd[1] += r1; rd[2] += r2; rd[3] += r3; wr[0] += w0; wr[1] += w1; wr[2] += w2; wr[3] += w3;
    // W_i: the tile's compute + post-op cycles, or longer when a buffer's ports cannot serve its bytes in time
    const bwB = this.bwB;
    tr.W[i] = Math.max(busy, Math.ceil((r0 + w0) / bwB[0] - 1e-9), Math.ceil((r1 + w1) / bwB[1] - 1e-9), Math.ceil((r2 + w2) / bwB[2] - 1e-9), Math.ceil((r3 + w3) / bwB[3] - 1e-9));
    tr.Lov[i] = lov; tr.Lex[i] = lex; tr.Sov[i] = sov; tr.Sex[i] = sex;
    this.lov = lov; this.lex = lex; this.sov = sov; this.sex = sex;
  }

  /** The pipeline over all T served tiles: fill, drain, periods (written to start / end when given). */
  finish(times?: { start: number; end: number }[]): { fill: number; drain: number; sumPeriod: number; sumW: number; dramRead: number; dramWrite: number } {
    const tr = this.tr, T = this.T, bw = this.ctx.arch.dram.bytesPerCycle, lat = this.ctx.arch.dram.latencyCycles;
    const fill = dmaCycles(tr.Lov[0] + tr.Lex[0], lat, bw);
    const drain = dmaCycles(tr.Sov[T - 1] + tr.Sex[T - 1], lat, bw);
    let t = fill, sumW = 0, sumPeriod = 0, dramRead = 0, dramWrite = 0;
    for (let j = 0; j < T; j++) {
      const period = periodOf(tr, j, T, j + 1 < T ? tr.Lov[j + 1] : 0, lat, bw);
      if (times) { times[j].start = t; times[j].end = t + period; }
      t += period;
      sumW += tr.W[j]; sumPeriod += period;
      dramRead += tr.Lov[j] + tr.Lex[j]; dramWrite += tr.Sov[j] + tr.Sex[j];
    }
    return { fill, drain, sumPeriod, sumW, dramRead, dramWrite };
  }
}

// ---------------------------------------------------------------- DRAM bytes in closed form

/**
 * DRAM bytes of a tiling in closed form (equals the tile walk's count in evaluate(); tested): each operand's
 * distinct tiles, summed over the tiling's size classes, times the loads per tile of its reuse (tiling.ts);
 * element-wise side inputs and outputs move once. `inRowsSum` / `winRowsSum` are the input and window rows
 * summed over the bands. Every term is an integer or a multiple of 1/8 byte far below 2^50, so the grouping
 * sums exactly what the walk sums.
 */
function dramBytesClosed(ctx: LayerCtx, t: Tiling, inRowsSum: number, winRowsSum: number): number {
  const { layer } = ctx;
  const key = t.inputKey, inByN = key.includes('n'), inByK = key.includes('k');
  // per channel-tile class (size nt, count cn): its weight tiles over the k-tiles ((kTiles - 1) full and the
  // last), its input pixel bytes (channel-wise layers) and its packed output pixel bytes
  let wAll = 0, inPixN = 0, bitsPix = 0;
  for (let b = 0; b < (t.remChannels ? 2 : 1); b++) {
    const nt = b ? t.remChannels : t.channelsPerTile, cn = b ? 1 : t.fullChannelTiles;
    wAll += cn * ((t.kTiles - 1) * weightTileBytes(ctx, nt, t.cinPerTile) + weightTileBytes(ctx, nt, t.lastCin));
    if (inByN) inPixN += cn * ctx.inPixelBytes(nt);
    bitsPix += cn * bitsPixelBytes(nt, ctx.arch);
  }
  const res = ctx.res;
  let bytes = res.weights ? 0 : t.weightsLoads * wAll;
  // the main input's channels follow its key: the output channel tiles, the k-tiles or all channels
  const inPix = inByN ? inPixN : inByK ? (t.kTiles - 1) * ctx.inPixelBytes(t.cinPerTile) + ctx.inPixelBytes(t.lastCin) : ctx.inPixelBytes(ctx.cin);
  if (!res.input) bytes += t.inputLoads * inRowsSum * ctx.Win * inPix;
  for (let i = 0; i < layer.sideInputs.length; i++) {
    const si = layer.sideInputs[i];
    if (res.sides[i]) continue;
    if (si.role === 'elementwise') bytes += ctx.Ho * ctx.Wo * ctx.N * ctx.realBytes;
    else bytes += t.windowLoads * winRowsSum * si.w * si.c * ctx.realBytes;
  }
  for (let i = 0; i < layer.outputs.length; i++) if (!res.outputs[i]) bytes += layer.outputs[i].dtype === 'bits' ? ctx.Ho * ctx.Wo * bitsPix : ctx.Ho * ctx.Wo * ctx.N * ctx.realBytes;
  return bytes;
}

/** DRAM bytes of a tiling (reads + writes). */
export function dramBytesOfTiling(ctx: LayerCtx, t: Tiling): number {
  return dramBytesClosed(ctx, t, t.band.inRowsSum, t.band.winRowsSum);
}

/**
 * Compulsory DRAM bytes: the layer as one tile (every operand and output moved once), with the input and the
 * window counted by the rows the windows touch (touchedRows) rather than the band's span.
 */
export function compulsoryBytes(ctx: LayerCtx, whole: Tiling): number {
  const aw = ctx.layer.actWindow, win = ctx.layer.sideInputs.find((x) => x.role === 'window');
  const winRows = aw && win ? touchedRows(ctx.Ho, aw.kernel, aw.stride, aw.pad, win.h) : 0;
  return dramBytesClosed(ctx, whole, touchedRows(ctx.Ho, ctx.kh, ctx.s, ctx.p, ctx.Hin), winRows);
}
