/**
 * SCALE-Sim topology CSV -> birealsim workload (`birealsim import topology.csv --binary|--real --out net.json`).
 *
 * Facts taken from SCALE-Sim v2 (github.com/scalesim-project/scale-sim-v2, scalesim/topology_utils.py and
 * topologies/): a topology is a CSV whose first line is a header and is skipped; every other non-blank line
 * is one layer, fields separated by commas, each line ending with a trailing comma (SCALE-Sim drops the last
 * field of every split), fields padded with spaces. Two forms:
 *  - conv: `Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,`
 *    (8 fields; SCALE-Sim's own writer adds a 9th, `Stride height, Stride width`). IFMAP sizes are pre-padded:
 *    SCALE-Sim has no padding. Output size (topo_calc_hyperparams): Ho = ceil((H - R + S) / S), i.e.
 *    ceil((H - R) / S) + 1; GEMM dims M = Ho*Wo, N = Num Filter, K = R*S*C.
 *  - GEMM (`-i gemm`): `Layer, M, N, K,`. SCALE-Sim runs it as a conv on an M x K x 1 IFMAP with a 1 x K filter
 *    and N filters (load_arrays_gemm), so M output pixels, N filters, K-long dot products.
 *  - a conv row whose name contains `DP` (depth-wise) is expanded, as SCALE-Sim does, into `Channels` layers of
 *    one channel each, named `<name>Channel_<i>`.
 * Rows are independent in SCALE-Sim: each has its own IFMAP and no data flows between them.
 *
 * Mapping to the IR (docs/workload.md "SCALE-Sim topology import"):
 *  - every row becomes its own independent segment (ir/segments.ts): its first layer gives its own input shape
 *    (`"input": {h, w, c}`), except the first row, which reads the network input (its IFMAP). This is the
 *    least invasive way to say "independent layers" in a workload that cost, simulate, the golden model and
 *    the schema all read: no wrapper format, one network, one simulation whose per-layer rows are the rows.
 *  - `--real`: one `conv` (fp32, pad 0, no bias) per row. `--binary`: a `sign` (the binary conv consumes
 *    packed bits) then a `bconv` (pad 0, padMode 'zero' — which never applies at pad 0 — weightScale
 *    'channel'). Nothing else is implied: a topology says nothing about BN, shortcuts, pooling or the
 *    activation between layers, so Bi-Real Net's real-valued shortcut and BN are not added.
 *  - GEMM rows: a 1x1 conv on an M x 1 x K input with N output channels (the IR's kernels are square, so
 *    SCALE-Sim's 1 x K filter on M x K x 1 becomes its transpose; M, N and K are the same).
 *  - the IR computes Ho = floor((H - R) / S) + 1. Where S does not divide H - R, SCALE-Sim's ceil counts one
 *    more output row (a last window reading past the IFMAP); the import then extends the IFMAP to
 *    H' = (Ho - 1) * S + R so the output size, M, N, K and the MAC count equal SCALE-Sim's, and says so in a note.
 *  - refused with exit 2 (file, line, column, hint): a missing or unknown header, a missing field, a value that
 *    is not a positive integer, a filter larger than its IFMAP, non-square filters or strides (the IR's
 *    kernels are square), an empty file or one without layers.
 * Layer ids are the row names (trimmed), made unique with a `_2`, `_3`, ... suffix; the sign of row `X` is `X.sign`.
 */
import { basename } from 'node:path';
import { UserError } from '../core/diagnostics.ts';
import type { Layer } from '../ops/types.ts';
import { SCHEMA_ID, type Workload } from '../ir/types.ts';
import { SEGMENT_INPUT_PREFIX } from '../ir/segments.ts';

export type TopologyPrecision = 'binary' | 'real';
export type TopologyForm = 'conv' | 'gemm';

/** One topology row as SCALE-Sim reads it (GEMM rows already in conv form). */
export interface TopologyRow {
  /** 1-based line in the file */
  line: number;
  name: string;
  ifmapH: number; ifmapW: number; filterH: number; filterW: number; channels: number; filters: number; strideH: number; strideW: number;
  /** GEMM dims M (output pixels), N (filters), K (reduction) by SCALE-Sim's formulas */
  m: number; n: number; k: number;
  /** output size by SCALE-Sim's formula, ceil((H - R + S) / S) */
  ofmapH: number; ofmapW: number;
}

export interface TopologyImport { workload: Workload; form: TopologyForm; rows: TopologyRow[]; notes: string[] }

const CONV_COLUMNS = ['Layer name', 'IFMAP Height', 'IFMAP Width', 'Filter Height', 'Filter Width', 'Channels', 'Num Filter', 'Strides'];
const CONV_COLUMNS_9 = [...CONV_COLUMNS.slice(0, 7), 'Stride height', 'Stride width'];
const GEMM_COLUMNS = ['Layer', 'M', 'N', 'K'];
const HEADER_HINT = `a SCALE-Sim topology starts with a header line: '${CONV_COLUMNS.join(', ')},' (conv form) or '${GEMM_COLUMNS.join(', ')},' (GEMM form)`;

const norm = (s: string) => s.trim().toLowerCase().replace(/\s+/g, ' ');

/** Splits a line into trimmed fields, dropping the one empty field SCALE-Sim's trailing comma leaves. */
function fields(line: string): string[] {
  const f = line.split(',').map((x) => x.trim());
  if (f.length > 1 && f[f.length - 1] === '') f.pop();
  return f;
}

function fail(file: string, line: number, column: string | undefined, msg: string, hint?: string): never {
  throw new UserError('E_TOPOLOGY', msg, { file, path: column ? `line ${line}, column '${column}'` : `line ${line}`, hint });
}

/** Which form a header names, or a located error. */
function headerForm(file: string, header: string[]): { form: TopologyForm; columns: string[] } {
  const h = header.map(norm);
  const same = (cols: string[]) => h.length === cols.length && cols.every((c, i) => norm(c) === h[i]);
  if (same(CONV_COLUMNS)) return { form: 'conv', columns: CONV_COLUMNS };
  if (same(CONV_COLUMNS_9)) return { form: 'conv', columns: CONV_COLUMNS_9 };
  if (h.length === 4 && (h[0] === 'layer' || h[0] === 'layer name') && h[1] === 'm' && h[2] === 'n' && h[3] === 'k') return { form: 'gemm', columns: GEMM_COLUMNS };
  // the closest form: name the first column that differs or is missing
  const expect = ['m', 'n', 'k'].includes(h[1] ?? '') ? GEMM_COLUMNS : CONV_COLUMNS;
  for (let i = 0; i < expect.length; i++) {
    const want = norm(expect[i]);
    if (h[i] === undefined || h[i] === '') fail(file, 1, expect[i], `header: column '${expect[i]}' is missing`, HEADER_HINT);
    if (h[i] !== want && !(i === 0 && (h[i] === 'layer' || h[i] === 'layer name'))) fail(file, 1, expect[i], `header: column ${i + 1} is '${header[i].trim()}', expected '${expect[i]}'`, HEADER_HINT);
  }
  return fail(file, 1, undefined, `header: ${header.length} columns, expected ${expect.length}: extra column '${header[expect.length].trim()}'`, HEADER_HINT);
}

function posInt(file: string, line: number, column: string, v: string): number {
  if (!/^[0-9]+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) {
    fail(file, line, column, `expected a positive integer, got ${v === '' ? 'an empty field' : `'${v}'`}`, 'SCALE-Sim topology fields after the name are integers >= 1');
  }
  return Number(v);
}

/** SCALE-Sim's output size: ceil((H - R + S) / S). */
export function scalesimOfmap(ifmap: number, filter: number, stride: number): number { return Math.ceil((ifmap - filter + stride) / stride); }

/** Parses a topology file's text into SCALE-Sim's rows (DP rows expanded), with located errors. */
export function parseTopology(text: string, file: string): { form: TopologyForm; rows: TopologyRow[]; notes: string[] } {
  const notes: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.every((l) => l.trim() === '')) fail(file, 1, undefined, 'the file is empty', HEADER_HINT);
  const headerLine = lines.findIndex((l) => l.trim() !== '');
  if (headerLine !== 0) fail(file, 1, undefined, 'line 1 is blank: SCALE-Sim skips line 1 as the header', HEADER_HINT);
  const { form, columns } = headerForm(file, fields(lines[0]));
  const rows: TopologyRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const line = i + 1;
    const f = fields(lines[i]);
    if (f.length < columns.length) fail(file, line, columns[f.length], `column '${columns[f.length]}' is missing (${f.length} of ${columns.length} fields)`, `each row has ${columns.length} comma-separated fields: ${columns.join(', ')}`);
    if (f.length > columns.length) fail(file, line, undefined, `${f.length} fields, expected ${columns.length} (${columns.join(', ')})`, 'remove the extra fields');
    const name = f[0];
    if (name === '') fail(file, line, columns[0], 'empty layer name', 'give every row a name');
    const v = f.slice(1).map((x, j) => posInt(file, line, columns[j + 1], x));
    if (form === 'gemm') {
      const [m, n, k] = v;
      rows.push({ line, name, ifmapH: m, ifmapW: 1, filterH: 1, filterW: 1, channels: k, filters: n, strideH: 1, strideW: 1, m, n, k, ofmapH: m, ofmapW: 1 });
      continue;
    }
    const [ifmapH, ifmapW, filterH, filterW, channels, filters, strideH] = v;
    const strideW = v.length === 8 ? v[7] : strideH;
    if (filterH > ifmapH) fail(file, line, columns[3], `filter height ${filterH} is larger than the IFMAP height ${ifmapH}`, 'SCALE-Sim IFMAP sizes are pre-padded: give the padded IFMAP (H + 2*pad)');
    if (filterW > ifmapW) fail(file, line, columns[4], `filter width ${filterW} is larger than the IFMAP width ${ifmapW}`, 'SCALE-Sim IFMAP sizes are pre-padded: give the padded IFMAP (W + 2*pad)');
    if (filterH !== filterW) fail(file, line, columns[4], `filter ${filterH}x${filterW} is not square`, 'birealsim convolutions have square kernels');
    if (strideH !== strideW) fail(file, line, columns[8] ?? columns[7], `strides ${strideH} and ${strideW} differ`, 'birealsim convolutions have one stride for both directions');
    const expand = name.includes('DP') ? channels : 1;
    if (expand > 1) notes.push(`line ${line}: depth-wise row '${name}' ('DP' in its name) expanded into ${channels} one-channel layers ${name}Channel_0..${channels - 1}, as SCALE-Sim does`);
    for (let c = 0; c < expand; c++) {
      const ofmapH = scalesimOfmap(ifmapH, filterH, strideH), ofmapW = scalesimOfmap(ifmapW, filterW, strideW);
      const ch = expand > 1 ? 1 : channels;
      rows.push({
        line, name: expand > 1 ? `${name}Channel_${c}` : name, ifmapH, ifmapW, filterH, filterW, channels: ch, filters, strideH, strideW,
        m: ofmapH * ofmapW, n: filters, k: filterH * filterW * ch, ofmapH, ofmapW,
      });
    }
  }
  if (rows.length === 0) fail(file, lines.length, undefined, 'no layers: the file has a header and no rows', 'add one line per layer after the header');
  return { form, rows, notes };
}

/** The IFMAP size the IR needs to produce SCALE-Sim's output size: (Ho - 1) * S + R (>= H). */
function irIfmap(ifmap: number, filter: number, stride: number, ofmap: number): number { return Math.max(ifmap, (ofmap - 1) * stride + filter); }

/** A topology file's text as a workload of binary or real layers (see the header). */
export function importTopology(text: string, file: string, opts: { precision: TopologyPrecision; name?: string }): TopologyImport {
  const { form, rows, notes } = parseTopology(text, file);
  const used = new Set<string>(['input']);
  const uniq = (base: string) => {
    let b = base.startsWith(SEGMENT_INPUT_PREFIX) || base === 'input' ? `layer_${base}` : base;
    if (b.endsWith('.sign')) b = `${b}_`;
    let id = b, k = 2;
    while (used.has(id) || used.has(`${id}.sign`)) id = `${b}_${k++}`;
    used.add(id); used.add(`${id}.sign`);
    return id;
  };
  const layers: Layer[] = [];
  let input = { h: 1, w: 1, c: 1 };
  let extended = 0;
  rows.forEach((r, i) => {
    const id = uniq(r.name);
    if (id !== r.name) notes.push(`line ${r.line}: layer '${r.name}' is named '${id}' (ids are unique)`);
    const h = irIfmap(r.ifmapH, r.filterH, r.strideH, r.ofmapH), w = irIfmap(r.ifmapW, r.filterW, r.strideW, r.ofmapW);
    if (h !== r.ifmapH || w !== r.ifmapW) {
      extended++;
      notes.push(`line ${r.line}: '${id}' IFMAP ${r.ifmapH}x${r.ifmapW} extended to ${h}x${w}: SCALE-Sim's ceil((H - R + S)/S) gives ${r.ofmapH}x${r.ofmapW} outputs, a last partial window the IR reads as a full one`);
    }
    const shape = { h, w, c: r.channels };
    if (i === 0) input = shape;
    const own = i === 0 ? {} : { input: shape };
    if (opts.precision === 'binary') {
      layers.push({ id: `${id}.sign`, op: 'sign', ...own });
      layers.push({ id, op: 'bconv', outChannels: r.filters, kernel: r.filterH, stride: r.strideH, pad: 0, padMode: 'zero', weightScale: 'channel' });
    } else {
      layers.push({ id, op: 'conv', outChannels: r.filters, kernel: r.filterH, stride: r.strideH, pad: 0, bias: false, ...own });
    }
  });
  const name = opts.name ?? basename(file).replace(/\.csv$/i, '');
  const workload: Workload = {
    schema: SCHEMA_ID, name,
    description: `SCALE-Sim topology ${basename(file)} (${form} form, ${rows.length} independent layers) imported as ${opts.precision} layers: ` +
      (opts.precision === 'binary' ? 'sign + bconv (pad 0) per row' : 'conv (fp32, pad 0, no bias) per row') + '; no BN, shortcut or activation is implied',
    family: 'scalesim', input, layers,
  };
  if (extended) notes.unshift(`${extended} IFMAP(s) extended so output sizes match SCALE-Sim's ceil formula (listed below)`);
  return { workload, form, rows, notes };
}
