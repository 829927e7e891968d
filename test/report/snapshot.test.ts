/**
 * Snapshot tests of the JSON, CSV and Markdown forms on the micro workload. The inputs are checked in
 * (test/fixtures/report, written by the real producers via scripts/gen-report-fixtures.ts) so the snapshots
 * test the report layer, not the simulator's current numbers; 'live producers' below checks that today's
 * producers still yield inputs the report reads. The forms carry no timestamps: compared byte for byte.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { buildReport, type InputDoc } from '../../src/report/build.ts';
import { renderReportCsv, renderReportJson, renderReportMarkdown, renderReportText } from '../../src/report/render.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { REPORT_SCHEMA } from '../../src/report/schema.ts';
import { readFileSync } from 'node:fs';
import { costDoc, simDoc, sweepDoc, doc, MICRO } from './fixtures.ts';

let docs: InputDoc[];
const FIX = 'test/fixtures/report';
beforeAll(() => {
  docs = ['micro-cost.json', 'micro-sim-edge.json', 'micro-sweep.jsonl', 'micro-verify.json', 'verify-mnist.json'].map((f) => doc(f, readFileSync(`${FIX}/${f}`, 'utf8')));
});
const build = () => buildReport(docs, { title: 'micro workload report', toolVersion: '0.1.0' });

describe('report forms on the micro workload', () => {
  it('JSON form matches its snapshot', async () => {
    await expect(renderReportJson(build())).toMatchFileSnapshot('__snapshots__/micro.report.json');
  });
  it('CSV form matches its snapshot', async () => {
    await expect(renderReportCsv(build())).toMatchFileSnapshot('__snapshots__/micro.report.csv');
  });
  it('Markdown form matches its snapshot', async () => {
    await expect(renderReportMarkdown(build())).toMatchFileSnapshot('__snapshots__/micro.report.md');
  });
  it('every form is byte-identical across two builds (no clock, no environment)', () => {
    const a = build(), b = buildReport(docs.map((d) => ({ ...d })), { title: 'micro workload report', toolVersion: '0.1.0' });
    expect(renderReportJson(b)).toBe(renderReportJson(a));
    expect(renderReportText(b)).toBe(renderReportText(a));
    expect(renderReportHtml(b)).toBe(renderReportHtml(a));
  });
  it('embeds provenance: schema, tool version, every input hash, resolved configs', () => {
    const r = JSON.parse(renderReportJson(build()));
    expect(r.schema).toBe(REPORT_SCHEMA);
    expect(r.tool.version).toBe('0.1.0');
    expect(r.inputs.map((i: { sha256: string }) => i.sha256)).toEqual(docs.map((d) => d.sha256));
    expect(r.inputs.every((i: { sha256: string }) => /^[0-9a-f]{64}$/.test(i.sha256))).toBe(true);
    const kinds = r.configs.map((c: { kind: string }) => c.kind);
    expect(kinds).toEqual(expect.arrayContaining(['cost-convention', 'arch', 'sweep-spec']));
    const arch = r.configs.find((c: { kind: string }) => c.kind === 'arch').value;
    expect(arch.clockHz).toBe(500e6); // resolved (SI numbers), not the raw "500 MHz" string
  });
  it('the cost numbers in the report are the cost model\'s (hand count of the micro workload)', () => {
    const n = build().cost!.networks[0];
    // binary convs: b0 8x8 out, 16x(3x3x16); b1 4x4 out, 32x(3x3x16)
    expect(n.binaryWeights).toBe(16 * 9 * 16 + 32 * 9 * 16);
    expect(n.bops).toBe(8 * 8 * 16 * 9 * 16 + 4 * 4 * 32 * 9 * 16);
    // real MACs: stem 8x8x16x(3x3x3) + downsample 4x4x32x16 + fc 32x4
    expect(n.realMacs).toBe(8 * 8 * 16 * 27 + 4 * 4 * 32 * 16 + 32 * 4);
  });
  it('sweep section: infeasible points counted, Pareto flags consistent with dominance', () => {
    const sw = build().sweeps![0];
    expect(sw.totalPoints).toBe(16);
    expect(sw.evaluated).toBe(16);
    expect(sw.infeasible).toBe(8); // every 1 KiB-buffer point cannot hold the stem's weights
    for (const p of sw.points) {
      const dominated = sw.points.some((q) => q !== p && q.latencySeconds <= p.latencySeconds && q.energyJoules <= p.energyJoules && q.areaMm2 <= p.areaMm2
        && (q.latencySeconds < p.latencySeconds || q.energyJoules < p.energyJoules || q.areaMm2 < p.areaMm2));
      expect(p.pareto).toBe(!dominated);
    }
  });
});

describe('live producers', () => {
  it('today\'s cost --json, simulate and sweep output build a report with every section', async () => {
    const r = buildReport([costDoc(), simDoc(MICRO, 'edge', 'e.json'), simDoc(MICRO, 'large', 'l.json'), await sweepDoc()], { title: 't', toolVersion: '0.1.0' });
    expect(r.cost!.networks.map((n) => n.name)).toEqual(['micro-bireal']);
    expect(r.simulations!.map((s) => s.arch)).toEqual(['edge', 'large']);
    for (const s of r.simulations!) {
      // causes add up to each layer's total, and layers add up to the network latency
      for (const l of s.layers) expect(l.computeCycles + l.stallCycles + l.fillDrainCycles + l.postOpCycles).toBe(l.totalCycles);
      expect(s.layers.reduce((a, l) => a + l.totalCycles, 0)).toBe(s.latencyCycles);
      expect(Object.values(s.energyByComponent).reduce((a, b) => a + b, 0)).toBeCloseTo(s.energyJoules, 12);
      for (const l of s.layers) { expect(l.utilisation).toBeGreaterThanOrEqual(0); expect(l.utilisation).toBeLessThanOrEqual(1); }
    }
    expect(r.sweeps![0].evaluated).toBe(16);
  });
});
