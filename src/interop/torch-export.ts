/**
 * `birealsim export-torch`: a readable PyTorch package for a network, generated from the IR through the op
 * registry and the torch emitters (interop/torch-ops.ts):
 *   model.py        the network as an nn.Module (one attribute per layer with parameters, nested along the
 *                   dots of the layer ids, so the state-dict name of IR tensor `<layer id>.<param>` is
 *                   `<module path>.<torch param>`: `torchStateDict` below is the one definition, used by
 *                   the generator and by `birealsim import <state dict>`);
 *   layers.py, quantizers.py, train.py   copied verbatim from src/interop/torch/ (the layer classes, the
 *                   paper's quantizers as autograd Functions, the two-stage DDP trainer);
 *   workload.json   the IR the package was generated from (what `import --workload` takes back);
 *   names.json      state-dict name -> IR tensor name (an explicit `import --map`);
 *   weights.safetensors  (only when the target is a model) its weights as a PyTorch state dict.
 * Output is deterministic: the same network gives the same files, byte for byte.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeSafetensors, type StArray } from '../core/safetensors.ts';
import { absorption, latentParams, type Model } from '../ir/model.ts';
import type { ResolvedLayer, ResolvedNetwork } from '../ir/types.ts';
import { opOf } from '../ops/index.ts';
import { torchEmitter, torchShape, type TorchLayout } from './torch-ops.ts';

/** Files copied verbatim into every package (src/interop/torch/). */
export const STATIC_FILES = ['layers.py', 'quantizers.py', 'train.py'] as const;

const PY_KEYWORDS = new Set(('False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case').split(' '));
/** names a generated attribute must not take: nn.Module members and the layer classes' own attributes */
const RESERVED = new Set(('training forward regime golden set_regime weight bias running_mean running_var num_batches_tracked threshold slope shift_in shift_out eval train cuda cpu to float double half bfloat16 type apply modules children parameters buffers state_dict load_state_dict zero_grad register_buffer register_parameter register_module add_module named_modules named_parameters named_buffers named_children extra_repr requires_grad_ share_memory dump_patches get_submodule get_parameter get_buffer get_extra_state set_extra_state ipu xpu stride padding pad_mode channel_scale eps momentum affine track_running_stats in_channels out_channels kernel_size dilation groups padding_mode in_features out_features output_padding transposed folded reset_parameters input_shape classes').split(' '));

function segmentName(seg: string): string {
  let s = seg.replace(/[^A-Za-z0-9_]/g, '_');
  if (s === '' || /^[0-9]/.test(s) || PY_KEYWORDS.has(s) || RESERVED.has(s) || s.startsWith('_')) s = `l_${s}`;
  return s;
}

export interface TorchTensor {
  /** state-dict name */
  torch: string;
  /** IR tensor name `<layer id>.<param>` */
  ir: string;
  layer: string;
  layout: TorchLayout;
  irShape: number[];
  torchShape: number[];
}

export interface TorchNames {
  /** module path of each layer that has a module (layer id -> dotted attribute path) */
  modules: Map<string, string>;
  /** container modules to create, in order (dotted paths) */
  containers: string[];
  /** every IR tensor, in layer order */
  tensors: TorchTensor[];
  /** state-dict entries that hold no IR tensor (BN's num_batches_tracked), by full name */
  extras: Set<string>;
}

/**
 * Module paths and state-dict names of a network (deterministic): each layer id split at its dots, every
 * segment made a Python identifier that is no keyword or nn.Module member (invalid characters -> '_', a
 * clash -> prefix 'l_'), a path taken twice or equal to a container gets a suffix _2, _3, ...
 */
export function torchStateDict(net: ResolvedNetwork): TorchNames {
  const modules = new Map<string, string>(), containers: string[] = [], containerSet = new Set<string>(), used = new Set<string>();
  const tensors: TorchTensor[] = [], extras = new Set<string>();
  for (const rl of net.layers) {
    const e = torchEmitter(rl.layer.op);
    if (!e.module) continue;
    const segs = rl.layer.id.split('.').map(segmentName);
    let parent = '';
    for (const s of segs.slice(0, -1)) {
      const p = parent ? `${parent}.${s}` : s;
      if (!used.has(p) && !containerSet.has(p)) { containerSet.add(p); containers.push(p); }
      parent = p;
    }
    const base = parent ? `${parent}.${segs[segs.length - 1]}` : segs[0];
    let path = base;
    for (let i = 2; used.has(path) || containerSet.has(path); i++) path = `${base}_${i}`;
    used.add(path);
    modules.set(rl.layer.id, path);
    const specs = latentParams(rl);
    const tps = e.params?.(rl) ?? [];
    const declared = Object.keys(specs).sort().join(','), mapped = tps.map((t) => t.ir).sort().join(',');
    if (declared !== mapped) throw new Error(`torch emitter of '${rl.layer.op}' maps [${mapped}] but the op declares [${declared}]`);
    for (const t of tps) {
      const irShape = specs[t.ir].shape;
      tensors.push({ torch: `${path}.${t.torch}`, ir: `${rl.layer.id}.${t.ir}`, layer: rl.layer.id, layout: t.layout, irShape, torchShape: torchShape(irShape, t.layout) });
    }
    for (const x of e.extras ?? []) extras.add(`${path}.${x}`);
  }
  return { modules, containers, tensors, extras };
}

/** A model's latent weights as a PyTorch state dict (torch names and layouts), safetensors bytes. */
export function stateDictBytes(model: Model, names: TorchNames, metadata: Record<string, string>): Uint8Array {
  const out = new Map<string, { shape: number[]; data: StArray }>();
  for (const t of names.tensors) {
    const d = model.params.get(t.ir) as Float32Array | undefined;
    if (!d) throw new Error(`stateDictBytes: missing ${t.ir}`);
    let data = d;
    if (t.layout === 'oihw') {
      const [o, kh, kw, ci] = t.irShape;
      data = new Float32Array(d.length);
      for (let a = 0; a < o; a++) for (let c = 0; c < ci; c++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) data[((a * ci + c) * kh + y) * kw + x] = d[((a * kh + y) * kw + x) * ci + c];
    }
    out.set(t.torch, { shape: t.torchShape, data });
  }
  return encodeSafetensors(out, metadata);
}

function pyString(s: string): string { return JSON.stringify(s); }

/** Python local variable names for the layers' outputs (unique identifiers). */
function variableNames(net: ResolvedNetwork): Map<string, string> {
  const m = new Map<string, string>([['input', 'x']]), used = new Set(['x', 'g', 'self']);
  for (const rl of net.layers) {
    const base = `x_${rl.layer.id.replace(/[^A-Za-z0-9_]/g, '_')}`;
    let v = base;
    for (let i = 2; used.has(v); i++) v = `${base}_${i}`;
    used.add(v); m.set(rl.layer.id, v);
  }
  return m;
}

const shapeLabel = (s: { h: number; w: number; c: number }) => `${s.h}x${s.w}x${s.c}`;

/** model.py for a network (deterministic). */
export function modelPy(net: ResolvedNetwork): string {
  const names = torchStateDict(net);
  const vars = variableNames(net);
  const { by: absorbedBy, absorbed } = absorption(net);
  const absorber = new Map<string, ResolvedLayer>();
  for (const [id, list] of absorbedBy) for (const a of list) absorber.set(a.layer.id, net.byId.get(id)!);
  const wl = net.workload;
  const out = net.byId.get(net.output)!.out;
  const classes = out.h * out.w * out.c;
  const L: string[] = [];
  L.push('"""' + `${wl.name}: ${wl.description ?? 'a network'} -- generated by \`birealsim export-torch\` from its birealsim IR.`);
  L.push('');
  L.push('Do not edit: regenerate with `birealsim export-torch`. One attribute per IR layer with parameters, at the');
  L.push("layer id's path, so state-dict names are the IR's tensor names with PyTorch's parameter names (names.json");
  L.push('lists them); `birealsim import weights.safetensors --workload workload.json` reads them back. Tensors are');
  L.push("NCHW; the output is [N, classes]. model.golden() is true when the 1-bit network is evaluated: binary convs");
  L.push('then fold alpha and their BN exactly as `birealsim export` does (layers.py).');
  L.push('"""');
  L.push('import torch.nn as nn');
  L.push('import torch.nn.functional as F');
  L.push('');
  L.push('from layers import BatchNorm, BinaryAct, BinaryConv2d, Conv2d, Linear, RPReLU, RSign, act_scale, flatten_hwc');
  L.push('from quantizers import Regime');
  L.push('');
  L.push(`NAME = ${pyString(wl.name)}`);
  L.push(`INPUT_SHAPE = (${net.input.c}, ${net.input.h}, ${net.input.w})  # C, H, W`);
  L.push(`CLASSES = ${classes}`);
  L.push(`HAS_BINARY = ${net.layers.some((rl) => opOf(rl.layer).binarises === true) ? 'True' : 'False'}  # the two-stage recipe applies`);
  const decayed = names.tensors.filter((t) => latentParams(net.byId.get(t.layer)!)[t.ir.slice(t.layer.length + 1)].role === 'weight').map((t) => t.torch);
  const clipped = names.tensors.filter((t) => latentParams(net.byId.get(t.layer)!)[t.ir.slice(t.layer.length + 1)].clip !== undefined).map((t) => t.torch);
  L.push('# weight decay applies to these (conv and fc weights), never to BN, biases or activation parameters');
  L.push(`DECAYED = [${decayed.map(pyString).join(', ')}]`);
  L.push('# latent binary weights, clipped to [-1, 1] after each 1-bit-stage update (--weight-clip)');
  L.push(`CLIPPED = [${clipped.map(pyString).join(', ')}]`);
  L.push('');
  L.push('');
  L.push('class Net(nn.Module):');
  L.push(`    """${wl.name}: ${net.layers.length} IR layers, input ${shapeLabel(net.input)} (HWC), ${classes} outputs."""`);
  L.push('');
  L.push('    def __init__(self, regime=None):');
  L.push('        super().__init__()');
  L.push('        self.regime = regime if regime is not None else Regime()');
  L.push('        r = self.regime');
  const containersLeft = [...names.containers];
  for (const rl of net.layers) {
    const path = names.modules.get(rl.layer.id);
    if (!path) continue;
    // containers this path needs, created just before their first use
    for (let i = 0; i < containersLeft.length;) {
      const c = containersLeft[i];
      if (path.startsWith(c + '.')) { L.push(`        self.${c} = nn.Module()`); containersLeft.splice(i, 1); } else i++;
    }
    L.push(`        self.${path} = ${torchEmitter(rl.layer.op).module!(rl, 'r')}  # ${rl.layer.id}: ${rl.layer.op} -> ${shapeLabel(rl.out)}`);
  }
  L.push('');
  L.push('    def golden(self):');
  L.push('        """True when the 1-bit network is evaluated: birealsim\'s deployed numerics (layers.py)."""');
  L.push('        return not self.training and self.regime.binary()');
  L.push('');
  L.push('    def forward(self, x):');
  L.push('        g = self.golden()');
  for (const rl of net.layers) {
    const id = rl.layer.id;
    const ins = rl.inputs.map((i) => vars.get(i)!);
    const e = torchEmitter(rl.layer.op);
    const m = names.modules.has(id) ? `self.${names.modules.get(id)}` : '';
    const v = vars.get(id)!;
    const comment = `  # ${id}: ${rl.layer.op} -> ${shapeLabel(rl.out)}`;
    const expr = e.forward(rl, ins, m);
    if (e.folded && absorbedBy.has(id)) {
      L.push(`        ${v} = None if g else ${expr}${comment} (folded below in golden eval)`);
    } else if (e.folded) {
      L.push(`        ${v} = ${e.folded(rl, ins, m, [])} if g else ${expr}${comment}`);
    } else if (absorbed.has(id) && torchEmitter(absorber.get(id)!.layer.op).folded) {
      const owner = absorber.get(id)!;
      const oe = torchEmitter(owner.layer.op);
      const folded = oe.folded!(owner, owner.inputs.map((i) => vars.get(i)!), `self.${names.modules.get(owner.layer.id)}`, [m]);
      L.push(`        ${v} = ${folded} if g else ${expr}${comment}`);
    } else {
      L.push(`        ${v} = ${expr}${comment}`);
    }
  }
  const o = vars.get(net.output)!;
  L.push(`        return flatten_hwc(${o})`);
  L.push('');
  return L.join('\n');
}

function staticFile(name: string): string {
  return readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'torch', name), 'utf8');
}

/** Every file of the package (name -> contents), in a fixed order. */
export function torchPackage(net: ResolvedNetwork, model?: Model): Map<string, string | Uint8Array> {
  const names = torchStateDict(net);
  const files = new Map<string, string | Uint8Array>();
  files.set('model.py', modelPy(net));
  for (const f of STATIC_FILES) files.set(f, staticFile(f));
  files.set('workload.json', JSON.stringify(net.workload, null, 2) + '\n');
  const map: Record<string, string> = {};
  for (const t of names.tensors) map[t.torch] = t.ir;
  files.set('names.json', JSON.stringify(map, null, 2) + '\n');
  if (model) {
    const md: Record<string, string> = { 'birealsim.network': net.workload.name };
    if (model.meta.dataset) md['birealsim.dataset'] = model.meta.dataset;
    files.set('weights.safetensors', stateDictBytes(model, names, md));
  }
  return files;
}
