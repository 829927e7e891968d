/**
 * Kernel sets by name: 'reference' (plain TypeScript, the numeric spec) and 'fast' (WebAssembly SIMD on
 * worker threads, bit-identical to the reference). The CLI's `--kernels reference|fast` maps to getKernels.
 * The fast set (and the trainer's batch ops) need `await loadKernels()` once per thread first (wasm.ts).
 */
import type { KernelSet } from './types.ts';
import { referenceKernels } from './reference.ts';
import { fastKernels } from './fast.ts';

export type KernelName = 'fast' | 'reference';
export const KERNEL_NAMES: readonly KernelName[] = ['fast', 'reference'];

export function getKernels(name: KernelName): KernelSet {
  switch (name) {
    case 'fast': return fastKernels;
    case 'reference': return referenceKernels;
    default: throw new Error(`unknown kernel set '${String(name)}' (expected one of ${KERNEL_NAMES.join(', ')})`);
  }
}

export { fastKernels, referenceKernels };
export { binaryGemm, sgemm, setKernelThreads, kernelsReady, closeKernelPool, type SgemmArgs } from './fast.ts';
export type { KernelSet } from './types.ts';
export { loadKernels, kernelsLoaded } from './wasm.ts';
