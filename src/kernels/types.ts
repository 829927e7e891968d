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

export interface KernelSet {
  name: string;
  /** integer accumulators (the +-1 dot products), NHWC [outH][outW][cout] */
  binaryConv(a: BinaryConvArgs): Int32Array;
  /** fp32 conv, each product and sum rounded to fp32, accumulation in (ky, kx, ci) order, bias added last */
  realConv(a: RealConvArgs): Float32Array;
  /** fp32 fully connected, accumulation in input order, bias added last */
  fc(a: FcArgs): Float32Array;
}
