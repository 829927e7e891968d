/**
 * CSV is for machines (issue "Reports that tell their story", item 3): one table per file, raw numbers
 * (no thousands separators, ratios as numbers, empty fields where there is no value), and the same numbers
 * the JSON form carries.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

/** RFC 4180 fields of one line. */
const fields = (line: string) => [...line.matchAll(/(?:^|,)("(?:[^"]|"")*"|[^,]*)/g)].map((m) => (m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1]));
async function csv(args: string[]): Promise<{ head: string[]; rows: string[][] }> {
  const r = await runCli(args);
  expect(r.code, r.err).toBe(0);
  const lines = r.out.trimEnd().split('\n');
  const head = fields(lines[0]);
  const rows = lines.slice(1).map(fields);
  for (const row of rows) expect(row.length, 'one table: every row has the header\'s width').toBe(head.length);
  return { head, rows };
}
const col = (t: { head: string[]; rows: string[][] }, name: string) => t.rows.map((r) => r[t.head.indexOf(name)]);
const isNum = (s: string) => s === '' || (/^-?\d+(\.\d+)?(e[-+]?\d+)?$/.test(s) && Number.isFinite(Number(s)));

describe('CSV output', () => {
  it('cost --csv: one table, raw numbers equal to the JSON form', async () => {
    const t = await csv(['cost', '--csv']);
    for (const c of ['binary weights [bit]', 'real params [#]', 'memory [Mbit]', 'saving', 'BOPs [1-bit MAC]', 'real MACs', 'OPs', 'speed-up']) for (const v of col(t, c)) expect(isNum(v), `${c}: ${v}`).toBe(true);
    const j = JSON.parse((await runCli(['cost', '--json'])).out);
    const bireal = t.rows.find((r) => r[0] === 'bireal18-imagenet')!;
    const jb = j.networks.find((n: { name: string }) => n.name === 'bireal18-imagenet').totals;
    expect(Number(bireal[t.head.indexOf('OPs')])).toBe(jb.ops);
    expect(Number(bireal[t.head.indexOf('saving')])).toBe(jb.memorySaving);
    expect(bireal[t.head.indexOf('paper speed-up')]).toBe('11.06'); // the paper's printed value, a number
  });

  it('cost --layers --csv: every network\'s layers in one flat table with a network column', async () => {
    const t = await csv(['cost', 'bireal-mnist', 'bireal18-imagenet', '--layers', '--csv']);
    expect(t.head[0]).toBe('network');
    expect(new Set(col(t, 'network'))).toEqual(new Set(['bireal-mnist', 'bireal18-imagenet']));
    for (const v of col(t, 'BOPs')) expect(isNum(v)).toBe(true);
    const summary = await csv(['cost', 'bireal-mnist', '--layers', '--csv', '--table', 'summary']);
    expect(summary.head[0]).toBe('network');
    expect(summary.rows).toHaveLength(1);
  });

  it('simulate --csv --table layers|totals|energy: one table each, raw numbers', async () => {
    const layers = await csv(['simulate', 'bireal-mnist', '--arch', 'edge', '--csv']);
    for (const c of ['total [cyc]', 'DRAM [B]', 'energy [uJ]', 'util [%]']) for (const v of col(layers, c)) expect(isNum(v), `${c}: ${v}`).toBe(true);
    const totals = await csv(['simulate', 'bireal-mnist', '--arch', 'edge', '--csv', '--table', 'totals']);
    expect(totals.head).toEqual(['metric', 'value', 'unit']);
    for (const v of col(totals, 'value')) expect(isNum(v), v).toBe(true);
    const j = JSON.parse((await runCli(['simulate', 'bireal-mnist', '--arch', 'edge', '--json'])).out);
    expect(Number(totals.rows.find((r) => r[0] === 'end-to-end cycles')![1])).toBe(j.totals.cycles);
    const energy = await csv(['simulate', 'bireal-mnist', '--arch', 'edge', '--csv', '--table', 'energy']);
    expect(energy.head).toEqual(['action', 'energy', 'unit', 'source']);
  });

  it('the text form is unchanged for people: thousands separators and x ratios', async () => {
    const r = await runCli(['cost']);
    expect(r.out).toMatch(/10,985,472/);
    expect(r.out).toMatch(/11\.16x/);
  });
});

describe('report directory CSV', () => {
  it('one table per file in csv/, and a flat file of every sweep point with every axis and metric', async () => {
    const { mkdtempSync, readdirSync, readFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'birealsim-csvdir-'));
    try {
      const out = join(dir, 'rep');
      const r = await runCli(['report', 'test/fixtures/report/micro-sweep.jsonl', '--out', out]);
      expect(r.code, r.err).toBe(0);
      const files = readdirSync(join(out, 'csv')).sort();
      expect(files).toContain('sweep-1-points.csv');
      for (const f of files) {
        const lines = readFileSync(join(out, 'csv', f), 'utf8').trimEnd().split('\n');
        expect(lines[0].startsWith('#'), `${f}: no title lines inside a machine CSV`).toBe(false);
        const width = fields(lines[0]).length;
        for (const l of lines.slice(1)) expect(fields(l).length, `${f}: one table`).toBe(width);
      }
      // the flat points file: one row per feasible evaluated point of the JSONL (counted here from the file itself)
      const jsonl = readFileSync('test/fixtures/report/micro-sweep.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const feasible = jsonl.filter((p) => p.metrics && !p.infeasible);
      const pts = readFileSync(join(out, 'csv', 'sweep-1-points.csv'), 'utf8').trimEnd().split('\n');
      expect(pts.length - 1).toBe(feasible.length);
      const head = fields(pts[0]);
      for (const axis of Object.keys(feasible[0].params)) expect(head).toContain(axis);
      for (const l of pts.slice(1)) { const c = fields(l); expect(isNum(c[head.indexOf('latency [s]')])).toBe(true); expect(['0', '1']).toContain(c[head.indexOf('pareto')]); }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
