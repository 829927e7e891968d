/**
 * Whole-network simulation: ExecPlan (the same lowered plan the golden model runs) -> simulator layers ->
 * per-layer mapping search, tile-level timing, action counts x energy table -> one plain JSON-able result.
 *
 * Execution model: layers run one after another on one accelerator (no inter-layer pipelining); every
 * tensor passed between layers goes through DRAM (see layers.ts for fusion). End-to-end cycles include each
 * layer's first DRAM fill and last drain; the compute window excludes the first layer's fill and the last
 * layer's drain. Batch 1: frames/s = clock / end-to-end cycles.
 *
 * Functional mode (functional.ts) executes every tile on the bits held in the modelled buffers and, with
 * `verify`, compares every step's output (and every binary conv's integer accumulators) with the golden
 * model's taps bit for bit.
 *
 * Utilisation is reported under both conventions: end to end (useful ops / (layer cycles x peak), today's
 * number) and compute only (useful ops / (the unit's compute cycles x peak), as SCALE-Sim reports it), per
 * layer and for the network; PE-array layers also carry SCALE-Sim's SRAM word counts (systolic.ts) and the
 * result carries the arch's area by component (area.ts).
 */
import type { ExecPlan } from '../golden/plan.ts';
import type { Tensor } from '../core/tensor.ts';
import type { KernelSet } from '../kernels/types.ts';
import type { BufferName, ResolvedArch } from './arch.ts';
import { BUFFER_NAMES } from './arch.ts';
import { buildLayers, type SimLayer, type Unit } from './layers.ts';
import { CONVENTIONS, type CostConvention } from '../cost/conventions.ts';
import {
  compulsoryDramBytes, energyOf, evaluate, layerContext, mapLayer, sumEnergy,
  type BufferTraffic, type CycleSplit, type ExecUnit, type Mapping, type Objective, type TileTrace,
} from './mapper.ts';
import { batchOf, networkCompulsoryBytes, planResidency, type FusionMode, type ResidencySummary } from './residency.ts';
import { runFunctional, verifyAgainstGolden, type FunctionalReport } from './functional.ts';
import { areaOf, type AreaReport } from './area.ts';
import { layerGemm } from './compute.ts';

export interface SimOptions {
  objective?: Objective;
  /** inter-layer fusion and residency (residency.ts): 'none' (default) = every tensor between layers through DRAM */
  fusion?: FusionMode;
  /** frames per batch (default 1); layers run layer-major over the batch, fused chains frame by frame */
  batch?: number;
  /** counting convention of the reported operation counts (cost/conventions.ts; default 'paper') */
  convention?: CostConvention;
  trace?: boolean;
  /** fixed mappings per layer id (tests, what-if) */
  mappings?: Record<string, Mapping>;
  functional?: { input: Tensor; kernels?: KernelSet; verify?: boolean };
}

export interface LayerResult {
  id: string;
  steps: string[];
  /** the group's first step's op (IR name) */
  op: string;
  unit: Unit;
  executesOn: ExecUnit;
  feasible: boolean;
  reason?: string;
  inShape: [number, number, number];
  outShape: [number, number, number];
  window: { kernel: [number, number]; stride: number; pad: number };
  /** operand precision of the anchor (plan precision of its input: 1 = packed bits) */
  operandBits: number;
  /** the group's counts under the convention (cost/count.ts countStep: what `cost` reports for these steps) */
  bops: number;
  realMacs: number;
  opsByPrecision: Record<string, number>;
  mapping?: Mapping;
  tiles?: number;
  cycles?: CycleSplit;
  utilisation?: number;
  /** useful ops / (the executing unit's compute cycles x its peak ops per cycle), SCALE-Sim's convention; null when the unit computed 0 cycles */
  computeUtilisation?: number | null;
  /** SCALE-Sim's SRAM accesses in words for the whole layer as one GEMM (systolic.ts); PE-array layers only */
  scalesimSramWords?: { ifmapReads: number; filterReads: number; ofmapWrites: number };
  mappingEfficiency?: number | null;
  sramBytes?: Record<BufferName, BufferTraffic>;
  dramBytes?: Record<string, number>;
  dramBytesTotal?: number;
  compulsoryDramBytes?: number;
  actions?: { peOps: number; realUnitMacs: number; ppuMul: number; ppuAdd: number; ppuCmp: number; poolOps: number; dramBits: number; sramAccesses: Record<BufferName, number> };
  energyJ?: Record<string, number>;
  energyTotalJ?: number;
  bottleneck?: string;
  footprintBytes?: Record<BufferName, number>;
  /** with --fusion auto or a batch: operands kept on chip, buffer bytes they hold during this layer, resident weights' one-time load, one frame's cycles */
  residency?: { resident: string[]; reservedBytes: Record<BufferName, number>; preloadBytes: number; rowsPerBandMax?: number; framesStacked?: number; frameCycles: number };
  search?: { candidates: number; feasible?: number; evaluated?: number; reusedFrom?: string };
  trace?: TileTrace[];
}

export interface SimResult {
  tool: 'birealsim';
  kind: 'simulate';
  network: string;
  arch: ResolvedArch;
  objective: Objective;
  convention: CostConvention;
  /** present when fusion is not 'none' or batch > 1 (older results and the default run omit them) */
  fusion?: FusionMode; batch?: number; residency?: ResidencySummary;
  feasible: boolean;
  infeasible: { layer: string; reason: string }[];
  layers: LayerResult[];
  totals: {
    cycles: number; computeWindowCycles: number; cyclesSplit: Omit<CycleSplit, 'fill' | 'drain'>;
    latencyMs: number; framesPerSecond: number;
    /** frames per batch, the first frame's latency (layer-major) and per-frame DRAM bytes */
    batch: number; frameLatencyMs: number; dramBytesPerFrame: number;
    /** network-level compulsory DRAM bytes: the input and the outputs once per frame, every weight once per batch */
    networkCompulsoryDramBytes: number;
    realMacs: number; bops: number; ops: number; opsByPrecision: Record<string, number>; effectiveTops: number; effectiveBinaryTops: number; effectiveRealTops: number;
    energyPerFrameJ: number; energyJ: Record<string, number>; topsPerWatt: number;
    dramBytes: number; compulsoryDramBytes: number; sramBytes: Record<BufferName, BufferTraffic>;
    /** end-to-end and compute-only utilisation of the network (DEFINITIONS) */
    utilisation: number; computeUtilisation: number;
    scalesimSramWords: { ifmapReads: number; filterReads: number; ofmapWrites: number };
  } | null;
  rooflines: { computeCycles: number; dramCycles: number; sramCycles: Record<BufferName, number> } | null;
  /** silicon area by component (area.ts), from the arch alone */
  area: AreaReport;
  definitions: Record<string, string>;
  notes: string[];
  timingMs: number;
  functional?: FunctionalReport;
}

export const DEFINITIONS: Record<string, string> = {
  'cycles.compute [cycles]': 'cycles the executing unit computes: PE-array folds (systolic model, accelerator-model.md §1), real-unit M*K*ceil(N/MACs per cycle), pooling taps / lanes',
  'cycles.postOp [cycles]': 'post-processing unit cycles: output elements / lanes (folded BN multiply-add, residual add, sign+pack, K scale), plus the XNOR-Net K map',
  'cycles.sramStall [cycles]': 'extra cycles when a buffer\'s port bandwidth (banks x port width per cycle) cannot serve a tile\'s accesses within compute + post-op',
  'cycles.dramStall [cycles]': 'cycles a tile waits for DMA (next tile\'s loads + previous tile\'s stores, latency + bytes / DRAM bytes per cycle) beyond its own work, plus single-buffered transfers',
  'cycles.fillDrain [cycles]': 'the first tile\'s loads and the last tile\'s stores, which nothing overlaps',
  'cycles.total [cycles]': 'compute + postOp + sramStall + dramStall + fillDrain (end to end for the layer)',
  'computeWindowCycles [cycles]': 'network end-to-end cycles minus the first layer\'s fill and the last layer\'s drain',
  'utilisation [0-1]': 'useful operations / (layer cycles x the executing unit\'s peak operations per cycle); on an xnor array the peak is R*C*laneBits bit-MACs per cycle',
  'computeUtilisation [0-1]': 'useful operations / (the executing unit\'s compute cycles x its peak operations per cycle), as SCALE-Sim reports utilisation: stalls, fill/drain and post-op cycles excluded (a PPU-only layer counts its post-op cycles as its compute); >= utilisation; null when the unit computed 0 cycles',
  'totals.utilisation / totals.computeUtilisation [0-1]': 'network: sum over layers of useful ops / unit peak per cycle, divided by the sum of end-to-end cycles / of the executing units\' compute cycles (cycle-weighted means of the per-layer values)',
  'scalesimSramWords [words]': 'SCALE-Sim\'s SRAM access counts for a PE-array layer run as ONE GEMM (M = Ho*Wo, N = Cout, K = kh*kw*words per tap; no tiling), systolic.ts: OS ifmap M*K*ceil(N/C), filter K*N*ceil(M/R), ofmap M*N (+ R+C per fold with the write quirk); WS ifmap M*K*ceil(N/C), filter K*N, ofmap M*N*ceil(K/R); IS ifmap M*K, filter K*N*ceil(M/C), ofmap M*N*ceil(K/R). A word is one K element (a packed word on an xnor array with laneBits > 1; one byte in scalesim-compat). Totals sum the PE-array layers',
  'area [mm^2]': 'silicon area by component from the arch alone (src/sim/area.ts; every unit area carries its source in area.components.*.source): peArray = R*C x PE area, buffers.<name> = SRAM cells + bank periphery, ppu = lanes x lane area, realUnit = MACs x MAC area, pooling = lanes x lane area; DRAM PHY excluded',
  'mappingEfficiency [0-1]': 'PE-array layers: mean over folds of (rows used x cols used) / (R x C) (SCALE-Sim); null for other units',
  'BOPs [1-bit MACs]': 'binary conv MACs = Ho*Wo*Cout*k*k*Cin, from cost/count.ts countStep: the numbers `birealsim cost` prints under the same convention',
  'realMacs [MACs]': 'real conv and FC MACs = Ho*Wo*Cout*k*k*Cin and in*out, + 2 per binary-conv output element of XNOR-Net scaling (alpha, K), from cost/count.ts countStep',
  'ops [OPs]': 'BOPs / bopsPerOp + real MACs under the convention (the paper\'s OPs)',
  'opsByPrecision': 'operations by operand precision: BOPs under 1-bit, real MACs under the plan\'s real-stream format',
  'operandBits [bit]': 'precision of the anchor\'s input in the plan: 1 for packed bits, else the real-stream format\'s width',
  'sramBytes [B]': 'bytes read and written per buffer: PE/unit operand reads, partial-sum and accumulator traffic, post-processing reads/writes, DMA fills and drains',
  'dramBytes [B]': 'bytes moved between DRAM and the buffers, per tensor (input:, weights+params, side:, output:)',
  'compulsoryDramBytes [B]': 'every operand read once (input rows touched by the windows, at full width) and every output written once',
  'energyJ [J]': 'action counts x the arch energy table (each entry carries its source in arch.*): dram = bits x J/bit; sram.<buffer> = ceil(bytes*8/port bits) accesses x J/access; peArray = word-ops or MACs x J/op; realUnit = MACs x J/MAC; ppu = mul/add/compare x J; pooling = taps x J',
  'latencyMs [ms]': 'end-to-end cycles / clock',
  'framesPerSecond [1/s]': 'batch 1, layer by layer: clock / end-to-end cycles',
  'effectiveTops [TOPS]': '2 x (MACs + BOPs) / latency / 1e12 (one MAC = one multiply + one add, real or binary)',
  'effectiveBinaryTops / effectiveRealTops [TOPS]': 'the same with BOPs only / MACs only',
  'topsPerWatt [TOPS/W]': '2 x (MACs + BOPs) / energy per frame / 1e12',
  'energyPerFrameJ [J]': 'sum of all components over all layers for one inference',
  'bottleneck': 'largest of compute, post-op, sram-bandwidth (SRAM stall), dram (DRAM stall + fill/drain) cycles of the layer',
  'rooflines [cycles]': 'lower bounds: computeCycles = sum over layers of useful ops / unit peak per cycle; dramCycles = DRAM bytes / bytes per cycle; sramCycles = bytes per buffer / its bytes per cycle',
};

function bottleneckOf(c: CycleSplit): string {
  const cands: [string, number][] = [['compute', c.compute], ['post-op', c.postOp], ['sram-bandwidth', c.sramStall], ['dram', c.dramStall + c.fillDrain]];
  cands.sort((a, b) => b[1] - a[1]);
  return cands[0][0];
}

/** Simulates a plan on an arch. Returns a plain JSON-able object (typed arrays only inside `functional` when asked). */
/** Everything about a layer that the mapping search reads, without tensor names. */
function layerSignature(l: SimLayer): string {
  const t = (x: { h: number; w: number; c: number; dtype?: string }) => [x.h, x.w, x.c, x.dtype ?? ''];
  return JSON.stringify([l.anchor.op, l.unit, l.binary, t(l.input), t(l.out), l.kh, l.kw, l.stride, l.pad, l.cin, l.channelwise,
    l.sideInputs.map((x) => [...t(x), x.role]), l.outputs.map(t), l.internal.length, l.writesBits, l.actWindow ?? null, l.ppuPerElement, l.paramWordsPerChannel]);
}

export function simulate(plan: ExecPlan, arch: ResolvedArch, opts: SimOptions = {}): SimResult {
  const t0 = performance.now();
  const objective = opts.objective ?? 'cycles';
  const convention = opts.convention ?? CONVENTIONS.paper;
  const fusion = opts.fusion ?? 'none', batch = opts.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`simulate: batch must be a positive integer, got ${batch}`);
  const layers = buildLayers(plan, convention);
  const results: LayerResult[] = [];
  const infeasible: { layer: string; reason: string }[] = [];
  const evals = new Map<string, Mapping>();
  // residency.ts decides fusion and residency and runs the mapping search of every layer under it (once per
  // layer signature and residency: layers with the same geometry, operands and fused post-ops share a mapping)
  const rp = planResidency(layers, arch, objective, fusion, batch, layerSignature, opts.mappings);
  layers.forEach((l, i) => {
    const pl = rp.layers[i];
    const ctx = pl.ctx;
    const base: LayerResult = {
      id: l.id, steps: l.steps.map((s) => s.id), op: l.anchor.op, unit: l.unit, executesOn: ctx.exec, feasible: false,
      inShape: [l.input.h, l.input.w, l.input.c], outShape: [l.out.h, l.out.w, l.out.c],
      window: { kernel: [l.kh, l.kw], stride: l.stride, pad: l.pad }, operandBits: l.operandBits,
      bops: l.countTotals.bops * batch, realMacs: l.countTotals.realMacs * batch, opsByPrecision: Object.fromEntries(Object.entries(l.countTotals.opsByPrecision).map(([k, v]) => [k, v * batch])),
    };
    if ('reason' in pl) {
      infeasible.push({ layer: l.id, reason: pl.reason });
      results.push({ ...base, reason: pl.reason, search: { candidates: pl.candidates } });
      return;
    }
    let ev = pl.ev;
    if (opts.trace) ev = evaluate(ctx, ev.mapping, true);
    evals.set(l.id, ev.mapping);
    const frame = ev;
    ev = batchOf(ev, ctx, batch / pl.framesInside);
    const energyJ = energyOf(ev.counts, arch);
    const sramAccesses = {} as Record<BufferName, number>;
    for (const b of BUFFER_NAMES) sramAccesses[b] = Math.ceil(((ev.counts.sram[b].readBytes + ev.counts.sram[b].writeBytes) * 8) / arch.buffers[b].portBits);
    const dramTotal = ev.counts.dramReadBytes + ev.counts.dramWriteBytes;
    const r = ctx.res;
    const resident = [
      ...(r.input ? [`input:${l.input.name}`] : []), ...(r.weights ? ['weights+params'] : []),
      ...l.sideInputs.filter((_, k) => r.sides[k]).map((x) => `side:${x.name}`), ...l.outputs.filter((_, k) => r.outputs[k]).map((x) => `output:${x.name}`),
    ];
    results.push({
      ...base, feasible: true, mapping: ev.mapping, tiles: ev.tiles * (batch / pl.framesInside), cycles: ev.cycles,
      utilisation: ev.cycles.total > 0 ? ev.unitOps / (ev.cycles.total * ev.unitPeakOpsPerCycle) : 0,
      computeUtilisation: unitComputeCycles(ctx.exec, ev.cycles) > 0 ? ev.unitOps / (unitComputeCycles(ctx.exec, ev.cycles) * ev.unitPeakOpsPerCycle) : null,
      ...scalesimWords(layerGemm(ctx)),
      mappingEfficiency: ev.peFolds > 0 ? ev.usedPeFolds / ev.peFolds : null,
      sramBytes: ev.counts.sram, dramBytes: ev.dramBytesByTensor, dramBytesTotal: dramTotal, compulsoryDramBytes: compulsoryDramBytes(ctx) * (batch / pl.framesInside),
      actions: { peOps: ev.counts.peOps, realUnitMacs: ev.counts.realUnitMacs, ppuMul: ev.counts.ppuMul, ppuAdd: ev.counts.ppuAdd, ppuCmp: ev.counts.ppuCmp, poolOps: ev.counts.poolOps, dramBits: dramTotal * 8, sramAccesses },
      energyJ, energyTotalJ: sumEnergy(energyJ), bottleneck: bottleneckOf(ev.cycles), footprintBytes: ev.footprint,
      search: pl.search,
      ...(fusion !== 'none' || batch > 1 ? { residency: { resident, reservedBytes: r.reserved, preloadBytes: r.preloadBytes, ...(ctx.maxRowsPerTile ? { rowsPerBandMax: ctx.maxRowsPerTile } : {}), ...(pl.framesInside > 1 ? { framesStacked: pl.framesInside } : {}), frameCycles: frame.cycles.total / pl.framesInside } } : {}),
      trace: ev.trace,
    });
  });
  const notes: string[] = [
    fusion === 'none'
      ? 'layers run one after another; tensors between layers go through DRAM; element-wise post-ops are fused into the producing layer (layers.ts)'
      : `fusion auto: ${rp.summary.chains.length} fused chain(s) run band by band, ${rp.summary.residentTensors.length} tensor(s) stay on chip, ${rp.summary.residentWeights.length} layer(s) keep their weights on chip (residency.ts); other tensors go through DRAM`,
    ...(batch > 1 ? [`batch ${batch}: layers run layer-major over the frames (fused chains frame by frame); resident weights are fetched once per batch, all other traffic once per frame`] : []),
    `PE skew model '${arch.peArray.skew}', cycle convention '${arch.peArray.cycleConvention}'`,
  ];
  if (plan.realFormat.bits !== arch.realBits) notes.push(`the plan's real-stream format is ${plan.realFormat.name} (${plan.realFormat.bits} bits) but the arch's realStream precision is ${arch.realBits} bits: traffic and energy use the arch's ${arch.realBits} bits, functional values follow the plan (golden numerics)`);
  if (arch.realUnit.precision !== 'fp32') notes.push(`the real unit is ${arch.realUnit.precision} (energy); functional mode computes real convs with the golden model's fp32 arithmetic`);
  const feasible = infeasible.length === 0;
  let totals: SimResult['totals'] = null, rooflines: SimResult['rooflines'] = null;
  if (feasible) {
    const sum = (f: (r: LayerResult) => number) => results.reduce((a, r) => a + f(r), 0);
    const cycles = sum((r) => r.cycles!.total);
    const split = { compute: sum((r) => r.cycles!.compute), postOp: sum((r) => r.cycles!.postOp), sramStall: sum((r) => r.cycles!.sramStall), dramStall: sum((r) => r.cycles!.dramStall), fillDrain: sum((r) => r.cycles!.fillDrain), total: cycles };
    const energyJ: Record<string, number> = {};
    for (const r of results) for (const [k, v] of Object.entries(r.energyJ!)) energyJ[k] = (energyJ[k] ?? 0) + v;
    const energy = sumEnergy(energyJ);
    const seconds = cycles / arch.clockHz;
    const realMacs = sum((r) => r.realMacs), bops = sum((r) => r.bops);
    const opsByPrecision: Record<string, number> = {};
    for (const r of results) for (const [p, n] of Object.entries(r.opsByPrecision)) opsByPrecision[p] = (opsByPrecision[p] ?? 0) + n;
    const sramBytes = {} as Record<BufferName, BufferTraffic>;
    const sramCycles = {} as Record<BufferName, number>;
    for (const b of BUFFER_NAMES) {
      sramBytes[b] = { readBytes: sum((r) => r.sramBytes![b].readBytes), writeBytes: sum((r) => r.sramBytes![b].writeBytes) };
      sramCycles[b] = (sramBytes[b].readBytes + sramBytes[b].writeBytes) / arch.buffers[b].bandwidthBytesPerCycle;
    }
    const dramBytes = sum((r) => r.dramBytesTotal!);
    totals = {
      cycles, computeWindowCycles: cycles - results[0].cycles!.fill - results[results.length - 1].cycles!.drain, cyclesSplit: split,
      latencyMs: seconds * 1e3, framesPerSecond: batch / seconds,
      batch, frameLatencyMs: batch === 1 ? seconds * 1e3 : ((cycles - (batch - 1) * results[results.length - 1].residency!.frameCycles) / arch.clockHz) * 1e3, dramBytesPerFrame: dramBytes / batch,
      networkCompulsoryDramBytes: networkCompulsoryBytes(layers, arch, batch), realMacs, bops, ops: bops / convention.bopsPerOp + realMacs, opsByPrecision,
      effectiveTops: (2 * (realMacs + bops)) / seconds / 1e12, effectiveBinaryTops: (2 * bops) / seconds / 1e12, effectiveRealTops: (2 * realMacs) / seconds / 1e12,
      energyPerFrameJ: energy / batch, energyJ, topsPerWatt: (2 * (realMacs + bops)) / energy / 1e12,
      dramBytes, compulsoryDramBytes: sum((r) => r.compulsoryDramBytes!), sramBytes,
      ...networkUtilisation(results, layers, arch),
      scalesimSramWords: { ifmapReads: sum((r) => r.scalesimSramWords?.ifmapReads ?? 0), filterReads: sum((r) => r.scalesimSramWords?.filterReads ?? 0), ofmapWrites: sum((r) => r.scalesimSramWords?.ofmapWrites ?? 0) },
    };
    rooflines = {
      computeCycles: results.reduce((a, r) => { const l = layers.find((x) => x.id === r.id)!; return a + idealCycles(layerContext(l, arch).exec, l, r, arch, batch); }, 0),
      dramCycles: dramBytes / arch.dram.bytesPerCycle, sramCycles,
    };
  }
  const result: SimResult = {
    tool: 'birealsim', kind: 'simulate', network: plan.name, arch, objective, convention, ...(fusion !== 'none' || batch > 1 ? { fusion, batch, residency: rp.summary } : {}),
    feasible, infeasible, layers: results, totals, rooflines,
    area: areaOf(arch), definitions: DEFINITIONS, notes, timingMs: 0,
  };
  result.timingMs = performance.now() - t0;
  if (opts.functional && feasible) {
    const f = runFunctional(plan, layers, evals, arch, opts.functional.input, opts.functional.kernels, { probe: opts.functional.verify === true });
    result.functional = opts.functional.verify ? verifyAgainstGolden(plan, layers, evals, f, opts.functional.input, opts.functional.kernels) : f.report;
  }
  return result;
}

/** Cycles the executing unit computes: its compute cycles, or the post-op cycles of a layer the PPU executes. */
function unitComputeCycles(exec: ExecUnit, c: CycleSplit): number {
  return exec === 'ppu' ? c.postOp : c.compute;
}

function scalesimWords(g: ReturnType<typeof layerGemm>): Pick<LayerResult, 'scalesimSramWords'> {
  return g ? { scalesimSramWords: { ifmapReads: g.ifmapReads, filterReads: g.filterReads, ofmapWrites: g.ofmapWrites } } : {};
}

/**
 * Network utilisation under both conventions: ideal cycles = sum over layers of useful ops / unit peak per
 * cycle; end-to-end = ideal / sum of layer cycles; compute-only = ideal / sum of the units' compute cycles.
 */
function networkUtilisation(results: LayerResult[], layers: SimLayer[], arch: ResolvedArch): { utilisation: number; computeUtilisation: number } {
  let ideal = 0, total = 0, compute = 0;
  for (const r of results) {
    const ctx = layerContext(layers.find((x) => x.id === r.id)!, arch);
    const u = unitComputeCycles(ctx.exec, r.cycles!);
    if (r.utilisation! > 0) ideal += r.utilisation! * r.cycles!.total;
    total += r.cycles!.total; compute += u;
  }
  return { utilisation: total > 0 ? ideal / total : 0, computeUtilisation: compute > 0 ? ideal / compute : 0 };
}

/** Useful ops of the executing unit / its peak ops per cycle: the layer's ideal compute cycles. */
function idealCycles(exec: ExecUnit, l: SimLayer, r: LayerResult, arch: ResolvedArch, batch = 1): number {
  switch (exec) {
    case 'xnor-array': return (batch * l.bops) / (arch.peArray.rows * arch.peArray.cols * arch.peArray.laneBits);
    case 'mac-array': return (batch * (l.bops + l.macs)) / (arch.peArray.rows * arch.peArray.cols);
    case 'real-unit': return (batch * l.macs) / arch.realUnit.macsPerCycle;
    case 'pooling': return r.actions!.poolOps / arch.pooling.lanes;
    default: return 0;
  }
}

export type { SimLayer };
