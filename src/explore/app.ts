/**
 * Browser entry of `birealsim explore` (bundled by bundle.ts; runs only in the page): builds the controls
 * from design.ts's CONTROLS, re-simulates the whole network on every change with the library's own
 * lower -> resolveArch -> simulate (design.ts runDesign), and redraws the totals and three charts (cycles
 * per layer by cause, energy by component, DRAM traffic per layer). A sweep file (birealsim.sweep/1 JSONL)
 * dropped on the page is drawn as latency vs energy with its Pareto front; clicking a point loads that
 * design (the sweep's base arch with the point's arch axes, and its run axes) into the controls. A workload
 * JSON dropped on the page becomes a network choice. The design downloads as the arch JSON that
 * `birealsim simulate --arch` reproduces exactly.
 *
 * Updates are coalesced (one recompute per task however many input events arrived); each recompute is
 * timed with performance.now() (simulation + redraw) and shown in the header and in data-update-ms. The
 * design is written into the address (#design=<JSON>) after each recompute and read back at start.
 */
import { CONTROLS, PlanCache, cliCommand, designArchJson, runDesign, valueAt, withValue, type Control, type ControlValue, type Design, type Json } from './design.ts';
import type { ExploreData } from './page.ts';
import { loadWorkloadText } from '../ir/validate.ts';
import { BUILTIN_WORKLOADS } from '../ir/builders.ts';
import { applyPoint, splitPoint } from '../report/sweep-spec.ts';
import { TOP_KEYS } from '../sim/arch.ts';
import { paretoFront2 } from '../report/pareto.ts';
import type { Objective } from '../sim/mapper.ts';
import type { FusionMode } from '../sim/residency.ts';
import type { SimResult } from '../sim/simulate.ts';

// chart.js's UMD build is inlined before this script (page.ts)
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const Chart: any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyChart = any;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const errors: string[] = [];
const noteError = (msg: string) => { errors.push(msg); document.body.dataset.errors = JSON.stringify(errors); };
window.addEventListener('error', (e) => noteError(String(e.message)));
document.body.dataset.errors = '[]';

const data = JSON.parse($('explore-data').textContent!) as ExploreData;
const presets = new Map(data.presets.map((p) => [p.name, p]));
const plans = new PlanCache();
/** dropped workload files: file name -> network name in the plan cache */
const droppedWorkloads = new Map<string, string>();

let design: Design = {
  preset: data.defaults.preset,
  spec: structuredClone(presets.get(data.defaults.preset)!.spec),
  run: { workload: data.defaults.workload, objective: 'cycles', fusion: 'none', batch: 1, realFormat: 'fp32' },
};
let updates = 0;
let lastResult: SimResult | null = null;

// ------------------------------------------------------------------ formatting

const sig = (x: number, d = 4) => (x === 0 ? '0' : Number(x.toPrecision(d)).toLocaleString('en-US', { maximumFractionDigits: 20 }));
const intf = (x: number) => Math.round(x).toLocaleString('en-US');
const PREFIX: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
/** Ordering key of a control value ("128 KiB" -> 131072): only to place a value loaded from a sweep among a slider's stops. */
function orderKey(v: ControlValue): number {
  if (typeof v === 'number') return v;
  const m = /^\s*([\d.eE+-]+)\s*(Ki|Mi|Gi|Ti|k|K|M|G|T)?/.exec(v);
  return m ? parseFloat(m[1]) * (PREFIX[m[2] ?? ''] ?? 1) : NaN;
}

// ------------------------------------------------------------------ controls

interface Bound { c: Control; values: ControlValue[]; box: HTMLElement; input: HTMLInputElement | HTMLSelectElement; out: HTMLOutputElement }
const bound: Bound[] = [];

function buildControls(): void {
  const aside = $('controls');
  let group = '';
  for (const c of CONTROLS) {
    if (c.group !== group) { group = c.group; const h = document.createElement('h2'); h.textContent = group; aside.appendChild(h); }
    const box = document.createElement('div');
    box.className = c.kind === 'range' ? 'ctl' : 'ctl sel';
    box.id = `ctl-${c.id}`;
    const label = document.createElement('label');
    label.textContent = c.label;
    label.htmlFor = `in-${c.id}`;
    const out = document.createElement('output');
    let input: HTMLInputElement | HTMLSelectElement;
    if (c.kind === 'range') {
      const r = document.createElement('input');
      r.type = 'range'; r.min = '0'; r.step = '1';
      input = r;
    } else input = document.createElement('select');
    input.id = `in-${c.id}`;
    input.dataset.path = c.path;
    box.append(label, ...(c.kind === 'range' ? [out, input] : [input, out]));
    aside.appendChild(box);
    const b: Bound = { c, values: [...c.values], box, input, out };
    bound.push(b);
    input.addEventListener(c.kind === 'range' ? 'input' : 'change', () => {
      const v = c.kind === 'range' ? b.values[Number(input.value)] : b.values[(input as HTMLSelectElement).selectedIndex];
      design = withValue(design, c.path, v);
      out.textContent = String(v);
      schedule();
    });
  }
  const actions = document.createElement('div');
  actions.className = 'actions';
  actions.innerHTML = '<button id="download">Download arch JSON</button><button id="reset" class="secondary">Reset to preset</button><code class="cmd" id="cli"></code>';
  aside.appendChild(actions);
  $('download').addEventListener('click', download);
  $('reset').addEventListener('click', () => loadPreset(design.preset));
}

/** Puts the design's values into the controls (a value not among a slider's stops is added to them). */
function syncControls(): void {
  for (const b of bound) {
    const v = valueAt(design, b.c.path);
    const applies = v !== undefined && (!b.c.peType || design.spec.peArray && (design.spec.peArray as Json).type === b.c.peType);
    b.box.classList.toggle('off', !applies);
    b.input.disabled = !applies;
    if (v === undefined) { b.out.textContent = 'n/a'; continue; }
    if (!b.values.some((x) => x === v)) {
      b.values.push(v);
      const k = (x: ControlValue) => orderKey(x);
      if (b.values.every((x) => Number.isFinite(k(x)))) b.values.sort((x, y) => k(x) - k(y));
    }
    const i = b.values.indexOf(v);
    if (b.input instanceof HTMLInputElement) { b.input.max = String(b.values.length - 1); b.input.value = String(i); }
    else {
      const sel = b.input;
      if (sel.options.length !== b.values.length) { sel.innerHTML = ''; for (const x of b.values) sel.add(new Option(String(x), String(x))); }
      sel.selectedIndex = i;
    }
    b.out.textContent = String(v);
  }
}

function fillSelects(): void {
  const wl = $<HTMLSelectElement>('workload');
  wl.innerHTML = '';
  for (const n of [...data.workloads, ...plans.customNames()]) wl.add(new Option(n, n));
  wl.value = design.run.workload;
  const ps = $<HTMLSelectElement>('preset');
  if (ps.options.length === 0) for (const p of data.presets) ps.add(new Option(p.name, p.name));
  ps.value = presets.has(design.preset) ? design.preset : '';
}

function loadPreset(name: string): void {
  design = { ...design, preset: name, spec: structuredClone(presets.get(name)!.spec) };
  syncControls(); fillSelects(); schedule();
}

// ------------------------------------------------------------------ recompute and draw

let pending = false;
function schedule(): void {
  if (pending) return;
  pending = true;
  setTimeout(() => { pending = false; recompute(); }, 0);
}

function problems(lines: string[]): void {
  const p = $('problems');
  p.classList.toggle('on', lines.length > 0);
  p.replaceChildren(...lines.map((l) => { const d = document.createElement('div'); d.textContent = l; return d; }));
}

function recompute(): void {
  const t0 = performance.now();
  let r: SimResult | null = null;
  try { r = runDesign(design, plans); } catch (e) {
    const err = e as Error & { format?: () => string };
    problems([`This design cannot be simulated: ${err.format ? err.format() : err.message}`]);
  }
  const t1 = performance.now();
  lastResult = r;
  if (r) draw(r);
  const t2 = performance.now();
  updates++;
  document.body.dataset.updateMs = (t2 - t0).toFixed(3);
  document.body.dataset.simMs = (t1 - t0).toFixed(3);
  document.body.dataset.updates = String(updates);
  $('status').textContent = `updated in ${(t2 - t0).toFixed(0)} ms (simulation ${(t1 - t0).toFixed(0)} ms, drawing ${(t2 - t1).toFixed(0)} ms)`;
  const archJson = designArchJson(design, presets.get(design.preset)?.spec);
  $('arch-json').textContent = JSON.stringify(archJson, null, 2);
  $('cli').textContent = cliCommand(design, `${String(archJson.name)}.json`);
  // the design lives in the address (#design=...): a reload keeps it and a bookmark brings it back
  history.replaceState(null, '', `#design=${encodeURIComponent(JSON.stringify(design))}`);
  if (!document.body.dataset.ready) document.body.dataset.ready = '1';
  checkSweepPoint();
}

function card(key: string, value: string, unit: string, id: string, main = false, attrs: Record<string, string> = {}): HTMLElement {
  const d = document.createElement('div');
  d.className = main ? 'card main' : 'card';
  d.id = id;
  for (const [k, v] of Object.entries(attrs)) d.dataset[k] = v;
  d.innerHTML = '<div class="k"></div><div class="v"><span></span><span class="u"></span></div>';
  (d.querySelector('.k') as HTMLElement).textContent = key;
  (d.querySelector('.v span') as HTMLElement).textContent = value;
  (d.querySelector('.u') as HTMLElement).textContent = unit;
  return d;
}

const COLOURS = { compute: '#1f77b4', postOp: '#9467bd', sramStall: '#ff7f0e', dramStall: '#d62728', fillDrain: '#8c564b' };
const CAUSES: [keyof typeof COLOURS, string][] = [['compute', 'compute'], ['postOp', 'post-op'], ['sramStall', 'SRAM stall'], ['dramStall', 'DRAM stall'], ['fillDrain', 'fill/drain']];
const TENSOR_KINDS: [string, string, string][] = [['input', 'input activations', '#2ca02c'], ['weights+params', 'weights + params', '#1f77b4'], ['side', 'side inputs (shortcut)', '#ff7f0e'], ['output', 'outputs', '#9467bd']];
const charts: Record<string, AnyChart> = {};

function barChart(id: string, stacked: boolean, horizontal: boolean, yTitle: string): AnyChart {
  const valueAxis = { stacked, beginAtZero: true, title: { display: true, text: yTitle } };
  // every layer labelled at a fixed angle: chart.js then skips its label-fitting passes (most of a redraw's time)
  const rot = horizontal ? 0 : 60;
  const catAxis = { stacked, ticks: { autoSkip: false, maxRotation: rot, minRotation: rot, font: { size: 10 } } };
  return new Chart($(id), {
    type: 'bar',
    data: { labels: [], datasets: [] },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, indexAxis: horizontal ? 'y' : 'x',
      plugins: { legend: { display: !horizontal, position: 'top', labels: { boxWidth: 12 } }, tooltip: { mode: 'index', intersect: false } },
      scales: horizontal ? { x: valueAxis, y: catAxis } : { x: catAxis, y: valueAxis },
    },
  });
}

/** Puts new numbers into a chart, reusing its dataset objects (chart.js then updates rather than rebuilds) and redraws without animation. */
function setData(chart: AnyChart, labels: string[], sets: { label: string; colour: string; data: number[] }[]): void {
  const same = (a: unknown[], b: unknown[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(chart.data.labels, labels)) chart.data.labels = labels;
  const ds = chart.data.datasets;
  if (ds.length !== sets.length) chart.data.datasets = sets.map((x) => ({ label: x.label, backgroundColor: x.colour, data: x.data }));
  else sets.forEach((x, i) => { ds[i].label = x.label; ds[i].data = x.data; });
  chart.update('none');
}

function draw(r: SimResult): void {
  const t = r.totals;
  const bad = r.layers.filter((l) => !l.feasible);
  // layers sharing a mapping search share its reason (prefixed with the searched layer's id): one line per reason
  const byReason = new Map<string, string[]>();
  for (const l of bad) { const why = (l.reason ?? '').replace(/^[\w.:-]+: /, ''); byReason.set(why, [...(byReason.get(why) ?? []), l.id]); }
  problems(bad.length ? [`${bad.length} of ${r.layers.length} layers do not fit this design, so there are no totals (enlarge the named buffer):`,
    ...[...byReason].map(([why, ids]) => `${ids.length > 3 ? `${ids.slice(0, 3).join(', ')} and ${ids.length - 3} more` : ids.join(', ')}: ${why}`)] : []);
  const cards = $('cards');
  if (t) {
    const lat = t.batch > 1 ? 'batch latency' : 'latency';
    cards.replaceChildren(
      card(lat, sig(t.latencyMs), 'ms', 'latency', true, { latencyMs: String(t.latencyMs), cycles: String(t.cycles) }),
      card(`frames/s${t.batch > 1 ? ` (batch ${t.batch})` : ''}`, sig(t.framesPerSecond), '1/s', 'fps'),
      card('cycles', intf(t.cycles), '', 'cycles'),
      card('energy/frame', sig(t.energyPerFrameJ * 1e6), 'uJ', 'energy', false, { joules: String(t.energyPerFrameJ) }),
      card('efficiency', sig(t.topsPerWatt), 'TOPS/W', 'topsw'),
      card('DRAM/frame', sig(t.dramBytesPerFrame / 1e6), 'MB', 'dram', false, { bytes: String(t.dramBytes) }),
      card('utilisation', (100 * t.utilisation).toFixed(1), '%', 'util'),
      card(`area (${r.area.technologyNodeNm} nm)`, sig(r.area.totalMm2), 'mm²', 'area'),
    );
  } else cards.replaceChildren(card('latency', 'infeasible', '', 'latency', true, { latencyMs: 'infeasible' }));

  const labels = r.layers.map((l) => l.id);
  charts.cycles ??= barChart('chart-cycles', true, false, 'cycles');
  setData(charts.cycles, labels, CAUSES.map(([k, name]) => ({ label: name, colour: COLOURS[k], data: r.layers.map((l) => (l.cycles ? l.cycles[k] : 0)) })));

  charts.energy ??= barChart('chart-energy', false, true, 'energy per frame [uJ]');
  const energy = t ? Object.entries(t.energyJ).map(([k, v]) => [k, (v / t.batch) * 1e6] as const) : [];
  setData(charts.energy, energy.map(([k]) => k), [{ label: 'energy per frame [uJ]', colour: '#1f77b4', data: energy.map(([, v]) => v) }]);
  $('energy-note').textContent = t ? `total ${sig(t.energyPerFrameJ * 1e6)} uJ per frame = action counts x the arch's energy table` : '';

  charts.dram ??= barChart('chart-dram', true, false, 'DRAM bytes [MB]');
  setData(charts.dram, labels, TENSOR_KINDS.map(([kind, name, colour]) => ({
    label: name, colour,
    data: r.layers.map((l) => Object.entries(l.dramBytes ?? {}).filter(([k]) => (k.includes(':') ? k.slice(0, k.indexOf(':')) : k) === kind).reduce((a, [, v]) => a + v, 0) / 1e6),
  })));
  $('dram-note').textContent = t ? `total ${sig(t.dramBytes / 1e6)} MB (compulsory for the network: ${sig(t.networkCompulsoryDramBytes / 1e6)} MB: input and outputs once per frame, weights once per batch)` : '';
}

// ------------------------------------------------------------------ download

function download(): void {
  const json = designArchJson(design, presets.get(design.preset)?.spec);
  const a = document.createElement('a');
  a.href = `data:application/json;charset=utf-8,${encodeURIComponent(JSON.stringify(json, null, 2) + '\n')}`;
  a.download = `${String(json.name)}.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

// ------------------------------------------------------------------ files: sweeps and workloads

interface SweepPointLine { index: number; params: Record<string, unknown>; metrics?: { latencyCycles?: number; latencySeconds: number; energyJoules: number } }
interface Sweep { file: string; header: { spec: { workload: string; arch: string; name: string }; baseArch: unknown }; points: SweepPointLine[] }
let expected: { index: number; latencySeconds: number; latencyCycles?: number } | null = null;

function sweepNote(text: string): void { $('sweep-note').textContent = text; }

/** Parses a sweep file (schema birealsim.sweep/1; a trailing line without a newline is an interrupted write and is ignored). */
function parseSweep(text: string, file: string): Sweep {
  const lines = text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((l) => l !== '');
  const header = JSON.parse(lines[0]);
  if (header?.schema !== 'birealsim.sweep/1' || header.type !== 'header') throw new Error(`${file}: line 1 is not a birealsim.sweep/1 header`);
  const points: SweepPointLine[] = [];
  lines.slice(1).forEach((l, i) => {
    let p;
    try { p = JSON.parse(l); } catch (e) { throw new Error(`${file}: line ${i + 2} is not JSON: ${(e as Error).message}`); }
    if (p?.type === 'point' && p.metrics && Number.isFinite(p.metrics.latencySeconds) && Number.isFinite(p.metrics.energyJoules)) points.push(p);
  });
  if (points.length === 0) throw new Error(`${file}: no feasible points`);
  return { file, header, points };
}

function drawSweep(s: Sweep): void {
  const xy = s.points.map((p) => [p.metrics!.latencySeconds * 1e3, p.metrics!.energyJoules * 1e6] as [number, number]);
  const front = paretoFront2(xy);
  const onFront = new Set(front);
  $('sweep-box').style.display = '';
  const spread = (v: number[]) => Math.max(...v) / Math.max(Math.min(...v), 1e-300);
  const logX = spread(xy.map((p) => p[0])) > 30, logY = spread(xy.map((p) => p[1])) > 30;
  charts.sweep?.destroy();
  const pt = (i: number) => ({ x: xy[i][0], y: xy[i][1], i });
  charts.sweep = new Chart($('chart-sweep'), {
    type: 'scatter',
    data: {
      datasets: [
        { label: 'Pareto front (latency, energy)', data: front.map(pt), backgroundColor: '#1f6feb', borderColor: '#1f6feb', showLine: true, stepped: 'before', pointRadius: 5, pointHoverRadius: 7 },
        { label: `other points (${s.points.length - front.length})`, data: s.points.map((_, i) => i).filter((i) => !onFront.has(i)).map(pt), backgroundColor: 'rgba(120,130,140,0.45)', pointRadius: 3, pointHoverRadius: 6 },
      ],
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      scales: { x: { type: logX ? 'logarithmic' : 'linear', title: { display: true, text: 'latency [ms]' } }, y: { type: logY ? 'logarithmic' : 'linear', title: { display: true, text: 'energy [uJ]' } } },
      plugins: { tooltip: { callbacks: { label: (c: { raw: { i: number } }) => { const p = s.points[c.raw.i]; return `#${p.index} ${Object.entries(p.params).map(([k, v]) => `${k}=${v}`).join(', ')}`; } } } },
      onClick: (evt: unknown, els: { datasetIndex: number; index: number }[]) => {
        void evt;
        if (!els.length) return;
        const raw = charts.sweep.data.datasets[els[0].datasetIndex].data[els[0].index] as { i: number };
        loadSweepPoint(s, s.points[raw.i]);
      },
    },
  });
  document.body.dataset.sweepPoints = String(s.points.length);
  sweepNote(`${s.file}: sweep '${s.header.spec.name}' of ${s.header.spec.workload} on ${s.header.spec.arch}, ${s.points.length} feasible points, ${front.length} on the front. Click a point to load that design.`);
}

const baseName = (p: string) => p.slice(p.lastIndexOf('/') + 1);

function loadSweepPoint(s: Sweep, p: SweepPointLine): void {
  const { run } = splitPoint(p.params);
  // the page simulates the layer-sequential family only (docs/sweep.md "Architecture families")
  if (p.params.family === 'dataflow' || (p.params.family === undefined && (s.header.baseArch as Json | null)?.family === 'dataflow')) {
    sweepNote(`point #${p.index} is a dataflow design; this page simulates layer-sequential designs only (run \`birealsim simulate\` with a dataflow arch for it).`);
    return;
  }
  // a layer-sequential point of a family sweep ignores the dataflow-only axes (targetFps, fifoDepth, ...)
  const own = Object.fromEntries(Object.entries(p.params).filter(([k]) => TOP_KEYS.includes(k.split('.')[0]) || splitPoint({ [k]: 0 }).arch[k] === undefined));
  const spec = applyPoint(s.header.baseArch, own) as Json;
  let workload = String(run.workload ?? s.header.spec.workload);
  if (!plans.has(workload)) workload = droppedWorkloads.get(baseName(workload)) ?? workload;
  if (!plans.has(workload)) {
    sweepNote(`point #${p.index} needs the network '${workload}', which the page does not have: drop its workload JSON on the page, then click the point again.`);
    return;
  }
  design = {
    preset: presets.has(s.header.spec.arch) ? s.header.spec.arch : String(spec.name ?? 'sweep'),
    spec,
    run: {
      workload,
      objective: (run.objective ?? 'cycles') as Objective,
      fusion: (run.fusion ?? 'none') as FusionMode,
      batch: Number(run.batch ?? 1),
      realFormat: String(run.realFormat ?? 'fp32'),
    },
  };
  expected = { index: p.index, latencySeconds: p.metrics!.latencySeconds, latencyCycles: p.metrics!.latencyCycles };
  // ring the loaded point on the sweep chart
  const ring = { label: `loaded: point #${p.index}`, data: [{ x: p.metrics!.latencySeconds * 1e3, y: p.metrics!.energyJoules * 1e6, i: s.points.indexOf(p) }], backgroundColor: 'rgba(0,0,0,0)', borderColor: '#d62728', borderWidth: 2.5, pointRadius: 9, pointHoverRadius: 9 };
  charts.sweep.data.datasets.splice(2, 1, ring);
  charts.sweep.update('none');
  document.body.dataset.loadedPoint = String(p.index);
  syncControls(); fillSelects(); schedule();
}

/** After a sweep point was loaded: does the page's simulation give the sweep's latency? */
function checkSweepPoint(): void {
  if (!expected) return;
  const t = lastResult?.totals;
  const got = t ? t.latencyMs / 1e3 : NaN;
  const same = t !== undefined && t !== null && (expected.latencyCycles !== undefined ? expected.latencyCycles === t.cycles : Math.abs(got - expected.latencySeconds) <= 1e-12 * expected.latencySeconds);
  sweepNote(`Loaded point #${expected.index}: the sweep recorded ${sig(expected.latencySeconds * 1e3, 6)} ms; the page computes ${t ? sig(got * 1e3, 6) : 'infeasible'} ms${same ? ' (the same)' : ' (DIFFERENT: was the sweep written by another version?)'}.`);
  document.body.dataset.pointMatches = String(same);
  expected = null;
}

async function openFile(f: File): Promise<void> {
  const text = await f.text();
  try {
    if (/\.jsonl$/i.test(f.name) || text.startsWith('{"schema":"birealsim.sweep/1"')) { drawSweep(parseSweep(text, f.name)); return; }
    const net = loadWorkloadText(text, f.name);
    const name = net.workload.name in BUILTIN_WORKLOADS ? `${net.workload.name} (${f.name})` : net.workload.name;
    plans.addNetwork(name, net);
    droppedWorkloads.set(f.name, name);
    design = { ...design, run: { ...design.run, workload: name } };
    fillSelects(); schedule();
  } catch (e) {
    const err = e as Error & { format?: () => string };
    problems([`Cannot open ${f.name}: ${err.format ? err.format() : err.message}`]);
  }
}

function wireFiles(): void {
  $<HTMLInputElement>('file').addEventListener('change', (e) => { const fs = (e.target as HTMLInputElement).files; if (fs) for (const f of Array.from(fs)) void openFile(f); });
  document.addEventListener('dragover', (e) => { e.preventDefault(); document.body.classList.add('dragging'); });
  document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    document.body.classList.remove('dragging');
    for (const f of Array.from(e.dataTransfer?.files ?? [])) void openFile(f);
  });
}

// ------------------------------------------------------------------ start

/** A design saved in the address by an earlier visit (see recompute), if it is one. */
function designFromAddress(): Design | null {
  const m = /^#design=(.*)$/.exec(location.hash);
  if (!m) return null;
  try {
    const d = JSON.parse(decodeURIComponent(m[1])) as Design;
    const ok = d && typeof d.preset === 'string' && d.spec && typeof d.spec === 'object' && d.run && typeof d.run.workload === 'string';
    if (!ok) return null;
    // a dropped workload is not in the address: fall back to the default network
    if (!plans.has(d.run.workload)) d.run = { ...d.run, workload: data.defaults.workload };
    return d;
  } catch { return null; }
}

design = designFromAddress() ?? design;
$('version').textContent = `v${data.version}`;
buildControls();
fillSelects();
syncControls();
wireFiles();
$<HTMLSelectElement>('workload').addEventListener('change', (e) => { design = { ...design, run: { ...design.run, workload: (e.target as HTMLSelectElement).value } }; schedule(); });
$<HTMLSelectElement>('preset').addEventListener('change', (e) => loadPreset((e.target as HTMLSelectElement).value));
Chart.defaults.font.family = 'system-ui, sans-serif';
Chart.defaults.font.size = 11;
recompute();
