/** Numeric flag checks shared by the commands: one line naming the flag, what was expected and what was given (exit 2). */
import { UserError } from '../core/diagnostics.ts';

export function numberFlag(flag: string, v: unknown, o: { min?: number; max?: number; int?: boolean; positive?: boolean } = {}): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || (o.int && !Number.isInteger(n)) || (o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max) || (o.positive && !(n > 0))) {
    const range = o.min !== undefined && o.max !== undefined ? ` from ${o.min} to ${o.max}` : o.min !== undefined ? ` >= ${o.min}` : o.max !== undefined ? ` <= ${o.max}` : '';
    throw new UserError('E_FLAG', `--${flag}: expected ${o.int ? 'an integer' : 'a number'}${range}${o.positive ? ' > 0' : ''}, got ${JSON.stringify(v)}`);
  }
  return n;
}
