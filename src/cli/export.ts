/**
 * `birealsim export <latent model>`: writes a deployable model (exact +-1 packed weights, alpha and BN folded
 * into mul/bias; ir/deploy.ts) and then re-checks WHAT IT WROTE: the file is read back, lowered and run by
 * the golden model (bit-exact XNOR-popcount reference) on the whole test set, and compared with the
 * trainer's own evaluation of the latent model (accuracy difference in points, number of changed
 * predictions; golden/evaluate.ts). Optional BN re-estimation before folding.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { UserError } from '../core/diagnostics.ts';
import { loadModel, saveModel, type Model } from '../ir/model.ts';
import { changedPredictions } from '../data/classify.ts';
import { goldenPredictions } from '../golden/evaluate.ts';
import { exportModel } from '../train/export.ts';
import { checkCompatible, loadDatasetFlags, numberFlag, setupGemm } from './train.ts';
import { KERNEL_NAMES, readyKernels } from './kernels.ts';
import { emit, toJson } from './io.ts';

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
    const { deployable, trainerEval } = await exportModel(latent, ds, { bnBatches, batch: numberFlag('batch', argv.batch, { int: true, min: 1 }), seed: argv.seed, meta: { 'export.source': argv.model } });
    saveModel(argv.out, deployable);
    log(`wrote ${argv.out} (deployable); trainer test accuracy ${(100 * trainerEval.accuracy).toFixed(2)}%`);
    const result: Record<string, unknown> = { out: argv.out, dataset: ds.name, bnReestimationBatches: bnBatches, trainerAccuracy: trainerEval.accuracy };
    if (argv.check) {
      const written = loadModel(argv.out); // check what is on disk, not what is in memory
      const g = await goldenPredictions(written, ds, await readyKernels(argv.kernels));
      const changed = changedPredictions(g.predictions, trainerEval.predictions);
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
