/**
 * `birealsim train`: trains a network from the IR on MNIST / Fashion-MNIST / an IDX directory with the
 * Bi-Real two-stage recipe (src/train/trainer.ts) and writes a latent model, checkpoints and JSONL metrics.
 * Also exports the shared flag parsing used by eval/export/ablate. Bad input -> UserError (exit 2).
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { numberFlag } from './flags.ts';
import { UserError, didYouMeanHint } from '../core/diagnostics.ts';
import { loadModel, type Model } from '../ir/model.ts';
import type { ResolvedNetwork } from '../ir/types.ts';
import { loadWorkloadText, resolveNetwork } from '../ir/validate.ts';
import { limitSplit, loadDataset, type Dataset } from '../data/datasets.ts';
import { initGemm, gemmBackend, useKernelGemm, type GemmBackendName } from '../kernels/batch-fast.ts';
import { OPT_NAMES, SCHEDULE_NAMES, type OptName, type ScheduleName } from '../train/optim.ts';
import { ACT_GRADS } from '../ops/sign.ts';
import { WEIGHT_GRADS } from '../ops/bconv.ts';
import type { ActGrad, WeightGrad } from '../ops/types.ts';
import { INIT_NAMES, MODEL_FILE, train, workDirOf, type InitName, type TrainOptions } from '../train/trainer.ts';
import { knownModelNames, suggestModel, variantWorkload, type ShortcutKind } from '../train/variants.ts';
import { TOOL_VERSION } from './io.ts';

export function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new UserError('E_FLAG', `--${flag}: invalid value ${JSON.stringify(value)}`, { hint: didYouMeanHint(String(value), allowed) });
}


/** Resolves --model: trainer variant / built-in name, workload .json, or latent .safetensors (initial weights). */
export function resolveModelArg(arg: string, shortcut?: ShortcutKind): { net: ResolvedNetwork; init?: Model } {
  const wl = variantWorkload(arg, shortcut);
  if (wl) return { net: resolveNetwork(wl) };
  if (!existsSync(arg)) {
    const m = suggestModel(arg);
    throw new UserError('E_TARGET', `no such file or built-in network '${arg}'`, { hint: `${m ? `did you mean '${m}'? ` : ''}names: ${knownModelNames().join(', ')}; or a workload .json / latent .safetensors` });
  }
  if (shortcut) throw new UserError('E_SHORTCUT', '--shortcut applies to built-in trainer variants only', { hint: 'a workload file fixes its own shortcut structure' });
  if (arg.endsWith('.json')) return { net: loadWorkloadText(readFileSync(arg, 'utf8'), arg) };
  const model = loadModel(arg);
  if (model.kind !== 'latent') throw new UserError('E_MODEL', 'training needs a latent model (or a workload)', { file: arg, hint: 'deployable models hold exact +-1 weights and cannot be trained further' });
  return { net: model.net, init: model };
}

export function checkCompatible(net: ResolvedNetwork, ds: Dataset): void {
  const i = net.input;
  if (i.h !== ds.h || i.w !== ds.w || i.c !== ds.c) throw new UserError('E_DATA', `network '${net.workload.name}' takes ${i.h}x${i.w}x${i.c} inputs but ${ds.name} images are ${ds.h}x${ds.w}x${ds.c}`, { hint: 'pick a network built for this input size' });
  const out = net.byId.get(net.output)!.out;
  const classes = out.h * out.w * out.c;
  if (classes < ds.classes) throw new UserError('E_DATA', `network '${net.workload.name}' has ${classes} outputs but ${ds.name} has ${ds.classes} classes`);
}

export async function setupGemm(name: string, _log: (s: string) => void, replicas = 1): Promise<void> {
  const want = oneOf('gemm', name, ['wasm-simd', 'js'] as const) as GemmBackendName;
  await initGemm(want);
  // large non-transposed products on the kernels' worker pool (bit-identical, see kernels/batch-fast.ts)
  // (not with data-parallel replicas: they already keep every core busy)
  if (want === 'wasm-simd' && replicas <= 1) await useKernelGemm();
}

export const trainFlags = {
  dataset: { type: 'string', describe: 'mnist | fashion-mnist | idx:DIR' },
  data: { type: 'string', describe: 'IDX dataset directory (same as --dataset idx:DIR)' },
  epochs: { type: 'number', default: 4, describe: 'epochs of the 1-bit stage (or of the only stage)' },
  'pre-epochs': { type: 'number', default: 2, describe: 'epochs of the real-valued stage 1 (ignored with --init scratch)' },
  batch: { type: 'number', default: 64, describe: 'batch size' },
  lr: { type: 'number', default: 1e-2, describe: 'learning rate of the 1-bit stage (1e-2 beat 2e-3 and 5e-3 on MNIST; reports/train/README.md)' },
  'pre-lr': { type: 'number', default: 1e-2, describe: 'learning rate of stage 1' },
  wd: { type: 'number', default: 0, describe: 'weight decay (conv/fc weights) in the 1-bit stage' },
  'pre-wd': { type: 'number', default: 5e-5, describe: 'weight decay in stage 1' },
  optimizer: { type: 'string', default: 'adam', describe: OPT_NAMES.join(' | ') },
  momentum: { type: 'number', default: 0.9, describe: 'SGD momentum' },
  schedule: { type: 'string', default: 'linear', describe: `${SCHEDULE_NAMES.join(' | ')} (per stage; linear decays to 0)` },
  milestones: { type: 'string', default: '', describe: 'step schedule: comma-separated epochs' },
  gamma: { type: 'number', default: 0.1, describe: 'step schedule factor' },
  'label-smoothing': { type: 'number', default: 0.1, describe: 'label smoothing' },
  'act-grad': { type: 'string', default: 'approxsign', describe: ACT_GRADS.join(' | ') },
  'weight-grad': { type: 'string', default: 'magnitude-aware', describe: WEIGHT_GRADS.join(' | ') },
  init: { type: 'string', default: 'clip', describe: `${INIT_NAMES.join(' | ')} (activation of the real-valued stage 1, or no stage 1)` },
  shortcut: { type: 'string', describe: 'per-conv | per-block (trainer variants only; default per-conv)' },
  'weight-clip': { type: 'boolean', default: true, describe: 'clip latent binary weights to [-1, 1]' },
  'crop-pad': { type: 'number', default: 2, describe: 'augmentation: random translation up to N pixels (0 = off)' },
  flip: { type: 'boolean', describe: 'augmentation: horizontal flips (default: on for fashion-mnist, off for digits)' },
  seed: { type: 'number', default: 1, describe: 'seed of every random choice' },
  'limit-train': { type: 'number', default: 0, describe: 'use only N training images (quick runs)' },
  gemm: { type: 'string', default: 'wasm-simd', describe: 'float GEMM back end: wasm-simd | js' },
  replicas: { type: 'number', default: 2, describe: 'data-parallel threads per batch (each normalises BN over its shard; part of the recipe: results depend on it, not on the machine)' },
} as const;

export interface TrainFlagValues {
  dataset?: string; data?: string; epochs: number; preEpochs: number; batch: number; lr: number; preLr: number; wd: number; preWd: number;
  optimizer: string; momentum: number; schedule: string; milestones: string; gamma: number; labelSmoothing: number;
  actGrad: string; weightGrad: string; init: string; shortcut?: string; weightClip: boolean; cropPad: number; flip?: boolean; seed: number; limitTrain: number; gemm: string; replicas?: number;
}

export function trainOptionsFrom(a: TrainFlagValues, ds: Dataset): TrainOptions {
  const milestones = a.milestones ? a.milestones.split(',').map((s) => numberFlag('milestones', s.trim(), { int: true, min: 0 })) : [];
  const o: TrainOptions = {
    seed: numberFlag('seed', a.seed, { int: true, min: 0 }),
    batch: numberFlag('batch', a.batch, { int: true, min: 1 }),
    init: oneOf('init', a.init, INIT_NAMES) as InitName,
    actGrad: oneOf('act-grad', a.actGrad, ACT_GRADS) as ActGrad,
    weightGrad: oneOf('weight-grad', a.weightGrad, WEIGHT_GRADS) as WeightGrad,
    optimizer: oneOf('optimizer', a.optimizer, OPT_NAMES) as OptName,
    momentum: numberFlag('momentum', a.momentum, { min: 0 }),
    schedule: oneOf('schedule', a.schedule, SCHEDULE_NAMES) as ScheduleName,
    milestones, gamma: numberFlag('gamma', a.gamma, { positive: true }),
    labelSmoothing: numberFlag('label-smoothing', a.labelSmoothing, { min: 0 }),
    weightClip: a.weightClip,
    augment: { cropPad: numberFlag('crop-pad', a.cropPad, { int: true, min: 0 }), flip: a.flip ?? ds.flipsSensible },
    pre: { epochs: numberFlag('pre-epochs', a.preEpochs, { int: true, min: 0 }), lr: numberFlag('pre-lr', a.preLr, { positive: true }), weightDecay: numberFlag('pre-wd', a.preWd, { min: 0 }) },
    main: { epochs: numberFlag('epochs', a.epochs, { int: true, min: 0 }), lr: numberFlag('lr', a.lr, { positive: true }), weightDecay: numberFlag('wd', a.wd, { min: 0 }) },
    replicas: numberFlag('replicas', a.replicas ?? 1, { int: true, min: 1 }),
  };
  if (o.replicas! > o.batch) throw new UserError('E_FLAG', `--replicas ${o.replicas} is more than --batch ${o.batch}`, { hint: 'every replica needs at least one image of each batch' });
  // an epoch is floor(train images / batch) batches: a batch larger than the training set would train nothing
  // (checked once the data is loaded; the early flag check runs without it)
  if (ds.train && o.batch > ds.train.n) throw new UserError('E_FLAG', `--batch ${o.batch} is more than the ${ds.train.n} training images: an epoch would have no batch`, { path: '--batch', hint: `use --batch ${ds.train.n} or less${a.limitTrain ? ', or a larger --limit-train' : ''}` });
  return o;
}

export function loadDatasetFlags(a: { dataset?: string; data?: string; limitTrain?: number }, seed = 1): Dataset {
  const ds = loadDataset(a.dataset, a.data);
  if (a.limitTrain && a.limitTrain > 0) {
    const lim = numberFlag('limit-train', a.limitTrain, { int: true, min: 1 });
    return { ...ds, train: limitTrainSplit(ds, lim, seed) };
  }
  return ds;
}

function limitTrainSplit(ds: Dataset, n: number, seed: number) { return limitSplit(ds.train, n, seed, ds.h * ds.w * ds.c); }

interface TrainArgs extends TrainFlagValues { model: string; out?: string; resume?: boolean; quiet?: boolean; json?: boolean; epochEval?: boolean }

export const trainCommand = {
  command: 'train',
  describe: 'train a 1-bit (Bi-Real) or real network on MNIST / Fashion-MNIST / IDX data',
  builder: (y: Argv) => y
    .option('model', { type: 'string', demandOption: true, describe: 'trainer variant or built-in name, workload .json, or latent .safetensors to start from' })
    .options(trainFlags)
    .option('out', { type: 'string', describe: 'output directory (model.safetensors, checkpoint.safetensors, metrics.jsonl); default runs/<model>-<dataset>. The run works in <out>.partial and replaces these files as a set when it completes' })
    .option('resume', { type: 'boolean', describe: 'continue the run of --out from its checkpoint in <out>.partial (a killed or interrupted run) or <out> (its options are used)' })
    .option('quiet', { type: 'boolean', describe: 'no progress lines' })
    .option('epoch-eval', { type: 'boolean', default: true, describe: 'evaluate on the test split after every epoch (--no-epoch-eval: only after the last epoch of each stage, ~10 s less per epoch on MNIST)' })
    .option('json', { type: 'boolean', describe: 'print the result as JSON' }),
  handler: async (argv: ArgumentsCamelCase<TrainArgs>) => {
    const log = argv.quiet ? () => {} : (s: string) => process.stderr.write(`[train] ${s}\n`);
    const shortcut = argv.shortcut === undefined ? undefined : oneOf('shortcut', argv.shortcut, ['per-conv', 'per-block'] as const);
    const { net, init } = resolveModelArg(argv.model, shortcut);
    if (!argv.dataset && !argv.data) throw new UserError('E_DATA', 'no dataset given', { hint: 'use --dataset mnist|fashion-mnist|idx:DIR' });
    trainOptionsFrom(argv, { flipsSensible: false } as Dataset); // validate every flag before loading data
    await setupGemm(argv.gemm, log, argv.resume ? 1 : argv.replicas);
    const tLoad = performance.now();
    const ds = loadDatasetFlags(argv, argv.seed);
    checkCompatible(net, ds);
    log(`dataset ${ds.name}: ${ds.train.n} train / ${ds.test.n} test images, ${ds.note}; loaded in ${((performance.now() - tLoad) / 1000).toFixed(1)} s`);
    const options = trainOptionsFrom(argv, ds);
    const outDir = argv.out ?? join('runs', `${net.workload.name}-${ds.name.replace(/[^a-z0-9-]/gi, '_')}`);
    log(`network ${net.workload.name} (${net.layers.length} layers); gemm ${gemmBackend()}; ${options.replicas} replica${options.replicas === 1 ? '' : 's'}; output ${outDir}`);
    const command = `birealsim ${process.argv.slice(2).join(' ')}`;
    const r = await train({
      net, dataset: ds, options, outDir, resume: argv.resume, log, initModel: init, evalEachEpoch: argv.epochEval !== false,
      meta: { 'train.command': command, 'tool.version': TOOL_VERSION, seed: String(options.seed) },
    });
    if (r.interrupted) throw new UserError('E_INTERRUPTED', `training interrupted; checkpoint saved in ${workDirOf(outDir)} (${outDir} is unchanged)`, { hint: `continue with: birealsim train --model ${argv.model} --dataset ${argv.dataset ?? `idx:${argv.data}`}${argv.limitTrain ? ` --limit-train ${argv.limitTrain}` : ''} --out ${outDir} --resume` });
    const result = { model: join(outDir, MODEL_FILE), testAccuracy: r.testAccuracy, stageAccuracies: r.stageAccuracies, minutes: r.seconds / 60, imagesPerSecond: r.imagesPerSecond, dataset: ds.name, network: net.workload.name };
    if (argv.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else process.stdout.write(`${net.workload.name} on ${ds.name}: test accuracy ${(100 * r.testAccuracy).toFixed(2)}% after ${(r.seconds / 60).toFixed(1)} min (${r.imagesPerSecond.toFixed(0)} img/s); model ${result.model}\n`);
  },
};

export { numberFlag };
