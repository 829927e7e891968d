/**
 * `birealsim demo`: the README's main job on built-in defaults, end to end, through the same command code
 * paths a user runs by hand (each stage is one `birealsim` command, printed before it runs):
 *   1. cost: the paper's memory/OPs table           5. verify: golden vs functional simulator (bit-exact),
 *   2. train: a small Bi-Real net on MNIST             trainer float forward and the latent source
 *      (clip-activation stage 1, then 1-bit stage 2)  6. simulate: cycles, traffic, energy on the edge preset
 *   3. export: deployable model, golden re-check     7. report: one HTML page (charts) + text/JSON/CSV/Markdown
 *   4. cost --json: the trained net beside Bi-Real-18 and XNOR-Net-18
 * The report tells the demo's story: it opens with the trained net's test accuracy (train's metrics.jsonl,
 * also the training curve), verify's verdict, the net's memory beside Bi-Real-18 and XNOR-Net-18, and its
 * simulated latency and energy. A stage that fails stops the demo with its exit code.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { join } from 'node:path';
import { UserError } from '../core/diagnostics.ts';

interface DemoArgs { out: string; seed: number; epochs: number; preEpochs: number; limitTrain: number; images: number; arch: string; model: string }

export const demoCommand = {
  command: 'demo',
  describe: 'the whole story on built-in defaults: cost table, train Bi-Real on MNIST, export, verify bit-exact, simulate, HTML report',
  builder: (y: Argv) => y
    .option('out', { type: 'string', default: 'reports/demo', describe: 'output folder' })
    .option('model', { type: 'string', default: 'bireal-mnist-fast', describe: 'network to train' })
    .option('epochs', { type: 'number', default: 1, describe: 'epochs of the 1-bit stage' })
    .option('pre-epochs', { type: 'number', default: 1, describe: 'epochs of the real-valued (clip) stage' })
    .option('limit-train', { type: 'number', default: 12000, describe: 'training images used (0 = all 60,000)' })
    .option('images', { type: 'number', default: 200, describe: 'test images for verify' })
    .option('arch', { type: 'string', default: 'edge', describe: 'accelerator preset for verify and simulate' })
    .option('seed', { type: 'number', default: 1 }),
  handler: async (argv: ArgumentsCamelCase<DemoArgs>) => {
    // imported here: main.ts imports this module, so a top-level import would be circular
    const { main } = await import('./main.ts');
    const o = argv.out;
    const stages: [string, string[]][] = [
      ['memory and operations vs the paper (Liu et al. 2018, Table 5)', ['cost']],
      ['train a 1-bit Bi-Real net on MNIST (stage 1: clip activations, real weights; stage 2: ApproxSign + magnitude-aware weights)',
        ['train', '--model', argv.model, '--dataset', 'mnist', '--pre-epochs', String(argv.preEpochs), '--epochs', String(argv.epochs), '--limit-train', String(argv.limitTrain), '--seed', String(argv.seed), '--out', join(o, 'train')]],
      ['export exact +-1 weights with alpha and BN folded; re-check the written file with the golden model on the 10,000 test images',
        ['export', join(o, 'train', 'model.safetensors'), '--out', join(o, 'model-deployable.safetensors')]],
      ['the trained net\'s memory and operations beside Bi-Real-18 and XNOR-Net-18 (ImageNet), as JSON for the report',
        ['cost', join(o, 'model-deployable.safetensors'), 'bireal18-imagenet', 'xnornet18-imagenet', '--json', '--out', join(o, 'cost.json')]],
      [`verify bit-exact: golden vs functional simulation on '${argv.arch}', vs the latent model, vs the trainer's float forward`,
        ['verify', join(o, 'model-deployable.safetensors'), '--images', String(argv.images), '--arch', argv.arch, '--reference', join(o, 'train', 'model.safetensors'), '--json', '--out', join(o, 'verify.json')]],
      [`simulate the trained network on '${argv.arch}'`, ['simulate', join(o, 'model-deployable.safetensors'), '--arch', argv.arch, '--json', '--out', join(o, 'simulate.json')]],
      ['one report: headline (accuracy, verdict, cost, simulation), training curve, charts and tables', ['report', join(o, 'train', 'metrics.jsonl'), join(o, 'cost.json'), join(o, 'verify.json'), join(o, 'simulate.json'), '--out', join(o, 'report'), '--title', 'birealsim demo: Bi-Real Net on MNIST']],
    ];
    const t0 = performance.now();
    for (const [i, [what, args]] of stages.entries()) {
      // echo the command as a shell would need it (arguments with spaces or quotes single-quoted)
      const shellArg = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
      process.stdout.write(`\n== ${i + 1}/${stages.length} ${what}\n$ birealsim ${args.map(shellArg).join(' ')}\n`);
      const code = await main(args);
      if (code !== 0) throw new UserError('E_DEMO', `stage ${i + 1} (birealsim ${args[0]}) exited with code ${code}`, { hint: 'see the message above' });
      if (args.includes('--json') && args.includes('--out')) {
        const j = JSON.parse((await import('node:fs')).readFileSync(args[args.indexOf('--out') + 1], 'utf8'));
        if (args[0] === 'verify') process.stdout.write(`verify: ${j.pass ? 'PASS' : 'FAIL'}; simulator bit-exact on ${j.simulator?.bitExactImages}/${j.inputs.images} images; golden accuracy ${(100 * j.golden.accuracy).toFixed(2)}%\n`);
        if (args[0] === 'simulate' && j.totals) process.stdout.write(`simulate: ${j.totals.latencyMs.toFixed(3)} ms/frame, ${(j.totals.energyPerFrameJ * 1e6).toFixed(1)} uJ/frame, ${(j.totals.dramBytes / 1e3).toFixed(1)} kB DRAM\n`);
      }
    }
    process.stdout.write(`\ndone in ${((performance.now() - t0) / 1000).toFixed(0)} s. Open the report: ${join(o, 'report', 'report.html')}\n`);
  },
};
