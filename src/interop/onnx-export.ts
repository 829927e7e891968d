/**
 * birealsim model (latent or deployable) -> ONNX (opset 13), from the golden model's lowered plan
 * (golden/plan.ts lower: alpha and BN already folded, exactly what the golden model executes), so ONNX
 * Runtime computes the same arithmetic where ONNX can express it:
 *  - bconv: Sign(x) (a separate `sign` step) -> Conv on the +-1 weights unpacked from `weight_bits` (bit 1 =
 *    -1, core/bits.ts) -> Mul(mul_c) -> Add(bias_c): the golden output transform fp32(fp32(mul*acc) + bias)
 *    in the same order; the float conv of +-1 values gives the popcount's exact integer (|acc| < 2^24).
 *    padMode 'zero' pads with Conv's zeros; 'one' pads explicitly with Pad(value 1).
 *  - conv: Conv (OHWI -> OIHW); bn (unfolded): Mul(scale) -> Add(shift) with bn.ts's fp32 scale/shift;
 *    fc: Flatten -> Gemm with the weight columns permuted from the IR's HWC order to ONNX's CHW;
 *    avgpool: AveragePool(count_include_pad 0); actscale: ReduceMean(|x|, C) -> AveragePool(count_include_pad 1)
 *    -> Mul; rsign: Sign(x - threshold); rprelu: PRelu(x - shift_in) + shift_out; the rest one ONNX op each.
 * Known difference: ONNX Sign(0) = 0 where the IR's sign(0) = +1 (an exactly-zero pre-activation).
 * The op table below is keyed by IR op; a test checks that every op in the registry has an entry.
 */
import { lower } from '../golden/plan.ts';
import type { Model } from '../ir/model.ts';
import type { ExecStep } from '../ops/types.ts';
import { UserError } from '../core/diagnostics.ts';
import { encodeOnnx, floatTensor, int64Tensor, type OnnxModel, type OnnxNode, type OnnxTensor, ATTR } from './onnx-proto.ts';

export const ONNX_OPSET = 13;

interface Ctx {
  nodes: OnnxNode[];
  inits: OnnxTensor[];
  /** ONNX tensor name of an IR tensor (layer id or 'input') */
  name(irTensor: string): string;
  /** a fresh tensor name */
  fresh(hint: string): string;
  const(hint: string, dims: number[], data: Float32Array): string;
}
type Emit = (s: ExecStep & Record<string, unknown>, ins: string[], out: string, c: Ctx) => void;

const ints = (name: string, v: number[]) => ({ name, type: ATTR.INTS, ints: v });
const int = (name: string, v: number) => ({ name, type: ATTR.INT, i: v });
const node = (c: Ctx, op_type: string, input: string[], output: string[], attribute: object[] = [], name?: string) => {
  c.nodes.push({ name: name ?? output[0], op_type, input, output, attribute: attribute as OnnxNode['attribute'] });
};
const chan = (v: Float32Array) => [1, v.length, 1, 1];
const win = (s: { kernel: number; stride: number; pad: number }) => [ints('kernel_shape', [s.kernel, s.kernel]), ints('strides', [s.stride, s.stride]), ints('pads', [s.pad, s.pad, s.pad, s.pad])];

function ohwiToOihw(w: Float32Array, O: number, k: number, I: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < O; o++) for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) for (let i = 0; i < I; i++) out[((o * I + i) * k + y) * k + x] = w[((o * k + y) * k + x) * I + i];
  return out;
}

const EMIT: Record<string, Emit> = {
  conv: (s, [x], out, c) => {
    const O = s.cout as number, k = s.kernel as number, I = s.cin as number;
    const w = c.const(`${s.id}.weight`, [O, I, k, k], ohwiToOihw(s.weight as Float32Array, O, k, I));
    const b = s.bias ? [c.const(`${s.id}.bias`, [O], s.bias as Float32Array)] : [];
    node(c, 'Conv', [x, w, ...b], [out], win(s as never));
  },
  bconv: (s, [x], out, c) => {
    const O = s.cout as number, k = s.kernel as number, I = s.cin as number, pad = s.pad as number;
    const bits = s.weightBits as Uint32Array, wpp = (I + 31) >>> 5;
    const w = new Float32Array(O * I * k * k);
    for (let o = 0; o < O; o++) for (let y = 0; y < k; y++) for (let xx = 0; xx < k; xx++) for (let i = 0; i < I; i++) {
      const bit = (bits[((o * k + y) * k + xx) * wpp + (i >>> 5)] >>> (i & 31)) & 1;
      w[((o * I + i) * k + y) * k + xx] = bit ? -1 : 1;
    }
    let src = x, convPad = pad;
    if (s.padMode === 'one' && pad > 0) {
      src = c.fresh(`${s.id}.pad1`);
      node(c, 'Pad', [x, c.const(`${s.id}.pads`, [8], Float32Array.of(0, 0, pad, pad, 0, 0, pad, pad)), c.const(`${s.id}.padvalue`, [], Float32Array.of(1))], [src]);
      convPad = 0;
    }
    const acc = c.fresh(`${s.id}.acc`), scaled = c.fresh(`${s.id}.scaled`);
    node(c, 'Conv', [src, c.const(`${s.id}.weight_pm1`, [O, I, k, k], w)], [acc], win({ kernel: k, stride: s.stride as number, pad: convPad }));
    node(c, 'Mul', [acc, c.const(`${s.id}.mul`, chan(s.mul as Float32Array), s.mul as Float32Array)], [scaled]);
    node(c, 'Add', [scaled, c.const(`${s.id}.bias`, chan(s.bias as Float32Array), s.bias as Float32Array)], [out]);
  },
  sign: (_s, [x], out, c) => node(c, 'Sign', [x], [out]),
  rsign: (s, [x], out, c) => {
    const t = c.fresh(`${s.id}.shifted`);
    node(c, 'Sub', [x, c.const(`${s.id}.threshold`, chan(s.threshold as Float32Array), s.threshold as Float32Array)], [t]);
    node(c, 'Sign', [t], [out]);
  },
  bn: (s, [x], out, c) => {
    const t = c.fresh(`${s.id}.scaled`);
    node(c, 'Mul', [x, c.const(`${s.id}.scale`, chan(s.scale as Float32Array), s.scale as Float32Array)], [t]);
    node(c, 'Add', [t, c.const(`${s.id}.shift`, chan(s.shift as Float32Array), s.shift as Float32Array)], [out]);
  },
  add: (_s, [a, b], out, c) => node(c, 'Add', [a, b], [out]),
  relu: (_s, [x], out, c) => node(c, 'Relu', [x], [out]),
  clip: (s, [x], out, c) => node(c, 'Clip', [x, c.const(`${s.id}.min`, [], Float32Array.of(-1)), c.const(`${s.id}.max`, [], Float32Array.of(1))], [out]),
  rprelu: (s, [x], out, c) => {
    const a = c.fresh(`${s.id}.in`), b = c.fresh(`${s.id}.prelu`);
    node(c, 'Sub', [x, c.const(`${s.id}.shift_in`, chan(s.shiftIn as Float32Array), s.shiftIn as Float32Array)], [a]);
    node(c, 'PRelu', [a, c.const(`${s.id}.slope`, [(s.slope as Float32Array).length, 1, 1], s.slope as Float32Array)], [b]);
    node(c, 'Add', [b, c.const(`${s.id}.shift_out`, chan(s.shiftOut as Float32Array), s.shiftOut as Float32Array)], [out]);
  },
  maxpool: (s, [x], out, c) => node(c, 'MaxPool', [x], [out], win(s as never)),
  avgpool: (s, [x], out, c) => node(c, 'AveragePool', [x], [out], [...win(s as never), int('count_include_pad', 0)]),
  gap: (_s, [x], out, c) => node(c, 'GlobalAveragePool', [x], [out]),
  actscale: (s, [conv, x], out, c) => {
    const abs = c.fresh(`${s.id}.abs`), A = c.fresh(`${s.id}.A`), K = c.fresh(`${s.id}.K`);
    node(c, 'Abs', [x], [abs]);
    node(c, 'ReduceMean', [abs], [A], [ints('axes', [1]), int('keepdims', 1)]);
    node(c, 'AveragePool', [A], [K], [...win(s as never), int('count_include_pad', 1)]);
    node(c, 'Mul', [conv, K], [out]);
  },
  fc: (s, [x], out, c) => {
    const inShape = s.inShapes[0], { h: H, w: W, c: C } = inShape, O = s.outFeatures as number, F = H * W * C;
    const wi = s.weight as Float32Array, w = new Float32Array(O * F);
    for (let o = 0; o < O; o++) for (let p = 0; p < H * W; p++) for (let ch = 0; ch < C; ch++) w[o * F + ch * H * W + p] = wi[o * F + p * C + ch];
    const flat = c.fresh(`${s.id}.flat`), y = c.fresh(`${s.id}.gemm`);
    node(c, 'Flatten', [x], [flat], [int('axis', 1)]);
    const b = s.bias ? [c.const(`${s.id}.bias`, [O], s.bias as Float32Array)] : [];
    node(c, 'Gemm', [flat, c.const(`${s.id}.weight`, [O, F], w), ...b], [y], [int('transB', 1)]);
    // back to N x O x 1 x 1 (the IR's 1x1xO tensor) for any consumer; the graph output is flattened again
    node(c, 'Reshape', [y, c.const(`${s.id}.shape4`, [4], Float32Array.of(0, O, 1, 1))], [out]);
  },
};

/** IR ops the exporter handles (a test checks this covers the registry). */
export const ONNX_EXPORT_OPS: readonly string[] = Object.keys(EMIT);

export interface OnnxExport {
  bytes: Uint8Array; nodes: number; initializers: number;
  /** each binary activation step and the ONNX tensor its Sign reads (its pre-activation), for comparisons */
  signInputs: { layer: string; onnxTensor: string }[];
}

export function exportOnnx(model: Model, opts: { metadata?: Record<string, string>; docString?: string } = {}): OnnxExport {
  const plan = lower(model);
  if (plan.net.segmentInputs.size > 0) throw new UserError('E_EXPORT', `network '${plan.name}' has independent segments (layers with their own "input" shape): an ONNX graph here has one input`, { hint: 'export a network whose layers chain from "input"' });
  const names = new Map<string, string>([['input', 'image']]);
  const used = new Set<string>(['image', 'logits']);
  const fresh = (hint: string) => { let n = hint, k = 2; while (used.has(n)) n = `${hint}_${k++}`; used.add(n); return n; };
  const inits: OnnxTensor[] = [];
  const signInputs: OnnxExport['signInputs'] = [];
  const c: Ctx = {
    nodes: [], inits,
    name: (t) => { const n = names.get(t); if (!n) throw new Error(`onnx export: tensor ${t} not produced yet`); return n; },
    fresh,
    const: (hint, dims, data) => {
      const n = fresh(hint);
      // shapes and pads are int64 in ONNX
      inits.push(/\.(shape4|pads)$/.test(hint) ? int64Tensor(n, dims, Array.from(data)) : floatTensor(n, dims, data));
      return n;
    },
  };
  for (const s of plan.steps) {
    const e = EMIT[s.op];
    if (!e) throw new Error(`onnx export: no ONNX form for op '${s.op}'`);
    const outT = s.layers[s.layers.length - 1];
    const out = fresh(outT);
    const before = c.nodes.length;
    e(s as ExecStep & Record<string, unknown>, s.inputs.map((t) => c.name(t)), out, c);
    if (s.out.dtype === 'bits') {
      const sign = c.nodes.slice(before).find((n) => n.op_type === 'Sign');
      if (sign) signInputs.push({ layer: s.id, onnxTensor: sign.input![0] });
    }
    for (const l of s.layers) names.set(l, out);
  }
  const o = plan.net.byId.get(plan.output)!.out;
  c.nodes.push({ name: 'logits', op_type: 'Flatten', input: [c.name(plan.output)], output: ['logits'], attribute: [int('axis', 1)] as OnnxNode['attribute'] });
  const inp = plan.input;
  const m: OnnxModel = {
    ir_version: 7, producer_name: 'birealsim', producer_version: '0.1.0', doc_string: opts.docString ?? `birealsim ${model.kind} model '${plan.net.workload.name}' (binary convs as Sign -> Conv on +-1 weights, alpha and BN folded)`,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    metadata_props: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: plan.net.workload.name, node: c.nodes, initializer: inits,
      input: [{ name: 'image', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: inp.c }, { dim_value: inp.h }, { dim_value: inp.w }] } } } }],
      output: [{ name: 'logits', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: o.h * o.w * o.c }] } } } }],
    },
  };
  return { bytes: encodeOnnx(m), nodes: c.nodes.length, initializers: inits.length, signInputs };
}
