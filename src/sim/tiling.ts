/**
 * The one definition of how a layer is tiled under a Mapping. Timing (mapper.ts evaluate), the mapping
 * search's closed forms (DRAM bytes, compute lower bound, footprints: memory.ts, mapper.ts) and functional
 * execution (functional.ts, verifyAgainstGolden) all read it; nothing else writes the loop nest.
 *
 * Loop nest (Timeloop-style: a mapping is tile sizes plus a loop order; one temporal level):
 *   m  output-row bands of `rowsPerTile` rows at full output width (the GEMM's M = rows x Wo)
 *   n  output-channel tiles of `channelsPerTile` channels
 *   k  input-channel k-tiles of `cinPerTile` channels, always innermost (partial sums stay in the outputs
 *      buffer and never go to DRAM)
 *   order 'nmk' = for n { for m { for k } },  'mnk' = for m { for n { for k } }.
 * Tile sizes are clamped to the layer; the last tile of a dimension holds the remainder.
 *
 * Per tile: output rows [oy0, oy1), output channels [c0, c0 + nt), input channels [k0, k0 + ct), first/last
 * k-tile, the band's input rows [lo, hi) including the window halo (inputRows), and the rows of the
 * actscale window side input the band reads.
 *
 * Operand tiles (residency): an operand tile stays in its buffer while its key is unchanged from one tile to
 * the next and is (re)loaded when the key changes:
 *   weights and folded params   key (n, k)
 *   main input                  (m)     real convs and FC: all input channels (never split along K, so the
 *                                       fp32 accumulation order is the golden model's)
 *                               (m, n)  channel-wise layers (pooling, stand-alone post-ops): input
 *                                       channels = the output channel tile
 *                               (m, k)  binary convs: the k-tile's packed input channels
 *   window side input (XNOR-Net actscale x, all channels)   (m), checked once per output tile (its last k-tile)
 *   element-wise side inputs and outputs: once per output tile (m, n), at its last k-tile.
 *
 * Reload rule (derivation). Number the loops 0 (outer) to 2 (inner) with trip counts t_0..t_2. Stepping to
 * the next tile increments some loop j and resets every inner loop to 0, so loop i's value changes iff i = j,
 * or i > j and t_i > 1. A key over dims S therefore changes iff S holds a dim with t > 1 at a level >= j.
 * With L_S = the innermost level of such a dim (-1 if there is none) the tile is reloaded iff L_S >= j; the
 * first tile counts as j = -1 (always loaded). Over the whole nest the key is a function of the loop prefix
 * 0..L_S and every change of that prefix changes the key, so each distinct operand tile is loaded
 * prod_{i <= L_S, i not in S} t_i times (the outer non-key loops replay it). The window side input's key is
 * checked on the nest of output tiles (loops 0 and 1, k dropped); k being innermost, its L_S and load count
 * are the same formulas.
 *
 * Tile classes (for the closed forms the mapping search needs): per dimension the tiles come in at most two
 * sizes, full (count floor(total / size)) and the remainder (count 1); k-tiles also differ in position
 * (first, middle, last: partial-sum traffic). The classes are the product of the per-dimension classes with
 * multiplicities; the cursor tags every tile with its class, so a closed form over the classes sums exactly
 * what the walk over the tiles sums (tested against a naive nest in test/sim/tiling.test.ts).
 */
import type { SimLayer } from './layers.ts';

export type Order = 'nmk' | 'mnk';
export interface Mapping { rowsPerTile: number; channelsPerTile: number; cinPerTile: number; order: Order }

/** Loop dimensions: m = output-row bands, n = output-channel tiles, k = input-channel k-tiles. */
export type Dim = 'm' | 'n' | 'k';
/** The loop nest of each order, outermost first. */
export const LOOP_NEST: Readonly<Record<Order, readonly [Dim, Dim, Dim]>> = { nmk: ['n', 'm', 'k'], mnk: ['m', 'n', 'k'] };

/** What of a layer the tiling reads (a SimLayer provides it). */
export type TiledLayer = Pick<SimLayer, 'out' | 'cin' | 'kh' | 'stride' | 'pad' | 'input' | 'unit' | 'channelwise' | 'actWindow' | 'sideInputs'>;

/** Input rows [lo, hi) read by output rows [oy0, oy1) of a window (kernel rows k, stride s, pad p) over `inH` rows. */
export function inputRows(oy0: number, oy1: number, k: number, s: number, p: number, inH: number): [number, number] {
  return [Math.max(0, oy0 * s - p), Math.min(inH, (oy1 - 1) * s - p + k)];
}

/** Input rows touched by any of `Ho` output rows' windows (a stride larger than the kernel skips rows). */
export function touchedRows(Ho: number, k: number, s: number, p: number, inH: number): number {
  let n = 0, covered = 0; // rows [0, covered) already counted
  for (let oy = 0; oy < Ho; oy++) {
    const lo = Math.max(covered, oy * s - p, 0), hi = Math.min(inH, oy * s - p + k);
    if (hi > lo) { n += hi - lo; covered = hi; }
  }
  return n;
}

/** Reuse of one operand's tiles under a loop order (see the reload rule above). */
export interface Reuse {
  /** loop dims the operand tile depends on */
  key: readonly Dim[];
  /** innermost loop level (0 = outermost) of a key dim with more than one trip; -1 when there is none */
  level: number;
  /** how many times each distinct operand tile is loaded over the layer */
  loadsPerTile: number;
}

/** Tiles of one shape and k position, and how many there are. */
export interface TileClass { rows: number; channels: number; cin: number; firstK: boolean; lastK: boolean; count: number }

/** Per band of a given height: first row, rows, input rows [lo, hi) with the halo, window rows [lo, hi). */
export interface Bands {
  first: Int32Array; rows: Int32Array; inLo: Int32Array; inHi: Int32Array; winLo: Int32Array; winHi: Int32Array;
  /** sums and maxima over the bands of the input rows and the window rows */
  inRowsSum: number; winRowsSum: number; inRowsMax: number; winRowsMax: number;
}

export interface Tiling {
  readonly layer: TiledLayer; readonly mapping: Mapping;
  /** tile sizes clamped to the layer (the full tiles) */
  readonly rowsPerTile: number; readonly channelsPerTile: number; readonly cinPerTile: number;
  readonly bands: number; readonly channelTiles: number; readonly kTiles: number; readonly tiles: number;
  /**
   * The size classes per dimension, as numbers: full bands (rowsPerTile rows each) and the remainder band's
   * rows (0: none), likewise for channel tiles; the last k-tile's input channels. forEachClass and
   * tileClasses derive the tile classes from these.
   */
  readonly fullBands: number; readonly remRows: number; readonly fullChannelTiles: number; readonly remChannels: number; readonly lastCin: number;
  readonly nest: readonly [Dim, Dim, Dim];
  /** trip counts of the nest's loops, outermost first */
  readonly trip0: number; readonly trip1: number; readonly trip2: number;
  /** the band table (bandsOf) */
  readonly band: Bands;
  /** the reload rule per operand as numbers (weights, main input, window side input): level and loads per tile */
  readonly weightsLevel: number; readonly weightsLoads: number; readonly inputLevel: number; readonly inputLoads: number; readonly windowLevel: number; readonly windowLoads: number;
  /** the dims the main input tile depends on */
  readonly inputKey: readonly Dim[];
}

/**
 * The k-tile classes by position: the first (it starts the partial sums), the middle ones (full size), the
 * last (it completes the output tile; the remainder size); a single k-tile is first and last. Class c of
 * kClassCount: c = 0 first, kClassCount - 1 last, else middle.
 */
export function kClassCount(t: Tiling): number { return t.kTiles < 3 ? t.kTiles : 3; }
function kClassSize(t: Tiling, c: number, n: number): number { return c === n - 1 ? t.lastCin : t.cinPerTile; }
function kClassTiles(t: Tiling, c: number, n: number): number { return c === 0 || c === n - 1 ? 1 : t.kTiles - 2; }

/**
 * Every tile class of a tiling in class-index order (row class, then channel class, then k class: the
 * cursor's `cls`), as the product of the per-dimension classes: f(rows, channels, cin, firstK, lastK, count).
 * Allocates nothing: the mapping search runs it for every feasible candidate.
 */
export function forEachClass(t: Tiling, f: (rows: number, channels: number, cin: number, firstK: boolean, lastK: boolean, count: number) => void): void {
  const nr = t.remRows ? 2 : 1, nn = t.remChannels ? 2 : 1, nk = kClassCount(t);
  for (let a = 0; a < nr; a++) for (let b = 0; b < nn; b++) for (let c = 0; c < nk; c++) {
    f(a ? t.remRows : t.rowsPerTile, b ? t.remChannels : t.channelsPerTile, kClassSize(t, c, nk), c === 0, c === nk - 1,
      (a ? 1 : t.fullBands) * (b ? 1 : t.fullChannelTiles) * kClassTiles(t, c, nk));
  }
}

/** Every tile class of a tiling with its multiplicity, in class-index order (a tile's class is TileCursor.cls). */
export function tileClasses(t: Tiling): TileClass[] {
  const out: TileClass[] = [];
  forEachClass(t, (rows, channels, cin, firstK, lastK, count) => { out.push({ rows, channels, cin, firstK, lastK, count }); });
  return out;
}

/** Dims as bits (m = 1, n = 2, k = 4), and each order's loops as bits: the reload rule runs for every candidate mapping. */
const BIT_M = 1, BIT_N = 2, BIT_K = 4;
const DIM_BIT: Record<Dim, number> = { m: BIT_M, n: BIT_N, k: BIT_K };
const NEST_BITS = Object.fromEntries(Object.entries(LOOP_NEST).map(([o, nest]) => [o, nest.map((d) => DIM_BIT[d])])) as Record<Order, number[]>;
const KEY_M: readonly Dim[] = ['m'], KEY_MN: readonly Dim[] = ['m', 'n'], KEY_MK: readonly Dim[] = ['m', 'k'];

/** The dims the main input tile depends on (see the header). */
export function inputKey(layer: TiledLayer): readonly Dim[] {
  return layer.unit === 'real-unit' ? KEY_M : layer.channelwise ? KEY_MN : KEY_MK;
}
function inputKeyBits(layer: TiledLayer): number {
  return layer.unit === 'real-unit' ? BIT_M : layer.channelwise ? BIT_M | BIT_N : BIT_M | BIT_K;
}

/** The reload rule's L_S (header) for key bits over loops with bits b0..b2 and trip counts t0..t2. */
function reloadLevel(key: number, b0: number, b1: number, b2: number, t0: number, t1: number, t2: number): number {
  return t2 > 1 && key & b2 ? 2 : t1 > 1 && key & b1 ? 1 : t0 > 1 && key & b0 ? 0 : -1;
}
/** Loads per distinct operand tile: the trip counts of the non-key loops at or outside the reload level. */
function loadsPerTile(key: number, level: number, b0: number, b1: number, t0: number, t1: number): number {
  return (level >= 0 && !(key & b0) ? t0 : 1) * (level >= 1 && !(key & b1) ? t1 : 1);
}

const bandCache = new WeakMap<TiledLayer, Map<number, Bands>>();
let lastLayer: TiledLayer | undefined, lastBands: Map<number, Bands> | undefined; // the mapping search asks for one layer many times

/** The band table of a layer for bands of `r` rows (memoised per layer object). */
export function bandsOf(layer: TiledLayer, r: number): Bands {
  let m = layer === lastLayer ? lastBands : bandCache.get(layer);
  if (!m) { m = new Map(); bandCache.set(layer, m); }
  lastLayer = layer; lastBands = m;
  let b = m.get(r);
  if (b) return b;
  const Ho = layer.out.h, nb = Math.ceil(Ho / r);
  const aw = layer.actWindow, xSide = layer.sideInputs.find((x) => x.role === 'window');
  b = { first: new Int32Array(nb), rows: new Int32Array(nb), inLo: new Int32Array(nb), inHi: new Int32Array(nb), winLo: new Int32Array(nb), winHi: new Int32Array(nb), inRowsSum: 0, winRowsSum: 0, inRowsMax: 0, winRowsMax: 0 };
  for (let i = 0; i < nb; i++) {
    const oy0 = i * r, oy1 = Math.min(Ho, oy0 + r);
    b.first[i] = oy0; b.rows[i] = oy1 - oy0;
    const [lo, hi] = inputRows(oy0, oy1, layer.kh, layer.stride, layer.pad, layer.input.h);
    b.inLo[i] = lo; b.inHi[i] = hi;
    b.inRowsSum += hi - lo; b.inRowsMax = Math.max(b.inRowsMax, hi - lo);
    if (aw && xSide) {
      const [a0, a1] = inputRows(oy0, oy1, aw.kernel, aw.stride, aw.pad, xSide.h);
      b.winLo[i] = a0; b.winHi[i] = a1;
      b.winRowsSum += a1 - a0; b.winRowsMax = Math.max(b.winRowsMax, a1 - a0);
    }
  }
  m.set(r, b);
  return b;
}

/** The tiling of `layer` under mapping `m` (plain numbers; built for every candidate the mapper considers). */
export function tilingOf(layer: TiledLayer, m: Mapping): Tiling {
  const Ho = layer.out.h, N = layer.out.c, cin = layer.cin;
  const r = Math.min(m.rowsPerTile, Ho), nt = Math.min(m.channelsPerTile, N), ct = Math.min(m.cinPerTile, cin);
  const nb = Math.ceil(Ho / r), nn = Math.ceil(N / nt), nk = Math.ceil(cin / ct);
  const fullBands = Math.floor(Ho / r), fullChannelTiles = Math.floor(N / nt);
  // the nest's loops (k innermost in both orders): trip counts and dims as bits
  const nest = LOOP_NEST[m.order], bits = NEST_BITS[m.order];
  const mOuter = nest[0] === 'm';
  const t0 = mOuter ? nb : nn, t1 = mOuter ? nn : nb;
  const b0 = bits[0], b1 = bits[1], b2 = bits[2];
  const inKey = inputKeyBits(layer), wKey = BIT_N | BIT_K;
  const weightsLevel = reloadLevel(wKey, b0, b1, b2, t0, t1, nk), inputLevel = reloadLevel(inKey, b0, b1, b2, t0, t1, nk), windowLevel = reloadLevel(BIT_M, b0, b1, b2, t0, t1, nk);
  return {
    layer, mapping: m, rowsPerTile: r, channelsPerTile: nt, cinPerTile: ct, bands: nb, channelTiles: nn, kTiles: nk, tiles: nb * nn * nk,
    fullBands, remRows: Ho - fullBands * r, fullChannelTiles, remChannels: N - fullChannelTiles * nt, lastCin: cin - (nk - 1) * ct,
    nest, trip0: t0, trip1: t1, trip2: nk, band: bandsOf(layer, r),
    weightsLevel, weightsLoads: loadsPerTile(wKey, weightsLevel, b0, b1, t0, t1),
    inputLevel, inputLoads: loadsPerTile(inKey, inputLevel, b0, b1, t0, t1),
    windowLevel, windowLoads: loadsPerTile(BIT_M, windowLevel, b0, b1, t0, t1),
    inputKey: inputKey(layer),
  };
}

/** The reuse records of a tiling's operands (the numbers above with their keys). */
export function reuseOf(t: Tiling): { weights: Reuse; input: Reuse; window: Reuse } {
  return {
    weights: { key: ['n', 'k'], level: t.weightsLevel, loadsPerTile: t.weightsLoads },
    input: { key: t.inputKey, level: t.inputLevel, loadsPerTile: t.inputLoads },
    window: { key: ['m'], level: t.windowLevel, loadsPerTile: t.windowLoads },
  };
}

/** Position of tile (band, n, k) in loop order. */
export function tileIndex(t: Tiling, band: number, n: number, k: number): number {
  return t.nest[0] === 'n' ? (n * t.bands + band) * t.kTiles + k : (band * t.channelTiles + n) * t.kTiles + k;
}

/**
 * Walks the tiles of a tiling in loop order, one tile per next(), updating its fields in place (no
 * allocation per tile: the timing model runs this for every candidate mapping).
 */
export class TileCursor {
  /** position in loop order (-1 before the first next()) */
  index = -1;
  band = 0; n = 0; k = 0;
  /** output rows [oy0, oy1), rows = oy1 - oy0 */
  oy0 = 0; oy1 = 0; rows = 0;
  /** output channels [c0, c0 + channels) */
  c0 = 0; channels = 0;
  /** input channels of the k-tile [k0, k0 + cin) */
  k0 = 0; cin = 0;
  firstK = true; lastK = true;
  /** the tile's class: index into tileClasses(t) (forEachClass order) */
  cls = 0;
  /** the band's input rows [inLo, inHi) including the window halo, and its window side-input rows [winLo, winHi) */
  inLo = 0; inHi = 0; winLo = 0; winHi = 0;
  /** loop level that changed on entering this tile (-1 for the first tile), and that of this output tile's first k-tile */
  changed = -1; outChanged = -1;
  /** operand tiles (re)loaded at this tile; loadWindow only on an output tile's last k-tile */
  loadWeights = true; loadInput = true; loadWindow = true;
  private c = [0, 0, 0];
  /** class index of the current output tile's first k class */
  private outCls = 0;
  private done = false;
  private readonly mOuter: boolean;
  /** classes per dimension (full / remainder; k: first / middle / last) */
  private readonly rCls: number; private readonly nCls: number; private readonly kCls: number;
  private readonly wLevel: number; private readonly inLevel: number; private readonly winLevel: number;
  constructor(readonly t: Tiling) {
    this.mOuter = t.nest[0] === 'm';
    this.rCls = t.remRows ? 2 : 1; this.nCls = t.remChannels ? 2 : 1; this.kCls = kClassCount(t);
    this.wLevel = t.weightsLevel; this.inLevel = t.inputLevel; this.winLevel = t.windowLevel;
  }

  /** Advances to the next tile; false (and stays false) after the last one. */
  next(): boolean {
    const t = this.t, c = this.c;
    if (this.done) return false;
    let changed: number;
    if (this.index < 0) { c[0] = 0; c[1] = 0; c[2] = 0; changed = -1; }
    else if (++c[2] < t.trip2) changed = 2;
    else {
      c[2] = 0;
      if (++c[1] < t.trip1) changed = 1;
      else {
        c[1] = 0;
        if (++c[0] >= t.trip0) { this.done = true; return false; }
        changed = 0;
      }
    }
    this.index++;
    this.changed = changed;
    if (changed < 2) {
      // a new output tile (band and/or channel tile): its geometry, class and the level that changed
      const band = this.mOuter ? c[0] : c[1], n = this.mOuter ? c[1] : c[0];
      this.band = band; this.n = n;
      const b = t.band;
      this.oy0 = b.first[band]; this.rows = b.rows[band]; this.oy1 = this.oy0 + this.rows;
      this.inLo = b.inLo[band]; this.inHi = b.inHi[band]; this.winLo = b.winLo[band]; this.winHi = b.winHi[band];
      this.c0 = n * t.channelsPerTile; this.channels = Math.min(t.channelsPerTile, t.layer.out.c - this.c0);
      this.outCls = ((band === t.bands - 1 && this.rCls > 1 ? 1 : 0) * this.nCls + (n === t.channelTiles - 1 && this.nCls > 1 ? 1 : 0)) * this.kCls;
      this.outChanged = changed;
    }
    const k = c[2], nk = t.kTiles;
    this.k = k;
    this.k0 = k * t.cinPerTile; this.cin = Math.min(t.cinPerTile, t.layer.cin - this.k0);
    this.firstK = k === 0; this.lastK = k === nk - 1;
    this.loadWeights = this.wLevel >= changed;
    this.loadInput = this.inLevel >= changed;
    this.loadWindow = this.lastK && this.winLevel >= this.outChanged;
    this.cls = this.outCls + (k === 0 ? 0 : k === nk - 1 ? this.kCls - 1 : 1);
    return true;
  }
}

/** One tile's fields, copied out of a cursor (for code that keeps tiles). */
export type Tile = Pick<TileCursor, 'index' | 'band' | 'n' | 'k' | 'oy0' | 'oy1' | 'rows' | 'c0' | 'channels' | 'k0' | 'cin' | 'firstK' | 'lastK' | 'cls' | 'inLo' | 'inHi' | 'winLo' | 'winHi' | 'loadWeights' | 'loadInput' | 'loadWindow'>;

/** Every tile of a tiling in loop order. */
export function tilesOf(t: Tiling): Tile[] {
  const out: Tile[] = [];
  const c = new TileCursor(t);
  while (c.next()) {
    out.push({ index: c.index, band: c.band, n: c.n, k: c.k, oy0: c.oy0, oy1: c.oy1, rows: c.rows, c0: c.c0, channels: c.channels, k0: c.k0, cin: c.cin, firstK: c.firstK, lastK: c.lastK, cls: c.cls, inLo: c.inLo, inHi: c.inHi, winLo: c.winLo, winHi: c.winHi, loadWeights: c.loadWeights, loadInput: c.loadInput, loadWindow: c.loadWindow });
  }
  return out;
}
