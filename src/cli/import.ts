/**
 * `birealsim import <model.onnx> --out <model.safetensors>`: an ONNX network (PyTorch, Brevitas, ...) as a
 * birealsim latent model (interop/onnx-import.ts maps it through the op registry). The written model is an
 * ordinary latent model: `export` makes it deployable; `verify`, `cost`, `simulate`, `eval` take it.
 * Input normalisation, class count and dataset come from flags or the ONNX metadata (birealsim.input_mean,
 * birealsim.input_std, birealsim.classes, birealsim.dataset) and are stated in the output. With a dataset,
 * the model's normalisation is compared with the dataset's (the one golden evaluation feeds) and converted
 * by an affine input layer (a bn) when they differ.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { loadDataset } from '../data/datasets.ts';
import { saveModel } from '../ir/model.ts';
import { importOnnx, onnxMetadata } from '../interop/onnx-import.ts';
import { readOnnxFile } from '../interop/onnx-proto.ts';
import { emit, toJson } from './io.ts';
import { sha256 } from './load.ts';

interface ImportArgs { input: string; out: string; dataset?: string; data?: string; classes?: number; inputMean?: number; inputStd?: number; name?: string; json?: boolean }

export const importCommand = {
  command: 'import <input>',
  describe: 'import an ONNX network (binary convs as Sign -> Conv) as a birealsim latent model',
  builder: (y: Argv) => y
    .positional('input', { type: 'string', describe: 'ONNX model (.onnx)' })
    .option('out', { type: 'string', demandOption: true, describe: 'latent model (.safetensors) to write' })
    .option('dataset', { type: 'string', describe: 'mnist | fashion-mnist | idx:DIR the model is for (default: ONNX metadata birealsim.dataset)' })
    .option('data', { type: 'string', describe: 'IDX dataset directory' })
    .option('classes', { type: 'number', describe: 'expected class count (default: ONNX metadata birealsim.classes; checked against the output size)' })
    .option('input-mean', { type: 'number', describe: 'the model expects x = (pixel/255 - mean) / std: mean (default: metadata birealsim.input_mean)' })
    .option('input-std', { type: 'number', describe: 'std of that normalisation (default: metadata birealsim.input_std)' })
    .option('name', { type: 'string', describe: 'network name (default: the ONNX graph or file name)' })
    .option('json', { type: 'boolean', describe: 'print the result as JSON' }),
  handler: (argv: ArgumentsCamelCase<ImportArgs>) => {
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
