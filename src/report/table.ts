/**
 * Plain tables rendered at the edge: terminal text (aligned), CSV (RFC 4180 quoting) and Markdown.
 * A table is data (headers with units, rows of cells); formatting numbers is the caller's job. A cell is a
 * string, a number, or a `Num` ({ text, value }: people see the text, e.g. "10,985,472" or "11.16x"; CSV gets
 * the raw value, e.g. 10985472 or 11.16, so machines read numbers without thousands separators or units).
 */
export interface Num { text: string; value: number }
export type Cell = string | number | Num;
/** `id` names a table for the report's headline (story.ts reads its numbers from these cells); never rendered. */
export interface Table { id?: string; title?: string; headers: string[]; rows: Cell[][]; notes?: string[] }

/** A number shown as `text` to people and as its raw value in CSV. */
export const num = (value: number, text: string): Num => ({ text, value });
/** An integer with thousands separators for people, raw in CSV. */
export const numInt = (value: number): Num => ({ text: fmtInt(value), value });

export const cell = (v: Cell) => (typeof v === 'number' ? String(v) : typeof v === 'string' ? v : v.text);
// in CSV a '-' placeholder (no value) is an empty field
const raw = (v: Cell) => (typeof v === 'object' && v !== null ? String(v.value) : v === '-' || v === 'n/a' ? '' : cell(v));

export function renderText(t: Table): string {
  const cols = t.headers.length;
  const w = new Array(cols).fill(0).map((_, i) => Math.max(t.headers[i].length, ...t.rows.map((r) => cell(r[i] ?? '').length)));
  const line = (r: Cell[]) => r.map((v, i) => {
    const s = cell(v ?? '');
    return typeof v === 'number' || typeof v === 'object' || /^[-+]?[\d.,]+(e[-+]?\d+)?[x%]?$/.test(s) ? s.padStart(w[i]) : s.padEnd(w[i]);
  }).join('  ').trimEnd();
  const out: string[] = [];
  if (t.title) out.push(t.title);
  out.push(line(t.headers), w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of t.rows) out.push(line(r));
  for (const n of t.notes ?? []) out.push(n);
  return out.join('\n');
}

/** CSV: one table, RFC 4180 quoting, raw numbers for Num cells. */
export function renderCsv(t: Table): string {
  const q = (v: Cell) => { const s = raw(v ?? ''); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return [t.headers.map(q).join(','), ...t.rows.map((r) => r.map(q).join(','))].join('\n') + '\n';
}

export function renderMarkdown(t: Table): string {
  const esc = (v: Cell) => cell(v ?? '').replace(/\|/g, '\\|');
  const out: string[] = [];
  if (t.title) out.push(`**${t.title}**`, '');
  out.push(`| ${t.headers.map(esc).join(' | ')} |`, `|${t.headers.map(() => '---').join('|')}|`);
  for (const r of t.rows) out.push(`| ${r.map(esc).join(' | ')} |`);
  if (t.notes?.length) out.push('', ...t.notes.map((n) => `${n}  `));
  return out.join('\n') + '\n';
}

/** Formats an integer with thousands separators. */
export function fmtInt(n: number): string { return Math.round(n).toLocaleString('en-US'); }
/** Scientific notation with d significant digits after the point, e.g. 1.64e8. */
export function fmtSci(n: number, d = 2): string { const [m, e] = n.toExponential(d).split('e'); return `${m}e${Number(e)}`; }
/** Truncated (not rounded) scientific notation, as the paper prints 1.63e8 for 163,985,408. */
export function fmtSciTrunc(n: number, d = 2): string {
  const e = Math.floor(Math.log10(Math.abs(n)));
  const m = Math.trunc((n / 10 ** e) * 10 ** d) / 10 ** d;
  return `${m.toFixed(d)}e${e}`;
}
export function fmtFixed(n: number, d = 2): string { return n.toFixed(d); }
