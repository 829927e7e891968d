/**
 * A persistent worker_threads pool that runs slices of a wasm kernel call in parallel on the shared
 * WebAssembly.Memory (wasm.ts), so a job message is just a function index and up to 24 integer arguments.
 *
 * Protocol (one Int32Array control block per worker on a SharedArrayBuffer, see pool-worker.mjs):
 *   main writes fn + args, increments SEQ, notifies; the worker runs the function, stores DONE = SEQ and
 *   notifies; the main thread runs its own slice meanwhile and then Atomics.wait()s for DONE. Node allows
 *   Atomics.wait on the main thread, which keeps the KernelSet interface synchronous.
 * Invariants: one job in flight per worker; slices write disjoint outputs; a worker that is still starting
 * is skipped (its slice runs on the main thread), so the first calls never block on worker start-up.
 * Watchdog: the main thread never waits forever. A worker that has not finished its slice within
 * max(watchdogMs, 50 x the main thread's own slice time) (slices are equal shares of one kernel call, so a
 * live worker takes about as long as the main thread) is declared dead: the call throws an error naming
 * the worker and the kernel, and the worker is never given work again (later calls run without it).
 * Kernel exceptions inside a worker are caught there and reported as errors of the call (STATUS).
 * Workers are unref()ed: the pool never keeps a process alive; close() terminates them explicitly.
 *
 * The worker is a plain .mjs file (it needs no TypeScript), so it runs the same under node, tsx and vitest.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { kernelModule, memory } from './wasm.ts';

const SEQ = 0, DONE = 1, FN = 2, STATUS = 3, READY = 4, NARGS = 5, ARGS = 8, MAX_ARGS = 24;
const BLOCK_INTS = ARGS + MAX_ARGS;
/** Busy-wait before sleeping on a futex (ms); also used by the worker (pool-worker.mjs). */
const SPIN_MS = 0.1;

interface Slot { worker: Worker; ctrl: Int32Array; seq: number; exited: boolean; error?: string; index: number }
/** READY is set by the worker itself in shared memory: message events never arrive while the main thread
 * is inside a synchronous inference, the flag is visible at once. */
const isReady = (s: Slot) => !s.exited && Atomics.load(s.ctrl, READY) === 1;

export class KernelPool {
  private slots: Slot[] = [];
  private readonly fnIndex: Map<string, number>;
  private readyPromise: Promise<void>;
  private closed = false;

  private readonly watchdogMs: number;

  /** Starts `workers` threads (the main thread is the extra one: threads = workers + 1). */
  constructor(readonly workers: number, private readonly mainFns: Record<string, (...a: number[]) => void>, opts: { watchdogMs?: number } = {}) {
    this.watchdogMs = opts.watchdogMs ?? 10_000;
    const names = Object.keys(mainFns);
    this.fnIndex = new Map(names.map((n, i) => [n, i]));
    const readies: Promise<void>[] = [];
    for (let w = 0; w < workers; w++) {
      const ctrl = new Int32Array(new SharedArrayBuffer(BLOCK_INTS * 4));
      const worker = new Worker(new URL('./pool-worker.mjs', import.meta.url), { workerData: { module: kernelModule, memory, ctrl, names } });
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
    const idx = this.fnIndex.get(fn);
    if (idx === undefined) throw new Error(`KernelPool: unknown kernel ${fn}`);
    const local: number[][] = [argLists[0]];
    const posted: Slot[] = [];
    let next = 0;
    for (let i = 1; i < argLists.length; i++) {
      while (next < this.slots.length && !isReady(this.slots[next])) next++;
      if (next >= this.slots.length || this.closed) { local.push(argLists[i]); continue; }
      const s = this.slots[next++];
      const args = argLists[i];
      if (args.length > MAX_ARGS) throw new Error(`KernelPool: ${args.length} arguments, at most ${MAX_ARGS}`);
      s.ctrl[FN] = idx;
      s.ctrl[NARGS] = args.length;
      for (let a = 0; a < args.length; a++) s.ctrl[ARGS + a] = args[a];
      s.seq++;
      Atomics.store(s.ctrl, SEQ, s.seq);
      Atomics.notify(s.ctrl, SEQ);
      posted.push(s);
    }
    let firstError: unknown;
    const t0 = performance.now();
    try {
      const f = this.mainFns[fn];
      for (const args of local) f(...args);
    } catch (e) { firstError = e; }
    const t1 = performance.now();
    const deadline = t1 + Math.max(this.watchdogMs, 50 * (t1 - t0));
    for (const s of posted) {
      // the worker's slice usually ends within microseconds of ours: spin briefly, then sleep
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
        firstError ??= new Error(`KernelPool: worker ${s.index} did not finish kernel ${fn} within ${Math.round(deadline - t1)} ms (the main thread's slice took ${(t1 - t0).toFixed(1)} ms): the worker died or hung; later calls run without it${s.error ? `; its last error: ${s.error}` : ''}`);
        continue;
      }
      if (Atomics.load(s.ctrl, STATUS) !== 0) firstError ??= new Error(`KernelPool: ${fn} failed in a worker${s.error ? `: ${s.error}` : ''}`);
    }
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
