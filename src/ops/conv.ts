/**
 * `conv`: real-valued (fp32) convolution, OHWI weights [O, k, k, I], optional bias, zero padding.
 * Numerics (kernels/types.ts realConv): each product and sum rounded to fp32, accumulation in (ky, kx, ci)
 * order, out-of-bounds taps skipped, bias added last. In Bi-Real Net the stem and the 1x1 downsample
 * shortcuts are real convs.
 * Counts: Ho*Wo*O*k*k*I real MACs; weights (and bias) are real parameters.
 * Accelerator: runs on the real-valued unit (or on a MAC PE array); a bias is one add per output element.
 */
import { tensor } from '../core/tensor.ts';
import * as T from '../kernels/batch-ops.ts';
import { channels, rangeOf, real, windowLabel, windowOut, withShape, zeroCounts } from './common.ts';
import type { ExecStep, Layer, OpModule } from './types.ts';

export interface ConvLayer extends Layer { op: 'conv'; outChannels: number; kernel: number; stride: number; pad: number; bias: boolean }
export interface ConvStep extends ExecStep { kernel: number; stride: number; pad: number; cin: number; cout: number; weight: Float32Array; bias?: Float32Array }

export const conv: OpModule<ConvLayer, ConvStep> = {
  op: 'conv',
  summary: 'real-valued convolution (fp32), OHWI weights, zero padding',
  arity: 1,
  inputDtypes: ['real'],
  keys: {
    outChannels: { type: 'int', min: 1, doc: 'output channels' },
    kernel: { type: 'int', min: 1, doc: 'square kernel size' },
    stride: { type: 'int', min: 1, default: 1, doc: 'stride' },
    pad: { type: 'int', min: 0, default: 0, doc: 'zero padding on every side' },
    bias: { type: 'bool', default: false, doc: 'add a per-channel bias' },
  },
  infer: (l, [x], fail) => ({ h: windowOut(l.kernel, l.stride, l.pad, x.h, 'height', fail), w: windowOut(l.kernel, l.stride, l.pad, x.w, 'width', fail), c: l.outChannels, dtype: 'real' }),
  params: (l, [x]) => ({
    weight: { shape: [l.outChannels, l.kernel, l.kernel, x.c], role: 'weight' },
    ...(l.bias ? { bias: { shape: [l.outChannels], role: 'bias' as const } } : {}),
  }),
  lower: (rl, P) => {
    const l = rl.layer;
    return {
      id: l.id, op: 'conv', layers: [l.id], inputs: rl.inputs, inShapes: rl.inShapes, out: rl.out,
      kernel: l.kernel, stride: l.stride, pad: l.pad, cin: rl.inShapes[0].c, cout: l.outChannels,
      weight: P(`${l.id}.weight`) as Float32Array, bias: l.bias ? P(`${l.id}.bias`) as Float32Array : undefined,
    };
  },
  fusion: { postOp: false },
  executesAs: 'real',
  execute: (s, [x], k) => ({
    out: tensor(s.out.h, s.out.w, s.out.c, k.realConv({ input: real(x, s.id), weight: s.weight, bias: s.bias, cout: s.cout, kernel: s.kernel, stride: s.stride, pad: s.pad, outH: s.out.h, outW: s.out.w })),
  }),
  slice: (s, r) => {
    const per = s.kernel * s.kernel * s.cin;
    return { ...s, inShapes: r.inShapes, out: withShape(s.out, r.outH, r.c1 - r.c0), cout: r.c1 - r.c0, weight: rangeOf(s.weight, r.c0 * per, r.c1 * per), bias: s.bias && channels(s.bias, r.c0, r.c1) };
  },
  count: (s) => {
    const c = zeroCounts(), w = s.cout * s.kernel * s.kernel * s.cin;
    c.params = { convWeight: w, convBias: s.bias ? s.cout : 0 };
    c.fpParams = { ...c.params };
    c.realMacs = c.fpMacs = s.out.h * s.out.w * w;
    return c;
  },
  workload: (s) => ({
    unit: 'real-unit', binary: false, kh: s.kernel, kw: s.kernel, stride: s.stride, pad: s.pad, cin: s.cin, channelwise: false,
    ppu: { mul: 0, add: s.bias ? 1 : 0, cmp: 0 }, paramWordsPerChannel: s.bias ? 1 : 0,
  }),
  describe: (s) => ({ precision: 'fp32', weightBytes: s.weight.byteLength + (s.bias?.byteLength ?? 0), padMode: 'zero', window: windowLabel(s.kernel, s.stride, s.pad) }),
  fast: { family: 'real-conv' },
  train: {
    forward: (l, [x], c) => {
      const r = T.conv2dForward(x, c.p('weight'), l.outChannels, l, l.bias ? c.p('bias') : undefined, 0, c.scratch);
      if (c.training) c.saved.ctx = r.ctx;
      return r.y;
    },
    backward: (l, dy, _xs, c) => [T.conv2dBackward(dy, c.saved.ctx as T.ConvCtx, c.p('weight'), c.g('weight'), l.bias ? c.g('bias') : null, c.needInputGrad, c.scratch)],
  },
};
