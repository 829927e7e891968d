/**
 * Story-first reports (issue 16): every form opens with the headline (what was run, the numbers that matter,
 * the verdict) whose numbers are the tables' own cells; the page draws only what its inputs support and says
 * once, at its end, which inputs would add which charts; provenance and definitions are folded away.
 * Also the training-run input (metrics.jsonl), the linear stacked memory chart and the formats chart's
 * coincident points.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { UserError } from '../../src/core/diagnostics.ts';
import { buildReport, type InputDoc } from '../../src/report/build.ts';
import { buildCharts } from '../../src/report/charts.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { renderReportMarkdown, renderReportText, reportTables } from '../../src/report/render.ts';
import { buildHeadline, cellText, MAX_FACTS } from '../../src/report/story.ts';
import { cell } from '../../src/report/table.ts';
import { doc } from './fixtures.ts';

const FIX = 'test/fixtures/report';
const fx = (f: string) => doc(f, readFileSync(`${FIX}/${f}`, 'utf8'));
const build = (docs: InputDoc[]) => buildReport(docs, { title: 't', toolVersion: '0.1.0' });

describe('headline', () => {
  it('every headline number is a cell of the report\'s tables (no second computation)', () => {
    for (const docs of [[fx('micro-cost.json')], [fx('micro-sim-edge.json'), fx('micro-sim-large.json')], [fx('micro-sweep.jsonl')], [fx('verify-mnist.json')],
      [fx('formats-tiny.json')], [fx('train-metrics.jsonl'), fx('micro-cost.json'), fx('verify-mnist.json'), fx('micro-sim-edge.json')]]) {
      const r = build(docs);
      const tables = reportTables(r);
      const cells = new Set(tables.flatMap((t) => t.rows.flatMap((row) => row.map(cell))));
      const h = buildHeadline(r, tables);
      expect(h.facts.length, docs.map((d) => d.name).join()).toBeGreaterThanOrEqual(2);
      expect(h.facts.length).toBeLessThanOrEqual(MAX_FACTS);
      for (const f of h.facts) {
        if (f.label === 'points on the Pareto front') { expect(f.value).toBe(String(tables.find((t) => t.id === 'sweep-0')!.rows.length)); continue; }
        // a value is one cell (+ unit) or several cells joined by ' / '
        const parts = f.value.replace(/ (ms|mJ|uJ|Mbit|OPs|mm\^2|steps)$/, '').replace(/%$/, '').split(/ \/ | at /).map((p) => p.replace(/%$/, '').replace(/ uJ$/, ''));
        for (const p of parts) expect(cells.has(p) || cells.has(`${p}%`), `${f.label}: '${p}' is a table cell`).toBe(true);
      }
    }
  });

  it('follows the tables: change a table cell and the headline shows the change', () => {
    const r = build([fx('micro-sim-edge.json')]);
    const tables = reportTables(r);
    const lat = cellText(tables, 'sim-summary', 0, 'latency [ms]');
    expect(buildHeadline(r, tables).facts[0].value).toBe(`${lat} ms`);
    const t = tables.find((x) => x.id === 'sim-summary')!;
    t.rows[0][t.headers.indexOf('latency [ms]')] = '12345';
    expect(buildHeadline(r, tables).facts[0].value).toBe('12345 ms');
    expect(() => cellText(tables, 'sim-summary', 0, 'latency [s]')).toThrow(/no cell/);
  });

  it('verdicts: PASS/FAIL from verify, the paper comparison from cost, the speed ratio from simulations', () => {
    expect(buildHeadline(build([fx('verify-mnist.json')]), reportTables(build([fx('verify-mnist.json')]))).status).toBe('pass');
    const bad = JSON.parse(readFileSync(`${FIX}/verify-mnist.json`, 'utf8'));
    bad.pass = false; bad.simulator.bitExactImages -= 1;
    const rb = build([doc('bad.json', JSON.stringify(bad))]);
    const hb = buildHeadline(rb, reportTables(rb));
    expect(hb.status).toBe('fail');
    expect(hb.verdict).toMatch(/^FAIL: golden vs functional simulator .* bit-exact on \d+\/\d+ images/);
    const rs = build([fx('micro-sim-edge.json'), fx('micro-sim-large.json')]);
    const [e, l] = rs.simulations!;
    const [fast, slow] = e.latencySeconds < l.latencySeconds ? [e, l] : [l, e];
    expect(buildHeadline(rs, reportTables(rs)).verdict).toContain(`${fast.network} @ ${fast.arch} is ${(slow.latencySeconds / fast.latencySeconds).toFixed(1)}x faster than ${slow.network} @ ${slow.arch}`);
  });

  it('every form opens with the headline; provenance and definitions come last (HTML: folded in <details>)', () => {
    const r = build([fx('micro-cost.json'), fx('micro-sim-edge.json')]);
    const h = buildHeadline(r, reportTables(r));
    const text = renderReportText(r), md = renderReportMarkdown(r), html = renderReportHtml(r);
    expect(text.indexOf(h.what)).toBeLessThan(text.indexOf('Memory and operations'));
    expect(text.indexOf('Verdict: ')).toBeLessThan(text.indexOf('Memory and operations'));
    expect(text.indexOf('Provenance')).toBeGreaterThan(text.indexOf('energy by component'));
    expect(md.indexOf('**Verdict:**')).toBeLessThan(md.indexOf('**Memory and operations'));
    expect(md).toMatch(/<details><summary>Provenance<\/summary>/);
    expect(html.indexOf('id="headline"')).toBeLessThan(html.indexOf('<canvas'));
    expect(html.indexOf('<canvas')).toBeLessThan(html.indexOf('<section class="table">'));
    // provenance and definitions only inside <details>
    const prov = html.indexOf('<h2>Provenance</h2>');
    expect(html.lastIndexOf('<details class="fold"><summary>Provenance', prov)).toBeGreaterThan(0);
    expect(html).toMatch(/<details class="fold"><summary>Definitions<\/summary>/);
    expect(html).not.toMatch(/class="omitted"|Chart omitted/);
  });

  it('absent inputs: one closing line naming each input and the charts it would add', () => {
    const r = build([fx('micro-cost.json')]);
    const html = renderReportHtml(r);
    const more = html.match(/<p class="more">([^<]*)<\/p>/g) ?? [];
    expect(more).toHaveLength(1);
    expect(more[0]).toContain('a `birealsim simulate --json` input would add per-layer cycles by cause, utilisation per layer, roofline, energy by component');
    expect(renderReportText(r).match(/More charts from other inputs/g)).toHaveLength(1);
  });
});

describe('training-run input (metrics.jsonl)', () => {
  it('reads every epoch, keeps the later record of a repeated epoch, and draws the curve', () => {
    const text = readFileSync(`${FIX}/train-metrics.jsonl`, 'utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l));
    const r = build([doc('m.jsonl', text)]);
    expect(r.inputs[0]).toMatchObject({ kind: 'train', declared: 'train metrics.jsonl' });
    expect(r.train![0].epochs.map((e) => [e.stage, e.epoch])).toEqual(lines.map((l) => [l.stage, l.epoch]));
    expect(r.train![0].epochs[3].testAccuracy).toBe(lines[3].test_acc);
    const again = { ...lines[1], train_loss: 0.5 };
    const r2 = build([doc('m.jsonl', text + JSON.stringify(again) + '\n')]);
    expect(r2.train![0].epochs).toHaveLength(lines.length);
    expect(r2.train![0].epochs[1].trainLoss).toBe(0.5);
    const c = buildCharts(r).charts.find((x) => x.id === 'train-curve-0')!;
    const ds = (c.config.data as { datasets: { data: (number | null)[] }[] }).datasets;
    expect(ds[0].data).toEqual(lines.map((l) => Number((100 * l.train_acc).toPrecision(6))));
    expect(ds[1].data).toEqual(lines.map((l) => (l.test_acc === undefined ? null : Number((100 * l.test_acc).toPrecision(6)))));
    const h = buildHeadline(r, reportTables(r));
    expect(h.facts[0]).toMatchObject({ label: 'test accuracy after training', value: `${(100 * lines[3].test_acc).toFixed(2)}%` });
  });
  it('a malformed record names the line and field', () => {
    const bad = readFileSync(`${FIX}/train-metrics.jsonl`, 'utf8') + '{"stage":2,"stage_kind":"binary","epoch":3,"train_loss":0.1,"train_acc":1.5}\n';
    try { build([doc('m.jsonl', bad)]); expect.unreachable(); } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      expect((e as UserError).format()).toMatch(/m\.jsonl: line 5\.train_acc: expected a fraction in \[0, 1\], got 1\.5/);
    }
  });
});

describe('charts', () => {
  it('memory: linear axis, ours stacked as binary weights + real-valued parameters summing to the table\'s memory', () => {
    const r = build([fx('micro-cost.json')]);
    const c = buildCharts(r).charts.find((x) => x.id === 'cost-memory')!;
    const o = c.config.options as { scales: { y: { type?: string; stacked: boolean } } };
    expect(o.scales.y.type).toBeUndefined(); // chart.js default for bars: linear
    expect(o.scales.y.stacked).toBe(true);
    const ds = (c.config.data as { datasets: { label: string; stack: string; data: (number | null)[] }[] }).datasets;
    const ours = ds.filter((d) => d.stack === 'ours');
    expect(ours.map((d) => d.label)).toEqual(['ours: binary weights (1 bit each) [Mbit]', 'ours: real-valued parameters [Mbit]']);
    r.cost!.networks.forEach((n, i) => {
      expect(ours[0].data[i]).toBeCloseTo(n.binaryWeights / 1e6, 6);
      expect(ours[0].data[i]! + ours[1].data[i]!).toBeCloseTo(n.memoryMbit, 5);
    });
  });

  it('HTML tables show a number cell\'s text, never an object', () => {
    const html = renderReportHtml(build([fx('micro-cost.json'), fx('micro-sim-edge.json'), fx('micro-sweep.jsonl'), fx('formats-tiny.json')]));
    const body = html.slice(0, html.indexOf('<script id="chart-specs"')); // chart.js's own source holds the string
    expect(body).not.toContain('[object Object]');
    expect(body).toMatch(/<td class="n">\d{1,3}(,\d{3})+<\/td>/); // thousands separators as in the text form
  });

  it('formats: coincident points are nested (larger marker per extra format), named in the subtitle; accuracy axis inside 0-100%', () => {
    const r = build([fx('formats-tiny.json')]);
    const c = buildCharts(r).charts.find((x) => x.id === 'formats-accuracy-energy-0')!;
    const ds = (c.config.data as { datasets: { label: string; pointStyle: string; pointRadius: number; data: { x: number; y: number }[] }[] }).datasets.slice(0, -1);
    const at = new Map<string, number[]>();
    for (const d of ds) at.set(JSON.stringify(d.data[0]), [...(at.get(JSON.stringify(d.data[0])) ?? []), d.pointRadius]);
    for (const radii of at.values()) expect(new Set(radii).size).toBe(radii.length); // no two formats at one point share a size
    expect(new Set(ds.map((d) => d.pointStyle)).size).toBe(ds.length);
    const o = c.config.options as { plugins: { subtitle: { text: string } }; scales: { y: { min: number; max: number } } };
    // fixture: fp16 and int16q8 share (6.29 uJ, 18%), int8q4 and int8q5 share (4.10 uJ, 12%)
    expect(o.plugins.subtitle.text).toBe('overlapping points, drawn as nested markers (larger = listed later): int8q4 / int8q5 at 4.096 uJ; fp16 / int16q8 at 6.289 uJ');
    expect(o.scales.y.min).toBeGreaterThanOrEqual(0);
    expect(o.scales.y.max).toBe(100);
    for (const d of ds) expect(d.data[0].y).toBeGreaterThanOrEqual(o.scales.y.min);
  });
});
