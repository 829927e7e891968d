/**
 * Memory and operation accounting from the ExecPlan (so the counts describe what executes). Each step's
 * counts come from its op module (ops/types.ts OpCounts: binary weights, real parameters by category, BOPs,
 * real MACs); a named convention (conventions.ts) decides which parameter categories count and how BOPs
 * weigh against real MACs. The simulator reports the same numbers through countStep, so `cost` and
 * `simulate` cannot disagree. All counts are exact integers (fit in a double below 2^53).
 */
import type { ExecPlan, ExecStep } from '../golden/plan.ts';
import { FP32, type RealFormat } from '../core/realformat.ts';
import { opOf } from '../ops/index.ts';
import type { ParamCounts } from '../ops/types.ts';
import { countedParams, type CostConvention } from './conventions.ts';

export interface LayerCost {
  step: string;
  layers: string[];
  /** the step's op (IR name) */
  op: string;
  executesAs: string;
  binaryWeights: number;
  realParams: number;
  /** real parameters of the full-precision counterpart (binary weights become real, alpha disappears) */
  fpParams: number;
  memoryBits: number;
  bops: number;
  realMacs: number;
  /** MACs of the full-precision counterpart */
  fpMacs: number;
  /** operations by operand precision: BOPs under '1-bit', real MACs under the real stream's format */
  opsByPrecision: Record<string, number>;
}

export interface CountTotals {
  binaryWeights: number; realParams: number; memoryBits: number; memoryMbit: number;
  bops: number; realMacs: number; ops: number;
  fpMemoryBits: number; fpMemoryMbit: number; fpMacs: number;
  memorySaving: number; speedup: number;
  opsByPrecision: Record<string, number>;
}

export interface NetworkCost {
  name: string;
  convention: CostConvention;
  layers: LayerCost[];
  totals: CountTotals;
}

const sumParams = (p: ParamCounts, c: CostConvention) => countedParams(p, c).reduce((a, [, n]) => a + n, 0);

/** Counts of one lowered step under a convention (the one function cost and simulate both call). */
export function countStep(step: ExecStep, c: CostConvention, realFormat: RealFormat = FP32): LayerCost {
  const m = opOf(step), k = m.count(step);
  const realParams = sumParams(k.params, c), fpParams = sumParams(k.fpParams, c);
  const opsByPrecision: Record<string, number> = {};
  if (k.bops) opsByPrecision['1-bit'] = k.bops;
  if (k.realMacs) opsByPrecision[realFormat.name] = k.realMacs;
  return {
    step: step.id, layers: step.layers, op: step.op, executesAs: m.executesAs,
    binaryWeights: k.binaryWeights, realParams, fpParams, memoryBits: k.binaryWeights + c.realBits * realParams,
    bops: k.bops, realMacs: k.realMacs, fpMacs: k.fpMacs, opsByPrecision,
  };
}

/** Totals of a list of step counts (a fused group's, or the whole network's). */
export function totalsOf(layers: LayerCost[], c: CostConvention): CountTotals {
  const sum = (f: (l: LayerCost) => number) => layers.reduce((a, l) => a + f(l), 0);
  const binaryWeights = sum((l) => l.binaryWeights), realParams = sum((l) => l.realParams), bops = sum((l) => l.bops), realMacs = sum((l) => l.realMacs);
  const memoryBits = binaryWeights + c.realBits * realParams;
  const fpMemoryBits = c.realBits * sum((l) => l.fpParams);
  const fpMacs = sum((l) => l.fpMacs);
  const ops = bops / c.bopsPerOp + realMacs;
  const opsByPrecision: Record<string, number> = {};
  for (const l of layers) for (const [p, n] of Object.entries(l.opsByPrecision)) opsByPrecision[p] = (opsByPrecision[p] ?? 0) + n;
  return {
    binaryWeights, realParams, memoryBits, memoryMbit: memoryBits / 1e6, bops, realMacs, ops,
    fpMemoryBits, fpMemoryMbit: fpMemoryBits / 1e6, fpMacs,
    memorySaving: fpMemoryBits / memoryBits, speedup: fpMacs / ops, opsByPrecision,
  };
}

export function countPlan(plan: ExecPlan, c: CostConvention): NetworkCost {
  const layers = plan.steps.map((s) => countStep(s, c, plan.realFormat));
  return { name: plan.name, convention: c, layers, totals: totalsOf(layers, c) };
}
