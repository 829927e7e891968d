/**
 * ONNX Runtime (npm onnxruntime-node, CPU) as the outside peer of the golden model: runs an .onnx file on
 * test images (normalised as the golden evaluation normalises them, data/datasets.ts makeBatch, NCHW for
 * ONNX) and compares with the golden model's run of a birealsim model on the same images:
 *  - prediction agreement and max |logit difference|;
 *  - per binary activation, the golden model's bit against the sign of ONNX Runtime's pre-activation (the
 *    tensor the ONNX Sign reads, added as an extra graph output), as `verify` compares the trainer's: a bit
 *    that differs is a "flip". The first binary activation of an image where bits flip can only flip where
 *    the pre-activation is within float rounding of 0 (the two compute it in different orders), so the
 *    largest |pre-activation| among those first flips is reported; later layers of that image see different
 *    inputs, so their flips are consequences and only counted;
 *  - which images disagree in prediction, and whether each of them had a flip.
 * Used by test/interop/*.test.ts and by scripts/onnx-agreement.ts (the full-test-set figures).
 */
import * as ort from 'onnxruntime-node';
import { argmax, tensor } from '../../src/core/tensor.ts';
import { makeBatch, NO_AUGMENT, type Dataset } from '../../src/data/datasets.ts';
import { lower } from '../../src/golden/plan.ts';
import { runPlan } from '../../src/golden/run.ts';
import type { Model } from '../../src/ir/model.ts';
import type { KernelSet } from '../../src/kernels/types.ts';
import { decodeOnnx, encodeOnnx } from '../../src/interop/onnx-proto.ts';

export interface PeerComparison {
  images: number;
  predictionAgreement: number;
  agree: number;
  maxLogitDiff: number;
  /** max |logit diff| over images without any flip */
  maxLogitDiffNoFlip: number;
  signBits: number;
  flips: number;
  /** images with at least one flip */
  imagesWithFlips: number;
  /** largest |ONNX Runtime pre-activation| at a flip in the first layer of its image that flips */
  maxAbsPreactAtFirstFlip: number;
  /** the same over every flip, consequences included */
  maxAbsPreactAtFlip: number;
  disagreeing: { index: number; hadFlip: boolean }[];
  ortAccuracy: number;
  goldenAccuracy: number;
  seconds: { ort: number; golden: number };
}

/**
 * Compares ONNX Runtime on `onnxBytes` with the golden model of `model` on test images `indices`.
 * `signInputs` pairs each golden sign layer with the ONNX tensor it binarises (import's signInputs; [] skips
 * the bit comparison).
 */
export async function ortVsGolden(onnxBytes: Uint8Array, model: Model, ds: Dataset, indices: ArrayLike<number>, kernels: KernelSet,
  signInputs: { layer: string; onnxTensor: string }[] = [], batch = 500,
  /** ONNX Runtime's input normalisation when it differs from the dataset's: (pixel/255 - mean) / std */
  ortNorm?: { mean: number; std: number }): Promise<PeerComparison> {
  const om = decodeOnnx(onnxBytes);
  const extra = signInputs.map((s) => s.onnxTensor);
  om.graph!.output = [...om.graph!.output!, ...extra.map((name) => ({ name, type: { tensor_type: { elem_type: 1 } } }))];
  const session = await ort.InferenceSession.create(encodeOnnx(om), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const inName = session.inputNames[0], outName = om.graph!.output![0].name;
  const plan = lower(model);
  const { h, w, c } = ds;
  const img = h * w * c;
  const r: PeerComparison = { images: 0, predictionAgreement: 0, agree: 0, maxLogitDiff: 0, maxLogitDiffNoFlip: 0, signBits: 0, flips: 0, imagesWithFlips: 0, maxAbsPreactAtFirstFlip: 0, maxAbsPreactAtFlip: 0, disagreeing: [], ortAccuracy: 0, goldenAccuracy: 0, seconds: { ort: 0, golden: 0 } };
  let ortCorrect = 0, goldenCorrect = 0;
  for (let s = 0; s < indices.length; s += batch) {
    const idx = Array.from({ length: Math.min(batch, indices.length - s) }, (_, i) => indices[s + i]);
    const n = idx.length;
    const { x, labels } = makeBatch(ds, ds.test, idx, NO_AUGMENT, null);
    // NHWC -> NCHW
    const nchw = new Float32Array(n * img);
    for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) for (let ch = 0; ch < c; ch++) nchw[b * img + (ch * h + y) * w + xx] = x.data[b * img + (y * w + xx) * c + ch];
    if (ortNorm) {
      // from the pixels themselves: (pixel/255 - mean) / std
      for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) for (let ch = 0; ch < c; ch++) {
        nchw[b * img + (ch * h + y) * w + xx] = (ds.test.images[idx[b] * img + (y * w + xx) * c + ch] / 255 - ortNorm.mean) / ortNorm.std;
      }
    }
    let t0 = performance.now();
    const outs = await session.run({ [inName]: new ort.Tensor('float32', nchw, [n, c, h, w]) });
    r.seconds.ort += (performance.now() - t0) / 1000;
    const logitsOrt = outs[outName].data as Float32Array;
    const classes = logitsOrt.length / n;
    for (let b = 0; b < n; b++) {
      t0 = performance.now();
      const g = runPlan(plan, tensor(h, w, c, x.data.slice(b * img, (b + 1) * img)), { kernels, taps: extra.length > 0 });
      r.seconds.golden += (performance.now() - t0) / 1000;
      const lo = logitsOrt.subarray(b * classes, (b + 1) * classes);
      let diff = 0;
      for (let k = 0; k < classes; k++) diff = Math.max(diff, Math.abs(lo[k] - g.logits[k]));
      let imageFlips = 0;
      for (const si of signInputs) {
        const first = imageFlips === 0;
        const bits = g.taps.get(si.layer)!.bits!;
        const pre = outs[si.onnxTensor];
        const [, C, H, W] = pre.dims as number[];
        const pd = pre.data as Float32Array, base = b * C * H * W, wpp = bits.wordsPerPixel;
        for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) for (let ch = 0; ch < C; ch++) {
          const v = pd[base + (ch * H + y) * W + xx];
          const bit = (bits.words[(y * W + xx) * wpp + (ch >>> 5)] >>> (ch & 31)) & 1;
          r.signBits++;
          if ((v < 0 ? 1 : 0) !== bit) {
            imageFlips++;
            r.maxAbsPreactAtFlip = Math.max(r.maxAbsPreactAtFlip, Math.abs(v));
            if (first) r.maxAbsPreactAtFirstFlip = Math.max(r.maxAbsPreactAtFirstFlip, Math.abs(v));
          }
        }
      }
      r.flips += imageFlips;
      if (imageFlips) r.imagesWithFlips++;
      r.maxLogitDiff = Math.max(r.maxLogitDiff, diff);
      if (imageFlips === 0) r.maxLogitDiffNoFlip = Math.max(r.maxLogitDiffNoFlip, diff);
      const po = argmax(lo), pg = argmax(g.logits);
      if (po === pg) r.agree++; else r.disagreeing.push({ index: idx[b], hadFlip: imageFlips > 0 });
      if (po === labels[b]) ortCorrect++;
      if (pg === labels[b]) goldenCorrect++;
    }
    r.images += n;
  }
  r.predictionAgreement = r.agree / r.images;
  r.ortAccuracy = ortCorrect / r.images;
  r.goldenAccuracy = goldenCorrect / r.images;
  await session.release();
  return r;
}
