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
 *  - conv rows with a non-square filter or unequal strides (many SCALE-Sim files write GEMMs as 1 x K filters):
 *    their im2col GEMM, a 1x1 conv on an Ho x Wo x (R*S*C) input: SCALE-Sim's M, N, K (and so its compute
 *    cycles and operand-matrix SRAM counts); the input tensor is the im2col'd IFMAP (a note says so).
 *  - header: SCALE-Sim never reads it (columns are positional), so names are compared loosely and a different
 *    name is a note; the form is GEMM when column 2 is `M`. A row of empty fields (a spreadsheet's blank
 *    row) is skipped; a conv row may have a 9th field, the stride width, as SCALE-Sim reads it; a row with no
 *    name is named `line<N>`.
 *  - the IR computes Ho = floor((H - R) / S) + 1. Where S does not divide H - R, SCALE-Sim's ceil counts one
 *    more output row (a last window reading past the IFMAP); the import then extends the IFMAP to
 *    H' = (Ho - 1) * S + R so the output size, M, N, K and the MAC count equal SCALE-Sim's, and says so in a note.
 *  - refused with exit 2 (file, line, column, hint): a header with fewer than the form's columns, a missing or
 *    extra field, a value that is not a positive integer, a filter larger than its IFMAP, an empty file or
 *    one without layers. (SCALE-Sim itself fails on these, without naming the line.)
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

const CONV_COLUMNS = ['Layer name', 'IFMAP Height', 'IFMAP Width', 'Filter Height', 'Filter Width', 'Channels', 'Num Filter', 'Strides', 'Stride width'];
const GEMM_COLUMNS = ['Layer', 'M', 'N', 'K'];
const HEADER_HINT = `a SCALE-Sim topology starts with a header line: '${CONV_COLUMNS.slice(0, 8).join(', ')},' (conv form) or '${GEMM_COLUMNS.join(', ')},' (GEMM form)`;

/** A header name compared loosely: case, spaces and a plural 's' do not matter ('num filters' = 'Num Filter'). */
const loose = (s: string) => s.toLowerCase().replace(/\s+/g, '').replace(/s$/, '');

/** Splits a line into trimmed fields, dropping the one empty field SCALE-Sim's trailing comma leaves. */
function fields(line: string): string[] {
  const f = line.split(',').map((x) => x.trim());
  if (f.length > 1 && f[f.length - 1] === '') f.pop();
  return f;
}

function fail(file: string, line: number, column: string | undefined, msg: string, hint?: string): never {
  throw new UserError('E_TOPOLOGY', msg, { file, path: column ? `line ${line}, column '${column}'` : `line ${line}`, hint });
}

const tabHint = (line: string) => (line.includes('\t') && !line.includes(',') ? 'its fields are separated by tabs; SCALE-Sim separates them by commas' : undefined);

/**
 * The form a header names. SCALE-Sim never reads its header (it reads columns by position), so names are
 * only compared loosely and a different name is a note, not an error; a header with fewer than the form's
 * columns is an error (the file is not a topology, or was cut).
 */
function headerForm(file: string, line: string, notes: string[]): TopologyForm {
  const header = fields(line);
  while (header.length > 1 && header[header.length - 1] === '') header.pop();
  const h = header.map(loose);
  if (h.length >= 2 && h[1] === 'm') {
    for (let i = 0; i < 4; i++) if (h[i] !== loose(GEMM_COLUMNS[i]) && !(i === 0 && h[0] === 'layername')) fail(file, 1, GEMM_COLUMNS[i], h[i] === undefined ? `header: column '${GEMM_COLUMNS[i]}' is missing` : `header: column ${i + 1} is '${header[i]}', expected '${GEMM_COLUMNS[i]}'`, HEADER_HINT);
    if (header.length > 4) notes.push(`line 1: header columns after K (${header.slice(4).map((x) => `'${x}'`).join(', ')}) are ignored`);
    return 'gemm';
  }
  if (header.length < 8) {
    const hint = tabHint(line) ?? HEADER_HINT;
    // name the column by what the header lacks when its names are SCALE-Sim's, else by position
    const missing = CONV_COLUMNS.slice(1, 8).find((c) => !h.includes(loose(c))) ?? CONV_COLUMNS[header.length];
    fail(file, 1, missing, `header: column '${missing}' is missing (${header.length} of 8 columns)`, hint);
  }
  const differ = CONV_COLUMNS.slice(0, 8).map((c, i) => [c, header[i]] as const).filter(([c, x], i) => loose(x) !== loose(c) && !(i === 0 && loose(x) === 'layer') && !(i === 7 && loose(x) === 'strideheight'));
  if (differ.length) notes.push(`line 1: header ${differ.map(([c, x]) => `'${x}'`).join(', ')} read as ${differ.map(([c]) => `'${c}'`).join(', ')}: SCALE-Sim reads the columns by position`);
  return 'conv';
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
  if (lines[0].trim() === '') fail(file, 1, undefined, 'line 1 is blank: SCALE-Sim skips line 1 as the header', HEADER_HINT);
  const form = headerForm(file, lines[0], notes);
  const columns = form === 'gemm' ? GEMM_COLUMNS : CONV_COLUMNS;
  const need = form === 'gemm' ? 4 : 8, most = form === 'gemm' ? 4 : 9;
  const rows: TopologyRow[] = [];
  let skipped = 0;
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const line = i + 1;
    const f = fields(lines[i]);
    // a row of empty fields (',,,,,,,,', a spreadsheet's blank row) is no layer
    if (f.every((x) => x === '')) { skipped++; continue; }
    if (f.length < need) fail(file, line, columns[f.length], `column '${columns[f.length]}' is missing (${f.length} of ${need} fields)`, tabHint(lines[i]) ?? `each row has ${need} comma-separated fields: ${columns.slice(0, need).join(', ')}${form === 'conv' ? ' (and optionally Stride width)' : ''}`);
    if (f.length > most) fail(file, line, undefined, `${f.length} fields, expected ${need}${most > need ? ` or ${most}` : ''} (${columns.slice(0, most).join(', ')})`, 'remove the extra fields');
    let name = f[0];
    const v = f.slice(1).map((x, j) => posInt(file, line, columns[j + 1], x));
    if (name === '') { name = `line${line}`; notes.push(`line ${line}: the row has no name; it is named '${name}'`); }
    if (form === 'gemm') {
      const [m, n, k] = v;
      rows.push({ line, name, ifmapH: m, ifmapW: 1, filterH: 1, filterW: 1, channels: k, filters: n, strideH: 1, strideW: 1, m, n, k, ofmapH: m, ofmapW: 1 });
      continue;
    }
    // 8 fields: one stride for both directions; 9: stride height, stride width (SCALE-Sim's append_topo_arrays)
    const [ifmapH, ifmapW, filterH, filterW, channels, filters, strideH] = v;
    const strideW = v.length === 8 ? v[7] : strideH;
    if (filterH > ifmapH) fail(file, line, columns[3], `filter height ${filterH} is larger than the IFMAP height ${ifmapH}`, 'SCALE-Sim IFMAP sizes are pre-padded: give the padded IFMAP (H + 2*pad)');
    if (filterW > ifmapW) fail(file, line, columns[4], `filter width ${filterW} is larger than the IFMAP width ${ifmapW}`, 'SCALE-Sim IFMAP sizes are pre-padded: give the padded IFMAP (W + 2*pad)');
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
  if (skipped) notes.push(`${skipped} row(s) of empty fields skipped`);
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
  let extended = 0, im2col = 0;
  rows.forEach((r, i) => {
    const id = uniq(r.name);
    if (id !== r.name) notes.push(`line ${r.line}: layer '${r.name}' is named '${id}' (ids are unique)`);
    // square filter and one stride: the conv itself; otherwise its im2col GEMM (a 1x1 conv, same M, N, K)
    const square = r.filterH === r.filterW && r.strideH === r.strideW;
    let shape: { h: number; w: number; c: number };
    if (square) {
      const h = irIfmap(r.ifmapH, r.filterH, r.strideH, r.ofmapH), w = irIfmap(r.ifmapW, r.filterW, r.strideW, r.ofmapW);
      if (h !== r.ifmapH || w !== r.ifmapW) {
        extended++;
        notes.push(`line ${r.line}: '${id}' IFMAP ${r.ifmapH}x${r.ifmapW} extended to ${h}x${w}: SCALE-Sim's ceil((H - R + S)/S) gives ${r.ofmapH}x${r.ofmapW} outputs, a last partial window the IR reads as a full one`);
      }
      shape = { h, w, c: r.channels };
    } else {
      im2col++;
      shape = { h: r.ofmapH, w: r.ofmapW, c: r.k };
      notes.push(`line ${r.line}: '${id}' filter ${r.filterH}x${r.filterW}, strides ${r.strideH}x${r.strideW}: imported as its im2col GEMM, a 1x1 conv on ${r.ofmapH}x${r.ofmapW}x${r.k} (M = ${r.m}, N = ${r.n}, K = ${r.k} as in SCALE-Sim; its input is the im2col'd IFMAP)`);
    }
    const kernel = square ? r.filterH : 1, stride = square ? r.strideH : 1;
    if (i === 0) input = shape;
    const own = i === 0 ? {} : { input: shape };
    if (opts.precision === 'binary') {
      layers.push({ id: `${id}.sign`, op: 'sign', ...own });
      layers.push({ id, op: 'bconv', outChannels: r.filters, kernel, stride, pad: 0, padMode: 'zero', weightScale: 'channel' });
    } else {
      layers.push({ id, op: 'conv', outChannels: r.filters, kernel, stride, pad: 0, bias: false, ...own });
    }
  });
  const name = opts.name ?? basename(file).replace(/\.csv$/i, '');
  const workload: Workload = {
    schema: SCHEMA_ID, name,
    description: `SCALE-Sim topology ${basename(file)} (${form} form, ${rows.length} independent layers) imported as ${opts.precision} layers: ` +
      (opts.precision === 'binary' ? 'sign + bconv (pad 0) per row' : 'conv (fp32, pad 0, no bias) per row') + '; no BN, shortcut or activation is implied',
    family: 'scalesim', input, layers,
  };
  if (im2col) notes.unshift(`${im2col} row(s) with a non-square filter or unequal strides imported as their im2col GEMM (listed below)`);
  if (extended) notes.unshift(`${extended} IFMAP(s) extended so output sizes match SCALE-Sim's ceil formula (listed below)`);
  return { workload, form, rows, notes };
}
