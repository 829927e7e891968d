/**
 * Energy per frame and silicon area of the dataflow family (sim/dataflow.ts), by component, from the SAME
 * per-operation numbers and unit areas as the layer-sequential family: energies from arch.ts (Horowitz ISSCC'14
 * operators and 64-bit SRAM reads, XNE 21.6 fJ per binary op, DRAM J/bit), areas from area.ts's unit functions.
 * Nothing here is a new constant; what a dataflow file lacks is derived as stated below.
 *
 * Energy per frame (J), one term per component, summed over the layers (engine names as in dataflow.ts):
 *  - xnor:         BOPs x 21.6 fJ (XNE_BINARY_OP_PJ) + accumulate adds x accumulateAddPj(accBits). An XNOR
 *                  MVAU PE consumes SIMD bits per cycle into one accumulate (the layer-sequential xnor PE's
 *                  laneBits word-op + one add), so adds = MH*(MW/SIMD)*vectors = BOPs / SIMD. accBits =
 *                  ceil(log2(MW+1)), the width of a popcount of MW bits (FINN's minimal accumulator for
 *                  binary XNOR mode: the count lies in [0, MW]).
 *  - realMac:      MACs x (multiply + add) at realMacPrecision (HOROWITZ_ENERGY_PJ, as realUnit.macEnergy).
 *  - weightMemory: FINN's MVAU streams its whole weight matrix once per INPUT VECTOR (output pixel): each
 *                  cycle every PE reads one SIMD-wide word of its weight memory ((MH/PE)*(MW/SIMD) words per
 *                  vector). So every weight bit is read OH*OW times per frame (once for an FC), not once.
 *                  Accesses = PE * (MH/PE)*(MW/SIMD)*vectors of SIMD*weightBits bits, each at the
 *                  layer-sequential buffers' default access energy sramAccessPj(bank bytes, port bits) with
 *                  one bank per PE (bank = weight bytes / PE).
 *  - paramMemory:  folded per-channel parameters (BN / thresholds, 32-bit words): one read of a channel's
 *                  paramWordsPerChannel*32 bits per output element, bank = param bytes / PE.
 *  - postOps:      output elements x (mul, add, compare per element) at the real-stream precision
 *                  (realPrecisionOfBits(realStreamBits), as the post-processing unit's defaults; compare =
 *                  one int8 add, COMPARE_PJ).
 *  - pooling:      taps (output elements x kh x kw) x one add at the real-stream precision.
 *  - swgBuffer:    the sliding-window generator writes every (padded) input element once and reads
 *                  OH*OW*kh*kw*C elements (its windows): accesses of swgSimd elements, bank = the SWG buffer.
 *  - streamFifo:   every element of a layer's main input stream is written once into and read once from
 *                  the depth-fifoDepth FIFO in front of its first engine (word = that engine's parallel
 *                  elements, bank = that FIFO).
 *  - shortcutFifo: every element of a side input (Bi-Real's real-valued shortcut) is written once into and
 *                  read once from its shortcut FIFO (word = PE elements, bank = the FIFO). The side stream's
 *                  depth-fifoDepth stream FIFO is taken as the tail of this FIFO and not counted twice.
 *  - dram:         (input frame + output frame bytes) x 8 x dram.energyPerBit (weights stay on chip).
 * The SRAM energies are Horowitz's READ energies; a write is costed as a read, as the layer-sequential family
 * does. A bank under 8 KB is extrapolated along the 8 KB-32 KB segment (sram64ReadPj): small FIFOs and
 * per-PE weight memories cost less per bit than a large buffer, as they should.
 *
 * Area (mm^2) from area.ts's unit functions at technologyNode (scaledDefault), summed over layers:
 *  - xnorLanes:  per XNOR MVAU, PE x xnorPeArea45(SIMD', accBits): one xnor PE of SIMD' lanes (XNORs, popcount
 *                tree, operand registers, accumulator) per PE. SIMD' = SIMD rounded up to a power of two (the
 *                model's popcount tree is defined for powers of two; unused inputs tied off), an upper bound.
 *  - macLanes:   per MAC MVAU, PE x SIMD x realMacArea45(realMacPrecision).
 *  - postOps:    per layer with a post-op (or a stand-alone element-wise engine), PE x ppuLaneArea45.
 *  - pooling:    per pool / global-pool engine, PE x poolingLaneArea45.
 *  - weightMemory, paramMemory, swgBuffers, streamFifos, shortcutFifos: sramArea45(capacity, banks, port bits)
 *                per memory with the banks and ports above (weights: PE banks of SIMD x weight bits;
 *                params: PE banks of paramWords x 32 bits; SWG, each FIFO: one bank of its word).
 * Excluded, as for the other family: DRAM, clock tree, I/O, interconnect, FMPadding / SWG control logic.
 *
 * Invariants: every term finite and >= 0; deterministic; the components sum to the totals.
 */
import {
  accumulateAddPj, COMPARE_PJ, HOROWITZ_ENERGY_PJ, realPrecisionOfBits, sramAccessPj, XNE_BINARY_OP_PJ,
} from './arch.ts';
import { nodeScale, poolingLaneArea45, ppuLaneArea45, realMacArea45, REFERENCE_NODE_NM, scaledDefault, sramArea45, xnorPeArea45, type UnitArea } from './area.ts';
import type { ResolvedDataflowArch } from './dataflow-arch.ts';
import type { EngineKind } from './dataflow.ts';

/** What one layer moves and computes per frame (dataflow.ts fills it from the layer and its folding). */
export interface StageCostInput {
  kind: EngineKind;
  /** MVAU matrix (MVAU kinds; 0 otherwise) and folding */
  mh: number; mw: number; vectors: number;
  pe: number; simd: number;
  weightBits: number; paramBits: number; paramWordsPerChannel: number;
  bops: number; realMacs: number;
  /** output elements OH*OW*C and their element-wise ops */
  outElements: number;
  ppuPerElement: { mul: number; add: number; cmp: number };
  hasPostOp: boolean;
  /** pooling taps (output elements x window); 0 for other kinds */
  poolTaps: number;
  swg: { writeElements: number; readElements: number; elemBits: number; wordElements: number; bufferBits: number } | null;
  mainStream: { elements: number; elemBits: number; wordElements: number; fifoBits: number };
  sides: { elements: number; elemBits: number; wordElements: number; shortcutFifoBits: number; streamFifoBits: number }[];
}

export const DATAFLOW_ENERGY_COMPONENTS = ['xnor', 'realMac', 'weightMemory', 'paramMemory', 'postOps', 'pooling', 'swgBuffer', 'streamFifo', 'shortcutFifo', 'dram'] as const;
export const DATAFLOW_AREA_COMPONENTS = ['xnorLanes', 'macLanes', 'postOps', 'pooling', 'weightMemory', 'paramMemory', 'swgBuffers', 'streamFifos', 'shortcutFifos'] as const;

const pJ = 1e-12;

/** Accumulator bits of an XNOR MVAU row: a popcount of MW bits, in [0, MW]. */
export function xnorAccumulatorBits(mw: number): number {
  return Math.max(1, Math.ceil(Math.log2(mw + 1)));
}

/** Smallest power of two >= n (the popcount tree width of a SIMD-lane PE, see the header). */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Energy (J) of `elements` elements of `elemBits` moved through an SRAM of `bankBytes` in words of `wordElements` (accesses x J/access). */
function sramJ(elements: number, elemBits: number, wordElements: number, bankBytes: number): number {
  if (elements === 0) return 0;
  const accesses = elements / wordElements;
  return accesses * sramAccessPj(bankBytes, wordElements * elemBits) * pJ;
}

/** One layer's energy per frame by component (J; `dram` is a network term, 0 here). */
export function stageEnergyJ(s: StageCostInput, arch: ResolvedDataflowArch): Record<string, number> {
  const e: Record<string, number> = Object.fromEntries(DATAFLOW_ENERGY_COMPONENTS.map((k) => [k, 0]));
  const real = HOROWITZ_ENERGY_PJ[realPrecisionOfBits(arch.realStreamBits)];
  if (s.kind === 'xnor-mvau') {
    e.xnor = (s.bops * XNE_BINARY_OP_PJ + (s.bops / s.simd) * accumulateAddPj(xnorAccumulatorBits(s.mw)).pj) * pJ;
  }
  if (s.kind === 'mac-mvau') {
    const m = HOROWITZ_ENERGY_PJ[arch.realMacPrecision];
    e.realMac = s.realMacs * (m.mul + m.add) * pJ;
  }
  if (s.kind === 'xnor-mvau' || s.kind === 'mac-mvau') {
    const wBits = s.kind === 'xnor-mvau' ? 1 : arch.realMacBits;
    // PE memories, each read one SIMD-wide word per cycle: MH*MW*vectors weight uses in total
    e.weightMemory = sramJ(s.mh * s.mw * s.vectors, wBits, s.simd, s.weightBits / 8 / s.pe);
  }
  if (s.paramBits > 0) e.paramMemory = sramJ(s.outElements, s.paramWordsPerChannel * 32, 1, s.paramBits / 8 / s.pe);
  if (s.hasPostOp || s.kind === 'eltwise') e.postOps = s.outElements * (s.ppuPerElement.mul * real.mul + s.ppuPerElement.add * real.add + s.ppuPerElement.cmp * COMPARE_PJ) * pJ;
  if (s.kind === 'pool' || s.kind === 'global-pool') e.pooling = s.poolTaps * real.add * pJ;
  if (s.swg) e.swgBuffer = sramJ(s.swg.writeElements + s.swg.readElements, s.swg.elemBits, s.swg.wordElements, s.swg.bufferBits / 8);
  e.streamFifo = 2 * sramJ(s.mainStream.elements, s.mainStream.elemBits, s.mainStream.wordElements, s.mainStream.fifoBits / 8);
  e.shortcutFifo = s.sides.reduce((a, x) => a + 2 * sramJ(x.elements, x.elemBits, x.wordElements, x.shortcutFifoBits / 8), 0);
  return e;
}

/** DRAM energy of one frame: input + output frame bytes x 8 x J/bit. */
export function dramEnergyJ(bytesPerFrame: number, arch: ResolvedDataflowArch): number {
  return bytesPerFrame * 8 * arch.dram.energyPerBit.joules;
}

export interface DataflowAreaReport {
  technologyNodeNm: number;
  scalingRule: string;
  /** mm^2 by component (DATAFLOW_AREA_COMPONENTS) */
  mm2: Record<string, number>;
  totalMm2: number;
  /** how each component is built */
  model: Record<string, string>;
  /** the area.ts derivation (with its primary sources) of one unit of each component, from the first layer using it */
  sources: Record<string, string>;
  excluded: string;
}

/** One layer's area by component (um^2 at the arch's node), and a source text per component it uses. */
export interface StageArea { um2: Record<string, number>; model: Record<string, string>; sources: Record<string, string> }

/** One layer's area by component (um^2 at the arch's node), with the model and unit source of each component it uses. */
export function stageAreaUm2(s: StageCostInput, arch: ResolvedDataflowArch): StageArea {
  const node = arch.technologyNodeNm;
  const um2: Record<string, number> = Object.fromEntries(DATAFLOW_AREA_COMPONENTS.map((k) => [k, 0]));
  const model: Record<string, string> = {}, sources: Record<string, string> = {};
  const add = (k: string, count: number, u: UnitArea, how: string) => {
    const a = scaledDefault(u, node);
    um2[k] += count * a.um2;
    model[k] ??= how;
    sources[k] ??= a.source;
  };
  const realPrec = realPrecisionOfBits(arch.realStreamBits);
  if (s.kind === 'xnor-mvau') add('xnorLanes', s.pe, xnorPeArea45(nextPow2(s.simd), xnorAccumulatorBits(s.mw)), 'per XNOR MVAU: PE x one xnor PE of SIMD lanes (rounded up to a power of two) with a ceil(log2(MW+1))-bit accumulator');
  if (s.kind === 'mac-mvau') add('macLanes', s.pe * s.simd, realMacArea45(arch.realMacPrecision), `per MAC MVAU: PE x SIMD ${arch.realMacPrecision} MACs`);
  if (s.hasPostOp || s.kind === 'eltwise') add('postOps', s.pe, ppuLaneArea45(realPrec, arch.realStreamBits), 'per post-op / element-wise engine: PE post-processing lanes');
  if (s.kind === 'pool' || s.kind === 'global-pool') add('pooling', s.pe, poolingLaneArea45(realPrec), 'per pool engine: PE pooling lanes');
  const mem = (k: string, bits: number, banks: number, portBits: number, how: string) => { if (bits > 0) add(k, 1, sramArea45(bits / 8, banks, portBits), how); };
  if (s.kind === 'xnor-mvau' || s.kind === 'mac-mvau') mem('weightMemory', s.weightBits, s.pe, s.simd * (s.kind === 'xnor-mvau' ? 1 : arch.realMacBits), 'per MVAU: PE banks of SIMD x weight bits');
  mem('paramMemory', s.paramBits, s.pe, s.paramWordsPerChannel * 32, 'per layer: PE banks of paramWords x 32 bits');
  if (s.swg) mem('swgBuffers', s.swg.bufferBits, 1, s.swg.wordElements * s.swg.elemBits, 'per SWG: one bank of swgSimd elements');
  mem('streamFifos', s.mainStream.fifoBits, 1, s.mainStream.wordElements * s.mainStream.elemBits, 'per stream FIFO: one bank of one stream word');
  for (const x of s.sides) {
    mem('streamFifos', x.streamFifoBits, 1, x.wordElements * x.elemBits, 'per stream FIFO: one bank of one stream word');
    mem('shortcutFifos', x.shortcutFifoBits, 1, x.wordElements * x.elemBits, 'per shortcut FIFO: one bank of PE elements');
  }
  return { um2, model, sources };
}

/** Network area report from the layers' areas. */
export function areaReport(stages: StageArea[], arch: ResolvedDataflowArch): DataflowAreaReport {
  const mm2: Record<string, number> = {};
  const model: Record<string, string> = {}, sources: Record<string, string> = {};
  for (const k of DATAFLOW_AREA_COMPONENTS) {
    mm2[k] = stages.reduce((a, s) => a + s.um2[k], 0) / 1e6;
    const first = stages.find((s) => s.model[k]);
    model[k] = first?.model[k] ?? 'none in this network';
    sources[k] = first?.sources[k] ?? 'none in this network';
  }
  const node = arch.technologyNodeNm;
  return {
    technologyNodeNm: node,
    scalingRule: node === REFERENCE_NODE_NM ? 'none (45 nm sources)' : `ideal (node/45 nm)^2 = ${nodeScale(node).toFixed(4)} applied to default unit areas`,
    mm2, totalMm2: Object.values(mm2).reduce((a, x) => a + x, 0), model, sources,
    excluded: 'DRAM device and PHY/controller, clock tree, I/O pads, top-level interconnect, FMPadding / SWG control logic and placement/routing overhead are not modelled (cell and macro footprints only)',
  };
}
