/**
 * `birealsim simulate <target> --arch <dataflow arch>`: the dataflow family's output (sim/dataflow.ts): a
 * per-layer table (folding, per-engine FINN cycle estimates, on-chip memory by kind), totals (II,
 * frames/s, latency, lanes, on-chip memory, DRAM traffic, energy per frame, area), energy and area by
 * component (sim/dataflow-cost.ts), or the DataflowResult as --json / --csv / --markdown. A missed target frame rate is a failed check (exit 1), not bad input.
 */
import type { ExecPlan } from '../golden/plan.ts';
import { UserError } from '../core/diagnostics.ts';
import type { CostConvention } from '../cost/conventions.ts';
import type { ResolvedDataflowArch } from '../sim/dataflow-arch.ts';
import { simulateDataflow, type DataflowResult } from '../sim/dataflow.ts';
import { renderCsv, renderMarkdown, renderText, num, numInt, type Cell, type Table } from '../report/table.ts';
import { emit, requestExitCode, toJson, TOOL_VERSION, type OutputFormat } from './io.ts';

const sig = (x: number, d = 4) => (x === 0 ? '0' : Number(x.toPrecision(d)).toString());
const kib = (bytes: number) => num(bytes / 1024, (bytes / 1024).toFixed(1));

export function dataflowLayerTable(r: DataflowResult): Table {
  return {
    title: `${r.network} on ${r.arch.name} (dataflow): per layer${r.targetFps !== null ? `, target ${r.targetFps} frames/s = ${numInt(Math.floor(r.targetCycles!)).text} cycles` : ''}`,
    headers: ['layer', 'engine', 'PE', 'SIMD', 'SWG SIMD', 'lanes [#]', 'MVAU [cyc]', 'SWG [cyc]', 'other engines max [cyc]', 'cycles/frame [cyc]', 'busy [%]',
      'weights [KiB]', 'SWG buf [KiB]', 'shortcut FIFO [px]', 'shortcut FIFO [KiB]', 'on-chip [KiB]', 'latency@out [cyc]', 'note'],
    rows: r.stages.map((s): Cell[] => {
      const e = (n: string) => s.engines.filter((x) => x.name === n).reduce((a, x) => a + x.cycles, 0);
      const other = s.engines.filter((x) => x.name !== 'mvau' && x.name !== 'swg').reduce((a, x) => Math.max(a, x.cycles), 0);
      const fifoPx = s.memory.shortcutFifos.reduce((a, f) => a + f.depthPixels, 0);
      const fifoBytes = s.memory.shortcutFifos.reduce((a, f) => a + f.bits, 0) / 8;
      const mvau = s.kind === 'xnor-mvau' || s.kind === 'mac-mvau';
      return [s.id, s.kind, s.folding.pe, mvau ? s.folding.simd : '-', s.folding.swgSimd === null ? '-' : `${s.folding.swgSimd}${s.folding.parallelWindow ? ' (par)' : ''}`,
        numInt(s.lanes), mvau ? numInt(e('mvau')) : '-', s.folding.swgSimd === null ? '-' : numInt(e('swg')), numInt(other), numInt(s.cyclesPerFrame),
        num(100 * s.busyFraction, (100 * s.busyFraction).toFixed(1)), kib((s.memory.weightBits + s.memory.paramBits) / 8), kib(s.memory.swgBufferBits / 8),
        s.memory.shortcutFifos.length ? numInt(fifoPx) : '-', kib(fifoBytes), kib(s.memory.totalBytes), numInt(s.latencyAtOutputCycles), s.reason ?? ''];
    }),
  };
}

export function dataflowTotalsTable(r: DataflowResult): Table {
  const t = r.totals;
  const n = (v: number) => num(v, sig(v));
  const rows: Cell[][] = [
    ['initiation interval (II)', numInt(t.initiationIntervalCycles), 'cycles'],
    ['  set by', t.bottleneck, ''],
    ['frames per second (clock / II)', n(t.framesPerSecond), '1/s'],
    ['latency (FINN critical path + DRAM)', numInt(t.latencyCycles), 'cycles'],
    ['latency', n(t.latencyMs), 'ms'],
    ['overlapped latency (balanced pipeline)', numInt(t.overlappedLatencyCycles), 'cycles'],
    ['overlapped latency', n(t.overlappedLatencyMs), 'ms'],
    ['MVAU lanes PE*SIMD (folding cost)', numInt(t.totalLanes), 'lanes'],
    ['  XNOR-popcount lanes', numInt(t.xnorLanes), '1-bit lanes'],
    [`  ${r.arch.realMacPrecision} MAC lanes`, numInt(t.macLanes), 'MACs/cycle'],
    ['pool / element-wise PEs', numInt(t.poolAndEltwisePe), 'channels/cycle'],
    ['on-chip memory', kib(t.onChipBytes), 'KiB'],
    ['  weights', kib(t.weightBytes), 'KiB'],
    ['  per-channel parameters', kib(t.paramBytes), 'KiB'],
    ['  SWG line buffers', kib(t.swgBufferBytes), 'KiB'],
    ['  shortcut FIFOs', kib(t.shortcutFifoBytes), 'KiB'],
    [`  stream FIFOs (depth ${r.arch.fifoDepth})`, kib(t.streamFifoBytes), 'KiB'],
    ['DRAM traffic per frame (input + output frames)', numInt(t.dramBytesPerFrame), 'B'],
    ['DRAM bandwidth used', n(t.dramBytesPerSecond / 1e9), 'GB/s'],
    ['BOPs', numInt(t.bops), '1-bit MACs'],
    ['real MACs', numInt(t.realMacs), 'MACs'],
    ['energy per frame', n(t.energyPerFrameJ * 1e6), 'uJ'],
    ['TOPS/W (2 x (MACs + BOPs) / energy)', n(t.topsPerWatt), 'TOPS/W'],
    [`area (${r.area.technologyNodeNm} nm, DRAM PHY excluded)`, n(t.areaMm2), 'mm^2'],
  ];
  return { title: `${r.network} on ${r.arch.name} (dataflow): totals`, headers: ['metric', 'value', 'unit'], rows };
}

/** Energy per frame by component (sim/dataflow-cost.ts). */
export function dataflowEnergyTable(r: DataflowResult): Table {
  const e = r.totals.energyJ, tot = r.totals.energyPerFrameJ;
  return {
    title: `${r.network} on ${r.arch.name} (dataflow): energy per frame by component`,
    headers: ['component', 'energy [uJ/frame]', 'share [%]'],
    rows: [...Object.entries(e).map(([k, v]): Cell[] => [k, num(v * 1e6, sig(v * 1e6)), num((100 * v) / tot, ((100 * v) / tot).toFixed(1))]), ['total', num(tot * 1e6, sig(tot * 1e6)), '100.0']],
  };
}

/** Area by component (sim/dataflow-cost.ts, area.ts unit areas). */
export function dataflowAreaTable(r: DataflowResult): Table {
  const a = r.area;
  return {
    title: `${r.network} on ${r.arch.name} (dataflow): area by component at ${a.technologyNodeNm} nm (${a.scalingRule})`,
    headers: ['component', 'area [mm^2]', 'share [%]', 'model'],
    rows: [...Object.entries(a.mm2).map(([k, v]): Cell[] => [k, num(v, v.toFixed(4)), num((100 * v) / a.totalMm2, ((100 * v) / a.totalMm2).toFixed(1)), a.model[k]]), ['total', num(a.totalMm2, a.totalMm2.toFixed(4)), '100.0', a.excluded]],
  };
}

function notesOf(r: DataflowResult): string[] {
  return ['definitions:', ...Object.entries(r.definitions).map(([k, v]) => `  ${k}: ${v}`), ...r.notes.map((x) => `note: ${x}`)];
}

/** Runs and prints a dataflow simulation; flags that only the layer-sequential family knows are refused. */
export function runDataflowSimulate(plan: ExecPlan, arch: ResolvedDataflowArch, o: {
  targetFps?: number; convention: CostConvention; fmt: OutputFormat; table?: string; out?: string; source: unknown;
  refused: Record<string, boolean>;
}): DataflowResult {
  for (const [flag, given] of Object.entries(o.refused)) {
    if (given) throw new UserError('E_ARG', `applies to layer-sequential architectures only; '${arch.name}' is a dataflow architecture (analytic timing, energy and area; no functional mode, trace or mapper)`, { path: flag, file: arch.file });
  }
  const r = simulateDataflow(plan, arch, { targetFps: o.targetFps, convention: o.convention });
  if (o.fmt === 'json') emit(toJson({ ...r, version: TOOL_VERSION, source: o.source }), o.out);
  else if (o.fmt === 'csv') {
    if (o.table === 'residency') throw new UserError('E_ARG', '--table residency: the dataflow family keeps every tensor on chip (no residency plan)', { path: '--table', hint: 'use --table layers, totals, energy or area' });
    const byName: Record<string, (x: DataflowResult) => Table> = { totals: dataflowTotalsTable, energy: dataflowEnergyTable, area: dataflowAreaTable };
    emit(renderCsv((byName[o.table ?? 'layers'] ?? dataflowLayerTable)(r)), o.out);
  } else if (o.fmt === 'markdown') emit([renderMarkdown(dataflowLayerTable(r)), renderMarkdown(dataflowTotalsTable(r)), renderMarkdown(dataflowEnergyTable(r)), renderMarkdown(dataflowAreaTable(r)), ...notesOf(r).map((l) => `    ${l}`)].join('\n'), o.out);
  else emit([renderText(dataflowLayerTable(r)), '', renderText(dataflowTotalsTable(r)), '', renderText(dataflowEnergyTable(r)), '', renderText(dataflowAreaTable(r)), '', ...notesOf(r)].join('\n'), o.out);
  if (!r.feasible) {
    // a requested target missed: a failed check (exit 1), reported after the tables
    process.stderr.write(`check failed E_TARGET: ${r.infeasible.length} layer(s) or transfers cannot meet ${r.targetFps} frames/s on '${arch.name}': ${r.infeasible[0].reason}\n`);
    requestExitCode(1);
  }
  return r;
}
