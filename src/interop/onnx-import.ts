/**
 * ONNX graph -> birealsim latent model (IR + float weights), through the op registry: every IR layer made
 * here is an op of src/ops, checked by its own module's shape inference, and the finished workload goes
 * through the same validation as a hand-written one (ir/validate.ts).
 *
 * Conventions bridged (ONNX operator spec, opset 7-21; the inverse of src/cli/torch_infer.py):
 *  - layout: ONNX is NCHW with OIHW conv weights; the IR is NHWC with OHWI weights. A Flatten/Reshape feeding
 *    Gemm/MatMul flattens in CHW order, the IR's fc in HWC order: the fc weight columns are permuted.
 *  - binary convs (PyTorch / Brevitas exports of Bi-Real Net, XNOR-Net): a Conv whose data input comes from
 *    Sign(x) becomes `sign` -> `bconv`. Its weights are Sign(W) in the graph, or an initializer that is +-a_o
 *    in every output channel o (+-1, or alpha already folded in); anything else is refused, since a bconv
 *    only computes alpha_o * sign(W). A per-channel Mul right after it (the scaling factor alpha) is folded
 *    into the latent weights: W_o = s_o * (+-1), whose alpha = mean |W_o| = |s_o| and sign(W) = sign(s_o)(+-1),
 *    so alpha * sign(W) = s_o * (+-1) exactly. bconv pads with zeros (padMode 'zero'), like a float conv on
 *    sign(x). ONNX Sign(0) = 0 and the IR's sign(0) = +1: an exactly-zero pre-activation is the one place
 *    the two can differ (`verify` counts such flips), and a zero weight under Sign(W) is taken as +1.
 *  - per-channel constant Mul / Add / Sub on a real tensor (and a Conv bias on a binary conv) become a `bn`
 *    layer computing exactly x * s + b: gamma = s, beta = b, mean 0, variance 1, eps 2^-24 (fp32(1 + 2^-24)
 *    rounds to 1, so bn's scale is gamma and its shift beta, bit for bit); an Add of a constant right after a
 *    Gemm/MatMul/Conv with a single consumer becomes that layer's bias.
 *  - Relu, PRelu (as `rprelu` with zero shifts), Clip [-1, 1] (Hardtanh: `clip`), Clip [0, inf) (`relu`),
 *    MaxPool, AveragePool (count_include_pad = 0 when padded, as the IR's avgpool), GlobalAveragePool or
 *    ReduceMean over H, W (`gap`), BatchNormalization (inference), Add of two tensors, Flatten / Reshape /
 *    Squeeze to [N, features], Gemm / MatMul (`fc`), Pad with all-zero pads, Identity, Dropout, Constant.
 * Anything else is E_ONNX_UNSUPPORTED naming the node, its op type and the supported set.
 */
import { basename } from 'node:path';
import { UserError } from '../core/diagnostics.ts';
import { opModule } from '../ops/index.ts';
import type { Layer, TensorInfo } from '../ops/types.ts';
import type { Model, ParamArray } from '../ir/model.ts';
import { resolveNetwork, validateWorkload } from '../ir/validate.ts';
import { SCHEMA_ID, type Workload } from '../ir/types.ts';
import { attr, attrFloat, attrInt, attrInts, attrString, tensorValues, type OnnxModel, type OnnxNode } from './onnx-proto.ts';

export const SUPPORTED_ONNX_OPS = [
  'Conv', 'Sign', 'BatchNormalization', 'Add', 'Sub', 'Mul', 'Relu', 'PRelu', 'Clip', 'MaxPool', 'AveragePool',
  'GlobalAveragePool', 'ReduceMean', 'Flatten', 'Reshape', 'Squeeze', 'Gemm', 'MatMul', 'Pad', 'Identity', 'Dropout', 'Constant',
] as const;

/** eps of the exact affine bn (see the header): fp32(1 + 2^-24) === 1. */
export const AFFINE_EPS = 2 ** -24;

export interface ImportOptions {
  file?: string;
  name?: string;
  /** expected class count (checked against the network's output) */
  classes?: number;
  /** the normalisation the ONNX model expects: x = (pixel/255 - mean) / std */
  inputMean?: number;
  inputStd?: number;
  /** the dataset's own normalisation (golden evaluation feeds data normalised this way) */
  datasetNorm?: { mean: number; std: number };
  dataset?: string;
  sha256?: string;
}

export interface ImportResult {
  model: Model;
  /** human-readable facts about the import (what was folded, normalisation, class count) */
  notes: string[];
  counts: { onnxNodes: number; layers: number; binaryConvs: number; foldedScales: number };
  /** each IR sign layer and the ONNX tensor it binarises (its pre-activation), for layer-wise comparisons */
  signInputs: { layer: string; onnxTensor: string }[];
}

type Val =
  | { kind: 'const'; dims: number[]; data: Float32Array; fromSign?: boolean }
  | { kind: 'layer'; id: string; info: TensorInfo; flat: boolean };

const METADATA_KEYS = { dataset: 'birealsim.dataset', mean: 'birealsim.input_mean', std: 'birealsim.input_std', classes: 'birealsim.classes' } as const;

/** The ONNX metadata_props as a record. */
export function onnxMetadata(m: OnnxModel): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of m.metadata_props ?? []) out[p.key] = p.value;
  return out;
}

export function importOnnx(m: OnnxModel, o: ImportOptions = {}): ImportResult {
  const file = o.file;
  const g = m.graph!;
  const nodes = g.node ?? [];
  const notes: string[] = [];
  const vals = new Map<string, Val>();
  const layers: Layer[] = [];
  const params = new Map<string, ParamArray>();
  const infos = new Map<string, TensorInfo>();
  const layerById = new Map<string, Layer>();
  const usedIds = new Set<string>(['input']);
  let binaryConvs = 0, foldedScales = 0;
  const signInputs: { layer: string; onnxTensor: string }[] = [];

  const unsupported = (n: OnnxNode, why: string) => new UserError('E_ONNX_UNSUPPORTED', `node '${n.name || '(unnamed)'}' (op ${n.op_type}): ${why}`, { file, hint: `supported ONNX ops: ${SUPPORTED_ONNX_OPS.join(', ')} (binary convs as Sign -> Conv with Sign(W) or +-a weights)` });
  const bad = (msg: string, hint?: string) => new UserError('E_ONNX', msg, { file, hint });

  // how many nodes (and graph outputs) read each tensor: folding a scale or a bias needs a single reader
  const readers = new Map<string, number>();
  for (const n of nodes) for (const i of n.input ?? []) if (i) readers.set(i, (readers.get(i) ?? 0) + 1);
  for (const out of g.output ?? []) readers.set(out.name, (readers.get(out.name) ?? 0) + 1);

  for (const t of g.initializer ?? []) {
    if (!t.name) continue;
    const { dims, data } = tensorValues(t, { file, what: `initializer '${t.name}'` });
    vals.set(t.name, { kind: 'const', dims, data });
  }

  // the network input: the one graph input that is not an initializer, NCHW float
  const inputs = (g.input ?? []).filter((v) => !vals.has(v.name));
  if (inputs.length !== 1) throw bad(`expected one graph input (an image batch), found ${inputs.length}${inputs.length ? ': ' + inputs.map((v) => v.name).join(', ') : ''}`);
  const inVi = inputs[0];
  const tt = inVi.type?.tensor_type;
  const dims = tt?.shape?.dim ?? [];
  if (tt?.elem_type !== 1) throw bad(`graph input '${inVi.name}' must be float (elem_type 1), got ${tt?.elem_type}`);
  if (dims.length !== 4 || dims.slice(1).some((d) => !(Number(d.dim_value) > 0))) throw bad(`graph input '${inVi.name}' must be [N, C, H, W] with fixed C, H, W, got [${dims.map((d) => d.dim_value || d.dim_param || '?').join(', ')}]`);
  const input: TensorInfo = { c: Number(dims[1].dim_value), h: Number(dims[2].dim_value), w: Number(dims[3].dim_value), dtype: 'real' };
  infos.set('input', input);
  vals.set(inVi.name, { kind: 'layer', id: 'input', info: input, flat: false });

  // the input normalisation the model expects, and the dataset's (golden evaluation feeds that one)
  const md = onnxMetadata(m);
  const num = (k: string): number | undefined => {
    if (md[k] === undefined) return undefined;
    const v = Number(md[k]);
    if (!Number.isFinite(v)) throw bad(`metadata ${k} = ${JSON.stringify(md[k])} is not a number`);
    return v;
  };
  const mean = o.inputMean ?? num(METADATA_KEYS.mean);
  const std = o.inputStd ?? num(METADATA_KEYS.std);
  if (std !== undefined && !(std > 0)) throw bad(`input std must be > 0, got ${std}`);
  const dataset = o.dataset ?? md[METADATA_KEYS.dataset];
  const classesWanted = o.classes ?? num(METADATA_KEYS.classes);

  const newId = (n: OnnxNode, idx: number): string => {
    // PyTorch scopes names as /blocks/blocks.0/conv/Sign: a segment repeated as the next one's prefix is dropped
    const segs = (n.name || `${n.op_type}_${idx}`).split('/').filter(Boolean);
    const kept = segs.filter((sg, i) => !(i + 1 < segs.length && segs[i + 1].startsWith(`${sg}.`)));
    let base = kept.join('.').replace(/[^A-Za-z0-9_.:-]/g, '_') || `${n.op_type}_${idx}`;
    if (base === 'input') base = 'input_';
    let id = base, k = 2;
    while (usedIds.has(id)) id = `${base}_${k++}`;
    usedIds.add(id);
    return id;
  };
  const addLayer = (n: OnnxNode, l: Layer, ps: Record<string, Float32Array> = {}): Val => {
    const mod = opModule(l.op);
    const full: Layer = { ...l };
    for (const [k, spec] of Object.entries(mod.keys)) if (full[k] === undefined && spec.default !== undefined) full[k] = spec.default;
    const ins = mod.arity === 2 ? full.inputs! : [full.in!];
    const inShapes = ins.map((s) => infos.get(s)!);
    mod.inputDtypes.forEach((dt, i) => {
      if (inShapes[i].dtype !== dt) throw unsupported(n, `maps to IR op '${l.op}', which needs a ${dt} input, but its input is ${inShapes[i].dtype === 'bits' ? 'the output of Sign (+-1 bits), which only a Conv may read' : 'real-valued'}`);
    });
    const fail = (msg: string): never => { throw unsupported(n, `as IR op '${l.op}': ${msg}`); };
    mod.validate?.(full, fail);
    const info = mod.infer(full, inShapes, fail);
    const want = mod.params?.(full, inShapes) ?? {};
    for (const [p, spec] of Object.entries(want)) {
      const a = ps[p];
      const size = spec.shape.reduce((x, y) => x * y, 1);
      if (!a || a.length !== size) throw new Error(`onnx import: ${l.id}.${p} has ${a?.length} values, expected ${size}`);
      params.set(`${l.id}.${p}`, a);
    }
    layers.push(full);
    layerById.set(full.id, full);
    infos.set(full.id, info);
    return { kind: 'layer', id: full.id, info, flat: false };
  };
  const get = (n: OnnxNode, i: number): Val => {
    const name = n.input?.[i];
    if (!name) throw unsupported(n, `input ${i} is missing`);
    const v = vals.get(name);
    if (!v) throw bad(`node '${n.name || '(unnamed)'}' (op ${n.op_type}) reads '${name}', which is neither a graph input, an initializer nor an earlier node's output`, 'the graph is not topologically sorted or an initializer is missing');
    return v;
  };
  const layerIn = (n: OnnxNode, i: number): Extract<Val, { kind: 'layer' }> => {
    const v = get(n, i);
    if (v.kind !== 'layer') throw unsupported(n, `input ${i} ('${n.input![i]}') is a constant; only constant weights, scales and shapes are mapped`);
    return v;
  };
  const constIn = (n: OnnxNode, i: number, what: string): Extract<Val, { kind: 'const' }> => {
    const v = get(n, i);
    if (v.kind !== 'const') throw unsupported(n, `${what} ('${n.input![i]}') must be a constant (an initializer or Constant)`);
    return v;
  };
  /** a constant broadcast over an NCHW tensor with C channels -> per-channel vector, or undefined */
  const perChannel = (c: Extract<Val, { kind: 'const' }>, C: number, flat: boolean): Float32Array | undefined => {
    const n = c.data.length;
    if (n === 1) return new Float32Array(C).fill(c.data[0]);
    if (n !== C) return undefined;
    const d = c.dims;
    // [C] broadcasts along the last axis: the channel axis only for a flat [N, C] tensor
    const lastAxis = d.length >= 1 && d[d.length - 1] === C;
    const nchw = d.length >= 3 && d[d.length - 3] === C && d[d.length - 2] === 1 && d[d.length - 1] === 1;
    return (flat && lastAxis) || nchw ? Float32Array.from(c.data) : undefined;
  };
  const affine = (n: OnnxNode, x: Extract<Val, { kind: 'layer' }>, scale: Float32Array, shift: Float32Array, idx: number): Val => {
    const v = addLayer(n, { id: newId(n, idx), op: 'bn', in: x.id, eps: AFFINE_EPS }, { gamma: scale, beta: shift, running_mean: new Float32Array(scale.length), running_var: new Float32Array(scale.length).fill(1) });
    return { ...v, flat: x.flat } as Val;
  };
  const windowAttrs = (n: OnnxNode, kernelDefault?: number): { kernel: number; stride: number; pad: number } => {
    const k = attrInts(n, 'kernel_shape') ?? (kernelDefault ? [kernelDefault, kernelDefault] : undefined);
    if (!k || k.length !== 2 || k[0] !== k[1]) throw unsupported(n, `kernel_shape ${JSON.stringify(k)} is not a square 2-D window`);
    const s = attrInts(n, 'strides') ?? [1, 1];
    if (s.length !== 2 || s[0] !== s[1]) throw unsupported(n, `strides ${JSON.stringify(s)} differ per axis`);
    const p = attrInts(n, 'pads') ?? [0, 0, 0, 0];
    if (p.length !== 4 || p.some((v) => v !== p[0])) throw unsupported(n, `pads ${JSON.stringify(p)} are not the same on every side`);
    const dil = attrInts(n, 'dilations');
    if (dil && dil.some((v) => v !== 1)) throw unsupported(n, `dilations ${JSON.stringify(dil)} (only 1)`);
    const ap = attrString(n, 'auto_pad');
    if (ap && ap !== 'NOTSET' && !(ap === 'VALID' && p[0] === 0)) throw unsupported(n, `auto_pad ${ap} (give explicit pads)`);
    if ((attrInt(n, 'ceil_mode') ?? 0) !== 0) throw unsupported(n, 'ceil_mode 1 (only floor)');
    return { kernel: k[0], stride: s[0], pad: p[0] };
  };

  nodes.forEach((n, idx) => {
    const op = n.op_type;
    const out = n.output?.[0];
    if (n.domain && n.domain !== 'ai.onnx') throw unsupported(n, `custom domain '${n.domain}'`);
    if (!out) throw unsupported(n, 'no output');
    const set = (v: Val) => vals.set(out, v);
    switch (op) {
      case 'Constant': {
        const t = attr(n, 'value')?.t;
        const f = attrFloat(n, 'value_float'), fs = attr(n, 'value_floats')?.floats, i1 = attrInt(n, 'value_int'), is = attrInts(n, 'value_ints');
        if (t) { const { dims: d, data } = tensorValues(t, { file, what: `Constant node '${n.name}'` }); set({ kind: 'const', dims: d, data }); }
        else if (f !== undefined) set({ kind: 'const', dims: [], data: Float32Array.of(f) });
        else if (fs) set({ kind: 'const', dims: [fs.length], data: Float32Array.from(fs) });
        else if (i1 !== undefined) set({ kind: 'const', dims: [], data: Float32Array.of(i1) });
        else if (is) set({ kind: 'const', dims: [is.length], data: Float32Array.from(is) });
        else throw unsupported(n, 'a Constant without a numeric value');
        return;
      }
      case 'Identity': case 'Dropout': set(get(n, 0)); return;
      case 'Sign': {
        const x = get(n, 0);
        if (x.kind === 'const') { set({ kind: 'const', dims: x.dims, data: x.data.map((v) => (v < 0 ? -1 : 1)), fromSign: true }); return; }
        if (x.info.dtype !== 'real') throw unsupported(n, 'Sign of a tensor that is already +-1');
        const v = addLayer(n, { id: newId(n, idx), op: 'sign', in: x.id }) as Extract<Val, { kind: 'layer' }>;
        signInputs.push({ layer: v.id, onnxTensor: n.input![0] });
        set(v);
        return;
      }
      case 'Conv': {
        const x = layerIn(n, 0);
        const wv = constIn(n, 1, 'the weight');
        if ((attrInt(n, 'group') ?? 1) !== 1) throw unsupported(n, `group ${attrInt(n, 'group')} (grouped / depthwise convolutions are not in the IR)`);
        if (wv.dims.length !== 4) throw unsupported(n, `weight of rank ${wv.dims.length} (a 2-D convolution has OIHW weights)`);
        const [O, I, kh, kw] = wv.dims;
        const win = windowAttrs(n, kh);
        if (kh !== kw || kh !== win.kernel) throw unsupported(n, `kernel ${kh}x${kw} is not square`);
        if (I !== x.info.c) throw unsupported(n, `weight expects ${I} input channels, the input has ${x.info.c}`);
        // OIHW -> OHWI
        const w = new Float32Array(O * kh * kw * I);
        for (let oc = 0; oc < O; oc++) for (let ic = 0; ic < I; ic++) for (let y = 0; y < kh; y++) for (let xx = 0; xx < kw; xx++) {
          w[((oc * kh + y) * kw + xx) * I + ic] = wv.data[((oc * I + ic) * kh + y) * kw + xx];
        }
        const bias = n.input?.[2] ? constIn(n, 2, 'the bias').data : undefined;
        if (x.info.dtype === 'bits') {
          // binary conv: weights must be +-a_o per output channel (or Sign(W) in the graph)
          const per = kh * kw * I;
          for (let oc = 0; oc < O; oc++) {
            const a = Math.abs(w[oc * per]);
            for (let i = 1; i < per; i++) {
              if (Math.abs(w[oc * per + i]) !== a) throw unsupported(n, `reads Sign(x), so it must be a binary conv, but output channel ${oc} of its weight '${n.input![1]}' holds values of different magnitude (${w[oc * per]} and ${w[oc * per + i]}); a binary conv's weights are +-a per output channel: sign them in the graph (Sign(W)) or export +-1 weights`);
            }
          }
          binaryConvs++;
          const id = newId(n, idx);
          let v = addLayer(n, { id, op: 'bconv', in: x.id, outChannels: O, kernel: kh, stride: win.stride, pad: win.pad, padMode: 'zero', weightScale: 'channel' }, { weight: w });
          if (bias && bias.some((b) => b !== 0)) v = affine(n, v as Extract<Val, { kind: 'layer' }>, new Float32Array(O).fill(1), Float32Array.from(bias), idx);
          set(v);
        } else {
          set(addLayer(n, { id: newId(n, idx), op: 'conv', in: x.id, outChannels: O, kernel: kh, stride: win.stride, pad: win.pad, bias: !!bias }, bias ? { weight: w, bias: Float32Array.from(bias) } : { weight: w }));
        }
        return;
      }
      case 'Mul': case 'Add': case 'Sub': {
        const a = get(n, 0), b = get(n, 1);
        if (a.kind === 'layer' && b.kind === 'layer') {
          if (op !== 'Add') throw unsupported(n, `${op} of two tensors (only Add is in the IR)`);
          if (a.info.h !== b.info.h || a.info.w !== b.info.w || a.info.c !== b.info.c) throw unsupported(n, `adds tensors of shapes ${a.info.c}x${a.info.h}x${a.info.w} and ${b.info.c}x${b.info.h}x${b.info.w} (broadcasting is not in the IR)`);
          set({ ...(addLayer(n, { id: newId(n, idx), op: 'add', inputs: [a.id, b.id] }) as Extract<Val, { kind: 'layer' }>), flat: a.flat });
          return;
        }
        if (a.kind === 'const' && b.kind === 'const') {
          const n2 = Math.max(a.data.length, b.data.length);
          if (a.data.length !== b.data.length && Math.min(a.data.length, b.data.length) !== 1) throw unsupported(n, 'a broadcast between constants');
          const r = new Float32Array(n2);
          for (let i = 0; i < n2; i++) { const p = a.data[a.data.length === 1 ? 0 : i], q = b.data[b.data.length === 1 ? 0 : i]; r[i] = op === 'Mul' ? p * q : op === 'Add' ? p + q : p - q; }
          set({ kind: 'const', dims: a.data.length >= b.data.length ? a.dims : b.dims, data: r });
          return;
        }
        if (op === 'Sub' && a.kind === 'const') throw unsupported(n, 'constant minus tensor');
        const x = (a.kind === 'layer' ? a : b) as Extract<Val, { kind: 'layer' }>, c = (a.kind === 'const' ? a : b) as Extract<Val, { kind: 'const' }>;
        const C = x.info.c;
        const vec = perChannel(c, C, x.flat);
        if (!vec) throw unsupported(n, `constant of shape ${JSON.stringify(c.dims)} is neither a scalar nor per-channel for a tensor of ${C} channels`);
        if (x.info.dtype !== 'real') throw unsupported(n, `${op} on +-1 bits`);
        const producer = layerById.get(x.id);
        const single = (readers.get(n.input![a.kind === 'layer' ? 0 : 1]) ?? 0) === 1;
        if (op === 'Mul') {
          if (producer?.op === 'bconv' && single) {
            // the scaling factor of a binary conv: folded into its latent weights (see the header)
            const w = params.get(`${producer.id}.weight`) as Float32Array, per = w.length / C;
            for (let oc = 0; oc < C; oc++) for (let i = 0; i < per; i++) w[oc * per + i] *= vec[oc];
            foldedScales++;
            set(x);
            return;
          }
          set(affine(n, x, vec, new Float32Array(C), idx));
          return;
        }
        const shift = op === 'Sub' ? vec.map((v) => -v) : vec;
        if (op === 'Add' && producer && single && (producer.op === 'fc' || producer.op === 'conv') && producer.bias === false) {
          producer.bias = true;
          params.set(`${producer.id}.bias`, Float32Array.from(shift));
          set(x);
          return;
        }
        set(affine(n, x, new Float32Array(C).fill(1), shift, idx));
        return;
      }
      case 'BatchNormalization': {
        const x = layerIn(n, 0);
        if ((attrInt(n, 'training_mode') ?? 0) !== 0) throw unsupported(n, 'training_mode 1 (export in eval mode)');
        const C = x.info.c;
        const p = [1, 2, 3, 4].map((i) => constIn(n, i, ['scale', 'bias', 'mean', 'variance'][i - 1]).data);
        if (p.some((a) => a.length !== C)) throw unsupported(n, `parameters are not per-channel for ${C} channels`);
        if (p[3].some((v) => v < 0)) throw bad(`node '${n.name}' (BatchNormalization): negative running variance`);
        const eps = attrFloat(n, 'epsilon') ?? 1e-5;
        set(addLayer(n, { id: newId(n, idx), op: 'bn', in: x.id, eps }, { gamma: Float32Array.from(p[0]), beta: Float32Array.from(p[1]), running_mean: Float32Array.from(p[2]), running_var: Float32Array.from(p[3]) }));
        return;
      }
      case 'Relu': { const x = layerIn(n, 0); set({ ...(addLayer(n, { id: newId(n, idx), op: 'relu', in: x.id }) as Extract<Val, { kind: 'layer' }>), flat: x.flat }); return; }
      case 'PRelu': {
        const x = layerIn(n, 0), s = constIn(n, 1, 'the slope');
        const vec = perChannel(s, x.info.c, x.flat);
        if (!vec) throw unsupported(n, `slope of shape ${JSON.stringify(s.dims)} is neither a scalar nor per-channel`);
        const z = () => new Float32Array(x.info.c);
        set(addLayer(n, { id: newId(n, idx), op: 'rprelu', in: x.id }, { shift_in: z(), slope: vec, shift_out: z() }));
        return;
      }
      case 'Clip': {
        const x = layerIn(n, 0);
        const lo = n.input?.[1] ? constIn(n, 1, 'min').data[0] : attrFloat(n, 'min') ?? -Infinity;
        const hi = n.input?.[2] ? constIn(n, 2, 'max').data[0] : attrFloat(n, 'max') ?? Infinity;
        if (lo === -1 && hi === 1) set(addLayer(n, { id: newId(n, idx), op: 'clip', in: x.id }));
        else if (lo === 0 && hi === Infinity) set(addLayer(n, { id: newId(n, idx), op: 'relu', in: x.id }));
        else throw unsupported(n, `Clip to [${lo}, ${hi}] (the IR has clip to [-1, 1] (Hardtanh) and relu)`);
        return;
      }
      case 'MaxPool': case 'AveragePool': {
        const x = layerIn(n, 0);
        if (n.output!.length > 1 && n.output![1]) throw unsupported(n, 'the Indices output');
        const win = windowAttrs(n);
        if ((attrInt(n, 'storage_order') ?? 0) !== 0) throw unsupported(n, 'storage_order 1');
        if (op === 'AveragePool' && win.pad > 0 && (attrInt(n, 'count_include_pad') ?? 0) !== 0) throw unsupported(n, 'count_include_pad 1 with padding (the IR averages over in-bounds taps only)');
        set(addLayer(n, { id: newId(n, idx), op: op === 'MaxPool' ? 'maxpool' : 'avgpool', in: x.id, ...win }));
        return;
      }
      case 'GlobalAveragePool': { const x = layerIn(n, 0); set(addLayer(n, { id: newId(n, idx), op: 'gap', in: x.id })); return; }
      case 'ReduceMean': {
        const x = layerIn(n, 0);
        const axes = attrInts(n, 'axes') ?? (n.input?.[1] ? Array.from(constIn(n, 1, 'axes').data) : undefined);
        const ax = axes?.map((a) => (a < 0 ? a + 4 : a)).sort();
        if (x.flat || !ax || ax.length !== 2 || ax[0] !== 2 || ax[1] !== 3) throw unsupported(n, `ReduceMean over axes ${JSON.stringify(axes)} (only the spatial axes [2, 3] of an NCHW tensor: global average pooling)`);
        const v = addLayer(n, { id: newId(n, idx), op: 'gap', in: x.id }) as Extract<Val, { kind: 'layer' }>;
        set({ ...v, flat: (attrInt(n, 'keepdims') ?? 1) === 0 });
        return;
      }
      case 'Flatten': case 'Reshape': case 'Squeeze': {
        const x = layerIn(n, 0);
        const feats = x.info.h * x.info.w * x.info.c;
        if (op === 'Flatten') {
          const ax = attrInt(n, 'axis') ?? 1;
          if (ax !== 1) throw unsupported(n, `axis ${ax} (only 1: [N, C*H*W])`);
        } else if (op === 'Reshape') {
          const shape = Array.from(constIn(n, 1, 'the shape').data);
          // [N, C, 1, 1] of a 1x1 tensor (a Gemm output made 4-D again): the same IR tensor, not flat
          if (shape.length === 4 && x.info.h === 1 && x.info.w === 1 && [0, 1, -1].includes(shape[0]) && (shape[1] === x.info.c || shape[1] === -1) && shape[2] === 1 && shape[3] === 1) { set({ ...x, flat: false }); return; }
          const ok = shape.length === 2 && (shape[0] === -1 || shape[0] === 0 || shape[0] === 1) && (shape[1] === -1 || shape[1] === feats) && !(shape[0] === -1 && shape[1] === -1);
          if (!ok) throw unsupported(n, `Reshape to ${JSON.stringify(shape)} (only to [N, ${feats}] before a Gemm/MatMul)`);
        } else {
          const axes = attrInts(n, 'axes') ?? (n.input?.[1] ? Array.from(constIn(n, 1, 'axes').data) : undefined);
          if (x.info.h !== 1 || x.info.w !== 1 || (axes && axes.map((a) => (a < 0 ? a + 4 : a)).sort().join() !== '2,3')) throw unsupported(n, 'Squeeze other than of the 1x1 spatial axes');
        }
        set({ ...x, flat: true });
        return;
      }
      case 'Gemm': case 'MatMul': {
        const x = layerIn(n, 0);
        if (!x.flat && !(x.info.h === 1 && x.info.w === 1)) throw unsupported(n, 'input is not flattened ([N, features]); put a Flatten before it');
        const b = constIn(n, 1, 'the weight');
        const feats = x.info.h * x.info.w * x.info.c;
        const transB = op === 'Gemm' ? (attrInt(n, 'transB') ?? 0) : 0;
        if (op === 'Gemm' && (attrInt(n, 'transA') ?? 0) !== 0) throw unsupported(n, 'transA 1');
        if (b.dims.length !== 2) throw unsupported(n, `weight of rank ${b.dims.length}`);
        const [r, c] = b.dims;
        const [outF, inF] = transB ? [r, c] : [c, r];
        if (inF !== feats) throw unsupported(n, `weight expects ${inF} input features, the input has ${feats}`);
        const alpha = op === 'Gemm' ? attrFloat(n, 'alpha') ?? 1 : 1, beta = op === 'Gemm' ? attrFloat(n, 'beta') ?? 1 : 1;
        // ONNX flattens CHW, the IR's fc reads HWC: column (y*W + x)*C + ch of the IR weight is CHW column ch*H*W + y*W + x
        const { h: H, w: W, c: C } = x.info;
        const w = new Float32Array(outF * feats);
        for (let oc = 0; oc < outF; oc++) for (let ch = 0; ch < C; ch++) for (let p = 0; p < H * W; p++) {
          const src = ch * H * W + p;
          const v = transB ? b.data[oc * inF + src] : b.data[src * outF + oc];
          w[oc * feats + p * C + ch] = alpha === 1 ? v : v * alpha;
        }
        const cIn = op === 'Gemm' && n.input?.[2] ? constIn(n, 2, 'the bias') : undefined;
        let bias: Float32Array | undefined;
        if (cIn) {
          if (cIn.data.length !== 1 && cIn.data.length !== outF) throw unsupported(n, `bias of ${cIn.data.length} values for ${outF} outputs`);
          bias = new Float32Array(outF).map((_, i) => (beta === 1 ? cIn.data[cIn.data.length === 1 ? 0 : i] : cIn.data[cIn.data.length === 1 ? 0 : i] * beta));
        }
        const v = addLayer(n, { id: newId(n, idx), op: 'fc', in: x.id, outFeatures: outF, bias: !!bias }, bias ? { weight: w, bias } : { weight: w }) as Extract<Val, { kind: 'layer' }>;
        set({ ...v, flat: true });
        return;
      }
      case 'Pad': {
        const x = layerIn(n, 0);
        const pads = attrInts(n, 'pads') ?? (n.input?.[1] ? Array.from(constIn(n, 1, 'pads').data) : []);
        if (pads.some((p) => p !== 0)) throw unsupported(n, `Pad with pads ${JSON.stringify(pads)} (only all-zero pads; give the padding to the Conv or pool)`);
        set(x);
        return;
      }
      default:
        throw unsupported(n, 'not supported');
    }
  });

  const outs = g.output ?? [];
  if (outs.length !== 1) throw bad(`expected one graph output (the logits), found ${outs.length}`);
  const ov = vals.get(outs[0].name);
  if (!ov || ov.kind !== 'layer' || ov.id === 'input') throw bad(`graph output '${outs[0].name}' is not computed by a mapped layer`);
  if (!layers.length) throw bad('the graph maps to no layers');
  const classes = ov.info.h * ov.info.w * ov.info.c;
  if (classesWanted !== undefined && classesWanted !== classes) throw bad(`the network outputs ${classes} values, but ${o.classes !== undefined ? '--classes' : `metadata ${METADATA_KEYS.classes}`} says ${classesWanted} classes`);

  // input normalisation: when the model's differs from the dataset's, an affine input layer (the bn above: x_ds * s_ds/s + (m_ds - m)/s) converts
  const norm = { mean: mean ?? o.datasetNorm?.mean, std: std ?? o.datasetNorm?.std };
  let wlLayers = layers;
  if (mean !== undefined && std !== undefined && o.datasetNorm && (Math.abs(mean - o.datasetNorm.mean) > 1e-7 || Math.abs(std / o.datasetNorm.std - 1) > 1e-7)) {
    // x_model = (p - m)/s with p = x_ds * s_ds + m_ds  =>  x_model = x_ds * (s_ds/s) + (m_ds - m)/s
    const id = 'input.renorm';
    if (usedIds.has(id)) throw new Error('onnx import: id clash');
    const C = input.c;
    const l: Layer = { id, op: 'bn', in: 'input', eps: AFFINE_EPS };
    params.set(`${id}.gamma`, new Float32Array(C).fill(o.datasetNorm.std / std));
    params.set(`${id}.beta`, new Float32Array(C).fill((o.datasetNorm.mean - mean) / std));
    params.set(`${id}.running_mean`, new Float32Array(C));
    params.set(`${id}.running_var`, new Float32Array(C).fill(1));
    for (const L of layers) { if (L.in === 'input') L.in = id; if (L.inputs) L.inputs = L.inputs.map((s) => (s === 'input' ? id : s)); }
    wlLayers = [l, ...layers];
    notes.push(`input normalisation: the model expects (pixel/255 - ${mean}) / ${std}, the dataset gives (pixel/255 - ${o.datasetNorm.mean}) / ${o.datasetNorm.std}: an affine layer 'input.renorm' converts`);
  } else if (mean !== undefined && std !== undefined) {
    notes.push(`input normalisation: (pixel/255 - ${mean}) / ${std}${o.datasetNorm ? ' (the same as the dataset\'s)' : ''} from ${o.inputMean !== undefined ? 'flags' : 'ONNX metadata'}`);
  } else {
    notes.push(`input normalisation: not given (flags --input-mean/--input-std or ONNX metadata ${METADATA_KEYS.mean}/${METADATA_KEYS.std}); the dataset's own${o.datasetNorm ? ` ((pixel/255 - ${o.datasetNorm.mean}) / ${o.datasetNorm.std})` : ''} is assumed`);
  }
  notes.push(`classes: ${classes}${classesWanted !== undefined ? ` (as ${o.classes !== undefined ? '--classes' : 'metadata'} says)` : ' (the output size)'}`);
  notes.push(`binary convs: ${binaryConvs}, per-channel scales folded into them: ${foldedScales}`);

  const name = o.name ?? (g.name && g.name !== 'torch_jit' && g.name !== 'main_graph' ? g.name : file ? basename(file).replace(/\.onnx$/i, '') : 'imported');
  const last = wlLayers[wlLayers.length - 1].id;
  const wl: Workload = {
    schema: SCHEMA_ID, name, family: 'imported',
    description: `imported from ONNX${file ? ` ${basename(file)}` : ''} (producer ${m.producer_name ?? '?'} ${m.producer_version ?? ''}, opset ${m.opset_import?.map((x) => x.version).join('/') ?? '?'})`.replace(/\s+\)/, ')'),
    input: { h: input.h, w: input.w, c: input.c }, layers: wlLayers,
  };
  if (ov.id !== last) wl.output = ov.id;
  const net = resolveNetwork(validateWorkload(JSON.parse(JSON.stringify(wl)), file), file);
  const meta: Record<string, string> = { 'import.source': file ? basename(file) : 'onnx', 'import.producer': `${m.producer_name ?? ''} ${m.producer_version ?? ''}`.trim() };
  if (o.sha256) meta['import.sha256'] = o.sha256;
  if (dataset) meta.dataset = dataset;
  if (norm.mean !== undefined) meta['input.mean'] = String(norm.mean);
  if (norm.std !== undefined) meta['input.std'] = String(norm.std);
  meta.classes = String(classes);
  return { model: { kind: 'latent', net, params, meta }, notes, counts: { onnxNodes: nodes.length, layers: wlLayers.length, binaryConvs, foldedScales }, signInputs };
}
