/**
 * `sign`: binary activation, x -> +-1 bit-packed (core/bits.ts: sign(0) = sign(-0) = +1, bit 1 = -1, 32
 * channels per word). Bi-Real Net places one before every binary conv, after the real-valued shortcut add.
 * Training (Liu et al. 2018, section 3.2): forward sign(x); backward by the `actGrad` estimator, a tiny
 * named object (larq style): 'approxsign' = the derivative of the piecewise polynomial F (F = -1 below -1,
 * 2x+x^2 on [-1,0), 2x-x^2 on [0,1), 1 above), i.e. 2 - 2|x| for |x| < 1 and 0 elsewhere (0 exactly at
 * |x| = 1); 'ste' = the straight-through estimator with the clip window, 1{|x| <= 1}. In stage 1 of
 * the two-stage recipe a real stand-in computes instead (`signAs`: clip = hardtanh, relu, leaky-clip,
 * identity), the clip-activation initialisation.
 * Counts: free (no OPs, no parameters). Accelerator: one compare per element on the post-processing unit,
 * packed into 32-bit words.
 */
import { packSigns } from '../core/tensor.ts';
import * as T from '../kernels/batch-ops.ts';
import { bt, type BT } from '../kernels/batch.ts';
import { simdOps } from '../kernels/batch-fast.ts';
import { elementwiseWorkload, real, withShape, zeroCounts } from './common.ts';
import type { ActGrad, ExecStep, Layer, NetConfig, OpModule } from './types.ts';

export const ACT_GRADS: readonly ActGrad[] = ['approxsign', 'ste'];

export interface SignQuantizer { name: ActGrad; pseudoGrad(x: number): number }

export const SIGN_QUANTIZERS: Record<ActGrad, SignQuantizer> = {
  approxsign: { name: 'approxsign', pseudoGrad: (x) => { const a = Math.abs(x); return a < 1 ? 2 - 2 * a : 0; } },
  ste: { name: 'ste', pseudoGrad: (x) => (Math.abs(x) <= 1 ? 1 : 0) },
};

/** sign(x) with sign(0) = +1: the same rule as core/bits.ts signBit. */
export function signValue(x: number): 1 | -1 { return x < 0 ? -1 : 1; }

export function signForward(x: BT): BT {
  const y = bt(x.n, x.h, x.w, x.c);
  const xd = x.data, yd = y.data, n = yd.length;
  const simd = simdOps();
  if (simd) { simd.sign(xd, yd); return y; }
  for (let i = 0; i < n; i++) yd[i] = xd[i] < 0 ? -1 : 1;
  return y;
}

export function signBackward(dy: BT, x: BT, q: SignQuantizer): BT {
  const dx = bt(x.n, x.h, x.w, x.c);
  const xd = x.data, dd = dy.data, o = dx.data, n = o.length;
  const simd = q.name === 'approxsign' || q.name === 'ste' ? simdOps() : null;
  if (simd) { simd.signBackward(q.name, xd, dd, o); return dx; }
  // specialised loops (same values as q.pseudoGrad, which stays the definition)
  if (q.name === 'approxsign') { for (let i = 0; i < n; i++) { const a = Math.abs(xd[i]); o[i] = a < 1 ? dd[i] * (2 - 2 * a) : 0; } return dx; }
  if (q.name === 'ste') { for (let i = 0; i < n; i++) o[i] = Math.abs(xd[i]) <= 1 ? dd[i] : 0; return dx; }
  const g = q.pseudoGrad;
  for (let i = 0; i < n; i++) o[i] = dd[i] * g(xd[i]);
  return dx;
}

const STAND_INS: Record<string, T.Pointwise> = { clip: T.CLIP, relu: T.RELU, 'leaky-clip': T.LEAKY_CLIP };

/** Forward of a binary activation of `x` under the regime (shared with rsign, which shifts x first). */
export function binaryActForward(x: BT, cfg: NetConfig): BT {
  if (cfg.signAs === 'binary') return signForward(x);
  if (cfg.signAs === 'identity') return x;
  return T.pointwiseForward(x, STAND_INS[cfg.signAs]);
}
/** dL/dx of a binary activation of `x` under the regime. */
export function binaryActBackward(dy: BT, x: BT, cfg: NetConfig): BT {
  if (cfg.signAs === 'binary') return signBackward(dy, x, SIGN_QUANTIZERS[cfg.actGrad]);
  if (cfg.signAs === 'identity') return dy;
  return T.pointwiseBackward(dy, x, STAND_INS[cfg.signAs]);
}

export const sign: OpModule<Layer, ExecStep> = {
  op: 'sign',
  summary: 'binary activation: sign(x) with sign(0) = +1, bit-packed',
  arity: 1,
  inputDtypes: ['real'],
  keys: {},
  infer: (_l, [x]) => ({ ...x, dtype: 'bits' }),
  binarises: true,
  lower: (rl) => ({ id: rl.layer.id, op: 'sign', layers: [rl.layer.id], inputs: rl.inputs, inShapes: rl.inShapes, out: rl.out }),
  fusion: { postOp: true },
  executesAs: 'pack',
  execute: (s, [x], k) => ({ out: (k.ops?.signPack ?? packSigns)(real(x, s.id)) }),
  slice: (s, r) => ({ ...s, inShapes: r.inShapes, out: withShape(s.out, r.outH, r.c1 - r.c0) }),
  count: () => zeroCounts(),
  workload: (s) => elementwiseWorkload(s.out.c, { mul: 0, add: 0, cmp: 1 }),
  describe: () => ({ precision: 'fp32 -> 1 bit (packed)', weightBytes: 0 }),
  fast: { family: 'sign-pack', epilogue: 'sign-pack' },
  train: {
    forward: (_l, [x], c) => binaryActForward(x, c.cfg),
    backward: (_l, dy, [x], c) => [binaryActBackward(dy, x, c.cfg)],
  },
};
