/**
 * `fc`: fully connected layer on the flattened input (HWC order), weights [O, H*W*C], optional bias; fp32,
 * accumulation in input order, bias added last (kernels/types.ts fc). The classifier head.
 * Counts: in*out real MACs; weights and bias are real parameters.
 * Accelerator: the real-valued unit (or a MAC PE array) with a window over the whole input.
 */
import { tensor } from '../core/tensor.ts';
import * as T from '../kernels/batch-ops.ts';
import { channels, rangeOf, real, withShape, zeroCounts } from './common.ts';
import type { ExecStep, Layer, OpModule } from './types.ts';

export interface FcLayer extends Layer { op: 'fc'; outFeatures: number; bias: boolean }
export interface FcStep extends ExecStep { inFeatures: number; outFeatures: number; weight: Float32Array; bias?: Float32Array }

export const fc: OpModule<FcLayer, FcStep> = {
  op: 'fc',
  summary: 'fully connected layer on the flattened input (fp32)',
  arity: 1,
  inputDtypes: ['real'],
  keys: {
    outFeatures: { type: 'int', min: 1, doc: 'output features' },
    bias: { type: 'bool', default: true, doc: 'add a bias' },
  },
  infer: (l) => ({ h: 1, w: 1, c: l.outFeatures, dtype: 'real' }),
  params: (l, [x]) => ({
    weight: { shape: [l.outFeatures, x.h * x.w * x.c], role: 'weight', initGain: 1 },
    ...(l.bias ? { bias: { shape: [l.outFeatures], role: 'bias' as const } } : {}),
  }),
  lower: (rl, P) => {
    const l = rl.layer, s = rl.inShapes[0];
    return {
      id: l.id, op: 'fc', layers: [l.id], inputs: rl.inputs, inShapes: rl.inShapes, out: rl.out,
      inFeatures: s.h * s.w * s.c, outFeatures: l.outFeatures, weight: P(`${l.id}.weight`) as Float32Array, bias: l.bias ? P(`${l.id}.bias`) as Float32Array : undefined,
    };
  },
  fusion: { postOp: false },
  executesAs: 'real',
  execute: (s, [x], k) => ({ out: tensor(1, 1, s.outFeatures, k.fc({ input: real(x, s.id).data, weight: s.weight, bias: s.bias, outFeatures: s.outFeatures })) }),
  slice: (s, r) => ({
    ...s, inShapes: r.inShapes, out: withShape(s.out, 1, r.c1 - r.c0), outFeatures: r.c1 - r.c0,
    weight: rangeOf(s.weight, r.c0 * s.inFeatures, r.c1 * s.inFeatures), bias: s.bias && channels(s.bias, r.c0, r.c1),
  }),
  count: (s) => {
    const c = zeroCounts();
    c.params = { fcWeight: s.inFeatures * s.outFeatures, fcBias: s.bias ? s.outFeatures : 0 };
    c.fpParams = { ...c.params };
    c.realMacs = c.fpMacs = s.inFeatures * s.outFeatures;
    return c;
  },
  workload: (s) => {
    const x = s.inShapes[0];
    return { unit: 'real-unit', binary: false, kh: x.h, kw: x.w, stride: 1, pad: 0, cin: x.c, channelwise: false, ppu: { mul: 0, add: s.bias ? 1 : 0, cmp: 0 }, paramWordsPerChannel: s.bias ? 1 : 0 };
  },
  describe: (s) => ({ precision: 'fp32', weightBytes: s.weight.byteLength + (s.bias?.byteLength ?? 0) }),
  fast: { family: 'dense' },
  train: {
    forward: (l, [x], c) => T.fcForward(x, c.p('weight'), l.outFeatures, l.bias ? c.p('bias') : undefined).y,
    backward: (l, dy, [x], c) => [T.fcBackward(dy, { x }, c.p('weight'), c.g('weight'), l.bias ? c.g('bias') : null, c.needInputGrad)],
  },
};
