/**
 * A persistent worker_threads pool that runs slices of a wasm kernel call in parallel on the shared
 * WebAssembly.Memory (wasm.ts), so a job message is just a function index and up to 24 integer arguments.
 *
 * Protocol (one Int32Array control block per worker on a SharedArrayBuffer, see pool-worker.mjs):
 *   main writes fn + args, opens the job (STATE = 2*seq), increments SEQ, notifies; the worker takes the
 *   job (CAS STATE 2*seq -> 2*seq+1), runs it, stores DONE = SEQ and notifies; the main thread runs its own
 *   share meanwhile, then cancels every job a worker has not taken yet (CAS STATE 2*seq -> -1: a worker
 *   that was asleep or descheduled is not waited for) and Atomics.wait()s for DONE of the others. Node
 *   allows Atomics.wait on the main thread, which keeps the KernelSet interface synchronous.
 * Chunked jobs (runChunked): a range argument (rows or channel tiles) is cut into a few chunks per
 *   thread; thread t owns a contiguous run of chunks and claims them from the front, and once its own are
 *   done it steals the others' unclaimed chunks from the back (one CAS word per thread: front count in the
 *   low 16 bits, back count in the high 16). On a quiet machine each thread does its own rows (the data it
 *   produced stays in its caches); when another process takes a core, the other thread finishes the work
 *   instead of waiting. Which thread computes a chunk never changes its bytes (chunks write disjoint
 *   outputs), so results stay deterministic.
 * Invariants: one job in flight per worker; slices write disjoint outputs; a worker that is still starting
 * is skipped (its slice runs on the main thread), so the first calls never block on worker start-up.
 * Watchdog: the main thread never waits forever. A worker that has not finished its slice within
 * max(watchdogMs, 50 x the main thread's own slice time) (slices are equal shares of one kernel call, so a
 * live worker takes about as long as the main thread) is declared dead: the call throws an error naming
 * the worker and the kernel, and the worker is never given work again (later calls run without it).
 * Kernel exceptions inside a worker are caught there and reported as errors of the call (STATUS).
 * Back-off: when the main thread had to wait long for a worker that had taken a job (it was descheduled
 *   while holding a chunk: another process is using the cores), calls run on the main thread alone for a
 *   while, then the workers are tried again; the pause doubles (10 ms up to 160 ms) while stalls keep
 *   coming and returns to 10 ms after a split call without one. On a busy 2-core machine this keeps split
 *   calls from waiting scheduler time slices for stalled workers; on a quiet one it does not trigger, and
 *   after a transient stall it costs at most a few tens of milliseconds of single-threaded work.
 * Workers are unref()ed: the pool never keeps a process alive; close() terminates them explicitly.
 *
 * The worker is a plain .mjs file (it needs no TypeScript), so it runs the same under node, tsx and vitest.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { kernelModule, memory } from './wasm.ts';

const SEQ = 0, DONE = 1, FN = 2, STATUS = 3, READY = 4, NARGS = 5, STATE = 6, ARGS = 8, MAX_ARGS = 24;
// chunked jobs: range argument index (-1 = plain job), range length, unit, chunk count, thread count, own index
const CH_ARG = 32, CH_TOTAL = 33, CH_UNIT = 34, CH_N = 35, CH_THREADS = 36, CH_SELF = 37;
const BLOCK_INTS = 40;
/** A wait for a worker longer than this (and than half the main thread's own share) triggers the back-off. */
const LATE_MS = 0.3;
const BACKOFF_MS = 10, BACKOFF_MAX_MS = 160;
/** Chunks per thread in a chunked job (steal granularity). */
const CHUNKS_PER_THREAD = 4;
const MAX_THREADS = 64;

/** Chunk c of k over `units` units of `unit` rows each, clipped to `total` rows: [lo, hi). */
export function chunkRange(c: number, k: number, total: number, unit: number): [number, number] {
  const units = Math.ceil(total / unit);
  return [Math.floor((units * c) / k) * unit, Math.min(total, Math.floor((units * (c + 1)) / k) * unit)];
}
/** Claims one chunk of thread t's run of `size` chunks: from the front (owner) or the back (thief); -1 when none is left. */
function claim(claims: Int32Array, t: number, size: number, fromBack: boolean): number {
  for (;;) {
    const w = Atomics.load(claims, t);
    const f = w & 0xffff, b = (w >>> 16) & 0xffff;
    if (f + b >= size) return -1;
    if (Atomics.compareExchange(claims, t, w, fromBack ? w + 0x10000 : w + 1) === w) return fromBack ? size - 1 - b : f;
  }
}
/** Runs the chunks of a chunked job as thread `self` of `n`: its own first, then the others' (see header). */
function runChunks(claims: Int32Array, self: number, n: number, k: number, exec: (c: number) => void): void {
  const own = (t: number) => [Math.floor((k * t) / n), Math.floor((k * (t + 1)) / n)] as const;
  for (let d = 0; d < n; d++) {
    const t = (self + d) % n, [lo, hi] = own(t);
    for (let i; (i = claim(claims, t, hi - lo, d > 0)) >= 0;) exec(lo + i);
  }
}
/** Busy-wait before sleeping on a futex (ms); also used by the worker (pool-worker.mjs). */
const SPIN_MS = 0.1;

interface Slot { worker: Worker; ctrl: Int32Array; seq: number; exited: boolean; error?: string; index: number }
/** READY is set by the worker itself in shared memory: message events never arrive while the main thread
 * is inside a synchronous inference, the flag is visible at once. */
const isReady = (s: Slot) => !s.exited && Atomics.load(s.ctrl, READY) === 1;

export class KernelPool {
  private slots: Slot[] = [];
  private readonly fnIndexes: Map<string, number>;
  private readyPromise: Promise<void>;
  private closed = false;

  private readonly watchdogMs: number;
  /** counters for benchmarks: worker jobs posted, cancelled before a worker took them, ms the main thread waited */
  readonly stats = { posted: 0, cancelled: 0, waitMs: 0, backoffs: 0 };
  /** workers are not used before this time (performance.now() ms) */
  private backoffUntil = 0;
  private backoffMs = BACKOFF_MS;
  /** per-thread chunk claim words of the current chunked job (shared with every worker) */
  private readonly claims = new Int32Array(new SharedArrayBuffer(MAX_THREADS * 4));

  /** Starts `workers` threads (the main thread is the extra one: threads = workers + 1). */
  constructor(readonly workers: number, private readonly mainFns: Record<string, (...a: number[]) => void>, opts: { watchdogMs?: number } = {}) {
    this.watchdogMs = opts.watchdogMs ?? 10_000;
    if (workers + 1 > MAX_THREADS) throw new Error(`KernelPool: at most ${MAX_THREADS} threads`);
    const names = Object.keys(mainFns);
    this.fnIndexes = new Map(names.map((n, i) => [n, i]));
    const readies: Promise<void>[] = [];
    for (let w = 0; w < workers; w++) {
      const ctrl = new Int32Array(new SharedArrayBuffer(BLOCK_INTS * 4));
      const worker = new Worker(new URL('./pool-worker.mjs', import.meta.url), { workerData: { module: kernelModule(), memory, ctrl, names, claims: this.claims } });
      const slot: Slot = { worker, ctrl, seq: 0, exited: false, index: w + 1 };
      readies.push(new Promise<void>((resolve, reject) => {
        worker.on('message', (m: { ready?: boolean; error?: string }) => {
          if (m.ready) { worker.unref(); resolve(); }
          if (m.error) slot.error = m.error;
        });
        worker.on('error', (e) => { slot.error = String(e); slot.exited = true; reject(e); });
        worker.on('exit', () => { slot.exited = true; resolve(); });
      }));
      // the worker stays ref()ed until it reports ready (so awaiting ready() keeps the process alive), then
      // is unref()ed (after the listeners were attached: attaching one refs the worker again)
      this.slots.push(slot);
    }
    this.readyPromise = Promise.all(readies).then(() => undefined);
    this.readyPromise.catch(() => undefined);
  }

  /** Resolves once every worker has instantiated the kernels (benchmarks wait for this). */
  ready(): Promise<void> { return this.readyPromise; }

  /** Number of threads a call can use right now (main + ready workers). */
  get threads(): number { return 1 + this.slots.filter(isReady).length; }

  /**
   * Runs `fn` once per argument list: list 0 on the main thread, the others on ready workers (any list
   * without a ready worker runs on the main thread too). Returns when all have finished.
   */
  run(fn: string, argLists: number[][]): void {
    const idx = this.fnIndex(fn);
    const posted: Slot[] = [], local: number[][] = [argLists[0]];
    for (let i = 1; i < argLists.length; i++) {
      const s = this.nextReady(posted);
      if (!s) { local.push(argLists[i]); continue; }
      this.post(s, idx, argLists[i], -1, 0, 0, 0, 0, 0);
      posted.push(s);
    }
    const f = this.mainFns[fn];
    this.finish(fn, posted, () => { for (const args of local) f(...args); }, false);
  }

  /**
   * Runs `fn` over the range [0, total) held at args[rangeArg], args[rangeArg + 1], cut into chunks at
   * multiples of `unit` and shared between the main thread and the ready workers (see header).
   */
  runChunked(fn: string, args: number[], rangeArg: number, total: number, unit: number): void {
    const idx = this.fnIndex(fn);
    const posted: Slot[] = [];
    for (let s; posted.length + 1 < this.slots.length + 1 && (s = this.nextReady(posted));) posted.push(s);
    const n = posted.length + 1;
    const k = Math.min(n * CHUNKS_PER_THREAD, Math.ceil(total / unit));
    for (let t = 0; t < n; t++) Atomics.store(this.claims, t, 0);
    posted.forEach((s, i) => this.post(s, idx, args, rangeArg, total, unit, k, n, i + 1));
    const f = this.mainFns[fn];
    const a = args.slice();
    this.finish(fn, posted, () => runChunks(this.claims, 0, n, k, (c) => {
      [a[rangeArg], a[rangeArg + 1]] = chunkRange(c, k, total, unit);
      f(...a);
    }), true);
  }

  private fnIndex(fn: string): number {
    const idx = this.fnIndexes.get(fn);
    if (idx === undefined) throw new Error(`KernelPool: unknown kernel ${fn}`);
    return idx;
  }
  private nextReady(taken: Slot[]): Slot | undefined {
    if (this.closed || (this.backoffUntil > 0 && performance.now() < this.backoffUntil)) return undefined;
    return this.slots.find((s) => isReady(s) && !taken.includes(s));
  }
  private post(s: Slot, idx: number, args: number[], chArg: number, total: number, unit: number, k: number, n: number, self: number): void {
    if (args.length > MAX_ARGS) throw new Error(`KernelPool: ${args.length} arguments, at most ${MAX_ARGS}`);
    const c = s.ctrl;
    c[FN] = idx;
    c[NARGS] = args.length;
    for (let a = 0; a < args.length; a++) c[ARGS + a] = args[a];
    c[CH_ARG] = chArg; c[CH_TOTAL] = total; c[CH_UNIT] = unit; c[CH_N] = k; c[CH_THREADS] = n; c[CH_SELF] = self;
    s.seq++;
    Atomics.store(c, STATE, 2 * s.seq); // open: the worker may take it
    Atomics.store(c, SEQ, s.seq);
    Atomics.notify(c, SEQ);
  }

  /** Runs the main thread's share, then cancels untaken jobs (chunked: their chunks were stolen) and waits for the rest. */
  private finish(fn: string, posted: Slot[], mine: () => void, cancellable: boolean): void {
    let firstError: unknown;
    const t0 = performance.now();
    try { mine(); } catch (e) { firstError = e; }
    const t1 = performance.now();
    const deadline = t1 + Math.max(this.watchdogMs, 50 * (t1 - t0));
    this.stats.posted += posted.length;
    for (const s of posted) {
      // a chunked job the worker has not taken yet: its chunks are all done (stolen), do not wait for it
      if (cancellable && Atomics.compareExchange(s.ctrl, STATE, 2 * s.seq, -1) === 2 * s.seq) { this.stats.cancelled++; continue; }
      // the worker's share usually ends within microseconds of ours: spin briefly, then sleep
      const until = performance.now() + SPIN_MS;
      while (Atomics.load(s.ctrl, DONE) !== s.seq && performance.now() < until);
      let done = true;
      for (;;) {
        const d = Atomics.load(s.ctrl, DONE);
        if (d === s.seq) break;
        const left = deadline - performance.now();
        if (left <= 0) { done = false; break; }
        Atomics.wait(s.ctrl, DONE, d, left);
      }
      if (!done) {
        s.exited = true; // never used again (a late DONE would belong to this abandoned job)
        firstError ??= new Error(`KernelPool: worker ${s.index} did not finish kernel ${fn} within ${Math.round(deadline - t1)} ms (the main thread's share took ${(t1 - t0).toFixed(1)} ms): the worker died or hung; later calls run without it${s.error ? `; its last error: ${s.error}` : ''}`);
        continue;
      }
      if (Atomics.load(s.ctrl, STATUS) !== 0) firstError ??= new Error(`KernelPool: ${fn} failed in a worker${s.error ? `: ${s.error}` : ''}`);
    }
    const waited = performance.now() - t1;
    this.stats.waitMs += waited;
    if (waited > LATE_MS && waited > 0.5 * (t1 - t0)) {
      this.backoffUntil = performance.now() + this.backoffMs;
      this.backoffMs = Math.min(BACKOFF_MAX_MS, 2 * this.backoffMs);
      this.stats.backoffs++;
    } else if (posted.length > 0) { this.backoffMs = BACKOFF_MS; this.backoffUntil = 0; }
    if (firstError) throw firstError;
  }

  /** Terminates worker `i` (1-based) without telling the pool: lets tests check the watchdog. */
  terminateWorkerForTest(i: number): Promise<number> { return this.slots[i - 1].worker.terminate(); }

  /** Terminates the workers; later calls run on the main thread only. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots) s.exited = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = [];
  }
}

/** Threads the fast kernels use by default: BIREALSIM_THREADS, else all available cores. */
export function defaultThreads(): number {
  const env = Number(process.env.BIREALSIM_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, availableParallelism());
}
