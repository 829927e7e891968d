/**
 * Network IR: a versioned JSON description of a 1-bit / real CNN as a DAG of named layers.
 *
 * Tensors are NHWC (batch excluded). A layer consumes the previous layer's output unless it names its
 * input(s): `in` for one input, `inputs` for two (add, actscale). The special name "input" is the network
 * input. Each tensor is either 'real' (fp32 values) or 'bits' (+-1 values, bit-packed): `sign` turns real
 * into bits; `bconv` consumes bits and produces integer-valued reals (scaled by alpha when weightScale is
 * 'channel').
 *
 * Ops:
 *   conv      real conv, OHWI weights, optional bias
 *   bconv     binary conv (1-bit weights and activations), per-output-channel alpha = mean|W_o|
 *             ('channel') or none; padMode 'zero' (padded taps contribute nothing) | 'one' (padded taps +1)
 *   sign      real -> bits (sign(0)=+1)
 *   bn        batch norm, per channel (gamma, beta, running mean/var, eps)
 *   add       elementwise sum of two real tensors (the identity shortcut)
 *   avgpool / maxpool   window pooling (avgpool counts in-bounds taps only)
 *   gap       global average pool -> 1x1xC
 *   fc        fully connected on the flattened input (HWC order), optional bias
 *   actscale  XNOR-Net activation scale: out = inputs[0] * K where K = box_k*k( mean_c |inputs[1]| )
 *             with the window of the bconv it follows (kernel/stride/pad given explicitly)
 *   relu, clip (hardtanh to [-1,1])  real activations (full-precision ResNet; training variants)
 */

export const SCHEMA_ID = 'birealsim.workload/1';

import type { PadMode } from '../core/bits.ts';
export type { PadMode };
export type Dtype = 'real' | 'bits';

interface Base { id: string; in?: string }

export interface ConvLayer extends Base { op: 'conv'; outChannels: number; kernel: number; stride: number; pad: number; bias: boolean }
export interface BConvLayer extends Base {
  op: 'bconv'; outChannels: number; kernel: number; stride: number; pad: number;
  padMode: PadMode; weightScale: 'channel' | 'none';
}
export interface SignLayer extends Base { op: 'sign' }
export interface BNLayer extends Base { op: 'bn'; eps: number }
export interface AddLayer { id: string; op: 'add'; inputs: [string, string] }
export interface PoolLayer extends Base { op: 'avgpool' | 'maxpool'; kernel: number; stride: number; pad: number }
export interface GapLayer extends Base { op: 'gap' }
export interface FcLayer extends Base { op: 'fc'; outFeatures: number; bias: boolean }
export interface ActScaleLayer { id: string; op: 'actscale'; inputs: [string, string]; kernel: number; stride: number; pad: number }
export interface ActLayer extends Base { op: 'relu' | 'clip' }

export type Layer = ConvLayer | BConvLayer | SignLayer | BNLayer | AddLayer | PoolLayer | GapLayer | FcLayer | ActScaleLayer | ActLayer;
export type OpName = Layer['op'];
export const OP_NAMES: readonly OpName[] = ['conv', 'bconv', 'sign', 'bn', 'add', 'avgpool', 'maxpool', 'gap', 'fc', 'actscale', 'relu', 'clip'];

export interface Workload {
  schema: typeof SCHEMA_ID;
  name: string;
  description?: string;
  /** network family tag used by reports ('bireal' | 'xnornet' | 'resnet' | ...) */
  family?: string;
  input: { h: number; w: number; c: number };
  /** number of classes = outFeatures of the last fc; informational */
  layers: Layer[];
  /** id of the output layer; defaults to the last layer */
  output?: string;
}

/** Shape and dtype of a tensor produced by a layer, after shape inference. */
export interface TensorInfo { h: number; w: number; c: number; dtype: Dtype }

/** A layer with its resolved inputs and inferred shapes. */
export interface ResolvedLayer {
  layer: Layer;
  index: number;
  inputs: string[];
  inShapes: TensorInfo[];
  out: TensorInfo;
  /** ids of the layers consuming this one's output */
  consumers: string[];
}

export interface ResolvedNetwork {
  workload: Workload;
  input: TensorInfo;
  layers: ResolvedLayer[];
  byId: Map<string, ResolvedLayer>;
  output: string;
}

/** Parameter tensors a layer owns in a LATENT (training-form) model, with their shapes. */
export function paramShapes(rl: ResolvedLayer): Record<string, number[]> {
  const l = rl.layer;
  const cin = rl.inShapes[0]?.c ?? 0;
  switch (l.op) {
    case 'conv':
    case 'bconv': {
      const r: Record<string, number[]> = { weight: [l.outChannels, l.kernel, l.kernel, cin] };
      if (l.op === 'conv' && l.bias) r.bias = [l.outChannels];
      return r;
    }
    case 'bn': return { gamma: [cin], beta: [cin], running_mean: [cin], running_var: [cin] };
    case 'fc': {
      const s = rl.inShapes[0];
      const r: Record<string, number[]> = { weight: [l.outFeatures, s.h * s.w * s.c] };
      if (l.bias) r.bias = [l.outFeatures];
      return r;
    }
    default: return {};
  }
}
