/** `birealsim run`: golden inference of a model (or a workload with seeded random weights) on one input. */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { createHash } from 'node:crypto';
import { lower } from '../golden/plan.ts';
import { runPlan } from '../golden/run.ts';
import { loadInput, loadTarget } from './load.ts';
import { emit, toJson, TOOL_VERSION } from './io.ts';
import { kernelsByName, KERNEL_NAMES, warmKernels } from './kernels.ts';
import { parseRealFormat } from '../core/realformat.ts';

interface RunArgs { target: string; input?: string; seed: number; json?: boolean; top: number; kernels: string; realFormat: string; out?: string }

export const runCommand = {
  command: 'run <target>',
  describe: 'golden (bit-exact reference) inference on one input',
  builder: (y: Argv) => y
    .positional('target', { type: 'string', describe: 'model .safetensors, workload .json, or built-in workload name' })
    .option('input', { type: 'string', describe: 'input image: .json (HWC numbers) or .safetensors (one F32 [h,w,c] tensor); default: seeded random' })
    .option('seed', { type: 'number', default: 0, describe: 'seed for random weights (workloads) and the random input' })
    .option('top', { type: 'number', default: 5, describe: 'how many top classes to print' })
    .option('kernels', { type: 'string', default: 'default', describe: `kernel set: ${KERNEL_NAMES.join(' | ')}` })
    .option('real-format', { type: 'string', default: 'fp32', describe: 'format of the real-valued stream: fp32 | fp16 | int16q<F> | int8q<F>' })
    .option('json', { type: 'boolean', describe: 'JSON with all logits' })
    .option('out', { type: 'string', describe: 'write the output to this file (atomically)' }),
  handler: async (argv: ArgumentsCamelCase<RunArgs>) => {
    const { model, source } = loadTarget(argv.target, argv.seed);
    const { input, desc, sha256 } = loadInput(argv.input, model.net, argv.seed);
    const kernels = kernelsByName(argv.kernels);
    await warmKernels(kernels);
    const realFormat = parseRealFormat(argv.realFormat);
    const plan = lower(model, { realFormat });
    const t0 = performance.now();
    const { logits } = runPlan(plan, input, { kernels });
    const ms = performance.now() - t0;
    const digest = createHash('sha256').update(new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength)).digest('hex');
    const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
    if (argv.json) {
      emit(toJson({ tool: 'birealsim', version: TOOL_VERSION, kind: 'run', source, input: { desc, sha256 }, kernels: kernels.name, realFormat, ms, logitsSha256: digest, top: order.slice(0, argv.top), logits }), argv.out);
      return;
    }
    const lines = [
      `${plan.name}: ${source.kind}${source.path ? ` ${source.path}` : ''}, weights ${source.weights}`,
      `input: ${desc}`,
      `kernels: ${kernels.name}; real stream ${realFormat.name}; ${plan.steps.length} steps in ${ms.toFixed(1)} ms`,
      `top-${argv.top}: ${order.slice(0, argv.top).map((i) => `${i} (${logits[i].toFixed(4)})`).join(', ')}`,
      `logits sha256: ${digest}`,
    ];
    emit(lines.join('\n'), argv.out);
  },
};
