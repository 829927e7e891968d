/**
 * `birealsim verify <model>`: bit-exact validation of a model on N test images across every execution path.
 *
 *  1. golden model (the spec) with per-layer taps;
 *  2. functional accelerator simulation on --arch: every layer compared with golden bit for bit
 *     (accumulators and bits exactly, deployment-path floats bitwise); a mismatch names layer, tile, coordinate;
 *  3. --reference <latent model>: golden run of the reference (folded in memory) vs golden run of the file,
 *     exact; finds a corrupted or stale deployable file and names the first divergent layer, channel, position;
 *  4. the trainer's float forward (eval mode) of the same model: prediction agreement, max logit difference,
 *     sign-bit agreement per binarised layer (floats differ in summation order, so this path is statistical);
 *  5. --torch: PyTorch (Debian /usr/bin/python3) as an independent float reference.
 * Exit 0 when the exact paths agree and float agreement >= --min-agreement; 1 otherwise; 2 on bad input.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/diagnostics.ts';
import { argmax, tensor, type Tensor } from '../core/tensor.ts';
import { Rng } from '../core/rng.ts';
import { loadModel, encodeModel, type Model } from '../ir/model.ts';
import { latentEquivalent, toDeployable } from '../ir/deploy.ts';
import { lower, type ExecPlan } from '../golden/plan.ts';
import { runPlan } from '../golden/run.ts';
import { compareTaps, describeDivergence, type Divergence } from '../golden/compare.ts';
import { loadArch } from '../sim/arch.ts';
import { simulate } from '../sim/simulate.ts';
import type { Mapping } from '../sim/mapper.ts';
import { TrainNet, BINARY_CONFIG } from '../train/net.ts';
import { bt } from '../kernels/batch.ts';
import { makeBatch, NO_AUGMENT } from '../data/datasets.ts';
import { sampleTestIndices, type ImageCount } from '../data/sample.ts';
import { loadDatasetFlags, checkCompatible } from './train.ts';
import { imagesFlag } from './flags.ts';
import { kernelsByName, KERNEL_NAMES, warmKernels } from './kernels.ts';
import { emit, requestExitCode, toJson, TOOL_VERSION } from './io.ts';
import { sha256 } from './load.ts';
import { readFileSync } from 'node:fs';

interface VerifyArgs { model: string; images: ImageCount; dataset?: string; data?: string; arch: string; reference?: string; kernels: string; torch?: boolean; minAgreement: number; seed: number; json?: boolean; out?: string; sim: boolean }

export interface VerifyResult {
  tool: 'birealsim'; version: string; kind: 'verify';
  model: { path: string; sha256: string; kind: string; network: string };
  inputs: { source: string; images: number; indices?: number[] };
  golden: { accuracy?: number; stepsPerImage: number };
  simulator?: { arch: string; bitExactImages: number; images: number; firstMismatch?: string };
  reference?: { path: string; bitExactImages: number; images: number; first?: Divergence; firstText?: string };
  trainer: { predictionAgreement: number; maxLogitDiff: number; signBitAgreement: number; signLayers: number; signBits: number; signBitsDiffering: number };
  torch?: { predictionAgreement: number; maxLogitDiff: number } | { skipped: string };
  pass: boolean;
}

/**
 * Loads N inputs: a class-balanced seeded sample of N test images (data/sample.ts; normalised as the trainer
 * does), all of them with `--images all`, or N seeded random ones when there is no dataset.
 */
function loadInputs(model: Model, a: VerifyArgs): { inputs: Tensor[]; labels?: Uint8Array; source: string; indices?: number[] } {
  const { h, w, c } = model.net.input;
  const dsName = a.dataset ?? (a.data ? undefined : model.meta.dataset);
  if (!dsName && !a.data) {
    if (a.images === 'all') throw new UserError('E_FLAG', '--images all: this model records no dataset, so the inputs are random and there is no "all"', { hint: 'give --dataset mnist|fashion-mnist|idx:DIR, or a number of random inputs' });
    const rng = new Rng(a.seed);
    const inputs = Array.from({ length: a.images }, () => { const t = tensor(h, w, c); rng.fillNormal(t.data); return t; });
    return { inputs, source: `random N(0,1) (seed ${a.seed})` };
  }
  const ds = loadDatasetFlags({ dataset: dsName, data: a.data });
  checkCompatible(model.net, ds);
  const sample = sampleTestIndices(ds.test.labels, ds.test.n, a.images, a.seed);
  const n = sample.indices.length;
  const { x, labels } = makeBatch(ds, ds.test, sample.indices, NO_AUGMENT, null);
  const img = h * w * c;
  return { inputs: Array.from({ length: n }, (_, b) => tensor(h, w, c, x.data.slice(b * img, (b + 1) * img))), labels, source: `${ds.name}: ${sample.description}`, indices: sample.all ? undefined : Array.from(sample.indices) };
}

/** Runs the PyTorch reference on the latent-equivalent model; returns logits [n][classes] or a skip reason. */
function torchLogits(latent: Model, inputs: Tensor[]): Float32Array[] | string {
  const py = '/usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'PyTorch not available (apt-get install python3-torch libopenblas0-pthread)';
  const dir = mkdtempSync(join(tmpdir(), 'birealsim-verify-'));
  try {
    writeFileSync(join(dir, 'model.safetensors'), encodeModel(latent));
    const all = new Float32Array(inputs.length * inputs[0].data.length);
    inputs.forEach((t, i) => all.set(t.data, i * t.data.length));
    writeFileSync(join(dir, 'inputs.f32'), new Uint8Array(all.buffer));
    const script = join(dirname(fileURLToPath(import.meta.url)), 'torch_infer.py');
    const r = spawnSync(py, [script, join(dir, 'model.safetensors'), join(dir, 'inputs.f32'), String(inputs.length)], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '2' }, maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`torch reference failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as number[][];
    return out.map((row) => Float32Array.from(row));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function verifyModel(model: Model, a: VerifyArgs & { modelPath: string; modelSha: string }): Promise<VerifyResult> {
  const kernels = kernelsByName(a.kernels);
  await warmKernels(kernels);
  const plan: ExecPlan = lower(model);
  const { inputs, labels, source, indices } = loadInputs(model, a);
  // path 2 set-up: one mapping search, reused for every image
  const arch = a.sim ? loadArch(a.arch) : undefined;
  let mappings: Record<string, Mapping> | undefined;
  if (arch) {
    const timing = simulate(plan, arch);
    if (!timing.feasible) throw new UserError('E_ARCH', `network does not map onto '${arch.name}': ${timing.infeasible.map((i) => `${i.layer}: ${i.reason}`).join('; ')}`, { hint: 'pick a larger --arch or --no-sim' });
    mappings = Object.fromEntries(timing.layers.filter((l) => l.mapping).map((l) => [l.id, l.mapping!]));
  }
  const refModel = a.reference ? loadModel(a.reference) : undefined;
  if (refModel && JSON.stringify(refModel.net.workload) !== JSON.stringify(model.net.workload)) throw new UserError('E_MODEL', 'reference model has a different network', { file: a.reference });
  const refPlan = refModel ? lower(toDeployable(refModel)) : undefined;
  const latent = latentEquivalent(refModel ?? model);
  const trainer = new TrainNet(model.net, BINARY_CONFIG);
  trainer.loadLatent(latent);
  const signIds = plan.steps.filter((s) => s.out.dtype === 'bits').map((s) => s.id);

  let correct = 0, simExact = 0, refExact = 0, agree = 0, maxDiff = 0, bitsSame = 0, bitsTotal = 0;
  let simFirst: string | undefined, refFirst: Divergence | undefined;
  const goldenLogits: Float32Array[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i];
    const g = runPlan(plan, x, { kernels, taps: true });
    goldenLogits.push(g.logits);
    const gArg = argmax(g.logits);
    if (labels && gArg === labels[i]) correct++;
    if (arch) {
      const r = simulate(plan, arch, { mappings, functional: { input: x, kernels, verify: true } });
      if (r.functional?.verified) simExact++;
      else if (!simFirst) {
        const m = r.functional?.mismatches?.[0];
        simFirst = m ? `image ${i}: layer ${m.layer} (step ${m.step}), tile ${m.tile}, ${m.what} at (y,x,c) = (${m.coordinate.join(',')}): golden ${m.expected}, simulator ${m.got}` : `image ${i}: no functional result`;
      }
    }
    if (refPlan) {
      const c = compareTaps(plan, runPlan(refPlan, x, { kernels, taps: true }).taps, g.taps);
      if (c.agree) refExact++; else if (!refFirst) refFirst = c.first;
    }
    const tl = trainer.forward(bt(1, x.h, x.w, x.c, x.data), false, true).data;
    if (argmax(tl) === gArg) agree++;
    for (let k = 0; k < tl.length; k++) maxDiff = Math.max(maxDiff, Math.abs(tl[k] - g.logits[k]));
    for (const id of signIds) {
      const tb = trainer.tap(id)!.data, gb = g.taps.get(id)!.bits!;
      const C = gb.c, wpp = gb.wordsPerPixel;
      for (let p = 0; p < gb.h * gb.w; p++) for (let ch = 0; ch < C; ch++) {
        const bit = (gb.words[p * wpp + (ch >>> 5)] >>> (ch & 31)) & 1;
        bitsTotal++;
        if ((tb[p * C + ch] < 0 ? 1 : 0) === bit) bitsSame++;
      }
    }
  }
  const n = inputs.length;
  const result: VerifyResult = {
    tool: 'birealsim', version: TOOL_VERSION, kind: 'verify',
    model: { path: a.modelPath, sha256: a.modelSha, kind: model.kind, network: model.net.workload.name },
    inputs: { source, images: n, ...(indices ? { indices } : {}) },
    golden: { accuracy: labels ? correct / n : undefined, stepsPerImage: plan.steps.length },
    trainer: { predictionAgreement: agree / n, maxLogitDiff: maxDiff, signBitAgreement: bitsTotal ? bitsSame / bitsTotal : 1, signLayers: signIds.length, signBits: bitsTotal, signBitsDiffering: bitsTotal - bitsSame },
    pass: false,
  };
  if (arch) result.simulator = { arch: arch.name, bitExactImages: simExact, images: n, firstMismatch: simFirst };
  if (refModel) result.reference = { path: a.reference!, bitExactImages: refExact, images: n, first: refFirst, firstText: refFirst ? describeDivergence(refFirst) : undefined };
  if (a.torch) {
    const t = torchLogits(latent, inputs);
    if (typeof t === 'string') result.torch = { skipped: t };
    else {
      let ta = 0, td = 0;
      t.forEach((row, i) => { if (argmax(row) === argmax(goldenLogits[i])) ta++; for (let k = 0; k < row.length; k++) td = Math.max(td, Math.abs(row[k] - goldenLogits[i][k])); });
      result.torch = { predictionAgreement: ta / n, maxLogitDiff: td };
    }
  }
  result.pass = (!arch || simExact === n) && (!refModel || refExact === n) && result.trainer.predictionAgreement >= a.minAgreement &&
    (!result.torch || 'skipped' in result.torch || result.torch.predictionAgreement >= a.minAgreement);
  return result;
}

export function renderVerify(r: VerifyResult): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const L = [`verify ${r.model.path} (${r.model.kind} ${r.model.network}, sha256 ${r.model.sha256.slice(0, 12)}) on ${r.inputs.images} inputs: ${r.inputs.source}`];
  L.push(`  golden model: ${r.golden.stepsPerImage} steps per image${r.golden.accuracy !== undefined ? `, accuracy ${pct(r.golden.accuracy)}` : ''}`);
  if (r.simulator) L.push(`  golden vs functional simulator (${r.simulator.arch}): bit-exact on ${r.simulator.bitExactImages}/${r.simulator.images} images (every layer: accumulators, bits, fp32 outputs)` + (r.simulator.firstMismatch ? `\n    first mismatch: ${r.simulator.firstMismatch}` : ''));
  if (r.reference) L.push(`  golden(file) vs golden(reference ${r.reference.path}): bit-exact on ${r.reference.bitExactImages}/${r.reference.images} images` + (r.reference.firstText ? `\n    ${r.reference.firstText}` : ''));
  L.push(`  golden vs trainer float forward: predictions agree ${pct(r.trainer.predictionAgreement)}, max |logit diff| ${r.trainer.maxLogitDiff.toExponential(2)}, sign bits agree ${(100 * r.trainer.signBitAgreement).toFixed(4)}% (${r.trainer.signBitsDiffering} of ${r.trainer.signBits} differ) over ${r.trainer.signLayers} sign layers`);
  if (r.torch) L.push('skipped' in r.torch ? `  PyTorch reference: skipped (${r.torch.skipped})` : `  golden vs PyTorch: predictions agree ${pct(r.torch.predictionAgreement)}, max |logit diff| ${r.torch.maxLogitDiff.toExponential(2)}`);
  L.push(r.pass ? 'PASS' : 'FAIL');
  return L.join('\n');
}

export const verifyCommand = {
  command: 'verify <model>',
  describe: 'bit-exact validation: golden vs functional simulator (and a reference model), plus float agreement with the trainer and PyTorch',
  builder: (y: Argv) => y
    .positional('model', { type: 'string', describe: 'model .safetensors (deployable or latent)' })
    .option('images', { type: 'string', default: '100', describe: 'N | all: a class-balanced seeded sample of N test images (--seed), or all of them; N random inputs when there is no dataset' })
    .option('dataset', { type: 'string', describe: 'mnist | fashion-mnist | idx:DIR (default: the model\'s, else random inputs)' })
    .option('data', { type: 'string', describe: 'IDX dataset directory' })
    .option('arch', { type: 'string', default: 'edge', describe: 'architecture preset or file for the functional simulation' })
    .option('sim', { type: 'boolean', default: true, describe: 'run the functional simulator (--no-sim to skip)' })
    .option('reference', { type: 'string', describe: 'latent model the file was exported from: compared bit for bit' })
    .option('kernels', { type: 'string', default: 'default', describe: `kernel set: ${KERNEL_NAMES.join(' | ')}` })
    .option('torch', { type: 'boolean', describe: 'also run PyTorch (/usr/bin/python3) as an independent reference' })
    .option('min-agreement', { type: 'number', default: 0.99, describe: 'minimum float-path prediction agreement to pass' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the test-image sample (or of random inputs)' })
    .option('json', { type: 'boolean' })
    .option('out', { type: 'string', describe: 'write the result to this file (atomically)' }),
  handler: async (argv: ArgumentsCamelCase<VerifyArgs>) => {
    argv.images = imagesFlag(argv.images);
    const model = loadModel(argv.model);
    const r = await verifyModel(model, { ...argv, modelPath: argv.model, modelSha: sha256(readFileSync(argv.model)) });
    emit(argv.json ? toJson(r) : renderVerify(r), argv.out);
    if (!r.pass) requestExitCode(1);
  },
};
