/**
 * Values printed in Liu et al., ECCV 2018 (Bi-Real Net), Table 5 "memory usage and FLOPs", kept as a
 * reference column. Source: shared/reference/bireal-method.md section 3. Not used in any computation.
 */
import { byName } from '../core/diagnostics.ts';

export interface PaperRow { memoryMbit: number; saving?: number; ops: number; speedup?: number; printedOps: string }

export const PAPER_TABLE: Readonly<Record<string, PaperRow>> = byName({
  'bireal18-imagenet': { memoryMbit: 33.6, saving: 11.14, ops: 1.63e8, speedup: 11.06, printedOps: '1.63e8' },
  'xnornet18-imagenet': { memoryMbit: 33.7, saving: 11.10, ops: 1.67e8, speedup: 10.86, printedOps: '1.67e8' },
  'resnet18-imagenet': { memoryMbit: 374.1, ops: 1.81e9, printedOps: '1.81e9' },
  'bireal34-imagenet': { memoryMbit: 43.7, saving: 15.97, ops: 1.93e8, speedup: 18.99, printedOps: '1.93e8' },
  'resnet34-imagenet': { memoryMbit: 697.3, ops: 3.66e9, printedOps: '3.66e9' },
});
