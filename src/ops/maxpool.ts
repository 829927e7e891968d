/**
 * `maxpool`: k x k window maximum per channel (padding ignored). Bi-Real Net's stem ends with maxpool 3x3/2.
 * Counts: free. Accelerator: the pooling unit, one tap operation per window tap per output element.
 */
import * as T from '../kernels/batch-ops.ts';
import { NO_PPU, poolApply, real, windowLabel, windowOut, withShape, zeroCounts } from './common.ts';
import type { ExecStep, Layer, OpModule } from './types.ts';

export interface PoolLayer extends Layer { kernel: number; stride: number; pad: number }
export interface PoolStep extends ExecStep { kernel: number; stride: number; pad: number }

/** The parts maxpool and avgpool share (keys, shapes, lowering, tiles, workload). */
export function windowPool(op: 'maxpool' | 'avgpool'): Omit<OpModule<PoolLayer, PoolStep>, 'summary' | 'fast' | 'train'> {
  return {
    op,
    arity: 1,
    inputDtypes: ['real'],
    keys: {
      kernel: { type: 'int', min: 1, doc: 'square window size' },
      stride: { type: 'int', min: 1, doc: 'stride' },
      pad: { type: 'int', min: 0, default: 0, doc: 'padding on every side (not counted in the window)' },
    },
    infer: (l, [x], fail) => ({ h: windowOut(l.kernel, l.stride, l.pad, x.h, 'height', fail), w: windowOut(l.kernel, l.stride, l.pad, x.w, 'width', fail), c: x.c, dtype: 'real' }),
    lower: (rl) => ({ id: rl.layer.id, op, layers: [rl.layer.id], inputs: rl.inputs, inShapes: rl.inShapes, out: rl.out, kernel: rl.layer.kernel, stride: rl.layer.stride, pad: rl.layer.pad }),
    fusion: { postOp: false },
    executesAs: 'real',
    execute: (s, [x], k) => ({ out: (k.ops?.pool ?? poolApply)(real(x, s.id), op, s.kernel, s.stride, s.pad) }),
    slice: (s, r) => ({ ...s, inShapes: r.inShapes, out: withShape(s.out, r.outH, r.c1 - r.c0) }),
    count: zeroCounts,
    workload: (s) => ({ unit: 'pooling', binary: false, kh: s.kernel, kw: s.kernel, stride: s.stride, pad: s.pad, cin: s.out.c, channelwise: true, ppu: NO_PPU, paramWordsPerChannel: 0 }),
    describe: (s) => ({ precision: 'fp32', weightBytes: 0, window: windowLabel(s.kernel, s.stride, s.pad) }),
  };
}

export const maxpool: OpModule<PoolLayer, PoolStep> = {
  ...windowPool('maxpool'),
  summary: 'max pooling over a k x k window (padding ignored)',
  fast: { family: 'max-pool' },
  train: {
    forward: (l, [x], c) => { const r = T.maxPoolForward(x, l); if (c.training) c.saved.ctx = r.ctx; return r.y; },
    backward: (_l, dy, _xs, c) => [T.maxPoolBackward(dy, c.saved.ctx as T.MaxPoolCtx)],
  },
};
