/**
 * Network IR: a versioned JSON description of a 1-bit / real CNN as a DAG of named layers.
 *
 * Tensors are NHWC (batch excluded). A layer consumes the previous layer's output unless it names its
 * input(s): `in` for one input, `inputs` for two. The special name "input" is the network input. A one-input
 * layer may instead give its own input shape (`input: {h, w, c}`), starting an independent segment whose
 * input is an extra network input named `input:<id>` (ir/segments.ts; used for SCALE-Sim topologies). Each tensor
 * is either 'real' (fp32 values) or 'bits' (+-1 values, bit-packed). What each op is, its keys, inputs and
 * shapes are declared by its module in the op registry (src/ops/; `birealsim inspect` and docs list them):
 * this file only holds the network-level types.
 */
import type { Layer, ResolvedLayer, TensorInfo } from '../ops/types.ts';

export type { Dtype, Layer, ResolvedLayer, TensorInfo } from '../ops/types.ts';
export type { PadMode } from '../core/bits.ts';

export const SCHEMA_ID = 'birealsim.workload/1';

export interface Workload {
  schema: typeof SCHEMA_ID;
  name: string;
  description?: string;
  /** network family tag used by reports ('bireal' | 'xnornet' | 'resnet' | ...) */
  family?: string;
  input: { h: number; w: number; c: number };
  layers: Layer[];
  /** id of the output layer; defaults to the last layer */
  output?: string;
}

export interface ResolvedNetwork {
  workload: Workload;
  input: TensorInfo;
  /** inputs of independent segments (a layer's own `input` shape, ir/segments.ts), by tensor name `input:<id>` */
  segmentInputs: Map<string, TensorInfo>;
  layers: ResolvedLayer[];
  byId: Map<string, ResolvedLayer>;
  output: string;
}
