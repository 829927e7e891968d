/**
 * Torch emitters: for every IR op kind, how `birealsim export-torch` writes it as PyTorch (the layer classes
 * of src/interop/torch/layers.py, or a torch.nn.functional expression) and how its state-dict tensors map to
 * the op's latent tensors (`birealsim import <state dict>`). One table keyed by op kind, the same pattern as
 * the op registry (design.md "One op, one place"): the op modules stay free of Python, and
 * test/interop/torch-ops.test.ts checks that every registered op has an entry and that each entry's
 * tensors are exactly the ones the op module declares (ops/<op>.ts `params`).
 *
 * Layouts: PyTorch keeps conv weights [O, I, kh, kw] (OIHW), the IR [O, kh, kw, I] (OHWI): 'oihw' marks a
 * tensor stored transposed that way; everything else has the IR's shape. FC inputs are flattened in the IR's
 * HWC order by the generated model (layers.py flatten_hwc), so FC weights need no permutation.
 */
import type { ResolvedLayer } from '../ops/types.ts';

export type TorchLayout = 'same' | 'oihw';
/** One state-dict tensor of a layer's module: torch name (after the module path) -> IR param (after the layer id). */
export interface TorchParam { torch: string; ir: string; layout: TorchLayout }

export interface TorchEmitter {
  /** Python constructor of the layer's nn.Module (layers.py classes), absent for a functional op; `regime` names the shared Regime */
  module?(rl: ResolvedLayer, regime: string): string;
  /** its state-dict tensors that hold IR parameters (exactly the op's latent tensors) */
  params?(rl: ResolvedLayer): TorchParam[];
  /** state-dict entries of the module that hold no IR parameter (skipped by import) */
  extras?: readonly string[];
  /** forward expression: `m` = the module (when it has one), `ins` = input variables (NCHW tensors) */
  forward(rl: ResolvedLayer, ins: string[], m: string): string;
  /**
   * eval form of the 1-bit network when the op absorbs neighbours at deployment (ops' DeploySpec.absorbs):
   * the absorbed layer's output, computed by this layer's module with birealsim's deployed numerics
   */
  folded?(rl: ResolvedLayer, ins: string[], m: string, absorbed: string[]): string;
}

const k = (rl: ResolvedLayer, key: string) => rl.layer[key] as number;
const py = (b: unknown) => (b ? 'True' : 'False');

const EMITTERS: Record<string, TorchEmitter> = {
  conv: {
    module: (rl) => `Conv2d(${rl.inShapes[0].c}, ${k(rl, 'outChannels')}, ${k(rl, 'kernel')}, stride=${k(rl, 'stride')}, padding=${k(rl, 'pad')}, bias=${py(rl.layer.bias)})`,
    params: (rl) => [{ torch: 'weight', ir: 'weight', layout: 'oihw' }, ...(rl.layer.bias ? [{ torch: 'bias', ir: 'bias', layout: 'same' as const }] : [])],
    forward: (_rl, [x], m) => `${m}(${x})`,
  },
  bconv: {
    module: (rl, regime) => `BinaryConv2d(${rl.inShapes[0].c}, ${k(rl, 'outChannels')}, ${k(rl, 'kernel')}, stride=${k(rl, 'stride')}, padding=${k(rl, 'pad')}, pad_mode=${JSON.stringify(rl.layer.padMode)}, channel_scale=${py(rl.layer.weightScale === 'channel')}, regime=${regime})`,
    params: () => [{ torch: 'weight', ir: 'weight', layout: 'oihw' }],
    forward: (_rl, [x], m) => `${m}(${x})`,
    folded: (_rl, [x], m, absorbed) => `${m}.folded(${x}${absorbed.length ? `, ${absorbed[0]}` : ''})`,
  },
  sign: {
    module: (_rl, regime) => `BinaryAct(${regime})`,
    forward: (_rl, [x], m) => `${m}(${x})`,
  },
  bn: {
    module: (rl) => `BatchNorm(${rl.inShapes[0].c}, eps=${JSON.stringify(rl.layer.eps)})`,
    params: () => [
      { torch: 'weight', ir: 'gamma', layout: 'same' }, { torch: 'bias', ir: 'beta', layout: 'same' },
      { torch: 'running_mean', ir: 'running_mean', layout: 'same' }, { torch: 'running_var', ir: 'running_var', layout: 'same' },
    ],
    extras: ['num_batches_tracked'],
    forward: (_rl, [x], m) => `${m}(${x})`,
  },
  add: { forward: (_rl, [a, b]) => `${a} + ${b}` },
  avgpool: { forward: (rl, [x]) => `F.avg_pool2d(${x}, ${k(rl, 'kernel')}, ${k(rl, 'stride')}, ${k(rl, 'pad')}, count_include_pad=False)` },
  maxpool: { forward: (rl, [x]) => `F.max_pool2d(${x}, ${k(rl, 'kernel')}, ${k(rl, 'stride')}, ${k(rl, 'pad')})` },
  gap: { forward: (_rl, [x]) => `${x}.mean(dim=(2, 3), keepdim=True)` },
  fc: {
    module: (rl) => { const s = rl.inShapes[0]; return `Linear(${s.h * s.w * s.c}, ${k(rl, 'outFeatures')}, bias=${py(rl.layer.bias)})`; },
    params: (rl) => [{ torch: 'weight', ir: 'weight', layout: 'same' }, ...(rl.layer.bias ? [{ torch: 'bias', ir: 'bias', layout: 'same' as const }] : [])],
    forward: (_rl, [x], m) => `${m}(flatten_hwc(${x}))[:, :, None, None]`,
  },
  actscale: { forward: (rl, [a, x]) => `act_scale(${a}, ${x}, ${k(rl, 'kernel')}, ${k(rl, 'stride')}, ${k(rl, 'pad')})` },
  relu: { forward: (_rl, [x]) => `F.relu(${x})` },
  clip: { forward: (_rl, [x]) => `F.hardtanh(${x})` },
  rsign: {
    module: (rl, regime) => `RSign(${rl.inShapes[0].c}, ${regime})`,
    params: () => [{ torch: 'threshold', ir: 'threshold', layout: 'same' }],
    forward: (_rl, [x], m) => `${m}(${x})`,
  },
  rprelu: {
    module: (rl) => `RPReLU(${rl.inShapes[0].c})`,
    params: () => [{ torch: 'shift_in', ir: 'shift_in', layout: 'same' }, { torch: 'slope', ir: 'slope', layout: 'same' }, { torch: 'shift_out', ir: 'shift_out', layout: 'same' }],
    forward: (_rl, [x], m) => `${m}(${x})`,
  },
};
export const TORCH_EMITTERS: Readonly<Record<string, TorchEmitter>> = Object.freeze(EMITTERS);

/** The emitter of an op (internal invariant: every registered op has one; tested). */
export function torchEmitter(op: string): TorchEmitter {
  const e = Object.hasOwn(TORCH_EMITTERS, op) ? TORCH_EMITTERS[op] : undefined;
  if (!e) throw new Error(`torch emitters: no entry for op '${op}' (add one to src/interop/torch-ops.ts)`);
  return e;
}

/** The torch shape of an IR tensor shape in a layout. */
export function torchShape(irShape: readonly number[], layout: TorchLayout): number[] {
  if (layout === 'same') return [...irShape];
  const [o, kh, kw, i] = irShape;
  return [o, i, kh, kw];
}

/** OIHW torch data -> OHWI IR data (a copy; 'same' returns the data unchanged). */
export function toIrLayout(data: Float32Array, irShape: readonly number[], layout: TorchLayout): Float32Array {
  if (layout === 'same') return data;
  const [o, kh, kw, ci] = irShape;
  const out = new Float32Array(data.length);
  for (let a = 0; a < o; a++) for (let c = 0; c < ci; c++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    out[((a * kh + y) * kw + x) * ci + c] = data[((a * ci + c) * kh + y) * kw + x];
  }
  return out;
}
