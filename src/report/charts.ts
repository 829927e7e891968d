/**
 * Report -> chart.js v4 configurations as PLAIN JSON (no callbacks), so one configuration renders the same
 * in the HTML page (browser) and in PNG export (Node + @napi-rs/canvas).
 *
 * Invariants:
 *  - a chart is produced only from data that is present and non-trivial; a chart whose input kind is absent
 *    goes to `missing` (the forms say once, at their end, which inputs would add which charts); a chart whose
 *    input is present but holds nothing plottable goes to `omitted` with the reason (never an empty canvas);
 *  - every axis title carries its unit; options fix responsive:false, animation:false, devicePixelRatio:1
 *    (stack.md: required in Node, and makes PNG bytes deterministic);
 *  - chart ids are stable (used as PNG file names and by the browser test);
 * Roofline (Williams et al. CACM 2009; accelerator-model.md §5): attained MACs/cycle <= min(peak,
 * DRAM bytes/cycle x operational intensity), intensity = MACs / DRAM byte of the layer.
 */
import type { Report, SimulationSection } from './schema.ts';
import { paretoFront2 } from './pareto.ts';

export interface ChartSpec { id: string; title: string; width: number; height: number; config: Record<string, unknown> }
export interface OmittedChart { id: string; title: string; reason: string }
/** An input kind the report lacks and the charts it would add. */
export interface MissingInput { input: string; charts: string[] }

/** Chart width in px: the HTML page is 1,400 px wide (html.ts), so charts use its width. */
const CHART_WIDTH = 1280;

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const color = (i: number) => PALETTE[i % PALETTE.length];

function base(title: string, x: Record<string, unknown>, y: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    responsive: false, animation: false, devicePixelRatio: 1,
    plugins: { title: { display: true, text: title }, legend: { position: 'bottom', labels: { usePointStyle: true } } },
    scales: { x, y },
    ...extra,
  };
}
const CATEGORY_AXES = new Set(['layer', 'network', 'network @ architecture', 'epoch']);
/** An axis with its title; value axes opt into the shared tick plugin (chart-ticks.ts: readable log ticks and labels). */
const axis = (title: string, more: Record<string, unknown> = {}) => ({ title: { display: true, text: title }, ...(CATEGORY_AXES.has(title) ? {} : { birealsimTicks: true }), ...more });

/**
 * Model memory as stacked bars on a LINEAR axis: ours split into binary weights (1 bit each) and real-valued
 * parameters (memory - binary weights, i.e. realBits x realParams: cost/count.ts memoryBits), beside the
 * paper's printed total and the full-precision counterpart. Each network's label carries its total and
 * saving, so a net too small to see on the shared axis still reads as a number.
 */
function memoryChart(c: NonNullable<Report['cost']>): ChartSpec {
  const hasPaper = c.networks.some((n) => n.paper);
  const labels = c.networks.map((n) => [n.name, `${sig3(n.memoryMbit)} Mbit${n.bops > 0 ? `, ${n.memorySaving.toFixed(2)}x < fp32` : ''}`]);
  return {
    id: 'cost-memory', title: `Model memory: binary weights + real-valued parameters (convention '${c.convention}')`, width: CHART_WIDTH, height: 460,
    config: {
      type: 'bar',
      data: { labels, datasets: [
        { label: 'ours: binary weights (1 bit each) [Mbit]', data: c.networks.map((n) => round6(n.binaryWeights / 1e6)), backgroundColor: color(0), stack: 'ours' },
        { label: 'ours: real-valued parameters [Mbit]', data: c.networks.map((n) => round6(n.memoryMbit - n.binaryWeights / 1e6)), backgroundColor: color(1), stack: 'ours' },
        ...(hasPaper ? [{ label: 'paper, printed total (Liu et al. 2018, Table 5) [Mbit]', data: c.networks.map((n) => n.paper?.memoryMbit ?? null), backgroundColor: 'rgba(0,0,0,0)', borderColor: '#000000', borderWidth: 2, stack: 'paper' }] : []),
        { label: 'full-precision counterpart, ours [Mbit]', data: c.networks.map((n) => (n.bops > 0 ? round6(n.fpMemoryMbit) : null)), backgroundColor: '#c7c7c7', stack: 'fp32' },
      ] },
      options: base(`Model memory under convention '${c.convention}': ours stacked by precision, linear scale`, axis('network', { stacked: true }), axis('memory [Mbit]', { stacked: true, beginAtZero: true, grace: '5%' })),
    },
  };
}

function costCharts(r: Report, out: ChartSpec[], missing: MissingInput[]): void {
  const c = r.cost;
  if (!c || c.networks.length === 0) {
    missing.push({ input: 'a cost input (`paper-table` or `birealsim cost --json`)', charts: ['model memory by precision', 'operations per image'] });
  } else {
    const labels = c.networks.map((n) => n.name);
    const hasPaper = c.networks.some((n) => n.paper);
    out.push(memoryChart(c));
    out.push({
      id: 'cost-ops', title: 'OPs: ours beside the paper', width: CHART_WIDTH, height: 420,
      config: {
        type: 'bar',
        data: { labels, datasets: [
          { label: `ours: OPs = BOPs/${c.bopsPerOp} + real MACs`, data: c.networks.map((n) => n.ops), backgroundColor: color(0) },
          ...(hasPaper ? [{ label: 'paper, printed OPs', data: c.networks.map((n) => n.paper?.ops ?? null), backgroundColor: color(1) }] : []),
          { label: 'full-precision counterpart MACs, ours', data: c.networks.map((n) => n.fpMacs), backgroundColor: color(7) },
        ] },
        options: base('Operations per image (log scale)', axis('network'), axis('operations [#]', { type: 'logarithmic' })),
      },
    });
  }
  // ops by precision: from cost when present, else from the simulations' per-layer op widths
  const rows: { name: string; byBits: Map<number, number> }[] = [];
  if (c) for (const n of c.networks) rows.push({ name: n.name, byBits: new Map([[1, n.bops], [32, n.realMacs]].filter(([, v]) => v > 0) as [number, number][]) });
  else for (const s of r.simulations ?? []) {
    const m = new Map<number, number>();
    for (const l of s.layers) if (l.macs > 0) m.set(l.opBits, (m.get(l.opBits) ?? 0) + l.macs);
    rows.push({ name: `${s.network} @ ${s.arch}`, byBits: m });
  }
  const bits = [...new Set(rows.flatMap((x) => [...x.byBits.keys()]))].sort((a, b) => a - b);
  if (rows.length === 0 || bits.length === 0) missing.push({ input: 'a cost or `simulate --json` input', charts: ['MACs by operand precision'] });
  else out.push({
    id: 'ops-precision', title: 'Operations by precision', width: CHART_WIDTH, height: 420,
    config: {
      type: 'bar',
      data: { labels: rows.map((x) => x.name), datasets: bits.map((b, i) => ({ label: b === 1 ? '1-bit MACs (XNOR-popcount)' : `${b}-bit real MACs`, data: rows.map((x) => x.byBits.get(b) ?? null), backgroundColor: color(i) })) },
      options: base(`MACs by operand precision${c ? ` (cost, convention '${c.convention}')` : ' (simulation)'} (log scale)`, axis('network'), axis('MACs per image [#]', { type: 'logarithmic' })),
    },
  });
}

const shortName = (s: SimulationSection) => `${s.network} @ ${s.arch}`;

function simCharts(r: Report, out: ChartSpec[], omitted: OmittedChart[], missing: MissingInput[]): void {
  const sims = r.simulations ?? [];
  if (sims.length === 0) {
    missing.push({ input: 'a `birealsim simulate --json` input', charts: ['per-layer cycles by cause', 'utilisation per layer', 'roofline', 'energy by component'] });
    return;
  }
  // the comparison across simulations (energy per frame by component) first, then each simulation's detail
  const comps = [...new Set(sims.flatMap((s) => Object.keys(s.energyByComponent)))].sort();
  if (comps.length === 0) omitted.push({ id: 'sim-energy', title: 'Energy by component', reason: 'the simulate inputs report no energy components' });
  else out.push({
    id: 'sim-energy', title: 'Energy per frame by component', width: CHART_WIDTH, height: 440,
    config: {
      type: 'bar',
      data: { labels: sims.map(shortName), datasets: comps.map((k, j) => ({ label: k, data: sims.map((s) => round6((s.energyByComponent[k] ?? 0) * 1e6)), backgroundColor: color(j) })) },
      options: base('Energy per frame, stacked by component', axis('network @ architecture', { stacked: true }), axis('energy [uJ / frame]', { stacked: true })),
    },
  });
  sims.forEach((s, i) => {
    const layers = s.layers.filter((l) => l.totalCycles > 0);
    const labels = layers.map((l) => l.name);
    const w = Math.max(CHART_WIDTH, 22 * labels.length + 200);
    if (layers.length === 0) { omitted.push({ id: `sim-cycles-${i}`, title: `Cycles by cause: ${shortName(s)}`, reason: 'no layer has cycles' }); return; }
    out.push({
      id: `sim-cycles-${i}`, title: `Per-layer cycles by cause: ${shortName(s)}`, width: w, height: 460,
      config: {
        type: 'bar',
        data: { labels, datasets: ([['compute', 'computeCycles'], ['stall (memory)', 'stallCycles'], ['fill/drain', 'fillDrainCycles'], ['post-op', 'postOpCycles']] as const).map(([label, k], j) => ({ label, data: layers.map((l) => l[k]), backgroundColor: color(j) })) },
        options: base(`${shortName(s)}: cycles per layer, stacked by cause (latency ${s.latencyCycles} cycles)`, axis('layer', { stacked: true }), axis('cycles', { stacked: true })),
      },
    });
    out.push({
      id: `sim-utilisation-${i}`, title: `Utilisation per layer: ${shortName(s)}`, width: w, height: 400,
      config: {
        type: 'bar',
        data: { labels, datasets: [{ label: 'utilisation = MACs / (cycles x peak MACs/cycle of the unit) [%]', data: layers.map((l) => Math.round(l.utilisation * 1e4) / 100), backgroundColor: color(2) }] },
        options: base(`${shortName(s)}: utilisation per layer`, axis('layer'), axis('utilisation [%]', { min: 0, max: 100 })),
      },
    });
    // roofline
    const pts = layers.filter((l) => l.macs > 0 && l.dramBytes > 0);
    if (pts.length === 0) { omitted.push({ id: `sim-roofline-${i}`, title: `Roofline: ${shortName(s)}`, reason: 'no layer with both MACs and DRAM traffic' }); return; }
    const xs = pts.map((l) => l.macs / l.dramBytes);
    // the x range covers every layer and every roof's ridge point (intensity = peak / DRAM bytes per cycle),
    // so both the bandwidth slope and the flat compute roof are inside the plot
    const peaks = [s.peakMacsPerCycle, ...(pts.some((l) => l.opBits !== 1) && !s.realOnPeArray ? [s.realPeakMacsPerCycle] : [])];
    const ridges = peaks.map((p) => p / s.dramBytesPerCycle);
    const xmin = Math.min(...xs, ...ridges) / 4, xmax = Math.max(...xs, ...ridges) * 4;
    const roof = (peak: number) => {
      const knee = peak / s.dramBytesPerCycle;
      return [{ x: xmin, y: Math.min(peak, s.dramBytesPerCycle * xmin) }, { x: knee, y: peak }, { x: xmax, y: peak }];
    };
    const binary = pts.filter((l) => l.opBits === 1), real = pts.filter((l) => l.opBits !== 1);
    const dot = (l: typeof pts[number]) => ({ x: l.macs / l.dramBytes, y: l.macs / l.totalCycles });
    out.push({
      id: `sim-roofline-${i}`, title: `Roofline: ${shortName(s)}`, width: CHART_WIDTH, height: 500,
      config: {
        type: 'scatter',
        data: { datasets: [
          { label: `roof, PE array (peak ${s.peakMacsPerCycle} MACs/cycle, DRAM ${round3(s.dramBytesPerCycle)} B/cycle)`, data: roof(s.peakMacsPerCycle), showLine: true, borderColor: color(7), backgroundColor: color(7), pointRadius: 0, borderWidth: 2 },
          ...(real.length && !s.realOnPeArray ? [{ label: `roof, real unit (peak ${s.realPeakMacsPerCycle} MACs/cycle)`, data: roof(s.realPeakMacsPerCycle), showLine: true, borderColor: color(5), backgroundColor: color(5), borderDash: [6, 4], pointRadius: 0, borderWidth: 2 }] : []),
          ...(binary.length ? [{ label: 'binary layers (1-bit MACs)', data: binary.map(dot), backgroundColor: color(0), pointRadius: 4 }] : []),
          ...(real.length ? [{ label: s.realOnPeArray ? 'real layers (on the PE array)' : 'real layers (real unit)', data: real.map(dot), backgroundColor: color(3), pointRadius: 4 }] : []),
          { label: `ridge point${ridges.length > 1 ? 's' : ''} (peak / DRAM bandwidth: ${ridges.map((x) => round3(x)).join(', ')} MACs/B)`, data: peaks.map((p, k) => ({ x: ridges[k], y: p })), backgroundColor: '#000000', pointStyle: 'triangle', pointRadius: 7 },
        ] },
        options: base(`${shortName(s)}: each layer on the roofline (compute roofs flat, bandwidth roof sloped)`, axis('operational intensity [MACs / DRAM byte]', { type: 'logarithmic', min: xmin, max: xmax }),
          axis('attained [MACs / cycle]', { type: 'logarithmic', max: Math.max(...peaks) * 2 })),
      },
    });
  });
}

function sweepCharts(r: Report, out: ChartSpec[], omitted: OmittedChart[], missing: MissingInput[]): void {
  const sweeps = r.sweeps ?? [];
  if (sweeps.length === 0) { missing.push({ input: 'a `birealsim sweep` .jsonl', charts: ['latency vs energy and latency vs area Pareto fronts'] }); return; }
  sweeps.forEach((sw, i) => {
    if (sw.points.length === 0) { omitted.push({ id: `sweep-pareto-${i}`, title: `Sweep ${sw.name}`, reason: 'no feasible point' }); return; }
    for (const [suffix, yKey, yLabel, yScale] of [['energy', 'energyJoules', 'energy per frame [mJ]', 1e3], ['area', 'areaMm2', 'area [mm^2] (excl. DRAM PHY)', 1]] as const) {
      const xy = sw.points.map((p) => [p.latencySeconds * 1e3, (p[yKey] as number) * yScale] as [number, number]);
      const front2 = paretoFront2(xy);
      const on3 = sw.points.map((p, j) => (p.pareto ? j : -1)).filter((j) => j >= 0);
      const others = sw.points.map((_, j) => j).filter((j) => !sw.points[j].pareto);
      const pt = (j: number) => ({ x: round6(xy[j][0]), y: round6(xy[j][1]) });
      out.push({
        id: `sweep-pareto-${suffix}-${i}`, title: `Sweep ${sw.name}: latency vs ${suffix === 'energy' ? 'energy' : 'area'}`, width: CHART_WIDTH, height: 500,
        config: {
          type: 'scatter',
          data: { datasets: [
            // dominated points first (drawn underneath), then the front on top
            { label: `dominated: ${others.length}`, data: others.map(pt), backgroundColor: 'rgba(31,119,180,0.55)', borderColor: 'rgba(31,119,180,0.9)', pointRadius: 3, pointStyle: 'circle' },
            { label: `on the 3-objective front (latency, energy, area): ${on3.length}`, data: on3.map(pt), backgroundColor: color(1), borderColor: '#7a3d00', pointRadius: 5, pointStyle: 'rectRot' },
            { label: `2-objective Pareto front (${front2.length} points)`, data: front2.map(pt), showLine: true, stepped: 'before', borderColor: color(3), backgroundColor: color(3), pointRadius: 0, borderWidth: 2 },
          ] },
          options: base(`${sw.name} (${sw.workload}): ${sw.points.length} feasible of ${sw.evaluated} evaluated`, axis('latency per frame [ms]', { type: 'logarithmic' }), axis(yLabel, { type: 'logarithmic' })),
        },
      });
    }
  });
}

const POINT_STYLES = ['circle', 'triangle', 'rect', 'rectRot', 'star', 'crossRot', 'rectRounded', 'cross'];

/**
 * Accuracy vs energy per frame, one dataset (legend entry = label) per real-stream format, plus the
 * accuracy/energy Pareto front (no other format has higher-or-equal accuracy at lower-or-equal energy, one of
 * them strictly). Formats of equal width share an energy and often nearly an accuracy: markers are hollow,
 * of distinct shapes, and the k-th format of an overlapping group is drawn larger (nested, not hidden; no
 * jitter: every point sits at its exact value); the subtitle names every overlapping group. The accuracy
 * axis stays inside 0-100%.
 */
function formatsCharts(r: Report, out: ChartSpec[], omitted: OmittedChart[], missing: MissingInput[]): void {
  if (!r.formats?.length) missing.push({ input: 'a `birealsim formats --json` input', charts: ['accuracy vs energy per real-valued stream format'] });
  (r.formats ?? []).forEach((f, i) => {
    const pts = f.points.filter((p) => p.energyJoules !== undefined);
    const title = `Accuracy vs energy per frame, per real-stream format: ${f.network} on ${f.baseArch}`;
    if (pts.length === 0) { omitted.push({ id: `formats-accuracy-energy-${i}`, title, reason: 'no format maps onto the architecture (no energy to plot)' }); return; }
    const xy = (p: typeof pts[number]) => ({ x: round6(p.energyJoules! * 1e6), y: round6(100 * p.accuracy) });
    const front = pts.filter((p) => !pts.some((q) => q !== p && q.energyJoules! <= p.energyJoules! && q.accuracy >= p.accuracy && (q.energyJoules! < p.energyJoules! || q.accuracy > p.accuracy)))
      .sort((a, b) => a.energyJoules! - b.energyJoules! || b.accuracy - a.accuracy);
    const accs = pts.map((p) => 100 * p.accuracy);
    const yMin = Math.max(0, Math.floor((Math.min(...accs) - 2) / 10) * 10);
    // overlapping = the same energy and accuracies within 2% of the axis span (at least 0.5 points) of each
    // other, chained: on a 0-100% axis such markers would sit on top of each other
    const tol = Math.max(0.5, 0.02 * (100 - yMin));
    const groups: (typeof pts)[] = [];
    for (const p of [...pts].sort((a, b) => a.energyJoules! - b.energyJoules! || b.accuracy - a.accuracy)) {
      const g = groups[groups.length - 1];
      const prev = g?.[g.length - 1];
      if (prev && xy(prev).x === xy(p).x && Math.abs(xy(prev).y - xy(p).y) <= tol) g.push(p); else groups.push([p]);
    }
    const rank = (p: typeof pts[number]) => groups.find((g) => g.includes(p))!.indexOf(p);
    const shared = groups.filter((g) => g.length > 1);
    const subtitle = shared.length
      ? `overlapping points, drawn as nested markers (larger = listed later): ${shared.map((g) => `${g.map((p) => p.format).join(' / ')} at ${Number((g[0].energyJoules! * 1e6).toPrecision(4))} uJ`).join('; ')}`
      : 'every format at its own point';
    const opts = base(`${f.network}: golden accuracy (${f.dataset}) vs simulated energy per frame`, axis('energy per frame [uJ] (simulator)', { beginAtZero: true, grace: '5%' }),
      axis('test accuracy [%] (golden model)', { min: yMin, max: 100 }));
    (opts.plugins as Record<string, unknown>).subtitle = { display: true, text: subtitle, padding: { bottom: 16 } };
    opts.layout = { padding: { top: 4, right: 16 } }; // room for the unclipped markers at 100%
    out.push({
      id: `formats-accuracy-energy-${i}`, title, width: CHART_WIDTH, height: 500,
      config: {
        type: 'scatter',
        data: { datasets: [
          ...pts.map((p, j) => ({ label: `${p.format} (${p.bits}-bit): ${fmt2(100 * p.accuracy)}% at ${Number((p.energyJoules! * 1e6).toPrecision(4))} uJ`, data: [xy(p)],
            backgroundColor: 'rgba(0,0,0,0)', borderColor: color(j), borderWidth: 2.5, pointStyle: POINT_STYLES[j % POINT_STYLES.length], pointRadius: 7 + 5 * rank(p), pointHoverRadius: 9 + 5 * rank(p), clip: false })),
          { label: `accuracy/energy Pareto front (${front.length} formats)`, data: front.map(xy), showLine: true, stepped: 'before', borderColor: 'rgba(0,0,0,0.45)', backgroundColor: 'rgba(0,0,0,0)', borderDash: [5, 4], pointRadius: 0, borderWidth: 1.5 },
        ] },
        options: opts,
      },
    });
  });
}

/** The training curve: accuracy per epoch across the recipe's stages (train running accuracy, test where evaluated). */
function trainCharts(r: Report, out: ChartSpec[], missing: MissingInput[]): void {
  if (!r.train?.length) missing.push({ input: "a training run's metrics.jsonl (`birealsim train --out DIR`)", charts: ['training curve'] });
  (r.train ?? []).forEach((t, i) => {
    const labels = t.epochs.map((e) => `${e.stage}: ${e.stageKind} ${e.epoch}`);
    out.push({
      id: `train-curve-${i}`, title: `Training curve: ${t.input}`, width: CHART_WIDTH, height: 420,
      config: {
        type: 'line',
        data: { labels, datasets: [
          { label: 'train accuracy (running, over the epoch) [%]', data: t.epochs.map((e) => round6(100 * e.trainAccuracy)), borderColor: color(0), backgroundColor: color(0), pointRadius: 4 },
          { label: 'test accuracy (whole test set) [%]', data: t.epochs.map((e) => (e.testAccuracy !== undefined ? round6(100 * e.testAccuracy) : null)), borderColor: color(3), backgroundColor: color(3), pointRadius: 7, pointStyle: 'rectRot', showLine: false },
        ] },
        options: base(`${t.input}: accuracy per epoch (x: stage: kind epoch)`, axis('epoch'), axis('accuracy [%]', { max: 100, grace: '5%' })),
      },
    });
  });
}

const fmt2 = (x: number) => x.toFixed(2);
const round3 = (x: number) => Math.round(x * 1e3) / 1e3;
const round6 = (x: number) => Number(x.toPrecision(6));
const sig3 = (x: number) => Number(x.toPrecision(3)).toString();

export function buildCharts(r: Report): { charts: ChartSpec[]; omitted: OmittedChart[]; missing: MissingInput[] } {
  const charts: ChartSpec[] = [], omitted: OmittedChart[] = [], missing: MissingInput[] = [];
  trainCharts(r, charts, missing);
  costCharts(r, charts, missing);
  simCharts(r, charts, omitted, missing);
  sweepCharts(r, charts, omitted, missing);
  formatsCharts(r, charts, omitted, missing);
  // a comparison of two or more simulations is the report's point: its chart comes first
  const k = charts.findIndex((c) => c.id === 'sim-energy');
  if ((r.simulations?.length ?? 0) >= 2 && k > 0) charts.unshift(...charts.splice(k, 1));
  return { charts, omitted, missing };
}

/** One sentence per form: which absent inputs would add which charts, and any chart whose data was not plottable. */
export function moreChartsNotes(r: Report): string[] {
  const { omitted, missing } = buildCharts(r);
  return [
    ...(missing.length ? [`More charts from other inputs: ${missing.map((m) => `${m.input} would add ${m.charts.join(', ')}`).join('; ')}.`] : []),
    ...omitted.map((o) => `Not drawn: ${o.title}: ${o.reason}.`),
  ];
}
