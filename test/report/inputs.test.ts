/**
 * Bad report inputs are user errors naming the file, the JSON path and a hint (CLI: one line, exit 2);
 * an absent input kind gives one note naming the input and the charts it would add, never an empty chart.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { UserError } from '../../src/core/diagnostics.ts';
import { buildReport } from '../../src/report/build.ts';
import { buildCharts } from '../../src/report/charts.ts';
import { renderReportText } from '../../src/report/render.ts';
import { cli, doc } from './fixtures.ts';

const FIX = 'test/fixtures/report';
const cost = JSON.parse(readFileSync(`${FIX}/micro-cost.json`, 'utf8'));
const sim = JSON.parse(readFileSync(`${FIX}/micro-sim-edge.json`, 'utf8'));
const fail = (name: string, v: unknown): string => {
  try { buildReport([doc(name, typeof v === 'string' ? v : JSON.stringify(v))], { title: 't', toolVersion: '0' }); } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as UserError).format();
  }
  return 'no error';
};

describe('malformed report inputs', () => {
  it('names file and JSON path', () => {
    const c = structuredClone(cost); c.networks[0].totals.ops = 'many';
    expect(fail('c.json', c)).toMatch(/^error E_INPUT: c\.json: \$\.networks\[0\]\.totals\.ops: expected a finite number, got "many" \(hint: .*cost/);
    const s = structuredClone(sim); delete s.layers[2].cycles.postOp;
    expect(fail('s.json', s)).toMatch(/s\.json: \$\.layers\[2\]\.cycles\.postOp: expected a finite number/);
    const s2 = structuredClone(sim); s2.totals.energyJ.dram = -1;
    expect(fail('s2.json', s2)).toMatch(/\$\.totals\.energyJ\.dram: expected a number >= 0/);
    expect(fail('k.json', { kind: 'simulation' })).toMatch(/k\.json: \$\.kind: unknown input kind "simulation"/);
    expect(fail('j.json', '{"kind": "cost",')).toMatch(/^error E_JSON: j\.json: \$: invalid JSON/);
  });
  it('an infeasible simulation becomes a note, not a section', () => {
    const s = { ...structuredClone(sim), feasible: false, totals: null, infeasible: [{ layer: 'stem.conv', reason: 'weights buffer too small' }] };
    const r = buildReport([doc('inf.json', JSON.stringify(s))], { title: 't', toolVersion: '0' });
    expect(r.simulations ?? []).toEqual([]);
    expect(r.notes.join(' ')).toMatch(/inf\.json: micro-bireal on edge is infeasible \(stem\.conv: weights buffer too small\)/);
  });
  it('CLI prints one line and exits 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'birealsim-bad-'));
    try {
      const c = structuredClone(cost); c.networks = 'none';
      const f = join(dir, 'bad.json');
      writeFileSync(f, JSON.stringify(c));
      const r = cli(['report', f]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`${f}: $.networks: expected an array`);
      const m = cli(['report', 'paper-tabel']);
      expect(m.status).toBe(2);
      expect(m.stderr).toMatch(/paper-tabel.*did you mean 'paper-table'/);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});

describe('bit-exact verification section', () => {
  const ver = JSON.parse(readFileSync(`${FIX}/micro-verify.json`, 'utf8'));
  it('simulate --functional --verify output gives a verify row and records the seed', () => {
    const r = buildReport([doc('v.json', JSON.stringify(ver))], { title: 't', toolVersion: '0' });
    expect(r.verify).toHaveLength(1);
    expect(r.verify![0].match).toBe(true);
    expect(r.verify![0].layersCompared).toBe(ver.functional.stepsChecked);
    expect(r.seed).toBe(3);
    expect(renderReportText(r)).toMatch(/bit-exact/);
  });
  it('a mismatch is reported as DIVERGES with the first divergent layer and coordinate', () => {
    const bad = structuredClone(ver);
    bad.functional.verified = false;
    bad.functional.mismatches = [{ layer: 'b1.conv', step: 'b1.conv', what: 'accumulator', tile: 2, band: 0, channelTile: 1, coordinate: [1, 2, 5], expected: '17', got: '15', differing: 3 }];
    const r = buildReport([doc('v.json', JSON.stringify(bad))], { title: 't', toolVersion: '0' });
    expect(r.verify![0].match).toBe(false);
    const t = renderReportText(r);
    expect(t).toMatch(/DIVERGES/);
    expect(t).toMatch(/b1\.conv \(step b1\.conv, accumulator, tile 2\) at \[1,2,5\] expected 17, got 15/);
  });
});

describe('birealsim verify --json', () => {
  const v = JSON.parse(readFileSync(`${FIX}/verify-mnist.json`, 'utf8'));
  it('a passing verification is a PASS row with its checks', () => {
    const r = buildReport([doc('v.json', JSON.stringify(v))], { title: 't', toolVersion: '0' });
    expect(r.verify![0]).toMatchObject({ match: true, layersCompared: v.golden.stepsPerImage, images: v.inputs.images });
    expect(r.verify![0].checks!.map((c) => c.pass)).toEqual([true, true]);
    expect(r.configs.find((c) => c.kind === 'verify')!.value).toMatchObject({ arch: 'edge' });
  });
  it('a failing one names the first mismatch; a malformed one names the JSON path', () => {
    const bad = structuredClone(v);
    bad.pass = false; bad.simulator.bitExactImages = 3; bad.simulator.firstMismatch = 'image 2: layer s2.b0.conv step s2.b0.conv (y,x,c) = (0,1,7)';
    const r = buildReport([doc('v.json', JSON.stringify(bad))], { title: 't', toolVersion: '0' });
    const t = renderReportText(r);
    expect(t).toMatch(/FAIL/);
    expect(t).toContain('image 2: layer s2.b0.conv step s2.b0.conv (y,x,c) = (0,1,7)');
    expect(t).toMatch(/bit-exact on 3\/4 images\s+FAIL/);
    const worse = structuredClone(v); delete worse.golden.stepsPerImage;
    expect(fail('w.json', worse)).toMatch(/w\.json: \$\.golden\.stepsPerImage: expected a finite number/);
  });
});

describe('charts follow the data', () => {
  it('no input kind -> its charts are listed once under the input that would add them; present kinds draw non-empty datasets', () => {
    const only = buildCharts(buildReport([doc('s.json', JSON.stringify(sim))], { title: 't', toolVersion: '0' }));
    expect(only.omitted).toEqual([]);
    expect(only.missing.map((m) => m.input)).toEqual([
      "a training run's metrics.jsonl (`birealsim train --out DIR`)", 'a cost input (`paper-table` or `birealsim cost --json`)',
      'a `birealsim sweep` .jsonl', 'a `birealsim formats --json` input']);
    expect(only.missing[1].charts).toEqual(['model memory by precision', 'operations per image']);
    expect(only.charts.map((c) => c.id)).toEqual(['ops-precision', 'sim-energy', 'sim-cycles-0', 'sim-utilisation-0', 'sim-roofline-0']);
    for (const c of only.charts) {
      const ds = (c.config.data as { datasets: { data: unknown[] }[] }).datasets;
      expect(ds.length).toBeGreaterThan(0);
      expect(ds.some((d) => d.data.some((v) => v !== null && v !== 0))).toBe(true);
    }
    const none = buildCharts(buildReport([], { title: 't', toolVersion: '0' }));
    expect(none.charts).toEqual([]);
    expect(none.missing.flatMap((m) => m.charts)).toEqual(expect.arrayContaining(['roofline', 'training curve', 'MACs by operand precision']));
  });
  it('stacked cycle chart carries exactly the simulator\'s per-cause cycles', () => {
    const c = buildCharts(buildReport([doc('s.json', JSON.stringify(sim))], { title: 't', toolVersion: '0' })).charts.find((x) => x.id === 'sim-cycles-0')!;
    const ds = (c.config.data as { datasets: { label: string; data: number[] }[] }).datasets;
    const stall = ds.find((d) => d.label.startsWith('stall'))!.data;
    sim.layers.forEach((l: { cycles: { sramStall: number; dramStall: number } }, i: number) => expect(stall[i]).toBe(l.cycles.sramStall + l.cycles.dramStall));
  });
});

describe('roofline chart', () => {
  it('both roofs are inside the plotted area: x covers the ridge point, y covers the peak', async () => {
    const { readFileSync } = await import('node:fs');
    const { buildReport } = await import('../../src/report/build.ts');
    const { buildCharts } = await import('../../src/report/charts.ts');
    const { doc } = await import('./fixtures.ts');
    const r = buildReport([doc('micro-sim-edge.json', readFileSync('test/fixtures/report/micro-sim-edge.json', 'utf8'))], { title: 't', toolVersion: '0.1.0' });
    const sim = r.simulations![0];
    const chart = buildCharts(r).charts.find((c) => c.id === 'sim-roofline-0')!;
    const cfg = chart.config as any;
    const ridge = sim.peakMacsPerCycle / sim.dramBytesPerCycle; // hand derivation: where the slope meets the flat roof
    expect(cfg.options.scales.x.min).toBeLessThan(ridge);
    expect(cfg.options.scales.x.max).toBeGreaterThan(ridge);
    expect(cfg.options.scales.y.max).toBeGreaterThan(sim.peakMacsPerCycle);
    const roof = cfg.data.datasets[0].data as { x: number; y: number }[];
    expect(roof.filter((p) => p.y === sim.peakMacsPerCycle).length).toBeGreaterThanOrEqual(2); // a flat segment at the peak
    expect(roof[0].y).toBeCloseTo(sim.dramBytesPerCycle * roof[0].x, 9); // starts on the bandwidth slope
  });
});
