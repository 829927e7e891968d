/**
 * Sweep result files (JSON Lines, schema "birealsim.sweep/1"): line 1 is a header naming the spec, its
 * hash, the base arch and the shard; every further line is one finished point:
 *   {"type":"point","index":j,"params":{...},"metrics":{...}}   or   {..., "infeasible": "reason"}
 *
 * Invariants:
 *  - a point line is written with ONE write() call of the whole line plus "\n" on an O_APPEND descriptor,
 *    so an interrupted run leaves at most one partial trailing line; readers ignore a trailing line without
 *    "\n" (and `openForResume` truncates it away before appending);
 *  - a malformed COMPLETE line is a user error (the file was edited or corrupted), never skipped silently;
 *  - one writer per file: `<file>.lock` (created with O_EXCL, holding the pid) refuses a second live sweep
 *    on the same file; a lock whose pid is gone is taken over;
 *  - resume requires the same spec hash and shard; merge requires the same spec hash, dedupes by index
 *    (identical duplicates are fine, conflicting ones are an error) and writes points in index order.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { UserError } from '../core/diagnostics.ts';
import { lockPath, writeFileAtomic } from '../core/atomic.ts';
import { paretoFront } from './pareto.ts';
import { resolveArch } from '../sim/arch.ts';
import { areaOf } from '../sim/area.ts';
import type { SweepSection } from './schema.ts';
import { applyPoint, axisNames, validateSpec, type Shard, type SweepSpec } from './sweep-spec.ts';

export const SWEEP_SCHEMA = 'birealsim.sweep/1';

export interface SweepHeader {
  schema: typeof SWEEP_SCHEMA;
  type: 'header';
  specHash: string;
  spec: SweepSpec;
  baseArch: unknown;
  toolVersion: string;
  totalPoints: number;
  shard: Shard | null;
}
export interface PointMetrics {
  latencyCycles: number;
  latencySeconds: number;
  energyJoules: number;
  onChipBytes: number;
  /** total silicon area (sim/area.ts, DRAM PHY excluded); absent in files written before the area model (then recomputed from the header's base arch and the point's params) */
  areaMm2?: number;
  dramBytes: number;
  framesPerSecond?: number;
  utilisation?: number;
}
export interface SweepPoint { type: 'point'; index: number; params: Record<string, unknown>; metrics?: PointMetrics; infeasible?: string }
export interface SweepFile { header: SweepHeader; points: SweepPoint[]; partialTail: boolean; validBytes: number }

function err(file: string, line: number, msg: string, hint?: string): UserError {
  return new UserError('E_SWEEP_FILE', msg, { file, path: `line ${line}`, hint: hint ?? 'sweep files are written by `birealsim sweep`; re-run it to regenerate' });
}

export function parseSweepText(text: string, file: string): SweepFile {
  const end = text.lastIndexOf('\n') + 1;
  const partialTail = end < text.length;
  const lines = text.slice(0, end).split('\n');
  lines.pop();
  if (lines.length === 0) throw err(file, 1, 'no complete header line', 'the sweep was interrupted before it wrote its header; run it again');
  let header: SweepHeader;
  try { header = JSON.parse(lines[0]); } catch (e) { throw err(file, 1, `header is not JSON: ${(e as Error).message}`); }
  if (!header || header.schema !== SWEEP_SCHEMA || header.type !== 'header') throw err(file, 1, `expected a header with "schema": "${SWEEP_SCHEMA}"`);
  validateSpec(header.spec, `${file} (header spec)`);
  if (typeof header.specHash !== 'string' || !Number.isInteger(header.totalPoints)) throw err(file, 1, 'header lacks specHash or totalPoints');
  const points: SweepPoint[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '') continue;
    let p: SweepPoint;
    try { p = JSON.parse(lines[i]); } catch (e) { throw err(file, i + 1, `line is not JSON: ${(e as Error).message}`); }
    if (!p || p.type !== 'point' || !Number.isInteger(p.index) || p.index < 0 || p.index >= header.totalPoints) throw err(file, i + 1, `expected a point with an index in [0, ${header.totalPoints})`);
    if (!p.metrics === !p.infeasible) throw err(file, i + 1, 'a point has exactly one of "metrics" and "infeasible"');
    if (p.metrics) for (const k of ['latencySeconds', 'energyJoules', 'onChipBytes'] as const) {
      if (typeof p.metrics[k] !== 'number' || !Number.isFinite(p.metrics[k])) throw err(file, i + 1, `metrics.${k} must be a finite number`);
    }
    if (p.metrics && p.metrics.areaMm2 !== undefined && (typeof p.metrics.areaMm2 !== 'number' || !Number.isFinite(p.metrics.areaMm2) || p.metrics.areaMm2 < 0)) throw err(file, i + 1, 'metrics.areaMm2 must be a finite number >= 0');
    points.push(p);
  }
  return { header, points, partialTail, validBytes: Buffer.byteLength(text.slice(0, end)) };
}

export function readSweepFile(file: string): SweepFile {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) {
    throw new UserError('E_IO', `cannot read sweep file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
  return parseSweepText(text, file);
}

/** Takes `<file>.lock` for this process, or throws if another live process holds it (a dead one's lock is taken over). */
export function lockSweepFile(file: string): () => void {
  return lockPath(file, 'E_SWEEP_LOCKED', 'sweep');
}

/** An append-only writer: one write() per line. */
export class SweepWriter {
  private constructor(private fd: number) {}
  /** Creates (or replaces) the file with a header line, or resumes it: returns the indices already done. */
  static open(file: string, header: SweepHeader, resume: boolean): { writer: SweepWriter; done: Map<number, SweepPoint>; droppedPartial: boolean } {
    const done = new Map<number, SweepPoint>();
    let droppedPartial = false;
    if (resume && existsSync(file)) {
      const sf = readSweepFile(file);
      if (sf.header.specHash !== header.specHash) throw new UserError('E_SWEEP_RESUME', `existing file is a different sweep (spec hash ${sf.header.specHash.slice(0, 12)}, this one ${header.specHash.slice(0, 12)})`, { file, path: 'line 1', hint: 'use another --out, or --restart to overwrite it' });
      if (JSON.stringify(sf.header.shard) !== JSON.stringify(header.shard)) throw new UserError('E_SWEEP_RESUME', `existing file is shard ${fmtShard(sf.header.shard)}, this run is ${fmtShard(header.shard)}`, { file, path: 'line 1.shard', hint: 'resume with the same --shard, or use another --out' });
      for (const p of sf.points) done.set(p.index, p);
      const fd = openSync(file, 'r+');
      if (sf.partialTail) { ftruncateSync(fd, sf.validBytes); droppedPartial = true; }
      closeSync(fd);
      return { writer: new SweepWriter(openSync(file, 'a')), done, droppedPartial };
    }
    writeFileAtomic(file, JSON.stringify(header) + '\n');
    return { writer: new SweepWriter(openSync(file, 'a')), done, droppedPartial };
  }
  append(p: SweepPoint): void {
    const buf = Buffer.from(JSON.stringify(p) + '\n', 'utf8');
    const n = writeSync(this.fd, buf, 0, buf.length);
    if (n !== buf.length) throw new Error(`short write to sweep file (${n} of ${buf.length} bytes)`);
  }
  close(): void { closeSync(this.fd); }
}
const fmtShard = (s: Shard | null) => (s ? `${s.k}/${s.n}` : 'none (whole sweep)');

/** Joins shard files of one sweep: same spec hash required; dedupe by index; points in index order. */
export function mergeSweepFiles(files: string[]): { header: SweepHeader; points: SweepPoint[]; duplicates: number; missing: number } {
  if (files.length === 0) throw new UserError('E_ARG', 'give at least one sweep file to merge', { path: 'files' });
  const parsed = files.map((f) => ({ f, sf: readSweepFile(f) }));
  const first = parsed[0];
  const byIndex = new Map<number, { p: SweepPoint; f: string }>();
  let duplicates = 0;
  for (const { f, sf } of parsed) {
    if (sf.header.specHash !== first.sf.header.specHash) throw new UserError('E_SWEEP_MERGE', `spec hash ${sf.header.specHash.slice(0, 12)} differs from ${first.f}'s ${first.sf.header.specHash.slice(0, 12)}`, { file: f, path: 'line 1.specHash', hint: 'only shards of the same sweep spec (and base arch) can be merged' });
    for (const p of sf.points) {
      const prev = byIndex.get(p.index);
      if (prev) {
        if (JSON.stringify(prev.p) !== JSON.stringify(p)) throw new UserError('E_SWEEP_MERGE', `point ${p.index} differs from the one in ${prev.f}`, { file: f, path: `point ${p.index}`, hint: 'the same point evaluated twice gave different results: were the files produced by different tool versions?' });
        duplicates++;
      } else byIndex.set(p.index, { p, f });
    }
  }
  const points = [...byIndex.values()].map((x) => x.p).sort((a, b) => a.index - b.index);
  const header: SweepHeader = { ...first.sf.header, shard: null };
  return { header, points, duplicates, missing: header.totalPoints - points.length };
}

export function sweepText(header: SweepHeader, points: SweepPoint[]): string {
  return [header, ...points].map((x) => JSON.stringify(x) + '\n').join('');
}

/**
 * Total area of a point: its metrics.areaMm2, or (a file written before the area model) the area of the arch
 * the point describes, recomputed from the header's base arch and the point's params (the arch alone
 * determines area, so this is the number the sweep would have written).
 */
function pointAreaMm2(sf: SweepFile, p: SweepPoint, input: string): number {
  if (p.metrics!.areaMm2 !== undefined) return p.metrics!.areaMm2;
  try {
    return areaOf(resolveArch(applyPoint(sf.header.baseArch, p.params), `${input} point ${p.index}`)).totalMm2;
  } catch (e) {
    throw new UserError('E_SWEEP_FILE', `point ${p.index} has no metrics.areaMm2 and its arch cannot be rebuilt from the header: ${(e as Error).message}`, { file: input, path: `point ${p.index}`, hint: 're-run the sweep with this version to record area' });
  }
}

/** The report section of a sweep: feasible points with the 3-objective (latency, energy, area) Pareto flag, sorted by index. */
export function summariseSweep(sf: SweepFile, input: string): SweepSection {
  const seen = new Map<number, SweepPoint>();
  for (const p of sf.points) seen.set(p.index, p);
  const all = [...seen.values()].sort((a, b) => a.index - b.index);
  const feasible = all.filter((p) => p.metrics);
  const areas = feasible.map((p) => pointAreaMm2(sf, p, input));
  const front = new Set(paretoFront(feasible.map((p, i) => [p.metrics!.latencySeconds, p.metrics!.energyJoules, areas[i]])));
  const reasons = new Map<string, number>();
  for (const p of all) if (p.infeasible) reasons.set(p.infeasible, (reasons.get(p.infeasible) ?? 0) + 1);
  return {
    input, name: sf.header.spec.name, workload: sf.header.spec.workload, specHash: sf.header.specHash, axes: axisNames(sf.header.spec),
    totalPoints: sf.header.totalPoints, evaluated: all.length, infeasible: all.length - feasible.length,
    infeasibleReasons: [...reasons].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5).map(([reason, count]) => ({ reason, count })),
    points: feasible.map((p, i) => ({ index: p.index, params: p.params, latencySeconds: p.metrics!.latencySeconds, energyJoules: p.metrics!.energyJoules, areaMm2: areas[i], onChipBytes: p.metrics!.onChipBytes, pareto: front.has(i) })),
  };
}
