/**
 * Readable axis ticks for report charts, one definition for both renderers: a chart.js plugin written as
 * plain ES5 source (TICKS_PLUGIN_JS) that the HTML page inlines and Node's PNG export evaluates, so a chart
 * looks the same in both. Chart configurations stay plain JSON (charts.ts); an axis opts in with
 * `birealsimTicks: true` in its scale options; `prepare(config)` sets the label callbacks and adds the plugin.
 *
 * What it does on opted-in axes:
 *  - logarithmic axes are widened to the nearest tick values around the data and ticked at 1, 2 and 5 times
 *    powers of ten (only powers of ten over more than four decades, 1-1.5-2-3-4-5-6-8 within about one
 *    decade), instead of chart.js's dense minor labels that collide ("10,000.0" over "7,000.0");
 *  - labels: integers without decimals and with thousands separators, other values with at most 3
 *    significant digits, large values as 1.5k / 2M / 3G.
 */

export const TICKS_PLUGIN_JS = `(function () { var TICKS = {
  /** sets the label callback on every opted-in axis of a plain config, before the chart is built */
  prepare: function (config) {
    var scales = (config.options && config.options.scales) || {};
    Object.keys(scales).forEach(function (k) {
      var s = scales[k];
      if (!s || !s.birealsimTicks) return;
      s.ticks = s.ticks || {};
      s.ticks.callback = function (v) {
        var x = Number(v), a = Math.abs(x);
        if (a >= 1e9) return +(x / 1e9).toPrecision(3) + 'G';
        if (a >= 1e6) return +(x / 1e6).toPrecision(3) + 'M';
        if (a >= 1e4) return +(x / 1e3).toPrecision(3) + 'k';
        if (Number.isInteger(x)) return x.toLocaleString('en-US');
        return String(+x.toPrecision(3));
      };
    });
    config.plugins = (config.plugins || []).concat([TICKS.plugin]);
    return config;
  },
  /** tick mantissas for a log range: decades over > 4 decades, 1-2-5 over > 1.5, finer within about one */
  steps: function (min, max) {
    var span = Math.log10(max / min);
    return span > 4 ? [1] : span > 1.5 ? [1, 2, 5] : [1, 1.5, 2, 3, 4, 5, 6, 8];
  },
  plugin: {
    id: 'birealsimTicks',
    afterDataLimits: function (chart, args) {
      // widen a log axis to the nearest 1-2-5 values outside the data (unless the config fixes min/max),
      // so the largest bar does not touch the top and the end ticks are labelled
      var scale = args.scale, o = scale && scale.options;
      if (!o || !o.birealsimTicks || scale.type !== 'logarithmic') return;
      var st = TICKS.steps(scale.min, scale.max);
      var nice = function (x, up) {
        var e = Math.floor(Math.log10(x)), m = x / Math.pow(10, e), c = up ? st.concat([10]) : [10].concat(st.slice().reverse());
        for (var i = 0; i < c.length; i++) if (up ? c[i] >= m * (1 - 1e-9) : c[i] <= m * (1 + 1e-9)) return +(c[i] * Math.pow(10, e)).toPrecision(12);
        return x;
      };
      if (o.max === undefined && scale.max > 0) scale.max = nice(scale.max, true);
      if (o.min === undefined && scale.min > 0) scale.min = nice(scale.min, false);
    },
    afterBuildTicks: function (chart, args) {
      var scale = args.scale;
      if (!scale || !scale.options || !scale.options.birealsimTicks || scale.type !== 'logarithmic') return;
      var min = scale.min, max = scale.max;
      if (!(min > 0) || !(max > min)) return;
      var lo = Math.floor(Math.log10(min)), hi = Math.ceil(Math.log10(max));
      var steps = TICKS.steps(min, max);
      var ticks = [];
      for (var e = lo; e <= hi; e++) for (var i = 0; i < steps.length; i++) {
        var v = +(steps[i] * Math.pow(10, e)).toPrecision(12);
        if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) ticks.push({ value: v, major: steps[i] === 1 });
      }
      if (ticks.length >= 2) scale.ticks = ticks;
    }
  }
}; return TICKS; })()`;

/** Node (PNG export): applies the tick labels and plugin to a plain chart config (a structured clone). */
export function prepareTicks<T extends object>(config: T): T {
  // eslint-disable-next-line no-new-func
  const t = new Function(`return ${TICKS_PLUGIN_JS};`)() as { prepare: (c: T) => T };
  return t.prepare(config);
}
