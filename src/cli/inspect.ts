/** `birealsim inspect`: the lowered layer table (shapes, precision, packed sizes, pad mode, executes-as) and the numeric conventions. */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { CONVENTIONS_TEXT, wordsFor } from '../core/bits.ts';
import { lower, type ExecStep } from '../golden/plan.ts';
import { renderCsv, renderMarkdown, renderText, fmtInt, type Table } from '../report/table.ts';
import { loadTarget } from './load.ts';
import { emit, formatOf, formatOptions, toJson, TOOL_VERSION } from './io.ts';

const shape = (s: { h: number; w: number; c: number; dtype?: string }) => `${s.h}x${s.w}x${s.c}${s.dtype === 'bits' ? ' bits' : ''}`;

export function stepRow(s: ExecStep): { step: string; layers: string; op: string; input: string; output: string; executesAs: string; precision: string; weightBytes: number; padMode: string; window: string } {
  let precision = 'fp32', weightBytes = 0, padMode = '-', window = '-';
  switch (s.kind) {
    case 'xnor':
      precision = 'w1 a1 -> int acc -> fp32 (mul,bias)';
      weightBytes = s.cout * s.kernel * s.kernel * wordsFor(s.cin) * 4;
      padMode = s.padMode; window = `${s.kernel}x${s.kernel}/${s.stride} p${s.pad}`;
      break;
    case 'conv': weightBytes = s.weight.byteLength + (s.bias?.byteLength ?? 0); window = `${s.kernel}x${s.kernel}/${s.stride} p${s.pad}`; padMode = 'zero'; break;
    case 'fc': weightBytes = s.weight.byteLength + (s.bias?.byteLength ?? 0); break;
    case 'bn': weightBytes = s.scale.byteLength + s.shift.byteLength; break;
    case 'sign': precision = 'fp32 -> 1 bit (packed)'; break;
    case 'avgpool': case 'maxpool': case 'actscale': window = `${s.kernel}x${s.kernel}/${s.stride} p${s.pad}`; break;
    default: break;
  }
  return { step: s.id, layers: s.layers.join('+'), op: s.kind, input: s.inShapes.map(shape).join(', '), output: shape(s.out), executesAs: s.executesAs, precision, weightBytes, padMode, window };
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
