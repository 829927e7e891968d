/**
 * Sweep specification (schema "birealsim.sweep-spec/1") and the deterministic list of points it denotes.
 *
 *   { "schema": "birealsim.sweep-spec/1", "name": "...", "workload": "bireal18-imagenet", "arch": "edge",
 *     "mode": "grid" | "random", "samples": 1200, "seed": 1,
 *     "axes": { "peArray.rows": [8, 16, 32], "buffers.*.capacity": ["32 KiB", "64 KiB"], "clock": ["500 MHz"] } }
 *
 * An axis is a dotted path into the architecture spec (birealsim.arch/1); `*` matches every key of the
 * base spec at that level (e.g. all four buffers). A point is one value per axis, applied as a patch on the
 * base arch spec.
 *
 * Invariants:
 *  - axes are enumerated in sorted-name order; grid index g decodes mixed-radix with the LAST sorted axis
 *    fastest, so the point list depends only on the spec (not on key order in the file);
 *  - random mode draws `samples` DISTINCT grid indices with a seeded partial Fisher-Yates shuffle over
 *    [0, gridSize) (sparse map, O(samples)); point j is the j-th draw, so a prefix of a longer sample is a
 *    shorter sample with the same seed;
 *  - shard k/n owns the points j with j mod n = k-1: deterministic, disjoint, covering;
 *  - the spec hash is sha256 over canonical JSON (sorted keys) of {spec, base arch spec}: shards and resumed
 *    runs must agree on it.
 */
import { createHash } from 'node:crypto';
import { UserError, didYouMeanHint } from '../core/diagnostics.ts';
import { Rng } from '../core/rng.ts';

export const SWEEP_SPEC_SCHEMA = 'birealsim.sweep-spec/1';

export interface SweepSpec {
  schema: typeof SWEEP_SPEC_SCHEMA;
  name: string;
  workload: string;
  arch: string;
  mode: 'grid' | 'random';
  samples?: number;
  seed?: number;
  axes: Record<string, (string | number | boolean)[]>;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const SPEC_KEYS = ['$schema', 'schema', 'name', 'workload', 'arch', 'mode', 'samples', 'seed', 'axes', 'description'];

/** Validates a parsed sweep spec. */
export function validateSpec(raw: unknown, file: string): SweepSpec {
  const err = (path: string, msg: string, hint?: string) => new UserError('E_SWEEP_SPEC', msg, { file, path, hint });
  if (!isObj(raw)) throw err('$', 'expected a JSON object', `a sweep spec starts with {"schema": "${SWEEP_SPEC_SCHEMA}", ...}`);
  for (const k of Object.keys(raw)) if (!SPEC_KEYS.includes(k)) throw err(`$.${k}`, `unknown key '${k}'`, didYouMeanHint(k, SPEC_KEYS));
  if (raw.schema !== SWEEP_SPEC_SCHEMA) throw err('$.schema', `expected "${SWEEP_SPEC_SCHEMA}", got ${JSON.stringify(raw.schema)}`);
  for (const k of ['name', 'workload', 'arch']) if (typeof raw[k] !== 'string' || !(raw[k] as string).length) throw err(`$.${k}`, `expected a non-empty string, got ${JSON.stringify(raw[k])}`);
  if (raw.mode !== 'grid' && raw.mode !== 'random') throw err('$.mode', `expected "grid" or "random", got ${JSON.stringify(raw.mode)}`, typeof raw.mode === 'string' ? didYouMeanHint(raw.mode, ['grid', 'random']) : undefined);
  if (raw.mode === 'random') {
    if (!Number.isInteger(raw.samples) || (raw.samples as number) < 1 || (raw.samples as number) > MAX_SWEEP_POINTS) throw err('$.samples', `random mode needs an integer samples in [1, ${MAX_SWEEP_POINTS}], got ${JSON.stringify(raw.samples)}`);
    if (!Number.isInteger(raw.seed) || (raw.seed as number) < 0 || (raw.seed as number) > 0xffffffff) throw err('$.seed', `random mode needs an integer seed in [0, 2^32), got ${JSON.stringify(raw.seed)}`);
  } else if (raw.samples !== undefined) throw err('$.samples', "'samples' applies to mode \"random\" only", 'grid mode evaluates every combination');
  if (!isObj(raw.axes) || Object.keys(raw.axes).length === 0) throw err('$.axes', 'expected an object with at least one axis', 'e.g. "axes": {"peArray.rows": [8, 16, 32]}');
  for (const [k, vals] of Object.entries(raw.axes)) {
    if (!/^[A-Za-z*][\w*]*(\.[A-Za-z*][\w*]*)*$/.test(k)) throw err(`$.axes["${k}"]`, `axis '${k}' is not a dotted path into the arch spec`, 'e.g. "peArray.rows", "dram.bandwidth", "buffers.*.capacity"');
    if (!Array.isArray(vals) || vals.length === 0) throw err(`$.axes["${k}"]`, 'expected a non-empty array of values');
    vals.forEach((v, i) => { if (!['string', 'number', 'boolean'].includes(typeof v)) throw err(`$.axes["${k}"][${i}]`, `expected a string, number or boolean, got ${JSON.stringify(v)}`); });
    if (new Set(vals.map((v) => JSON.stringify(v))).size !== vals.length) throw err(`$.axes["${k}"]`, 'axis values must be distinct');
  }
  return raw as unknown as SweepSpec;
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

export function specHash(spec: SweepSpec, baseArch: unknown): string {
  // "$schema" only points editors at schemas/*.json: it is not part of what a sweep evaluates, so hashes
  // (and resumable results) stay the same whether or not a file carries it
  const strip = (v: unknown): unknown => (typeof v === 'object' && v !== null && !Array.isArray(v) && '$schema' in v) ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== '$schema')) : v;
  return createHash('sha256').update(canonicalJson({ spec: strip(spec), baseArch: strip(baseArch) })).digest('hex');
}

export function axisNames(spec: SweepSpec): string[] { return Object.keys(spec.axes).sort(); }

/**
 * Largest number of points one run evaluates (the points of its shard, after --limit). Grids are never
 * materialised (points are decoded from their index), but a run of more points than this would take days
 * and its result file gigabytes: such specs are refused up front with a hint (--shard, --limit, random mode).
 */
export const MAX_SWEEP_POINTS = 10_000_000;

/**
 * Number of grid points: the product of the axis lengths, as a float (exact up to 2^53, which is all an
 * index can address; beyond that it is only compared and printed, and may be Infinity).
 */
export function gridSize(spec: SweepSpec): number {
  return axisNames(spec).reduce((a, k) => a * spec.axes[k].length, 1);
}

export function totalPoints(spec: SweepSpec): number {
  const g = gridSize(spec);
  return spec.mode === 'grid' ? g : Math.min(g, spec.samples!);
}

/** Points j < total with j mod n = k-1 (all of them without a shard). */
export function pointsInShard(total: number, shard: Shard | null): number {
  if (!shard) return total;
  return total > shard.k - 1 ? Math.floor((total - shard.k) / shard.n) + 1 : 0;
}

const fmtCount = (x: number) => (x < 1e15 ? String(x) : x.toExponential(2));

/**
 * Refuses, before anything is written or locked, a sweep whose points cannot be indexed (more than 2^53) or
 * whose run (this shard, after --limit) would evaluate more than MAX_SWEEP_POINTS points.
 */
export function checkSweepSize(spec: SweepSpec, file: string, shard: Shard | null, limit?: number, maxPoints = MAX_SWEEP_POINTS): void {
  const g = gridSize(spec);
  const axes = axisNames(spec).map((k) => `${k} (${spec.axes[k].length})`).join(' x ');
  const err = (msg: string, hint: string) => new UserError('E_SWEEP_SIZE', msg, { file, path: '$.axes', hint });
  if (g > Number.MAX_SAFE_INTEGER) {
    throw err(`grid of ${fmtCount(g)} points (${axes}) is too large to index (maximum 2^53)`, spec.mode === 'grid' ? `use "mode": "random" with "samples" (at most ${MAX_SWEEP_POINTS}) over fewer axis values, or fewer axis values` : 'random samples are drawn from an indexed grid: use fewer axis values');
  }
  const run = Math.min(pointsInShard(totalPoints(spec), shard), limit ?? Infinity);
  if (run > maxPoints) {
    throw err(`grid of ${fmtCount(g)} points (${axes}) means ${fmtCount(run)} points in this run, more than the maximum of ${maxPoints}${maxPoints === MAX_SWEEP_POINTS ? '' : ' (--max-points)'}`, `use "mode": "random" with "samples" to sample it, evaluate part of it with --limit N or --shard k/n (n >= ${Math.ceil(run / maxPoints)}), or raise the limit with --max-points ${run}`);
  }
}

/** Parameters of grid index g (mixed radix, last sorted axis fastest). */
export function gridPoint(spec: SweepSpec, g: number): Record<string, string | number | boolean> {
  const names = axisNames(spec);
  const out: Record<string, string | number | boolean> = {};
  for (let i = names.length - 1; i >= 0; i--) {
    const vals = spec.axes[names[i]];
    out[names[i]] = vals[g % vals.length];
    g = Math.floor(g / vals.length);
  }
  return Object.fromEntries(names.map((n) => [n, out[n]]));
}

/**
 * Point j -> grid index, without materialising the grid: identity in grid mode; in random mode the seeded
 * distinct sample (samples <= MAX_SWEEP_POINTS, drawn once, O(samples)).
 */
export function pointIndexer(spec: SweepSpec): (j: number) => number {
  if (spec.mode === 'grid') return (j) => j;
  const gi = gridIndices(spec);
  return (j) => gi[j];
}

/** Grid indices of the random sample (points 0..samples-1): a seeded partial Fisher-Yates draw. */
export function gridIndices(spec: SweepSpec): number[] {
  const g = gridSize(spec);
  const n = totalPoints(spec);
  if (spec.mode === 'grid') {
    if (n > MAX_SWEEP_POINTS) throw new UserError('E_SWEEP_SIZE', `grid of ${fmtCount(n)} points is too large to list`, { path: '$.axes', hint: 'enumerate it lazily (pointIndexer)' });
    return Array.from({ length: n }, (_, i) => i);
  }
  if (g > Number.MAX_SAFE_INTEGER) throw new UserError('E_SWEEP_SPEC', `grid of ${fmtCount(g)} points is too large to sample`, { path: '$.axes', hint: 'use fewer axis values' });
  const rng = new Rng(spec.seed!);
  const swapped = new Map<number, number>();
  const out: number[] = [];
  for (let j = 0; j < n; j++) {
    const r = j + Math.floor(rng.uniform() * (g - j));
    const vr = swapped.get(r) ?? r, vj = swapped.get(j) ?? j;
    swapped.set(r, vj);
    swapped.set(j, vr);
    out.push(vr);
  }
  return out;
}

export interface Shard { k: number; n: number }
export function parseShard(s: string | undefined): Shard | null {
  if (s === undefined) return null;
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m || +m[2] < 1 || +m[1] < 1 || +m[1] > +m[2]) throw new UserError('E_ARG', `--shard must be k/n with 1 <= k <= n, got '${s}'`, { path: '--shard', hint: 'e.g. --shard 1/4 ... --shard 4/4' });
  return { k: +m[1], n: +m[2] };
}
export function inShard(j: number, shard: Shard | null): boolean { return !shard || j % shard.n === shard.k - 1; }

/** Applies one point's values to a base arch spec (deep copy), expanding `*` over the base's keys. */
/**
 * Run axes: what a point runs besides the arch (names without a dot that are not arch keys). A single-valued
 * run axis is a setting for the whole sweep. Defaults: the spec's workload, batch 1, objective 'cycles',
 * fusion 'none', real-stream format 'fp32' (the plan's; the arch's realStream precision is an arch axis).
 */
export const RUN_AXES = ['workload', 'batch', 'objective', 'fusion', 'realFormat'] as const;
export type RunAxis = (typeof RUN_AXES)[number];
export const isRunAxis = (axis: string): axis is RunAxis => (RUN_AXES as readonly string[]).includes(axis);

/** A point's run settings (run axes) apart from its arch patch (every other axis). */
export function splitPoint(params: Record<string, unknown>): { arch: Record<string, unknown>; run: Partial<Record<RunAxis, unknown>> } {
  const arch: Record<string, unknown> = {}, run: Partial<Record<RunAxis, unknown>> = {};
  for (const [k, v] of Object.entries(params)) { if (isRunAxis(k)) run[k] = v; else arch[k] = v; }
  return { arch, run };
}

/** The base arch spec with a point's arch axes applied (run axes are not arch keys and are skipped). */
export function applyPoint(base: unknown, params: Record<string, unknown>): unknown {
  const out = structuredClone(base) as Json;
  for (const [path, value] of Object.entries(params)) if (!isRunAxis(path)) setPath(out, path.split('.'), value, path);
  return out;
}
function setPath(o: Json, parts: string[], value: unknown, full: string): void {
  const [head, ...rest] = parts;
  const keys = head === '*' ? Object.keys(o) : [head];
  for (const k of keys) {
    if (rest.length === 0) { o[k] = value; continue; }
    if (!isObj(o[k])) {
      if (o[k] !== undefined) throw new UserError('E_SWEEP_SPEC', `axis '${full}' goes through '${k}', which is not an object in the base arch`, { path: `$.axes["${full}"]` });
      o[k] = {};
    }
    setPath(o[k] as Json, rest, value, full);
  }
}
