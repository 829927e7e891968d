/**
 * From the ExecPlan's fused groups (golden/plan.ts decides them) to simulator layers: a SimLayer is one group,
 * executed by the unit its first step's op asks for (ops/types.ts OpWorkload: PE array, real-valued unit,
 * pooling unit, or the post-processing unit for a group of element-wise steps) and the post-processing unit
 * (PPU), in one pass over the output. Everything op-specific comes from the op modules' workloads: window,
 * operand precision, PPU operations per element, per-channel parameter words, how a post-op's other input
 * is streamed. Operation counts come from cost/count.ts countStep, the same function `cost` uses.
 *
 * A group's inputs other than the first step's are side inputs streamed from DRAM through the real-valued
 * stream buffer: element-wise (same shape as the output tile), or a k x k window over all channels (an
 * XNOR-Net actscale's x). The group's outputs go to DRAM; its internal tensors stay on chip.
 *
 * Byte sizes (the one place they are defined):
 *  - real tensors: realBits per value (the arch's real-valued stream precision);
 *  - bit tensors: binaryElementBits per element; when 1, packed in 32-bit words per pixel (ceil(C/32)*4 bytes),
 *    exactly the golden layout (core/bits.ts);
 *  - binary weights: same as bit tensors, per (output channel, tap); real weights: the executing unit's
 *    precision; folded BN / alpha / bias parameters: 32-bit each.
 */
import type { ExecPlan, ExecStep, FusedGroup } from '../golden/plan.ts';
import { precisionOf, stepOutput } from '../golden/plan.ts';
import { countStep, totalsOf, type CountTotals, type LayerCost } from '../cost/count.ts';
import { CONVENTIONS, type CostConvention } from '../cost/conventions.ts';
import { opOf } from '../ops/index.ts';
import type { Unit } from '../ops/types.ts';
import type { ResolvedArch } from './arch.ts';

export type { Unit };

export interface TensorRef { name: string; h: number; w: number; c: number; dtype: 'real' | 'bits' }
export interface SideInput extends TensorRef {
  /** 'elementwise': same shape as the output tile; 'window': k x k window over all channels (actscale x) */
  role: 'elementwise' | 'window';
  step: string;
}

export interface SimLayer {
  /** id of the group (its first step) */
  id: string;
  group: FusedGroup;
  steps: ExecStep[];
  anchor: ExecStep;
  unit: Unit;
  /** the anchor multiplies 1-bit operands on the PE array (XNOR-popcount) */
  binary: boolean;
  /** bits of the anchor's operands (plan precision of its input: 1 for packed bits) */
  operandBits: number;
  input: TensorRef;
  out: { h: number; w: number; c: number };
  /** window of the anchor over its input rows/cols (fc and gap: the whole input) */
  kh: number; kw: number; stride: number; pad: number;
  /** input channels of the anchor (= out.c for pool / ppu layers, whose channels map one to one) */
  cin: number;
  channelwise: boolean;
  sideInputs: SideInput[];
  /** tensors written to DRAM */
  outputs: TensorRef[];
  /** step outputs kept on chip only (still verified in functional mode) */
  internal: string[];
  /** the layer writes a packed (bits) output */
  writesBits: boolean;
  /** window used by window side inputs (an actscale's x) */
  actWindow?: { kernel: number; stride: number; pad: number };
  /** PPU operations per output element: multiplies, adds, compares */
  ppuPerElement: { mul: number; add: number; cmp: number };
  /** work of the executing unit: BOPs of a binary anchor, real MACs of a real conv / fc anchor */
  bops: number;
  macs: number;
  /** folded per-channel parameters (mul/bias, BN scale/shift, conv/fc bias) in 32-bit words per output channel */
  paramWordsPerChannel: number;
  /** the group's operation counts under the convention (cost/count.ts: the numbers `cost` reports) */
  counts: LayerCost[];
  countTotals: CountTotals;
}

function ref(name: string, t: { h: number; w: number; c: number; dtype: 'real' | 'bits' }): TensorRef {
  return { name, h: t.h, w: t.w, c: t.c, dtype: t.dtype };
}

/** The plan's fused groups as simulator layers (see the header). */
export function buildLayers(plan: ExecPlan, convention: CostConvention = CONVENTIONS.paper): SimLayer[] {
  const shapeOf = (name: string): TensorRef => {
    if (name === 'input') return ref('input', plan.input);
    const seg = plan.net.segmentInputs.get(name);
    if (seg) return ref(name, seg);
    const p = plan.producer.get(name);
    if (!p) throw new Error(`sim: unknown tensor ${name}`);
    return ref(name, p.out);
  };
  return plan.groups.map((g) => makeLayer(plan, g, shapeOf, convention));
}

function makeLayer(plan: ExecPlan, g: FusedGroup, shapeOf: (n: string) => TensorRef, convention: CostConvention): SimLayer {
  const steps = g.steps, a = steps[0];
  const wa = opOf(a).workload(a);
  const input = shapeOf(a.inputs[0]);
  const out = { h: a.out.h, w: a.out.w, c: a.out.c };
  const ppu = { ...wa.ppu };
  let paramWordsPerChannel = wa.paramWordsPerChannel;
  const produced = new Set(steps.map(stepOutput));
  const sideInputs: SideInput[] = [];
  let actWindow: SimLayer['actWindow'];
  // the chain: the anchor's output, or (a stand-alone element-wise group) the anchor's own main input
  let current = wa.unit === 'ppu' ? a.inputs[0] : stepOutput(a);
  steps.forEach((s, i) => {
    const w = i === 0 ? wa : opOf(s).workload(s);
    if (i > 0) {
      ppu.mul += w.ppu.mul; ppu.add += w.ppu.add; ppu.cmp += w.ppu.cmp;
      paramWordsPerChannel += w.paramWordsPerChannel;
    }
    if (i === 0 && wa.unit !== 'ppu') return;
    if (w.sideWindow) actWindow = w.sideWindow;
    for (const n of s.inputs) {
      if (n === current || produced.has(n)) continue; // on chip: the chain's value or an earlier step of this layer
      sideInputs.push({ ...shapeOf(n), role: w.sideWindow ? 'window' : 'elementwise', step: s.id });
    }
    current = stepOutput(s);
  });
  const counts = steps.map((s) => countStep(s, convention, plan.realFormat));
  const anchorCounts = opOf(a).count(a);
  return {
    id: g.id, group: g, steps, anchor: a, unit: wa.unit, binary: wa.binary, operandBits: precisionOf(plan, input).bits,
    input, out, kh: wa.kh, kw: wa.kw, stride: wa.stride, pad: wa.pad, cin: wa.cin, channelwise: wa.channelwise,
    sideInputs, outputs: g.outputs.map(shapeOf), internal: g.internal, writesBits: steps.some((s) => s.out.dtype === 'bits'), actWindow,
    ppuPerElement: ppu, bops: anchorCounts.bops, macs: anchorCounts.realMacs, paramWordsPerChannel,
    counts, countTotals: totalsOf(counts, convention),
  };
}

// ---------------------------------------------------------------- byte sizes

/** bytes of one pixel's `c` binary elements in buffers and DRAM */
export function bitsPixelBytes(c: number, arch: ResolvedArch): number {
  const b = arch.peArray.binaryElementBits;
  return b === 1 ? Math.ceil(c / 32) * 4 : (c * b) / 8;
}

export function realPixelBytes(c: number, arch: ResolvedArch): number {
  return (c * arch.realBits) / 8;
}

export function tensorBytes(t: { h: number; w: number; c: number; dtype: 'real' | 'bits' }, arch: ResolvedArch): number {
  return t.h * t.w * (t.dtype === 'bits' ? bitsPixelBytes(t.c, arch) : realPixelBytes(t.c, arch));
}

/** Bits per real operand on the unit that executes the layer's MACs. */
export function realOperandBits(arch: ResolvedArch): number {
  return arch.realUnit.precision === 'fp32' ? 32 : arch.realUnit.precision === 'fp16' ? 16 : 8;
}
