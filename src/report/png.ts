/**
 * PNG export of report charts: the same chart.js configurations as the HTML page, drawn in Node on an
 * @napi-rs/canvas canvas (stack.md: pass the canvas itself to `new Chart`, responsive:false, animation:false).
 *
 * Invariants: a white background is painted first (PNG is opaque, readable on dark README themes too);
 * devicePixelRatio 1 and no animation, so the same config gives the same pixels on one machine; the
 * Chart instance is destroyed after each export.
 */
import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration } from 'chart.js';
import type { ChartSpec } from './charts.ts';
import { prepareTicks } from './chart-ticks.ts';

let registered = false;
const whiteBackground = {
  id: 'birealsimWhiteBackground',
  beforeDraw(chart: Chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

export function renderChartPng(spec: ChartSpec): Buffer {
  if (!registered) { Chart.register(...registerables); registered = true; }
  const canvas = createCanvas(spec.width, spec.height);
  const config = structuredClone(spec.config) as unknown as ChartConfiguration;
  prepareTicks(config);
  config.plugins = [...(config.plugins ?? []), whiteBackground];
  const chart = new Chart(canvas as unknown as HTMLCanvasElement, config);
  try {
    chart.draw();
    return canvas.toBuffer('image/png');
  } finally {
    chart.destroy();
  }
}
