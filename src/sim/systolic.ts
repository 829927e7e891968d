/**
 * Systolic-array compute model for one GEMM (M output pixels x N output channels x K reduction words),
 * following SCALE-Sim (Samajdar et al., ISPASS'20) as summarised in shared/reference/accelerator-model.md §1.
 *
 * Dataflows map (Sr, Sc, T) = (dimension spread over the R rows, over the C columns, streamed in time):
 *   OS = (M, N, K)   WS = (K, N, M)   IS = (K, M, N)
 * Folds: Fr = ceil(Sr/R), Fc = ceil(Sc/C), executed one after another.
 *
 * Cycles of one fold (derivation): in OS, operands enter skewed from two edges; the last PE (R-1, C-1) sees
 * its first operand pair after (R-1) + (C-1) cycles, then accumulates T pairs, so its last MAC is at cycle
 * R + C + T - 2 (counting from 1). In WS/IS the stationary operand must first be shifted into the R rows
 * (R cycles of preload) before the same skewed streaming: 2R + C + T - 2.
 *
 * Skew models:
 *   'array'    every fold pays the full array skew (SCALE-Sim): cycles = Fr*Fc*(pre + R + C + T - 2), pre = 0 (OS) or R.
 *   'occupied' a fold pays skew only over the rows r_i and columns c_j it occupies (idle PEs bypassed):
 *              sum over folds of (pre_i + r_i + c_j + T - 2), pre_i = 0 (OS) or r_i. With sum_i r_i = Sr and
 *              sum_j c_j = Sc this is  (1|2)*Fc*Sr + Fr*Sc + Fr*Fc*(T - 2).
 *              Under this model more rows or columns never increase cycles (Fr, Fc only shrink, and
 *              d/dFr = Sc - Fc >= 0 even when T = 1); under 'array' they can (one fold, larger skew).
 * SCALE-Sim prints one less than the RTL count (0-based index of the last output write, its issue #125);
 * that convention is applied once per layer by the caller, not here.
 *
 * SRAM accesses (words), per SCALE-Sim:
 *   OS: ifmap M*K*ceil(N/C), filter K*N*ceil(M/R), ofmap M*N (+ (R+C) per fold with SCALE-Sim's write quirk)
 *   WS: ifmap M*K*ceil(N/C), filter K*N,           ofmap M*N*ceil(K/R)
 *   IS: ifmap M*K,           filter K*N*ceil(M/C), ofmap M*N*ceil(K/R)
 * Mapping efficiency = mean over folds of (rows used * cols used)/(R*C) = Sr*Sc / (Fr*Fc*R*C).
 */
import type { Dataflow, SkewModel } from './arch.ts';

export interface GemmCost {
  sr: number; sc: number; t: number;
  foldsRow: number; foldsCol: number;
  /** RTL cycle count (no printing convention applied) */
  computeCycles: number;
  /** sum over folds of rows used * cols used (= Sr*Sc) */
  usedPeFolds: number;
  /** Fr*Fc*R*C */
  peFolds: number;
  mappingEfficiency: number;
  ifmapReads: number;
  filterReads: number;
  ofmapWrites: number;
}

export function dataflowDims(M: number, N: number, K: number, df: Dataflow): [number, number, number] {
  return df === 'os' ? [M, N, K] : df === 'ws' ? [K, N, M] : [K, M, N];
}

export function systolicGemm(M: number, N: number, K: number, R: number, C: number, df: Dataflow, skew: SkewModel, ofmapWriteQuirk = false): GemmCost {
  const [sr, sc, t] = dataflowDims(M, N, K, df);
  const fr = Math.ceil(sr / R), fc = Math.ceil(sc / C);
  const preload = df === 'os' ? 0 : 1;
  let computeCycles: number;
  if (skew === 'array') computeCycles = fr * fc * (preload * R + R + C + t - 2);
  else computeCycles = (1 + preload) * fc * sr + fr * sc + fr * fc * (t - 2);
  let ifmapReads: number, filterReads: number, ofmapWrites: number;
  if (df === 'os') {
    ifmapReads = M * K * Math.ceil(N / C);
    filterReads = K * N * Math.ceil(M / R);
    ofmapWrites = M * N + (ofmapWriteQuirk ? fr * fc * (R + C) : 0);
  } else if (df === 'ws') {
    ifmapReads = M * K * Math.ceil(N / C);
    filterReads = K * N;
    ofmapWrites = M * N * Math.ceil(K / R);
  } else {
    ifmapReads = M * K;
    filterReads = K * N * Math.ceil(M / C);
    ofmapWrites = M * N * Math.ceil(K / R);
  }
  const peFolds = fr * fc * R * C;
  return { sr, sc, t, foldsRow: fr, foldsCol: fc, computeCycles, usedPeFolds: sr * sc, peFolds, mappingEfficiency: (sr * sc) / peFolds, ifmapReads, filterReads, ofmapWrites };
}
