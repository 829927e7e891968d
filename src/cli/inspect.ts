/** `birealsim inspect`: the lowered layer table (shapes, precision, packed sizes, pad mode, executes-as) and the numeric conventions. */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { CONVENTIONS_TEXT } from '../core/bits.ts';
import { opOf } from '../ops/index.ts';
import { lower, type ExecStep } from '../golden/plan.ts';
import { renderCsv, renderMarkdown, renderText, fmtInt, type Table } from '../report/table.ts';
import { loadTarget } from './load.ts';
import { emit, formatOf, formatOptions, toJson, TOOL_VERSION } from './io.ts';

const shape = (s: { h: number; w: number; c: number; dtype?: string }) => `${s.h}x${s.w}x${s.c}${s.dtype === 'bits' ? ' bits' : ''}`;

export function stepRow(s: ExecStep): { step: string; layers: string; op: string; input: string; output: string; executesAs: string; precision: string; weightBytes: number; padMode: string; window: string } {
  const m = opOf(s), d = m.describe(s);
  return { step: s.id, layers: s.layers.join('+'), op: s.op, input: s.inShapes.map(shape).join(', '), output: shape(s.out), executesAs: m.executesAs, precision: d.precision, weightBytes: d.weightBytes, padMode: d.padMode ?? '-', window: d.window ?? '-' };
}

interface InspectArgs { target: string; seed: number; json?: boolean; csv?: boolean; markdown?: boolean; out?: string }

export const inspectCommand = {
  command: 'inspect <target>',
  describe: 'layer table of a workload or model as it executes (shapes, precision, packed sizes, pad mode)',
  builder: (y: Argv) => y
    .positional('target', { type: 'string', describe: 'built-in workload name, workload .json, or model .safetensors' })
    .option('seed', { type: 'number', default: 0, describe: 'seed for random weights when the target has none' })
    .options(formatOptions),
  handler: (argv: ArgumentsCamelCase<InspectArgs>) => {
    const { model, source } = loadTarget(argv.target, argv.seed);
    const plan = lower(model);
    const rows = plan.steps.map(stepRow);
    const fmt = formatOf(argv);
    if (fmt === 'json') {
      emit(toJson({ tool: 'birealsim', version: TOOL_VERSION, kind: 'inspect', source, model: { kind: model.kind, meta: model.meta }, conventions: CONVENTIONS_TEXT, input: plan.input, steps: rows }), argv.out);
      return;
    }
    const t: Table = {
      title: `${plan.name} (${source.kind}${source.path ? ` ${source.path}` : ''}; weights: ${source.weights}); input ${shape(plan.input)}`,
      headers: ['step', 'layers', 'op', 'input', 'output', 'executes as', 'precision', 'weights [B]', 'pad mode', 'window'],
      rows: rows.map((r) => [r.step, r.layers, r.op, r.input, r.output, r.executesAs, r.precision, r.weightBytes ? fmtInt(r.weightBytes) : '-', r.padMode, r.window]),
    };
    const counts = { xnor: 0, real: 0, pack: 0 };
    for (const r of rows) counts[r.executesAs as keyof typeof counts]++;
    const total = rows.reduce((a, r) => a + r.weightBytes, 0);
    if (fmt === 'csv') { emit(renderCsv(t), argv.out); return; }
    if (fmt === 'markdown') { emit(renderMarkdown(t), argv.out); return; }
    emit([renderText(t), '', `steps: ${rows.length} (${counts.xnor} xnor, ${counts.real} real, ${counts.pack} sign+pack); stored weights ${fmtInt(total)} B`, '', 'numeric conventions:', ...CONVENTIONS_TEXT.map((s) => `  - ${s}`)].join('\n'), argv.out);
  },
};
