/**
 * Silicon area model of an accelerator (mm^2 by component), each number with its primary source, its
 * technology node and its derivation. DRAM (the device and its PHY/controller), clocking, I/O pads and
 * top-level wiring are EXCLUDED: the total is the sum of the modelled components only.
 *
 * Components and per-unit areas at 45 nm (um^2):
 *  - xnor PE (laneBits L, accumulatorBits A), built from NanGate 45 nm Open Cell Library cells:
 *      operand registers  2L x DFF_X1        (a systolic PE holds the ifmap word and the filter word it
 *                                             passes on to its neighbours)
 *      XNOR               L  x XNOR2_X1
 *      popcount           (L-1) x HA_X1 + (L - log2 L - 1) x FA_X1   (adder tree, derivation below)
 *      accumulator        A x FA_X1 (ripple adder) + A x DFF_X1 (register)
 *  - mac PE (precision p): multiplier + adder of p (Horowitz ISSCC'14) + 3 registers of p bits (two operand
 *    registers passed on, one accumulator) x DFF_X1;
 *  - SRAM buffer: capacity bits x a_bit + banks x port bits x a_port (a 1RW macro per bank; more banks or
 *    wider ports add periphery: sense amplifiers, drivers, column muxes), fitted to two CACTI-derived 45 nm
 *    macros of the same capacity (bsg_fakeram, derivation at SRAM_FIT);
 *  - real unit: macsPerCycle x (multiplier + adder of its precision) (Horowitz); 0 when it is the PE array;
 *  - post-processing lane: multiplier + adder at the real-stream precision (folded BN multiply-add) +
 *    a realBits-bit comparator (sign / threshold) as realBits x FA_X1;
 *  - pooling lane: one adder at the real-stream precision (a max-pool compare reuses the adder).
 * A 16-bit real stream is costed with fp16 operators, as the energy table does (Horowitz has no int16
 * entries; fp16 bounds int16 from above).
 *
 * Area is the sum of standard-cell footprints and macro footprints: no placement utilisation, routing or
 * power-grid overhead (a placed block is typically 1/0.7 of its cell area); state so when comparing with a
 * die photo.
 *
 * Node scaling: ideal quadratic scaling from 45 nm, area x (node / 45 nm)^2. This is an approximation:
 * SRAM bit cells and analogue periphery scale worse than logic below ~28 nm (Stillmaker & Baas 2017 give
 * fitted per-node factors); an override {value, source} is the way to use a measured number.
 *
 * Invariants: every area is finite and >= 0; more rows, cols, laneBits, accumulatorBits, lanes, MACs,
 * capacity, banks or port width never decrease area; deterministic.
 */
import type { AreaEntry, Precision, ResolvedArch, BufferName } from './arch.ts';

export const REFERENCE_NODE_NM = 45;

/**
 * NanGate 45 nm Open Cell Library (FreePDK45), cell footprints = LEF SIZE width x height (row height 1.4 um),
 * as shipped in OpenROAD-flow-scripts flow/platforms/nangate45/lef/NangateOpenCellLibrary.macro.lef.
 */
export const NANGATE45_UM2 = {
  XNOR2_X1: { um2: 1.14 * 1.4, text: 'XNOR2_X1 1.14 x 1.4 um = 1.596 um^2' },
  HA_X1: { um2: 1.9 * 1.4, text: 'HA_X1 1.9 x 1.4 um = 2.66 um^2' },
  FA_X1: { um2: 3.04 * 1.4, text: 'FA_X1 3.04 x 1.4 um = 4.256 um^2' },
  DFF_X1: { um2: 3.23 * 1.4, text: 'DFF_X1 3.23 x 1.4 um = 4.522 um^2' },
} as const;
const NANGATE_SRC = 'NanGate 45 nm Open Cell Library (FreePDK45) LEF cell sizes, OpenROAD-flow-scripts platforms/nangate45';

/**
 * Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm: operator areas
 * in um^2 as quoted in shared/reference/accelerator-model.md §4b (the slide itself could not be retrieved
 * here; the integer adders agree with a NanGate ripple-carry adder: 8 x FA_X1 = 34 um^2 vs 36, 32 x FA_X1
 * = 136 um^2 vs 137, a cross-check of the quoted numbers).
 */
export const HOROWITZ_AREA_UM2: Record<Precision, { mul: number; add: number; label: string }> = {
  fp32: { mul: 7700, add: 4184, label: 'fp32 multiply 7700 um^2 + fp32 add 4184 um^2' },
  fp16: { mul: 1640, add: 1360, label: 'fp16 multiply 1640 um^2 + fp16 add 1360 um^2' },
  int8: { mul: 282, add: 36, label: '8-bit int multiply 282 um^2 + 8-bit int add 36 um^2' },
};
const HOROWITZ_SRC = "Horowitz, \"Computing's energy problem\", ISSCC 2014 (45 nm operator areas; the slide itself was not re-checked)";
/** 32-bit int add (Horowitz, 137 um^2): not a Precision of the model; kept for the cross-check test. */
export const HOROWITZ_INT32_ADD_UM2 = 137;

/**
 * SRAM_FIT: bsg_fakeram black-box SRAMs for the nangate45 platform (OpenROAD-flow-scripts
 * flow/platforms/nangate45/lib/fakeram45_*.lib; bsg_fakeram sizes its macros with CACTI at tech_nm 45),
 * two 1RW macros of the same 4 KiB capacity:
 *   fakeram45_1024x32 (32-bit port) 16406.082 um^2,  fakeram45_512x64 (64-bit port) 17301.438 um^2.
 * Model A = bits * a_bit + portBits * a_port; two equations, two unknowns:
 *   a_port = (17301.438 - 16406.082) / (64 - 32) = 27.98 um^2 per port bit
 *   a_bit  = (16406.082 - 32 * a_port) / 32768   = 0.4734 um^2 per bit (3877.7 um^2 = 0.00388 mm^2 per KiB)
 * Against the other CACTI macros of that platform the fit is within -14% (fakeram45_2048x39, 45479 um^2;
 * fakeram45_128x32, 3296 um^2) .. -6% (fakeram45_256x32, 5066 um^2): it under-estimates small and tall
 * macros a little. A buffer of B banks is B macros: capacity bits * a_bit + B * portBits * a_port.
 */
export const SRAM_FIT = (() => {
  const a1 = 16406.082, a2 = 17301.438;
  const portBitUm2 = (a2 - a1) / (64 - 32);
  const bitUm2 = (a1 - 32 * portBitUm2) / (1024 * 32);
  return { bitUm2, portBitUm2 };
})();
const SRAM_SRC = 'CACTI-derived 45 nm SRAM macros (bsg_fakeram fakeram45_1024x32 16406 um^2 and fakeram45_512x64 17301 um^2, OpenROAD-flow-scripts platforms/nangate45)';

export interface UnitArea { um2: number; derivation: string }

/** Ideal quadratic scaling factor from 45 nm to `nodeNm` (see the module comment). */
export function nodeScale(nodeNm: number): number {
  return (nodeNm / REFERENCE_NODE_NM) ** 2;
}

/**
 * Popcount of L = 2^n single bits as a binary adder tree: level k (k = 1..n) has L/2^k adders of two k-bit
 * numbers; a k-bit ripple adder without carry-in is 1 half adder + (k-1) full adders. Half adders:
 * sum_k L/2^k = L - 1. Full adders: sum_k (L/2^k)(k-1) = sum_k L k/2^k - (L-1) = L(2 - (n+2)/2^n) - L + 1
 * = L - n - 1. (L = 1: no adders; the XNOR output is the count.)
 */
export function popcountCells(laneBits: number): { halfAdders: number; fullAdders: number } {
  const n = Math.round(Math.log2(laneBits));
  if (2 ** n !== laneBits) throw new Error(`popcountCells: laneBits ${laneBits} is not a power of two`);
  return { halfAdders: laneBits - 1, fullAdders: laneBits - n - 1 };
}

/** One xnor PE at 45 nm (module comment). */
export function xnorPeArea45(laneBits: number, accumulatorBits: number): UnitArea {
  const c = NANGATE45_UM2;
  const pc = popcountCells(laneBits);
  const regs = 2 * laneBits * c.DFF_X1.um2;
  const xnor = laneBits * c.XNOR2_X1.um2;
  const popcount = pc.halfAdders * c.HA_X1.um2 + pc.fullAdders * c.FA_X1.um2;
  const acc = accumulatorBits * (c.FA_X1.um2 + c.DFF_X1.um2);
  const um2 = regs + xnor + popcount + acc;
  return {
    um2,
    derivation: `xnor PE (laneBits ${laneBits}, accumulatorBits ${accumulatorBits}) = operand registers 2x${laneBits} DFF_X1 (${regs.toFixed(1)}) + ${laneBits} XNOR2_X1 (${xnor.toFixed(1)}) + popcount tree ${pc.halfAdders} HA_X1 + ${pc.fullAdders} FA_X1 (${popcount.toFixed(1)}) + accumulator ${accumulatorBits} FA_X1 + ${accumulatorBits} DFF_X1 (${acc.toFixed(1)}) = ${um2.toFixed(1)} um^2 at 45 nm [${NANGATE_SRC}: ${c.XNOR2_X1.text}, ${c.HA_X1.text}, ${c.FA_X1.text}, ${c.DFF_X1.text}]`,
  };
}

const PRECISION_BITS: Record<Precision, number> = { fp32: 32, fp16: 16, int8: 8 };

/** One mac PE at 45 nm: multiplier + adder (Horowitz) + 3 p-bit registers (NanGate DFF_X1). */
export function macPeArea45(p: Precision): UnitArea {
  const h = HOROWITZ_AREA_UM2[p];
  const regs = 3 * PRECISION_BITS[p] * NANGATE45_UM2.DFF_X1.um2;
  const um2 = h.mul + h.add + regs;
  return { um2, derivation: `mac PE (${p}) = ${h.label} [${HOROWITZ_SRC}] + 3x${PRECISION_BITS[p]} DFF_X1 operand/accumulator registers (${regs.toFixed(1)}) [${NANGATE_SRC}: ${NANGATE45_UM2.DFF_X1.text}] = ${um2.toFixed(1)} um^2 at 45 nm` };
}

/** One real-unit MAC at 45 nm: multiplier + adder of the precision (Horowitz). */
export function realMacArea45(p: Precision): UnitArea {
  const h = HOROWITZ_AREA_UM2[p];
  return { um2: h.mul + h.add, derivation: `one ${p} MAC = ${h.label} = ${h.mul + h.add} um^2 at 45 nm [${HOROWITZ_SRC}]` };
}

/** One post-processing lane at 45 nm: multiply-add at the real-stream precision + a realBits-bit comparator. */
export function ppuLaneArea45(realPrecision: Precision, realBits: number): UnitArea {
  const h = HOROWITZ_AREA_UM2[realPrecision];
  const cmp = realBits * NANGATE45_UM2.FA_X1.um2;
  const um2 = h.mul + h.add + cmp;
  return { um2, derivation: `post-processing lane = ${realPrecision} multiply-add (${h.label}) [${HOROWITZ_SRC}] + ${realBits}-bit comparator as ${realBits} FA_X1 (${cmp.toFixed(1)}) [${NANGATE_SRC}: ${NANGATE45_UM2.FA_X1.text}] = ${um2.toFixed(1)} um^2 at 45 nm` };
}

/** One pooling lane at 45 nm: one adder at the real-stream precision. */
export function poolingLaneArea45(realPrecision: Precision): UnitArea {
  const h = HOROWITZ_AREA_UM2[realPrecision];
  return { um2: h.add, derivation: `pooling lane = one ${realPrecision} adder (max-pool compares on it) = ${h.add} um^2 at 45 nm [${HOROWITZ_SRC}]` };
}

/** One SRAM buffer at 45 nm (SRAM_FIT). */
export function sramArea45(capacityBytes: number, banks: number, portBits: number): UnitArea {
  const cells = capacityBytes * 8 * SRAM_FIT.bitUm2;
  const periphery = banks * portBits * SRAM_FIT.portBitUm2;
  const um2 = cells + periphery;
  return {
    um2,
    derivation: `SRAM ${(capacityBytes / 1024).toFixed(1)} KiB x ${SRAM_FIT.bitUm2.toFixed(4)} um^2/bit (${cells.toFixed(0)}) + ${banks} banks x ${portBits}-bit port x ${SRAM_FIT.portBitUm2.toFixed(2)} um^2 per port bit (${periphery.toFixed(0)}) = ${um2.toFixed(0)} um^2 at 45 nm [${SRAM_SRC}; a_bit and a_port fitted from the two, see src/sim/area.ts SRAM_FIT]`,
  };
}

/** A default unit area at `nodeNm` with its source ("default: ..." like energy). */
export function scaledDefault(u: UnitArea, nodeNm: number): AreaEntry {
  const s = nodeScale(nodeNm);
  const um2 = u.um2 * s;
  const scaling = nodeNm === REFERENCE_NODE_NM ? '' : `; scaled to ${nodeNm} nm by the ideal rule (${nodeNm}/45)^2 = ${s.toFixed(4)} (an approximation) -> ${um2.toFixed(1)} um^2`;
  return { um2, source: `default: ${u.derivation}${scaling}` };
}

export interface ComponentArea { mm2: number; count: number; unit: string; unitUm2: number; source: string }
export interface AreaReport {
  technologyNodeNm: number;
  scalingRule: string;
  components: { peArray: ComponentArea; buffers: Record<BufferName, ComponentArea>; ppu: ComponentArea; realUnit: ComponentArea; pooling: ComponentArea };
  /** the flat mm^2 of every component (peArray, buffers.<name>, ppu, realUnit, pooling) */
  mm2: Record<string, number>;
  totalMm2: number;
  excluded: string;
}

const UM2_PER_MM2 = 1e6;

/** Area of a resolved arch by component. The unit areas (with their sources) are resolved in arch.ts. */
export function areaOf(arch: ResolvedArch): AreaReport {
  const a = arch.area;
  const comp = (count: number, unit: string, e: AreaEntry): ComponentArea => ({ mm2: (count * e.um2) / UM2_PER_MM2, count, unit, unitUm2: e.um2, source: e.source });
  const peArray = comp(arch.peArray.rows * arch.peArray.cols, 'PE', a.pe);
  // buffer order = BUFFER_NAMES (the order arch.ts builds them in; not imported: arch.ts imports this module)
  const names = Object.keys(arch.buffers) as BufferName[];
  const buffers = {} as Record<BufferName, ComponentArea>;
  for (const b of names) buffers[b] = comp(1, 'buffer', arch.buffers[b].area);
  const ppu = comp(arch.postProcessing.lanes, 'lane', a.ppuLane);
  const realUnit = arch.realUnit.onPeArray
    ? { mm2: 0, count: 0, unit: 'MAC', unitUm2: 0, source: 'realUnit "pe-array": real MACs run on the PE array (its area is in peArray)' }
    : comp(arch.realUnit.macsPerCycle, 'MAC', a.realUnitMac);
  const pooling = comp(arch.pooling.lanes, 'lane', a.poolingLane);
  const mm2: Record<string, number> = { peArray: peArray.mm2 };
  for (const b of names) mm2[`buffers.${b}`] = buffers[b].mm2;
  mm2.ppu = ppu.mm2; mm2.realUnit = realUnit.mm2; mm2.pooling = pooling.mm2;
  const totalMm2 = Object.values(mm2).reduce((s, x) => s + x, 0);
  return {
    technologyNodeNm: a.technologyNodeNm,
    scalingRule: a.technologyNodeNm === REFERENCE_NODE_NM ? 'none (45 nm sources)' : `ideal (node/45 nm)^2 = ${nodeScale(a.technologyNodeNm).toFixed(4)} applied to default unit areas (overrides are taken as given)`,
    components: { peArray, buffers, ppu, realUnit, pooling },
    mm2, totalMm2,
    excluded: 'DRAM device and PHY/controller, clock tree, I/O pads, top-level interconnect and placement/routing overhead are not modelled (cell and macro footprints only)',
  };
}
