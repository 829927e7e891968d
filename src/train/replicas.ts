/**
 * Synchronous data-parallel training on worker threads (the scheme of PyTorch DistributedDataParallel
 * without SyncBatchNorm, Goyal et al. 2017 "ghost" batch statistics): a batch of N images is cut into R
 * contiguous shards; replica 0 is the calling thread's TrainNet, replicas 1..R-1 are TrainNets of the same
 * network in worker threads. Each replica runs forward + backward on its shard, then the calling thread
 * sums the gradients and updates the weights once (the optimiser is unchanged).
 *
 * What is shared and what is not:
 *  - weights and BN affine parameters live in ONE SharedArrayBuffer: workers read the weights the main
 *    thread updated, with no copy per step. Nobody writes them during a step (the update runs after every
 *    replica finished), so there is no race.
 *  - each worker writes its gradients into its own shared buffer; the main thread adds them to its own in
 *    replica order (fixed summation order: results are deterministic for a given R).
 *  - BN running statistics: every replica starts a step from the same values (the main thread copies them to
 *    `statsIn` before posting) and applies its own momentum update with its shard's batch statistics; the
 *    main thread then sets running = (sum over replicas) / R, i.e. one momentum step with the mean of the
 *    shard statistics.
 *
 * Exactness: the loss gradient of each shard is divided by the FULL batch size (softmaxCrossEntropy's
 * `normaliser`), so the summed gradient is the full-batch mean gradient; the only change from R = 1 is that
 * BN normalises with per-shard statistics (as on multi-GPU training without SyncBN). R is a training option
 * (stored in checkpoints), so a run with a given seed and R is reproducible byte for byte.
 */
import { Worker } from 'node:worker_threads';
import type { Workload } from '../ir/types.ts';
import type { NetConfig, TrainNet } from './net.ts';
import { softmaxCrossEntropy } from '../kernels/batch-ops.ts';
import { kernelModule } from '../kernels/wasm.ts';
import { bt, type BT } from '../kernels/batch.ts';

export interface SharedLayout {
  /** weights and BN affine parameters, in one Float32 SharedArrayBuffer */
  params: { name: string; offset: number; length: number }[];
  /** BN running statistics (per replica) */
  stats: { name: string; offset: number; length: number }[];
  /** trainable tensors (gradients, per replica) */
  grads: { name: string; offset: number; length: number }[];
  paramFloats: number; statFloats: number; gradFloats: number;
}

export function isRunningStat(name: string): boolean { return name.endsWith('.running_mean') || name.endsWith('.running_var'); }

/** Lays a TrainNet's tensors out in flat buffers (map order, which is the IR layer order). */
export function sharedLayout(tn: TrainNet): SharedLayout {
  const L: SharedLayout = { params: [], stats: [], grads: [], paramFloats: 0, statFloats: 0, gradFloats: 0 };
  for (const [name, a] of tn.params) {
    if (isRunningStat(name)) { L.stats.push({ name, offset: L.statFloats, length: a.length }); L.statFloats += a.length; }
    else { L.params.push({ name, offset: L.paramFloats, length: a.length }); L.paramFloats += a.length; }
  }
  for (const [name, g] of tn.grads) { L.grads.push({ name, offset: L.gradFloats, length: g.length }); L.gradFloats += g.length; }
  return L;
}

export function sharedF32(n: number): Float32Array { return new Float32Array(new SharedArrayBuffer(Math.max(1, n) * 4)); }

/** Views of `buf` named by a layout section. */
export function viewsOf(buf: Float32Array, section: SharedLayout['params']): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  for (const e of section) m.set(e.name, buf.subarray(e.offset, e.offset + e.length));
  return m;
}

/** Messages main -> worker */
export type ReplicaRequest =
  | { op: 'init'; workload: Workload; cfg: NetConfig; layout: SharedLayout; params: Float32Array; statsIn: Float32Array; stats: Float32Array; grads: Float32Array; gemm: string; kernels?: WebAssembly.Module }
  | { op: 'step'; cfg: NetConfig; input: Float32Array; n: number; labels: Uint8Array; smoothing: number; normaliser: number }
  | { op: 'eval'; cfg: NetConfig; input: Float32Array; n: number; logits: Float32Array };
/** Messages worker -> main */
export type ReplicaReply = { ok: true; lossSum?: number; correct?: number } | { ok: false; error: string };

interface WorkerSlot { worker: Worker; stats: Float32Array; grads: Float32Array; input: Float32Array; pending: ((r: ReplicaReply) => void) | null; failed: string | null }

/** Shard r of N items over R replicas: [start, end). */
export function shardRange(N: number, R: number, r: number): [number, number] {
  return [Math.floor((N * r) / R), Math.floor((N * (r + 1)) / R)];
}

export class Replicas {
  readonly count: number;
  private readonly tn: TrainNet;
  private readonly layout: SharedLayout;
  private readonly statsIn: Float32Array;
  private readonly slots: WorkerSlot[] = [];
  private logitsBuf: Float32Array = sharedF32(1);

  private constructor(tn: TrainNet, count: number, layout: SharedLayout, statsIn: Float32Array) {
    this.tn = tn; this.count = count; this.layout = layout; this.statsIn = statsIn;
  }

  /**
   * Moves tn's weights into shared memory (values unchanged; tn.params entries become views) and starts
   * count-1 workers, each building the same network. `gemm` is the worker's float GEMM back end; with
   * 'wasm-simd' the workers instantiate this thread's compiled kernel module (loadKernels() must have run).
   */
  static async start(tn: TrainNet, count: number, gemm: string): Promise<Replicas> {
    if (!Number.isInteger(count) || count < 1) throw new Error(`replicas: count must be a positive integer, got ${count}`);
    const layout = sharedLayout(tn);
    const params = sharedF32(layout.paramFloats);
    for (const e of layout.params) { params.set(tn.params.get(e.name)!, e.offset); tn.params.set(e.name, params.subarray(e.offset, e.offset + e.length)); }
    const rep = new Replicas(tn, count, layout, sharedF32(layout.statFloats));
    try {
      for (let r = 1; r < count; r++) {
        const worker = new Worker(new URL('./replica-worker.mjs', import.meta.url));
        const slot: WorkerSlot = { worker, stats: sharedF32(layout.statFloats), grads: sharedF32(layout.gradFloats), input: sharedF32(1), pending: null, failed: null };
        worker.on('message', (m: ReplicaReply) => { const p = slot.pending; slot.pending = null; p?.(m); });
        const fail = (why: string) => { slot.failed = why; const p = slot.pending; slot.pending = null; p?.({ ok: false, error: why }); };
        worker.on('error', (e) => fail(`replica ${r} failed: ${e.message}`));
        worker.on('exit', (code) => { if (!slot.failed) fail(`replica ${r} exited (code ${code})`); });
        rep.slots.push(slot);
        await rep.call(slot, { op: 'init', workload: tn.net.workload, cfg: tn.cfg, layout, params, statsIn: rep.statsIn, stats: slot.stats, grads: slot.grads, gemm, kernels: gemm === 'wasm-simd' ? kernelModule() : undefined });
      }
    } catch (e) {
      await rep.close();
      throw e;
    }
    return rep;
  }

  private call(slot: WorkerSlot, msg: ReplicaRequest): Promise<ReplicaReply> {
    if (slot.failed) return Promise.reject(new Error(slot.failed));
    return new Promise((resolve, reject) => {
      slot.pending = (r) => (r.ok ? resolve(r) : reject(new Error(r.error)));
      slot.worker.postMessage(msg);
    });
  }

  private copyStatsIn(): void {
    for (const e of this.layout.stats) this.statsIn.set(this.tn.params.get(e.name)!, e.offset);
  }

  private shardInput(slot: WorkerSlot, x: BT, a: number, b: number): Float32Array {
    const img = x.h * x.w * x.c;
    if (slot.input.length < (b - a) * img) slot.input = sharedF32((b - a) * img);
    slot.input.set(x.data.subarray(a * img, b * img));
    return slot.input;
  }

  /**
   * One forward + backward over the batch on all replicas. Afterwards tn.grads holds the full-batch mean
   * gradient and tn's running statistics the replica-averaged update. Returns the mean loss and #correct.
   */
  async trainStep(x: BT, labels: Uint8Array, smoothing: number): Promise<{ loss: number; correct: number }> {
    const N = x.n, R = this.count, img = x.h * x.w * x.c, tn = this.tn;
    if (N < R) throw new Error(`replicas: a batch of ${N} cannot be split over ${R} replicas`);
    this.copyStatsIn();
    const replies: Promise<ReplicaReply>[] = [];
    for (let r = 1; r < R; r++) {
      const [a, b] = shardRange(N, R, r);
      const slot = this.slots[r - 1];
      replies.push(this.call(slot, { op: 'step', cfg: tn.cfg, input: this.shardInput(slot, x, a, b), n: b - a, labels: labels.slice(a, b), smoothing, normaliser: N }));
    }
    const [a0, b0] = shardRange(N, R, 0);
    tn.zeroGrad();
    const logits = tn.forward(bt(b0 - a0, x.h, x.w, x.c, x.data.subarray(a0 * img, b0 * img)), true);
    const ce = softmaxCrossEntropy(logits, labels.subarray(a0, b0), smoothing, N);
    tn.backward(ce.dlogits);
    let lossSum = ce.loss * (b0 - a0), correct = ce.correct;
    const done = await Promise.all(replies);
    for (let r = 1; r < R; r++) {
      const d = done[r - 1] as { lossSum: number; correct: number };
      lossSum += d.lossSum; correct += d.correct;
      const slot = this.slots[r - 1];
      for (const e of this.layout.grads) {
        const g = tn.grads.get(e.name)!, s = slot.grads;
        for (let i = 0; i < e.length; i++) g[i] += s[e.offset + i];
      }
    }
    if (R > 1) {
      for (const e of this.layout.stats) {
        const m = tn.params.get(e.name)!;
        for (let i = 0; i < e.length; i++) {
          let s = m[i];
          for (const slot of this.slots) s += slot.stats[e.offset + i];
          m[i] = s / R;
        }
      }
    }
    return { loss: lossSum / N, correct };
  }

  /** Inference forward (BN running statistics) of a batch across replicas; returns the logits of all rows. */
  async forwardEval(x: BT): Promise<BT> {
    const N = x.n, R = this.count, img = x.h * x.w * x.c, tn = this.tn;
    this.copyStatsIn();
    const [a0, b0] = shardRange(N, R, 0);
    const calls: Promise<ReplicaReply>[] = [];
    let classes = -1;
    const outs: { a: number; b: number; off: number }[] = [];
    if (R === 1 || N < R) return tn.forward(x, false); // (a tiny last batch is not worth splitting)
    const outShape = tn.net.byId.get(tn.net.output)!.out;
    classes = outShape.h * outShape.w * outShape.c;
    if (this.logitsBuf.length < N * classes) this.logitsBuf = sharedF32(N * classes);
    for (let r = 1; r < R; r++) {
      const [a, b] = shardRange(N, R, r);
      const slot = this.slots[r - 1];
      outs.push({ a, b, off: a * classes });
      calls.push(this.call(slot, { op: 'eval', cfg: tn.cfg, input: this.shardInput(slot, x, a, b), n: b - a, logits: this.logitsBuf.subarray(a * classes, b * classes) }));
    }
    const mine = tn.forward(bt(b0 - a0, x.h, x.w, x.c, x.data.subarray(a0 * img, b0 * img)), false);
    await Promise.all(calls);
    const all = new Float32Array(N * classes);
    all.set(mine.data, a0 * classes);
    for (const o of outs) all.set(this.logitsBuf.subarray(o.off, o.b * classes), o.off);
    return bt(N, outShape.h, outShape.w, outShape.c, all);
  }

  async close(): Promise<void> {
    const ws = this.slots.splice(0);
    for (const s of ws) s.failed = s.failed ?? 'closed';
    await Promise.all(ws.map((s) => s.worker.terminate()));
  }
}
