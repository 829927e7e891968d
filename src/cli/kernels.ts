/** Kernel-set selection for commands (`--kernels`). */
import { UserError, didYouMeanHint } from '../core/diagnostics.ts';
import { referenceKernels } from '../kernels/reference.ts';
import type { KernelSet } from '../kernels/types.ts';

const SETS: Record<string, () => KernelSet> = {
  default: () => referenceKernels,
  reference: () => referenceKernels,
};
export const KERNEL_NAMES = Object.keys(SETS);

export function kernelsByName(name: string): KernelSet {
  const s = SETS[name];
  if (!s) throw new UserError('E_ARG', `unknown kernel set '${name}'`, { path: '--kernels', hint: didYouMeanHint(name, KERNEL_NAMES) });
  return s();
}
