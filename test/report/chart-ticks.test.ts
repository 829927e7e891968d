/**
 * The shared tick plugin (report/chart-ticks.ts), exercised on fake chart.js scales: log axes get 1-2-5 ticks
 * (decades only over wide ranges), never two ticks closer than a factor 2 (no colliding labels), the axis is
 * widened to nice values around the data, and labels are integers without decimals or compact k/M/G.
 */
import { describe, expect, it } from 'vitest';
import { prepareTicks } from '../../src/report/chart-ticks.ts';

function setup(scales: Record<string, unknown>) {
  const cfg = prepareTicks({ options: { scales } } as { options: { scales: Record<string, any> }; plugins?: any[] });
  return { cfg, plugin: cfg.plugins![0] };
}

describe('chart ticks', () => {
  it('log axis over 3 decades: 1-2-5 ticks inside the range, factor >= 2 apart', () => {
    const { plugin } = setup({ y: { type: 'logarithmic', birealsimTicks: true } });
    const scale: any = { type: 'logarithmic', min: 3, max: 3000, options: { birealsimTicks: true } };
    plugin.afterBuildTicks({}, { scale });
    const v = scale.ticks.map((t: { value: number }) => t.value);
    expect(v).toEqual([5, 10, 20, 50, 100, 200, 500, 1000, 2000]);
    for (let i = 1; i < v.length; i++) expect(v[i] / v[i - 1]).toBeGreaterThanOrEqual(2);
  });
  it('wide log axis: decades only', () => {
    const { plugin } = setup({});
    const scale: any = { type: 'logarithmic', min: 0.05, max: 5000, options: { birealsimTicks: true } };
    plugin.afterBuildTicks({}, { scale });
    expect(scale.ticks.map((t: { value: number }) => t.value)).toEqual([0.1, 1, 10, 100, 1000]);
  });
  it('data limits widened to nice values unless fixed by the config', () => {
    const { plugin } = setup({});
    const s: any = { type: 'logarithmic', min: 33.5, max: 697.5, options: { birealsimTicks: true } };
    plugin.afterDataLimits({}, { scale: s });
    expect([s.min, s.max]).toEqual([30, 800]); // 1.3 decades: the finer 1-1.5-2-3-4-5-6-8 steps
    const wide: any = { type: 'logarithmic', min: 3.3, max: 697.5, options: { birealsimTicks: true } };
    plugin.afterDataLimits({}, { scale: wide });
    expect([wide.min, wide.max]).toEqual([2, 1000]); // 2.3 decades: 1-2-5
    const fixed: any = { type: 'logarithmic', min: 33.5, max: 697.5, options: { birealsimTicks: true, max: 700 } };
    plugin.afterDataLimits({}, { scale: fixed });
    expect(fixed.max).toBe(697.5);
  });
  it('labels: integers without decimals, compact large values; category axes untouched', () => {
    const { cfg } = setup({ y: { birealsimTicks: true }, x: { title: { text: 'layer' } } });
    const f = cfg.options.scales.y.ticks.callback;
    expect([f(1000), f(7000), f(10000), f(2.5e6), f(3e9), f(0.25), f(1 / 3)]).toEqual(['1,000', '7,000', '10k', '2.5M', '3G', '0.25', '0.333']);
    expect(cfg.options.scales.x.ticks).toBeUndefined();
  });
});
