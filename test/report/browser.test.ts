/**
 * The HTML report in a real browser: Debian chromium (headless, playwright-core) opens the generated page
 * from disk; the page must raise no errors (console included), make no request beyond the file itself, every
 * chart canvas must hold drawn pixels (read back with getImageData), and the roofline's compute roof must lie
 * inside the plotted area (read from the chart.js scales the page built). Skips with a message only if chromium is absent.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { buildReport } from '../../src/report/build.ts';
import { buildCharts } from '../../src/report/charts.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { doc } from './fixtures.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const FIX = 'test/fixtures/report';
const present = existsSync(CHROMIUM);
if (!present) console.warn(`browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);

describe.skipIf(!present)('HTML report in headless chromium', () => {
  it('opens from file:// with no errors, no network, and every chart drawn', async () => {
    const docs = ['micro-cost.json', 'micro-sim-edge.json', 'micro-sim-large.json', 'micro-sweep.jsonl'].map((f) => doc(f, readFileSync(`${FIX}/${f}`, 'utf8')));
    const report = buildReport(docs, { title: 'browser test', toolVersion: '0.1.0' });
    const expected = buildCharts(report).charts.map((c) => c.id);
    // every chart kind is exercised: cost (2), ops by precision, per sim cycles/util/roofline, energy, sweep fronts
    expect(expected.length).toBeGreaterThanOrEqual(12);
    const dir = mkdtempSync(join(tmpdir(), 'birealsim-html-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReportHtml(report));
    const url = pathToFileURL(file).href;
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const page = await browser.newPage();
      const requests: string[] = [], errors: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      await page.goto(url, { waitUntil: 'load' });
      await page.waitForFunction(() => document.body.dataset.charts !== undefined, null, { timeout: 20000 });
      expect(errors).toEqual([]);
      expect(await page.evaluate(() => document.body.dataset.errors)).toBe('[]');
      expect(await page.evaluate(() => document.body.dataset.charts)).toBe(`${expected.length}/${expected.length}`);
      expect(requests).toEqual([url]);
      const stats = await page.evaluate(() => Array.from(document.querySelectorAll('canvas')).map((c) => {
        const ctx = (c as HTMLCanvasElement).getContext('2d')!;
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        let painted = 0;
        const colours = new Set<number>();
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) { painted++; if (colours.size < 64) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); }
        return { id: c.id, painted, pixels: d.length / 4, colours: colours.size };
      }));
      expect(stats.map((s) => s.id)).toEqual(expected.map((id) => `chart-${id}`));
      for (const s of stats) {
        expect(s.painted, `${s.id} has drawn pixels`).toBeGreaterThan(s.pixels * 0.002);
        expect(s.colours, `${s.id} draws more than one colour (axes + data)`).toBeGreaterThan(2);
      }
      // the roofline's compute roof (the flat line at the PE array's peak) and its ridge point lie inside the
      // plotted area, read from the chart.js scales the page built (not from our config)
      const sims = report.simulations!;
      expect(sims.length).toBe(2);
      for (const [i, s] of sims.entries()) {
        const g = await page.evaluate(({ id, peak, ridge }) => {
          const chart = (window as unknown as { Chart: { getChart(c: Element): any } }).Chart.getChart(document.getElementById(id)!);
          const { x, y } = chart.scales, a = chart.chartArea;
          return { top: a.top, bottom: a.bottom, left: a.left, right: a.right, yMin: y.min, yMax: y.max, xMin: x.min, xMax: x.max, yType: y.type,
            peakPx: y.getPixelForValue(peak), ridgePx: x.getPixelForValue(ridge) };
        }, { id: `chart-sim-roofline-${i}`, peak: s.peakMacsPerCycle, ridge: s.peakMacsPerCycle / s.dramBytesPerCycle });
        expect(g.yType).toBe('logarithmic');
        expect(g.yMax, `roofline ${i}: y axis reaches above the peak`).toBeGreaterThan(s.peakMacsPerCycle);
        expect(g.yMin).toBeLessThan(s.peakMacsPerCycle);
        expect(g.peakPx, `roofline ${i}: compute roof below the top of the plot`).toBeGreaterThan(g.top + 2);
        expect(g.peakPx, `roofline ${i}: compute roof above the bottom of the plot`).toBeLessThan(g.bottom - 2);
        expect(g.ridgePx, `roofline ${i}: ridge point right of the left edge`).toBeGreaterThan(g.left + 2);
        expect(g.ridgePx, `roofline ${i}: ridge point left of the right edge`).toBeLessThan(g.right - 2);
      }
      // the page opens with its headline, and the only console output is error-free
      expect(await page.evaluate(() => document.querySelector('h1 + section')?.id)).toBe('headline');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the real-stream formats chart (accuracy vs energy per format) draws in the browser without errors', async () => {
    const report = buildReport([doc('formats-tiny.json', readFileSync(`${FIX}/formats-tiny.json`, 'utf8'))], { title: 'formats', toolVersion: '0.1.0' });
    expect(buildCharts(report).charts.map((c) => c.id)).toEqual(['formats-accuracy-energy-0']);
    const dir = mkdtempSync(join(tmpdir(), 'birealsim-html-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReportHtml(report));
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      await page.waitForFunction(() => document.body.dataset.charts !== undefined, null, { timeout: 20000 });
      expect(errors).toEqual([]);
      expect(await page.evaluate(() => document.body.dataset.errors)).toBe('[]');
      expect(await page.evaluate(() => document.body.dataset.charts)).toBe('1/1');
      const colours = await page.evaluate(() => {
        const c = document.querySelector('canvas') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const s = new Set<number>();
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && s.size < 64) s.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return s.size;
      });
      expect(colours).toBeGreaterThan(6); // axes + one colour per format
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a report without simulation or sweep draws only what is present and says once which inputs would add the rest', async () => {
    const report = buildReport([doc('micro-cost.json', readFileSync(`${FIX}/micro-cost.json`, 'utf8'))], { title: 'cost only', toolVersion: '0.1.0' });
    const html = renderReportHtml(report);
    expect((html.match(/<canvas /g) ?? []).length).toBe(3);
    expect(html).not.toContain('Chart omitted');
    const more = html.match(/<p class="more">[^<]*<\/p>/g) ?? [];
    expect(more).toHaveLength(1);
    expect(more[0]).toMatch(/simulate --json` input would add per-layer cycles by cause, utilisation per layer, roofline, energy by component/);
    expect(more[0]).toMatch(/sweep` \.jsonl would add latency vs energy and latency vs area Pareto fronts/);
  });
});
