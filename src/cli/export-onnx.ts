/**
 * `birealsim export-onnx <model> --out <file.onnx>`: a latent or deployable birealsim model as ONNX (opset 13;
 * interop/onnx-export.ts: binary convs as Sign -> Conv on +-1 weights with alpha and BN folded into a
 * per-channel Mul and Add, from the golden model's lowered plan). The model's dataset, input normalisation
 * (the dataset's, which the golden evaluation feeds) and class count go into the ONNX metadata under the keys
 * `birealsim import` reads, so the file round-trips.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { writeFileAtomic } from '../core/atomic.ts';
import { isUserError } from '../core/diagnostics.ts';
import { loadDataset } from '../data/datasets.ts';
import { loadModel } from '../ir/model.ts';
import { exportOnnx } from '../interop/onnx-export.ts';
import { emit, toJson, TOOL_VERSION } from './io.ts';

interface ExportOnnxArgs { model: string; out: string; json?: boolean }

export const exportOnnxCommand = {
  command: 'export-onnx <model>',
  describe: 'write a birealsim model (latent or deployable) as ONNX: Sign -> Conv on +-1 weights, scales and BN folded',
  builder: (y: Argv) => y
    .positional('model', { type: 'string', describe: 'model (.safetensors), latent or deployable' })
    .option('out', { type: 'string', demandOption: true, describe: 'ONNX file to write' })
    .option('json', { type: 'boolean', describe: 'print the result as JSON' }),
  handler: (argv: ArgumentsCamelCase<ExportOnnxArgs>) => {
    const t0 = performance.now();
    const model = loadModel(argv.model);
    const o = model.net.byId.get(model.net.output)!.out;
    const metadata: Record<string, string> = { 'birealsim.classes': String(o.h * o.w * o.c), 'birealsim.source': argv.model, 'birealsim.kind': model.kind, 'birealsim.version': TOOL_VERSION };
    let normNote = 'input normalisation: not recorded (the model names no dataset)';
    const dsName = model.meta.dataset;
    if (dsName) {
      metadata['birealsim.dataset'] = dsName;
      try {
        const ds = loadDataset(dsName);
        metadata['birealsim.input_mean'] = String(ds.mean);
        metadata['birealsim.input_std'] = String(ds.std);
        normNote = `input normalisation: (pixel/255 - ${ds.mean}) / ${ds.std} (${ds.name}'s, as the golden evaluation feeds it), in the metadata`;
      } catch (e) {
        if (!isUserError(e)) throw e;
        normNote = `input normalisation: not recorded (dataset '${dsName}' is not available here: ${e.message})`;
      }
    }
    const r = exportOnnx(model, { metadata });
    writeFileAtomic(argv.out, r.bytes);
    const seconds = (performance.now() - t0) / 1000;
    if (argv.json) { emit(toJson({ model: argv.model, out: argv.out, kind: model.kind, nodes: r.nodes, initializers: r.initializers, bytes: r.bytes.length, metadata, seconds })); return; }
    emit([
      `exported ${argv.model} (${model.kind} '${model.net.workload.name}') -> ${argv.out}: ONNX opset 13, ${r.nodes} nodes, ${r.initializers} initializers, ${r.bytes.length} bytes, in ${seconds.toFixed(2)} s`,
      `  input 'image' [N, ${model.net.input.c}, ${model.net.input.h}, ${model.net.input.w}] (NCHW), output 'logits' [N, ${o.h * o.w * o.c}]`,
      `  ${normNote}`,
      '  binary convs: Sign -> Conv on +-1 weights -> Mul(alpha, BN folded) -> Add; ONNX Sign(0) = 0 where birealsim\'s sign(0) = +1',
    ].join('\n'));
  },
};
