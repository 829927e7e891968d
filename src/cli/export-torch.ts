/**
 * `birealsim export-torch <workload|model> --out DIR`: a readable PyTorch package for the network
 * (interop/torch-export.ts: model.py generated through the op registry's torch emitters; layers.py,
 * quantizers.py and train.py, the two-stage Bi-Real recipe under torchrun/DDP). A model target also writes
 * its latent weights as weights.safetensors (a PyTorch state dict). The directory is written atomically
 * (built beside it, swapped in); the same input gives the same files byte for byte.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeDirAtomic } from '../core/atomic.ts';
import { latentEquivalent } from '../ir/deploy.ts';
import { torchPackage } from '../interop/torch-export.ts';
import { emit, toJson } from './io.ts';
import { loadNetwork, loadTarget } from './load.ts';
import { resolveNetwork } from '../ir/validate.ts';
import { knownModelNames, suggestModel, variantWorkload } from '../train/variants.ts';
import { existsSync } from 'node:fs';
import { UserError } from '../core/diagnostics.ts';

interface ExportTorchArgs { target: string; out: string; json?: boolean }

export const exportTorchCommand = {
  command: 'export-torch <target>',
  describe: 'write a PyTorch package (model.py, quantizers.py, train.py for torchrun) for a workload or model',
  builder: (y: Argv) => y
    .positional('target', { type: 'string', describe: 'built-in or trainer-variant name (bireal-tiny, ...), workload .json, or model .safetensors (its weights go into weights.safetensors)' })
    .option('out', { type: 'string', demandOption: true, describe: 'output directory (replaced as a whole)' })
    .option('json', { type: 'boolean', describe: 'print the result as JSON' }),
  handler: async (argv: ArgumentsCamelCase<ExportTorchArgs>) => {
    const t0 = performance.now();
    const isModel = argv.target.endsWith('.safetensors');
    const model = isModel ? loadTarget(argv.target, 1).model : undefined;
    const variant = isModel ? undefined : variantWorkload(argv.target);
    if (!variant && !existsSync(argv.target) && !knownModelNames().includes(argv.target)) {
      const m = suggestModel(argv.target);
      throw new UserError('E_TARGET', `no such file or built-in network '${argv.target}'`, { path: '<target>', hint: `${m ? `did you mean '${m}'? ` : ''}names: ${knownModelNames().join(', ')}; or a workload .json / model .safetensors` });
    }
    const net = model ? model.net : variant ? resolveNetwork(variant) : loadNetwork(argv.target).net;
    const files = torchPackage(net, model && (model.kind === 'latent' ? model : latentEquivalent(model)));
    await writeDirAtomic(argv.out, (tmp) => { for (const [name, data] of files) writeFileSync(join(tmp, name), data); }, { owned: [...files.keys(), 'weights.safetensors'] });
    const seconds = (performance.now() - t0) / 1000;
    const list = [...files.keys()];
    if (argv.json) { emit(toJson({ target: argv.target, out: argv.out, network: net.workload.name, files: list, seconds })); return; }
    emit([
      `exported '${net.workload.name}' -> ${argv.out}/ (${list.join(', ')}) in ${seconds.toFixed(2)} s`,
      `train: cd ${argv.out} && OMP_NUM_THREADS=1 torchrun --nproc_per_node=2 train.py --dataset idx:DIR --out run/   (docs/torch.md)`,
      `back: birealsim import ${argv.out}/run/model.safetensors --workload ${argv.out}/workload.json --out m.safetensors`,
    ].join('\n'));
  },
};
