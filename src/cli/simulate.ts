/**
 * `birealsim simulate <model|workload> --arch <preset|file>`: cycle-approximate simulation of the lowered
 * ExecPlan on an accelerator (sim/). Timing-only by default (analytic per tile); `--functional` also
 * executes every tile on the modelled buffers and `--verify` compares every layer with the golden model bit
 * for bit. Output: terminal tables (units in every column, every metric defined), --json (the SimResult the
 * report layer reads), --csv or --markdown. Bad arch input, infeasible mappings and functional mismatches are
 * user errors (one line, exit 2).
 */
import { CONVENTIONS } from '../cost/conventions.ts';
import { resolveConvention } from './cost.ts';
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { existsSync } from 'node:fs';
import { UserError, didYouMeanHint } from '../core/diagnostics.ts';
import { parseRealFormat } from '../core/realformat.ts';
import { shapeOnlyModel } from '../ir/model.ts';
import { BUILTIN_WORKLOADS } from '../ir/builders.ts';
import { lower } from '../golden/plan.ts';
import { presetNames } from '../sim/arch.ts';
import { loadAnyArch } from '../sim/dataflow-arch.ts';
import { runDataflowSimulate } from './simulate-dataflow.ts';
import { OBJECTIVES, type Objective } from '../sim/mapper.ts';
import { simulate, type SimResult } from '../sim/simulate.ts';
import { FUSION_MODES, type FusionMode } from '../sim/residency.ts';
import { renderCsv, renderMarkdown, renderText, num, numInt, type Cell, type Table } from '../report/table.ts';
import { loadInput, loadNetwork, loadTarget } from './load.ts';
import { emit, formatOf, formatOptions, requestExitCode, toJson, TOOL_VERSION } from './io.ts';
import { kernelsByName, KERNEL_NAMES, warmKernels } from './kernels.ts';

interface SimArgs {
  target: string; arch: string; objective: string; convention: string; seed: number; trace?: boolean; functional?: boolean; verify?: boolean;
  fusion: string; batch: number;
  input?: string; kernels: string; realFormat: string; targetFps?: number; table?: 'layers' | 'totals' | 'energy' | 'residency' | 'area'; json?: boolean; csv?: boolean; markdown?: boolean; out?: string;
}

const sig = (x: number, d = 4) => (x === 0 ? '0' : Number(x.toPrecision(d)).toString());

/** SCALE-Sim's word counts are printed (as table columns) for an arch that follows its printing convention (scalesim-compat). */
const showsScalesimWords = (r: SimResult) => r.arch.peArray.cycleConvention === 'scalesim-printed';
const pct = (x: number) => num(100 * x, (100 * x).toFixed(1));

export function layerTable(r: SimResult): Table {
  const ss = showsScalesimWords(r);
  return {
    title: `${r.network} on ${r.arch.name}: per layer (objective ${r.objective})`,
    headers: ['layer', 'steps', 'unit', 'tiles [#]', 'BOPs [1b MAC]', 'real MACs', 'compute [cyc]', 'post-op [cyc]', 'SRAM stall [cyc]', 'DRAM stall [cyc]', 'fill+drain [cyc]', 'total [cyc]',
      'util [%]', 'compute util [%]', 'map eff [%]', 'DRAM [B]', 'SRAM rd [B]', 'SRAM wr [B]', ...(ss ? ['SCALE-Sim ifmap rd [words]', 'SCALE-Sim filter rd [words]', 'SCALE-Sim ofmap wr [words]'] : []), 'energy [uJ]', 'bottleneck'],
    rows: r.layers.map((l) => {
      if (!l.feasible) return [l.id, l.steps.length, l.executesOn, 'infeasible', numInt(l.bops), numInt(l.realMacs), l.reason ?? '', '', '', '', '', '', '', '', '', '', '', '', ...(ss ? ['', '', ''] : []), '', ''];
      const c = l.cycles!;
      const rd = Object.values(l.sramBytes!).reduce((a, b) => a + b.readBytes, 0), wr = Object.values(l.sramBytes!).reduce((a, b) => a + b.writeBytes, 0);
      const w = l.scalesimSramWords;
      return [l.id, l.steps.length, l.executesOn, l.tiles!, numInt(l.bops), numInt(l.realMacs), numInt(c.compute), numInt(c.postOp), numInt(c.sramStall), numInt(c.dramStall), numInt(c.fillDrain), numInt(c.total),
        pct(l.utilisation!), l.computeUtilisation == null ? 'n/a' : pct(l.computeUtilisation), l.mappingEfficiency == null ? 'n/a' : pct(l.mappingEfficiency), numInt(l.dramBytesTotal!), numInt(rd), numInt(wr),
        ...(ss ? (w ? [numInt(w.ifmapReads), numInt(w.filterReads), numInt(w.ofmapWrites)] : ['n/a', 'n/a', 'n/a']) : []), num(l.energyTotalJ! * 1e6, sig(l.energyTotalJ! * 1e6)), l.bottleneck!];
    }),
  };
}

export function totalsTable(r: SimResult): Table {
  const t = r.totals!;
  const n = (v: number) => num(v, sig(v));
  const rows: Cell[][] = [
    ['end-to-end cycles', numInt(t.cycles), 'cycles'],
    ['compute window', numInt(t.computeWindowCycles), 'cycles'],
    ...(t.batch > 1
      ? [['batch', numInt(t.batch), 'frames'], ['batch latency', n(t.latencyMs), 'ms'], ['first frame latency (layer-major)', n(t.frameLatencyMs), 'ms'], [`frames per second (batch ${t.batch})`, n(t.framesPerSecond), '1/s']] as Cell[][]
      : [['latency', n(t.latencyMs), 'ms'], ['frames per second (batch 1)', n(t.framesPerSecond), '1/s']] as Cell[][]),
    ['BOPs', numInt(t.bops), '1-bit MACs'],
    ['real MACs', numInt(t.realMacs), 'MACs'],
    [`OPs (BOPs/${r.convention.bopsPerOp} + real MACs, convention '${r.convention.name}')`, numInt(t.ops), 'OPs'],
    ['effective throughput', n(t.effectiveTops), 'TOPS'],
    ['  of which binary', n(t.effectiveBinaryTops), 'TOPS'],
    ['  of which real', n(t.effectiveRealTops), 'TOPS'],
    ['energy per frame', n(t.energyPerFrameJ * 1e6), 'uJ'],
    ['efficiency', n(t.topsPerWatt), 'TOPS/W'],
    ['DRAM traffic', numInt(t.dramBytes), 'B'],
    ...(t.batch > 1 ? [['  per frame', numInt(t.dramBytesPerFrame), 'B']] as Cell[][] : []),
    ['  compulsory DRAM traffic (sum over layers, each alone)', numInt(t.compulsoryDramBytes), 'B'],
    ['  compulsory DRAM traffic (network: input and outputs per frame, weights once)', numInt(t.networkCompulsoryDramBytes), 'B'],
    ['utilisation (end to end)', pct(t.utilisation), '%'],
    ['utilisation (compute only, SCALE-Sim)', pct(t.computeUtilisation), '%'],
    ['area (total, excl. DRAM PHY)', n(r.area.totalMm2), `mm^2 at ${r.area.technologyNodeNm} nm`],
  ];
  if (showsScalesimWords(r)) rows.push(['SCALE-Sim ifmap SRAM reads', numInt(t.scalesimSramWords.ifmapReads), 'words'], ['SCALE-Sim filter SRAM reads', numInt(t.scalesimSramWords.filterReads), 'words'], ['SCALE-Sim ofmap SRAM writes', numInt(t.scalesimSramWords.ofmapWrites), 'words']);
  for (const [k, v] of Object.entries(t.energyJ)) rows.push([`  energy ${k}`, n(v * 1e6), 'uJ']);
  const rf = r.rooflines!;
  rows.push(['roofline: ideal compute', numInt(rf.computeCycles), 'cycles'], ['roofline: DRAM bytes / bandwidth', numInt(rf.dramCycles), 'cycles']);
  for (const [b, v] of Object.entries(rf.sramCycles)) rows.push([`roofline: SRAM ${b} bytes / bandwidth`, numInt(v), 'cycles']);
  return { title: `${r.network} on ${r.arch.name}: totals`, headers: ['metric', 'value', 'unit'], rows };
}

/** What fusion/residency decided (simulate --fusion auto, or a batch): chains, resident tensors, resident weights. */
export function residencyTable(r: SimResult): Table | undefined {
  const s = r.residency;
  if (!s) return undefined;
  const rows: Cell[][] = [
    ...s.chains.map((c): Cell[] => ['fused chain', `${c.layers[0]} .. ${c.layers[c.layers.length - 1]} (${c.layers.length} layers)`, `bands of <= ${c.rowsPerBand} output rows`, '']),
    ...s.residentTensors.map((t): Cell[] => [t.mode === 'band' ? 'tensor (band buffer)' : 'tensor (whole)', t.name, `${t.buffer}`, numInt(t.heldBytes)]),
    ['resident weights', s.residentWeights.length ? `${s.residentWeights.length} layers (${s.residentWeights.length > 3 ? `${s.residentWeights.slice(0, 2).join(', ')}, ..., ${s.residentWeights[s.residentWeights.length - 1]}` : s.residentWeights.join(', ')})` : 'none', 'weights buffer, loaded once per batch', ''],
    ['recomputed rows', numInt(s.recomputedRows), 'halo rows are kept (reuse), not recomputed', ''],
  ];
  return { title: `${r.network} on ${r.arch.name}: fusion ${s.fusion}, batch ${s.batch} (${s.stepsKept} of ${s.stepsTried} greedy steps kept)`, headers: ['what', 'which', 'where / how', 'held [B]'], rows };
}

export function energyTable(r: SimResult): Table {
  const a = r.arch;
  const e = (j: number) => num(j * 1e12, sig(j * 1e12));
  const rows: Cell[][] = [
    ['DRAM', e(a.dram.energyPerBit.joules), 'pJ/bit', a.dram.energyPerBit.source],
    ...Object.values(a.buffers).map((b) => [`SRAM ${b.name} (${b.portBits}-bit access)`, e(b.accessEnergy.joules), 'pJ/access', b.accessEnergy.source]),
    [`PE op (${a.peArray.type === 'xnor' ? `${a.peArray.laneBits}-bit XNOR-popcount word` : `${a.peArray.precision} MAC`})`, e(a.peArray.opEnergy.joules), 'pJ/op', a.peArray.opEnergy.source],
    ['real unit MAC', e(a.realUnit.macEnergy.joules), 'pJ/MAC', a.realUnit.macEnergy.source],
    ['PPU multiply', e(a.postProcessing.mulEnergy.joules), 'pJ', a.postProcessing.mulEnergy.source],
    ['PPU add', e(a.postProcessing.addEnergy.joules), 'pJ', a.postProcessing.addEnergy.source],
    ['PPU compare', e(a.postProcessing.compareEnergy.joules), 'pJ', a.postProcessing.compareEnergy.source],
    ['pooling tap', e(a.pooling.opEnergy.joules), 'pJ', a.pooling.opEnergy.source],
  ];
  return { title: `energy table of '${a.name}'`, headers: ['action', 'energy', 'unit', 'source'], rows };
}

export function areaTable(r: SimResult): Table {
  const a = r.area, c = a.components;
  const row = (name: string, x: typeof c.peArray): Cell[] => [name, num(x.mm2, sig(x.mm2)), x.count, x.unit, num(x.unitUm2, sig(x.unitUm2)), x.source];
  const rows: Cell[][] = [
    row(`PE array (${r.arch.peArray.rows}x${r.arch.peArray.cols})`, c.peArray),
    ...Object.entries(c.buffers).map(([b, x]) => row(`SRAM ${b}`, x)),
    row('post-processing', c.ppu), row('real unit', c.realUnit), row('pooling', c.pooling),
    ['total', num(a.totalMm2, sig(a.totalMm2)), '', '', '', `sum of the above; excluded: ${a.excluded}`],
  ];
  return { title: `area of '${r.arch.name}' at ${a.technologyNodeNm} nm (scaling: ${a.scalingRule})`, headers: ['component', 'area [mm^2]', 'count', 'unit', 'unit area [um^2]', 'source'], rows };
}

function definitionsNotes(r: SimResult): string[] {
  return ['definitions:', ...Object.entries(r.definitions).map(([k, v]) => `  ${k}: ${v}`), ...r.notes.map((n) => `note: ${n}`)];
}

export const simulateCommand = {
  command: 'simulate <target>',
  describe: 'cycle-approximate accelerator simulation of a network (timing, traffic, energy; optionally bit-exact functional)',
  builder: (y: Argv) => y
    .positional('target', { type: 'string', describe: 'model .safetensors, workload .json, or built-in workload name' })
    .option('arch', { type: 'string', demandOption: true, describe: `architecture: a preset (${presetNames('all').join(', ')}) or a birealsim.arch/1 JSON file (family layer-sequential or dataflow)` })
    .option('target-fps', { type: 'number', describe: 'dataflow archs: frames/s the per-layer folding search aims at (overrides the arch\'s targetFps); exit 1 when unreachable' })
    .option('objective', { type: 'string', default: 'cycles', describe: `mapper objective per layer: ${OBJECTIVES.join(' | ')}` })
    .option('convention', { type: 'string', default: 'paper', describe: `counting convention of the reported BOPs / real MACs / OPs (as \`birealsim cost\`): ${Object.keys(CONVENTIONS).join(' | ')}` })
    .option('fusion', { type: 'string', default: 'none', describe: `inter-layer fusion and on-chip residency: ${FUSION_MODES.join(' | ')} (none = every tensor between layers through DRAM; auto = the mapper fuses layers band by band and keeps tensors and weights on chip where that helps the objective)` })
    .option('batch', { type: 'number', default: 1, describe: 'frames per batch: layers run layer-major over the frames; resident weights are fetched once per batch' })
    .option('trace', { type: 'boolean', describe: 'include the per-tile trace (start/end cycle, bytes) in the output' })
    .option('functional', { type: 'boolean', describe: 'also execute every tile on the modelled buffers (needs weights: random for workloads)' })
    .option('verify', { type: 'boolean', describe: 'with --functional: compare every layer with the golden model bit for bit (exit 1 on a mismatch)' })
    .option('table', { choices: ['layers', 'totals', 'energy', 'residency', 'area'] as const, describe: 'with --csv: which table the file holds (one table per CSV; default layers)' })
    .option('input', { type: 'string', describe: 'functional mode input image (.json or .safetensors); default: seeded random' })
    .option('seed', { type: 'number', default: 0, describe: 'seed for random weights and the random input' })
    .option('kernels', { type: 'string', default: 'default', describe: `kernel set for functional tiles: ${KERNEL_NAMES.join(' | ')}` })
    .option('real-format', { type: 'string', default: 'fp32', describe: 'real-valued stream format of the plan: fp32 | fp16 | int16q<F> | int8q<F>' })
    .options(formatOptions),
  handler: async (argv: ArgumentsCamelCase<SimArgs>) => {
    if (!(OBJECTIVES as readonly string[]).includes(argv.objective)) throw new UserError('E_ARG', `unknown objective '${argv.objective}'`, { path: '--objective', hint: didYouMeanHint(argv.objective, OBJECTIVES) });
    if (!(FUSION_MODES as readonly string[]).includes(argv.fusion)) throw new UserError('E_ARG', `unknown fusion mode '${argv.fusion}'`, { path: '--fusion', hint: didYouMeanHint(argv.fusion, FUSION_MODES) });
    if (argv.functional && argv.batch > 1) throw new UserError('E_ARG', '--functional executes one frame; it cannot be combined with --batch > 1', { path: '--batch', hint: 'drop --batch for the functional run, or drop --functional for batch timing' });
    if (argv.verify && !argv.functional) throw new UserError('E_ARG', '--verify needs --functional', { path: '--verify' });
    const anyArch = loadAnyArch(argv.arch);
    if (anyArch.family !== 'dataflow' && argv.targetFps !== undefined) throw new UserError('E_ARG', `applies to dataflow architectures only; '${anyArch.arch.name}' is layer-sequential`, { path: '--target-fps' });
    const realFormat = parseRealFormat(argv.realFormat);
    const isModelFile = !BUILTIN_WORKLOADS[argv.target] && existsSync(argv.target) && !argv.target.endsWith('.json');
    let plan, source;
    if (argv.functional && anyArch.family === 'dataflow') throw new UserError('E_ARG', `applies to layer-sequential architectures only; '${anyArch.arch.name}' is a dataflow architecture (analytic timing, energy and area; no functional mode, trace or mapper)`, { path: '--functional', file: anyArch.arch.file });
    if (argv.functional || isModelFile) {
      const t = loadTarget(argv.target, argv.seed);
      plan = lower(t.model, { realFormat });
      source = t.source;
    } else {
      const t = loadNetwork(argv.target);
      plan = lower(shapeOnlyModel(t.net), { realFormat });
      source = { ...t.source, weights: 'not needed (timing only)' };
    }
    if (anyArch.family === 'dataflow') {
      runDataflowSimulate(plan, anyArch.arch, {
        targetFps: argv.targetFps, convention: resolveConvention({ convention: argv.convention }), fmt: formatOf(argv), table: argv.table, out: argv.out, source,
        refused: { '--trace': !!argv.trace, '--verify': !!argv.verify, '--objective': argv.objective !== 'cycles' },
      });
      return;
    }
    const arch = anyArch.arch;
    let functional;
    if (argv.functional) {
      const kernels = kernelsByName(argv.kernels);
      await warmKernels(kernels);
      const { input } = loadInput(argv.input, plan.net, argv.seed);
      functional = { input, kernels, verify: !!argv.verify };
    }
    const r = simulate(plan, arch, { objective: argv.objective as Objective, convention: resolveConvention({ convention: argv.convention }), trace: !!argv.trace, functional, fusion: argv.fusion as FusionMode, batch: argv.batch });
    const fmt = formatOf(argv);
    if (fmt === 'json') emit(toJson({ ...r, version: TOOL_VERSION, source }), argv.out);
    else {
      const rt = residencyTable(r);
      const tables = [layerTable(r), ...(rt ? [rt] : []), ...(r.totals ? [totalsTable(r)] : []), energyTable(r), areaTable(r)];
      if (fmt === 'csv') {
        const which = argv.table ?? 'layers';
        if (which === 'totals' && !r.totals) throw new UserError('E_INFEASIBLE', '--table totals: the network does not map onto the architecture, so there are no totals', { path: '--table', hint: 'use --table layers to see which layers are infeasible' });
        if (which === 'residency' && !rt) throw new UserError('E_ARG', '--table residency needs --fusion auto or --batch > 1', { path: '--table' });
        emit(renderCsv(which === 'layers' ? layerTable(r) : which === 'totals' ? totalsTable(r) : which === 'residency' ? rt! : which === 'area' ? areaTable(r) : energyTable(r)), argv.out);
      }
      else if (fmt === 'markdown') emit([...tables.map(renderMarkdown), ...definitionsNotes(r).map((l) => `    ${l}`)].join('\n'), argv.out);
      else {
        const lines = [tables.map(renderText).join('\n\n'), '', ...definitionsNotes(r), `simulated in ${r.timingMs.toFixed(1)} ms (timing)`];
        if (r.functional) lines.push(`functional: ${r.functional.tiles} tiles, ${r.functional.kernelCalls} kernel calls (${r.functional.kernels}) in ${r.functional.ms.toFixed(0)} ms; logits sha256 ${r.functional.logitsSha256}` +
          (r.functional.verified === undefined ? '' : `; golden comparison: ${r.functional.verified ? `bit-exact on all ${r.functional.stepsChecked} steps and ${r.functional.accumulatorsChecked} accumulator tensors` : `${r.functional.mismatches!.length} steps differ`}`));
        emit(lines.join('\n'), argv.out);
      }
    }
    if (!r.feasible) throw new UserError('E_INFEASIBLE', `${r.infeasible.length} layer(s) do not fit '${arch.name}': ${r.infeasible[0].reason}`, { file: arch.file, hint: 'enlarge the named buffer or the accumulator in the arch file' });
    if (r.functional?.verified === false) {
      const m = r.functional.mismatches![0];
      // a check that failed, not bad input: exit 1 (main.ts)
      process.stderr.write(`check failed E_MISMATCH: functional simulation differs from golden at layer ${m.layer}, step ${m.step}, tile ${m.tile} (band ${m.band}, channel tile ${m.channelTile}), ${m.what} (y,x,c) = (${m.coordinate.join(',')}): expected ${m.expected}, got ${m.got}\n`);
      requestExitCode(1);
    }
  },
};
