/**
 * Kernel-set selection for commands (`--kernels fast|native|wasm|reference`); 'default' is 'fast' (native when
 * the addon was built at install, WebAssembly otherwise; kernels/index.ts).
 */
import { UserError, didYouMeanHint } from '../core/diagnostics.ts';
import { getKernels, KERNEL_NAMES as SETS, kernelsReady, loadKernels, type KernelName } from '../kernels/index.ts';
import type { KernelSet } from '../kernels/types.ts';

export const KERNEL_NAMES = ['default', ...SETS];

export function kernelsByName(name: string): KernelSet {
  const n = name === 'default' ? 'fast' : name;
  if (!(SETS as readonly string[]).includes(n)) throw new UserError('E_ARG', `unknown kernel set '${name}'`, { path: '--kernels', hint: didYouMeanHint(name, KERNEL_NAMES) });
  try {
    return getKernels(n as KernelName);
  } catch (e) {
    throw new UserError('E_ARG', (e as Error).message, { path: '--kernels' });
  }
}

/**
 * Loads the WebAssembly kernels (any command that executes kernels, the trainer's included, awaits this
 * first) and, for the fast set, starts the worker threads so the first layers do not run single-threaded
 * while they boot.
 */
export async function warmKernels(k: KernelSet): Promise<void> {
  await loadKernels();
  if (k.name === 'fast') await kernelsReady(); // the WebAssembly set's worker pool (native has its own threads)
}

/** kernelsByName + warmKernels: the kernel set a command executes with, loaded and warm. */
export async function readyKernels(name: string): Promise<KernelSet> {
  const k = kernelsByName(name);
  await warmKernels(k);
  return k;
}
