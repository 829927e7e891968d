/**
 * `birealsim ablate`: the paper's training studies over seeds (Liu et al. ECCV 2018, section 4.2), resumable,
 * with significance (train/study.ts, core/stats.ts).
 *  --study claims (default): full Bi-Real against one switch changed at a time — STE instead of ApproxSign,
 *    plain instead of magnitude-aware weight gradient, ReLU instead of clip initialisation, per-block instead
 *    of per-conv shortcuts. Per claim: mean, standard error, Welch p and the 95% CI of (full - ablated), and a
 *    verdict: holds / does not hold / not resolved at this budget.
 *  --study depth: the same recipe on 'bireal-depth<D>' nets (constant width, D binary convs), per-conv vs
 *    per-block shortcut at every depth: accuracy vs depth with CIs (table and chart), and whether the
 *    per-conv shortcut's benefit grows from the shallowest to the deepest net.
 * Outputs, rewritten atomically after every finished run (rows say how many seeds are in): <out>.md,
 * <out>.json (and <out>.png for the depth chart); the runs and checkpoints live in <out>.work/ — run the same
 * command again to continue a stopped study.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { writeFileAtomic } from '../core/atomic.ts';
import { UserError } from '../core/diagnostics.ts';
import { studentQuantile, type WelchResult } from '../core/stats.ts';
import { limitSplit, type Dataset } from '../data/datasets.ts';
import { resolveNetwork } from '../ir/validate.ts';
import { compare, configStats, runStudy, verdictBetter, type ConfigStats, type RunRecord, type StudyConfig } from '../train/study.ts';
import type { TrainOptions } from '../train/trainer.ts';
import { DEPTH_STUDY_DEPTHS, variantWorkload, type ShortcutKind } from '../train/variants.ts';
import { checkCompatible, loadDatasetFlags, numberFlag, setupGemm, trainFlags, trainOptionsFrom, type TrainFlagValues } from './train.ts';
import { TOOL_VERSION } from './io.ts';
import { renderChartPng } from '../report/png.ts';
import type { ChartSpec } from '../report/charts.ts';

interface Claim { key: string; name: string; what: string; claim: string; patch: (o: TrainOptions) => TrainOptions; shortcut: ShortcutKind }
const CLAIMS: Claim[] = [
  { key: 'full', name: 'full Bi-Real', what: 'ApproxSign, magnitude-aware, clip init, per-conv shortcut', claim: '', patch: (o) => o, shortcut: 'per-conv' },
  { key: 'ste', name: 'STE', what: 'straight-through estimator instead of ApproxSign', claim: 'ApproxSign beats the straight-through estimator', patch: (o) => ({ ...o, actGrad: 'ste' }), shortcut: 'per-conv' },
  { key: 'plain-grad', name: 'plain weight grad', what: 'dL/dW = g*1{|W|<=1} (no alpha) instead of magnitude-aware', claim: 'the magnitude-aware weight gradient beats the plain one', patch: (o) => ({ ...o, weightGrad: 'plain' }), shortcut: 'per-conv' },
  { key: 'relu-init', name: 'ReLU init', what: 'stage 1 with ReLU instead of clip where sign sits', claim: 'clip initialisation beats ReLU initialisation', patch: (o) => ({ ...o, init: 'relu' }), shortcut: 'per-conv' },
  { key: 'per-block', name: 'per-block shortcut', what: 'shortcut every two binary convs (binary ResNet) instead of every conv', claim: 'a shortcut per conv beats one per block', patch: (o) => o, shortcut: 'per-block' },
];

const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(2) : '-');
const pts = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}` : '-');
const pval = (p: number | undefined) => (p === undefined ? '-' : p < 1e-4 ? p.toExponential(1) : p.toFixed(4));
const ci = (w: WelchResult | undefined) => (w ? `[${pts(w.ci95[0])}, ${pts(w.ci95[1])}]` : '-');

interface AblateArgs extends TrainFlagValues { study: 'claims' | 'depth'; model: string; depths: string; seeds: number; limitTest: number; out: string; alpha: number }

function parseDepths(s: string): number[] {
  const ds = s.split(',').map((x) => numberFlag('depths', x.trim(), { int: true, min: 2, max: 64 }));
  for (const d of ds) if (d % 2 || !variantWorkload(`bireal-depth${d}`)) throw new UserError('E_FLAG', `--depths: no net of depth ${d}`, { hint: `the depth nets are ${DEPTH_STUDY_DEPTHS.join(', ')} (train/variants.ts)` });
  return ds;
}

function claimConfigs(model: string, base: TrainOptions, ds: Dataset): StudyConfig[] {
  if (!variantWorkload(model)) throw new UserError('E_TARGET', `unknown trainer variant '${model}'`, { hint: 'see birealsim train --help for the variants' });
  return CLAIMS.map((c) => {
    const net = resolveNetwork(variantWorkload(model, c.shortcut)!);
    checkCompatible(net, ds);
    return { key: c.key, name: c.name, what: c.what, net, options: c.patch(base) };
  });
}

function depthConfigs(depths: number[], base: TrainOptions, ds: Dataset): StudyConfig[] {
  return depths.flatMap((d) => (['per-conv', 'per-block'] as const).map((sc) => {
    const net = resolveNetwork(variantWorkload(`bireal-depth${d}`, sc)!);
    checkCompatible(net, ds);
    return { key: `d${d}-${sc}`, name: `depth ${d}, ${sc}`, what: `${d} binary convs, shortcut ${sc}`, net, options: base };
  }));
}

function header(a: { title: string; command: string; ds: Dataset; seeds: number; base: TrainOptions; records: RunRecord[]; total: number; alpha: number }): string[] {
  const hours = a.records.reduce((s, r) => s + r.seconds, 0) / 3600;
  return [
    `# ${a.title}`, '',
    `Command: \`${a.command}\` (run it again to continue; runs are kept in the .work folder beside this file)`, '',
    `birealsim ${TOOL_VERSION}; data: ${a.ds.note}; ${a.ds.train.n.toLocaleString('en-US')} training images, ${a.ds.test.n.toLocaleString('en-US')} test images (accuracy = the official test split${a.ds.test.n < 10000 ? ', limited' : ''}). Recipe: stage 1 ${a.base.init === 'scratch' ? 'none' : `${a.base.pre.epochs} epoch(s) lr ${a.base.pre.lr}`}, stage 2 ${a.base.main.epochs} epoch(s) lr ${a.base.main.lr}, batch ${a.base.batch}, ${a.base.optimizer} ${a.base.schedule}, ${a.base.replicas} replicas; seeds 1..${a.seeds}.`, '',
    `**Progress: ${a.records.length} of ${a.total} runs complete** (${hours.toFixed(2)} h of training on this 2-core machine so far; ${a.records.length ? `${(hours * 60 / a.records.length).toFixed(1)} min per run on average` : 'no run finished yet'}).`, '',
    `Statistics: mean and standard error (SE) over seeds; Welch's t-test (two-sided p) and the 95% confidence interval of the difference in percentage points; a verdict needs p < ${a.alpha} (core/stats.ts).`, '',
  ];
}

function renderClaims(a: AblateArgs, command: string, ds: Dataset, base: TrainOptions, configs: StudyConfig[], records: RunRecord[]): { md: string; json: unknown } {
  const st = configStats(configs, records);
  const full = st[0];
  const rows = st.map((s, i) => {
    const w = i === 0 ? undefined : compare(full, s);
    return { ...s, vsFull: w, verdict: i === 0 ? undefined : verdictBetter(w, a.alpha), claim: CLAIMS[i].claim };
  });
  const md = [
    ...header({ title: `Bi-Real ablations on ${ds.name} (${a.model})`, command, ds, seeds: a.seeds, base, records, total: configs.length * a.seeds, alpha: a.alpha }),
    '| configuration | change | seeds done | mean test acc | SE | per seed | full - this [points] | 95% CI | Welch p | claim | verdict |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.what.replace(/\|/g, '\\|')} | ${r.accuracies.length}/${a.seeds} | ${pct(r.summary.mean)}% | ${pct(r.summary.se)} | ${r.accuracies.map(pct).join(', ')} | ${r.vsFull ? pts(r.vsFull.diff) : '-'} | ${ci(r.vsFull)} | ${pval(r.vsFull?.p)} | ${r.claim || '(reference)'} | ${r.verdict ?? ''} |`),
    '', 'Verdicts:', ...rows.slice(1).map((r) => `- ${r.claim}: **${r.verdict}**${r.vsFull ? ` (full - ${r.name} = ${pts(r.vsFull.diff)} points, 95% CI ${ci(r.vsFull)}, p = ${pval(r.vsFull.p)}, ${r.accuracies.length} and ${full.accuracies.length} seeds)` : ' (fewer than 2 seeds of one side so far)'}`),
    '',
  ].join('\n');
  return { md, json: { tool: 'birealsim', version: TOOL_VERSION, kind: 'ablation', study: 'claims', command, dataset: ds.name, model: a.model, seeds: a.seeds, alpha: a.alpha, options: base, runs: records, rows: rows.map((r) => ({ key: r.key, name: r.name, what: r.what, claim: r.claim, accuracies: r.accuracies, ...r.summary, vsFull: r.vsFull, verdict: r.verdict })) } };
}

interface DepthRow { depth: number; perConv: ConfigStats; perBlock: ConfigStats; diff?: WelchResult; verdict: string }

function renderDepth(a: AblateArgs, command: string, ds: Dataset, base: TrainOptions, configs: StudyConfig[], records: RunRecord[], depths: number[]): { md: string; json: unknown; chart?: ChartSpec } {
  const st = configStats(configs, records);
  const rows: DepthRow[] = depths.map((d, i) => {
    const perConv = st[2 * i], perBlock = st[2 * i + 1];
    const diff = compare(perConv, perBlock);
    return { depth: d, perConv, perBlock, diff, verdict: verdictBetter(diff, a.alpha) };
  });
  // does the benefit grow? (per-conv - per-block) at the deepest minus at the shallowest, SE from the four
  // groups, conservative df = the smaller Welch df of the two depths
  const first = rows[0], last = rows[rows.length - 1];
  let growth: { diff: number; ci95: [number, number]; verdict: string } | undefined;
  if (rows.length >= 2 && first.diff && last.diff) {
    const dd = last.diff.diff - first.diff.diff;
    const se = Math.hypot(first.diff.se, last.diff.se);
    const q = studentQuantile(0.975, Math.min(first.diff.df, last.diff.df));
    const lo = dd - q * se, hi = dd + q * se;
    growth = { diff: dd, ci95: [lo, hi], verdict: lo > 0 ? 'holds' : hi < 0 ? 'does not hold (the benefit shrinks)' : 'not resolved' };
  }
  const md = [
    ...header({ title: `Depth study on ${ds.name}: per-conv vs per-block shortcut`, command, ds, seeds: a.seeds, base, records, total: configs.length * a.seeds, alpha: a.alpha }),
    `Nets 'bireal-depth<D>' (train/variants.ts): real stem conv5x5/2 32 ch + maxpool to 7x7, then D binary 3x3 convs of 32 channels, GAP, FC; only D and the shortcut placement change.`, '',
    '| binary convs | per-conv: seeds, mean, SE | per-block: seeds, mean, SE | per-conv - per-block [points] | 95% CI | Welch p | per-conv better? |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.depth} | ${r.perConv.accuracies.length}/${a.seeds}, ${pct(r.perConv.summary.mean)}%, ${pct(r.perConv.summary.se)} | ${r.perBlock.accuracies.length}/${a.seeds}, ${pct(r.perBlock.summary.mean)}%, ${pct(r.perBlock.summary.se)} | ${r.diff ? pts(r.diff.diff) : '-'} | ${ci(r.diff)} | ${pval(r.diff?.p)} | ${r.verdict} |`),
    '',
    `Claim "the per-conv shortcut's benefit grows with depth" (difference at depth ${last.depth} minus at depth ${first.depth}): ${growth ? `**${growth.verdict}** (${pts(growth.diff)} points, 95% CI [${pts(growth.ci95[0])}, ${pts(growth.ci95[1])}])` : '**not resolved** (needs >= 2 seeds of both shortcuts at both ends)'}.`,
    '', `![accuracy vs depth](${a.out.split('/').pop()}.png)`, '',
  ].join('\n');
  const band = (s: ConfigStats, k: 1 | -1) => (s.accuracies.length >= 2 ? 100 * (s.summary.mean + k * studentQuantile(0.975, s.accuracies.length - 1) * s.summary.se) : null);
  const series = (label: string, pick: (r: DepthRow) => ConfigStats, color: string) => [
    { label: `${label} (mean)`, data: rows.map((r) => (pick(r).accuracies.length ? 100 * pick(r).summary.mean : null)), borderColor: color, backgroundColor: color, pointRadius: 4, borderWidth: 2 },
    { label: `${label} 95% CI high`, data: rows.map((r) => band(pick(r), 1)), borderColor: color, borderDash: [4, 4], borderWidth: 1, pointRadius: 0, fill: false },
    { label: `${label} 95% CI low`, data: rows.map((r) => band(pick(r), -1)), borderColor: color, borderDash: [4, 4], borderWidth: 1, pointRadius: 0, fill: false },
  ];
  const chart: ChartSpec = {
    id: 'depth', title: 'accuracy vs depth', width: 900, height: 500,
    config: {
      type: 'line',
      data: { labels: rows.map((r) => String(r.depth)), datasets: [...series('per-conv shortcut (Bi-Real)', (r) => r.perConv, '#1f77b4'), ...series('per-block shortcut (binary ResNet)', (r) => r.perBlock, '#d62728')] },
      options: {
        responsive: false, animation: false, devicePixelRatio: 1,
        plugins: { title: { display: true, text: `${ds.name} test accuracy vs number of binary convs (mean over seeds, dashed: 95% CI)` } },
        scales: { x: { title: { display: true, text: 'binary convs' } }, y: { title: { display: true, text: 'test accuracy [%]' } } },
      },
    },
  };
  return {
    md,
    json: { tool: 'birealsim', version: TOOL_VERSION, kind: 'ablation', study: 'depth', command, dataset: ds.name, depths, seeds: a.seeds, alpha: a.alpha, options: base, runs: records, growth, rows: rows.map((r) => ({ depth: r.depth, perConv: { accuracies: r.perConv.accuracies, ...r.perConv.summary }, perBlock: { accuracies: r.perBlock.accuracies, ...r.perBlock.summary }, diff: r.diff, verdict: r.verdict })) },
    chart: records.length ? chart : undefined,
  };
}

export const ablateCommand = {
  command: 'ablate',
  describe: 'the paper\'s ablations (or the depth study) over seeds, resumable, with Welch tests, 95% CIs and verdicts',
  builder: (y: Argv) => y
    .option('study', { choices: ['claims', 'depth'] as const, default: 'claims' as const, describe: 'claims: the four tricks one at a time; depth: per-conv vs per-block shortcut at several depths' })
    .option('model', { type: 'string', default: 'bireal-mnist-fast', describe: 'trainer variant of the claims study (the per-block variant is derived from it)' })
    .option('depths', { type: 'string', default: DEPTH_STUDY_DEPTHS.join(','), describe: 'depth study: numbers of binary convs' })
    .options(trainFlags)
    .option('dataset', { type: 'string', default: 'fashion-mnist', describe: 'mnist | fashion-mnist | idx:DIR' })
    .option('seeds', { type: 'number', default: 5, describe: 'seeds per configuration (seeds 1..N)' })
    .option('alpha', { type: 'number', default: 0.05, describe: 'significance level of the verdicts' })
    .option('limit-test', { type: 'number', default: 0, describe: 'evaluate on N test images (0 = all)' })
    .option('out', { type: 'string', default: 'reports/train/ablation', describe: 'output path prefix (.md, .json, .png and the .work folder are added)' }),
  handler: async (argv: ArgumentsCamelCase<AblateArgs>) => {
    const log = (s: string) => process.stderr.write(`[ablate] ${s}\n`);
    const depths = argv.study === 'depth' ? parseDepths(argv.depths) : [];
    await setupGemm(argv.gemm, log, argv.replicas);
    const full = loadDatasetFlags(argv, 1);
    const ds = argv.limitTest > 0 ? { ...full, test: limitSplit(full.test, argv.limitTest, 7, full.h * full.w * full.c) } : full;
    const base = trainOptionsFrom(argv, ds);
    const configs = argv.study === 'depth' ? depthConfigs(depths, base, ds) : claimConfigs(argv.model, base, ds);
    const command = `birealsim ${process.argv.slice(2).join(' ')}`;
    const write = (records: RunRecord[]) => {
      const r: { md: string; json: unknown; chart?: ChartSpec } = argv.study === 'depth' ? renderDepth(argv, command, ds, base, configs, records, depths) : renderClaims(argv, command, ds, base, configs, records);
      writeFileAtomic(`${argv.out}.md`, r.md);
      writeFileAtomic(`${argv.out}.json`, JSON.stringify(r.json, null, 2) + '\n');
      if (r.chart) writeFileAtomic(`${argv.out}.png`, renderChartPng(r.chart));
    };
    log(`${argv.study} study: ${configs.length} configurations x ${argv.seeds} seeds on ${ds.name} (${ds.train.n} train / ${ds.test.n} test); work folder ${argv.out}.work`);
    const records = await runStudy({ configs, seeds: argv.seeds, dataset: ds, workDir: `${argv.out}.work`, log, onRecord: write });
    write(records);
    process.stdout.write((argv.study === 'depth' ? renderDepth(argv, command, ds, base, configs, records, depths) : renderClaims(argv, command, ds, base, configs, records)).md);
    log(`wrote ${argv.out}.md and ${argv.out}.json`);
  },
};

