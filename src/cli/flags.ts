/**
 * Numeric flags, one mechanism for every command: FLAG_RULES says what each numeric flag accepts (integer or
 * real, range, allowed values), `checkNumericFlags` (a yargs middleware in main.ts, run before any command's
 * handler) checks every flag the user gave against it, and `numberFlag` is the one check (library callers such
 * as trainOptionsFrom use it directly). A value outside its rule is one line naming the flag, what was expected
 * and what was given (E_FLAG, exit 2). test/cli/flags.test.ts checks that every `type: 'number'` option
 * declared under src/cli has a rule here.
 */
import { UserError } from '../core/diagnostics.ts';
import { parseImageCount, type ImageCount } from '../data/sample.ts';

export interface FlagRule { min?: number; max?: number; int?: boolean; positive?: boolean; oneOf?: readonly number[] }

export function numberFlag(flag: string, v: unknown, o: FlagRule = {}): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n) || (o.int && !Number.isInteger(n)) || (o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max) || (o.positive && !(n > 0)) || (o.oneOf && !o.oneOf.includes(n))) {
    const range = o.oneOf ? ` (one of ${o.oneOf.join(', ')})` : o.min !== undefined && o.max !== undefined ? ` from ${o.min} to ${o.max}` : o.min !== undefined ? ` >= ${o.min}` : o.max !== undefined ? ` <= ${o.max}` : '';
    throw new UserError('E_FLAG', `--${flag}: expected ${o.int ? 'an integer' : 'a number'}${range}${o.positive ? ' > 0' : ''}, got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`, { hint: Number.isNaN(v) ? 'the value is not a number' : undefined });
  }
  return n;
}

const COUNT = 1e9; // upper bound of image/batch counts: above any dataset this tool can hold in memory

/** Every numeric flag of every command, by its kebab-case name. The same name means the same thing everywhere. */
export const FLAG_RULES: Readonly<Record<string, FlagRule>> = Object.freeze({
  seed: { int: true, min: 0, max: 2 ** 32 - 1 }, // core/rng.ts takes seed >>> 0
  seeds: { int: true, min: 1, max: 1000 },
  epochs: { int: true, min: 0, max: 10000 },
  'pre-epochs': { int: true, min: 0, max: 10000 },
  batch: { int: true, min: 1, max: 65536 },
  lr: { positive: true, max: 100 },
  'pre-lr': { positive: true, max: 100 },
  wd: { min: 0, max: 1 },
  'pre-wd': { min: 0, max: 1 },
  momentum: { min: 0, max: 1 },
  gamma: { positive: true, max: 1000 },
  'label-smoothing': { min: 0, max: 1 },
  'crop-pad': { int: true, min: 0, max: 64 },
  'limit-train': { int: true, min: 0, max: COUNT },
  'limit-test': { int: true, min: 0, max: COUNT },
  replicas: { int: true, min: 1, max: 64 },
  workers: { int: true, min: 0, max: 64 },
  limit: { int: true, min: 0, max: 1e15 },
  'max-points': { int: true, min: 1, max: Number.MAX_SAFE_INTEGER },
  'bn-params': { int: true, oneOf: [0, 2, 4] },
  'bn-reestimate': { int: true, min: 0, max: COUNT },
  'check-images': { int: true, min: 0, max: COUNT },
  top: { int: true, min: 1, max: 1e6 },
  'target-fps': { positive: true, max: 1e9 }, // simulate on a dataflow arch
  'min-agreement': { min: 0, max: 1 }, // a fraction: 2 could never pass
  alpha: { positive: true, max: 0.5 }, // significance level of ablate's verdicts
  classes: { int: true, min: 1, max: 1e6 },
  'input-mean': { min: -1e6, max: 1e6 },
  'input-std': { positive: true, max: 1e6 },
});

/** Flags that take `N | all` (a class-balanced sample of N test images, or all of them). */
const IMAGE_COUNT_FLAGS = new Set(['images']);

/** yargs middleware: checks every numeric flag present in argv against FLAG_RULES (and `--images N|all`). */
export function checkNumericFlags(argv: Record<string, unknown>): void {
  for (const [flag, v] of Object.entries(argv)) {
    if (v === undefined) continue;
    if (IMAGE_COUNT_FLAGS.has(flag)) { imagesFlag(v, flag); continue; }
    const rule = Object.hasOwn(FLAG_RULES, flag) ? FLAG_RULES[flag] : undefined;
    if (rule) numberFlag(flag, v, rule);
  }
}

/** `--images N|all` (verify, formats, demo): a positive integer or the word all. */
export function imagesFlag(v: unknown, flag = 'images'): ImageCount {
  const c = parseImageCount(v);
  if (c === undefined) throw new UserError('E_FLAG', `--${flag}: expected a positive integer or 'all', got ${JSON.stringify(v)}`, { hint: `for example --${flag} 200 (a class-balanced sample) or --${flag} all` });
  return c;
}
