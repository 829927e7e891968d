/**
 * `gap`: global average pooling per channel, summed in pixel order in fp32 then divided by H*W (the head of
 * every ResNet-style network here).
 * Counts: free. Accelerator: the pooling unit with a window over the whole input.
 */
import { tensor, type Tensor } from '../core/tensor.ts';
import * as T from '../kernels/batch-ops.ts';
import { f32, NO_PPU, real, withShape, zeroCounts } from './common.ts';
import type { ExecStep, Layer, OpModule } from './types.ts';

export function gapApply(x: Tensor): Tensor {
  const out = tensor(1, 1, x.c);
  const n = x.h * x.w;
  for (let c = 0; c < x.c; c++) {
    let acc = 0;
    for (let p = 0; p < n; p++) acc = f32(acc + x.data[p * x.c + c]);
    out.data[c] = f32(acc / n);
  }
  return out;
}

export const gap: OpModule<Layer, ExecStep> = {
  op: 'gap',
  summary: 'global average pooling per channel',
  arity: 1,
  inputDtypes: ['real'],
  keys: {},
  infer: (_l, [x]) => ({ h: 1, w: 1, c: x.c, dtype: 'real' }),
  lower: (rl) => ({ id: rl.layer.id, op: 'gap', layers: [rl.layer.id], inputs: rl.inputs, inShapes: rl.inShapes, out: rl.out }),
  fusion: { postOp: false },
  executesAs: 'real',
  execute: (s, [x]) => ({ out: gapApply(real(x, s.id)) }),
  slice: (s, r) => ({ ...s, inShapes: r.inShapes, out: withShape(s.out, 1, r.c1 - r.c0) }),
  count: zeroCounts,
  workload: (s) => ({ unit: 'pooling', binary: false, kh: s.inShapes[0].h, kw: s.inShapes[0].w, stride: 1, pad: 0, cin: s.out.c, channelwise: true, ppu: NO_PPU, paramWordsPerChannel: 0 }),
  describe: () => ({ precision: 'fp32', weightBytes: 0 }),
  fast: { family: 'global-avg-pool' },
  train: {
    forward: (_l, [x]) => T.gapForward(x),
    backward: (_l, dy, [x]) => [T.gapBackward(dy, x)],
  },
};
