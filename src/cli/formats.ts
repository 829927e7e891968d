/**
 * `birealsim formats <model>`: accuracy x hardware co-exploration of the real-valued stream format (issue 6).
 * For every format (fp32, fp16, int<8|16>q<F>, core/realformat.ts):
 *  1. accuracy: the golden model (lower(model, {realFormat})) on the --images test images (all by default, else a class-balanced seeded sample, data/sample.ts); agreement of
 *     its predictions with the fp32 run, and the largest |logit - fp32 logit|;
 *  2. cost: the simulator (timing, traffic, energy) on the --arch spec with buffers.realStream.precisionBits
 *     set to the format's width (raw spec -> mergeSpec -> resolveArch, named "<arch>-real<bits>");
 *  3. bit-exactness: the functional simulator in that format vs the golden model, every layer bit for bit,
 *     on the first --check-images images.
 * Invariants: fp32 is always evaluated (it is the agreement reference); the JSON (kind "formats") holds no
 * wall-clock value and no randomness beyond a recorded weight seed, so the same inputs give the same bytes;
 * the cost of a format depends only on its width (the simulator's traffic and energy read arch.realBits;
 * real-unit and PE-array settings are those of the base arch). Bad input -> UserError (exit 2).
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { UserError } from '../core/diagnostics.ts';
import { FP32, parseRealFormat, type RealFormat } from '../core/realformat.ts';
import { tensor, type Tensor } from '../core/tensor.ts';
import { encodeModel, randomModel, type Model } from '../ir/model.ts';
import { resolveNetwork } from '../ir/validate.ts';
import { lower } from '../golden/plan.ts';
import { loadArch, mergeSpec, resolveArch, type ResolvedArch } from '../sim/arch.ts';
import type { Mapping } from '../sim/mapper.ts';
import { simulate } from '../sim/simulate.ts';
import { makeBatch, NO_AUGMENT, type Dataset } from '../data/datasets.ts';
import { sampleTestIndices, subsetSplit, type ImageCount } from '../data/sample.ts';
import { imagesFlag } from './flags.ts';
import { TRAIN_VARIANTS, variantWorkload } from '../train/variants.ts';
import { renderText, renderMarkdown, fmtInt, type Table } from '../report/table.ts';
import { goldenPredictions } from '../golden/evaluate.ts';
import { changedPredictions } from '../data/classify.ts';
import { checkCompatible, loadDatasetFlags } from './train.ts';
import { kernelsByName, KERNEL_NAMES, warmKernels } from './kernels.ts';
import { loadTarget, sha256 } from './load.ts';
import { emit, requestExitCode, toJson, TOOL_VERSION } from './io.ts';

export const DEFAULT_FORMATS = 'fp32,fp16,int16q8,int16q10,int8q4,int8q5';

export interface FormatRow {
  format: RealFormat;
  arch: string;
  accuracy: { correct: number; images: number; accuracy: number; agreementWithFp32: number; changedVsFp32: number; maxAbsLogitDiffVsFp32: number };
  sim: {
    feasible: boolean; infeasible?: string;
    cycles?: number; latencyMs?: number; framesPerSecond?: number; energyPerFrameJ?: number; energyJ?: Record<string, number>;
    dramBytes?: number; realStreamSramBytes?: { readBytes: number; writeBytes: number; totalBytes: number };
  };
  bitExact: { images: number; bitExactImages: number; stepsChecked: number; firstMismatch?: string } | { skipped: string };
}

export interface FormatsResult {
  tool: 'birealsim'; version: string; kind: 'formats';
  model: { path: string; sha256: string; kind: string; network: string; weights: string };
  dataset: { name: string; images: number; testImages: number; source: string; indices?: number[] };
  kernels: string;
  baseArch: { name: string; file?: string };
  archDerivation: string;
  reference: 'fp32';
  formats: FormatRow[];
  archs: ResolvedArch[];
  definitions: Record<string, string>;
  notes: string[];
}

export const FORMATS_DEFINITIONS: Record<string, string> = {
  'accuracy [0-1]': 'golden-model top-1 accuracy on the evaluated test images: correct / images (argmax of the logits, first index on ties)',
  'agreementWithFp32 [0-1]': 'fraction of evaluated images whose golden prediction in this format equals the fp32 golden prediction',
  'maxAbsLogitDiffVsFp32': 'largest |logit(format) - logit(fp32)| over all evaluated images and classes',
  'latencyMs [ms], energyPerFrameJ [J], dramBytes [B]': 'simulator totals for one frame on the derived arch (see birealsim simulate definitions)',
  'realStreamSramBytes [B]': 'bytes read from and written to the on-chip realStream buffer over one frame (simulator traffic counts)',
  'bitExact': 'functional simulation in this format vs the golden model in this format, every step output and accumulator compared bit for bit, on the first check images',
};

interface FormatsArgs { model: string; formats: string; dataset?: string; data?: string; arch: string; images?: ImageCount | string; checkImages: number; kernels: string; seed: number; json?: boolean; out?: string }

/** Parses the --formats list; fp32 is put first when absent (it is the agreement reference). */
export function parseFormatList(s: string): { formats: RealFormat[]; addedFp32: boolean } {
  const names = s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  if (names.length === 0) throw new UserError('E_ARG', 'no formats given', { path: '--formats', hint: `e.g. --formats ${DEFAULT_FORMATS}` });
  const seen = new Set<string>();
  const formats = names.map((n) => {
    const f = parseRealFormat(n, '--formats');
    if (seen.has(f.name)) throw new UserError('E_ARG', `format '${f.name}' is listed twice`, { path: '--formats', hint: 'list each format once' });
    seen.add(f.name);
    return f;
  });
  const addedFp32 = !seen.has('fp32');
  return { formats: addedFp32 ? [FP32, ...formats] : formats, addedFp32 };
}

/** The model argument: a model file, a built-in / workload JSON (seeded random weights), or a trainer variant name (seeded random weights). */
function loadModelArg(arg: string, seed: number): { model: Model; path: string; sha256: string; weights: string } {
  if (!existsSync(arg) && TRAIN_VARIANTS[arg]) {
    const model = randomModel(resolveNetwork(variantWorkload(arg)!), seed);
    return { model, path: arg, sha256: sha256(encodeModel(model)), weights: `random (seed ${seed})` };
  }
  const t = loadTarget(arg, seed);
  if (t.source.kind === 'model-file') return { model: t.model, path: arg, sha256: t.source.sha256!, weights: t.source.weights };
  return { model: t.model, path: arg, sha256: sha256(encodeModel(t.model)), weights: t.source.weights };
}

/** Raw (as written) spec of an arch preset or file, already validated by loadArch. */
function rawSpec(base: ResolvedArch): unknown {
  return JSON.parse(readFileSync(base.file!, 'utf8'));
}

/** The base arch with buffers.realStream.precisionBits = bits, resolved; named "<base>-real<bits>". */
export function archForBits(baseRaw: unknown, baseName: string, bits: number, file?: string): ResolvedArch {
  const desc = (baseRaw as { description?: string }).description ?? '';
  return resolveArch(mergeSpec(baseRaw, { name: `${baseName}-real${bits}`, description: `${desc} [derived: buffers.realStream.precisionBits = ${bits}]`.trim(), buffers: { realStream: { precisionBits: bits } } }), file);
}

function testImages(ds: Dataset, n: number): Tensor[] {
  const { x } = makeBatch(ds, ds.test, Int32Array.from({ length: n }, (_, i) => i), NO_AUGMENT, null);
  const img = ds.h * ds.w * ds.c;
  return Array.from({ length: n }, (_, b) => tensor(ds.h, ds.w, ds.c, x.data.slice(b * img, (b + 1) * img)));
}

export async function exploreFormats(a: FormatsArgs, log: (s: string) => void = () => {}): Promise<FormatsResult> {
  const { formats, addedFp32 } = parseFormatList(a.formats);
  const count = a.images === undefined ? 'all' : imagesFlag(a.images);
  if (!(Number.isInteger(a.checkImages) && a.checkImages >= 0)) throw new UserError('E_ARG', `--check-images: expected an integer >= 0, got ${a.checkImages}`, { path: '--check-images' });
  const kernels = kernelsByName(a.kernels);
  const m = loadModelArg(a.model, a.seed);
  const model = m.model;
  const dsName = a.dataset ?? (a.data ? undefined : model.meta.dataset);
  if (!dsName && !a.data) throw new UserError('E_DATA', 'no dataset given and none recorded in the model', { file: existsSync(a.model) ? a.model : undefined, hint: 'use --dataset mnist|fashion-mnist|idx:DIR (accuracy needs labelled test images)' });
  const full = loadDatasetFlags({ dataset: dsName, data: a.data });
  checkCompatible(model.net, full);
  // a class-balanced seeded sample (data/sample.ts), or the whole test split
  const sample = sampleTestIndices(full.test.labels, full.test.n, count, a.seed);
  const ds: Dataset = sample.all ? full : { ...full, test: subsetSplit(full.test, sample.indices, full.h * full.w * full.c) };
  const n = ds.test.n;
  if (n < 1) throw new UserError('E_DATA', `the test split of ${ds.name} is empty`, { hint: 'give a dataset with test images' });
  const nCheck = Math.min(a.checkImages, n);

  const base = loadArch(a.arch);
  const baseRaw = rawSpec(base);
  const archFile = base.file ? relative(process.cwd(), base.file) : undefined;
  const archs = new Map<number, ResolvedArch>();
  const archOf = (bits: number) => { let x = archs.get(bits); if (!x) { x = archForBits(baseRaw, base.name, bits, archFile); archs.set(bits, x); } return x; };

  await warmKernels(kernels);
  const checkInputs = nCheck > 0 ? testImages(ds, nCheck) : [];
  let refPreds: Int32Array | undefined, refLogits: Float32Array | undefined;
  let classes = 0;
  const rows: FormatRow[] = [];
  for (const f of formats) {
    const t0 = performance.now();
    // 1. accuracy (fp32 first: it is the reference)
    let maxDiff = 0;
    const isRef = f.kind === 'fp32';
    const logitsStore = isRef ? { arr: undefined as Float32Array | undefined } : undefined;
    const g = await goldenPredictions(model, ds, kernels, {
      realFormat: f, images: n,
      onLogits: (i, l) => {
        if (classes === 0) classes = l.length;
        if (logitsStore) { logitsStore.arr ??= new Float32Array(n * l.length); logitsStore.arr.set(l, i * l.length); }
        else for (let k = 0; k < l.length; k++) maxDiff = Math.max(maxDiff, Math.abs(l[k] - refLogits![i * l.length + k]));
      },
    });
    if (isRef) { refPreds = g.predictions; refLogits = logitsStore!.arr; }
    const changed = changedPredictions(g.predictions, refPreds!);
    // 2. cost on the derived arch
    const arch = archOf(f.bits);
    const plan = lower(model, { realFormat: f });
    const s = simulate(plan, arch);
    const sim: FormatRow['sim'] = { feasible: s.feasible };
    if (s.totals) {
      const rs = s.totals.sramBytes.realStream;
      Object.assign(sim, {
        cycles: s.totals.cycles, latencyMs: s.totals.latencyMs, framesPerSecond: s.totals.framesPerSecond, energyPerFrameJ: s.totals.energyPerFrameJ,
        energyJ: s.totals.energyJ, dramBytes: s.totals.dramBytes, realStreamSramBytes: { readBytes: rs.readBytes, writeBytes: rs.writeBytes, totalBytes: rs.readBytes + rs.writeBytes },
      });
    } else sim.infeasible = s.infeasible.map((x) => `${x.layer}: ${x.reason}`).join('; ');
    // 3. golden vs functional simulator, bit for bit, in this format
    let bitExact: FormatRow['bitExact'];
    if (!s.feasible) bitExact = { skipped: `the network does not map onto '${arch.name}'` };
    else if (nCheck === 0) bitExact = { skipped: '--check-images 0' };
    else {
      const mappings: Record<string, Mapping> = Object.fromEntries(s.layers.filter((l) => l.mapping).map((l) => [l.id, l.mapping!]));
      let ok = 0, steps = 0, first: string | undefined;
      checkInputs.forEach((x, i) => {
        const r = simulate(plan, arch, { mappings, functional: { input: x, kernels, verify: true } });
        steps = r.functional?.stepsChecked ?? steps;
        if (r.functional?.verified) ok++;
        else if (!first) {
          const mm = r.functional?.mismatches?.[0];
          first = mm ? `image ${i}: layer ${mm.layer} (step ${mm.step}), tile ${mm.tile}, ${mm.what} at (y,x,c) = (${mm.coordinate.join(',')}): golden ${mm.expected}, simulator ${mm.got}` : `image ${i}: no functional result`;
        }
      });
      bitExact = { images: nCheck, bitExactImages: ok, stepsChecked: steps, ...(first ? { firstMismatch: first } : {}) };
    }
    rows.push({ format: f, arch: arch.name, accuracy: { correct: g.correct, images: n, accuracy: g.accuracy, agreementWithFp32: (n - changed) / n, changedVsFp32: changed, maxAbsLogitDiffVsFp32: maxDiff }, sim, bitExact });
    log(`${f.name}: accuracy ${(100 * g.accuracy).toFixed(2)}% on ${n} images, ${changed} predictions differ from fp32; ${s.totals ? `${(s.totals.energyPerFrameJ * 1e6).toPrecision(4)} uJ/frame on ${arch.name}` : 'infeasible'}; ${'skipped' in bitExact ? 'bit-exact check skipped' : `bit-exact ${bitExact.bitExactImages}/${bitExact.images}`} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const notes = [
    `each format is simulated on '${base.name}'${archFile ? ` (${archFile})` : ''} with buffers.realStream.precisionBits set to the format's width (mergeSpec + resolveArch); every other setting is the base arch's: real unit ${base.realUnit.precision}, PE array ${base.peArray.type}`,
    'the simulator costs a format by its width only: formats of equal width (fp16, int16q*) have identical latency, traffic and energy; default post-processing and pooling energies follow the width (32: fp32, 16: fp16 Horowitz entries, 8: int8 entries)',
    'golden and functional simulator round every stored real tensor to the format (core/realformat.ts); real convs and the FC compute in fp32 arithmetic before that rounding; the input image is not rounded',
  ];
  if (addedFp32) notes.push('fp32 was not listed and was added as the agreement reference');
  return {
    tool: 'birealsim', version: TOOL_VERSION, kind: 'formats',
    model: { path: m.path, sha256: m.sha256, kind: model.kind, network: model.net.workload.name, weights: m.weights },
    dataset: { name: ds.name, images: n, testImages: full.test.n, source: `${ds.name}: ${sample.description}`, ...(sample.all ? {} : { indices: Array.from(sample.indices) }) },
    kernels: kernels.name,
    baseArch: { name: base.name, file: archFile },
    archDerivation: `${base.name} with buffers.realStream.precisionBits = format bits -> '${base.name}-real<bits>'`,
    reference: 'fp32', formats: rows, archs: [...archs.values()], definitions: FORMATS_DEFINITIONS, notes,
  };
}

const sig = (x: number | undefined, d = 4) => (x === undefined ? '-' : x === 0 ? '0' : Number(x.toPrecision(d)).toString());

export function formatsTable(r: FormatsResult): Table {
  return {
    title: `${r.model.network}: real-stream formats (${r.dataset.source}; cost on ${r.baseArch.name}-real<bits>)`,
    headers: ['format', 'bits', 'arch', 'accuracy [%]', 'agreement with fp32 [%]', 'max |logit diff|', 'latency [ms]', 'energy [uJ/frame]', 'DRAM [B]', 'realStream SRAM [B]', 'golden = sim'],
    rows: r.formats.map((f) => [f.format.name, f.format.bits, f.arch, (100 * f.accuracy.accuracy).toFixed(2), (100 * f.accuracy.agreementWithFp32).toFixed(2), sig(f.accuracy.maxAbsLogitDiffVsFp32, 3),
      sig(f.sim.latencyMs), f.sim.energyPerFrameJ === undefined ? 'infeasible' : sig(f.sim.energyPerFrameJ * 1e6), f.sim.dramBytes === undefined ? '-' : fmtInt(f.sim.dramBytes),
      f.sim.realStreamSramBytes ? fmtInt(f.sim.realStreamSramBytes.totalBytes) : '-',
      'skipped' in f.bitExact ? `skipped (${f.bitExact.skipped})` : `${f.bitExact.bitExactImages}/${f.bitExact.images} bit-exact`]),
    notes: [`model ${r.model.path} (${r.model.kind}, weights ${r.model.weights}, sha256 ${r.model.sha256.slice(0, 12)}); kernels ${r.kernels}`, ...r.notes, ...Object.entries(r.definitions).map(([k, v]) => `${k}: ${v}`)],
  };
}

export const formatsCommand = {
  command: 'formats <model>',
  describe: 'accuracy (golden model) x cost (simulator) per real-valued stream format, with a golden = simulator bit-exactness check per format',
  builder: (y: Argv) => y
    .positional('model', { type: 'string', describe: 'model .safetensors (latent or deployable), or a built-in / trainer-variant name / workload .json (seeded random weights)' })
    .option('formats', { type: 'string', default: DEFAULT_FORMATS, describe: 'comma-separated real-stream formats: fp32 | fp16 | int16q<F> | int8q<F> (fp32 is always evaluated)' })
    .option('dataset', { type: 'string', describe: 'mnist | fashion-mnist | idx:DIR (default: the one in the model metadata)' })
    .option('data', { type: 'string', describe: 'IDX dataset directory' })
    .option('arch', { type: 'string', default: 'edge', describe: 'base architecture preset or file; each format runs with realStream.precisionBits = its width' })
    .option('images', { type: 'string', describe: 'N | all: evaluate a class-balanced seeded sample of N test images (--seed), or all (default)' })
    .option('check-images', { type: 'number', default: 2, describe: 'images for the golden vs functional-simulator bit-exactness check per format (0 = skip)' })
    .option('kernels', { type: 'string', default: 'default', describe: `golden kernel set: ${KERNEL_NAMES.join(' | ')}` })
    .option('seed', { type: 'number', default: 0, describe: 'seed of random weights (built-in / variant names only) and of the --images sample' })
    .option('markdown', { type: 'boolean', describe: 'print a Markdown table', conflicts: ['json'] })
    .option('json', { type: 'boolean', describe: 'print the result as JSON (kind "formats", read by birealsim report)' })
    .option('out', { type: 'string', describe: 'write the output to this file (atomically) instead of stdout' }),
  handler: async (argv: ArgumentsCamelCase<FormatsArgs & { markdown?: boolean }>) => {
    const r = await exploreFormats(argv, (s) => process.stderr.write(`[formats] ${s}\n`));
    const t = formatsTable(r);
    emit(argv.json ? toJson(r) : argv.markdown ? renderMarkdown(t) : renderText(t), argv.out);
    const bad = r.formats.filter((f) => !('skipped' in f.bitExact) && f.bitExact.bitExactImages !== f.bitExact.images);
    if (bad.length) {
      // a check that failed, not bad input: exit 1 (main.ts)
      process.stderr.write(`check failed E_MISMATCH: golden and functional simulator differ in ${bad.map((f) => f.format.name).join(', ')}: ${(bad[0].bitExact as { firstMismatch?: string }).firstMismatch ?? ''} (hint: a simulator or golden-model bug: run birealsim simulate --functional --verify --real-format <format> to locate it)\n`);
      requestExitCode(1);
    }
  },
};
