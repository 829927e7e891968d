/**
 * Full-test-set agreement of the golden model with ONNX Runtime (the figures quoted for issue 13; the test
 * suite checks a class-balanced sample): imports an .onnx file (or takes a birealsim model and its ONNX
 * export) and runs both on every test image.
 *   node bin/run-ts.mjs scripts/onnx-agreement.ts test/fixtures/onnx/bireal-mnist.onnx
 *   node bin/run-ts.mjs scripts/onnx-agreement.ts --model reports/train/mnist-deep-pool10/model.safetensors
 */
import { readFileSync } from 'node:fs';
import { loadDataset } from '../src/data/datasets.ts';
import { sampleTestIndices } from '../src/data/sample.ts';
import { importOnnx } from '../src/interop/onnx-import.ts';
import { decodeOnnx } from '../src/interop/onnx-proto.ts';
import { exportOnnx } from '../src/interop/onnx-export.ts';
import { loadModel } from '../src/ir/model.ts';
import { getKernels } from '../src/kernels/index.ts';
import { loadKernels } from '../src/kernels/wasm.ts';
import { ortVsGolden } from '../test/interop/ort-peer.ts';

await loadKernels();
const args = process.argv.slice(2);
const count = args.includes('--images') ? Number(args[args.indexOf('--images') + 1]) : 'all';
const ds = loadDataset('mnist');
const sample = sampleTestIndices(ds.test.labels, ds.test.n, count as number | 'all', 0);
const t0 = performance.now();
let r;
if (args[0] === '--model') {
  const model = loadModel(args[1]);
  const onnx = exportOnnx(model);
  r = await ortVsGolden(onnx.bytes, model, ds, sample.indices, getKernels('fast'), onnx.signInputs);
} else {
  const bytes = readFileSync(args[0]);
  const imp = importOnnx(decodeOnnx(bytes, args[0]), { file: args[0], datasetNorm: { mean: ds.mean, std: ds.std } });
  r = await ortVsGolden(bytes, imp.model, ds, sample.indices, getKernels('fast'), imp.signInputs);
}
console.log(JSON.stringify({ sample: sample.description, ...r, disagreeing: r.disagreeing, wallSeconds: (performance.now() - t0) / 1000 }, null, 1));
