/**
 * `birealsim ablate`: the Bi-Real Net ablation grid (Liu et al. 2018, section 4.2) over seeds on a short
 * budget: full Bi-Real; STE instead of ApproxSign; plain weight gradient instead of magnitude-aware; ReLU
 * instead of clip initialisation; per-block (plain binary ResNet) instead of per-conv shortcuts.
 * Every run uses the same data, budget and hyper-parameters; only the one switch changes. Writes a Markdown
 * table (mean, sample standard deviation, min, max, per-seed values, difference to full) and a JSON file to
 * reports/, with the exact command that produced them.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.ts';
import { resolveNetwork } from '../ir/validate.ts';
import { limitSplit } from '../data/datasets.ts';
import { train, type TrainOptions } from '../train/trainer.ts';
import { variantWorkload, type ShortcutKind } from '../train/variants.ts';
import { checkCompatible, loadDatasetFlags, numberFlag, setupGemm, trainFlags, trainOptionsFrom, type TrainFlagValues } from './train.ts';
import { TOOL_VERSION } from './io.ts';
import { UserError } from '../core/diagnostics.ts';

interface Variant { name: string; what: string; patch: (o: TrainOptions) => TrainOptions; shortcut: ShortcutKind }
const VARIANTS: Variant[] = [
  { name: 'full Bi-Real', what: 'ApproxSign, magnitude-aware, clip init, per-conv shortcut', patch: (o) => o, shortcut: 'per-conv' },
  { name: 'STE', what: 'straight-through estimator instead of ApproxSign', patch: (o) => ({ ...o, actGrad: 'ste' }), shortcut: 'per-conv' },
  { name: 'plain weight grad', what: 'dL/dW = g*1{|W|<=1} (no alpha) instead of magnitude-aware', patch: (o) => ({ ...o, weightGrad: 'plain' }), shortcut: 'per-conv' },
  { name: 'ReLU init', what: 'stage 1 with ReLU instead of clip where sign sits', patch: (o) => ({ ...o, init: 'relu' }), shortcut: 'per-conv' },
  { name: 'per-block shortcut', what: 'shortcut every two binary convs (binary ResNet) instead of every conv', patch: (o) => o, shortcut: 'per-block' },
];

function stats(xs: number[]): { mean: number; std: number; min: number; max: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std, min: Math.min(...xs), max: Math.max(...xs) };
}

interface AblateArgs extends TrainFlagValues { model: string; seeds: number; limitTest: number; out: string }

export const ablateCommand = {
  command: 'ablate',
  describe: 'Bi-Real ablation grid (ApproxSign, magnitude-aware gradient, clip init, shortcut) over seeds',
  builder: (y: Argv) => y
    .option('model', { type: 'string', default: 'bireal-tiny', describe: 'trainer variant (the per-block variant is derived from it)' })
    .options(trainFlags)
    .option('dataset', { type: 'string', default: 'fashion-mnist', describe: 'mnist | fashion-mnist | idx:DIR' })
    .option('seeds', { type: 'number', default: 3, describe: 'number of seeds per configuration (seeds 1..N)' })
    .option('limit-test', { type: 'number', default: 0, describe: 'evaluate on N test images (0 = all)' })
    .option('out', { type: 'string', default: 'reports/ablation', describe: 'output path prefix (.md and .json are added)' }),
  handler: async (argv: ArgumentsCamelCase<AblateArgs>) => {
    const log = (s: string) => process.stderr.write(`[ablate] ${s}\n`);
    const seeds = numberFlag('seeds', argv.seeds, { int: true, min: 1 });
    if (!variantWorkload(argv.model)) throw new UserError('E_TARGET', `unknown trainer variant '${argv.model}'`);
    await setupGemm(argv.gemm, log, argv.replicas);
    const full = loadDatasetFlags(argv, 1);
    const ds = argv.limitTest > 0 ? { ...full, test: limitSplit(full.test, numberFlag('limit-test', argv.limitTest, { int: true, min: 1 }), 7, full.h * full.w * full.c) } : full;
    const base = trainOptionsFrom(argv, ds);
    const scratch = mkdtempSync(join(tmpdir(), 'birealsim-ablate-'));
    const rows: { variant: Variant; acc: number[]; minutes: number[] }[] = [];
    const t0 = performance.now();
    try {
      for (const v of VARIANTS) {
        const net = resolveNetwork(variantWorkload(argv.model, v.shortcut)!);
        checkCompatible(net, ds);
        const row = { variant: v, acc: [] as number[], minutes: [] as number[] };
        for (let s = 1; s <= seeds; s++) {
          const r = await train({ net, dataset: ds, options: { ...v.patch(base), seed: s }, outDir: join(scratch, `${rows.length}-${s}`), evalEachEpoch: false });
          if (r.interrupted) throw new UserError('E_INTERRUPTED', 'ablation interrupted (no table written)');
          row.acc.push(r.testAccuracy); row.minutes.push(r.seconds / 60);
          log(`${v.name} seed ${s}: test accuracy ${(100 * r.testAccuracy).toFixed(2)}% (${(r.seconds / 60).toFixed(1)} min)`);
        }
        rows.push(row);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    const command = `birealsim ${process.argv.slice(2).join(' ')}`;
    const fullMean = stats(rows[0].acc).mean;
    const table = rows.map((r) => ({ config: r.variant.name, change: r.variant.what, ...stats(r.acc), perSeed: r.acc, deltaVsFull: stats(r.acc).mean - fullMean, minutes: r.minutes.reduce((a, b) => a + b, 0) }));
    const ordering = table.slice(1).map((t) => `${t.config}: ${t.deltaVsFull <= 0 ? 'worse than or equal to' : 'BETTER than'} full Bi-Real by ${(100 * Math.abs(t.deltaVsFull)).toFixed(2)} points`);
    const md = [
      `# Bi-Real ablation on ${ds.name}`, '',
      `Command: \`${command}\``, '',
      `birealsim ${TOOL_VERSION}; network ${argv.model} (per-block variant derived from it); ${seeds} seeds (1..${seeds}); ${ds.train.n} training images, ${ds.test.n} test images; stage 1 ${base.init === 'scratch' ? 'none' : `${base.pre.epochs} epoch(s)`}, stage 2 ${base.main.epochs} epoch(s), batch ${base.batch}, ${base.optimizer} lr ${base.pre.lr}/${base.main.lr} ${base.schedule}. Total wall time ${((performance.now() - t0) / 60000).toFixed(1)} min on a shared 2-core machine.`, '',
      '| configuration | change | mean test acc | std (sample) | min | max | per seed | vs full |',
      '|---|---|---|---|---|---|---|---|',
      ...table.map((t) => `| ${t.config} | ${t.change} | ${(100 * t.mean).toFixed(2)}% | ${(100 * t.std).toFixed(2)} | ${(100 * t.min).toFixed(2)}% | ${(100 * t.max).toFixed(2)}% | ${t.perSeed.map((a) => (100 * a).toFixed(2)).join(', ')} | ${(100 * t.deltaVsFull >= 0 ? '+' : '')}${(100 * t.deltaVsFull).toFixed(2)} |`),
      '', 'Paper ordering (each ablated variant should be worse than full Bi-Real):', ...ordering.map((o) => `- ${o}`),
      '', 'Differences smaller than the seed spread are not significant at this budget.', '',
    ].join('\n');
    writeFileAtomic(`${argv.out}.md`, md);
    writeFileAtomic(`${argv.out}.json`, JSON.stringify({ command, tool: 'birealsim', version: TOOL_VERSION, dataset: ds.name, model: argv.model, seeds, options: base, rows: table }, null, 2) + '\n');
    process.stdout.write(md);
    log(`wrote ${argv.out}.md and ${argv.out}.json`);
  },
};
