/**
 * `rprelu`: ReActNet's RPReLU (Liu, Shen, Savvides, Cheng, ECCV 2020, arXiv 2003.03488, eq. 4): a PReLU moved
 * by learnable per-channel shifts, placed after the residual add on the real-valued stream:
 *   f(x) = x - gamma_c + zeta_c            if x > gamma_c
 *          beta_c * (x - gamma_c) + zeta_c  if x <= gamma_c
 * (latent tensors `shift_in` = gamma, `slope` = beta, `shift_out` = zeta; the authors' code is LearnableBias,
 * PReLU, LearnableBias). Numerics, fp32 in this order: t = fp32(x - gamma); y = t > 0 ? fp32(t + zeta) :
 * fp32(fp32(beta * t) + zeta); t > 0 iff x > gamma exactly (fp32 subtraction is exact in sign).
 * Gradients (the paper's eq. 6-7): df/dx = 1 if x > gamma else beta; df/dbeta = 0 if x > gamma else x - gamma;
 * df/dgamma = -1 if x > gamma else -beta; df/dzeta = 1; parameter gradients sum over (n, y, x) per channel.
 * Counts: no OPs (element-wise, negligible in the paper); 3 learnable activation parameters per channel
 * (category 'activation'). Accelerator: per element one compare, one multiply and two adds on the
 * post-processing unit, with 3 words (gamma, beta, zeta) per channel.
 */
import { tensor, type Tensor } from '../core/tensor.ts';
import { bt, type BT } from '../kernels/batch.ts';
import { channels, elementwiseWorkload, f32, real, withShape, zeroCounts } from './common.ts';
import type { ExecStep, Layer, OpModule } from './types.ts';

export interface RPReluStep extends ExecStep { shiftIn: Float32Array; slope: Float32Array; shiftOut: Float32Array }

/** y = t > 0 ? fp32(t + zeta_c) : fp32(fp32(beta_c * t) + zeta_c), t = fp32(x - gamma_c), into `out` (any length multiple of C). */
function rpreluInto(x: Float32Array, C: number, g: Float32Array, b: Float32Array, z: Float32Array, out: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const c = i % C, t = f32(x[i] - g[c]);
    out[i] = t > 0 ? f32(t + z[c]) : f32(f32(b[c] * t) + z[c]);
  }
}

export function rpreluApply(x: Tensor, shiftIn: Float32Array, slope: Float32Array, shiftOut: Float32Array): Tensor {
  const out = tensor(x.h, x.w, x.c);
  rpreluInto(x.data, x.c, shiftIn, slope, shiftOut, out.data);
  return out;
}

export const rprelu: OpModule<Layer, RPReluStep> = {
  op: 'rprelu',
  summary: 'ReActNet RPReLU: PReLU with a learnable slope between learnable per-channel input and output shifts',
  arity: 1,
  inputDtypes: ['real'],
  keys: {},
  infer: (_l, [x]) => ({ ...x }),
  params: (_l, [x]) => ({ shift_in: { shape: [x.c], role: 'offset' }, slope: { shape: [x.c], role: 'slope' }, shift_out: { shape: [x.c], role: 'offset' } }),
  lower: (rl, P) => {
    const id = rl.layer.id, g = (p: string) => P(`${id}.${p}`) as Float32Array;
    return { id, op: 'rprelu', layers: [id], inputs: rl.inputs, inShapes: rl.inShapes, out: rl.out, shiftIn: g('shift_in'), slope: g('slope'), shiftOut: g('shift_out') };
  },
  fusion: { postOp: true },
  executesAs: 'real',
  execute: (s, [x]) => ({ out: rpreluApply(real(x, s.id), s.shiftIn, s.slope, s.shiftOut) }),
  slice: (s, r) => ({
    ...s, inShapes: r.inShapes, out: withShape(s.out, r.outH, r.c1 - r.c0),
    shiftIn: channels(s.shiftIn, r.c0, r.c1), slope: channels(s.slope, r.c0, r.c1), shiftOut: channels(s.shiftOut, r.c0, r.c1),
  }),
  count: (s) => { const c = zeroCounts(); c.params = { activation: 3 * s.out.c }; c.fpParams = { activation: 3 * s.out.c }; return c; },
  workload: (s) => elementwiseWorkload(s.out.c, { mul: 1, add: 2, cmp: 1 }, 3),
  describe: (s) => ({ precision: 'fp32', weightBytes: s.shiftIn.byteLength + s.slope.byteLength + s.shiftOut.byteLength }),
  train: {
    forward: (_l, [x], c) => {
      const y = bt(x.n, x.h, x.w, x.c);
      rpreluInto(x.data, x.c, c.p('shift_in'), c.p('slope'), c.p('shift_out'), y.data);
      return y;
    },
    backward: (_l, dy, [x], c) => {
      const C = x.c, g = c.p('shift_in'), b = c.p('slope');
      const dx = bt(x.n, x.h, x.w, C);
      const dg = new Float64Array(C), db = new Float64Array(C), dz = new Float64Array(C);
      for (let i = 0; i < x.data.length; i++) {
        const k = i % C, t = f32(x.data[i] - g[k]), d = dy.data[i];
        dz[k] += d;
        if (t > 0) { dx.data[i] = d; dg[k] -= d; } else { dx.data[i] = d * b[k]; db[k] += d * t; dg[k] -= d * b[k]; }
      }
      const Gg = c.g('shift_in'), Gb = c.g('slope'), Gz = c.g('shift_out');
      for (let k = 0; k < C; k++) { Gg[k] += dg[k]; Gb[k] += db[k]; Gz[k] += dz[k]; }
      return [dx as BT];
    },
  },
};
