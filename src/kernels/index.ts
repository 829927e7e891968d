/**
 * Kernel sets by name: 'reference' (plain TypeScript, the numeric spec), 'wasm' (WebAssembly SIMD on worker
 * threads, fast.ts), 'native' (C++ Node-API addon built at install, native.ts) and 'fast' = native when the
 * addon is built and loads, WebAssembly otherwise. All are bit-identical to the reference (test/kernels).
 * The CLI's `--kernels fast|native|wasm|reference` maps to getKernels. The WebAssembly set (and the trainer's
 * batch ops) need `await loadKernels()` once per thread first (wasm.ts).
 */
import type { KernelSet } from './types.ts';
import { referenceKernels } from './reference.ts';
import { fastKernels } from './fast.ts';
import { nativeKernels, nativeUnavailableReason } from './native.ts';

export type KernelName = 'fast' | 'native' | 'wasm' | 'reference';
export const KERNEL_NAMES: readonly KernelName[] = ['fast', 'native', 'wasm', 'reference'];

/** The WebAssembly set is `fastKernels` (named 'fast' for history); 'fast' resolves to native when built. */
export function getKernels(name: KernelName): KernelSet {
  switch (name) {
    case 'fast': return nativeKernels() ?? fastKernels;
    case 'native': {
      const k = nativeKernels();
      if (!k) throw new Error(`kernel set 'native' is not available: ${nativeUnavailableReason()} (use --kernels wasm)`);
      return k;
    }
    case 'wasm': return fastKernels;
    case 'reference': return referenceKernels;
    default: throw new Error(`unknown kernel set '${String(name)}' (expected one of ${KERNEL_NAMES.join(', ')})`);
  }
}

/** The kernel sets present on this machine, for tests and benchmarks that run every backend. */
export function presentKernelSets(): { name: 'native' | 'wasm'; kernels: KernelSet }[] {
  const n = nativeKernels();
  return [...(n ? [{ name: 'native' as const, kernels: n }] : []), { name: 'wasm' as const, kernels: fastKernels }];
}

export { fastKernels, referenceKernels, nativeKernels };
export { binaryGemm, sgemm, setKernelThreads, kernelsReady, closeKernelPool, type SgemmArgs } from './fast.ts';
export { nativeBinaryGemm, nativeIsa, setNativeIsa, setNativeThreads, nativeUnavailableReason } from './native.ts';
export type { KernelSet } from './types.ts';
export { loadKernels, kernelsLoaded } from './wasm.ts';
