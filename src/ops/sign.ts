/**
 * `sign`: binary activation, x -> +-1 bit-packed (core/bits.ts: sign(0) = sign(-0) = +1, bit 1 = -1, 32
 * channels per word). Bi-Real Net places one before every binary conv, after the real-valued shortcut add.
 * Training (Liu et al. 2018, section 3.2; train/quantizers.ts): forward sign(x); backward by the `actGrad`
 * estimator: ApproxSign (2 - 2|x| on |x| < 1) or the straight-through estimator 1{|x| <= 1}. In stage 1 of
 * the two-stage recipe a real stand-in computes instead (`signAs`: clip = hardtanh, relu, leaky-clip,
 * identity), the clip-activation initialisation.
 * Counts: free (no OPs, no parameters). Accelerator: one compare per element on the post-processing unit,
 * packed into 32-bit words.
 */
import { packSigns } from '../core/tensor.ts';
import * as T from '../kernels/batch-ops.ts';
import type { BT } from '../kernels/batch.ts';
import { SIGN_QUANTIZERS, signBackward, signForward } from '../train/quantizers.ts';
import { elementwiseWorkload, real, withShape, zeroCounts } from './common.ts';
import type { ExecStep, Layer, NetConfig, OpModule } from './types.ts';

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
