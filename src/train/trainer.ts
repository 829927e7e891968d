/**
 * The training loop: Bi-Real Net's two-stage recipe (Liu et al. 2018, section 3.3; shared/reference/
 * bireal-method.md section 2), checkpoints, exact resume, Ctrl-C, progress and JSONL metrics.
 *
 * Stages (every technique is a switch):
 *  - init 'clip' | 'relu' | 'leaky-clip': stage 1 trains the real-valued network of the same topology with that
 *    activation where sign will sit and real weights; stage 2 starts from its weights (and BN statistics)
 *    and trains the 1-bit network (sign activations with `actGrad`, binary weights with `weightGrad`).
 *  - init 'scratch': only the 1-bit stage, from random weights.
 *  - a network without sign/bconv layers (full precision) trains in one real stage.
 * Each stage has its own optimiser state and learning-rate schedule (per iteration over the stage).
 *
 * Determinism and exact resume: all randomness derives from the seed through `streamSeed(seed, ...)`:
 * the epoch's shuffle from (seed, stage, epoch), each batch's augmentation from (seed, stage, epoch, batch).
 * A checkpoint taken at any batch boundary stores every parameter, BN statistic and optimiser moment plus
 * (stage, epoch, batch, optimiser step); resuming replays exactly the same batches and arithmetic, so a
 * resumed run ends with bit-identical weights (tested). Checkpoints are written atomically; the run works in
 * `<out>.partial` and its output directory is replaced as a set when it completes (see `train`).
 */
import { opOf } from '../ops/index.ts';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { checkDirTarget, cleanStale, lockPath, replaceDirAtomic, writeFileAtomic } from '../core/atomic.ts';
import { UserError } from '../core/diagnostics.ts';
import { Rng } from '../core/rng.ts';
import { decodeSafetensors, encodeSafetensors, type StArray } from '../core/safetensors.ts';
import { saveModel, type Model } from '../ir/model.ts';
import type { ResolvedNetwork } from '../ir/types.ts';
import { makeBatch, NO_AUGMENT, type Augment, type Dataset, type Split } from '../data/datasets.ts';
import { TrainNet, type NetConfig, type SignAs } from './net.ts';
import { softmaxCrossEntropy } from '../kernels/batch-ops.ts';
import { classifySplit } from '../data/classify.ts';
import { learningRate, Optimizer, type OptName, type ScheduleName } from './optim.ts';
import { localGemmBackend } from '../kernels/batch-fast.ts';
import { Replicas } from './replicas.ts';
import type { ActGrad, WeightGrad } from '../ops/types.ts';

export type InitName = 'clip' | 'relu' | 'leaky-clip' | 'scratch';
export const INIT_NAMES: readonly InitName[] = ['clip', 'relu', 'leaky-clip', 'scratch'];

export interface StageOptions { epochs: number; lr: number; weightDecay: number }

export interface TrainOptions {
  seed: number;
  batch: number;
  init: InitName;
  actGrad: ActGrad;
  weightGrad: WeightGrad;
  optimizer: OptName;
  momentum: number;
  schedule: ScheduleName;
  milestones: number[];
  gamma: number;
  labelSmoothing: number;
  /** clip bconv latent weights to [-1, 1] after each binary-stage update */
  weightClip: boolean;
  augment: Augment;
  /** stage 1 (real) and stage 2 (binary) hyper-parameters */
  pre: StageOptions;
  main: StageOptions;
  /** data-parallel replicas (threads) per batch, replicas.ts; absent = 1. BN uses per-shard statistics when > 1 */
  replicas?: number;
}

export interface StagePlan { name: 'real' | 'binary'; cfg: NetConfig; opts: StageOptions }

export function hasBinaryLayers(net: ResolvedNetwork): boolean {
  return net.layers.some((l) => opOf(l.layer).binarises === true);
}

export function planStages(net: ResolvedNetwork, o: TrainOptions): StagePlan[] {
  const binCfg: NetConfig = { signAs: 'binary', bconvWeights: 'binary', actGrad: o.actGrad, weightGrad: o.weightGrad };
  if (!hasBinaryLayers(net)) return [{ name: 'real', cfg: { ...binCfg, signAs: 'identity', bconvWeights: 'real' }, opts: o.main }];
  const stages: StagePlan[] = [];
  if (o.init !== 'scratch' && o.pre.epochs > 0) stages.push({ name: 'real', cfg: { ...binCfg, signAs: o.init as SignAs, bconvWeights: 'real' }, opts: o.pre });
  stages.push({ name: 'binary', cfg: binCfg, opts: o.main });
  return stages;
}

/** Mixes integers into a 32-bit seed (splitmix-style finaliser per word). */
export function streamSeed(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

export interface Position { stage: number; epoch: number; batch: number; optStep: number }

export interface EvalResult { accuracy: number; correct: number; n: number; loss: number; predictions: Int32Array }

/**
 * Evaluates a network (eval mode: BN running statistics) on a split, with the forwards on this thread or
 * spread over data-parallel replicas (same logits row for row); the loop is data/classify.ts's.
 */
export async function evaluate(net: TrainNet | Replicas, ds: Dataset, split: Split, batch = 500): Promise<EvalResult> {
  let lossSum = 0;
  const r = await classifySplit(ds, split, async (x, labels) => {
    const logits = net instanceof Replicas ? await net.forwardEval(x) : net.forward(x, false);
    lossSum += softmaxCrossEntropy(logits, labels, 0).loss * x.n;
    return logits.data;
  }, { batch });
  return { accuracy: r.accuracy, correct: r.correct, n: r.images, loss: lossSum / split.n, predictions: r.predictions };
}

/** Re-estimates BN running statistics (cumulative average over `batches` training batches, no augmentation). */
export function reestimateBn(net: TrainNet, ds: Dataset, batches: number, batch: number, seed: number): void {
  const perm = Int32Array.from({ length: ds.train.n }, (_, i) => i);
  new Rng(streamSeed(seed, 0xb4)).shuffle(perm);
  net.beginBnReestimation();
  for (let b = 0; b < batches && (b + 1) * batch <= ds.train.n; b++) {
    const { x } = makeBatch(ds, ds.train, perm.subarray(b * batch, (b + 1) * batch), NO_AUGMENT, null);
    net.forward(x, false);
  }
  net.endBnReestimation();
}

// ------------------------------------------------------------------------------------------------ checkpoints

interface CheckpointMeta { format: 'birealsim.checkpoint/1'; workload: string; options: TrainOptions; position: Position; dataset: string; elapsedSeconds: number; trainImages?: number }

export function saveCheckpoint(path: string, net: TrainNet, opt: Optimizer, meta: CheckpointMeta): void {
  const tensors = new Map<string, { shape: number[]; data: StArray }>();
  for (const [k, v] of net.params) tensors.set(`param/${k}`, { shape: [v.length], data: v });
  for (const [k, v] of opt.state) tensors.set(`opt/${k}`, { shape: [v.length], data: v });
  writeFileAtomic(path, encodeSafetensors(tensors, { 'birealsim.checkpoint': JSON.stringify(meta) }));
}

export function readCheckpoint(path: string): { meta: CheckpointMeta; params: Map<string, Float32Array>; opt: Map<string, Float32Array> } {
  if (!existsSync(path)) throw new UserError('E_RESUME', `no checkpoint at ${path}`, { hint: 'resume needs the --out directory of an earlier run' });
  const st = decodeSafetensors(readFileSync(path), path);
  const raw = st.metadata['birealsim.checkpoint'];
  if (!raw) throw new UserError('E_RESUME', 'not a birealsim checkpoint', { file: path });
  const meta = JSON.parse(raw) as CheckpointMeta;
  const params = new Map<string, Float32Array>(), opt = new Map<string, Float32Array>();
  for (const [k, t] of st.tensors) {
    if (k.startsWith('param/')) params.set(k.slice(6), t.data as Float32Array);
    else if (k.startsWith('opt/')) opt.set(k.slice(4), t.data as Float32Array);
  }
  return { meta, params, opt };
}

// ------------------------------------------------------------------------------------------------ training

export interface TrainRun {
  net: ResolvedNetwork;
  dataset: Dataset;
  options: TrainOptions;
  outDir: string;
  /** resume from outDir/checkpoint.safetensors */
  resume?: boolean;
  /** progress line sink (default: none) */
  log?: (line: string) => void;
  /** seconds between progress lines */
  progressEvery?: number;
  /** evaluate on the test split after every epoch (default true) */
  evalEachEpoch?: boolean;
  /** stop (as if interrupted) when the global optimiser step count reaches this (tests) */
  stopAtStep?: number;
  /** provenance written into the model */
  meta?: Record<string, string>;
  /** start from these latent weights instead of random ones (ignored on resume) */
  initModel?: Model;
}

export interface TrainResult {
  interrupted: boolean;
  model: Model | null;
  testAccuracy: number;
  stageAccuracies: number[];
  seconds: number;
  imagesPerSecond: number;
  position: Position;
  trainNet: TrainNet;
}

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const MODEL_FILE = 'model.safetensors';
export const METRICS_FILE = 'metrics.jsonl';

/** Files of a training run's output directory (replaced as a set; other files there are kept). */
export const TRAIN_FILES = [MODEL_FILE, CHECKPOINT_FILE, METRICS_FILE, 'stage1.safetensors'] as const;

/** Where a run in progress keeps its checkpoint, metrics and stage-1 model: `<out>.partial`, beside `<out>`. */
export function workDirOf(outDir: string): string {
  return join(dirname(outDir), `${basename(outDir)}.partial`);
}

/**
 * Trains into `outDir` atomically as a set: the run works in `<out>.partial` (checkpoints, metrics, stage-1
 * model; `--resume` continues from there) and, when it completes, that directory is swapped into place
 * (core/atomic.ts replaceDirAtomic). A kill leaves `outDir` as it was (the previous run's complete set, or
 * absent) plus a resumable `<out>.partial`, never a new model beside old metrics. `<out>.lock` refuses a
 * second live run on the same output; a killed run's lock is taken over.
 */
export async function train(run: TrainRun): Promise<TrainResult> {
  const outDir = run.outDir, work = workDirOf(outDir);
  checkDirTarget(outDir);
  const release = lockPath(outDir, 'E_LOCKED', 'training run');
  try {
    cleanStale(outDir);
    if (run.resume) {
      // a completed run (or one written before <out>.partial existed) resumes from the checkpoint in <out>
      if (!existsSync(join(work, CHECKPOINT_FILE)) && existsSync(join(outDir, CHECKPOINT_FILE))) {
        rmSync(work, { recursive: true, force: true });
        mkdirSync(work, { recursive: true });
        for (const f of TRAIN_FILES) if (existsSync(join(outDir, f))) copyFileSync(join(outDir, f), join(work, f));
      }
    } else {
      rmSync(work, { recursive: true, force: true }); // a fresh run: an abandoned partial run is discarded
    }
    const r = await trainIn({ ...run, outDir: work });
    if (!r.interrupted) replaceDirAtomic(outDir, work, { owned: TRAIN_FILES });
    return r;
  } finally { release(); }
}

async function trainIn(run: TrainRun): Promise<TrainResult> {
  const { net, dataset: ds, outDir } = run;
  const log = run.log ?? (() => {});
  mkdirSync(outDir, { recursive: true });
  const ckptPath = join(outDir, CHECKPOINT_FILE);
  let o = run.options;
  let pos: Position = { stage: 0, epoch: 0, batch: 0, optStep: 0 };
  let elapsedBefore = 0;
  const tn = new TrainNet(net, { signAs: 'identity', bconvWeights: 'real', actGrad: o.actGrad, weightGrad: o.weightGrad }, streamSeed(o.seed, 0x1417));
  let resumed: ReturnType<typeof readCheckpoint> | null = null;
  if (run.initModel && !run.resume) tn.loadLatent(run.initModel);
  if (run.resume) {
    resumed = readCheckpoint(ckptPath);
    if (resumed.meta.workload !== JSON.stringify(net.workload)) throw new UserError('E_RESUME', 'the checkpoint was made for a different network', { file: ckptPath, hint: 'pass the same --model as the interrupted run' });
    if (resumed.meta.dataset !== ds.name) throw new UserError('E_RESUME', `the checkpoint was trained on '${resumed.meta.dataset}', not '${ds.name}'`, { file: ckptPath });
    if (resumed.meta.trainImages !== undefined && resumed.meta.trainImages !== ds.train.n) throw new UserError('E_RESUME', `the checkpoint was trained on ${resumed.meta.trainImages} training images, this dataset has ${ds.train.n}`, { file: ckptPath, hint: 'pass the same --limit-train as the interrupted run' });
    o = resumed.meta.options;
    pos = resumed.meta.position;
    elapsedBefore = resumed.meta.elapsedSeconds;
    for (const [k, v] of tn.params) {
      const src = resumed.params.get(k);
      if (!src || src.length !== v.length) throw new UserError('E_RESUME', `checkpoint lacks tensor ${k}`, { file: ckptPath });
      v.set(src);
    }
    log(`resuming from ${ckptPath} at stage ${pos.stage + 1}, epoch ${pos.epoch + 1}, batch ${pos.batch} (options from the checkpoint)`);
  }
  const stages = planStages(net, o);
  const rep = (o.replicas ?? 1) > 1 ? await Replicas.start(tn, o.replicas!, localGemmBackend()) : null;
  const evalTest = () => evaluate(rep ?? tn, ds, ds.test);
  const decayed = new Set(tn.weightNames);
  const trainable = tn.trainableNames();
  let interrupted = false;
  const onSig = () => { interrupted = true; log('interrupt: saving a checkpoint at the end of this batch (Ctrl-C again to abort)'); process.off('SIGINT', onSig); };
  process.on('SIGINT', onSig);
  const metricsPath = join(outDir, METRICS_FILE);
  const t0 = performance.now();
  let imagesDone = 0;
  const stageAccuracies: number[] = [];
  let lastTestAcc = NaN;
  let finalEval: EvalResult | null = null;
  const metaFor = (): CheckpointMeta => ({ format: 'birealsim.checkpoint/1', workload: JSON.stringify(net.workload), options: o, position: { ...pos }, dataset: ds.name, trainImages: ds.train.n, elapsedSeconds: elapsedBefore + (performance.now() - t0) / 1000 });
  try {
    for (; pos.stage < stages.length; pos.stage++, pos.epoch = 0, pos.batch = 0, pos.optStep = 0) {
      const st = stages[pos.stage];
      tn.cfg = st.cfg;
      const opt = new Optimizer({ name: o.optimizer, lr: st.opts.lr, weightDecay: st.opts.weightDecay, momentum: o.momentum, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
      if (resumed) { for (const [k, v] of resumed.opt) opt.state.set(k, v.slice()); opt.step = pos.optStep; resumed = null; }
      const batchesPerEpoch = Math.floor(ds.train.n / o.batch);
      const totalIters = batchesPerEpoch * st.opts.epochs;
      log(`stage ${pos.stage + 1}/${stages.length} (${st.name}: activations ${st.cfg.signAs}${st.cfg.signAs === 'binary' ? `/${st.cfg.actGrad}` : ''}, bconv weights ${st.cfg.bconvWeights}${st.cfg.bconvWeights === 'binary' ? `/${st.cfg.weightGrad}` : ''}), ${st.opts.epochs} epochs x ${batchesPerEpoch} batches of ${o.batch}, ${o.optimizer} lr ${st.opts.lr} ${o.schedule}`);
      for (; pos.epoch < st.opts.epochs; pos.epoch++, pos.batch = 0) {
        const perm = Int32Array.from({ length: ds.train.n }, (_, i) => i);
        new Rng(streamSeed(o.seed, pos.stage, pos.epoch)).shuffle(perm);
        let lossSum = 0, correct = 0, seen = 0;
        let tLast = performance.now(), imgLast = 0;
        const tEpoch = performance.now();
        for (; pos.batch < batchesPerEpoch; pos.batch++) {
          // the loop is synchronous compute: yield once per batch so a pending SIGINT handler can run
          await new Promise<void>((res) => setImmediate(res));
          if (interrupted || (run.stopAtStep !== undefined && totalStep(stages, pos, batchesPerEpoch) >= run.stopAtStep)) {
            interrupted = true;
            saveCheckpoint(ckptPath, tn, opt, metaFor());
            log(`checkpoint saved to ${ckptPath}; continue with --resume`);
            return { interrupted: true, model: null, testAccuracy: NaN, stageAccuracies, seconds: elapsedBefore + (performance.now() - t0) / 1000, imagesPerSecond: 0, position: { ...pos }, trainNet: tn };
          }
          const idx = perm.subarray(pos.batch * o.batch, (pos.batch + 1) * o.batch);
          const { x, labels } = makeBatch(ds, ds.train, idx, o.augment, new Rng(streamSeed(o.seed, pos.stage, pos.epoch, pos.batch, 0xa0)));
          let r: { loss: number; correct: number };
          if (rep) r = await rep.trainStep(x, labels, o.labelSmoothing);
          else {
            tn.zeroGrad();
            const logits = tn.forward(x, true);
            r = softmaxCrossEntropy(logits, labels, o.labelSmoothing);
            tn.backward((r as ReturnType<typeof softmaxCrossEntropy>).dlogits);
          }
          const lr = learningRate(st.opts.lr, { name: o.schedule, milestones: o.milestones, gamma: o.gamma }, pos.optStep, totalIters, pos.epoch);
          opt.update(tn.params, tn.grads, trainable, decayed, lr);
          pos.optStep++;
          if (st.cfg.bconvWeights === 'binary' && o.weightClip) tn.clipBconvWeights();
          if (!Number.isFinite(r.loss)) throw new UserError('E_DIVERGED', `loss became ${r.loss} at stage ${pos.stage + 1} epoch ${pos.epoch + 1} batch ${pos.batch}`, { hint: 'lower --lr' });
          lossSum += r.loss * idx.length; correct += r.correct; seen += idx.length; imagesDone += idx.length;
          const now = performance.now();
          if (now - tLast > (run.progressEvery ?? 10) * 1000) {
            const ips = (seen - imgLast) / ((now - tLast) / 1000);
            log(`stage ${pos.stage + 1} epoch ${pos.epoch + 1}/${st.opts.epochs} batch ${pos.batch + 1}/${batchesPerEpoch} loss ${(lossSum / seen).toFixed(4)} train-acc ${(100 * correct / seen).toFixed(2)}% lr ${lr.toExponential(2)} ${ips.toFixed(0)} img/s`);
            tLast = now; imgLast = seen;
          }
        }
        const epochSeconds = (performance.now() - tEpoch) / 1000;
        const rec: Record<string, unknown> = {
          stage: pos.stage + 1, stage_kind: st.name, epoch: pos.epoch + 1, step: pos.optStep, train_loss: lossSum / Math.max(1, seen), train_acc: correct / Math.max(1, seen),
          img_s: seen / epochSeconds, epoch_seconds: epochSeconds,
        };
        if (run.evalEachEpoch !== false || pos.epoch === st.opts.epochs - 1) {
          const ev = await evalTest();
          rec.test_acc = ev.accuracy; rec.test_loss = ev.loss;
          lastTestAcc = ev.accuracy;
        }
        rec.elapsed_seconds = elapsedBefore + (performance.now() - t0) / 1000;
        appendFileSync(metricsPath, JSON.stringify(rec) + '\n');
        log(`stage ${pos.stage + 1} epoch ${pos.epoch + 1}/${st.opts.epochs} done: loss ${(rec.train_loss as number).toFixed(4)} train-acc ${(100 * (rec.train_acc as number)).toFixed(2)}%${rec.test_acc !== undefined ? ` test-acc ${(100 * (rec.test_acc as number)).toFixed(2)}%` : ''} ${(rec.img_s as number).toFixed(0)} img/s ${epochSeconds.toFixed(0)} s`);
        const next: Position = { stage: pos.stage, epoch: pos.epoch + 1, batch: 0, optStep: pos.optStep };
        if (next.epoch >= st.opts.epochs) { next.stage++; next.epoch = 0; next.optStep = 0; }
        const save = pos; pos = next;
        saveCheckpoint(ckptPath, tn, next.stage === save.stage ? opt : new Optimizer(opt.cfg), metaFor());
        pos = save;
      }
      stageAccuracies.push(lastTestAcc);
      if (st.name === 'real' && pos.stage < stages.length - 1) saveModel(join(outDir, 'stage1.safetensors'), tn.toLatent({ ...run.meta, stage: 'real-valued stage 1', dataset: ds.name, 'input.mean': String(ds.mean), 'input.std': String(ds.std) }));
    }
    if (!Number.isFinite(lastTestAcc)) finalEval = await evalTest();
  } finally {
    process.off('SIGINT', onSig);
    await rep?.close();
  }
  const seconds = elapsedBefore + (performance.now() - t0) / 1000;
  // the last epoch already evaluated the final weights on the test split (unless resumed past it)
  const final = finalEval ?? { accuracy: lastTestAcc };
  const model = tn.toLatent({
    ...run.meta,
    dataset: ds.name, 'dataset.split': ds.note, 'input.mean': String(ds.mean), 'input.std': String(ds.std),
    'train.options': JSON.stringify(o), 'train.test_accuracy': String(final.accuracy), 'train.seconds': seconds.toFixed(1),
  });
  saveModel(join(outDir, MODEL_FILE), model);
  return { interrupted: false, model, testAccuracy: final.accuracy, stageAccuracies, seconds, imagesPerSecond: imagesDone / ((performance.now() - t0) / 1000), position: pos, trainNet: tn };
}

function totalStep(stages: StagePlan[], pos: Position, batchesPerEpoch: number): number {
  let s = 0;
  for (let i = 0; i < pos.stage; i++) s += stages[i].opts.epochs * batchesPerEpoch;
  return s + pos.epoch * batchesPerEpoch + pos.batch;
}
