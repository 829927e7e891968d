/**
 * The op registry's contract: one module per IR op kind (src/ops/<op>.ts) declares EVERYTHING about that op,
 * and generic machinery reads the declarations (tinygrad's ops table and Timeloop's problem-shape record are
 * the models). Nothing outside src/ops switches on op names:
 *  - IR: its keys with defaults and checks, its inputs and their dtypes, shape inference, its latent tensors
 *    (ir/validate.ts, ir/model.ts);
 *  - deployment: how latent tensors become deployable ones and which neighbour it absorbs (ir/deploy.ts);
 *  - lowering: the step record it lowers to and how it fuses (golden/plan.ts groups steps by `fusion`);
 *  - execution: its reference semantics, the numeric spec (golden/run.ts; the functional simulator runs the
 *    same function on tiles, via `slice`);
 *  - counts: binary weights, real parameters by category, BOPs, real MACs (cost/count.ts applies a named
 *    convention to these categories; the simulator reports the same numbers);
 *  - accelerator workload: which unit runs it, its window, operand precision, post-processing operations per
 *    element, side inputs (sim/layers.ts);
 *  - training: forward and backward (train/net.ts);
 *  - fast paths: which kernel family a fast backend may use for it (golden/resident.ts).
 * A new op = its module + its test + a line in ops/index.ts.
 */
import type { PackedTensor, Tensor } from '../core/tensor.ts';
import type { KernelSet } from '../kernels/types.ts';
import type { BT } from '../kernels/batch.ts';
import type { ConvScratch } from '../kernels/batch-ops.ts';

export type Dtype = 'real' | 'bits';

/** Shape and dtype of a tensor (batch 1, NHWC). */
export interface TensorInfo { h: number; w: number; c: number; dtype: Dtype }

/**
 * One IR layer: `id`, `op`, its input(s) (`in` for one-input ops, defaulting to the previous layer;
 * `inputs` for two-input ops) and the op's own keys (declared by the op module's `keys`).
 */
export interface Layer {
  id: string;
  op: string;
  in?: string;
  inputs?: string[];
  /** a one-input layer's own input shape, instead of `in`: starts an independent segment (ir/segments.ts) */
  input?: { h: number; w: number; c: number };
  [key: string]: unknown;
}

/** A layer with its resolved inputs and inferred shapes. */
export interface ResolvedLayer<L extends Layer = Layer> {
  layer: L;
  index: number;
  inputs: string[];
  inShapes: TensorInfo[];
  out: TensorInfo;
  /** ids of the layers consuming this one's output */
  consumers: string[];
}

/** What an op module may look at of the whole network (deployment looks at a layer's consumer). */
export interface NetView {
  byId: Map<string, ResolvedLayer>;
  output: string;
}

// ------------------------------------------------------------------ IR keys

export type KeySpec =
  | { type: 'int'; min: number; default?: number; doc: string }
  | { type: 'number'; positive: true; default?: number; doc: string }
  | { type: 'bool'; default?: boolean; doc: string }
  | { type: 'enum'; values: readonly string[]; default?: string; doc: string };

/** Throws a shape error at the layer (optional JSON path suffix such as '.inputs'). */
export type ShapeFail = (msg: string, hint?: string, pathSuffix?: string) => never;

// ------------------------------------------------------------------ tensors

/**
 * Role of a latent tensor: decides its initialisation (training and seeded random models), whether it is
 * trained, decayed or clipped. Initial values: weight ~ N(0, gain/fan_in) (gain 2 = He, 1 for a linear
 * output); gain and variance 1; slope 0.25 (PyTorch PReLU); everything else 0. Random models (tests, cost
 * runs of a workload without weights) draw weights He-normal, gains and variances U[0.5, 1.5], others N(0, 0.1^2).
 */
export type ParamRole = 'weight' | 'bias' | 'gain' | 'offset' | 'mean' | 'variance' | 'threshold' | 'slope';
export interface ParamSpec {
  shape: number[];
  role: ParamRole;
  /** weight init variance gain (default 2) */
  initGain?: number;
  /** latent values clipped to [-clip, clip] after each update (binary weights) */
  clip?: number;
}
export type ParamArray = Float32Array | Uint32Array;
export type DeployDtype = 'F32' | 'I32';

/** Deployable form of an op whose deployed tensors differ from its latent ones (bconv). */
export interface DeploySpec {
  /** ids of neighbouring layers it absorbs when deployed (their tensors fold into this op's) */
  absorbs(rl: ResolvedLayer, net: NetView): string[];
  /** deployable tensors (name without the layer prefix -> shape and dtype) */
  tensors(rl: ResolvedLayer): Record<string, { shape: number[]; dtype: DeployDtype }>;
  /** latent -> deployable tensors by full name (`get` reads a latent tensor by full name) */
  toDeployable(rl: ResolvedLayer, absorbed: ResolvedLayer[], get: (name: string) => ParamArray): Record<string, ParamArray>;
  /**
   * deployable -> latent tensors by full name (this layer's and the absorbed layers') of a latent model
   * computing the same thing (for float forwards of deployable files)
   */
  toLatent(rl: ResolvedLayer, absorbed: ResolvedLayer[], get: (name: string) => ParamArray): Record<string, ParamArray>;
}

// ------------------------------------------------------------------ lowering and execution

export type ExecutesAs = 'xnor' | 'real' | 'pack';
export type Value = Tensor | PackedTensor;

/** A lowered step: one IR op (plus the layers it absorbed), with its numeric fields. */
export interface ExecStep {
  /** step id = id of the first IR layer it covers */
  id: string;
  /** IR op name: the op module that owns this step */
  op: string;
  /** IR layer ids covered, in order; the last one names the output tensor */
  layers: string[];
  /** input tensor names (producing layer ids, or "input") */
  inputs: string[];
  inShapes: TensorInfo[];
  out: TensorInfo;
}

/** Reads a lowered model tensor by full name (deployable form). */
export type ParamGetter = (name: string) => ParamArray;

/** How an op joins fused groups (golden/plan.ts `lower` is the only place that applies this). */
export interface FusionSpec {
  /**
   * element-wise on its first input (or either, `commutative`): runs behind the producing step in the same
   * pass over its output (on the accelerator's post-processing unit), reading other inputs as side inputs
   */
  postOp: boolean;
  commutative?: boolean;
}

/**
 * Kernel families a fast backend knows (golden/resident.ts): a step whose op declares one may run on that
 * family's kernel; an `epilogue` may be fused into the epilogue of a preceding binary or real conv.
 */
export type KernelFamily = 'binary-conv' | 'real-conv' | 'dense' | 'max-pool' | 'avg-pool' | 'global-avg-pool' | 'affine' | 'add' | 'sign-pack';
export type EpilogueFamily = 'affine' | 'residual-add' | 'sign-pack';

/** A request to restrict a step to one tile (functional simulation). */
export interface SliceRequest {
  /** output channels [c0, c1) */
  c0: number; c1: number;
  /** reduction input channels [k0, k1) of a binary conv k-tile (multiples of 32 except at the end) */
  k0?: number; k1?: number;
  /** input shapes of the sub-step (the tile's input sub-tensors) and its output rows */
  inShapes: TensorInfo[];
  outH: number;
}

// ------------------------------------------------------------------ counts

/** Real parameter categories a counting convention includes or not (cost/conventions.ts). */
export type ParamCategory = 'convWeight' | 'convBias' | 'fcWeight' | 'fcBias' | 'bnAffine' | 'bnStats' | 'alpha' | 'activation';
export type ParamCounts = Partial<Record<ParamCategory, number>>;

/** An op's counts, convention-independent (cost/conventions.ts documents the formulas). */
export interface OpCounts {
  /** 1-bit weights stored */
  binaryWeights: number;
  /** real-valued parameters by category, in the deployed network */
  params: ParamCounts;
  /** real-valued parameters of the full-precision counterpart (binary weights become real, alpha vanishes) */
  fpParams: ParamCounts;
  /** 1-bit multiply-accumulates (XNOR-popcount) */
  bops: number;
  /** real multiply-accumulates that count as OPs (conv, FC; XNOR-Net's alpha x K scaling) */
  realMacs: number;
  /** MACs of the full-precision counterpart */
  fpMacs: number;
}

// ------------------------------------------------------------------ accelerator workload

export type Unit = 'pe-array' | 'real-unit' | 'pooling' | 'ppu';
export interface PpuOps { mul: number; add: number; cmp: number }

/**
 * What the op asks of the accelerator (sim/layers.ts composes a layer from a fused group's workloads):
 * as a group's first step (`unit`, window, operands), and as a post-op (`ppu` operations per output
 * element, per-channel parameters, how its other inputs are streamed).
 */
export interface OpWorkload {
  unit: Unit;
  /** the PE array multiplies 1-bit operands (XNOR-popcount) */
  binary: boolean;
  /** window over the input rows/cols (a whole-input window for fc and global pooling) */
  kh: number; kw: number; stride: number; pad: number;
  /** input channels reduced per output (= output channels for channel-wise ops) */
  cin: number;
  /** output channel o reads only input channel o */
  channelwise: boolean;
  /** post-processing operations per output element (the output transform of a conv, or the post-op) */
  ppu: PpuOps;
  /** folded per-channel parameters in 32-bit words per output channel (mul/bias, BN scale/shift, biases) */
  paramWordsPerChannel: number;
  /** how a post-op's inputs other than the chain are streamed: element-wise like the output, or a k x k window over all channels */
  sideWindow?: { kernel: number; stride: number; pad: number };
}

// ------------------------------------------------------------------ training

/** Training regime knobs (Bi-Real Net's two-stage recipe, train/trainer.ts). */
export type SignAs = 'binary' | 'clip' | 'relu' | 'leaky-clip' | 'identity';
export type ActGrad = 'approxsign' | 'ste';
export type WeightGrad = 'magnitude-aware' | 'plain';
export interface NetConfig {
  /** what a binary activation computes: 'binary' = the 1-bit sign (with the actGrad estimator), or a real stand-in (stage 1) */
  signAs: SignAs;
  /** binary conv weights: alpha * sign(W) with the weightGrad estimator, or the latent real weights (stage 1) */
  bconvWeights: 'binary' | 'real';
  actGrad: ActGrad;
  weightGrad: WeightGrad;
}

/** What a layer's forward/backward gets from the network being trained (train/net.ts). */
export interface TrainCtx {
  cfg: NetConfig;
  training: boolean;
  /** batch statistics for BN (training, or BN re-estimation) and the running-statistics momentum */
  bnBatchStats: boolean;
  bnMomentum: number;
  /** the layer's latent tensor / gradient by parameter name (without the layer prefix) */
  p(name: string): Float32Array;
  g(name: string): Float32Array;
  /** reusable per-layer buffers (im2col matrices, signed weights) */
  scratch: ConvScratch;
  /** dtype of input i in the IR ('bits': produced by a binary activation, so +-1 when cfg.signAs is 'binary') */
  inputDtype(i: number): Dtype;
  /** whether the gradient of input i is needed (false for the network input) */
  needInputGrad: boolean;
  /** state saved by forward for backward (training forwards only) */
  saved: Record<string, unknown>;
}

export interface TrainSpec<L extends Layer = Layer> {
  forward(l: L, xs: BT[], c: TrainCtx): BT;
  /** gradients of the inputs (null where not needed); accumulates parameter gradients into c.g(...) */
  backward(l: L, dy: BT, xs: BT[], c: TrainCtx): (BT | null)[];
}

// ------------------------------------------------------------------ the module

export interface OpModule<L extends Layer = Layer, S extends ExecStep = ExecStep> {
  /** IR op name */
  readonly op: string;
  /** one line: what it computes (docs, `inspect`) */
  readonly summary: string;
  /** 1: `in` (default: the previous layer); 2: `inputs: [a, b]` */
  readonly arity: 1 | 2;
  /** dtype each input must have */
  readonly inputDtypes: readonly Dtype[];
  /** the op's own IR keys with defaults (no default = required) */
  readonly keys: Readonly<Record<string, KeySpec>>;
  /** extra checks beyond `keys` (throw via fail) */
  validate?(l: L, fail: ShapeFail): void;
  /** shape inference */
  infer(l: L, ins: TensorInfo[], fail: ShapeFail): TensorInfo;
  /** latent tensors (name without the layer prefix), in a fixed order (it is the seeded initialisation order) */
  params?(l: L, ins: TensorInfo[]): Record<string, ParamSpec>;
  /** the layer makes a network 1-bit (it binarises activations or weights) */
  readonly binarises?: boolean;
  readonly deploy?: DeploySpec;

  /** lowering: the step record; `absorbed` = layers this one absorbed at deployment */
  lower(rl: ResolvedLayer<L>, P: ParamGetter, absorbed: ResolvedLayer[]): S;
  readonly fusion: FusionSpec;
  readonly executesAs: ExecutesAs;
  /** reference execution (the numeric spec): real outputs in fp32 with this op's fixed rounding order */
  execute(step: S, ins: Value[], kernels: KernelSet): { out: Value; acc?: Int32Array };
  /** the step restricted to a tile (functional simulation) */
  slice(step: S, r: SliceRequest): S;
  /** ops whose reduction is split into k-tiles: partial accumulators, and the output from their sum */
  readonly splitK?: { partial(step: S, ins: Value[], kernels: KernelSet): Int32Array; finish(step: S, acc: Int32Array): Tensor };

  count(step: S): OpCounts;
  workload(step: S): OpWorkload;
  /** `inspect` columns: precision, stored weight bytes, pad mode, window */
  describe(step: S): { precision: string; weightBytes: number; padMode?: string; window?: string };
  readonly fast?: { family?: KernelFamily; epilogue?: EpilogueFamily };

  readonly train: TrainSpec<L>;
}

/** Every tensor array of a step (stored weights and per-channel vectors). */
export function stepArrays(step: ExecStep): ParamArray[] {
  return Object.values(step).filter((v): v is ParamArray => v instanceof Float32Array || v instanceof Uint32Array);
}
