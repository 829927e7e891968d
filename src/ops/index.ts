/**
 * The op registry: every IR op kind and its module (ops/types.ts OpModule). Adding an op = its module, its
 * test, and one line here.
 */
import { UserError, didYouMeanHint } from '../core/diagnostics.ts';
import type { ExecStep, Layer, OpModule } from './types.ts';
import { conv } from './conv.ts';
import { bconv } from './bconv.ts';
import { sign } from './sign.ts';
import { bn } from './bn.ts';
import { add } from './add.ts';
import { avgpool } from './avgpool.ts';
import { maxpool } from './maxpool.ts';
import { gap } from './gap.ts';
import { fc } from './fc.ts';
import { actscale } from './actscale.ts';
import { relu } from './relu.ts';
import { clip } from './clip.ts';
import { rsign } from './rsign.ts';
import { rprelu } from './rprelu.ts';

// each module is typed for its own layer and step records; the registry hands them out by name
const MODULES = [conv, bconv, sign, bn, add, avgpool, maxpool, gap, fc, actscale, relu, clip, rsign, rprelu] as unknown as OpModule[];

const OPS = new Map<string, OpModule>(MODULES.map((m) => [m.op, m]));

/** IR op names in registration order. */
export const OP_NAMES: readonly string[] = MODULES.map((m) => m.op);

export function hasOp(name: string): boolean { return OPS.has(name); }

/** The module of an op (internal invariant: the IR was validated, so the op exists). */
export function opModule(name: string): OpModule {
  const m = OPS.get(name);
  if (!m) throw new Error(`op registry: no op '${name}'`);
  return m;
}

/** The module owning a layer or a lowered step. */
export function opOf(x: Layer | ExecStep): OpModule { return opModule(x.op); }

/** A user-facing lookup (e.g. an op named in a file): E_UNKNOWN_OP with "did you mean". */
export function requireOp(name: string, where: { file?: string; path?: string }): OpModule {
  const m = OPS.get(name);
  if (!m) throw new UserError('E_UNKNOWN_OP', `unknown op '${name}'`, { ...where, hint: didYouMeanHint(name, OP_NAMES) });
  return m;
}
