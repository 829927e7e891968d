/**
 * `birealsim export <latent model>`: writes a deployable model (exact +-1 packed weights, alpha and BN folded
 * into mul/bias; ir/deploy.ts) and then re-checks WHAT IT WROTE: the file is read back, lowered and run by
 * the golden model (bit-exact XNOR-popcount reference) on the whole test set, and compared with the
 * trainer's own evaluation of the latent model (accuracy difference in points, number of changed
 * predictions). Optional BN re-estimation before folding. The golden evaluation lives here (the CLI), not in
 * src/train, because train must not import golden.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { UserError } from '../core/diagnostics.ts';
import { tensor } from '../core/tensor.ts';
import { loadModel, saveModel, type Model } from '../ir/model.ts';
import { lower } from '../golden/plan.ts';
import type { RealFormat } from '../core/realformat.ts';
import { runPlan } from '../golden/run.ts';
import { makeBatch, NO_AUGMENT, type Dataset } from '../train/data.ts';
import { exportModel } from '../train/export.ts';
import { checkCompatible, loadDatasetFlags, numberFlag, setupGemm } from './train.ts';
import { kernelsByName, KERNEL_NAMES, warmKernels } from './kernels.ts';
import { emit, toJson } from './io.ts';

export interface GoldenEvalOptions {
  /** real-stream format of the lowered plan (default fp32) */
  realFormat?: RealFormat;
  /** evaluate only the first N test images (default: all) */
  images?: number;
  /** called with each image's logits (index, logits; the array is the run's own) */
  onLogits?: (index: number, logits: Float32Array) => void;
}

/**
 * Golden predictions of a model on a dataset's test split (one image at a time, as deployed), optionally in
 * a real-stream format and on the first `images` test images; accuracy = correct / images evaluated.
 */
export async function goldenPredictions(model: Model, ds: Dataset, kernelName: string, opts: GoldenEvalOptions = {}): Promise<{ predictions: Int32Array; accuracy: number; correct: number; images: number; seconds: number }> {
  const plan = lower(model, { realFormat: opts.realFormat });
  const kernels = kernelsByName(kernelName);
  await warmKernels(kernels);
  const n = Math.min(opts.images ?? ds.test.n, ds.test.n);
  const preds = new Int32Array(n);
  let correct = 0;
  const t0 = performance.now();
  const chunk = 500, img = ds.h * ds.w * ds.c;
  for (let s = 0; s < n; s += chunk) {
    const idx = Int32Array.from({ length: Math.min(chunk, n - s) }, (_, i) => s + i);
    const { x, labels } = makeBatch(ds, ds.test, idx, NO_AUGMENT, null);
    for (let b = 0; b < idx.length; b++) {
      const { logits } = runPlan(plan, tensor(ds.h, ds.w, ds.c, x.data.slice(b * img, (b + 1) * img)), { kernels });
      opts.onLogits?.(s + b, logits);
      let arg = 0;
      for (let c = 1; c < logits.length; c++) if (logits[c] > logits[arg]) arg = c;
      preds[s + b] = arg;
      if (arg === labels[b]) correct++;
    }
  }
  return { predictions: preds, accuracy: n > 0 ? correct / n : 0, correct, images: n, seconds: (performance.now() - t0) / 1000 };
}

interface ExportArgs { model: string; out: string; dataset?: string; data?: string; bnReestimate: number; batch: number; seed: number; kernels: string; json?: boolean; gemm: string; check: boolean }

export const exportCommand = {
  command: 'export <model>',
  describe: 'write a deployable model (packed +-1 weights, folded BN) and check it with the golden model',
  builder: (y: Argv) => y
    .positional('model', { type: 'string', describe: 'latent model (.safetensors) written by birealsim train' })
    .option('out', { type: 'string', demandOption: true, describe: 'deployable model file to write' })
    .option('dataset', { type: 'string', describe: 'mnist | fashion-mnist | idx:DIR (default: the one in the model metadata)' })
    .option('data', { type: 'string', describe: 'IDX dataset directory' })
    .option('bn-reestimate', { type: 'number', default: 0, describe: 're-estimate BN statistics on N training batches before folding (0 = off)' })
    .option('batch', { type: 'number', default: 100, describe: 'batch size of the BN re-estimation' })
    .option('seed', { type: 'number', default: 1, describe: 'seed of the re-estimation batch order' })
    .option('kernels', { type: 'string', default: 'default', describe: `golden kernel set: ${KERNEL_NAMES.join(' | ')}` })
    .option('check', { type: 'boolean', default: true, describe: 'evaluate the written model with the golden model (--no-check to skip)' })
    .option('gemm', { type: 'string', default: 'wasm-simd', describe: 'trainer GEMM back end' })
    .option('json', { type: 'boolean', describe: 'print the result as JSON' }),
  handler: async (argv: ArgumentsCamelCase<ExportArgs>) => {
    const log = (s: string) => process.stderr.write(`[export] ${s}\n`);
    const latent = loadModel(argv.model);
    if (latent.kind !== 'latent') throw new UserError('E_MODEL', 'export needs a latent model', { file: argv.model, hint: 'this model is already deployable' });
    const dsName = argv.dataset ?? (argv.data ? undefined : latent.meta.dataset);
    if (!dsName && !argv.data) throw new UserError('E_DATA', 'no dataset given and none recorded in the model', { hint: 'use --dataset mnist|fashion-mnist|idx:DIR' });
    await setupGemm(argv.gemm, log);
    const ds = loadDatasetFlags({ dataset: dsName, data: argv.data });
    checkCompatible(latent.net, ds);
    const bnBatches = numberFlag('bn-reestimate', argv.bnReestimate, { int: true, min: 0 });
    const { deployable, trainerEval } = exportModel(latent, ds, { bnBatches, batch: numberFlag('batch', argv.batch, { int: true, min: 1 }), seed: argv.seed, meta: { 'export.source': argv.model } });
    saveModel(argv.out, deployable);
    log(`wrote ${argv.out} (deployable); trainer test accuracy ${(100 * trainerEval.accuracy).toFixed(2)}%`);
    const result: Record<string, unknown> = { out: argv.out, dataset: ds.name, bnReestimationBatches: bnBatches, trainerAccuracy: trainerEval.accuracy };
    if (argv.check) {
      const written = loadModel(argv.out); // check what is on disk, not what is in memory
      const g = await goldenPredictions(written, ds, argv.kernels);
      let changed = 0;
      for (let i = 0; i < g.predictions.length; i++) if (g.predictions[i] !== trainerEval.predictions[i]) changed++;
      Object.assign(result, { goldenAccuracy: g.accuracy, accuracyDifferencePoints: 100 * (g.accuracy - trainerEval.accuracy), changedPredictions: changed, testImages: ds.test.n, goldenSeconds: g.seconds });
    }
    if (argv.json) { emit(toJson(result)); return; }
    const lines = [`exported ${argv.model} -> ${argv.out} (${ds.name} test set, ${ds.test.n} images)`, `trainer accuracy (latent, eval mode): ${(100 * trainerEval.accuracy).toFixed(2)}%`];
    if (argv.check) {
      lines.push(`golden accuracy (deployable file, XNOR-popcount): ${(100 * (result.goldenAccuracy as number)).toFixed(2)}%`);
      lines.push(`difference: ${(result.accuracyDifferencePoints as number).toFixed(2)} points; changed predictions: ${result.changedPredictions} of ${ds.test.n}`);
    }
    emit(lines.join('\n'));
  },
};
