/**
 * `birealsim explore` in a real browser (Debian chromium, headless, playwright-core): the page opens from
 * file:// with no script or console error and no request beyond the file itself; for three designs set
 * through the controls, the latency the page shows is the one the library's `simulate` (and, for one, the
 * CLI) computes for the arch JSON the page downloads, cycle for cycle; the page's update time (simulation +
 * redraw, performance.now in the page) has a median under UPDATE_BOUND_MS; a sweep file loads as a Pareto
 * chart and clicking a front point loads that design and reproduces the sweep's latency; a workload JSON
 * becomes a network; a design that does not fit lists its reasons and the next change recovers; a reload
 * keeps the design (it lives in the address); the layout
 * fits the window. Also (no browser): the design model's arch JSON and command line, and `--out` errors.
 * The browser part skips with a message only if chromium is absent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { explorePage, exploreData } from '../../src/cli/explore.ts';
import { designArchJson, cliCommand, type Design } from '../../src/explore/design.ts';
import { BUILTIN_WORKLOADS } from '../../src/ir/builders.ts';
import { loadWorkloadText, resolveNetwork } from '../../src/ir/validate.ts';
import { shapeOnlyModel } from '../../src/ir/model.ts';
import { lower } from '../../src/golden/plan.ts';
import { resolveArchText, presetSpec } from '../../src/sim/arch.ts';
import { simulate } from '../../src/sim/simulate.ts';
import type { Objective } from '../../src/sim/mapper.ts';
import type { FusionMode } from '../../src/sim/residency.ts';
import { makeEvaluator } from '../../src/report/sweep-eval.ts';
import { sweepHeader } from '../../src/report/sweep-run.ts';
import { gridPoint, totalPoints, type SweepSpec } from '../../src/report/sweep-spec.ts';
import { sweepText, type SweepPoint } from '../../src/report/sweep-file.ts';
import { runCli } from '../cli/run-cli.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/**
 * Bound on the MEDIAN update time (Bi-Real-18 on edge, fusion none, objective cycles: whole-network
 * simulation + redraw, wall time in the page). The goal is 100 ms on an idle machine; the assertion allows
 * 250 ms, scaled by the machine's load (1-minute load average per core, when above 1: the page's thread
 * then gets that much less of a core). The measured median and the load are printed.
 */
const UPDATE_BOUND_MS = 250;
const loadFactor = () => Math.max(1, loadavg()[0] / availableParallelism());
const present = existsSync(CHROMIUM);
if (!present) console.warn(`explore browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);

describe('explore design model (no browser)', () => {
  it('an unchanged preset downloads as the preset; a change renames it and lists the change', () => {
    const spec = presetSpec('edge');
    const d: Design = { preset: 'edge', spec, run: { workload: 'bireal18-imagenet', objective: 'cycles', fusion: 'none', batch: 1, realFormat: 'fp32' } };
    const { $schema: _s, ...plain } = spec;
    void _s;
    expect(designArchJson(d, spec)).toEqual(plain);
    const changed = { ...d, spec: { ...spec, clock: '1 GHz' } };
    const j = designArchJson(changed, spec);
    expect(j.name).toBe('edge-explore');
    expect(j.description).toContain('clock "500 MHz" -> "1 GHz"');
    expect(cliCommand({ ...changed, run: { ...d.run, fusion: 'auto', batch: 4 } }, 'edge-explore.json')).toBe('birealsim simulate bireal18-imagenet --arch edge-explore.json --fusion auto --batch 4');
  });
});

describe('birealsim explore --out', () => {
  it('a directory or an unwritable path is bad input (exit 2, one line naming --out)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'birealsim-explore-out-'));
    try {
      const dirOut = await runCli(['explore', '--out', d]);
      expect(dirOut.code).toBe(2);
      expect(dirOut.err).toMatch(/^error E_OUT: --out: '.*' is a directory/);
      writeFileSync(join(d, 'file'), 'x');
      const under = await runCli(['explore', '--out', join(d, 'file', 'explore.html')]);
      expect(under.code).toBe(2);
      expect(under.err.trim().split('\n')).toHaveLength(1);
      expect(under.err).toMatch(/E_IO: .*--out: cannot write the explorer page/);
    } finally { rmSync(d, { recursive: true, force: true }); }
  }, 120000);
});

describe.skipIf(!present)('explore page in headless chromium', () => {
  let dir = '', url = '', browser: Browser, page: Page;
  const requests: string[] = [], errors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'birealsim-explore-'));
    const file = join(dir, 'explore.html');
    writeFileSync(file, await explorePage());
    url = pathToFileURL(file).href;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 60000 });
  }, 180000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const updates = async () => Number(await page.evaluate(() => document.body.dataset.updates));
  /** Sets a control as a user would (slider position or select option) and waits for the recompute. */
  async function setControl(id: string, value: string | number): Promise<void> {
    const before = await updates();
    const changed = await page.evaluate(([id, value]) => {
      const el = document.getElementById(`in-${id}`) as HTMLInputElement | HTMLSelectElement;
      if (el instanceof HTMLSelectElement) {
        const i = Array.from(el.options).findIndex((o) => o.value === String(value));
        if (i < 0) throw new Error(`${id}: no option ${value}`);
        if (el.selectedIndex === i) return false;
        el.selectedIndex = i;
        el.dispatchEvent(new Event('change'));
        return true;
      }
      // a slider's stops are listed by the output beside it; find the stop showing `value`
      const out = el.parentElement!.querySelector('output')!;
      const max = Number(el.max);
      for (let i = 0; i <= max; i++) {
        el.value = String(i);
        el.dispatchEvent(new Event('input'));
        if (out.textContent === String(value)) return true;
      }
      throw new Error(`${id}: no stop ${value}`);
    }, [id, value] as const);
    if (changed) await page.waitForFunction((n) => Number(document.body.dataset.updates) > n, before, { timeout: 60000 });
  }
  async function setTop(id: 'workload' | 'preset', value: string): Promise<void> {
    const before = await updates();
    await page.selectOption(`#${id}`, value);
    await page.waitForFunction((n) => Number(document.body.dataset.updates) > n, before, { timeout: 60000 });
  }
  async function downloadArch(): Promise<{ name: string; text: string }> {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    return { name: dl.suggestedFilename(), text: readFileSync((await dl.path())!, 'utf8') };
  }
  const shown = () => page.evaluate(() => {
    const d = document.getElementById('latency')!.dataset;
    return { latencyMs: d.latencyMs!, cycles: d.cycles!, cli: document.getElementById('cli')!.textContent! };
  });
  function library(workload: string, archText: string, run: { fusion: FusionMode; batch: number; objective: Objective }) {
    const plan = lower(shapeOnlyModel(resolveNetwork(BUILTIN_WORKLOADS[workload]())));
    return simulate(plan, resolveArchText(archText, 'downloaded.json'), run).totals!;
  }

  it('opens from file:// with no errors and no network request; every chart drew', async () => {
    expect(errors).toEqual([]);
    expect(await page.evaluate(() => document.body.dataset.errors)).toBe('[]');
    expect(requests.filter((r) => !r.startsWith('file:') && !r.startsWith('data:'))).toEqual([]);
    expect(requests[0]).toBe(url);
    const painted = await page.evaluate(() => ['chart-cycles', 'chart-energy', 'chart-dram'].map((id) => {
      const c = document.getElementById(id) as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n / (d.length / 4);
    }));
    for (const p of painted) expect(p).toBeGreaterThan(0.01);
    // the layout fits the window (no chart pushing the page wider than the viewport)
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    // the default design is the edge preset unchanged: its latency is the library's for arch/edge.json
    const s = await shown();
    const t = library('bireal18-imagenet', readFileSync('arch/edge.json', 'utf8'), { fusion: 'none', batch: 1, objective: 'cycles' });
    expect(Number(s.cycles)).toBe(t.cycles);
    expect(s.latencyMs).toBe(String(t.latencyMs));
  });

  const designs: { name: string; workload: string; preset: string; controls: [string, string | number][]; run: { fusion: FusionMode; batch: number; objective: Objective } }[] = [
    { name: 'edge, wider array, faster DRAM, ws', workload: 'bireal18-imagenet', preset: 'edge', controls: [['rows', 32], ['bandwidth', '12.8 GB/s'], ['dataflow', 'ws']], run: { fusion: 'none', batch: 1, objective: 'cycles' } },
    { name: 'large, 64-bit lanes, 16-bit real stream, fusion auto, batch 4', workload: 'xnornet18-imagenet', preset: 'large', controls: [['laneBits', 64], ['realBits', 16], ['inputs', '256 KiB'], ['fusion', 'auto'], ['batch', 4]], run: { fusion: 'auto', batch: 4, objective: 'cycles' } },
    { name: 'baseline-mac at 1 GHz, energy objective', workload: 'bireal-mnist', preset: 'baseline-mac', controls: [['clock', '1 GHz'], ['weights', '32 KiB'], ['cols', 8], ['fusion', 'none'], ['batch', 1], ['objective', 'energy']], run: { fusion: 'none', batch: 1, objective: 'energy' } },
  ];
  for (const d of designs) {
    it(`design '${d.name}': the page's latency = simulate on the downloaded arch JSON`, async () => {
      await setTop('preset', d.preset);
      if ((await page.inputValue('#workload')) !== d.workload) await setTop('workload', d.workload);
      for (const [id, v] of d.controls) await setControl(id, v);
      const s = await shown();
      const arch = await downloadArch();
      expect(arch.name).toBe(`${d.preset}-explore.json`);
      const t = library(d.workload, arch.text, d.run);
      expect(Number(s.cycles)).toBe(t.cycles);
      expect(s.latencyMs).toBe(String(t.latencyMs));
      expect(s.cli).toBe(cliCommand({ preset: d.preset, spec: {}, run: { workload: d.workload, realFormat: 'fp32', ...d.run } }, arch.name));
      // the first design also through the CLI itself
      if (d === designs[0]) {
        const f = join(dir, arch.name);
        writeFileSync(f, arch.text);
        const r = await runCli(['simulate', d.workload, '--arch', f, '--json']);
        expect(r.code).toBe(0);
        expect(JSON.parse(r.out).totals.cycles).toBe(Number(s.cycles));
      }
    }, 180000);
  }

  it(`updates within ${UPDATE_BOUND_MS} ms x load (median of 7; goal 100 ms): Bi-Real-18 on edge`, async () => {
    await setTop('preset', 'edge');
    if ((await page.inputValue('#workload')) !== 'bireal18-imagenet') await setTop('workload', 'bireal18-imagenet');
    await setControl('fusion', 'none');
    await setControl('batch', 1);
    await setControl('objective', 'cycles');
    const times: number[] = [];
    const stops = ['64 KiB', '256 KiB', '128 KiB', '512 KiB', '32 KiB', '128 KiB', '1 MiB'];
    for (const v of stops) {
      await setControl('weights', v);
      times.push(Number(await page.evaluate(() => document.body.dataset.updateMs)));
    }
    times.sort((a, b) => a - b);
    const median = times[3], load = loadFactor();
    console.log(`explore update time (simulation + redraw), Bi-Real-18 on edge: median ${median.toFixed(1)} ms, min ${times[0].toFixed(1)}, max ${times[6].toFixed(1)} ms (load average per core ${(loadavg()[0] / availableParallelism()).toFixed(1)}; bound ${(UPDATE_BOUND_MS * load).toFixed(0)} ms)`);
    expect(median).toBeLessThan(UPDATE_BOUND_MS * load);
    expect(errors).toEqual([]);
  }, 180000);

  it('a sweep file draws its Pareto front; clicking a front point loads that design and reproduces its latency', async () => {
    const spec: SweepSpec = { schema: 'birealsim.sweep-spec/1', name: 'explore-test', workload: 'bireal-mnist', arch: 'edge', mode: 'grid', axes: { 'peArray.rows': [4, 16], 'dram.bandwidth': ['1.6 GB/s', '12.8 GB/s'], batch: [1, 2] } };
    const base = presetSpec('edge');
    const ev = makeEvaluator(spec, base);
    const points = Array.from({ length: totalPoints(spec) }, (_, j) => { const params = gridPoint(spec, j); return { type: 'point' as const, index: j, params, ...ev(params) }; });
    const file = join(dir, 'sweep.jsonl');
    writeFileSync(file, sweepText(sweepHeader(spec, base, null, '0.1.0'), points));
    await page.setInputFiles('#file', file);
    await page.waitForFunction(() => document.body.dataset.sweepPoints !== undefined, null, { timeout: 30000 });
    expect(await page.evaluate(() => document.body.dataset.sweepPoints)).toBe(String(points.length));
    // click the slowest point of the front (its pixel position from the chart)
    const at = await page.evaluate(() => {
      document.getElementById('chart-sweep')!.scrollIntoView({ block: 'center' });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const chart = (window as any).Chart.getChart(document.getElementById('chart-sweep'));
      const els = chart.getDatasetMeta(0).data;
      const el = els[els.length - 1];
      const r = (document.getElementById('chart-sweep') as HTMLCanvasElement).getBoundingClientRect();
      return { x: r.left + el.x, y: r.top + el.y, i: chart.data.datasets[0].data[els.length - 1].i };
    });
    const before = await updates();
    await page.mouse.click(at.x, at.y);
    await page.waitForFunction((n) => Number(document.body.dataset.updates) > n && document.body.dataset.pointMatches !== undefined, before, { timeout: 60000 });
    const loaded = Number(await page.evaluate(() => document.body.dataset.loadedPoint));
    const p = points[loaded] as SweepPoint;
    expect(await page.evaluate(() => document.body.dataset.pointMatches)).toBe('true');
    expect(await page.evaluate(() => document.getElementById('latency')!.dataset.cycles)).toBe(String(p.metrics!.latencyCycles));
    expect(await page.textContent('#ctl-rows output')).toBe(String(p.params['peArray.rows']));
    expect(await page.textContent('#ctl-bandwidth output')).toBe(String(p.params['dram.bandwidth']));
    expect(await page.textContent('#ctl-batch output')).toBe(String(p.params.batch));
    expect(await page.inputValue('#workload')).toBe('bireal-mnist');
    expect(errors).toEqual([]);
  }, 180000);

  it('a workload JSON becomes a network choice, simulated like the library does', async () => {
    const wl = 'test/fixtures/micro-workload.json';
    const before = await updates();
    await page.setInputFiles('#file', wl);
    await page.waitForFunction((n) => Number(document.body.dataset.updates) > n, before, { timeout: 60000 });
    const net = loadWorkloadText(readFileSync(wl, 'utf8'), wl);
    expect(await page.inputValue('#workload')).toBe(net.workload.name);
    const s = await shown();
    const arch = await downloadArch();
    const t = simulate(lower(shapeOnlyModel(net)), resolveArchText(arch.text), await page.evaluate(() => ({ fusion: (document.getElementById('in-fusion') as HTMLSelectElement).value, batch: Number(document.querySelector('#ctl-batch output')!.textContent), objective: (document.getElementById('in-objective') as HTMLSelectElement).value })) as { fusion: FusionMode; batch: number; objective: Objective }).totals!;
    expect(Number(s.cycles)).toBe(t.cycles);
    expect(errors).toEqual([]);
    expect(requests.filter((r) => !r.startsWith('file:') && !r.startsWith('data:'))).toEqual([]);
  }, 180000);

  it('a design that does not fit says which layers and why, without a script error; the next change recovers', async () => {
    await setTop('preset', 'baseline-mac');
    await setTop('workload', 'bireal18-imagenet');
    for (const [id, v] of [['fusion', 'none'], ['batch', 1], ['objective', 'cycles']] as const) await setControl(id, v);
    await setControl('inputs', '4 KiB');
    expect(await page.evaluate(() => document.getElementById('latency')!.dataset.latencyMs)).toBe('infeasible');
    const text = await page.textContent('#problems');
    expect(text).toMatch(/layers do not fit this design/);
    expect(text).toMatch(/inputs buffer needs \d+ B/);
    await setControl('inputs', '128 KiB');
    expect(await page.evaluate(() => document.getElementById('problems')!.classList.contains('on'))).toBe(false);
    const t = library('bireal18-imagenet', JSON.stringify(presetSpec('baseline-mac')), { fusion: 'none', batch: 1, objective: 'cycles' });
    expect(await page.evaluate(() => document.getElementById('latency')!.dataset.cycles)).toBe(String(t.cycles));
    expect(errors).toEqual([]);
  }, 180000);

  it('the design is kept in the address: a reload brings back the same design and numbers', async () => {
    await setControl('clock', '800 MHz');
    const before = await shown();
    expect(page.url()).toMatch(/#design=/);
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 60000 });
    expect(await shown()).toEqual(before);
    expect(await page.textContent('#ctl-clock output')).toBe('800 MHz');
    expect(errors).toEqual([]);
    expect(requests.filter((r) => !r.startsWith('file:') && !r.startsWith('data:'))).toEqual([]);
  }, 180000);

  it('the page is deterministic and carries every layer-sequential preset', async () => {
    expect(await explorePage()).toBe(readFileSync(new URL(url), 'utf8'));
    expect(exploreData().presets.map((p) => p.name)).toEqual(['baseline-mac', 'edge', 'large', 'scalesim-compat']);
  });
});
