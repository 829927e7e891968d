/** Numeric flag checks shared by the commands: one line naming the flag, what was expected and what was given (exit 2). */
import { UserError } from '../core/diagnostics.ts';
import { parseImageCount, type ImageCount } from '../data/sample.ts';

export function numberFlag(flag: string, v: unknown, o: { min?: number; max?: number; int?: boolean; positive?: boolean } = {}): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || (o.int && !Number.isInteger(n)) || (o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max) || (o.positive && !(n > 0))) {
    const range = o.min !== undefined && o.max !== undefined ? ` from ${o.min} to ${o.max}` : o.min !== undefined ? ` >= ${o.min}` : o.max !== undefined ? ` <= ${o.max}` : '';
    throw new UserError('E_FLAG', `--${flag}: expected ${o.int ? 'an integer' : 'a number'}${range}${o.positive ? ' > 0' : ''}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** `--images N|all` (verify, formats): a positive integer or the word all. */
export function imagesFlag(v: unknown, flag = 'images'): ImageCount {
  const c = parseImageCount(v);
  if (c === undefined) throw new UserError('E_FLAG', `--${flag}: expected a positive integer or 'all', got ${JSON.stringify(v)}`, { hint: `for example --${flag} 200 (a class-balanced sample) or --${flag} all` });
  return c;
}
