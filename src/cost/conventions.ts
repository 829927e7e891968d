/**
 * Named counting conventions for memory and operations. Every cost result carries the convention it was
 * computed under, and `describeConvention` prints its formulas with the numbers.
 *
 * Operation counting (all conventions; Liu et al. 2018 Table 5, following XNOR-Net):
 *   BOPs      = 1-bit MACs of binary convs = Ho*Wo*Cout*k*k*Cin (nominal, border taps included)
 *   real MACs = MACs of real convs and FC (+ XNOR-Net scaling: 2 real multiplications per binary-conv output
 *               element, alpha and K, counted when the bconv feeds an actscale layer)
 *   OPs       = BOPs/64 + real MACs;  BN, pooling, shortcut adds and sign are free.
 *   speed-up  = MACs of the full-precision counterpart (every MAC real) / OPs
 * Memory: 1 bit per binary weight + realBits per counted real parameter, in Mbit = 10^6 bits.
 */
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
  /** bits per real-valued parameter */
  realBits: number;
  /** binary ops per real op in OPs = BOPs/bopsPerOp + realMACs */
  bopsPerOp: number;
}

export const CONVENTIONS: Record<string, CostConvention> = {
  /** The paper's convention as far as it is stated; BN gamma/beta and the FC bias counted (torchvision's parameter count for ResNet-18). */
  paper: { name: 'paper', bnParams: 2, fcBias: true, alpha: false, convBias: true, realBits: 32, bopsPerOp: 64 },
  /** Everything a deployed model stores: BN as 4 numbers per channel, alpha per binary channel. */
  'all-params': { name: 'all-params', bnParams: 4, fcBias: true, alpha: true, convBias: true, realBits: 32, bopsPerOp: 64 },
  /** Weights only: conv/FC weights, no BN, no biases, no alpha. */
  'weights-only': { name: 'weights-only', bnParams: 0, fcBias: false, alpha: false, convBias: false, realBits: 32, bopsPerOp: 64 },
};

export function describeConvention(c: CostConvention): string[] {
  return [
    `convention '${c.name}':`,
    `  memory [Mbit] = (binary weights x 1 bit + real parameters x ${c.realBits} bits) / 1e6`,
    `  real parameters = real conv weights${c.convBias ? ' + conv biases' : ''} + FC weights${c.fcBias ? ' + FC bias' : ''}` +
      `${c.bnParams ? ` + ${c.bnParams} per BN channel (${c.bnParams === 2 ? 'gamma, beta' : 'gamma, beta, mean, var'})` : ''}${c.alpha ? ' + 1 alpha per binary output channel' : ''}`,
    `  BOPs = sum over binary convs of Ho*Wo*Cout*k*k*Cin (1-bit MACs)`,
    `  real MACs = real conv and FC MACs + 2 per binary-conv output element where XNOR-Net scaling (alpha, K) applies`,
    `  OPs = BOPs/${c.bopsPerOp} + real MACs (BN, pooling, adds, sign free)`,
    `  full-precision counterpart: same topology, every weight ${c.realBits}-bit, every MAC real; saving = its memory / memory, speed-up = its MACs / OPs`,
  ];
}
