/**
 * `avgpool`: k x k window average per channel over the in-bounds taps (count_include_pad = false); sums in
 * (ky, kx) order in fp32. Bi-Real Net's downsample shortcut starts with avgpool 2x2/2.
 * Counts: free. Accelerator: the pooling unit.
 */
import * as T from '../kernels/batch-ops.ts';
import { windowPool, type PoolLayer, type PoolStep } from './maxpool.ts';
import type { OpModule } from './types.ts';

export const avgpool: OpModule<PoolLayer, PoolStep> = {
  ...windowPool('avgpool'),
  summary: 'average pooling over the in-bounds taps of a k x k window',
  fast: { family: 'avg-pool' },
  train: {
    forward: (l, [x]) => T.avgPoolForward(x, l).y,
    backward: (l, dy, [x]) => [T.avgPoolBackward(dy, x, l)],
  },
};
