/**
 * Report -> one self-contained HTML page that tells its story in order: the headline (story.ts: what was
 * run, the numbers that matter, the verdict), the charts its inputs support (chart.js v4, UMD build inlined,
 * configurations from charts.ts), the tables, one line on which other inputs would add which charts, then
 * provenance, definitions, resolved configs and the report JSON folded in <details>. Opens from file:// offline.
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
import { buildCharts, moreChartsNotes } from './charts.ts';
import { reportDefinitions, reportTables } from './render.ts';
import { buildHeadline } from './story.ts';
import { cell, type Table } from './table.ts';

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
  // a Num cell shows its text (table.ts cell), as in the text and Markdown forms
  const rows = t.rows.map((r) => `<tr>${r.map((v) => { const s = cell(v); return `<td${num(s) ? ' class="n"' : ''}>${esc(s)}</td>`; }).join('')}</tr>`).join('\n');
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
figure{margin:16px 0;overflow-x:auto}figcaption{font-size:13px;color:#444}
.headline{border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;background:#f8fafc;max-width:1280px}
.headline .what{margin:0 0 10px;font-size:14px;color:#333}
.facts{display:flex;flex-wrap:wrap;gap:10px 28px;margin:0}.facts div{min-width:180px;max-width:420px}
.facts dt{font-size:12px;color:#555}.facts dd{margin:0;font-size:20px}.facts dd span{display:block;font-size:12px;color:#555}
.verdict{margin:12px 0 0;font-size:15px;font-weight:600}.verdict.pass{color:#116329}.verdict.fail{color:#a40e26}
.more{color:#555;font-size:13px;margin-top:1.6em}details.fold{margin-top:10px}details.fold>summary{font-weight:600;cursor:pointer}
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
  const { charts } = buildCharts(r);
  const tables = reportTables(r);
  const h = buildHeadline(r, tables);
  const prov = tables.find((t) => t.id === 'provenance')!;
  const defs = reportDefinitions(r);
  const body = [
    `<h1>${esc(r.title)}</h1>`,
    `<section class="headline" id="headline"><p class="what">${esc(h.what)}</p>`,
    `<dl class="facts">${h.facts.map((f) => `<div><dt>${esc(f.label)}</dt><dd><b>${esc(f.value)}</b>${f.detail ? `<span>${esc(f.detail)}</span>` : ''}</dd></div>`).join('')}</dl>`,
    `<p class="verdict ${h.status}">${esc(h.verdict)}</p></section>`,
    ...charts.map((c) => `<figure><canvas id="chart-${esc(c.id)}" width="${c.width}" height="${c.height}" role="img" aria-label="${esc(c.title)}"></canvas><figcaption>${esc(c.title)}</figcaption></figure>`),
    ...tables.filter((t) => t !== prov).map(tableHtml),
    ...(r.notes.length ? ['<h2>Notes</h2><ul>', ...r.notes.map((n) => `<li>${esc(n)}</li>`), '</ul>'] : []),
    ...moreChartsNotes(r).map((n) => `<p class="more">${esc(n)}</p>`),
    `<details class="fold"><summary>Provenance: birealsim ${esc(r.tool.version)}, report schema ${esc(r.schema)}, seed ${esc(String(r.seed ?? 'none'))}, ${r.inputs.length} input(s)</summary>`,
    tableHtml(prov),
    '</details>',
    ...(defs.length ? ['<details class="fold"><summary>Definitions</summary>', ...defs.map((d) => `<h3>${esc(d.title)}</h3><ul>${d.lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>`), '</details>'] : []),
    `<details class="fold"><summary>Resolved configs (${r.configs.length})</summary>`,
    ...r.configs.map((c) => `<details><summary>${esc(c.kind)}: ${esc(c.name)}</summary><pre>${esc(JSON.stringify(c.value, null, 2))}</pre></details>`),
    '</details>',
    `<details class="fold"><summary>Report JSON (${esc(r.schema)})</summary><pre>${esc(JSON.stringify(r, null, 2))}</pre></details>`,
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
