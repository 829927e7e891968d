/**
 * `birealsim eval <model>`: test-set accuracy of a model. A latent model is evaluated by the trainer in the
 * deployed 1-bit regime (BN running statistics); a deployable model by the golden model. `--golden` also
 * runs the golden model on a latent model (lowered through the same deploy conversion) and reports agreement.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { UserError } from '../core/diagnostics.ts';
import { loadModel } from '../ir/model.ts';
import { trainNetFor } from '../train/export.ts';
import { evaluate } from '../train/trainer.ts';
import { goldenPredictions } from '../golden/evaluate.ts';
import { changedPredictions } from '../data/classify.ts';
import { checkCompatible, loadDatasetFlags, setupGemm } from './train.ts';
import { KERNEL_NAMES, readyKernels } from './kernels.ts';
import { emit, toJson } from './io.ts';

interface EvalArgs { model: string; dataset?: string; data?: string; json?: boolean; golden?: boolean; kernels: string; gemm: string }

export const evalCommand = {
  command: 'eval <model>',
  describe: 'test-set accuracy of a trained (latent) or exported (deployable) model',
  builder: (y: Argv) => y
    .positional('model', { type: 'string', describe: 'model .safetensors' })
    .option('dataset', { type: 'string', describe: 'mnist | fashion-mnist | idx:DIR (default: the one in the model metadata)' })
    .option('data', { type: 'string', describe: 'IDX dataset directory' })
    .option('golden', { type: 'boolean', describe: 'also evaluate a latent model with the golden model' })
    .option('kernels', { type: 'string', default: 'default', describe: `golden kernel set: ${KERNEL_NAMES.join(' | ')}` })
    .option('gemm', { type: 'string', default: 'wasm-simd', describe: 'trainer GEMM back end' })
    .option('json', { type: 'boolean', describe: 'print the result as JSON' }),
  handler: async (argv: ArgumentsCamelCase<EvalArgs>) => {
    const model = loadModel(argv.model);
    const dsName = argv.dataset ?? (argv.data ? undefined : model.meta.dataset);
    if (!dsName && !argv.data) throw new UserError('E_DATA', 'no dataset given and none recorded in the model', { hint: 'use --dataset mnist|fashion-mnist|idx:DIR' });
    const ds = loadDatasetFlags({ dataset: dsName, data: argv.data });
    checkCompatible(model.net, ds);
    const r: Record<string, unknown> = { model: argv.model, kind: model.kind, network: model.net.workload.name, dataset: ds.name, testImages: ds.test.n };
    let trainerPreds: Int32Array | null = null;
    if (model.kind === 'latent') {
      await setupGemm(argv.gemm, () => {});
      const t0 = performance.now();
      const ev = await evaluate(trainNetFor(model), ds, ds.test);
      trainerPreds = ev.predictions;
      Object.assign(r, { trainerAccuracy: ev.accuracy, trainerLoss: ev.loss, trainerSeconds: (performance.now() - t0) / 1000 });
    }
    if (model.kind === 'deployable' || argv.golden) {
      const g = await goldenPredictions(model, ds, await readyKernels(argv.kernels));
      Object.assign(r, { goldenAccuracy: g.accuracy, goldenSeconds: g.seconds });
      if (trainerPreds) r.changedPredictions = changedPredictions(g.predictions, trainerPreds);
    }
    if (argv.json) { emit(toJson(r)); return; }
    const lines = [`${argv.model} (${model.kind}, ${model.net.workload.name}) on ${ds.name} test (${ds.test.n} images)`];
    if (r.trainerAccuracy !== undefined) lines.push(`trainer accuracy: ${(100 * (r.trainerAccuracy as number)).toFixed(2)}%`);
    if (r.goldenAccuracy !== undefined) lines.push(`golden accuracy: ${(100 * (r.goldenAccuracy as number)).toFixed(2)}%`);
    if (r.changedPredictions !== undefined) lines.push(`changed predictions trainer vs golden: ${r.changedPredictions}`);
    emit(lines.join('\n'));
  },
};
