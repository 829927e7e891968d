/**
 * Report section for `birealsim formats --json`: snapshot of the JSON, CSV and Markdown forms from the checked-in
 * fixture (test/fixtures/report/formats-tiny.json, written by scripts/gen-report-fixtures.ts), the
 * accuracy-vs-energy chart carrying exactly the input's numbers, and located errors for malformed inputs.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { UserError } from '../../src/core/diagnostics.ts';
import { buildReport } from '../../src/report/build.ts';
import { buildCharts } from '../../src/report/charts.ts';
import { renderReportCsv, renderReportJson, renderReportMarkdown, renderReportText } from '../../src/report/render.ts';
import { doc } from './fixtures.ts';

const FIX = 'test/fixtures/report';
const text = readFileSync(`${FIX}/formats-tiny.json`, 'utf8');
const fx = JSON.parse(text);
const build = () => buildReport([doc('formats-tiny.json', text)], { title: 'real-stream formats report', toolVersion: '0.1.0' });
const fail = (v: unknown): string => {
  try { buildReport([doc('f.json', JSON.stringify(v))], { title: 't', toolVersion: '0' }); } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as UserError).format();
  }
  return 'no error';
};

describe('formats report section', () => {
  it('JSON, CSV and Markdown forms match their snapshots', async () => {
    await expect(renderReportJson(build())).toMatchFileSnapshot('__snapshots__/formats.report.json');
    await expect(renderReportCsv(build())).toMatchFileSnapshot('__snapshots__/formats.report.csv');
    await expect(renderReportMarkdown(build())).toMatchFileSnapshot('__snapshots__/formats.report.md');
  });

  it('provenance: the derived archs are the embedded configs, the weight seed is the report seed', () => {
    const r = build();
    expect(r.inputs[0]).toMatchObject({ kind: 'formats', declared: 'kind: formats' });
    expect(r.configs.map((c) => c.name)).toEqual(fx.archs.map((a: { name: string }) => a.name));
    expect(r.seed).toBe(0);
  });

  it('one table row per format with the input\'s accuracy and energy', () => {
    const t = renderReportText(build());
    for (const f of fx.formats) {
      const line = t.split('\n').find((l) => l.startsWith(`${f.format.name} `))!;
      expect(line, f.format.name).toContain((100 * f.accuracy.accuracy).toFixed(2));
      expect(line).toContain(String(Number((f.sim.energyPerFrameJ * 1e6).toPrecision(4))));
      expect(line).toMatch(/1\/1 bit-exact/);
    }
  });

  it('the chart plots (energy [uJ], accuracy [%]) per format, and its Pareto line holds exactly the undominated formats', () => {
    const { charts } = buildCharts(build());
    const c = charts.find((x) => x.id === 'formats-accuracy-energy-0')!;
    expect(c.config.type).toBe('scatter');
    const ds = (c.config.data as { datasets: { label: string; data: { x: number; y: number }[] }[] }).datasets;
    const pts = ds.slice(0, -1);
    expect(pts.map((d) => d.label.split(' ')[0])).toEqual(fx.formats.map((f: { format: { name: string } }) => f.format.name));
    fx.formats.forEach((f: { sim: { energyPerFrameJ: number }; accuracy: { accuracy: number } }, i: number) => {
      expect(pts[i].data).toHaveLength(1);
      expect(pts[i].data[0].x).toBeCloseTo(f.sim.energyPerFrameJ * 1e6, 3);
      expect(pts[i].data[0].y).toBeCloseTo(100 * f.accuracy.accuracy, 6);
    });
    // fixture: fp32 18% @ 10.7 uJ; fp16 and int16q8 18% @ 6.29 uJ; int16q10 16% @ 6.29; int8q4/int8q5 12% @ 4.10
    // -> undominated: the 16-bit pair at 18% and the 8-bit pair at 12% (fp32 costs more for the same accuracy)
    const front = ds[ds.length - 1].data;
    expect(front.map((p) => p.y)).toEqual([12, 12, 18, 18]);
    expect(front.every((p, i) => i === 0 || p.x >= front[i - 1].x)).toBe(true);
  });

  it('malformed inputs name the JSON path', () => {
    const a = structuredClone(fx); delete a.formats[1].accuracy.accuracy;
    expect(fail(a)).toMatch(/f\.json: \$\.formats\[1\]\.accuracy\.accuracy: expected a finite number/);
    const b = structuredClone(fx); b.formats[0].accuracy.agreementWithFp32 = 3;
    expect(fail(b)).toMatch(/\$\.formats\[0\]\.accuracy\.agreementWithFp32: expected a fraction in \[0, 1\], got 3/);
    const c = structuredClone(fx); c.formats = [];
    expect(fail(c)).toMatch(/\$\.formats: expected at least one format/);
    const d = structuredClone(fx); d.formats[2].sim.realStreamSramBytes = 5;
    expect(fail(d)).toMatch(/\$\.formats\[2\]\.sim\.realStreamSramBytes: expected an object/);
  });

  it('a format that does not map onto the arch stays in the table without a chart point', () => {
    const e = structuredClone(fx);
    e.formats[0].sim = { feasible: false, infeasible: 'stem.conv: weights buffer too small' };
    const r = buildReport([doc('e.json', JSON.stringify(e))], { title: 't', toolVersion: '0' });
    expect(renderReportText(r)).toMatch(/fp32 .*infeasible/);
    const ds = (buildCharts(r).charts.find((x) => x.id === 'formats-accuracy-energy-0')!.config.data as { datasets: unknown[] }).datasets;
    expect(ds).toHaveLength(fx.formats.length - 1 + 1);
  });
});
