/**
 * Named counting conventions for memory and operations. Every cost result carries the convention it was
 * computed under, and `describeConvention` prints its formulas with the numbers. The counts themselves come
 * from the op modules (ops/types.ts OpCounts); a convention only selects and weighs them.
 *
 * Operation counting (all conventions; Liu et al. 2018 Table 5, following XNOR-Net):
 *   BOPs      = 1-bit MACs of binary convs = Ho*Wo*Cout*k*k*Cin (nominal, border taps included)
 *   real MACs = MACs of real convs and FC, + XNOR-Net's scaling: 2 real multiplications per binary-conv output
 *               element (alpha and K), counted by its `actscale` layer
 *   OPs       = BOPs/64 + real MACs;  BN, pooling, shortcut adds, sign and the other element-wise ops are free.
 *   speed-up  = MACs of the full-precision counterpart (every MAC real) / OPs
 * Memory: 1 bit per binary weight + realBits per counted real parameter, in Mbit = 10^6 bits.
 */
import { byName } from '../core/diagnostics.ts';
import type { ParamCategory, ParamCounts } from '../ops/types.ts';

export interface CostConvention {
  name: string;
  /** BN parameters counted per channel: 0, 2 (gamma, beta) or 4 (+ running mean, var) */
  bnParams: 0 | 2 | 4;
  /** count the FC bias */
  fcBias: boolean;
  /** count alpha (one real scale per binary output channel) */
  alpha: boolean;
  /** count biases of real convs */
  convBias: boolean;
  /** count learnable activation parameters (ReActNet's RSign thresholds, RPReLU shifts and slopes) */
  activationParams: boolean;
  /** bits per real-valued parameter */
  realBits: number;
  /** binary ops per real op in OPs = BOPs/bopsPerOp + realMACs */
  bopsPerOp: number;
}

export const CONVENTIONS: Readonly<Record<string, CostConvention>> = byName({
  /** The paper's convention as far as it is stated; BN gamma/beta and the FC bias counted (torchvision's parameter count for ResNet-18). */
  paper: { name: 'paper', bnParams: 2, fcBias: true, alpha: false, convBias: true, activationParams: true, realBits: 32, bopsPerOp: 64 },
  /** Everything a deployed model stores: BN as 4 numbers per channel, alpha per binary channel. */
  'all-params': { name: 'all-params', bnParams: 4, fcBias: true, alpha: true, convBias: true, activationParams: true, realBits: 32, bopsPerOp: 64 },
  /** Weights only: conv/FC weights, no BN, no biases, no alpha, no activation parameters. */
  'weights-only': { name: 'weights-only', bnParams: 0, fcBias: false, alpha: false, convBias: false, activationParams: false, realBits: 32, bopsPerOp: 64 },
});

/** Whether a parameter category counts under a convention. */
export function counts(c: CostConvention, cat: ParamCategory): boolean {
  switch (cat) {
    case 'convWeight': case 'fcWeight': return true;
    case 'convBias': return c.convBias;
    case 'fcBias': return c.fcBias;
    case 'bnAffine': return c.bnParams >= 2;
    case 'bnStats': return c.bnParams === 4;
    case 'alpha': return c.alpha;
    case 'activation': return c.activationParams;
  }
}

/** The categories of `p` that count under `c`, with their numbers. */
export function countedParams(p: ParamCounts, c: CostConvention): [ParamCategory, number][] {
  return (Object.entries(p) as [ParamCategory, number][]).filter(([cat, n]) => n > 0 && counts(c, cat));
}

export function describeConvention(c: CostConvention): string[] {
  return [
    `convention '${c.name}':`,
    `  memory [Mbit] = (binary weights x 1 bit + real parameters x ${c.realBits} bits) / 1e6`,
    `  real parameters = real conv weights${c.convBias ? ' + conv biases' : ''} + FC weights${c.fcBias ? ' + FC bias' : ''}` +
      `${c.bnParams ? ` + ${c.bnParams} per BN channel (${c.bnParams === 2 ? 'gamma, beta' : 'gamma, beta, mean, var'})` : ''}${c.alpha ? ' + 1 alpha per binary output channel' : ''}` +
      `${c.activationParams ? ' + learnable activation parameters (RSign thresholds, RPReLU shifts and slopes)' : ''}`,
    `  BOPs = sum over binary convs of Ho*Wo*Cout*k*k*Cin (1-bit MACs)`,
    `  real MACs = real conv and FC MACs + 2 per binary-conv output element where XNOR-Net scaling (alpha, K) applies`,
    `  OPs = BOPs/${c.bopsPerOp} + real MACs (BN, pooling, adds, sign and other element-wise ops free)`,
    `  full-precision counterpart: same topology, every weight ${c.realBits}-bit, every MAC real; saving = its memory / memory, speed-up = its MACs / OPs`,
  ];
}
