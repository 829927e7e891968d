/**
 * Body of one data-parallel training replica (replicas.ts has the scheme): builds the same TrainNet as the
 * main thread with its weights viewing the shared buffer, its BN running statistics and gradients in its
 * own shared buffers, and answers 'step' (forward + backward of a shard) and 'eval' (inference forward)
 * requests. It never writes the shared weights.
 */
import { parentPort } from 'node:worker_threads';
import { resolveNetwork } from '../ir/validate.ts';
import { initGemm, type GemmBackendName } from '../kernels/batch-fast.ts';
import { TrainNet } from './net.ts';
import { softmaxCrossEntropy } from '../kernels/batch-ops.ts';
import { bt } from '../kernels/batch.ts';
import { viewsOf, type ReplicaReply, type ReplicaRequest, type SharedLayout } from './replicas.ts';

let tn: TrainNet | null = null;
let layout: SharedLayout | null = null;
let statsIn: Float32Array | null = null;
let stats: Float32Array | null = null;

function loadStats(): void { stats!.set(statsIn!.subarray(0, layout!.statFloats)); }

async function handle(m: ReplicaRequest): Promise<ReplicaReply> {
  switch (m.op) {
    case 'init': {
      // the main thread's compiled kernel module: nothing is assembled or compiled again here
      await initGemm(m.gemm as GemmBackendName, m.kernels);
      tn = new TrainNet(resolveNetwork(m.workload), m.cfg);
      layout = m.layout; statsIn = m.statsIn; stats = m.stats;
      for (const [k, v] of viewsOf(m.params, m.layout.params)) tn.params.set(k, v);
      for (const [k, v] of viewsOf(m.stats, m.layout.stats)) tn.params.set(k, v);
      for (const [k, v] of viewsOf(m.grads, m.layout.grads)) tn.grads.set(k, v);
      return { ok: true };
    }
    case 'step': {
      const net = tn!;
      net.cfg = m.cfg;
      loadStats();
      const { h, w, c } = net.net.input;
      net.zeroGrad();
      const logits = net.forward(bt(m.n, h, w, c, m.input.subarray(0, m.n * h * w * c)), true);
      const ce = softmaxCrossEntropy(logits, m.labels, m.smoothing, m.normaliser);
      net.backward(ce.dlogits);
      return { ok: true, lossSum: ce.loss * m.n, correct: ce.correct };
    }
    case 'eval': {
      const net = tn!;
      net.cfg = m.cfg;
      loadStats();
      const { h, w, c } = net.net.input;
      const y = net.forward(bt(m.n, h, w, c, m.input.subarray(0, m.n * h * w * c)), false);
      m.logits.set(y.data);
      return { ok: true };
    }
  }
}

parentPort!.on('message', (m: ReplicaRequest) => {
  handle(m).then((r) => parentPort!.postMessage(r), (e: Error) => parentPort!.postMessage({ ok: false, error: e.stack ?? e.message } satisfies ReplicaReply));
});
