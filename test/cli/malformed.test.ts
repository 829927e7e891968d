/**
 * Malformed-input corpus: every case must give exit code 2 and ONE line on stderr naming the file (when
 * there is one) and a JSON path, with no stack trace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli } from './run-cli.ts';
import { birealSmall } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { encodeModel, randomModel } from '../../src/ir/model.ts';
import { toDeployable } from '../../src/ir/deploy.ts';
import { encodeSafetensors } from '../../src/core/safetensors.ts';

let dir = '';
const P = (name: string) => join(dir, name);
const wl = () => JSON.parse(JSON.stringify(birealSmall('tiny', [8, 16, 16], [1, 1, 1])));


type Case = { name: string; args: () => string[]; expect: RegExp[] };
const cases: Case[] = [];
function workloadCase(name: string, mutate: (w: any) => unknown, expectRe: RegExp[]) {
  const file = `${name.replace(/\W+/g, '_')}.json`;
  cases.push({ name, args: () => { writeFileSync(P(file), JSON.stringify(mutate(wl()))); return ['inspect', P(file)]; }, expect: [new RegExp(file.replace('.', '\\.')), ...expectRe] });
}
function rawCase(name: string, text: string, expectRe: RegExp[]) {
  const file = `${name.replace(/\W+/g, '_')}.json`;
  cases.push({ name, args: () => { writeFileSync(P(file), text); return ['cost', P(file)]; }, expect: [new RegExp(file), ...expectRe] });
}
function modelCase(name: string, bytes: () => Uint8Array, expectRe: RegExp[]) {
  const file = `${name.replace(/\W+/g, '_')}.safetensors`;
  cases.push({ name, args: () => { writeFileSync(P(file), bytes()); return ['run', P(file)]; }, expect: [new RegExp(file), ...expectRe] });
}

rawCase('trailing comma', '{"schema": "birealsim.workload/1", "name": "x",}', [/E_JSON/, /line 1/, /\$/]);
rawCase('truncated json', JSON.stringify(wl()).slice(0, 120), [/E_JSON/]);
rawCase('top-level array', '[1,2,3]', [/\$: expected a JSON object/]);
workloadCase('unknown op', (w) => { w.layers[3].op = 'bconvv'; return w; }, [/\$\.layers\[3\]\.op/, /did you mean 'bconv'/]);
workloadCase('unknown key', (w) => { w.layers[0].kernal = 3; return w; }, [/\$\.layers\[0\]\.kernal/, /did you mean 'kernel'/]);
workloadCase('unknown top key', (w) => { w.layyers = []; return w; }, [/\$\.layyers/, /did you mean 'layers'/]);
workloadCase('missing outChannels', (w) => { delete w.layers[0].outChannels; return w; }, [/\$\.layers\[0\]\.outChannels/, /missing required/]);
workloadCase('wrong schema', (w) => { w.schema = 'birealsim.workload/9'; return w; }, [/\$\.schema/]);
workloadCase('negative stride', (w) => { w.layers[0].stride = -1; return w; }, [/\$\.layers\[0\]\.stride/, /integer >= 1/]);
workloadCase('bad pad mode', (w) => { w.layers[3].padMode = 'zeros'; return w; }, [/\$\.layers\[3\]\.padMode/, /did you mean 'zero'/]);
workloadCase('duplicate id', (w) => { w.layers[1].id = w.layers[0].id; return w; }, [/\$\.layers\[1\]\.id/, /duplicate/]);
workloadCase('unknown input ref', (w) => { w.layers[1].in = 'stem.cnv'; return w; }, [/\$\.layers\[1\]\.in/, /did you mean 'stem\.conv'/]);
workloadCase('bconv without sign', (w) => { w.layers.splice(2, 1); w.layers[2].in = 'stem.bn'; return w; }, [/\$\.layers\[2\]/, /needs a bits input/, /sign/]);
workloadCase('add shape mismatch', (w) => { w.layers[0].outChannels = 12; return w; }, [/\$\.layers\[\d+\]\.inputs/, /shape mismatch/]);
workloadCase('kernel larger than input', (w) => { w.input = { h: 2, w: 2, c: 1 }; w.layers[0].kernel = 7; return w; }, [/\$\.layers\[0\]/, /kernel 7/]);
workloadCase('missing input channels', (w) => { delete w.input.c; return w; }, [/\$\.input\.c/]);
workloadCase('empty layers', (w) => { w.layers = []; return w; }, [/\$\.layers/, /non-empty/]);
workloadCase('bits output', (w) => { w.output = w.layers[2].id; return w; }, [/\$\.output/, /bit tensor/]);
workloadCase('bad bias type', (w) => { w.layers.at(-1).bias = 'yes'; return w; }, [/\.bias/, /true or false/]);

const net = () => resolveNetwork(birealSmall('tiny', [8, 16, 16], [1, 1, 1]));
modelCase('truncated safetensors', () => encodeModel(randomModel(net(), 1)).slice(0, 300), [/E_SAFETENSORS|E_JSON/, /truncated|not valid JSON/]);
modelCase('truncated data', () => { const b = encodeModel(randomModel(net(), 1)); return b.slice(0, b.length - 10); }, [/E_SAFETENSORS/, /truncated/, /\$\["/]);
modelCase('nan weight', () => { const m = randomModel(net(), 1); (m.params.get('s1.b0.conv.weight') as Float32Array)[5] = NaN; return encodeModel(m); }, [/E_MODEL/, /\$\["s1\.b0\.conv\.weight"\]\[5\]/, /non-finite/]);
modelCase('negative variance', () => { const m = randomModel(net(), 1); (m.params.get('stem.bn.running_var') as Float32Array)[2] = -1; return encodeModel(m); }, [/running_var"\]\[2\]/]);
modelCase('tiny file', () => new Uint8Array([1, 2, 3]), [/E_SAFETENSORS/, /too short/]);
modelCase('not a birealsim model', () => encodeSafetensors(new Map([['w', { shape: [2], data: new Float32Array(2) }]]), {}), [/E_MODEL/, /birealsim\.format/]);
modelCase('wrong tensor shape', () => {
  const m = toDeployable(randomModel(net(), 1));
  const bytes = encodeModel(m);
  // rewrite the header: claim a different shape for the stem weight, keeping byte length equal
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const hdr = JSON.parse(Buffer.from(bytes.slice(8, 8 + n)).toString());
  hdr['stem.conv.weight'].shape = [8, 1, 9, 1];
  let js = JSON.stringify(hdr); while (js.length < n) js += ' ';
  const out = new Uint8Array(bytes); out.set(Buffer.from(js), 8); return out;
}, [/E_MODEL/, /\$\["stem\.conv\.weight"\]\.shape/, /expected shape \[8,3,3,1\]/]);
cases.push({ name: 'missing file', args: () => ['run', P('nope.safetensors')], expect: [/E_TARGET/, /nope\.safetensors/, /built-ins/] });
cases.push({ name: 'builtin typo', args: () => ['cost', 'bireal18-imagenett'], expect: [/did you mean 'bireal18-imagenet'/] });
cases.push({ name: 'convention typo', args: () => ['cost', 'bireal18-imagenet', '--convention', 'papr'], expect: [/--convention/, /did you mean 'paper'/] });
cases.push({ name: 'input wrong length', args: () => { writeFileSync(P('in.json'), '[1,2,3]'); return ['run', 'bireal-mnist', '--input', P('in.json')]; }, expect: [/E_INPUT/, /in\.json/, /784/] });
cases.push({ name: 'input not numbers', args: () => { writeFileSync(P('in2.json'), JSON.stringify({ data: [1, 'x'] })); return ['run', 'bireal-mnist', '--input', P('in2.json')]; }, expect: [/E_INPUT/, /\$\.data\[1\]/] });
cases.push({ name: 'safetensors input with a NaN', args: () => { const d = new Float32Array(784); d[5] = NaN; writeFileSync(P('in-nan.safetensors'), encodeSafetensors(new Map([['x', { shape: [28, 28, 1], data: d }]]), {})); return ['run', 'bireal-mnist', '--input', P('in-nan.safetensors')]; }, expect: [/E_INPUT/, /in-nan\.safetensors/, /\$\["x"\]\[5\]/, /NaN/] });
// sweep grids are counted, never materialised: above the per-run maximum they are refused before any file or lock
const hugeSpec = (axes: number) => JSON.stringify({ schema: 'birealsim.sweep-spec/1', name: 'huge', workload: 'bireal-mnist', arch: 'edge', mode: 'grid',
  axes: Object.fromEntries(['peArray.rows', 'peArray.cols', 'postProcessing.lanes', 'pooling.lanes', 'realUnit.macsPerCycle', 'buffers.*.banks', 'peArray.laneBits', 'peArray.accumulatorBits', 'buffers.*.portWidth', 'dram.bandwidth'].slice(0, axes).map((k) => [k, Array.from({ length: 100 }, (_, i) => i + 1)])) });
cases.push({ name: 'sweep grid of 1e8 points (over the per-run maximum)', args: () => { writeFileSync(P('grid1e8.json'), hugeSpec(4)); return ['sweep', P('grid1e8.json'), '--out', P('grid1e8.jsonl')]; }, expect: [/E_SWEEP_SIZE/, /grid1e8\.json: \$\.axes/, /100000000 points/, /peArray\.rows \(100\)/, /--limit/, /--shard/] });
cases.push({ name: 'sweep grid of 1e20 points (cannot be indexed)', args: () => { writeFileSync(P('grid1e20.json'), hugeSpec(10)); return ['sweep', P('grid1e20.json'), '--out', P('grid1e20.jsonl')]; }, expect: [/E_SWEEP_SIZE/, /grid1e20\.json: \$\.axes/, /1\.00e\+20 points/, /random/] });
cases.push({ name: 'random sweep over a grid of 1e20 points', args: () => { writeFileSync(P('grid1e20r.json'), JSON.stringify({ ...JSON.parse(hugeSpec(10)), mode: 'random', samples: 5, seed: 1 })); return ['sweep', P('grid1e20r.json'), '--out', P('grid1e20r.jsonl')]; }, expect: [/E_SWEEP_SIZE/, /grid1e20r\.json: \$\.axes/, /too large to index/] });
cases.push({ name: "sweep axis typo 'dram.bandwith'", args: () => { writeFileSync(P('typo-axis.json'), JSON.stringify({ schema: 'birealsim.sweep-spec/1', name: 't', workload: 'bireal-mnist', arch: 'edge', mode: 'grid', axes: { 'dram.bandwith': ['1 GB/s'], 'peArray.rows': [8] } })); return ['sweep', P('typo-axis.json'), '--out', P('typo-axis.jsonl')]; }, expect: [/E_SWEEP_AXIS/, /typo-axis\.json: \$\.axes\["dram\.bandwith"\]/, /did you mean 'bandwidth'/] });
cases.push({ name: 'report --out onto an existing file', args: () => { writeFileSync(P('report-file.txt'), 'mine'); return ['report', 'paper-table', '--out', P('report-file.txt')]; }, expect: [/E_OUT/, /--out/, /report-file\.txt' exists and is not a directory/] });
// SCALE-Sim topology CSV import (interop/scalesim-topology.ts): file, line, column name and hint
const TOPO_HEADER = 'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n';
function csvCase(name: string, text: string, expectRe: RegExp[], flag = '--binary') {
  const file = `${name.replace(/\W+/g, '_')}.csv`;
  cases.push({ name: `topology: ${name}`, args: () => { writeFileSync(P(file), text); return ['import', P(file), flag, '--out', P(`${file}.json`)]; }, expect: [new RegExp(file.replace('.', '\\.')), /E_TOPOLOGY/, /hint: /, ...expectRe] });
}
csvCase('missing column', `${TOPO_HEADER}Conv1, 8, 8, 3, 3, 4, 16,\n`, [/line 2, column 'Strides'/, /missing/]);
csvCase('header missing a column', 'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Strides,\nConv1, 8, 8, 3, 3, 4, 1,\n', [/line 1, column 'Num Filter'/, /header: column 'Num Filter' is missing/]);
csvCase('non-integer', `${TOPO_HEADER}Conv1, 8, 8, 3, 3, 4, 16, 1,\nConv2, 8, 8.5, 3, 3, 4, 16, 1,\n`, [/line 3, column 'IFMAP Width'/, /positive integer/, /'8\.5'/], '--real');
csvCase('zero filters', `${TOPO_HEADER}Conv1, 8, 8, 3, 3, 4, 0, 1,\n`, [/line 2, column 'Num Filter'/, /positive integer/]);
csvCase('filter larger than IFMAP', `${TOPO_HEADER}Conv1, 8, 8, 3, 3, 4, 16, 1,\nConv2, 4, 4, 5, 5, 4, 16, 1,\n`, [/line 3, column 'Filter Height'/, /larger than the IFMAP height 4/, /pre-padded/]);
csvCase('empty file', '', [/line 1/, /empty/, /header line/]);
csvCase('header only', TOPO_HEADER, [/no layers/]);
csvCase('extra fields', `${TOPO_HEADER}Conv1, 8, 8, 3, 3, 4, 16, 1, 1, 7,\n`, [/line 2/, /10 fields, expected 8 or 9/, /remove the extra fields/]);
csvCase('tab-separated', 'Layer name\tIFMAP Height\tIFMAP Width\tFilter Height\tFilter Width\tChannels\tNum Filter\tStrides\nConv1\t8\t8\t3\t3\t4\t16\t1\n', [/line 1, column 'IFMAP Height'/, /separated by tabs/]);
csvCase('GEMM non-integer K', 'Layer, M, N, K,\nfc1, 64, 32, k,\n', [/line 2, column 'K'/, /positive integer/], '--real');
cases.push({ name: 'topology without --binary or --real', args: () => { writeFileSync(P('noprec.csv'), `${TOPO_HEADER}Conv1, 8, 8, 3, 3, 4, 16, 1,\n`); return ['import', P('noprec.csv'), '--out', P('noprec.json')]; }, expect: [/E_USAGE/, /--binary or --real/] });
cases.push({ name: 'topology --out onto the topology', args: () => { writeFileSync(P('self.csv'), `${TOPO_HEADER}Conv1, 8, 8, 3, 3, 4, 16, 1,\n`); return ['import', P('self.csv'), '--real', '--out', P('self.csv')]; }, expect: [/E_OUT_IS_INPUT/, /self\.csv/] });
cases.push({ name: 'topology --out that is no .json', args: () => { writeFileSync(P('outext.csv'), `${TOPO_HEADER}Conv1, 8, 8, 3, 3, 4, 16, 1,\n`); return ['import', P('outext.csv'), '--real', '--out', P('outext.safetensors')]; }, expect: [/E_USAGE/, /--out/, /\.json/] });
cases.push({ name: '--binary on an ONNX import', args: () => ['import', 'test/fixtures/onnx/bireal-mnist-signw.onnx', '--binary', '--out', P('x.safetensors')], expect: [/E_USAGE/, /--binary/, /\.csv/] });
workloadCase('segment input and in together', (w) => { w.layers[1].input = { h: 4, w: 4, c: 8 }; w.layers[1].in = 'stem.conv'; return w; }, [/\$\.layers\[1\]\.input/, /either "in"/]);
workloadCase('segment input missing c', (w) => { w.layers[1].input = { h: 4, w: 4 }; return w; }, [/\$\.layers\[1\]\.input\.c/, /integer >= 1/]);
workloadCase('reserved segment id', (w) => { w.layers[1].id = 'input:x'; return w; }, [/\$\.layers\[1\]\.id/, /reserved|name segment inputs/]);
cases.push({ name: 'unknown flag', args: () => ['cost', '--frobnicate'], expect: [/E_USAGE/, /frobnicate/] });

describe('malformed inputs: exit 2 with a one-line located error', () => {
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'birealsim-bad-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('has at least 20 cases', () => expect(cases.length).toBeGreaterThanOrEqual(20));
  for (const c of cases) {
    it(c.name, async () => {
      const r = await runCli(c.args());
      expect(r.code).toBe(2);
      const lines = r.err.trim().split('\n');
      expect(lines.length, r.err).toBe(1);
      expect(r.err).not.toMatch(/\n\s+at /);
      for (const re of c.expect) expect(r.err).toMatch(re);
    });
  }
  it('refused sweeps and reports leave nothing behind (no output, no lock, no temp); the file under report --out is untouched', async () => {
    for (const f of ['grid1e8', 'grid1e20', 'grid1e20r', 'typo-axis']) {
      expect((await runCli(['sweep', P(`${f}.json`), '--out', P(`${f}.jsonl`)])).code).toBe(2);
      expect(existsSync(P(`${f}.jsonl`))).toBe(false);
      expect(existsSync(P(`${f}.jsonl.lock`))).toBe(false);
    }
    expect(readFileSync(P('report-file.txt'), 'utf8')).toBe('mine');
    expect(readdirSync(dir).filter((e) => /\.tmp-|\.lock$/.test(e))).toEqual([]);
  });
  it('the real binary exits 2 without a stack trace', () => {
    writeFileSync(P('bad.json'), '{');
    const r = spawnSync(process.execPath, ['bin/birealsim.mjs', 'inspect', P('bad.json')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(r.stderr).toMatch(/bad\.json: \$: invalid JSON/);
  });
});
