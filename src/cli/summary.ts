/**
 * `birealsim summary <model|workload>`: one table per network in the spirit of Larq's `larq.models.summary`
 * (layer, output shape, binary and real parameters, memory, operations and their operand precision, totals
 * with the memory saving against the full-precision counterpart).
 *
 * Nothing is counted here: shapes and precision come from the lowered plan through `stepRow` (the rows
 * `inspect` prints), parameters, memory and operations from `countPlan` (the counts `cost --layers` and
 * `simulate` use) under the chosen --convention. Text and Markdown format numbers for people; JSON and CSV
 * carry raw numbers (no thousands separators, units in the CSV headers).
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { lower } from '../golden/plan.ts';
import { countPlan } from '../cost/count.ts';
import { CONVENTIONS } from '../cost/conventions.ts';
import { renderCsv, renderMarkdown, renderText, fmtInt, fmtFixed, type Table } from '../report/table.ts';
import { stepRow } from './inspect.ts';
import { resolveConvention } from './cost.ts';
import { loadTarget } from './load.ts';
import { emit, formatOf, formatOptions, toJson, TOOL_VERSION } from './io.ts';

export interface SummaryRow {
  layer: string; op: string; executesAs: string; outputShape: [number, number, number]; outputKind: string; precision: string;
  binaryParams: number; realParams: number; memoryBits: number; bops: number; realMacs: number;
}

export interface Summary {
  tool: 'birealsim'; version: string; kind: 'summary';
  network: string; source: { kind: string; path?: string; weights: string }; convention: string;
  input: [number, number, number];
  layers: SummaryRow[];
  totals: { binaryParams: number; realParams: number; memoryBits: number; bops: number; realMacs: number; bopsPerOp: number; ops: number; fpMemoryBits: number; memorySaving: number; fpMacs: number; speedup: number };
}

interface SummaryArgs { target: string; seed: number; convention: string; bnParams?: number; fcBias?: boolean; alpha?: boolean; json?: boolean; csv?: boolean; markdown?: boolean; out?: string }

export function summarize(target: string, a: { seed: number; convention: string; bnParams?: number; fcBias?: boolean; alpha?: boolean }): Summary {
  const { model, source } = loadTarget(target, a.seed);
  const plan = lower(model);
  const c = resolveConvention(a);
  const cost = countPlan(plan, c);
  const layers = plan.steps.map((s, i): SummaryRow => {
    const r = stepRow(s), k = cost.layers[i];
    return {
      layer: s.id, op: s.op, executesAs: r.executesAs, outputShape: [s.out.h, s.out.w, s.out.c], outputKind: s.out.dtype === 'bits' ? 'bits' : 'real', precision: r.precision,
      binaryParams: k.binaryWeights, realParams: k.realParams, memoryBits: k.memoryBits, bops: k.bops, realMacs: k.realMacs,
    };
  });
  const t = cost.totals;
  return {
    tool: 'birealsim', version: TOOL_VERSION, kind: 'summary', network: plan.name,
    source: { kind: source.kind, path: source.path, weights: source.weights }, convention: c.name,
    input: [plan.input.h, plan.input.w, plan.input.c], layers,
    totals: { binaryParams: t.binaryWeights, realParams: t.realParams, memoryBits: t.memoryBits, bops: t.bops, realMacs: t.realMacs, bopsPerOp: c.bopsPerOp, ops: t.ops, fpMemoryBits: t.fpMemoryBits, memorySaving: t.memorySaving, fpMacs: t.fpMacs, speedup: t.speedup },
  };
}

const kib = (bits: number) => bits / 8 / 1024;
const shapeText = (r: SummaryRow) => `${r.outputShape.join('x')}${r.outputKind === 'bits' ? ' bits' : ''}`;

/** Text/Markdown table: formatted for people. */
export function summaryTableHuman(s: Summary): Table {
  const t = s.totals;
  return {
    title: `${s.network} (${s.source.kind}${s.source.path ? ` ${s.source.path}` : ''}); input ${s.input.join('x')}; convention ${s.convention}`,
    headers: ['layer', 'op', 'output shape', 'precision', 'binary params', 'real params', 'memory [KiB]', 'BOPs', 'real MACs'],
    rows: [
      ...s.layers.map((r) => [r.layer, r.op, shapeText(r), r.precision, r.binaryParams ? fmtInt(r.binaryParams) : '-', r.realParams ? fmtInt(r.realParams) : '-', r.memoryBits ? fmtFixed(kib(r.memoryBits), 2) : '-', r.bops ? fmtInt(r.bops) : '-', r.realMacs ? fmtInt(r.realMacs) : '-']),
      ['total', '', '', '', fmtInt(t.binaryParams), fmtInt(t.realParams), fmtFixed(kib(t.memoryBits), 2), fmtInt(t.bops), fmtInt(t.realMacs)],
    ],
    notes: [
      `memory: ${fmtFixed(kib(t.memoryBits), 2)} KiB (${fmtFixed(t.memoryBits / 1e6, 2)} Mbit) against ${fmtFixed(kib(t.fpMemoryBits), 2)} KiB in full precision: ${t.bops ? `${fmtFixed(t.memorySaving, 2)}x smaller` : 'no binary layers'}`,
      `operations: ${fmtInt(t.ops)} OPs (BOPs / ${t.bopsPerOp} + real MACs) against ${fmtInt(t.fpMacs)} MACs in full precision: ${t.bops ? `${fmtFixed(t.speedup, 2)}x fewer` : 'no binary layers'}`,
    ],
  };
}

/** CSV: one row per layer plus a total row, raw numbers, units in the headers. */
export function summaryTableCsv(s: Summary): Table {
  const t = s.totals;
  return {
    headers: ['layer', 'op', 'executes_as', 'out_h', 'out_w', 'out_c', 'output_kind', 'precision', 'binary_params', 'real_params', 'memory_bits', 'bops', 'real_macs'],
    rows: [
      ...s.layers.map((r) => [r.layer, r.op, r.executesAs, ...r.outputShape, r.outputKind, r.precision, r.binaryParams, r.realParams, r.memoryBits, r.bops, r.realMacs]),
      ['total', '', '', '', '', '', '', '', t.binaryParams, t.realParams, t.memoryBits, t.bops, t.realMacs],
    ],
  };
}

export const summaryCommand = {
  command: 'summary <target>',
  describe: 'Larq-style model summary: per layer output shape, precision, binary/real parameters, memory and operations, with totals and savings',
  builder: (y: Argv) => y
    .positional('target', { type: 'string', describe: 'built-in workload name, workload .json, or model .safetensors' })
    .option('convention', { type: 'string', default: 'paper', describe: `counting convention: ${Object.keys(CONVENTIONS).join(' | ')}` })
    .option('bn-params', { type: 'number', describe: 'override: BN parameters counted per channel (0, 2 or 4)' })
    .option('fc-bias', { type: 'boolean', describe: 'override: count the FC bias' })
    .option('alpha', { type: 'boolean', describe: 'override: count the per-channel scaling factors alpha' })
    .option('seed', { type: 'number', default: 0, describe: 'seed for random weights when the target has none (counts do not depend on it)' })
    .options(formatOptions),
  handler: (argv: ArgumentsCamelCase<SummaryArgs>) => {
    const s = summarize(argv.target, argv);
    const fmt = formatOf(argv);
    if (fmt === 'json') emit(toJson(s), argv.out);
    else if (fmt === 'csv') emit(renderCsv(summaryTableCsv(s)), argv.out);
    else if (fmt === 'markdown') emit(renderMarkdown(summaryTableHuman(s)), argv.out);
    else emit(renderText(summaryTableHuman(s)), argv.out);
  },
};
