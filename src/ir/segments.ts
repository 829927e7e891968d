/**
 * Independent segments: a one-input layer may start a new segment by giving its own input shape
 * (`"input": {h, w, c}`) instead of reading an earlier layer (`in`). Its input is then an extra network input,
 * a real tensor named `input:<layer id>`, read from DRAM like the network input. This is how a SCALE-Sim
 * topology (interop/scalesim-topology.ts) is expressed: SCALE-Sim simulates every row as its own layer on its
 * own IFMAP, with no data flowing between rows.
 *
 * Invariants: ids beginning with `input:` are reserved for these tensors (ir/validate.ts refuses them as layer
 * ids); a segment input has no data in the workload, so every consumer that needs values (the golden model,
 * the functional simulator) gets them from `segmentInputTensor`: N(0, 1) drawn from a generator seeded by
 * the FNV-1a hash of the tensor name. The values are therefore the same in every run and every backend, and
 * independent of `--seed` (which seeds the network input and random weights).
 */
import { Rng } from '../core/rng.ts';
import { tensor, type Tensor } from '../core/tensor.ts';

export const SEGMENT_INPUT_PREFIX = 'input:';

/** Name of the segment input tensor of layer `id`. */
export function segmentInputName(id: string): string { return SEGMENT_INPUT_PREFIX + id; }

/** A tensor name that is a network input: the network input itself or a segment input. */
export function isNetworkInput(name: string): boolean { return name === 'input' || name.startsWith(SEGMENT_INPUT_PREFIX); }

/** 32-bit FNV-1a of a string (UTF-16 code units), the seed of a segment input's values. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}

/** The values of a segment input (see the header): h x w x c, N(0, 1), seeded by the tensor name. */
export function segmentInputTensor(name: string, shape: { h: number; w: number; c: number }): Tensor {
  const t = tensor(shape.h, shape.w, shape.c);
  new Rng(fnv1a(name)).fillNormal(t.data);
  return t;
}
