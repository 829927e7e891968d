/**
 * Inter-layer fusion and on-chip residency: which tensors between layers never go to DRAM, which layers run
 * fused band by band, which weights stay on chip, and the per-layer contexts (mapper.ts LayerCtx) that
 * result. The layer model itself (tiling, compute, memory service) is unchanged: residency only removes DMA
 * transfers of resident operands and reserves their buffer space, so fewer bytes remain for the tiles.
 *
 * Follows fused-layer CNN accelerators (Alwani et al., "Fused-Layer CNN Accelerators", MICRO 2016): a chain
 * of consecutive layers executes band by band (output rows), each layer advancing one band of at most R rows
 * at a time in the chain's order, so an intermediate tensor only needs the rows between its producer's latest
 * band and its consumers' windows on chip; overlapping halo rows are kept (Alwani's reuse variant), so
 * nothing is recomputed (recomputed rows = 0, reported).
 *
 * Residency of a tensor t (producer P, consumers C_1..C_k; the network inputs (the input and the inputs of
 * independent segments, ir/segments.ts) and outputs always use DRAM):
 *   'band'   P and every consumer lie in one fused chain. Rows held (derivation): when consumer C computes
 *            its band of <= R output rows it reads input rows [oy0*s - p, (oy0+R-1)*s - p + k) (main input,
 *            window k, stride s), R rows (an element-wise side input) or the window side input's rows; the
 *            producer meanwhile writes its next band of <= R rows. So the rolling buffer holds at most
 *            max_C(need_C) + R rows (capped at the tensor's height) x width x bytes per pixel.
 *   'whole'  the whole tensor stays in its home buffer from P to its last consumer (x batch frames: layers
 *            run layer-major over the batch).
 *   'dram'   today's model: stored by P, loaded by each consumer.
 * The home buffer of a resident tensor is the one its first consumer reads it from (PE-array layers read
 * their main input from `inputs`, other units and side inputs from `realStream`).
 * Weights: the weights of every layer of a fused chain stay resident for the whole chain (a band schedule
 * revisits every layer once per band); an unfused layer's weights may be made resident for the layer, which
 * with a batch means they are fetched once per batch. Resident weights are loaded once before the layer
 * (mapper.ts preloadBytes: exposed DMA, counted in fill), never by the tiles.
 *
 * Decision (`auto`): greedy and monotone. Start from nothing resident; (1) for each layer boundary in order,
 * try fusing it (joining the chains on either side; a new chain with every band height R in ROWS_PER_BAND,
 * an extended chain with its own), then re-tune each chain's R, (2) for each tensor
 * still in DRAM try 'whole', (3) for each unfused layer try resident weights. A step is kept only when every
 * layer still has a feasible mapping, the network's DRAM bytes do not increase and the objective's score
 * (objective, then DRAM bytes or cycles) strictly improves. So `auto` is never worse than `none` under the
 * objective and never moves more DRAM bytes (tested). `none` with batch 1 is exactly the layer-by-layer
 * model; `none` with a batch still lets a layer keep its weights across the frames (step 3 only: a loop
 * order, not fusion).
 */
import type { BufferName, ResolvedArch } from './arch.ts';
import { BUFFER_NAMES } from './arch.ts';
import { bitsPixelBytes, realPixelBytes, type SimLayer } from './layers.ts';
import { CandidateSet, energyOf, layerContext, mapLayer, MappingSearch, noResidency, ShapeCandidates, sumEnergy, type LayerCtx, type LayerEval, type LayerResidency, type Mapping, type Objective } from './mapper.ts';
import { dmaCycles, weightTileBytes } from './memory.ts';
import { isNetworkInput } from '../ir/segments.ts';

export type FusionMode = 'none' | 'auto';
export const FUSION_MODES: readonly FusionMode[] = ['none', 'auto'];
/** band heights (output rows per band) tried for a fused chain */
export const ROWS_PER_BAND = [1, 2, 4, 8];

type Residency = 'dram' | 'band' | 'whole';
type Slot = { layer: number; kind: 'input' } | { layer: number; kind: 'side'; index: number };

/** A tensor passed between layers. */
export interface NetTensor {
  name: string;
  /** producing layer index; -1 for the network input */
  producer: number;
  /** output index in the producer's outputs */
  outIndex: number;
  consumers: Slot[];
  h: number; w: number; c: number; dtype: 'real' | 'bits';
  /** bytes per frame */
  bytes: number;
  pixelBytes: number;
  home: BufferName;
}

export interface ResidencyConfig {
  /** chain id per layer (-1: not fused) */
  chain: number[];
  /** band height of each chain id */
  chainRows: Map<number, number>;
  whole: Set<string>;
  weights: Set<number>;
}

/** What the planner decided, for reports. */
export interface ResidencySummary {
  fusion: FusionMode;
  batch: number;
  /** fused chains: layer ids and band height */
  chains: { layers: string[]; rowsPerBand: number }[];
  /** tensors kept on chip and how */
  residentTensors: { name: string; mode: 'band' | 'whole'; heldBytes: number; buffer: BufferName; dramBytesAvoided: number }[];
  /** layers whose weights stay on chip (loaded once per batch) */
  residentWeights: string[];
  /** rows computed twice because of fusion (reuse variant: none) */
  recomputedRows: number;
  /** greedy steps tried and kept */
  stepsTried: number; stepsKept: number;
}

export interface LayerSearch { candidates: number; feasible?: number; evaluated?: number; reusedFrom?: string }
/** framesInside: frames the evaluation already covers (the batch for a frame-stacked layer, else 1) */
export interface PlannedLayer { ctx: LayerCtx; ev: LayerEval; search: LayerSearch; framesInside: number }

/**
 * A pointwise layer (1x1 window, stride 1, no padding, no window side input: the fc, the 1x1 downsample
 * conv, element-wise groups) of a batch run layer-major sees the batch's frames as N x more output rows:
 * stacked along the rows, frame f's row y is row f*H + y, and no window reaches across frames, so the tiling
 * of the stacked layer is exact. Its mapping search can then keep a weight tile while every frame's rows
 * stream past it (weights fetched once per batch without being resident for the whole layer).
 */
export function stackFrames(l: SimLayer, n: number): SimLayer | undefined {
  if (n === 1 || l.kh !== 1 || l.kw !== 1 || l.stride !== 1 || l.pad !== 0 || l.actWindow || l.sideInputs.some((x) => x.role === 'window')) return undefined;
  const tall = <T extends { h: number }>(t: T): T => ({ ...t, h: t.h * n });
  return { ...l, input: tall(l.input), out: tall(l.out), sideInputs: l.sideInputs.map(tall), outputs: l.outputs.map(tall), bops: l.bops * n, macs: l.macs * n };
}
export interface InfeasibleLayer { ctx: LayerCtx; reason: string; candidates: number }
export interface ResidencyPlan { layers: (PlannedLayer | InfeasibleLayer)[]; summary: ResidencySummary }

/** The tensors passed between the layers (the network input and segment inputs included). */
export function netTensors(layers: SimLayer[]): NetTensor[] {
  const byName = new Map<string, NetTensor>();
  const add = (name: string, producer: number, outIndex: number, t: { h: number; w: number; c: number; dtype: 'real' | 'bits' }) => {
    if (!byName.has(name)) byName.set(name, { name, producer, outIndex, consumers: [], h: t.h, w: t.w, c: t.c, dtype: t.dtype, bytes: 0, pixelBytes: 0, home: 'realStream' });
  };
  layers.forEach((l, i) => {
    if (isNetworkInput(l.input.name)) add(l.input.name, -1, 0, l.input);
    l.outputs.forEach((o, oi) => add(o.name, i, oi, o));
  });
  layers.forEach((l, i) => {
    byName.get(l.input.name)?.consumers.push({ layer: i, kind: 'input' });
    l.sideInputs.forEach((s, si) => byName.get(s.name)?.consumers.push({ layer: i, kind: 'side', index: si }));
  });
  return [...byName.values()];
}

function withBytes(ts: NetTensor[], layers: SimLayer[], arch: ResolvedArch): NetTensor[] {
  return ts.map((t) => {
    const pixelBytes = t.dtype === 'bits' ? bitsPixelBytes(t.c, arch) : realPixelBytes(t.c, arch);
    const first = t.consumers[0];
    let home: BufferName = 'realStream';
    if (first && first.kind === 'input') home = layerContext(layers[first.layer], arch).inputBuffer;
    return { ...t, pixelBytes, bytes: t.h * t.w * pixelBytes, home };
  });
}

/** Rows of tensor t a consumer slot needs for a band of R output rows (see the header). */
function rowsNeeded(l: SimLayer, slot: Slot, R: number): number {
  if (slot.kind === 'input') return (R - 1) * l.stride + l.kh;
  const s = l.sideInputs[slot.index];
  if (s.role === 'window' && l.actWindow) return (R - 1) * l.actWindow.stride + l.actWindow.kernel;
  return R;
}

/** A network, an arch and the options, with the per-layer evaluations memoised across configurations. */
class Evaluator {
  readonly tensors: NetTensor[];
  readonly weightBytes: number[];
  private readonly searched = new Map<string, { cap: Record<BufferName, number>; rows: number; mapping?: Mapping; footprint?: Record<BufferName, number>; from?: string; search?: LayerSearch; reason?: string; candidates?: number }[]>();
  private readonly byLayer = new Map<string, PlannedLayer | InfeasibleLayer>();
  /** the mapping search per search key, the candidates per shape and operand flags, the mappings per shape (searchOf) */
  private readonly spaces = new Map<string, MappingSearch>();
  private readonly candidates = new Map<string, CandidateSet>();
  private readonly shapes = new Map<string, ShapeCandidates>();
  /** a planned layer's batch cycles, DRAM bytes and energy (score; a layer's evaluation is memoised, so are these) */
  private readonly totals = new Map<PlannedLayer, { cycles: number; dram: number; energy: number }>();
  private readonly sig: string[];
  private readonly stacked: (SimLayer | undefined)[];
  constructor(readonly layers: SimLayer[], readonly arch: ResolvedArch, readonly objective: Objective, readonly batch: number, sigOf: (l: SimLayer) => string, readonly fixed?: Record<string, Mapping>) {
    this.tensors = withBytes(netTensors(layers), layers, arch);
    this.weightBytes = layers.map((l) => weightTileBytes(layerContext(l, arch), l.out.c, l.cin));
    this.sig = layers.map(sigOf);
    this.stacked = layers.map((l) => stackFrames(l, batch));
  }

  statusOf(t: NetTensor, cfg: ResidencyConfig): Residency {
    if (t.producer < 0 || t.consumers.length === 0) return 'dram';
    const ch = cfg.chain[t.producer];
    if (ch >= 0 && t.consumers.every((c) => cfg.chain[c.layer] === ch)) return 'band';
    return cfg.whole.has(t.name) ? 'whole' : 'dram';
  }

  heldBytes(t: NetTensor, status: Residency, cfg: ResidencyConfig): number {
    if (status === 'whole') return t.bytes * this.batch;
    if (status !== 'band') return 0;
    const R = cfg.chainRows.get(cfg.chain[t.producer])!;
    const need = Math.max(...t.consumers.map((c) => rowsNeeded(this.layers[c.layer], c, R)));
    return Math.min(t.h, need + R) * t.w * t.pixelBytes;
  }

  /** The residency of every layer under a configuration. */
  residencies(cfg: ResidencyConfig): { res: LayerResidency[]; maxRows: (number | undefined)[] } {
    const res = this.layers.map((l) => noResidency(l));
    for (const t of this.tensors) {
      const st = this.statusOf(t, cfg);
      if (st === 'dram') continue;
      const held = this.heldBytes(t, st, cfg);
      const last = Math.max(...t.consumers.map((c) => c.layer));
      for (let i = t.producer; i <= last; i++) res[i].reserved[t.home] += held;
      res[t.producer].outputs[t.outIndex] = true;
      for (const c of t.consumers) { if (c.kind === 'input') res[c.layer].input = true; else res[c.layer].sides[c.index] = true; }
    }
    // weights: a chain's weights for the whole chain; a layer's own for the layer
    const chainW = new Map<number, number>();
    this.layers.forEach((_, i) => { const ch = cfg.chain[i]; if (ch >= 0) chainW.set(ch, (chainW.get(ch) ?? 0) + this.weightBytes[i]); });
    this.layers.forEach((_, i) => {
      const ch = cfg.chain[i];
      if (ch >= 0) res[i].reserved.weights += chainW.get(ch)!;
      else if (cfg.weights.has(i)) res[i].reserved.weights += this.weightBytes[i];
      if ((ch >= 0 || cfg.weights.has(i)) && this.weightBytes[i] > 0) { res[i].weights = true; res[i].preloadBytes = this.weightBytes[i]; }
    });
    return { res, maxRows: this.layers.map((_, i) => (cfg.chain[i] >= 0 ? cfg.chainRows.get(cfg.chain[i]) : undefined)) };
  }

  /**
   * Evaluates one layer under a residency. The mapping search runs once per layer signature (layers with the
   * same geometry, operands and fused post-ops have the same best mapping), residency flags, preload and band
   * mode (free or in a band chain), and per buffer capacity left to the tiles (tileCap) and band limit. A
   * search's result is reused for a smaller tileCap or band limit when its best mapping still fits: the
   * candidates feasible under the smaller capacity or limit are a subset of those under the larger one, in
   * the same order, so the same mapping is still the (first) best; an infeasible layer stays infeasible with
   * less capacity or fewer rows. Each layer is then evaluated on its own mapping
   * (its tensor names differ).
   */
  layer(i: number, res: LayerResidency, maxRows: number | undefined): PlannedLayer | InfeasibleLayer {
    const l = this.layers[i];
    const fixed = this.fixed?.[l.id];
    const operands = `${res.input ? 1 : 0}${res.weights ? 1 : 0}${res.sides.map((x) => (x ? 1 : 0)).join('')}|${res.outputs.map((x) => (x ? 1 : 0)).join('')}`;
    const flags = `${operands}|${res.preloadBytes}|${maxRows === undefined ? 'free' : 'band'}`;
    const rv = res.reserved;
    const own = `${i}|${flags}|${maxRows ?? ''}|${rv.weights},${rv.inputs},${rv.realStream},${rv.outputs}`;
    const hit = this.byLayer.get(own);
    if (hit) return hit;
    // a pointwise layer outside a fused chain runs the whole batch as one taller layer (stackFrames)
    const stacked = maxRows === undefined ? this.stacked[i] : undefined;
    const framesInside = stacked ? this.batch : 1;
    const ctx = layerContext(stacked ?? l, this.arch, res, maxRows);
    const skey = `${fixed ? `#${l.id}` : this.sig[i]}|${flags}|${framesInside}`;
    let list = this.searched.get(skey);
    if (!list) { list = []; this.searched.set(skey, list); }
    const cap = ctx.tileCap, rows = maxRows ?? Infinity;
    // the band limit works like the capacity: fewer rows per band keep a subsequence of the candidates
    const s = list.find((e) => e.rows >= rows && (e.mapping === undefined || e.mapping.rowsPerTile <= rows) && BUFFER_NAMES.every((b) => e.cap[b] >= cap[b] && (e.footprint === undefined || e.footprint[b] <= cap[b])));
    let r: PlannedLayer | InfeasibleLayer;
    if (!s) {
      const m = fixed ? mapLayer(ctx, this.objective, fixed) : this.searchOf(skey, `${this.sig[i]}|${maxRows === undefined ? 'free' : 'band'}|${framesInside}`, operands, ctx).search(ctx);
      const search = m.feasible ? { candidates: m.candidates, feasible: m.feasibleCandidates, evaluated: m.evaluated } : undefined;
      list.push(m.feasible ? { cap, rows, mapping: m.best.mapping, footprint: m.best.footprint, from: l.id, search } : { cap, rows, reason: m.reason, candidates: m.candidates });
      r = m.feasible ? { ctx, ev: m.best, search: search!, framesInside } : { ctx, reason: m.reason, candidates: m.candidates };
    } else if (s.mapping) {
      const m = mapLayer(ctx, this.objective, s.mapping);
      r = m.feasible ? { ctx, ev: m.best, search: s.from === l.id ? s.search! : { ...s.search!, reusedFrom: s.from }, framesInside } : { ctx, reason: m.reason, candidates: m.candidates };
    } else r = { ctx, reason: s.reason!, candidates: s.candidates! };
    this.byLayer.set(own, r);
    return r;
  }

  /**
   * The mapping search of a search key, on the candidates of the layer's shape (signature, band mode, stacked
   * frames) under its operand flags (mapper.ts MappingSearch, CandidateSet, ShapeCandidates).
   */
  private searchOf(skey: string, shapeKey: string, operands: string, ctx: LayerCtx): MappingSearch {
    let s = this.spaces.get(skey);
    if (!s) {
      let shape = this.shapes.get(shapeKey);
      if (!shape) { shape = new ShapeCandidates(ctx); this.shapes.set(shapeKey, shape); }
      let set = this.candidates.get(`${shapeKey}|${operands}`);
      if (!set) { set = new CandidateSet(shape, ctx, this.objective); this.candidates.set(`${shapeKey}|${operands}`, set); }
      s = new MappingSearch(set, this.objective);
      this.spaces.set(skey, s);
    }
    return s;
  }

  /** Network score under a configuration, or undefined when a layer has no feasible mapping. */
  score(cfg: ResidencyConfig): { cycles: number; dram: number; energy: number; planned: PlannedLayer[] } | undefined {
    const { res, maxRows } = this.residencies(cfg);
    // resident tensors and weights must fit the buffers they are held in (tiles need what is left)
    for (const r of res) for (const b of BUFFER_NAMES) if (r.reserved[b] > this.arch.buffers[b].capacityBytes) return undefined;
    let cycles = 0, dram = 0, energy = 0;
    const planned: PlannedLayer[] = [];
    for (let i = 0; i < this.layers.length; i++) {
      const r = this.layer(i, res[i], maxRows[i]);
      if ('reason' in r) return undefined;
      let c = this.totals.get(r);
      if (!c) {
        const b = batchOf(r.ev, r.ctx, this.batch / r.framesInside);
        c = { cycles: b.cycles.total, dram: b.counts.dramReadBytes + b.counts.dramWriteBytes, energy: sumEnergy(energyOf(b.counts, this.arch)) };
        this.totals.set(r, c);
      }
      cycles += c.cycles; dram += c.dram; energy += c.energy;
      planned.push(r);
    }
    return { cycles, dram, energy, planned };
  }
}

/** Per-batch numbers of a layer evaluated for one frame (or one group of stacked frames), repeated `batch` times: everything x batch, except resident weights' preload (once). */
export function batchOf(ev: LayerEval, ctx: LayerCtx, batch: number): LayerEval {
  if (batch === 1) return ev;
  const pre = ctx.res.preloadBytes;
  // the preload is one exposed DMA burst (mapper.ts counts it in the fill)
  const preCycles = dmaCycles(pre, ctx.arch.dram.latencyCycles, ctx.arch.dram.bytesPerCycle);
  const c = ev.cycles, n = batch;
  const fill = n * (c.fill - preCycles) + preCycles;
  const cycles = { compute: n * c.compute, postOp: n * c.postOp, sramStall: n * c.sramStall, dramStall: n * c.dramStall, fill, drain: n * c.drain, fillDrain: fill + n * c.drain, total: n * (c.total - preCycles) + preCycles };
  const k = ev.counts;
  const sram = {} as LayerEval['counts']['sram'];
  for (const b of BUFFER_NAMES) sram[b] = { readBytes: n * k.sram[b].readBytes, writeBytes: n * k.sram[b].writeBytes - (b === 'weights' ? (n - 1) * pre : 0) };
  const counts = { ...k, dramReadBytes: n * (k.dramReadBytes - pre) + pre, dramWriteBytes: n * k.dramWriteBytes, sram, peOps: n * k.peOps, realUnitMacs: n * k.realUnitMacs, ppuMul: n * k.ppuMul, ppuAdd: n * k.ppuAdd, ppuCmp: n * k.ppuCmp, poolOps: n * k.poolOps };
  const byTensor: Record<string, number> = {};
  for (const [t, v] of Object.entries(ev.dramBytesByTensor)) byTensor[t] = t === 'weights+params' ? n * (v - pre) + pre : n * v;
  return { ...ev, cycles, counts, dramBytesByTensor: byTensor, unitOps: n * ev.unitOps };
}

function better(obj: Objective, a: { cycles: number; dram: number; energy: number }, b: { cycles: number; dram: number; energy: number }): boolean {
  const s = (x: typeof a): [number, number] => {
    switch (obj) {
      case 'cycles': return [x.cycles, x.dram];
      case 'dram': return [x.dram, x.cycles];
      case 'energy': return [x.energy, x.cycles];
      case 'edp': return [x.energy * x.cycles, x.dram];
    }
  };
  const [a0, a1] = s(a), [b0, b1] = s(b);
  const eps = 1e-9 * Math.max(1, Math.abs(b0));
  return a0 < b0 - eps || (Math.abs(a0 - b0) <= eps && a1 < b1);
}

/**
 * Plans residency for a network (see the header) and returns each layer's context and evaluation (per frame;
 * batchOf gives the batch's numbers).
 */
export function planResidency(layers: SimLayer[], arch: ResolvedArch, objective: Objective, fusion: FusionMode, batch: number, sigOf: (l: SimLayer) => string, fixed?: Record<string, Mapping>): ResidencyPlan {
  const E = new Evaluator(layers, arch, objective, batch, sigOf, fixed);
  const n = layers.length;
  let cfg: ResidencyConfig = { chain: new Array(n).fill(-1), chainRows: new Map(), whole: new Set(), weights: new Set() };
  let cur = E.score(cfg);
  let tried = 0, kept = 0;
  if (!cur) {
    // some layer has no mapping even alone: report every layer's reason as the layer-by-layer model does
    const { res } = E.residencies(cfg);
    return { layers: layers.map((_, i) => E.layer(i, res[i], undefined)), summary: summarise(E, cfg, fusion, batch, 0, 0) };
  }
  const tryCfg = (next: ResidencyConfig): boolean => {
    tried++;
    const s = E.score(next);
    if (s && s.dram <= cur!.dram && better(objective, s, cur!)) { cfg = next; cur = s; kept++; return true; }
    return false;
  };
  if (fusion === 'auto') {
    // (1) fuse boundaries: join the chains of layers i and i+1, with every band height; keep the best
    let nextId = 0;
    for (let i = 0; i + 1 < n; i++) {
      const a = cfg.chain[i], b = cfg.chain[i + 1];
      if (a >= 0 && a === b) continue;
      let best: { cfg: ResidencyConfig; s: NonNullable<ReturnType<Evaluator['score']>> } | undefined;
      // a new chain tries every band height; a chain being extended keeps its own (re-tuned at the end)
      const heights = a >= 0 ? [cfg.chainRows.get(a)!] : b >= 0 ? [cfg.chainRows.get(b)!] : ROWS_PER_BAND;
      for (const R of heights) {
        const id = a >= 0 ? a : nextId;
        const chain = cfg.chain.map((c) => (c >= 0 && (c === a || c === b) ? id : c));
        chain[i] = id; chain[i + 1] = id;
        const chainRows = new Map(cfg.chainRows); chainRows.set(id, R);
        if (b >= 0 && b !== id) chainRows.delete(b);
        const next: ResidencyConfig = { ...cfg, chain, chainRows };
        tried++;
        const s = E.score(next);
        if (s && s.dram <= cur.dram && better(objective, s, cur) && (!best || better(objective, s, best.s))) best = { cfg: next, s };
      }
      if (best) { if (a < 0) nextId++; cfg = best.cfg; cur = best.s; kept++; }
    }
    // (1b) re-tune each chain's band height now that the chains are complete
    for (const id of [...cfg.chainRows.keys()]) {
      for (const R of ROWS_PER_BAND) if (R !== cfg.chainRows.get(id)) tryCfg({ ...cfg, chainRows: new Map(cfg.chainRows).set(id, R) });
    }
    // (2) whole tensors that still go through DRAM, largest first (ties: name)
    const cands = E.tensors.filter((t) => E.statusOf(t, cfg) === 'dram' && t.producer >= 0 && t.consumers.length > 0).sort((x, y) => y.bytes - x.bytes || (x.name < y.name ? -1 : 1));
    for (const t of cands) tryCfg({ ...cfg, whole: new Set([...cfg.whole, t.name]) });
  }
  // (3) weights of unfused layers (with a batch, also under 'none': a loop order over the frames)
  if (fusion === 'auto' || batch > 1) {
    for (let i = 0; i < n; i++) if (cfg.chain[i] < 0 && E.weightBytes[i] > 0) tryCfg({ ...cfg, weights: new Set([...cfg.weights, i]) });
  }
  return { layers: cur.planned, summary: summarise(E, cfg, fusion, batch, tried, kept) };
}

function summarise(E: Evaluator, cfg: ResidencyConfig, fusion: FusionMode, batch: number, tried: number, kept: number): ResidencySummary {
  const chains = new Map<number, string[]>();
  E.layers.forEach((l, i) => { const c = cfg.chain[i]; if (c >= 0) chains.set(c, [...(chains.get(c) ?? []), l.id]); });
  const residentTensors: ResidencySummary['residentTensors'] = [];
  for (const t of E.tensors) {
    const st = E.statusOf(t, cfg);
    if (st === 'dram') continue;
    residentTensors.push({ name: t.name, mode: st, heldBytes: E.heldBytes(t, st, cfg), buffer: t.home, dramBytesAvoided: t.bytes * batch * (1 + t.consumers.length) });
  }
  return {
    fusion, batch,
    chains: [...chains.entries()].sort((a, b) => a[0] - b[0]).map(([id, layers]) => ({ layers, rowsPerBand: cfg.chainRows.get(id)! })),
    residentTensors,
    residentWeights: E.layers.filter((_, i) => (cfg.chain[i] >= 0 || cfg.weights.has(i)) && E.weightBytes[i] > 0).map((l) => l.id),
    recomputedRows: 0,
    stepsTried: tried, stepsKept: kept,
  };
}

/**
 * Network-level compulsory DRAM bytes: the network input read and its outputs written once per frame, every
 * layer's weights and folded parameters read once per batch. No schedule moves less (tested).
 */
export function networkCompulsoryBytes(layers: SimLayer[], arch: ResolvedArch, batch: number): number {
  const ts = withBytes(netTensors(layers), layers, arch);
  let bytes = 0;
  for (const t of ts) if (t.producer < 0 || t.consumers.length === 0) bytes += t.bytes * batch;
  for (const l of layers) bytes += weightTileBytes(layerContext(l, arch), l.out.c, l.cin);
  return bytes;
}
