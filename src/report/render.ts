/**
 * Report -> tables -> terminal text, CSV, Markdown; Report -> JSON (the stable, versioned form).
 *
 * Invariants: every form is a pure function of the Report (no clock, no environment), so the same inputs
 * give the same bytes; every column names its unit; absent sections produce no table. Every form opens with
 * the headline (story.ts: what was run, the numbers that matter, the verdict, read from these tables), then
 * the tables, one line on which other inputs would add which charts, then provenance and definitions.
 */
import { renderCsv, renderMarkdown, renderText, fmtFixed, num, numInt, type Table } from './table.ts';
import type { Report } from './schema.ts';
import { moreChartsNotes } from './charts.ts';
import { buildHeadline, headlineLines } from './story.ts';

const sig = (x: number, d = 4) => (x === 0 ? '0' : Number(x.toPrecision(d)).toString());
// table cells: people see the formatted text, CSV gets the raw value (table.ts Num)
const nSig = (x: number, d = 4) => num(x, sig(x, d));
const nFixed = (x: number, d: number) => num(x, fmtFixed(x, d));
const nPct = (x: number) => num(100 * x, fmtFixed(x * 100, 1) + '%');

export function provenanceTable(r: Report): Table {
  return {
    id: 'provenance', title: 'Provenance',
    headers: ['input', 'kind', 'declared', 'tool version', 'sha256'],
    rows: r.inputs.map((i) => [i.name, i.kind, i.declared, i.toolVersion ?? '-', i.sha256]),
    notes: [`report schema ${r.schema}; birealsim ${r.tool.version}; seed ${r.seed ?? 'none (no input used randomness)'}`],
  };
}

export function reportTables(r: Report): Table[] {
  const t: Table[] = [provenanceTable(r)];
  if (r.cost) {
    const c = r.cost;
    t.push({
      id: 'cost', title: `Memory and operations, ours beside the paper (convention '${c.convention}')`,
      headers: ['network', 'memory [Mbit]', 'paper memory [Mbit]', 'full precision [Mbit]', 'saving [x]', 'paper saving [x]', 'BOPs [1-bit MAC]', 'real MACs', 'OPs', 'paper OPs', 'speed-up [x]', 'paper speed-up [x]'],
      rows: c.networks.map((n) => {
        const binary = n.bops > 0;
        return [n.name, nFixed(n.memoryMbit, 2), n.paper ? nFixed(n.paper.memoryMbit, 1) : '-', nFixed(n.fpMemoryMbit, 2),
          binary ? nFixed(n.memorySaving, 2) : '-', n.paper?.saving !== undefined ? nFixed(n.paper.saving, 2) : '-',
          numInt(n.bops), numInt(n.realMacs), numInt(n.ops), n.paper?.printedOps ?? '-',
          binary ? nFixed(n.speedup, 2) : '-', n.paper?.speedup !== undefined ? nFixed(n.paper.speedup, 2) : '-'];
      }),
      notes: ['paper = Liu et al., ECCV 2018, Table 5, as printed; saving and speed-up are against the same topology in full precision; the counting convention is under Definitions'],
    });
  }
  if (r.simulations?.length) {
    t.push({
      id: 'sim-summary', title: 'Simulation summary (per frame)',
      headers: ['network', 'arch', 'clock [MHz]', 'latency [cycles]', 'latency [ms]', 'throughput [frames/s]', 'energy [mJ]', 'DRAM traffic [MB]', 'on-chip SRAM [KiB]', 'area [mm^2]'],
      rows: r.simulations.map((s) => [s.network, s.arch, nSig(s.clockHz / 1e6), numInt(s.latencyCycles), nSig(s.latencySeconds * 1e3), s.framesPerSecond !== undefined ? nSig(s.framesPerSecond) : '-', nSig(s.energyJoules * 1e3), nSig(s.dramBytes / 1e6), nSig(s.onChipBytes / 1024), s.areaMm2 !== undefined ? nSig(s.areaMm2) : '-']),
      notes: ['latency [ms] and throughput [frames/s] as the simulator reports them (its definitions are under Definitions); energy = sum of components; MB = 1e6 bytes, KiB = 1024 bytes; on-chip SRAM = sum of buffer capacities; area = the simulator\'s area model (PE array, buffers, PPU, real unit, pooling; DRAM PHY excluded; sources in docs/arch.md)'],
    });
    r.simulations.forEach((s, i) => {
      t.push({
        id: `sim-layers-${i}`, title: `${s.network} @ ${s.arch}: per layer`,
        headers: ['layer', 'op', 'executes as', 'compute [cycles]', 'stall [cycles]', 'fill/drain [cycles]', 'post-op [cycles]', 'total [cycles]', 'MACs', 'op bits', 'utilisation [%]', 'DRAM [B]', 'energy [uJ]'],
        rows: s.layers.map((l) => [l.name, l.op, l.executesAs, numInt(l.computeCycles), numInt(l.stallCycles), numInt(l.fillDrainCycles), numInt(l.postOpCycles), numInt(l.totalCycles), numInt(l.macs), l.opBits, nPct(l.utilisation), numInt(l.dramBytes), nSig(l.energyJoules * 1e6)]),
        notes: ['stall = SRAM-bandwidth stall + DRAM stall; MACs = 1-bit MACs (op bits 1) or real MACs; op bits of a layer without MACs is the real-stream width; the simulator\'s definitions are under Definitions'],
      });
      t.push({
        id: `sim-energy-${i}`, title: `${s.network} @ ${s.arch}: energy by component`,
        headers: ['component', 'energy [uJ / frame]', 'share [%]'],
        rows: Object.entries(s.energyByComponent).map(([k, v]) => [k, nSig(v * 1e6), s.energyJoules > 0 ? nPct(v / s.energyJoules) : '-']),
      });
    });
  }
  (r.sweeps ?? []).forEach((sw, i) => {
    const front = sw.points.filter((p) => p.pareto).sort((a, b) => a.latencySeconds - b.latencySeconds || a.index - b.index);
    t.push({
      id: `sweep-${i}`, title: `Sweep ${sw.name} (${sw.workload}): Pareto front over latency, energy per frame and area`,
      headers: ['point', ...sw.axes, 'latency [ms]', 'energy [mJ / frame]', 'area [mm^2]', 'on-chip SRAM [KiB]'],
      rows: front.map((p) => [p.index, ...sw.axes.map((a) => String(p.params[a])), nSig(p.latencySeconds * 1e3), nSig(p.energyJoules * 1e3), nSig(p.areaMm2), nSig(p.onChipBytes / 1024)]),
      notes: [
        `${sw.evaluated} of ${sw.totalPoints} points evaluated, ${sw.infeasible} infeasible, ${front.length} on the 3-objective front; spec hash ${sw.specHash}`,
        ...sw.infeasibleReasons.map((x) => `infeasible (${x.count}): ${x.reason}`),
      ],
    });
  });
  if (r.verify?.length) {
    t.push({
      id: 'verify', title: 'Bit-exact verification',
      headers: ['model', 'result', 'steps per image', 'images', 'first divergence', 'accuracy (golden)'],
      rows: r.verify.map((v) => [v.model, v.match ? (v.checks ? 'PASS' : 'bit-exact') : (v.checks ? 'FAIL' : 'DIVERGES'), v.layersCompared, v.images ?? '-',
        v.firstDivergence ? `${v.firstDivergence.layer}${v.firstDivergence.index !== undefined ? ` at ${JSON.stringify(v.firstDivergence.index)}` : ''}${v.firstDivergence.expected !== undefined ? ` expected ${v.firstDivergence.expected}, got ${v.firstDivergence.actual}` : ''}` : '-',
        v.accuracy?.golden !== undefined ? nPct(v.accuracy.golden) : '-']),
      notes: r.verify.filter((v) => v.detail).map((v) => `${v.model}: ${v.detail}`),
    });
    const checks = r.verify.flatMap((v) => (v.checks ?? []).map((c) => [v.model, c.check, c.result, c.pass ? 'ok' : 'FAIL']));
    if (checks.length) t.push({ id: 'verify-checks', title: 'Verification checks', headers: ['model', 'check', 'result', 'status'], rows: checks });
  }
  (r.formats ?? []).forEach((f, i) => {
    t.push({
      id: `formats-${i}`, title: `Real-stream formats: ${f.network}, accuracy (golden model) and cost per frame (simulator, ${f.baseArch} with the format's stream width)`,
      headers: ['format', 'bits', 'arch', 'accuracy [%]', 'agreement with fp32 [%]', 'changed vs fp32 [images]', 'max |logit diff| vs fp32', 'latency [ms]', 'energy [uJ / frame]', 'DRAM [B / frame]', 'realStream SRAM [B / frame]', 'golden = simulator'],
      rows: f.points.map((p) => [p.format, p.bits, p.arch, nFixed(100 * p.accuracy, 2), nFixed(100 * p.agreementWithFp32, 2), p.changedVsFp32, nSig(p.maxAbsLogitDiffVsFp32, 3),
        p.latencySeconds !== undefined ? nSig(p.latencySeconds * 1e3) : 'infeasible', p.energyJoules !== undefined ? nSig(p.energyJoules * 1e6) : '-',
        p.dramBytes !== undefined ? numInt(p.dramBytes) : '-', p.realStreamSramBytes !== undefined ? numInt(p.realStreamSramBytes) : '-', p.bitExact]),
      notes: [`model ${f.model}; accuracy on ${f.dataset}`, 'realStream SRAM = bytes read from and written to the on-chip real-valued stream buffer; golden = simulator: functional simulation vs golden model in that format, every layer bit for bit', ...f.notes],
    });
  });
  (r.train ?? []).forEach((tr, i) => {
    t.push({
      id: `train-${i}`, title: `Training run ${tr.input}: per epoch`,
      headers: ['stage', 'stage kind', 'epoch', 'train loss', 'train accuracy [%]', 'test accuracy [%]', 'test loss', 'elapsed [min]'],
      rows: tr.epochs.map((e) => [e.stage, e.stageKind, e.epoch, nSig(e.trainLoss), nFixed(100 * e.trainAccuracy, 2), e.testAccuracy !== undefined ? nFixed(100 * e.testAccuracy, 2) : '-',
        e.testLoss !== undefined ? nSig(e.testLoss) : '-', e.elapsedSeconds !== undefined ? nFixed(e.elapsedSeconds / 60, 1) : '-']),
      notes: ['train accuracy = running accuracy over the epoch\'s training batches (augmented, training mode); test accuracy = the whole test set after the epoch, eval mode; elapsed = wall-clock time the trainer recorded (from the run\'s start)'],
    });
  });
  return t;
}

/**
 * Definitions the tables rely on, folded away at the end of every form: the cost convention's counting
 * rules and each simulator's metric definitions (once per distinct set).
 */
export function reportDefinitions(r: Report): { title: string; lines: string[] }[] {
  const out: { title: string; lines: string[] }[] = [];
  if (r.cost && r.cost.conventionText.length) out.push({ title: 'cost model', lines: r.cost.conventionText });
  const seen = new Map<string, number>();
  for (const s of r.simulations ?? []) {
    const key = JSON.stringify(s.definitions);
    if (Object.keys(s.definitions).length === 0) continue;
    const k = seen.get(key);
    if (k !== undefined) { out[k].title += `, ${s.network} @ ${s.arch}`; continue; }
    seen.set(key, out.length);
    out.push({ title: `simulator: ${s.network} @ ${s.arch}`, lines: Object.entries(s.definitions).map(([m, d]) => `${m}: ${d}`) });
  }
  return out;
}

/** The tables in reading order: everything but provenance (which is folded away at the end). */
const bodyTables = (tables: Table[]) => tables.filter((t) => t.id !== 'provenance');

export function renderReportText(r: Report): string {
  const tables = reportTables(r);
  const h = headlineLines(buildHeadline(r, tables));
  const prov = tables.find((t) => t.id === 'provenance')!;
  return [r.title, '='.repeat(r.title.length), '', h.what, ...h.facts.map((f) => `  * ${f}`), `Verdict: ${h.verdict}`, '',
    ...bodyTables(tables).map((t) => renderText(t) + '\n'), ...r.notes.map((n) => `note: ${n}`), ...moreChartsNotes(r), '',
    renderText(prov), '', 'Definitions', ...reportDefinitions(r).flatMap((d) => [`${d.title}:`, ...d.lines.map((l) => `  ${l}`)])].join('\n') + '\n';
}

export function renderReportMarkdown(r: Report, images: { id: string; title: string; path: string }[] = []): string {
  const tables = reportTables(r);
  const h = headlineLines(buildHeadline(r, tables));
  const out = [`# ${r.title}`, '', h.what, '', ...h.facts.map((f) => `- ${f}`), '', `**Verdict:** ${h.verdict}`, ''];
  for (const im of images) out.push(`![${im.title}](${im.path})`, '');
  for (const t of bodyTables(tables)) out.push(renderMarkdown(t));
  if (r.notes.length) out.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  out.push(...moreChartsNotes(r).flatMap((n) => [n, '']));
  out.push('<details><summary>Provenance</summary>', '', renderMarkdown(tables.find((t) => t.id === 'provenance')!), '</details>', '');
  const defs = reportDefinitions(r);
  if (defs.length) out.push('<details><summary>Definitions</summary>', '', ...defs.flatMap((d) => [`**${d.title}**`, '', ...d.lines.map((l) => `- ${l}`), '']), '</details>', '');
  for (const c of r.configs) out.push(`<details><summary>Resolved config, ${c.kind}: ${c.name}</summary>`, '', '```json', JSON.stringify(c.value, null, 2), '```', '', '</details>', '');
  return out.join('\n');
}

/** A file-name slug of a table title ("Memory and operations, ours ..." -> "memory-and-operations-ours..."). */
export function tableSlug(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'table';
}

/**
 * The machine-readable CSV files of a report, one table per file (table.ts renderCsv: raw numbers), plus for
 * every sweep a flat file of all its evaluated feasible points with every axis and metric. Names are unique
 * and stable: `<nn>-<slug>.csv` in table order, `sweep-<k>-points.csv`.
 */
export function reportCsvFiles(r: Report): { name: string; text: string }[] {
  const files = reportTables(r).map((t, i) => ({ name: `${String(i + 1).padStart(2, '0')}-${tableSlug(t.title ?? 'table')}.csv`, text: renderCsv(t) }));
  (r.sweeps ?? []).forEach((sw, k) => {
    const t: Table = {
      headers: ['point', ...sw.axes, 'latency [s]', 'energy [J / frame]', 'area [mm^2]', 'on-chip SRAM [B]', 'pareto'],
      rows: [...sw.points].sort((a, b) => a.index - b.index).map((p) => [p.index, ...sw.axes.map((a) => (typeof p.params[a] === 'number' ? (p.params[a] as number) : String(p.params[a]))), p.latencySeconds, p.energyJoules, p.areaMm2, p.onChipBytes, p.pareto ? 1 : 0]),
    };
    files.push({ name: `sweep-${k + 1}-points.csv`, text: renderCsv(t) });
  });
  return files;
}

/** All tables as CSV, each preceded by a `# title` line and separated by a blank line (for people; machines read reportCsvFiles). */
export function renderReportCsv(r: Report): string {
  return reportTables(r).map((t) => `# ${t.title}\n${renderCsv(t)}`).join('\n');
}

/** The stable JSON form: the Report itself with 2-space indentation. */
export function renderReportJson(r: Report): string {
  return JSON.stringify(r, null, 2) + '\n';
}

/** File-name-safe slug of a table title, for one-CSV-per-table output. */
export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}
