/**
 * Golden-model evaluation on a dataset: the lowered plan run one image at a time (as deployed), through the
 * one evaluation loop (data/classify.ts), optionally in a real-stream format and on the first `images` test
 * images. Used by `eval`, `export` (re-checking the written file), `formats` and the same-bits baseline.
 */
import type { RealFormat } from '../core/realformat.ts';
import { tensor } from '../core/tensor.ts';
import { classifySplit, type Classification } from '../data/classify.ts';
import type { Dataset } from '../data/datasets.ts';
import type { Model } from '../ir/model.ts';
import type { KernelSet } from '../kernels/types.ts';
import { lower } from './plan.ts';
import { runPlan } from './run.ts';

export interface GoldenEvalOptions {
  /** real-stream format of the lowered plan (default fp32) */
  realFormat?: RealFormat;
  /** evaluate only the first N test images (default: all) */
  images?: number;
  /** called with each image's logits (index, logits; the array is the run's own) */
  onLogits?: (index: number, logits: Float32Array) => void;
}

/** Golden predictions of a model on a dataset's test split; `kernels` must be loaded (kernels/wasm.ts). */
export async function goldenPredictions(model: Model, ds: Dataset, kernels: KernelSet, opts: GoldenEvalOptions = {}): Promise<Classification & { seconds: number }> {
  const plan = lower(model, { realFormat: opts.realFormat });
  const img = ds.h * ds.w * ds.c;
  const t0 = performance.now();
  const r = await classifySplit(ds, ds.test, (x, _labels, start) => {
    let out: Float32Array | null = null;
    for (let b = 0; b < x.n; b++) {
      const { logits } = runPlan(plan, tensor(ds.h, ds.w, ds.c, x.data.slice(b * img, (b + 1) * img)), { kernels });
      opts.onLogits?.(start + b, logits);
      out ??= new Float32Array(x.n * logits.length);
      out.set(logits, b * logits.length);
    }
    return out ?? new Float32Array(0);
  }, { images: opts.images, batch: 500 });
  return { ...r, seconds: (performance.now() - t0) / 1000 };
}
