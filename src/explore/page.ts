/**
 * The explorer page: one self-contained HTML file (the simulator bundle from bundle.ts, chart.js's UMD build
 * and the architecture presets inlined; a Content-Security-Policy with default-src 'none' forbids any
 * request, as in the HTML reports), rendered deterministically from its inputs. The browser entry
 * (app.ts) reads the presets from the `explore-data` JSON script and builds the controls.
 *
 * Test hooks: the page sets `document.body.dataset.ready = "1"` after its first simulation, records script
 * errors in `data-errors` and the last update's time in `data-update-ms` (simulation plus redraw).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface ExplorePreset { name: string; description: string; spec: Record<string, unknown> }
export interface ExploreData { version: string; presets: ExplorePreset[]; workloads: string[]; defaults: { preset: string; workload: string } }

/** chart.js's UMD build (the package's "exports" hide dist/: located from its main entry, dist/chart.cjs). */
function chartJsUmd(): string {
  return readFileSync(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
const scriptSafe = (src: string) => src.replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--');

const CSS = `*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#f6f7f9}
header{display:flex;align-items:center;gap:18px;flex-wrap:wrap;padding:12px 20px;background:#1f2a44;color:#fff}
header h1{font-size:18px;margin:0 12px 0 0;font-weight:600}header h1 small{font-weight:400;opacity:.7;font-size:12px;margin-left:6px}
header label{font-size:13px;opacity:.95}header select{margin-left:6px;font-size:13px;padding:3px 4px;border-radius:4px;border:0}
#status{margin-left:auto;font-size:12px;opacity:.85;font-variant-numeric:tabular-nums}
main{display:grid;grid-template-columns:300px minmax(0,1fr);gap:16px;padding:16px 20px;align-items:start}
main>section,.row2>div{min-width:0}
aside{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:10px 14px;position:sticky;top:12px}
aside h2{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:#57606a;margin:14px 0 6px}aside h2:first-child{margin-top:4px}
.ctl{display:grid;grid-template-columns:1fr auto;align-items:center;margin:5px 0;gap:2px 8px}
.ctl label{font-size:13px}.ctl output{font-size:13px;font-weight:600;font-variant-numeric:tabular-nums;text-align:right}
.ctl input[type=range]{grid-column:1/3;width:100%;margin:0}.ctl select{font-size:13px;min-width:90px}.ctl.sel output{display:none}
.ctl.off{opacity:.4}
.actions{display:flex;flex-direction:column;gap:6px;margin-top:14px}
button{font:inherit;font-size:13px;padding:6px 10px;border-radius:6px;border:1px solid #1f6feb;background:#1f6feb;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#1f6feb}
code.cmd{display:block;font-size:11.5px;background:#f0f2f5;padding:6px;border-radius:4px;word-break:break-all}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(112px,1fr));gap:10px}
.card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:8px 10px}
.card .k{font-size:12px;color:#57606a;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}.card .v{font-size:18px;white-space:nowrap;font-weight:600;font-variant-numeric:tabular-nums}.card .u{font-size:11px;color:#57606a;margin-left:3px;font-weight:400}
.card.main{border-color:#1f6feb;background:#f3f8ff}
.panel{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:10px 14px;margin-top:14px}
.panel h2{font-size:14px;margin:0 0 6px}.panel p.note{font-size:12px;color:#57606a;margin:4px 0}
.row2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:14px}
.chart{position:relative;height:300px}.chart.tall{height:340px}
#problems{display:none;background:#fff4e5;border:1px solid #d4a72c;border-radius:8px;padding:8px 12px;margin-bottom:12px;font-size:13px}
#problems.on{display:block}
.drop{border:2px dashed #b6bec8;border-radius:8px;padding:8px;text-align:center;font-size:12px;color:#57606a}
body.dragging .drop{border-color:#1f6feb;background:#f3f8ff}
details pre{font-size:11.5px;background:#f0f2f5;padding:8px;border-radius:4px;max-height:320px;overflow:auto}
@media (max-width:900px){main{grid-template-columns:1fr}.row2{grid-template-columns:1fr}aside{position:static}}`;

const BODY = `<header>
<h1>birealsim explore<small id="version"></small></h1>
<label>network <select id="workload"></select></label>
<label>start from preset <select id="preset"></select></label>
<span id="status" aria-live="polite"></span>
</header>
<main>
<aside id="controls"></aside>
<section>
<div id="problems"></div>
<div class="cards" id="cards"></div>
<div class="panel"><h2>Cycles per layer, by cause</h2><div class="chart tall"><canvas id="chart-cycles" role="img" aria-label="cycles per layer by cause"></canvas></div>
<p class="note">compute: the executing unit's cycles; post-op: post-processing unit; SRAM stall: buffer port bandwidth; DRAM stall: waiting for DMA; fill/drain: first loads and last stores nothing overlaps.</p></div>
<div class="row2">
<div class="panel"><h2>Energy by component</h2><div class="chart"><canvas id="chart-energy" role="img" aria-label="energy per frame by component"></canvas></div><p class="note" id="energy-note"></p></div>
<div class="panel"><h2>DRAM traffic per layer</h2><div class="chart"><canvas id="chart-dram" role="img" aria-label="DRAM traffic per layer by tensor kind"></canvas></div><p class="note" id="dram-note"></p></div>
</div>
<div class="panel"><h2>Sweep: latency vs energy</h2>
<div class="drop" id="drop">Drop a sweep <b>.jsonl</b> (from <code>birealsim sweep</code>) or a workload <b>.json</b> anywhere on the page, or <input type="file" id="file" accept=".jsonl,.json"></div>
<div class="chart" id="sweep-box" style="display:none"><canvas id="chart-sweep" role="img" aria-label="sweep points: latency vs energy with the Pareto front"></canvas></div>
<p class="note" id="sweep-note">Click a point to load that design into the controls.</p></div>
<div class="panel"><h2>Design as arch JSON</h2><details><summary>show</summary><pre id="arch-json"></pre></details></div>
</section>
</main>`;

/** The page's HTML: a pure function of its inputs. */
export function renderExplorePage(data: ExploreData, bundle: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>birealsim explore</title>
<style>${CSS}</style>
</head><body>
${BODY}
<script id="explore-data" type="application/json">${scriptJson(data)}</script>
<script>${scriptSafe(chartJsUmd())}</script>
<script>${scriptSafe(bundle)}</script>
</body></html>
`;
}

