/** `birealsim cost`: memory and operation counts under a named convention, beside the paper's printed values. */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { UserError, didYouMeanHint } from '../core/diagnostics.ts';
import { CONVENTIONS, describeConvention, type CostConvention } from '../cost/conventions.ts';
import { countPlan, type NetworkCost } from '../cost/count.ts';
import { PAPER_TABLE } from '../cost/paper.ts';
import { lower } from '../golden/plan.ts';
import { shapeOnlyModel } from '../ir/model.ts';
import { renderCsv, renderMarkdown, renderText, fmtSciTrunc, fmtSci, fmtFixed, num, numInt, type Table } from '../report/table.ts';
import { loadNetwork } from './load.ts';
import { emit, formatOf, formatOptions, toJson, TOOL_VERSION } from './io.ts';

/** The default networks of `cost`: the paper's table (Liu et al. 2018 Table 5), then ReActNet-18 beside it. */
export const PAPER_WORKLOADS = ['bireal18-imagenet', 'xnornet18-imagenet', 'resnet18-imagenet', 'bireal34-imagenet', 'resnet34-imagenet', 'reactnet18-imagenet'];

interface CostArgs { workloads?: string[]; convention: string; bnParams?: number; fcBias?: boolean; alpha?: boolean; layers?: boolean; table?: (typeof COST_CSV_TABLES)[number]; json?: boolean; csv?: boolean; markdown?: boolean; out?: string }

export function resolveConvention(a: { convention: string; bnParams?: number; fcBias?: boolean; alpha?: boolean }): CostConvention {
  const base = Object.hasOwn(CONVENTIONS, a.convention) ? CONVENTIONS[a.convention] : undefined;
  if (!base) throw new UserError('E_ARG', `unknown convention '${a.convention}'`, { path: '--convention', hint: didYouMeanHint(a.convention, Object.keys(CONVENTIONS)) });
  const c = { ...base };
  const custom = a.bnParams !== undefined || a.fcBias !== undefined || a.alpha !== undefined;
  if (a.bnParams !== undefined) {
    if (![0, 2, 4].includes(a.bnParams)) throw new UserError('E_ARG', `--bn-params must be 0, 2 or 4, got ${a.bnParams}`, { path: '--bn-params' });
    c.bnParams = a.bnParams as 0 | 2 | 4;
  }
  if (a.fcBias !== undefined) c.fcBias = a.fcBias;
  if (a.alpha !== undefined) c.alpha = a.alpha;
  if (custom) c.name = `${base.name}+custom(bn=${c.bnParams},fcBias=${c.fcBias},alpha=${c.alpha})`;
  return c;
}

export function costOf(target: string, c: CostConvention): NetworkCost {
  const { net } = loadNetwork(target);
  // weights do not affect counts; lowering needs tensors, so use zero placeholders
  return countPlan(lower(shapeOnlyModel(net)), c);
}

/** How the paper's 3-significant-digit OPs relates to the exact count: 'rounded', 'truncated' (both when equal), or 'differs'. */
export function paperOpsCheck(exact: number, printed: string): string {
  const r = fmtSci(exact, 2), tr = fmtSciTrunc(exact, 2);
  if (printed === r && printed === tr) return 'ours to 3 s.f.';
  if (printed === tr) return 'ours, truncated';
  if (printed === r) return 'ours, rounded';
  return 'DIFFERS';
}

export function summaryTable(costs: NetworkCost[]): Table {
  const rows = costs.map((k) => {
    const p = PAPER_TABLE[k.name];
    const t = k.totals;
    const binary = t.bops > 0;
    return [
      k.name, numInt(t.binaryWeights), numInt(t.realParams), num(t.memoryMbit, fmtFixed(t.memoryMbit, 2)), p ? num(p.memoryMbit, fmtFixed(p.memoryMbit, 1)) : '-',
      binary ? num(t.memorySaving, fmtFixed(t.memorySaving, 2) + 'x') : '-', p?.saving ? num(p.saving, fmtFixed(p.saving, 2) + 'x') : '-',
      numInt(t.bops), numInt(t.realMacs), numInt(t.ops), p ? p.printedOps : '-', p ? paperOpsCheck(t.ops, p.printedOps) : '-',
      binary ? num(t.speedup, fmtFixed(t.speedup, 2) + 'x') : '-', p?.speedup ? num(p.speedup, fmtFixed(p.speedup, 2) + 'x') : '-',
    ];
  });
  return {
    title: `Memory and operations (convention '${costs[0]?.convention.name}')`,
    headers: ['network', 'binary weights [bit]', 'real params [#]', 'memory [Mbit]', 'paper memory [Mbit]', 'saving', 'paper saving',
      'BOPs [1-bit MAC]', 'real MACs', 'OPs', 'paper OPs', 'paper OPs is', 'speed-up', 'paper speed-up'],
    rows,
    notes: ['paper = Liu et al. ECCV 2018 Table 5 as printed; saving and speed-up are against the same topology in full precision (32-bit weights, all MACs real)'],
  };
}

export function layerTable(k: NetworkCost): Table {
  return {
    title: `${k.name}: per layer`,
    headers: ['step', 'layers', 'executes as', 'binary weights [bit]', 'real params [#]', 'memory [bit]', 'BOPs', 'real MACs'],
    rows: k.layers.filter((l) => l.memoryBits || l.bops || l.realMacs).map((l) => [l.step, l.layers.join('+'), l.executesAs, numInt(l.binaryWeights), numInt(l.realParams), numInt(l.memoryBits), numInt(l.bops), numInt(l.realMacs)]),
  };
}

/** Every network's layers in one flat table (a `network` column first): the CSV form of --table layers. */
export function flatLayerTable(costs: NetworkCost[]): Table {
  const per = costs.map(layerTable);
  return { title: 'per layer', headers: ['network', ...per[0].headers], rows: per.flatMap((t, i) => t.rows.map((r) => [costs[i].name, ...r])) };
}

/** The tables `cost --csv --table NAME` can write, one per file. */
export const COST_CSV_TABLES = ['summary', 'layers'] as const;

export const costCommand = {
  command: 'cost [workloads..]',
  describe: 'memory and operation counts (the paper\'s table) under a named counting convention',
  builder: (y: Argv) => y
    .positional('workloads', { type: 'string', array: true, describe: `built-in names or workload files (default: ${PAPER_WORKLOADS.join(' ')})` })
    .option('convention', { type: 'string', default: 'paper', describe: `counting convention: ${Object.keys(CONVENTIONS).join(' | ')}` })
    .option('bn-params', { type: 'number', describe: 'override: BN parameters counted per channel (0, 2 or 4)' })
    .option('fc-bias', { type: 'boolean', describe: 'override: count the FC bias' })
    .option('alpha', { type: 'boolean', describe: 'override: count one alpha per binary output channel' })
    .option('layers', { type: 'boolean', describe: 'also print per-layer rows' })
    .option('table', { choices: COST_CSV_TABLES, describe: 'with --csv: which table the file holds (one table per CSV; default summary, or layers with --layers)' })
    .options(formatOptions),
  handler: (argv: ArgumentsCamelCase<CostArgs>) => {
    const c = resolveConvention(argv);
    const targets = argv.workloads?.length ? argv.workloads : PAPER_WORKLOADS;
    const costs = targets.map((t) => costOf(t, c));
    const fmt = formatOf(argv);
    if (fmt === 'json') {
      emit(toJson({ tool: 'birealsim', version: TOOL_VERSION, kind: 'cost', convention: c, conventionText: describeConvention(c), paper: PAPER_TABLE, networks: costs.map((k) => ({ name: k.name, totals: k.totals, layers: argv.layers ? k.layers : undefined })) }), argv.out);
      return;
    }
    const tables = [summaryTable(costs), ...(argv.layers ? costs.map(layerTable) : [])];
    if (fmt === 'csv') { emit(renderCsv((argv.table ?? (argv.layers ? 'layers' : 'summary')) === 'layers' ? flatLayerTable(costs) : summaryTable(costs)), argv.out); return; }
    if (fmt === 'markdown') { emit([...tables.map(renderMarkdown), '```', ...describeConvention(c), '```'].join('\n'), argv.out); return; }
    emit([tables.map(renderText).join('\n\n'), '', ...describeConvention(c)].join('\n'), argv.out);
  },
};
