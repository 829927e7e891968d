/**
 * Runs a sweep: the points of a spec (optionally one shard) are evaluated on worker_threads (default: one
 * per core) and appended to a JSONL file as they finish; an existing file of the same sweep is resumed
 * (finished points are skipped, a trailing partial line is dropped).
 *
 * Invariants: every point of the shard ends up in the file exactly once per complete run (resume skips
 * what is there; a point is written only by the main thread, one line per write); the file's point ORDER
 * depends on scheduling but its SET does not, and `merge` (or the report) orders points by index;
 * workers receive small batches from a shared queue (dynamic load balancing: point costs differ).
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { UserError } from '../core/diagnostics.ts';
import { SWEEP_SCHEMA, SweepWriter, lockSweepFile, type SweepHeader, type SweepPoint } from './sweep-file.ts';
import { checkSweepSize, gridPoint, inShard, pointIndexer, pointsInShard, specHash, totalPoints, type Shard, type SweepSpec } from './sweep-spec.ts';
import { makeEvaluator } from './sweep-eval.ts';

export interface SweepRunOptions {
  spec: SweepSpec;
  baseArch: unknown;
  out: string;
  shard: Shard | null;
  /** worker threads; 0 = evaluate on the calling thread */
  workers?: number;
  /** false: overwrite an existing file instead of resuming it */
  resume?: boolean;
  toolVersion: string;
  /** stop after this many newly evaluated points (tests, smoke runs) */
  limit?: number;
  /** refuse a run of more points (default MAX_SWEEP_POINTS) */
  maxPoints?: number;
  onPoint?: (p: SweepPoint, done: number, todo: number) => void;
  /** stop early (Ctrl-C): points already written stay, workers are terminated, the lock is released */
  signal?: AbortSignal;
}
export interface SweepRunResult { total: number; inShard: number; alreadyDone: number; evaluated: number; droppedPartial: boolean; seconds: number; header: SweepHeader; interrupted: boolean }

export function sweepHeader(spec: SweepSpec, baseArch: unknown, shard: Shard | null, toolVersion: string): SweepHeader {
  return { schema: SWEEP_SCHEMA, type: 'header', specHash: specHash(spec, baseArch), spec, baseArch, toolVersion, totalPoints: totalPoints(spec), shard };
}

export async function runSweep(o: SweepRunOptions): Promise<SweepRunResult> {
  const t0 = performance.now();
  checkSweepSize(o.spec, o.spec.name, o.shard, o.limit, o.maxPoints); // before the lock and the file: a refusal leaves nothing
  const header = sweepHeader(o.spec, o.baseArch, o.shard, o.toolVersion);
  const indexOf = pointIndexer(o.spec); // random mode draws its sample here, before anything is written
  const release = lockSweepFile(o.out);
  let opened: ReturnType<typeof SweepWriter.open>;
  try { opened = SweepWriter.open(o.out, header, o.resume ?? true); } catch (e) { release(); throw e; }
  const { writer, done, droppedPartial } = opened;
  // lazy enumeration: point j of this shard -> grid index -> params, decoded when a worker asks for it
  const mine = pointsInShard(header.totalPoints, o.shard);
  let alreadyDone = 0;
  for (const j of done.keys()) if (inShard(j, o.shard)) alreadyDone++;
  const todoCount = Math.min(mine - alreadyDone, o.limit ?? Infinity);
  const step = o.shard?.n ?? 1;
  let j = o.shard ? o.shard.k - 1 : 0, handed = 0;
  const nextPoint = (): PointTask | null => {
    if (handed >= todoCount) return null;
    while (done.has(j)) j += step;
    const p = { index: j, params: gridPoint(o.spec, indexOf(j)) };
    j += step;
    handed++;
    return p;
  };
  let evaluated = 0;
  const record = (p: SweepPoint) => { writer.append(p); evaluated++; o.onPoint?.(p, evaluated, todoCount); };
  try {
    const nw = Math.min(o.workers ?? availableParallelism(), todoCount);
    if (nw <= 0) {
      if (todoCount > 0) {
        const ev = makeEvaluator(o.spec, o.baseArch);
        for (let p = nextPoint(); p; p = nextPoint()) { if (o.signal?.aborted) break; record({ type: 'point', index: p.index, params: p.params, ...ev(p.params) }); }
      }
    } else {
      await runOnWorkers(nw, o, nextPoint, record);
    }
  } finally {
    writer.close();
    release();
  }
  return { total: header.totalPoints, inShard: mine, alreadyDone, evaluated, droppedPartial, seconds: (performance.now() - t0) / 1000, header, interrupted: !!o.signal?.aborted && evaluated < todoCount };
}

type PointTask = { index: number; params: Record<string, unknown> };

function runOnWorkers(nw: number, o: SweepRunOptions, nextPoint: () => PointTask | null, record: (p: SweepPoint) => void): Promise<void> {
  const batch = 2;
  let exhausted = false;
  return new Promise<void>((resolve, reject) => {
    const workers: Worker[] = [];
    let live = nw, failed = false;
    const fail = (e: unknown) => { if (failed) return; failed = true; for (const w of workers) void w.terminate(); reject(e); };
    o.signal?.addEventListener('abort', () => { if (failed) return; failed = true; for (const w of workers) void w.terminate(); resolve(); }, { once: true });
    const feed = (w: Worker) => {
      const points: PointTask[] = [];
      while (!exhausted && points.length < batch) { const p = nextPoint(); if (p) points.push(p); else exhausted = true; }
      if (points.length === 0) { live--; void w.terminate(); if (live === 0 && !failed) resolve(); return; }
      w.postMessage({ points });
    };
    for (let i = 0; i < nw; i++) {
      const w = new Worker(new URL('./sweep-worker.mjs', import.meta.url), { workerData: { spec: o.spec, baseArch: o.baseArch } });
      workers.push(w);
      w.on('message', (m: { ready?: boolean; result?: SweepPoint; batchDone?: boolean; error?: string }) => {
        if (failed) return;
        if (m.error) { fail(new Error(`sweep worker: ${m.error}`)); return; }
        if (m.result) { try { record(m.result); } catch (e) { fail(e); } return; }
        if (m.ready || m.batchDone) feed(w);
      });
      w.on('error', (e) => fail(isUserErrorLike(e) ? new UserError(e.code, e.message, { file: e.file, path: e.jsonPath, hint: e.hint }) : e));
      w.on('exit', (code) => { if (code !== 0 && !failed && !exhausted) fail(new Error(`sweep worker exited with code ${code}`)); });
    }
  });
}

/** A UserError thrown in a worker arrives as a plain Error with its own properties copied (structured clone). */
function isUserErrorLike(e: unknown): e is Error & { code: string; file?: string; jsonPath?: string; hint?: string } {
  return !!e && typeof (e as { code?: unknown }).code === 'string' && (e as Error).name === 'UserError';
}
