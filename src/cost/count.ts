/**
 * Memory and operation accounting computed from the ExecPlan (so the counts describe what executes).
 * Formulas and switches are in conventions.ts. All counts are exact integers (fit in a double below 2^53).
 */
import type { ExecPlan, ExecStep } from '../golden/plan.ts';
import type { CostConvention } from './conventions.ts';

export interface LayerCost {
  step: string;
  layers: string[];
  kind: ExecStep['kind'];
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
}

export interface NetworkCost {
  name: string;
  convention: CostConvention;
  layers: LayerCost[];
  totals: {
    binaryWeights: number; realParams: number; memoryBits: number; memoryMbit: number;
    bops: number; realMacs: number; ops: number;
    fpMemoryBits: number; fpMemoryMbit: number; fpMacs: number;
    memorySaving: number; speedup: number;
  };
}

function bnCount(c: CostConvention, channels: number): number { return c.bnParams * channels; }

/** The bconv steps that feed an actscale (XNOR-Net alpha x K scaling). */
function xnorScaled(plan: ExecPlan): Set<string> {
  const s = new Set<string>();
  for (const st of plan.steps) if (st.kind === 'actscale') s.add(plan.producer.get(st.inputs[0])!.id);
  return s;
}

export function countLayer(step: ExecStep, c: CostConvention, scaled: boolean): LayerCost {
  let binaryWeights = 0, realParams = 0, fpParams = 0, bops = 0, realMacs = 0, fpMacs = 0;
  const o = step.out;
  switch (step.kind) {
    case 'xnor': {
      const w = step.cout * step.kernel * step.kernel * step.cin;
      binaryWeights = w;
      bops = o.h * o.w * w;
      fpMacs = bops;
      fpParams = w;
      if (c.alpha) realParams += step.cout;
      if (step.foldedBn) { realParams += bnCount(c, step.cout); fpParams += bnCount(c, step.cout); }
      if (scaled) realMacs += 2 * o.h * o.w * o.c;
      break;
    }
    case 'conv': {
      const w = step.cout * step.kernel * step.kernel * step.cin + (step.bias && c.convBias ? step.cout : 0);
      realParams = fpParams = w;
      realMacs = fpMacs = o.h * o.w * step.cout * step.kernel * step.kernel * step.cin;
      break;
    }
    case 'fc': {
      const w = step.inFeatures * step.outFeatures + (step.bias && c.fcBias ? step.outFeatures : 0);
      realParams = fpParams = w;
      realMacs = fpMacs = step.inFeatures * step.outFeatures;
      break;
    }
    case 'bn':
      realParams = fpParams = bnCount(c, step.out.c);
      break;
    default: break;
  }
  return {
    step: step.id, layers: step.layers, kind: step.kind, executesAs: step.executesAs,
    binaryWeights, realParams, fpParams, memoryBits: binaryWeights + c.realBits * realParams, bops, realMacs, fpMacs,
  };
}

export function countPlan(plan: ExecPlan, c: CostConvention): NetworkCost {
  const scaled = xnorScaled(plan);
  const layers = plan.steps.map((s) => countLayer(s, c, scaled.has(s.id)));
  const sum = (k: keyof LayerCost) => layers.reduce((a, l) => a + (l[k] as number), 0);
  const binaryWeights = sum('binaryWeights'), realParams = sum('realParams'), bops = sum('bops'), realMacs = sum('realMacs');
  const memoryBits = binaryWeights + c.realBits * realParams;
  const fpMemoryBits = c.realBits * sum('fpParams');
  const fpMacs = sum('fpMacs');
  const ops = bops / c.bopsPerOp + realMacs;
  return {
    name: plan.name, convention: c, layers,
    totals: {
      binaryWeights, realParams, memoryBits, memoryMbit: memoryBits / 1e6, bops, realMacs, ops,
      fpMemoryBits, fpMemoryMbit: fpMemoryBits / 1e6, fpMacs,
      memorySaving: fpMemoryBits / memoryBits, speedup: fpMacs / ops,
    },
  };
}
