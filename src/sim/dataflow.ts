/**
 * FINN-style streaming dataflow model (arch family 'dataflow'): one engine per simulator layer (= plan group,
 * sim/layers.ts buildLayers), all engines running concurrently on successive pixels/frames, connected by
 * FIFOs; weights stay on chip, only the input and output frames cross DRAM. Follows FINN (Umuroglu et al.,
 * FPGA'17; Blott et al., FINN-R, TRETS 2018) and its analytic estimates in github.com/Xilinx/finn (read at
 * commit 39f0c9a6, 2026-04-14); every cycle formula below cites the file and function it comes from.
 *
 * Engines per layer (everything op-specific comes from the SimLayer: unit, window, channels, counts):
 *  - conv / fc (unit pe-array or real-unit): [FMPadding] -> [sliding-window generator (SWG)] -> MVAU ->
 *    [post-op]. The MVAU is XNOR-popcount for a binary anchor, a real MAC engine at `realMacPrecision`
 *    otherwise (stem, 1x1 downsample convs, FC). Matrix MW = kh*kw*cin columns x MH = cout rows, one input
 *    vector per output pixel. Folding: PE rows and SIMD columns in parallel (MH % PE == 0, MW % SIMD == 0).
 *    A 1x1 stride-1 unpadded conv and a whole-input window (fc) need no SWG (FINN lowers them to a plain MVAU).
 *  - pooling with a window: [FMPadding] -> depthwise SWG (SIMD = PE, as FINN SetFolding sets a depthwise
 *    SWG's SIMD from its consumer) -> Pool (PE channels) -> [post-op]; a whole-input window (global pooling)
 *    is FINN's GlobalAccPool (no SWG).
 *  - a stand-alone element-wise group (unit ppu): one AddStreams/ChannelwiseOp-like engine with PE channels.
 *  - post-op: a group's fused element-wise steps (folded BN / thresholds, Bi-Real's residual add, sign) as one
 *    streaming node at the producer's PE output width: OH*OW*C/PE cycles (FINN addstreams.py /
 *    channelwise_op.py get_exp_cycles: prod(folded output shape[:-1])). It never exceeds its MVAU's cycles.
 *
 * Network: initiation interval II = max over every engine (and the DRAM input/output transfers) of its cycles
 * per frame; frames/s = clock / II. Latency follows FINN's own analysis (analysis/fpgadataflow/
 * dataflow_performance.py, "critical_path_cycles"): the longest path through the node graph of the SUM of
 * node cycles, which FINN itself calls very pessimistic (no overlap between nodes); plus the DRAM latency
 * and transfer of the input and the output frame. A second, overlapped latency uses the ready-time model
 * below (engines overlap, each spreading one frame over one II): the last output pixel's ready time x II.
 *
 * On-chip memory per layer: weights (MW*MH bits binary, MW*MH*realMacBits real) + folded per-channel
 * parameters (paramWordsPerChannel 32-bit words per output channel, from the op workloads) + the SWG buffer
 * (FINN RTL SWG get_buffer_depth words of swgSimd elements) + the FIFOs: depth-`fifoDepth` stream FIFOs on
 * every engine input, and for every side input (Bi-Real's real-valued shortcut) a FIFO deep enough to hold
 * the side stream until the residual add consumes it. Shortcut FIFO depth (FINN sizes FIFOs by RTL
 * simulation; this is an analytic stand-in): every tensor pixel gets a ready time in frame times (one frame
 * time = one II). The input streams in raster order, pixel i at i/N; an output pixel is ready when the last
 * pixel of its window (clipped to the tensor) and its side-input pixel are, and, as every engine of a
 * balanced pipeline spreads its N output pixels over one frame time, no earlier than 1/N after the previous
 * output pixel (outputs leave in raster order). Side pixel i is consumed when output pixel i (for a windowed
 * side input: the last output needing it) is produced; the depth is the largest number of side pixels ready
 * and not yet consumed. For a 3x3 stride-1 pad-1 conv whose input and shortcut come from the same engine it
 * is W + 2 pixels (one row plus one pixel of lag, plus the pixel being consumed). Engines running at
 * different rates on the two branches can need deeper FIFOs.
 *
 * Folding search (targetFps): the II bound is per engine, so the cost decomposes by layer: for each layer
 * the (PE, SIMD) pair among divisors of MH and MW with the fewest lanes PE*SIMD whose cycles <= clock /
 * targetFps (equal lanes mean equal cycles; ties go to the larger SIMD) is the global optimum of total
 * lanes = sum over MVAUs of PE*SIMD (binary XNOR lanes and real MAC lanes reported separately). FINN's
 * SetFolding stops at cycles < target_cycles_per_frame; here <=, since exactly clock / targetFps cycles per
 * frame meets the frame rate. SWG SIMD, pool and element-wise PE take
 * the smallest divisor meeting the target (FINN SetFolding optimize_attribute_val walks divisors upward), the
 * SWG switching to the parallel-window style only when a full-channel SWG is still too slow (as SetFolding
 * does). Explicit per-layer folding in the arch file is kept as given; unspecified values are searched, or
 * FINN's default 1 without a target. An unreachable target is a reason value per layer, not an exception.
 *
 * Energy per frame and area by component: dataflow-cost.ts, from the layer-sequential family's per-op energy
 * numbers (arch.ts) and area.ts's unit areas; this module fills one StageCostInput per layer.
 */
import type { ExecPlan } from '../golden/plan.ts';
import type { TensorInfo } from '../ir/types.ts';
import { UserError, didYouMeanHint } from '../core/diagnostics.ts';
import { CONVENTIONS, type CostConvention } from '../cost/conventions.ts';
import { buildLayers, type SimLayer, type TensorRef } from './layers.ts';
import { folPath, type DataflowFolding, type ResolvedDataflowArch } from './dataflow-arch.ts';
import { areaReport, DATAFLOW_ENERGY_COMPONENTS, dramEnergyJ, stageAreaUm2, stageEnergyJ, type DataflowAreaReport, type StageArea, type StageCostInput } from './dataflow-cost.ts';

// ---------------------------------------------------------------- FINN cycle and buffer formulas

/** Ascending divisors of n. */
export function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

/**
 * MVAU cycles per frame. finn src/finn/custom_op/fpgadataflow/matrixvectoractivation.py, get_exp_cycles:
 * `exp_cycles = (mh / pe) * (mw / simd) * np.prod(num_inp_vec) / mmv` with mmv = 1: each of the MH/PE row
 * folds reads MW/SIMD column folds per input vector. Folding constraints (same file, calc_wmem):
 * "MH divisable by PE", "MW divisable by SIMD".
 */
export function mvauCycles(mh: number, mw: number, pe: number, simd: number, inputVectors: number): number {
  if (mh % pe !== 0 || mw % simd !== 0) throw new Error(`mvauCycles: PE ${pe} must divide MH ${mh} and SIMD ${simd} must divide MW ${mw}`);
  return (mh / pe) * (mw / simd) * inputVectors;
}

/** Geometry of a sliding-window generator: the input is the PADDED feature map (FINN puts FMPadding in front). */
export interface SwgGeometry {
  ifmH: number; ifmW: number; ofmH: number; ofmW: number;
  kh: number; kw: number; strideH: number; strideW: number;
  channels: number;
  /** depthwise SWG (in front of a Pool / VVAU): FINN adds the depthwise terms below */
  depthwise: boolean;
}

/**
 * SWG cycles per frame, FINN RTL ConvolutionInputGenerator (the default SWG of current FINN):
 * finn src/finn/custom_op/fpgadataflow/rtl/convolutioninputgenerator_rtl.py, get_exp_cycles (dilation 1):
 *  - "default" style, 2D: cf = C/SIMD;
 *      buffer_min_size = ((k_h-1)*ifm_w + (k_w-1) + 1) * cf          (fill the buffer before the first window)
 *      cycles = buffer_min_size + ofm_h * max(ofm_w*k_w*k_h*cf, stride_w*ifm_w*cf)
 *      depthwise: max term += ofm_w*(stride_w-1)*(cf-1); total += (stride_h-1)*ifm_w*cf
 *    (each output row either writes ofm_w windows of k_h*k_w*cf words or reads stride_w input rows of ifm_w*cf
 *    words, whichever is longer.) The HLS variant (hls/convolutioninputgenerator_hls.py) differs only in its
 *    fill term, ifm_w*k_h*cf instead of buffer_min_size.
 *  - "parallel" style (one whole window per cycle, parallel_window = 1, SIMD = C; FINN's select_impl_style
 *    also picks it for every 1x1 kernel, where SIMD need only divide C):
 *      cycles = number of input values + 2 = ifm_h*ifm_w*cf + 2.
 */
export function swgCycles(g: SwgGeometry, simd: number, parallelWindow: boolean): number {
  if (g.channels % simd !== 0) throw new Error(`swgCycles: SIMD ${simd} must divide IFMChannels ${g.channels}`);
  const cf = g.channels / simd;
  if (parallelWindow || (g.kh === 1 && g.kw === 1)) return g.ifmH * g.ifmW * cf + 2;
  const bufferMinSize = ((g.kh - 1) * g.ifmW + (g.kw - 1) + 1) * cf;
  const writeBlock = g.ofmW * g.kw * g.kh * cf;
  const readBlock = g.strideW * g.ifmW * cf;
  let maxCycles = Math.max(writeBlock, readBlock);
  if (g.depthwise) maxCycles += g.ofmW * (g.strideW - 1) * (cf - 1);
  let cycles = bufferMinSize + g.ofmH * maxCycles;
  if (g.depthwise) cycles += (g.strideH - 1) * g.ifmW * cf;
  return cycles;
}

/**
 * SWG buffer depth in words of SIMD elements, finn rtl/convolutioninputgenerator_rtl.py get_buffer_depth
 * (mmv_in = mmv_out = 1, dilation 1):
 *  - default: buffer_min_size + max(0, ((stride_w-1) - k_h*k_w)*cf) + max(0, ((stride_h-1)*ifm_w - k_h*k_w)*cf)
 *    (the extra space lets a strided SWG pre-load the next rows);
 *  - parallel: ((k_h-1)*ifm_w + (k_w-1))*cf + 1, plus 1.
 */
export function swgBufferWords(g: SwgGeometry, simd: number, parallelWindow: boolean): number {
  const cf = g.channels / simd;
  if (parallelWindow || (g.kh === 1 && g.kw === 1)) return ((g.kh - 1) * g.ifmW + (g.kw - 1)) * cf + 1 + 1;
  const k2 = g.kh * g.kw;
  return ((g.kh - 1) * g.ifmW + (g.kw - 1) + 1) * cf + Math.max(0, (g.strideW - 1 - k2) * cf) + Math.max(0, ((g.strideH - 1) * g.ifmW - k2) * cf);
}

/** FMPadding, finn fmpadding.py get_exp_cycles: (NumChannels/SIMD) * padded_h * padded_w. */
export function fmPaddingCycles(paddedH: number, paddedW: number, channels: number, simd: number): number {
  return (channels / simd) * paddedH * paddedW;
}

/** Pool (max / average over a window), finn pool.py get_exp_cycles: (Channels * k*k / PE) * OFM pixels. */
export function poolCycles(channels: number, kh: number, kw: number, pe: number, outPixels: number): number {
  return ((channels * kh * kw) / pe) * outPixels;
}

/** GlobalAccPool, finn globalaccpool.py get_exp_cycles: idim pixels * C/PE + C/PE. */
export function globalAccPoolCycles(inPixels: number, channels: number, pe: number): number {
  return inPixels * (channels / pe) + channels / pe;
}

/** Element-wise stream engines (AddStreams, ChannelwiseOp, Thresholding), finn addstreams.py / channelwise_op.py get_exp_cycles: pixels * C/PE. */
export function eltwiseCycles(pixels: number, channels: number, pe: number): number {
  return pixels * (channels / pe);
}

// ---------------------------------------------------------------- stages

export type EngineKind = 'xnor-mvau' | 'mac-mvau' | 'pool' | 'global-pool' | 'eltwise';

export interface EngineCycles { name: 'fmpadding' | 'swg' | 'mvau' | 'pool' | 'global-acc-pool' | 'eltwise' | 'post-op'; cycles: number; formula: string }

export interface DataflowStage {
  id: string;
  steps: string[];
  op: string;
  kind: EngineKind;
  inShape: [number, number, number];
  outShape: [number, number, number];
  window: { kernel: [number, number]; stride: number; pad: number };
  /** MVAU matrix (MVAU kinds only) */
  matrix?: { mh: number; mw: number; inputVectors: number };
  folding: { pe: number; simd: number; swgSimd: number | null; parallelWindow: boolean; chosenBy: Record<string, 'explicit' | 'search' | 'default'> };
  engines: EngineCycles[];
  /** cycles per frame of the layer's slowest engine (its contribution to the II) */
  cyclesPerFrame: number;
  /** cyclesPerFrame / network II (1 = this layer sets the II) */
  busyFraction: number;
  /** MVAU lanes PE*SIMD: XNOR-popcount inputs per cycle (xnor) or MACs per cycle (mac); 0 for other engines */
  lanes: number;
  memory: {
    weightBits: number; paramBits: number;
    swgBufferWords: number; swgBufferBits: number;
    shortcutFifos: { tensor: string; depthPixels: number; bits: number }[];
    streamFifoBits: number;
    totalBytes: number;
  };
  bops: number;
  realMacs: number;
  /** energy per frame by component (dataflow-cost.ts; `dram` is a network term, 0 here) */
  energyJ: Record<string, number>;
  /** area by component (dataflow-cost.ts) */
  areaMm2: Record<string, number>;
  /** FINN critical-path cycles at this layer's output (from the start of the input frame transfer) */
  latencyAtOutputCycles: number;
  feasible: boolean;
  reason?: string;
}

export interface DataflowResult {
  tool: 'birealsim';
  kind: 'simulate-dataflow';
  network: string;
  arch: ResolvedDataflowArch;
  convention: CostConvention;
  targetFps: number | null;
  /** clock / targetFps: the largest II meeting the target */
  targetCycles: number | null;
  feasible: boolean;
  infeasible: { layer: string; reason: string }[];
  stages: DataflowStage[];
  dram: { inputBytes: number; outputBytes: number; inputCycles: number; outputCycles: number; latencyCycles: number };
  totals: {
    initiationIntervalCycles: number; bottleneck: string;
    framesPerSecond: number; latencyCycles: number; latencyMs: number;
    overlappedLatencyCycles: number; overlappedLatencyMs: number;
    xnorLanes: number; macLanes: number; totalLanes: number; poolAndEltwisePe: number;
    onChipBytes: number; weightBytes: number; paramBytes: number; swgBufferBytes: number; shortcutFifoBytes: number; streamFifoBytes: number;
    dramBytesPerFrame: number; dramBytesPerSecond: number;
    bops: number; realMacs: number;
    /** energy per frame by component (DATAFLOW_ENERGY_COMPONENTS), summed over layers, plus dram */
    energyJ: Record<string, number>;
    energyPerFrameJ: number;
    /** 2 x (MACs + BOPs) / energy per frame / 1e12, as the layer-sequential family */
    topsPerWatt: number;
    areaMm2: number;
  };
  /** area by component (dataflow-cost.ts) */
  area: DataflowAreaReport;
  definitions: Record<string, string>;
  notes: string[];
}

export const DATAFLOW_DEFINITIONS: Record<string, string> = {
  'engines [cycles/frame]': 'FINN get_exp_cycles per node: MVAU (MH/PE)*(MW/SIMD)*OH*OW; SWG (RTL) buffer fill + OH*max(OW*k*k*C/SIMD, stride*IW*C/SIMD); FMPadding C/SIMD*Hp*Wp; Pool C*k*k/PE*OH*OW; GlobalAccPool H*W*C/PE + C/PE; element-wise/post-op OH*OW*C/PE',
  'cyclesPerFrame [cycles]': "the layer's slowest engine (the table shows the MVAU, the SWG and the largest of the other engines: FMPadding, Pool, GlobalAccPool, element-wise, post-op)",
  'busy [%]': "the layer's cycles per frame / the network II",
  'latency@out [cycles]': 'FINN critical-path cycles at the layer\'s output, from the start of the input frame\'s DRAM transfer',
  'II [cycles]': 'initiation interval: max over all engines and the DRAM frame transfers of cycles per frame',
  'framesPerSecond [1/s]': 'clock / II (streaming, frames overlap)',
  'latency [cycles]': "FINN dataflow_performance critical_path_cycles: longest path of summed node cycles (pessimistic: no overlap between nodes), plus DRAM latency + transfer of the input frame and of the output frame",
  'overlappedLatency [cycles]': 'the output\'s last pixel in the balanced-pipeline ready-time model (every engine spreads its frame over one II, starting as soon as its windows are ready) x II, + DRAM latency in and out + the output transfer: what a balanced pipeline achieves, against FINN\'s no-overlap critical path',
  'lanes [#]': 'MVAU PE*SIMD: XNOR-popcount input bits per cycle (binary layers) or MACs per cycle (real layers); the folding search minimises their sum',
  'weights [B]': 'MW*MH bits (binary) or MW*MH*realMacBits (real) + per-channel parameters (32-bit words), all on chip',
  'swgBuffer [B]': 'FINN RTL SWG get_buffer_depth words x swgSimd elements x element bits (1 for bits, realStreamBits for real)',
  'shortcutFifo [B]': 'side-input (real shortcut) FIFO: depth from the dependency-lag model (module header) x one pixel (C x element bits)',
  'streamFifo [B]': 'fifoDepth words on every engine input stream, word = the consumer\'s parallel elements x element bits',
  'dram [B/frame]': 'input frame + output frame (weights stay on chip)',
  'energyJ [J]': 'per frame by component (src/sim/dataflow-cost.ts), with the layer-sequential energy table: xnor = BOPs x 21.6 fJ + BOPs/SIMD accumulate adds; realMac = MACs x Horowitz MAC at realMacPrecision; weightMemory = MH*MW*OH*OW weight reads (the MVAU re-reads its matrix per output pixel) in SIMD-wide words at the SRAM default access energy of a per-PE bank; paramMemory = one parameter read per output element; postOps / pooling = element ops at the real-stream precision; swgBuffer = padded input writes + window reads; streamFifo / shortcutFifo = one write + one read per streamed element; dram = frame bits x J/bit',
  'area [mm^2]': 'by component (src/sim/dataflow-cost.ts) from area.ts unit areas: xnor PEs of SIMD lanes x PE per XNOR MVAU, PE x SIMD MACs per MAC MVAU, post-op and pooling lanes x PE, SRAM macros per weight / parameter memory, SWG buffer and FIFO',
};

interface Geometry {
  l: SimLayer;
  kind: EngineKind;
  mh: number; mw: number; vectors: number;
  channels: number;
  swg: SwgGeometry | null;
  pad: number;
  hasPostOp: boolean;
  inBits: number;
}

const elemBits = (t: { dtype: 'real' | 'bits' }, arch: ResolvedDataflowArch) => (t.dtype === 'bits' ? 1 : arch.realStreamBits);
const pixelBits = (t: { c: number; dtype: 'real' | 'bits' }, arch: ResolvedDataflowArch) => t.c * elemBits(t, arch);

function geometryOf(l: SimLayer, arch: ResolvedDataflowArch): Geometry {
  const wholeInput = l.kh === l.input.h && l.kw === l.input.w && l.out.h === 1 && l.out.w === 1;
  const pointwise = l.kh === 1 && l.kw === 1 && l.stride === 1 && l.pad === 0;
  const hasPostOp = l.ppuPerElement.mul + l.ppuPerElement.add + l.ppuPerElement.cmp > 0;
  const inBits = elemBits(l.input, arch);
  const swgGeom = (depthwise: boolean): SwgGeometry | null => (wholeInput || pointwise ? null : {
    ifmH: l.input.h + 2 * l.pad, ifmW: l.input.w + 2 * l.pad, ofmH: l.out.h, ofmW: l.out.w,
    kh: l.kh, kw: l.kw, strideH: l.stride, strideW: l.stride, channels: l.cin, depthwise,
  });
  const base = { l, pad: wholeInput || pointwise ? 0 : l.pad, hasPostOp, inBits, mh: 0, mw: 0, vectors: 0 };
  if (l.unit === 'pe-array' || l.unit === 'real-unit') {
    if (l.channelwise) throw new UserError('E_DATAFLOW', `layer '${l.id}': channel-wise (depthwise) conv engines (FINN VVAU) are not modelled by the dataflow family`, { hint: 'simulate this network on a layer-sequential arch' });
    const mw = l.kh * l.kw * l.cin, mh = l.out.c, vectors = l.out.h * l.out.w;
    // the matrix must account for exactly the work the cost model counts (cost/count.ts via SimLayer)
    const work = l.binary ? l.bops : l.macs;
    if (mw * mh * vectors !== work) throw new Error(`dataflow: layer ${l.id}: MW*MH*vectors ${mw}*${mh}*${vectors} != counted ${l.binary ? 'BOPs' : 'MACs'} ${work}`);
    return { ...base, kind: l.binary ? 'xnor-mvau' : 'mac-mvau', mh, mw, vectors, channels: l.cin, swg: swgGeom(false) };
  }
  if (l.unit === 'pooling') {
    if (wholeInput) return { ...base, kind: 'global-pool', channels: l.out.c, swg: null };
    return { ...base, kind: 'pool', channels: l.out.c, swg: swgGeom(true) ?? null };
  }
  return { ...base, kind: 'eltwise', channels: l.out.c, swg: null };
}

interface Fold { pe: number; simd: number; swgSimd: number | null; parallelWindow: boolean }

/** Engine cycles of a layer under a folding. */
function enginesOf(g: Geometry, f: Fold): EngineCycles[] {
  const l = g.l, out: EngineCycles[] = [];
  const outPixels = l.out.h * l.out.w;
  if (g.swg) {
    const s = f.swgSimd!;
    if (g.pad > 0) out.push({ name: 'fmpadding', cycles: fmPaddingCycles(g.swg.ifmH, g.swg.ifmW, g.swg.channels, s), formula: `(${g.swg.channels}/${s})*${g.swg.ifmH}*${g.swg.ifmW}` });
    const parallel = f.parallelWindow || (g.swg.kh === 1 && g.swg.kw === 1);
    out.push({ name: 'swg', cycles: swgCycles(g.swg, s, f.parallelWindow), formula: parallel ? `parallel: ${g.swg.ifmH}*${g.swg.ifmW}*${g.swg.channels / s}+2` : `fill ${((g.swg.kh - 1) * g.swg.ifmW + g.swg.kw) * (g.swg.channels / s)} + ${g.swg.ofmH}*max(${g.swg.ofmW}*${g.swg.kw * g.swg.kh}*${g.swg.channels / s}, ${g.swg.strideW}*${g.swg.ifmW}*${g.swg.channels / s})${g.swg.depthwise ? ' (+ depthwise terms)' : ''}` });
  }
  switch (g.kind) {
    case 'xnor-mvau': case 'mac-mvau':
      out.push({ name: 'mvau', cycles: mvauCycles(g.mh, g.mw, f.pe, f.simd, g.vectors), formula: `(${g.mh}/${f.pe})*(${g.mw}/${f.simd})*${g.vectors}` });
      break;
    case 'pool':
      out.push({ name: 'pool', cycles: poolCycles(g.channels, l.kh, l.kw, f.pe, outPixels), formula: `(${g.channels}*${l.kh * l.kw}/${f.pe})*${outPixels}` });
      break;
    case 'global-pool':
      out.push({ name: 'global-acc-pool', cycles: globalAccPoolCycles(l.input.h * l.input.w, g.channels, f.pe), formula: `${l.input.h * l.input.w}*${g.channels}/${f.pe}+${g.channels}/${f.pe}` });
      break;
    case 'eltwise':
      out.push({ name: 'eltwise', cycles: eltwiseCycles(outPixels, g.channels, f.pe), formula: `${outPixels}*${g.channels}/${f.pe}` });
      break;
  }
  if (g.hasPostOp && g.kind !== 'eltwise') out.push({ name: 'post-op', cycles: eltwiseCycles(outPixels, l.out.c, f.pe), formula: `${outPixels}*${l.out.c}/${f.pe}` });
  return out;
}

const maxCycles = (e: EngineCycles[]) => e.reduce((a, x) => Math.max(a, x.cycles), 0);

/** Validates an explicit folding entry against the layer (UserError at $.folding["<id>"].<key>). */
function checkExplicit(g: Geometry, spec: DataflowFolding, arch: ResolvedDataflowArch): void {
  const id = g.l.id;
  const err = (key: string, msg: string, hint?: string) => new UserError('E_ARCH', `layer '${id}': ${msg}`, { file: arch.file, path: folPath(id, key), hint });
  const mvau = g.kind === 'xnor-mvau' || g.kind === 'mac-mvau';
  const peOf = mvau ? g.mh : g.channels;
  if (spec.pe !== undefined && peOf % spec.pe !== 0) throw err('pe', `PE ${spec.pe} does not divide ${mvau ? `MH = ${g.mh} (output channels)` : `the ${g.channels} channels`}`, `FINN requires ${mvau ? 'MH % PE == 0' : 'Channels % PE == 0'}; divisors: ${divisors(peOf).join(', ')}`);
  if (spec.simd !== undefined) {
    if (!mvau) throw err('simd', `'simd' applies to conv / fc (MVAU) layers only; this ${g.kind} engine folds by 'pe'`);
    if (g.mw % spec.simd !== 0) throw err('simd', `SIMD ${spec.simd} does not divide MW = ${g.mw} (k*k*input channels)`, `FINN requires MW % SIMD == 0; divisors: ${divisors(g.mw).join(', ')}`);
  }
  if (spec.swgSimd !== undefined || spec.parallelWindow !== undefined) {
    const key = spec.swgSimd !== undefined ? 'swgSimd' : 'parallelWindow';
    if (!g.swg) throw err(key, 'this layer has no sliding-window generator (1x1 stride-1 unpadded conv, whole-input window or element-wise)');
    if (!mvau) throw err(key, "a pooling layer's depthwise SWG takes its SIMD from the pool's 'pe'");
  }
  if (spec.swgSimd !== undefined && g.channels % spec.swgSimd !== 0) throw err('swgSimd', `SWG SIMD ${spec.swgSimd} does not divide the ${g.channels} input channels`, `FINN ConvolutionInputGenerator: "SIMD must divide IFMChannels"; divisors: ${divisors(g.channels).join(', ')}`);
  if (spec.parallelWindow && spec.swgSimd !== undefined && spec.swgSimd !== g.channels) throw err('swgSimd', `the parallel-window SWG needs swgSimd = the ${g.channels} input channels, got ${spec.swgSimd}`, 'FINN RTL SWG: "SIMD must be equal to IFMChannels" in parallel style');
}

/** Chooses a layer's folding: explicit values kept, the rest searched for `targetCycles` (or FINN's default 1). */
function chooseFolding(g: Geometry, spec: DataflowFolding, targetCycles: number | null): { fold: Fold; chosenBy: Record<string, 'explicit' | 'search' | 'default'>; reason?: string } {
  const mvau = g.kind === 'xnor-mvau' || g.kind === 'mac-mvau';
  const chosenBy: Record<string, 'explicit' | 'search' | 'default'> = {};
  const how = (k: keyof DataflowFolding) => (spec[k] !== undefined ? 'explicit' : targetCycles === null ? 'default' : 'search');
  chosenBy.pe = how('pe');
  if (mvau) chosenBy.simd = how('simd');
  if (g.swg && mvau) { chosenBy.swgSimd = how('swgSimd'); chosenBy.parallelWindow = how('parallelWindow'); }
  const within = (c: number) => targetCycles === null || c <= targetCycles;
  const reasons: string[] = [];

  // the SWG (conv layers): smallest SIMD meeting the target, then the parallel window (FINN SetFolding)
  let swgSimd: number | null = null, parallelWindow = spec.parallelWindow ?? false;
  if (g.swg && mvau) {
    const sw = g.swg;
    const cands = spec.swgSimd !== undefined ? [spec.swgSimd] : targetCycles === null ? [spec.parallelWindow ? sw.channels : 1] : divisors(sw.channels);
    const fits = (s: number, par: boolean) => {
      const e = enginesOf(g, { pe: 1, simd: 1, swgSimd: s, parallelWindow: par }).filter((x) => x.name === 'swg' || x.name === 'fmpadding');
      return maxCycles(e);
    };
    if (spec.parallelWindow !== undefined) {
      swgSimd = spec.parallelWindow ? sw.channels : (cands.find((s) => within(fits(s, false))) ?? cands[cands.length - 1]);
    } else {
      swgSimd = cands.find((s) => within(fits(s, false))) ?? null;
      if (swgSimd === null) {
        const full = cands[cands.length - 1];
        parallelWindow = targetCycles !== null && full === sw.channels;
        swgSimd = full;
      }
    }
    const c = fits(swgSimd, parallelWindow);
    if (!within(c)) reasons.push(`its ${g.pad > 0 ? 'FMPadding / ' : ''}sliding-window generator need up to ${c} cycles per frame at SWG SIMD ${swgSimd}${parallelWindow ? ' (parallel window)' : ''} > ${targetCycles}`);
  }

  let pe = 1, simd = 1;
  if (mvau) {
    const pes = spec.pe !== undefined ? [spec.pe] : targetCycles === null ? [1] : divisors(g.mh);
    const simds = spec.simd !== undefined ? [spec.simd] : targetCycles === null ? [1] : divisors(g.mw);
    // fewest lanes; equal lanes give equal cycles (MH*MW*vectors / lanes), so a tie goes to the larger SIMD
    let best: { pe: number; simd: number; lanes: number; cycles: number } | null = null;
    const fastest = { pe: pes[pes.length - 1], simd: simds[simds.length - 1] };
    for (const p of pes) for (const s of simds) {
      // the post-op runs at the MVAU's PE output width and never exceeds the MVAU's cycles (MW/SIMD >= 1)
      const cycles = mvauCycles(g.mh, g.mw, p, s, g.vectors);
      if (!within(cycles)) continue;
      const lanes = p * s;
      if (!best || lanes < best.lanes || (lanes === best.lanes && s > best.simd)) best = { pe: p, simd: s, lanes, cycles };
    }
    if (best) { pe = best.pe; simd = best.simd; }
    else {
      ({ pe, simd } = fastest);
      reasons.push(`its MVAU needs ${mvauCycles(g.mh, g.mw, pe, simd, g.vectors)} cycles per frame even at PE ${pe}, SIMD ${simd}${spec.pe !== undefined || spec.simd !== undefined ? ' (explicit folding)' : ' (fully unfolded: one output pixel per cycle)'} > ${targetCycles}`);
    }
  } else {
    const pes = spec.pe !== undefined ? [spec.pe] : targetCycles === null ? [1] : divisors(g.channels);
    const found = pes.find((p) => within(maxCycles(enginesOf(g, { pe: p, simd: 1, swgSimd: g.swg ? p : null, parallelWindow: false }))));
    pe = found ?? pes[pes.length - 1];
    if (found === undefined) reasons.push(`its ${g.kind} engine needs ${maxCycles(enginesOf(g, { pe, simd: 1, swgSimd: g.swg ? pe : null, parallelWindow: false }))} cycles per frame even at PE ${pe} > ${targetCycles}`);
    if (g.swg) swgSimd = pe;
  }
  const fold = { pe, simd, swgSimd, parallelWindow };
  return { fold, chosenBy, reason: reasons.length ? `layer '${g.l.id}' cannot meet ${targetCycles} cycles per frame: ${reasons.join('; ')}` : undefined };
}

// ---------------------------------------------------------------- pixel ready times (shortcut FIFO depth)

/** Dependency ready time (frame times) of each output pixel of a window over `inReady` (see the header). */
function windowReady(inReady: Float64Array, inH: number, inW: number, outH: number, outW: number, kh: number, kw: number, stride: number, pad: number): Float64Array {
  const r = new Float64Array(outH * outW);
  let run = -Infinity;
  for (let y = 0; y < outH; y++) for (let x = 0; x < outW; x++) {
    const rr = Math.max(0, Math.min(inH - 1, y * stride - pad + kh - 1)), cc = Math.max(0, Math.min(inW - 1, x * stride - pad + kw - 1));
    run = Math.max(run, inReady[rr * inW + cc]);
    r[y * outW + x] = run;
  }
  return r;
}

/** Number of entries of a non-decreasing array <= t. */
function countAtMost(a: Float64Array, t: number): number {
  let lo = 0, hi = a.length;
  // ready times are sums of multiples of 1/pixels: compare with a tolerance far below one pixel's 1/N
  const tt = t + 1e-9;
  while (lo < hi) { const m = (lo + hi) >> 1; if (a[m] <= tt) lo = m + 1; else hi = m; }
  return lo;
}

/**
 * Largest number of side pixels ready and not yet consumed. Output j consumes side pixels up to its window's
 * last pixel; side pixel i can be dropped once no later output needs it: the first still-needed pixel at
 * output j is min over outputs j' >= j of the top-left pixel of j''s window (element-wise: j itself).
 */
function fifoDepthPixels(sideReady: Float64Array, side: TensorRef, outReady: Float64Array, outH: number, outW: number, win: { kernel: number; stride: number; pad: number } | null): number {
  const n = outH * outW;
  const firstNeeded = new Float64Array(n);
  let m = Infinity;
  for (let j = n - 1; j >= 0; j--) {
    const y = Math.floor(j / outW), x = j % outW;
    const tl = win ? Math.max(0, Math.min(side.h - 1, y * win.stride - win.pad)) * side.w + Math.max(0, Math.min(side.w - 1, x * win.stride - win.pad)) : j;
    m = Math.min(m, tl);
    firstNeeded[j] = m;
  }
  let depth = 1;
  for (let j = 0; j < n; j++) depth = Math.max(depth, countAtMost(sideReady, outReady[j]) - firstNeeded[j]);
  return depth;
}

// ---------------------------------------------------------------- the network

export interface DataflowOptions {
  /** overrides the arch's targetFps */
  targetFps?: number;
  convention?: CostConvention;
}

/** Simulates a plan on a dataflow arch (see the header). Deterministic; plain JSON-able result. */
export function simulateDataflow(plan: ExecPlan, arch: ResolvedDataflowArch, opts: DataflowOptions = {}): DataflowResult {
  const convention = opts.convention ?? CONVENTIONS.paper;
  const layers = buildLayers(plan, convention);
  const targetFps = opts.targetFps ?? arch.targetFps;
  if (targetFps !== null && !(Number.isFinite(targetFps) && targetFps > 0)) throw new UserError('E_ARG', `target frame rate must be a positive number, got ${targetFps}`, { path: '--target-fps' });
  const targetCycles = targetFps === null ? null : arch.clockHz / targetFps;
  const ids = layers.map((l) => l.id);
  for (const id of Object.keys(arch.folding)) {
    if (!ids.includes(id)) throw new UserError('E_ARCH', `no layer '${id}' in network '${plan.name}'`, { file: arch.file, path: folPath(id), hint: `${didYouMeanHint(id, ids)} layers: ${ids.join(', ')}` });
  }

  // DRAM: the input frame in and the output frame out
  const outT = plan.producer.get(plan.output)!.out;
  // every network input is read per frame: the input and the inputs of independent segments (ir/segments.ts)
  const netInputs: [string, TensorInfo][] = [['input', plan.input], ...plan.net.segmentInputs];
  const inputBytes = netInputs.reduce((a, [, t]) => a + Math.ceil((t.h * t.w * t.c * elemBits(t, arch)) / 8), 0);
  const outputBytes = Math.ceil((outT.h * outT.w * outT.c * elemBits(outT, arch)) / 8);
  const dram = {
    inputBytes, outputBytes,
    inputCycles: Math.ceil(inputBytes / arch.dram.bytesPerCycle), outputCycles: Math.ceil(outputBytes / arch.dram.bytesPerCycle),
    latencyCycles: arch.dram.latencyCycles,
  };
  const infeasible: { layer: string; reason: string }[] = [];
  if (targetCycles !== null) {
    for (const [what, c] of [['input', dram.inputCycles], ['output', dram.outputCycles]] as const) {
      if (c > targetCycles) infeasible.push({ layer: `dram-${what}`, reason: `the ${what} frame (${what === 'input' ? inputBytes : outputBytes} B) takes ${c} cycles at ${arch.dram.bytesPerCycle.toFixed(3)} B/cycle > ${targetCycles}` });
    }
  }

  // ready times and critical-path latency per tensor
  const ready = new Map<string, Float64Array>();
  const latencyAt = new Map<string, number>();
  for (const [name, t] of netInputs) {
    const inReady = new Float64Array(t.h * t.w);
    for (let i = 0; i < inReady.length; i++) inReady[i] = i / inReady.length;
    ready.set(name, inReady);
    latencyAt.set(name, dram.latencyCycles + dram.inputCycles);
  }
  const stages: DataflowStage[] = [];
  const stageAreas: StageArea[] = [];
  for (const l of layers) {
    const g = geometryOf(l, arch);
    const spec = arch.folding[l.id] ?? {};
    checkExplicit(g, spec, arch);
    const { fold, chosenBy, reason } = chooseFolding(g, spec, targetCycles);
    if (reason) infeasible.push({ layer: l.id, reason });
    const engines = enginesOf(g, fold);
    const cyclesPerFrame = maxCycles(engines);

    // memory
    const mvau = g.kind === 'xnor-mvau' || g.kind === 'mac-mvau';
    const weightBits = mvau ? g.mw * g.mh * (g.kind === 'xnor-mvau' ? 1 : arch.realMacBits) : 0;
    const paramBits = l.out.c * l.paramWordsPerChannel * 32;
    const swgWords = g.swg ? swgBufferWords(g.swg, fold.swgSimd!, fold.parallelWindow) : 0;
    const swgBits = swgWords * fold.swgSimd! * g.inBits || 0;
    const mainName = l.anchor.inputs[0];
    const mainReady = ready.get(mainName);
    if (!mainReady) throw new Error(`dataflow: no ready times for ${mainName}`);
    let outReady = windowReady(mainReady, l.input.h, l.input.w, l.out.h, l.out.w, l.kh, l.kw, l.stride, l.pad);
    for (const s of l.sideInputs) {
      const sr = ready.get(s.name)!;
      const w = s.role === 'window' ? l.actWindow! : null;
      const sideAt = w ? windowReady(sr, s.h, s.w, l.out.h, l.out.w, w.kernel, w.kernel, w.stride, w.pad) : sr;
      for (let j = 0; j < outReady.length; j++) outReady[j] = Math.max(outReady[j], sideAt[j]);
    }
    // balanced pipeline: the engine emits its output pixels no faster than evenly over one frame time
    const step = 1 / outReady.length;
    for (let j = 1; j < outReady.length; j++) outReady[j] = Math.max(outReady[j], outReady[j - 1] + step);
    const shortcutFifos = l.sideInputs.map((s) => {
      const depthPixels = fifoDepthPixels(ready.get(s.name)!, s, outReady, l.out.h, l.out.w, s.role === 'window' ? l.actWindow! : null);
      return { tensor: s.name, depthPixels, bits: depthPixels * pixelBits(s, arch) };
    });
    // stream FIFOs: main input word = the first engine's parallel elements; side inputs at the post-op's PE
    const mainWordElems = g.swg ? fold.swgSimd! : mvau ? fold.simd : fold.pe;
    const streamFifoBits = arch.fifoDepth * (mainWordElems * g.inBits + l.sideInputs.reduce((a, s) => a + fold.pe * elemBits(s, arch), 0));
    const totalBits = weightBits + paramBits + swgBits + shortcutFifos.reduce((a, f) => a + f.bits, 0) + streamFifoBits;
    const costIn: StageCostInput = {
      kind: g.kind, mh: g.mh, mw: g.mw, vectors: g.vectors, pe: fold.pe, simd: fold.simd,
      weightBits, paramBits, paramWordsPerChannel: l.paramWordsPerChannel,
      bops: g.kind === 'xnor-mvau' ? l.bops : 0, realMacs: g.kind === 'mac-mvau' ? l.macs : 0,
      outElements: l.out.h * l.out.w * l.out.c, ppuPerElement: l.ppuPerElement, hasPostOp: g.hasPostOp,
      poolTaps: g.kind === 'pool' || g.kind === 'global-pool' ? l.out.h * l.out.w * l.out.c * l.kh * l.kw : 0,
      swg: g.swg ? {
        writeElements: g.swg.ifmH * g.swg.ifmW * g.swg.channels, readElements: g.swg.ofmH * g.swg.ofmW * g.swg.kh * g.swg.kw * g.swg.channels,
        elemBits: g.inBits, wordElements: fold.swgSimd!, bufferBits: swgBits,
      } : null,
      mainStream: { elements: l.input.h * l.input.w * l.input.c, elemBits: g.inBits, wordElements: mainWordElems, fifoBits: arch.fifoDepth * mainWordElems * g.inBits },
      sides: l.sideInputs.map((sd, i) => ({
        elements: sd.h * sd.w * sd.c, elemBits: elemBits(sd, arch), wordElements: fold.pe,
        shortcutFifoBits: shortcutFifos[i].bits, streamFifoBits: arch.fifoDepth * fold.pe * elemBits(sd, arch),
      })),
    };
    const energyJ = stageEnergyJ(costIn, arch);
    const area = stageAreaUm2(costIn, arch);
    stageAreas.push(area);
    for (const n of [...l.outputs.map((o) => o.name), ...l.internal]) ready.set(n, outReady);

    // FINN critical path: predecessors' latest output + this layer's nodes in series
    const start = Math.max(...[mainName, ...l.sideInputs.map((s) => s.name)].map((n) => latencyAt.get(n) ?? 0));
    const at = start + engines.reduce((a, e) => a + e.cycles, 0);
    for (const n of [...l.outputs.map((o) => o.name), ...l.internal]) latencyAt.set(n, at);

    stages.push({
      id: l.id, steps: l.steps.map((s) => s.id), op: l.anchor.op, kind: g.kind,
      inShape: [l.input.h, l.input.w, l.input.c], outShape: [l.out.h, l.out.w, l.out.c],
      window: { kernel: [l.kh, l.kw], stride: l.stride, pad: l.pad },
      ...(mvau ? { matrix: { mh: g.mh, mw: g.mw, inputVectors: g.vectors } } : {}),
      folding: { ...fold, chosenBy }, engines, cyclesPerFrame, busyFraction: 0,
      lanes: mvau ? fold.pe * fold.simd : 0,
      memory: { weightBits, paramBits, swgBufferWords: swgWords, swgBufferBits: swgBits, shortcutFifos, streamFifoBits, totalBytes: totalBits / 8 },
      bops: l.countTotals.bops, realMacs: l.countTotals.realMacs,
      energyJ, areaMm2: Object.fromEntries(Object.entries(area.um2).map(([k, v]) => [k, v / 1e6])), latencyAtOutputCycles: at,
      feasible: !reason, ...(reason ? { reason } : {}),
    });
  }

  const candidates: [string, number][] = [['dram-input', dram.inputCycles], ['dram-output', dram.outputCycles], ...stages.map((s): [string, number] => [s.id, s.cyclesPerFrame])];
  let ii = 0, bottleneck = '';
  for (const [n, c] of candidates) if (c > ii) { ii = c; bottleneck = n; }
  for (const s of stages) s.busyFraction = s.cyclesPerFrame / ii;
  const latencyCycles = (latencyAt.get(plan.output) ?? 0) + dram.latencyCycles + dram.outputCycles;
  // overlapped latency: the ready time (frame times, each = II cycles) of the output's last pixel in the same
  // balanced-pipeline model as the FIFO depths, plus the DRAM latency in and out and the output transfer
  const outReadyLast = ready.get(plan.output)!;
  const overlappedLatencyCycles = Math.ceil(outReadyLast[outReadyLast.length - 1] * ii - 1e-9) + 2 * dram.latencyCycles + dram.outputCycles;
  const sum = (f: (s: DataflowStage) => number) => stages.reduce((a, s) => a + f(s), 0);
  const dramBytesPerFrame = inputBytes + outputBytes;
  const fps = arch.clockHz / ii;
  const energyJ: Record<string, number> = {};
  for (const k of DATAFLOW_ENERGY_COMPONENTS) energyJ[k] = sum((s) => s.energyJ[k]);
  energyJ.dram = dramEnergyJ(dramBytesPerFrame, arch);
  const energyPerFrameJ = Object.values(energyJ).reduce((a, x) => a + x, 0);
  const area = areaReport(stageAreas, arch);
  const totals: DataflowResult['totals'] = {
    initiationIntervalCycles: ii, bottleneck, framesPerSecond: fps, latencyCycles, latencyMs: (latencyCycles / arch.clockHz) * 1e3,
    overlappedLatencyCycles, overlappedLatencyMs: (overlappedLatencyCycles / arch.clockHz) * 1e3,
    xnorLanes: sum((s) => (s.kind === 'xnor-mvau' ? s.lanes : 0)), macLanes: sum((s) => (s.kind === 'mac-mvau' ? s.lanes : 0)), totalLanes: sum((s) => s.lanes),
    poolAndEltwisePe: sum((s) => (s.lanes === 0 ? s.folding.pe : 0)),
    onChipBytes: sum((s) => s.memory.totalBytes),
    weightBytes: sum((s) => s.memory.weightBits) / 8, paramBytes: sum((s) => s.memory.paramBits) / 8,
    swgBufferBytes: sum((s) => s.memory.swgBufferBits) / 8,
    shortcutFifoBytes: sum((s) => s.memory.shortcutFifos.reduce((a, f) => a + f.bits, 0)) / 8,
    streamFifoBytes: sum((s) => s.memory.streamFifoBits) / 8,
    dramBytesPerFrame, dramBytesPerSecond: dramBytesPerFrame * fps,
    bops: sum((s) => s.bops), realMacs: sum((s) => s.realMacs),
    energyJ, energyPerFrameJ, topsPerWatt: (2 * (sum((s) => s.realMacs) + sum((s) => s.bops))) / energyPerFrameJ / 1e12,
    areaMm2: area.totalMm2,
  };
  const notes = [
    'one engine per layer (plan group), all engines streaming concurrently; weights on chip; DRAM carries the input and output frames only',
    `cycle formulas: FINN get_exp_cycles (github.com/Xilinx/finn): MVAU, RTL ConvolutionInputGenerator, FMPadding, Pool, GlobalAccPool, AddStreams/ChannelwiseOp`,
    `real MAC engines (stem, downsample, FC): ${arch.realMacPrecision} weights and MACs, activations streamed at ${arch.realStreamBits} bits; binary activations and weights 1 bit`,
    targetFps === null ? 'no target frame rate: layers without explicit folding use FINN\'s default PE = SIMD = 1' : `folding search: target ${targetFps} frames/s = at most ${targetCycles!.toFixed(0)} cycles per frame per engine; cost = sum of MVAU lanes PE*SIMD (minimal per layer, hence in total)`,
    'latency: FINN critical_path_cycles (pessimistic sum of node cycles along the longest path) + DRAM latency and transfers of the input and output frames; overlapped latency: the balanced-pipeline ready-time model x II',
    'shortcut FIFO depths: dependency-lag model (balanced pipeline, source-paced); FINN sizes FIFOs by RTL simulation, which can give deeper FIFOs when branches run at different rates',
    `energy per frame: the layer-sequential energy table (Horowitz ISSCC'14 operators and SRAM reads, XNE 21.6 fJ/binary op, DRAM ${(arch.dram.energyPerBit.joules * 1e12).toFixed(2)} pJ/bit); MVAU weights are re-read per output pixel (FINN streams the matrix per input vector); SRAM banks are the per-layer memories (src/sim/dataflow-cost.ts)`,
    `area: area.ts unit areas at ${arch.technologyNodeNm} nm (xnor PEs of SIMD lanes rounded up to a power of two, MACs, post-op and pooling lanes, per-layer SRAM macros); DRAM PHY, clock tree and control logic excluded`,
  ];
  return {
    tool: 'birealsim', kind: 'simulate-dataflow', network: plan.name, arch, convention, targetFps, targetCycles,
    feasible: infeasible.length === 0, infeasible, stages, dram, totals, area, definitions: DATAFLOW_DEFINITIONS, notes,
  };
}
