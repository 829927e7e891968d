/**
 * From the ExecPlan to simulator layers: each SimLayer is one anchor step (xnor / conv / fc / pool / gap, or
 * a stand-alone post-op) plus the element-wise post-ops fused behind it (the plan's own steps, in plan
 * order), executed by one compute unit and the post-processing unit (PPU) in one pass over the output.
 *
 * Fusion rule: a bn / add / sign / relu / clip / actscale step fuses into the layer just before it (in plan
 * order) when it consumes that layer's current output (for add: either operand, IEEE addition is
 * commutative); fusion stops after a sign (its output is bits). The other operand of a fused add, and the
 * real input x of an XNOR-Net actscale (a k x k window over all channels of x), are streamed from DRAM
 * through the real-valued stream buffer. Every tensor a layer produces that is read by a later layer (or is
 * the network output) is written to DRAM; tensors used only inside the layer stay on chip.
 *
 * Byte sizes (the one place they are defined):
 *  - real tensors: realBits per value (the arch's real-valued stream precision);
 *  - bit tensors: binaryElementBits per element; when 1, packed in 32-bit words per pixel (ceil(C/32)*4 bytes),
 *    exactly the golden layout (core/bits.ts);
 *  - binary weights: same as bit tensors, per (output channel, tap); real weights: the executing unit's
 *    precision; folded BN / alpha / bias parameters: 32-bit each.
 */
import type { ExecPlan, ExecStep } from '../golden/plan.ts';
import { stepOutput } from '../golden/plan.ts';
import type { ResolvedArch } from './arch.ts';

export type Unit = 'pe-array' | 'real-unit' | 'pooling' | 'ppu';

export interface TensorRef { name: string; h: number; w: number; c: number; dtype: 'real' | 'bits' }
export interface SideInput extends TensorRef {
  /** 'elementwise': same shape as the output tile; 'window': k x k window over all channels (actscale x) */
  role: 'elementwise' | 'window';
  step: string;
}

export interface SimLayer {
  /** id of the anchor step */
  id: string;
  steps: ExecStep[];
  anchor: ExecStep;
  unit: Unit;
  /** the anchor is a binary conv (xnor) */
  binary: boolean;
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
  /** window used by actscale side inputs (same as the bconv's) */
  actWindow?: { kernel: number; stride: number; pad: number };
  /** PPU operations per output element: multiplies, adds, compares */
  ppuPerElement: { mul: number; add: number; cmp: number };
  /** cost-model operation counts (formulas in cost/conventions.ts): BOPs of binary convs, MACs of real conv/fc */
  bops: number;
  macs: number;
  /** folded per-channel parameters (mul/bias, BN scale/shift, conv/fc bias) in 32-bit words per output channel */
  paramWordsPerChannel: number;
}

const POST_OPS = new Set(['bn', 'add', 'sign', 'relu', 'clip', 'actscale']);

function ref(name: string, t: { h: number; w: number; c: number; dtype: 'real' | 'bits' }): TensorRef {
  return { name, h: t.h, w: t.w, c: t.c, dtype: t.dtype };
}

/** Groups the plan's steps into simulator layers (see the fusion rule above). */
export function buildLayers(plan: ExecPlan): SimLayer[] {
  const consumers = new Map<string, string[]>();
  for (const s of plan.steps) for (const n of s.inputs) { const a = consumers.get(n) ?? []; a.push(s.id); consumers.set(n, a); }
  const shapeOf = (name: string): TensorRef => {
    if (name === 'input') return ref('input', plan.input);
    const p = plan.producer.get(name);
    if (!p) throw new Error(`sim: unknown tensor ${name}`);
    return ref(name, p.out);
  };
  const groups: ExecStep[][] = [];
  let cur: ExecStep[] | null = null;
  for (const s of plan.steps) {
    if (cur && POST_OPS.has(s.kind)) {
      const last = cur[cur.length - 1];
      const current = stepOutput(last);
      const endsInBits = last.kind === 'sign';
      const first = s.inputs[0] === current;
      const second = s.kind === 'add' && s.inputs[1] === current;
      if (!endsInBits && (first || second)) { cur.push(s); continue; }
    }
    cur = [s];
    groups.push(cur);
  }
  return groups.map((steps) => makeLayer(plan, steps, consumers, shapeOf));
}

function makeLayer(plan: ExecPlan, steps: ExecStep[], consumers: Map<string, string[]>, shapeOf: (n: string) => TensorRef): SimLayer {
  const a = steps[0];
  const inStep = new Set(steps.map((s) => s.id));
  const produced = new Set(steps.map(stepOutput));
  const input = shapeOf(a.inputs[0]);
  const out = { h: a.out.h, w: a.out.w, c: a.out.c };
  let unit: Unit, kh = 1, kw = 1, stride = 1, pad = 0, cin = input.c, channelwise = false, bops = 0, macs = 0, paramWordsPerChannel = 0;
  const ppu = { mul: 0, add: 0, cmp: 0 };
  switch (a.kind) {
    case 'xnor':
      unit = 'pe-array'; kh = kw = a.kernel; stride = a.stride; pad = a.pad; cin = a.cin;
      bops = out.h * out.w * a.cout * a.kernel * a.kernel * a.cin;
      ppu.mul += 1; ppu.add += 1; paramWordsPerChannel += 2; // y = mul*acc + bias
      break;
    case 'conv':
      unit = 'real-unit'; kh = kw = a.kernel; stride = a.stride; pad = a.pad; cin = a.cin;
      macs = out.h * out.w * a.cout * a.kernel * a.kernel * a.cin;
      if (a.bias) { paramWordsPerChannel += 1; ppu.add += 1; }
      break;
    case 'fc':
      unit = 'real-unit'; kh = input.h; kw = input.w; cin = input.c;
      macs = a.inFeatures * a.outFeatures;
      if (a.bias) { paramWordsPerChannel += 1; ppu.add += 1; }
      break;
    case 'avgpool': case 'maxpool':
      unit = 'pooling'; kh = kw = a.kernel; stride = a.stride; pad = a.pad; channelwise = true; break;
    case 'gap':
      unit = 'pooling'; kh = input.h; kw = input.w; channelwise = true; break;
    default:
      unit = 'ppu'; channelwise = true; break;
  }
  const sideInputs: SideInput[] = [];
  let actWindow: SimLayer['actWindow'];
  let writesBits = false;
  // the anchor itself counts as the first post-op when it is a stand-alone element-wise step
  const post = unit === 'ppu' ? steps : steps.slice(1);
  let current = unit === 'ppu' ? a.inputs[0] : stepOutput(a);
  for (const s of post) {
    switch (s.kind) {
      case 'bn': ppu.mul += 1; ppu.add += 1; paramWordsPerChannel += 2; break;
      case 'add': ppu.add += 1; break;
      case 'sign': ppu.cmp += 1; writesBits = true; break;
      case 'relu': ppu.cmp += 1; break;
      case 'clip': ppu.cmp += 2; break;
      case 'actscale': ppu.mul += 1; actWindow = { kernel: s.kernel, stride: s.stride, pad: s.pad }; break;
      default: throw new Error(`sim: ${s.kind} is not a post-op`);
    }
    for (const n of s.inputs) {
      if (n === current || produced.has(n)) continue; // on chip: the chain's value or an earlier step of this layer
      sideInputs.push({ ...shapeOf(n), role: s.kind === 'actscale' ? 'window' : 'elementwise', step: s.id });
    }
    current = stepOutput(s);
  }
  const outputs: TensorRef[] = [];
  const internal: string[] = [];
  for (const s of steps) {
    const name = stepOutput(s);
    const outside = (consumers.get(name) ?? []).some((c) => !inStep.has(c)) || name === plan.output;
    if (outside) outputs.push(ref(name, s.out)); else internal.push(name);
  }
  return {
    id: a.id, steps, anchor: a, unit, binary: a.kind === 'xnor', input, out, kh, kw, stride, pad, cin, channelwise,
    sideInputs, outputs, internal, writesBits, actWindow, ppuPerElement: ppu, bops, macs, paramWordsPerChannel,
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
