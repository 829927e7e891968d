/**
 * Trainer-side export helpers: latent model -> deployable model, with an optional BN re-estimation pass,
 * and the trainer's own evaluation of a latent model. Binarisation and BN folding are NOT redefined here:
 * they come from ir/deploy.ts toDeployable (the one definition shared with the golden model's lowering):
 * exact +-1 weights packed as `weight_bits`, alpha and the following BN folded into mul/bias, evaluated as
 * y = fp32(fp32(mul*acc) + bias).
 * The golden evaluation of what was written lives in the CLI (src/cli/export.ts): train must not import
 * golden (design rule: train is a sibling of golden).
 */
import type { Model } from '../ir/model.ts';
import { toDeployable } from '../ir/deploy.ts';
import type { Dataset } from '../data/datasets.ts';
import { BINARY_CONFIG, TrainNet } from './net.ts';
import { evaluate, reestimateBn, type EvalResult } from './trainer.ts';

/** A TrainNet in the deployed (1-bit) regime holding a latent model's weights. */
export function trainNetFor(model: Model): TrainNet {
  const tn = new TrainNet(model.net, BINARY_CONFIG, 0);
  tn.loadLatent(model);
  return tn;
}

export interface ExportResult { deployable: Model; latent: Model; trainerEval: EvalResult }

/**
 * Builds the deployable model. With bnBatches > 0, BN running statistics are first re-estimated on that
 * many training batches with the binary network (cumulative average, no augmentation).
 */
export async function exportModel(latent: Model, ds: Dataset, o: { bnBatches: number; batch: number; seed: number; meta?: Record<string, string> }): Promise<ExportResult> {
  const tn = trainNetFor(latent);
  let lat = latent;
  if (o.bnBatches > 0) {
    reestimateBn(tn, ds, o.bnBatches, o.batch, o.seed);
    lat = tn.toLatent({ ...latent.meta, 'export.bn_reestimation': `${o.bnBatches} batches of ${o.batch}` });
  }
  const trainerEval = await evaluate(tn, ds, ds.test);
  const dep = toDeployable(lat);
  const deployable: Model = { ...dep, meta: { ...lat.meta, ...o.meta, 'export.trainer_test_accuracy': String(trainerEval.accuracy) } };
  return { deployable, latent: lat, trainerEval };
}
