/**
 * The kernel interface the golden model, the simulator's functional mode and benchmarks call. The plain
 * TypeScript implementation in reference.ts is the numeric SPEC; every fast implementation must return
 * bit-identical results (tested in test/kernels).
 */
import type { PackedTensor, Tensor } from '../core/tensor.ts';
import type { PadMode } from '../core/bits.ts';

export interface BinaryConvArgs {
  input: PackedTensor;
  /** packed weights [cout][kh][kw][input.wordsPerPixel], same bit conventions as activations */
  weightBits: Uint32Array;
  cout: number;
  kernel: number;
  stride: number;
  pad: number;
  padMode: PadMode;
  outH: number;
  outW: number;
}

export interface RealConvArgs {
  input: Tensor;
  /** OHWI float weights */
  weight: Float32Array;
  bias?: Float32Array;
  cout: number;
  kernel: number;
  stride: number;
  pad: number;
  outH: number;
  outW: number;
}

export interface FcArgs { input: Float32Array; weight: Float32Array; bias?: Float32Array; outFeatures: number }

/**
 * Optional fast versions of the golden model's element ops (the op modules, src/ops/), for kernel sets that keep
 * data in their own memory. Each must return exactly what the golden op returns (bit for bit); the
 * golden runner uses one when present and the golden op otherwise.
 */
export interface ElementOps {
  /** binaryConv followed by the output transform y = fp32(fp32(mul_c * acc) + bias_c) (ops.xnorOutputTransform) */
  xnorConv(a: BinaryConvArgs, mul: Float32Array, bias: Float32Array): { acc: Int32Array; out: Tensor };
  /** ops.bnApply */
  bn(x: Tensor, scale: Float32Array, shift: Float32Array): Tensor;
  /** ops.addApply */
  add(a: Tensor, b: Tensor): Tensor;
  /** tensor.packSigns */
  signPack(x: Tensor): PackedTensor;
  /** ops.poolApply (max and average window pooling) */
  pool(x: Tensor, kind: 'avgpool' | 'maxpool', kernel: number, stride: number, pad: number): Tensor;
}

export interface KernelSet {
  name: string;
  /** optional fused / vectorised element ops (see ElementOps) */
  ops?: Partial<ElementOps>;
  /**
   * optional: runs `fn` with this set's calls kept on the calling thread (no worker hand-off; the same
   * results, since thread splits only divide independent outputs). For callers issuing many small calls.
   */
  onCallingThread?<T>(fn: () => T): T;
  /**
   * optional: 'wasm' when the set's kernels can run a whole plan resident in the shared WebAssembly memory
   * (golden/resident.ts), 'native' when the addon can run it as a native program (golden/native-program.ts);
   * the golden runner then uses that executor (same bytes, fewer copies and passes).
   */
  device?: 'wasm' | 'native';
  /** integer accumulators (the +-1 dot products), NHWC [outH][outW][cout] */
  binaryConv(a: BinaryConvArgs): Int32Array;
  /** fp32 conv, each product and sum rounded to fp32, accumulation in (ky, kx, ci) order, bias added last */
  realConv(a: RealConvArgs): Float32Array;
  /** fp32 fully connected, accumulation in input order, bias added last */
  fc(a: FcArgs): Float32Array;
}
