/**
 * `birealsim report <inputs..> [--out reports/<name>]`: one Report from the JSON other commands wrote
 * (cost --json, simulate --json, verify --json, formats --json, sweep .jsonl, train's metrics.jsonl) or built-in names (`paper-table` runs the
 * cost model itself), rendered as terminal text, or with --out as a directory holding report.{txt,json,md,
 * csv,html} (+ PNG charts with --png). The directory is written as a whole, atomically (temp dir + swap):
 * a kill leaves the old report or the new one, never a mix; --out naming an existing file is refused (E_OUT).
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import { UserError, didYouMean, byName } from '../core/diagnostics.ts';
import { checkDirTarget, writeDirAtomic } from '../core/atomic.ts';
import { CONVENTIONS, describeConvention } from '../cost/conventions.ts';
import { PAPER_TABLE } from '../cost/paper.ts';
import { buildReport, type InputDoc } from '../report/build.ts';
import { buildCharts } from '../report/charts.ts';
import { renderReportCsv, renderReportJson, renderReportMarkdown, renderReportText, reportCsvFiles } from '../report/render.ts';
import { renderReportHtml } from '../report/html.ts';
import { costOf, PAPER_WORKLOADS } from './cost.ts';
import { emit, toJson, TOOL_VERSION } from './io.ts';

/** Built-in inputs: name -> generated JSON text (what the corresponding command would write with --json). */
export const BUILTIN_INPUTS: Readonly<Record<string, { describe: string; text: () => string }>> = byName({
  'paper-table': {
    describe: "the paper's Table 5 networks under convention 'paper' (birealsim cost --json)",
    text: () => {
      const c = CONVENTIONS.paper;
      const costs = PAPER_WORKLOADS.map((t) => costOf(t, c));
      return toJson({ tool: 'birealsim', version: TOOL_VERSION, kind: 'cost', convention: c, conventionText: describeConvention(c), paper: PAPER_TABLE, networks: costs.map((k) => ({ name: k.name, totals: k.totals })) });
    },
  },
});

export function readInput(arg: string): InputDoc {
  const b = BUILTIN_INPUTS[arg];
  if (b) {
    const text = b.text();
    return { name: arg, text, sha256: createHash('sha256').update(text).digest('hex') };
  }
  let buf: Buffer;
  try { buf = readFileSync(arg); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const m = didYouMean(arg, Object.keys(BUILTIN_INPUTS));
    throw new UserError('E_IO', `cannot read report input: ${code ?? (e as Error).message}`, { file: arg, hint: `${m ? `did you mean '${m}'? ` : ''}inputs are JSON files from cost/simulate/verify/formats --json, sweep .jsonl files, a training run's metrics.jsonl, or built-ins: ${Object.keys(BUILTIN_INPUTS).join(', ')}` });
  }
  return { name: arg, text: buf.toString('utf8'), sha256: createHash('sha256').update(buf).digest('hex') };
}

interface ReportArgs { inputs: string[]; out?: string; title?: string; seed?: number; png?: boolean | string; json?: boolean; csv?: boolean; markdown?: boolean; html?: boolean }

/** The files a report directory owns: replaced (or removed) as a set; anything else in the directory is kept. */
export const REPORT_FILES = ['report.json', 'report.txt', 'report.md', 'report.csv', 'report.html', 'img', 'csv'] as const;

export interface WrittenReport { dir: string; files: string[]; charts: number; omitted: number; missingInputs: number }

/**
 * Writes the report directory atomically (core/atomic.ts writeDirAtomic): every file is built in a temp
 * directory beside `dir` and swapped into place, so a kill leaves the old complete report or the new one.
 * PNG charts go into the same temp dir when `pngDir` is inside `dir` (the default <dir>/img), otherwise into
 * their own atomically replaced directory. Other files already in `dir` are kept. Returns the final paths.
 */
export async function writeReportDir(dir: string, docs: InputDoc[], opts: { title: string; seed?: number; pngDir?: string }): Promise<WrittenReport> {
  checkDirTarget(dir);
  const report = buildReport(docs, { title: opts.title, toolVersion: TOOL_VERSION, seed: opts.seed });
  const { charts, omitted, missing } = buildCharts(report);
  const files: string[] = [];
  const images: { id: string; title: string; path: string }[] = [];
  const pngInside = opts.pngDir !== undefined && !relative(dir, opts.pngDir).startsWith('..') && !isAbsolute(relative(dir, opts.pngDir));
  const writePngs = async (root: string, finalRoot: string) => {
    const { renderChartPng } = await import('../report/png.ts');
    mkdirSync(root, { recursive: true });
    for (const c of charts) {
      writeFileSync(join(root, `${c.id}.png`), renderChartPng(c));
      const p = join(finalRoot, `${c.id}.png`);
      files.push(p);
      images.push({ id: c.id, title: c.title, path: relative(dir, p) });
    }
  };
  if (opts.pngDir !== undefined && !pngInside) {
    checkDirTarget(opts.pngDir, '--png');
    await writeDirAtomic(opts.pngDir, (tmp) => writePngs(tmp, opts.pngDir!));
  }
  await writeDirAtomic(dir, async (tmp) => {
    if (opts.pngDir !== undefined && pngInside) await writePngs(join(tmp, relative(dir, opts.pngDir)), opts.pngDir);
    const put = (name: string, text: string) => { writeFileSync(join(tmp, name), text); files.push(join(dir, name)); };
    put('report.json', renderReportJson(report));
    put('report.txt', renderReportText(report));
    put('report.md', renderReportMarkdown(report, images));
    put('report.csv', renderReportCsv(report));
    mkdirSync(join(tmp, 'csv'));
    for (const f of reportCsvFiles(report)) put(join('csv', f.name), f.text);
    put('report.html', renderReportHtml(report));
  }, { owned: REPORT_FILES });
  return { dir, files, charts: charts.length, omitted: omitted.length, missingInputs: missing.length };
}

export const reportCommand = {
  command: 'report <inputs..>',
  describe: 'one report (text, JSON, CSV, Markdown, self-contained HTML with charts) from cost/simulate/verify/formats JSON, sweep files or built-ins',
  builder: (y: Argv) => y
    .positional('inputs', { type: 'string', array: true, describe: `JSON/JSONL files written by other commands (train: <out>/metrics.jsonl), or built-ins: ${Object.keys(BUILTIN_INPUTS).join(', ')}` })
    .option('out', { type: 'string', describe: 'write a report directory (report.txt/json/md/csv/html) here, e.g. reports/<name>; replaced as a whole, atomically (other files in it are kept); an existing FILE here is refused' })
    .option('title', { type: 'string', describe: 'report title (default: from the inputs)' })
    .option('seed', { type: 'number', describe: 'record this seed (inputs that carry a seed record theirs)' })
    .option('png', { describe: 'with --out: also export each chart as PNG (into <out>/img, or the given directory)' })
    .option('json', { type: 'boolean', describe: 'print the report JSON on stdout', conflicts: ['csv', 'markdown', 'html'] })
    .option('csv', { type: 'boolean', describe: 'print all tables as CSV on stdout', conflicts: ['json', 'markdown', 'html'] })
    .option('markdown', { type: 'boolean', describe: 'print Markdown on stdout', conflicts: ['json', 'csv', 'html'] })
    .option('html', { type: 'boolean', describe: 'print the HTML page on stdout', conflicts: ['json', 'csv', 'markdown'] }),
  handler: async (argv: ArgumentsCamelCase<ReportArgs>) => {
    const docs = argv.inputs.map(readInput);
    const title = argv.title ?? `birealsim report: ${argv.inputs.join(', ')}`;
    if (argv.out) {
      const pngDir = argv.png === undefined || argv.png === false ? undefined : typeof argv.png === 'string' && argv.png !== '' ? argv.png : join(argv.out, 'img');
      const w = await writeReportDir(argv.out, docs, { title, seed: argv.seed, pngDir });
      process.stderr.write(`wrote ${w.files.length} files to ${w.dir} (${w.charts} charts drawn${w.omitted ? `, ${w.omitted} not drawn for lack of plottable data` : ''})\n`);
      return;
    }
    if (argv.png !== undefined) throw new UserError('E_ARG', '--png needs --out', { path: '--png', hint: 'e.g. --out reports/paper --png' });
    const report = buildReport(docs, { title, toolVersion: TOOL_VERSION, seed: argv.seed });
    if (argv.json) emit(renderReportJson(report));
    else if (argv.csv) emit(renderReportCsv(report));
    else if (argv.markdown) emit(renderReportMarkdown(report));
    else if (argv.html) emit(renderReportHtml(report));
    else emit(renderReportText(report));
  },
};
