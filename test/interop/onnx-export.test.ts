/**
 * `birealsim export-onnx` run in ONNX Runtime (npm onnxruntime-node), the outside peer:
 *  - a birealsim-trained MNIST model (reports/train/mnist-deep-pool10), latent and deployable files, gives the
 *    golden model's predictions in ONNX Runtime on a class-balanced sample (scripts/onnx-agreement.ts --model
 *    measures all 10,000);
 *  - the exported file imports back to a model whose golden logits are bit-identical to the original's
 *    (export and import fold the same numbers: alpha and BN into Mul/Add and back into weights and an exact
 *    affine BN);
 *  - every op of the registry has an ONNX form, and a ReActNet-style net (RSign, RPReLU) and an XNOR-Net
 *    style one (actscale) with random weights run in ONNX Runtime as in the golden model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset, makeBatch, NO_AUGMENT, type Dataset } from '../../src/data/datasets.ts';
import { sampleTestIndices } from '../../src/data/sample.ts';
import { exportOnnx, ONNX_EXPORT_OPS } from '../../src/interop/onnx-export.ts';
import { importOnnx } from '../../src/interop/onnx-import.ts';
import { decodeOnnx } from '../../src/interop/onnx-proto.ts';
import { loadModel, randomModel } from '../../src/ir/model.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { OP_NAMES } from '../../src/ops/index.ts';
import { getKernels } from '../../src/kernels/index.ts';
import { lower } from '../../src/golden/plan.ts';
import { runPlan } from '../../src/golden/run.ts';
import { tensor } from '../../src/core/tensor.ts';
import { SCHEMA_ID } from '../../src/ir/types.ts';
import { runCli } from '../cli/run-cli.ts';
import { ortVsGolden } from './ort-peer.ts';

const TRAINED = 'reports/train/mnist-deep-pool10/model.safetensors';
const TRAINED_DEP = 'reports/train/mnist-deep-pool10/deployable.safetensors';
const SAMPLE = 500;

let dir: string;
let ds: Dataset;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'birealsim-onnx-export-')); ds = loadDataset('mnist'); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('birealsim export-onnx in ONNX Runtime', () => {
  it('every op in the registry has an ONNX form', () => {
    expect(OP_NAMES.filter((o) => !ONNX_EXPORT_OPS.includes(o))).toEqual([]);
  });

  for (const [what, file] of [['latent', TRAINED], ['deployable', TRAINED_DEP]] as const) {
    it(`a birealsim-trained ${what} model: ONNX Runtime's predictions equal the golden model's on ${SAMPLE} class-balanced MNIST test images`, async () => {
      const out = join(dir, `${what}.onnx`);
      const r = await runCli(['export-onnx', file, '--out', out]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/input normalisation: \(pixel\/255 - 0\.1306\d+\) \/ 0\.3081\d+ \(mnist's/);
      const model = loadModel(file);
      const { indices } = sampleTestIndices(ds.test.labels, ds.test.n, SAMPLE, 0);
      // the Sign inputs of the written file, by the exporter's deterministic tensor names
      const c = await ortVsGolden(readFileSync(out), model, ds, indices, getKernels('fast'), exportOnnx(model).signInputs);
      expect(c.signBits).toBeGreaterThan(SAMPLE * 10000);
      expect(c.agree).toBe(SAMPLE);
      expect(c.maxAbsPreactAtFirstFlip).toBeLessThan(1e-4);
      expect(c.maxLogitDiffNoFlip).toBeLessThan(1e-4);
      expect(c.goldenAccuracy).toBeGreaterThan(0.98);
    });
  }

  it('export -> import gives back a model with bit-identical golden logits', async () => {
    const model = loadModel(TRAINED);
    const bytes = exportOnnx(model, { metadata: { 'birealsim.dataset': 'mnist', 'birealsim.input_mean': String(ds.mean), 'birealsim.input_std': String(ds.std) } }).bytes;
    expect(Buffer.from(exportOnnx(model, { metadata: { 'birealsim.dataset': 'mnist', 'birealsim.input_mean': String(ds.mean), 'birealsim.input_std': String(ds.std) } }).bytes).equals(Buffer.from(bytes))).toBe(true); // deterministic
    const back = importOnnx(decodeOnnx(bytes), { datasetNorm: { mean: ds.mean, std: ds.std } });
    expect(back.counts.binaryConvs).toBe(model.net.layers.filter((l) => l.layer.op === 'bconv').length);
    const p0 = lower(model), p1 = lower(back.model), k = getKernels('fast');
    const { x } = makeBatch(ds, ds.test, Array.from({ length: 20 }, (_, i) => i * 37), NO_AUGMENT, null);
    for (let i = 0; i < 20; i++) {
      const img = tensor(28, 28, 1, x.data.slice(i * 784, (i + 1) * 784));
      expect(Array.from(runPlan(p1, img, { kernels: k }).logits)).toEqual(Array.from(runPlan(p0, img, { kernels: k }).logits));
    }
  });

  it('export -> import of a net with pools, clip, relu, an unfolded BN and an fc on a 4x4 input (the CHW/HWC column order) is bit-identical', () => {
    const net = resolveNetwork({
      schema: SCHEMA_ID, name: 'rt-mix', input: { h: 28, w: 28, c: 1 }, layers: [
        { id: 'stem', op: 'conv', outChannels: 8, kernel: 3, stride: 1, pad: 1, bias: true },
        { id: 'bn0', op: 'bn', eps: 1e-5 },
        { id: 'pool', op: 'maxpool', kernel: 2, stride: 2, pad: 0 },
        { id: 's1', op: 'sign' },
        { id: 'c1', op: 'bconv', outChannels: 8, kernel: 3, stride: 1, pad: 1, padMode: 'zero', weightScale: 'channel' },
        { id: 'bn1', op: 'bn', eps: 1e-5 },
        { id: 'add', op: 'add', inputs: ['bn1', 'pool'] },
        { id: 'cl', op: 'clip' },
        { id: 's2', op: 'sign' },
        { id: 'c2', op: 'bconv', outChannels: 16, kernel: 3, stride: 2, pad: 1, padMode: 'zero', weightScale: 'none' },
        { id: 'r', op: 'relu' },
        { id: 'ap', op: 'avgpool', kernel: 3, stride: 2, pad: 1 },
        { id: 'fc', op: 'fc', outFeatures: 10, bias: true },
      ],
    });
    const model = randomModel(net, 11);
    const back = importOnnx(decodeOnnx(exportOnnx(model).bytes));
    expect(back.model.net.byId.get(back.model.net.output)!.inShapes[0]).toMatchObject({ h: 4, w: 4, c: 16 });
    const p0 = lower(model), p1 = lower(back.model), k = getKernels('reference');
    const { x } = makeBatch(ds, ds.test, [3, 5, 7, 9], NO_AUGMENT, null);
    for (let i = 0; i < 4; i++) {
      const img = tensor(28, 28, 1, x.data.slice(i * 784, (i + 1) * 784));
      expect(Array.from(runPlan(p1, img, { kernels: k }).logits)).toEqual(Array.from(runPlan(p0, img, { kernels: k }).logits));
    }
  });

  it('RSign, RPReLU, actscale, clip, relu, maxpool, pad mode one: ONNX Runtime agrees with the golden model (random weights)', async () => {
    const net = resolveNetwork({
      schema: SCHEMA_ID, name: 'ops-mix', input: { h: 28, w: 28, c: 1 }, layers: [
        { id: 'stem', op: 'conv', outChannels: 8, kernel: 3, stride: 1, pad: 1, bias: true },
        { id: 'pool', op: 'maxpool', kernel: 2, stride: 2, pad: 0 },
        { id: 'rs', op: 'rsign' },
        { id: 'c1', op: 'bconv', outChannels: 8, kernel: 3, stride: 1, pad: 1, padMode: 'one', weightScale: 'channel' },
        { id: 'k1', op: 'actscale', inputs: ['c1', 'pool'], kernel: 3, stride: 1, pad: 1 },
        { id: 'bn1', op: 'bn', eps: 1e-5 },
        { id: 'add', op: 'add', inputs: ['bn1', 'pool'] },
        { id: 'act', op: 'rprelu' },
        { id: 'cl', op: 'clip' },
        { id: 's2', op: 'sign' },
        { id: 'c2', op: 'bconv', outChannels: 16, kernel: 3, stride: 2, pad: 1, padMode: 'zero', weightScale: 'none' },
        { id: 'r', op: 'relu' },
        { id: 'ap', op: 'avgpool', kernel: 3, stride: 2, pad: 1 },
        { id: 'fc', op: 'fc', outFeatures: 10, bias: true },
      ],
    });
    const model = randomModel(net, 7);
    const { indices } = sampleTestIndices(ds.test.labels, ds.test.n, 100, 1);
    const ex = exportOnnx(model);
    expect(ex.signInputs).toHaveLength(2);
    const c = await ortVsGolden(ex.bytes, model, ds, indices, getKernels('reference'), ex.signInputs);
    expect(c.disagreeing.filter((d) => !d.hadFlip)).toEqual([]);
    expect(c.agree).toBeGreaterThanOrEqual(99);
    expect(c.maxAbsPreactAtFirstFlip).toBeLessThan(1e-4);
    expect(c.maxLogitDiffNoFlip).toBeLessThan(1e-3);
  });
});
