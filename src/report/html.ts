/**
 * Report -> one self-contained HTML page: tables, chart.js v4 (its UMD build inlined), the chart
 * configurations from charts.ts, omitted-chart notes and the resolved configs. Opens from file:// offline.
 *
 * Invariants:
 *  - no external resource: a Content-Security-Policy meta (default-src 'none') forbids any fetch, and the
 *    only scripts are inline; the browser test checks zero requests beyond the file itself;
 *  - inline JSON is escaped so no "</script" can end a script element early;
 *  - the page sets `document.body.dataset.charts = "<drawn>/<expected>"` when done and records script
 *    errors in `data-errors`, so a headless browser can wait for and check the result;
 *  - deterministic: the page is a pure function of the Report and the installed chart.js file.
 */
import { TICKS_PLUGIN_JS } from './chart-ticks.ts';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Report } from './schema.ts';
import { buildCharts } from './charts.ts';
import { reportTables } from './render.ts';
import type { Table } from './table.ts';

const require = createRequire(import.meta.url);
let chartJsSource: string | undefined;
/** The chart.js UMD build, read once from node_modules. */
export function chartJsUmd(): string {
  // the package's "exports" hide dist/; locate it from the main entry (dist/chart.cjs)
  chartJsSource ??= readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  return chartJsSource;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** JSON safe inside <script>: escape '<' (and the JS line separators). */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
const scriptSafe = (src: string) => src.replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--');

function tableHtml(t: Table): string {
  const num = (s: string) => /^[-+]?[\d.,]+(e[-+]?\d+)?%?$/.test(s);
  const rows = t.rows.map((r) => `<tr>${r.map((v) => { const s = String(v); return `<td${num(s) ? ' class="n"' : ''}>${esc(s)}</td>`; }).join('')}</tr>`).join('\n');
  return [
    `<section class="table"><h2>${esc(t.title ?? '')}</h2>`,
    `<div class="scroll"><table><thead><tr>${t.headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>\n${rows}\n</tbody></table></div>`,
    ...(t.notes ?? []).map((n) => `<p class="note">${esc(n)}</p>`),
    '</section>',
  ].join('\n');
}

const CSS = `body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px}th{background:#f3f3f3;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.scroll{overflow-x:auto}.note{color:#555;font-size:12px;margin:2px 0}
figure{margin:16px 0;overflow-x:auto}figcaption{font-size:13px;color:#444}.omitted{color:#8a5a00}
pre{background:#f7f7f7;padding:8px;font-size:12px;overflow-x:auto}`;

const BOOT = `(function(){
  var errors=[];
  window.addEventListener('error',function(e){errors.push(String(e.message));document.body.dataset.errors=JSON.stringify(errors);});
  var specs=JSON.parse(document.getElementById('chart-specs').textContent);
  var drawn=0;
  var ticks=${TICKS_PLUGIN_JS};
  specs.forEach(function(s){
    try{ new Chart(document.getElementById('chart-'+s.id),ticks.prepare(s.config)); drawn++; }
    catch(e){ errors.push(s.id+': '+e.message); }
  });
  document.body.dataset.errors=JSON.stringify(errors);
  document.body.dataset.charts=drawn+'/'+specs.length;
})();`;

export function renderReportHtml(r: Report): string {
  const { charts, omitted } = buildCharts(r);
  const tables = reportTables(r);
  const body = [
    `<h1>${esc(r.title)}</h1>`,
    `<p class="note">birealsim ${esc(r.tool.version)} &middot; report schema ${esc(r.schema)} &middot; seed ${esc(String(r.seed ?? 'none'))} &middot; ${r.inputs.length} input(s) &middot; ${charts.length} chart(s)</p>`,
    '<h2>Charts</h2>',
    ...charts.map((c) => `<figure><canvas id="chart-${esc(c.id)}" width="${c.width}" height="${c.height}" role="img" aria-label="${esc(c.title)}"></canvas><figcaption>${esc(c.title)}</figcaption></figure>`),
    ...omitted.map((o) => `<p class="omitted">Chart omitted: <b>${esc(o.title)}</b>: ${esc(o.reason)}</p>`),
    ...tables.map(tableHtml),
    ...(r.notes.length ? ['<h2>Notes</h2><ul>', ...r.notes.map((n) => `<li>${esc(n)}</li>`), '</ul>'] : []),
    '<h2>Resolved configs</h2>',
    ...r.configs.map((c) => `<details><summary>${esc(c.kind)}: ${esc(c.name)}</summary><pre>${esc(JSON.stringify(c.value, null, 2))}</pre></details>`),
    '<h2>Report JSON</h2>',
    `<details><summary>${esc(r.schema)}</summary><pre>${esc(JSON.stringify(r, null, 2))}</pre></details>`,
  ].join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(r.title)}</title>
<style>${CSS}</style>
</head><body>
${body}
<script id="chart-specs" type="application/json">${scriptJson(charts.map((c) => ({ id: c.id, config: c.config })))}</script>
<script>${scriptSafe(chartJsUmd())}</script>
<script>${BOOT}</script>
</body></html>
`;
}
