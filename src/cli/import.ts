/**
 * `birealsim import <model.onnx | state dict.safetensors> --out <model.safetensors>`: an ONNX network (PyTorch, Brevitas, ...) as a
 * birealsim latent model (interop/onnx-import.ts maps it through the op registry). The written model is an
 * ordinary latent model: `export` makes it deployable; `verify`, `cost`, `simulate`, `eval` take it.
 * Input normalisation, class count and dataset come from flags or the ONNX metadata (birealsim.input_mean,
 * birealsim.input_std, birealsim.classes, birealsim.dataset) and are stated in the output. With a dataset,
 * the model's normalisation is compared with the dataset's (the one golden evaluation feeds) and converted
 * by an affine input layer (a bn) when they differ.
 *
 * `birealsim import <topology.csv> --binary|--real --out <net.json>`: a SCALE-Sim topology (conv or GEMM form)
 * as a workload of independent binary (sign + bconv) or real (conv) layers, one per row
 * (interop/scalesim-topology.ts; docs/workload.md "SCALE-Sim topology import"). The file is chosen by its
 * extension (.csv); the workload is validated before it is written (atomically).
 *
 * A `.safetensors` input is a PyTorch state dict instead (interop/torch-import.ts): `--workload` gives its
 * network, `--map` which tensor is which IR parameter (default: the names `export-torch` generates); the
 * dataset comes from `--dataset` or the file's metadata `birealsim.dataset` (train.py of export-torch writes it).
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { loadDataset } from '../data/datasets.ts';
import { saveModel } from '../ir/model.ts';
import { importOnnx, onnxMetadata } from '../interop/onnx-import.ts';
import { readOnnxFile } from '../interop/onnx-proto.ts';
import { readFileSync } from 'node:fs';
import { UserError } from '../core/diagnostics.ts';
import { resolveNetwork, validateWorkload } from '../ir/validate.ts';
import { importTopology } from '../interop/scalesim-topology.ts';
import { emit, toJson } from './io.ts';
import { loadNetwork, sha256 } from './load.ts';
import { importStateDict, parseTensorMap } from '../interop/torch-import.ts';
import { torchStateDict } from '../interop/torch-export.ts';

interface ImportArgs { input: string; workload?: string; map?: string; out: string; binary?: boolean; real?: boolean; dataset?: string; data?: string; classes?: number; inputMean?: number; inputStd?: number; name?: string; json?: boolean }

export const importCommand = {
  command: 'import <input>',
  describe: 'import an ONNX network (binary convs as Sign -> Conv) or a PyTorch state dict with its workload as a birealsim latent model, or a SCALE-Sim topology CSV as a workload',
  builder: (y: Argv) => y
    .positional('input', { type: 'string', describe: 'ONNX model (.onnx), a PyTorch state dict (.safetensors) with --workload, or a SCALE-Sim topology (.csv)' })
    .option('workload', { type: 'string', describe: 'state dicts: the network (workload .json, built-in name, or a model whose network to use)' })
    .option('map', { type: 'string', describe: 'state dicts: JSON object state-dict name -> "<layer id>.<param>" (null skips a tensor); default: the names export-torch generates' })
    .option('out', { type: 'string', demandOption: true, describe: 'latent model (.safetensors) to write; for a .csv topology, the workload (.json)' })
    .option('binary', { type: 'boolean', describe: 'topology CSV: each row as sign + binary conv (bconv)', conflicts: 'real' })
    .option('real', { type: 'boolean', describe: 'topology CSV: each row as a real (fp32) conv', conflicts: 'binary' })
    .option('dataset', { type: 'string', describe: 'mnist | fashion-mnist | idx:DIR the model is for (default: ONNX metadata birealsim.dataset)' })
    .option('data', { type: 'string', describe: 'IDX dataset directory' })
    .option('classes', { type: 'number', describe: 'expected class count (default: ONNX metadata birealsim.classes; checked against the output size)' })
    .option('input-mean', { type: 'number', describe: 'the model expects x = (pixel/255 - mean) / std: mean (default: metadata birealsim.input_mean)' })
    .option('input-std', { type: 'number', describe: 'std of that normalisation (default: metadata birealsim.input_std)' })
    .option('name', { type: 'string', describe: 'network name (default: the ONNX graph or file name)' })
    .option('json', { type: 'boolean', describe: 'print the result as JSON' }),
  handler: (argv: ArgumentsCamelCase<ImportArgs>) => {
    if (/\.csv$/i.test(argv.input)) { importCsv(argv); return; }
    if (argv.binary || argv.real) throw new UserError('E_USAGE', `--${argv.binary ? 'binary' : 'real'} applies to a SCALE-Sim topology (.csv), not to '${argv.input}'`, { path: argv.binary ? '--binary' : '--real', hint: 'an ONNX model carries its own precision (Sign -> Conv is binary)' });
    if (argv.input.endsWith('.safetensors') || argv.workload !== undefined || argv.map !== undefined) { importStateDictCommand(argv); return; }
    const t0 = performance.now();
    const { model: onnx, bytes } = readOnnxFile(argv.input);
    const md = onnxMetadata(onnx);
    const dsName = argv.dataset ?? (argv.data ? undefined : md['birealsim.dataset']);
    const ds = dsName || argv.data ? loadDataset(dsName, argv.data) : undefined;
    const { model, notes, counts } = importOnnx(onnx, {
      file: argv.input, name: argv.name, classes: argv.classes, inputMean: argv.inputMean, inputStd: argv.inputStd,
      dataset: ds?.name, datasetNorm: ds ? { mean: ds.mean, std: ds.std } : undefined, sha256: sha256(bytes),
    });
    if (ds) {
      const i = model.net.input;
      if (i.h !== ds.h || i.w !== ds.w || i.c !== ds.c) notes.push(`warning: the network takes ${i.h}x${i.w}x${i.c} inputs, ${ds.name} has ${ds.h}x${ds.w}x${ds.c} images`);
    }
    saveModel(argv.out, model);
    const seconds = (performance.now() - t0) / 1000;
    const result = { input: argv.input, out: argv.out, kind: 'latent', network: model.net.workload.name, dataset: ds?.name ?? null, ...counts, notes, seconds };
    if (argv.json) { emit(toJson(result)); return; }
    emit([
      `imported ${argv.input} -> ${argv.out} (latent model '${model.net.workload.name}', ${counts.onnxNodes} ONNX nodes -> ${counts.layers} layers) in ${seconds.toFixed(2)} s`,
      ...notes.map((n) => `  ${n}`),
      `  dataset: ${ds ? ds.name : 'none recorded (give --dataset to eval, export, verify)'}`,
      `next: birealsim export ${argv.out} --out <deployable.safetensors>; birealsim verify ${argv.out}; birealsim cost ${argv.out}`,
    ].join('\n'));
  },
};

/** A workload as JSON, one layer per line (deterministic: key order as built). */
export function workloadJson(wl: object & { layers: object[] }): string {
  const { layers, ...top } = wl;
  const head = JSON.stringify(top, null, 2).replace(/\n}$/, '');
  return `${head},\n  "layers": [\n${layers.map((l) => `    ${JSON.stringify(l)}`).join(',\n')}\n  ]\n}\n`;
}

function importCsv(argv: ArgumentsCamelCase<ImportArgs>): void {
  const t0 = performance.now();
  if (!argv.binary && !argv.real) throw new UserError('E_USAGE', 'a SCALE-Sim topology needs --binary or --real', { path: '--binary|--real', hint: '--binary: sign + bconv per row; --real: an fp32 conv per row' });
  if (argv.dataset || argv.data || argv.classes !== undefined || argv.inputMean !== undefined || argv.inputStd !== undefined) {
    throw new UserError('E_USAGE', '--dataset, --data, --classes, --input-mean and --input-std apply to ONNX models, not to a topology', { path: '--dataset', hint: 'a topology describes layer shapes only' });
  }
  if (argv.workload !== undefined || argv.map !== undefined) throw new UserError('E_USAGE', '--workload and --map apply to PyTorch state dicts (.safetensors), not to a topology', { path: argv.workload !== undefined ? '--workload' : '--map', hint: 'a topology is its own network description' });
  if (!/\.json$/i.test(argv.out)) throw new UserError('E_USAGE', `a topology is imported as a workload (.json), not '${argv.out}'`, { path: '--out', hint: 'name the output <name>.json: cost and simulate read .json files as workloads' });
  let text: string;
  try { text = readFileSync(argv.input, 'utf8'); } catch (e) {
    throw new UserError('E_IO', `cannot read topology: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: argv.input });
  }
  const precision = argv.binary ? 'binary' : 'real';
  const { workload, form, rows, notes } = importTopology(text, argv.input, { precision, name: argv.name });
  const net = resolveNetwork(validateWorkload(JSON.parse(JSON.stringify(workload)), argv.out), argv.out);
  emit(workloadJson(workload), argv.out);
  const seconds = (performance.now() - t0) / 1000;
  const result = { input: argv.input, out: argv.out, kind: 'workload', form, precision, network: workload.name, rows: rows.length, layers: net.layers.length, notes, seconds };
  if (argv.json) { emit(toJson(result)); return; }
  emit([
    `imported ${argv.input} -> ${argv.out} (SCALE-Sim ${form} topology, ${rows.length} independent layers -> ${net.layers.length} ${precision} workload layers) in ${seconds.toFixed(2)} s`,
    ...notes.map((n) => `  ${n}`),
    `next: birealsim cost ${argv.out} --layers; birealsim simulate ${argv.out} --arch ${precision === 'binary' ? 'scalesim-compat' : 'arch/examples/scalesim-compat-mac.json (real layers on a MAC systolic array, as SCALE-Sim counts them)'}`,
  ].join('\n'));
}

/** `import <state dict>.safetensors --workload NET [--map names.json]` (interop/torch-import.ts). */
function importStateDictCommand(argv: ArgumentsCamelCase<ImportArgs>): void {
  const t0 = performance.now();
  if (!argv.input.endsWith('.safetensors')) throw new UserError('E_USAGE', `--workload and --map apply to PyTorch state dicts (.safetensors), not '${argv.input}'`, { path: '--workload', hint: 'an ONNX file carries its own network: birealsim import model.onnx --out m.safetensors' });
  if (argv.workload === undefined) throw new UserError('E_USAGE', 'a state dict holds no network description: give --workload', { file: argv.input, path: '--workload', hint: 'the workload.json written by `birealsim export-torch`, a built-in name, or your own workload .json' });
  if (argv.inputMean !== undefined || argv.inputStd !== undefined) throw new UserError('E_USAGE', '--input-mean/--input-std apply to ONNX imports', { path: '--input-mean', hint: 'a state dict trained by export-torch\'s train.py uses the dataset\'s normalisation, as birealsim does' });
  const { net } = loadNetwork(argv.workload);
  let bytes: Buffer;
  try { bytes = readFileSync(argv.input); } catch (e) { throw new UserError('E_IO', `cannot read state dict: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: argv.input }); }
  let map;
  if (argv.map !== undefined) {
    let text: string;
    try { text = readFileSync(argv.map, 'utf8'); } catch (e) { throw new UserError('E_IO', `cannot read map: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: argv.map }); }
    map = parseTensorMap(text, argv.map, torchStateDict(net).tensors.map((t) => t.ir));
  }
  const r0 = importStateDict(bytes, { file: argv.input, net, map, mapFile: argv.map });
  const dsName = argv.dataset ?? (argv.data ? undefined : r0.metadata['birealsim.dataset']);
  const ds = dsName || argv.data ? loadDataset(dsName, argv.data) : undefined;
  const model = r0.model;
  model.meta = { ...model.meta, 'import.source': argv.input, 'import.sha256': sha256(bytes), 'import.producer': r0.metadata['birealsim.producer'] ?? 'PyTorch state dict' };
  if (ds) model.meta.dataset = ds.name;
  const out = model.net.byId.get(model.net.output)!.out;
  if (argv.classes !== undefined && argv.classes !== out.h * out.w * out.c) throw new UserError('E_CLASSES', `--classes ${argv.classes} but the network has ${out.h * out.w * out.c} outputs`, { path: '--classes' });
  const notes = [...r0.notes];
  if (ds) {
    const i = model.net.input;
    if (i.h !== ds.h || i.w !== ds.w || i.c !== ds.c) notes.push(`warning: the network takes ${i.h}x${i.w}x${i.c} inputs, ${ds.name} has ${ds.h}x${ds.w}x${ds.c} images`);
  }
  saveModel(argv.out, model);
  const seconds = (performance.now() - t0) / 1000;
  const result = { input: argv.input, workload: argv.workload, map: argv.map ?? null, out: argv.out, kind: 'latent', network: model.net.workload.name, dataset: ds?.name ?? null, ...r0.counts, notes, seconds };
  if (argv.json) { emit(toJson(result)); return; }
  emit([
    `imported ${argv.input} -> ${argv.out} (latent model '${model.net.workload.name}', ${r0.counts.tensors} tensors ${argv.map ? `mapped by ${argv.map}` : 'by export-torch names'}) in ${seconds.toFixed(2)} s`,
    ...notes.map((n) => `  ${n}`),
    `  dataset: ${ds ? ds.name : 'none recorded (give --dataset to eval, export, verify)'}`,
    `next: birealsim export ${argv.out} --out <deployable.safetensors>; birealsim verify ${argv.out}; birealsim cost ${argv.out}`,
  ].join('\n'));
}
