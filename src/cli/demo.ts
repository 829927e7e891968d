/**
 * `birealsim demo`: the README's main job on a built-in default, end to end. Each stage uses what the
 * toolkit provides and says what it did and where its output went.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { CONVENTIONS } from '../cost/conventions.ts';
import { lower } from '../golden/plan.ts';
import { runPlan } from '../golden/run.ts';
import { resolveNetwork } from '../ir/validate.ts';
import { bireal18 } from '../ir/builders.ts';
import { randomModel } from '../ir/model.ts';
import { renderMarkdown, renderText } from '../report/table.ts';
import { tensor } from '../core/tensor.ts';
import { Rng } from '../core/rng.ts';
import { writeFileAtomic } from '../core/atomic.ts';
import { costOf, PAPER_WORKLOADS, summaryTable } from './cost.ts';
import { kernelsByName, warmKernels } from './kernels.ts';

interface DemoArgs { out: string; seed: number }

export const demoCommand = {
  command: 'demo',
  describe: 'run the main story on built-in defaults: paper cost table, golden Bi-Real-18 inference',
  builder: (y: Argv) => y
    .option('out', { type: 'string', default: 'reports/demo', describe: 'output folder' })
    .option('seed', { type: 'number', default: 0 }),
  handler: async (argv: ArgumentsCamelCase<DemoArgs>) => {
    const log = (s: string) => process.stdout.write(s + '\n');
    log('== 1. memory and operations vs the paper (Liu et al. 2018, Table 5) ==');
    const t = summaryTable(PAPER_WORKLOADS.map((w) => costOf(w, CONVENTIONS.paper)));
    log(renderText(t));
    writeFileAtomic(`${argv.out}/paper-table.md`, renderMarkdown(t));
    log(`\n== 2. golden XNOR-popcount inference: Bi-Real-18, 224x224, random weights (seed ${argv.seed}) ==`);
    const net = resolveNetwork(bireal18());
    const plan = lower(randomModel(net, argv.seed));
    const x = tensor(224, 224, 3);
    new Rng(argv.seed + 1).fillNormal(x.data);
    const k = kernelsByName('default');
    await warmKernels(k);
    const t0 = performance.now();
    const { logits } = runPlan(plan, x, { kernels: k });
    const ms = performance.now() - t0;
    let best = 0; for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    log(`${plan.steps.length} steps (${plan.steps.filter((s) => s.executesAs === 'xnor').length} XNOR-popcount convs) in ${ms.toFixed(0)} ms with '${k.name}' kernels; top class ${best}`);
    log(`\nwrote ${argv.out}/paper-table.md`);
  },
};
