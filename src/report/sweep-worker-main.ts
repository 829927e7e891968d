/**
 * Sweep worker body: builds one evaluator from {spec, baseArch} (workerData), then answers each batch
 * {points: [{index, params}]} with one {result: SweepPoint} message per finished point (so the main thread
 * can append it at once) and a final {batchDone: true}. Stateless between batches apart from the lowered
 * plan, so any batch can go to any worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { makeEvaluator } from './sweep-eval.ts';
import type { SweepPoint } from './sweep-file.ts';

const evaluate = makeEvaluator(workerData.spec, workerData.baseArch);
parentPort!.on('message', (m: { points: { index: number; params: Record<string, unknown> }[] }) => {
  try {
    for (const p of m.points) {
      const result: SweepPoint = { type: 'point', index: p.index, params: p.params, ...evaluate(p.params) };
      parentPort!.postMessage({ result });
    }
    parentPort!.postMessage({ batchDone: true });
  } catch (e) {
    parentPort!.postMessage({ error: String((e as Error)?.stack ?? e) });
  }
});
parentPort!.postMessage({ ready: true });
