/**
 * The project's bad-input corpus (issue "Honest data and safe inputs", item 7): at least 150 cases across the
 * commands and every file kind a user hands in — workload JSON, arch JSON, sweep spec, safetensors model,
 * --input tensors, IDX datasets, report inputs — and flags. Every case must end with exit 2, ONE line on
 * stderr naming the file / JSON path / flag (each case's regexes), no stack trace, and no file left behind in
 * the case's folder (outputs of refused runs point there). Cases are generated from a valid base by one
 * mutation each, so a case fails only for the reason it names.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../../src/core/safetensors.ts';
import { birealSmall } from '../../src/ir/builders.ts';
import { toDeployable } from '../../src/ir/deploy.ts';
import { encodeModel, randomModel } from '../../src/ir/model.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { runCli } from './run-cli.ts';

const root = mkdtempSync(join(tmpdir(), 'birealsim-corpus-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Case { kind: string; name: string; setup: (dir: string) => string[]; expect: RegExp[] }
const cases: Case[] = [];
const add = (kind: string, name: string, setup: (dir: string) => string[], ...expect: RegExp[]) => cases.push({ kind, name, setup, expect });
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ------------------------------------------------------------------------------------------------ workloads
const WL = birealSmall('tiny', [8, 16, 16], [1, 1, 1]);
function wl(name: string, mutate: (w: any) => unknown, ...re: RegExp[]) {
  add('workload', name, (d) => { const f = join(d, 'w.json'); writeFileSync(f, JSON.stringify(mutate(clone(WL)))); return ['inspect', f]; }, /w\.json/, ...re);
}
function wlText(name: string, text: string, ...re: RegExp[]) {
  add('workload', name, (d) => { const f = join(d, 'w.json'); writeFileSync(f, text); return ['cost', f]; }, /w\.json/, ...re);
}
wlText('empty file', '', /E_JSON|expected/);
wlText('not JSON', 'hello', /E_JSON/);
wlText('trailing comma', '{"schema": "birealsim.workload/1",}', /E_JSON/);
wlText('a number', '42', /\$/);
wlText('null', 'null', /\$/);
wlText('a string', '"bireal18"', /\$/);
wlText('array', '[]', /\$/);
wlText('BOM and garbage', '\uFEFF{{', /E_JSON/);
wl('no schema', (w) => { delete w.schema; return w; }, /\$\.schema/);
wl('schema typo', (w) => { w.schema = 'birealsim.workload/2'; return w; }, /\$\.schema/);
wl('no name', (w) => { delete w.name; return w; }, /\$\.name/);
wl('name not a string', (w) => { w.name = 5; return w; }, /\$\.name/);
wl('no input', (w) => { delete w.input; return w; }, /\$\.input/);
wl('input h zero', (w) => { w.input.h = 0; return w; }, /\$\.input\.h/);
wl('input w negative', (w) => { w.input.w = -4; return w; }, /\$\.input\.w/);
wl('input c fractional', (w) => { w.input.c = 1.5; return w; }, /\$\.input\.c/);
wl('input h string', (w) => { w.input.h = '32'; return w; }, /\$\.input\.h/);
wl('huge input', (w) => { w.input.h = 200000; w.input.w = 200000; return w; }, /E_SIZE|\$\.input/);
wl('layers not an array', (w) => { w.layers = {}; return w; }, /\$\.layers/);
wl('layer not an object', (w) => { w.layers[1] = 7; return w; }, /\$\.layers\[1\]/);
wl('layer without op', (w) => { delete w.layers[0].op; return w; }, /\$\.layers\[0\]\.op/);
wl('op toString', (w) => { w.layers[0].op = 'toString'; return w; }, /\$\.layers\[0\]\.op/);
wl('op constructor', (w) => { w.layers[0].op = 'constructor'; return w; }, /\$\.layers\[0\]\.op/);
wl('op __proto__', (w) => { w.layers[0].op = '__proto__'; return w; }, /\$\.layers\[0\]\.op/);
wl('op number', (w) => { w.layers[0].op = 3; return w; }, /\$\.layers\[0\]\.op/);
wl('id missing', (w) => { delete w.layers[0].id; return w; }, /\$\.layers\[0\]\.id/);
wl('id empty', (w) => { w.layers[0].id = ''; return w; }, /\$\.layers\[0\]\.id/);
wl('key hasOwnProperty', (w) => { w.layers[0].hasOwnProperty = 1; return w; }, /\$\.layers\[0\]\.hasOwnProperty/);
wl('outChannels zero', (w) => { w.layers[0].outChannels = 0; return w; }, /\$\.layers\[0\]\.outChannels/);
wl('outChannels 2e9', (w) => { w.layers[0].outChannels = 2e9; return w; }, /E_SIZE|\$\.layers\[0\]/);
wl('kernel zero', (w) => { w.layers[0].kernel = 0; return w; }, /\$\.layers\[0\]\.kernel/);
wl('kernel string', (w) => { w.layers[0].kernel = '3'; return w; }, /\$\.layers\[0\]\.kernel/);
wl('stride fractional', (w) => { w.layers[0].stride = 1.5; return w; }, /\$\.layers\[0\]\.stride/);
wl('pad negative', (w) => { w.layers[0].pad = -1; return w; }, /\$\.layers\[0\]\.pad/);
wl('in names nothing', (w) => { w.layers[1].in = 'nowhere'; return w; }, /\$\.layers\[1\]\.in/);
wl('in refers forward', (w) => { w.layers[1].in = w.layers[3].id; return w; }, /\$\.layers\[1\]\.in/);
wl('output names nothing', (w) => { w.output = 'nowhere'; return w; }, /\$\.output/);
wl('extra top-level key', (w) => { w.extra = true; return w; }, /\$\.extra/);
wl('layers empty', (w) => { w.layers = []; return w; }, /\$\.layers/);

// ------------------------------------------------------------------------------------------------ arch
const EDGE = JSON.parse(readFileSync('arch/edge.json', 'utf8'));
function arch(name: string, mutate: (a: any) => unknown, ...re: RegExp[]) {
  add('arch', name, (d) => { const f = join(d, 'a.json'); writeFileSync(f, JSON.stringify(mutate(clone(EDGE)))); return ['simulate', 'bireal-mnist', '--arch', f, '--out', join(d, 'sim.json')]; }, /a\.json/, ...re);
}
arch('no schema', (a) => { delete a.schema; return a; }, /\$\.schema/);
arch('clock missing', (a) => { delete a.clock; return a; }, /\$\.clock/);
arch('clock no unit', (a) => { a.clock = '500'; return a; }, /\$\.clock/);
arch('clock wrong unit', (a) => { a.clock = '500 GB'; return a; }, /\$\.clock/);
arch('clock 1e300 Hz', (a) => { a.clock = '1e300 Hz'; return a; }, /\$\.clock/);
arch('clock 1e-300 Hz', (a) => { a.clock = '1e-300 Hz'; return a; }, /\$\.clock/);
arch('clock negative', (a) => { a.clock = '-5 MHz'; return a; }, /\$\.clock/);
arch('clock a number', (a) => { a.clock = 500e6; return a; }, /\$\.clock/);
arch('clock gibberish', (a) => { a.clock = 'fast'; return a; }, /\$\.clock/);
arch('dram bandwidth 1e-300', (a) => { a.dram.bandwidth = '1e-300 B/s'; return a; }, /\$\.dram\.bandwidth/);
arch('dram bandwidth in Hz', (a) => { a.dram.bandwidth = '6.4 GHz'; return a; }, /\$\.dram\.bandwidth/);
arch('dram latency 1e300 s', (a) => { a.dram.latency = '1e300 s'; return a; }, /\$\.dram\.latency/);
arch('dram missing', (a) => { delete a.dram; return a; }, /\$\.dram/);
arch('energyPerBit unitless', (a) => { a.dram.energyPerBit = { value: '8', source: 'x' }; return a; }, /\$\.dram\.energyPerBit/);
arch('capacity 0.5 B', (a) => { a.buffers.weights.capacity = '0.5 B'; return a; }, /\$\.buffers\.weights\.capacity/);
arch('capacity negative', (a) => { a.buffers.inputs.capacity = '-1 KiB'; return a; }, /\$\.buffers\.inputs\.capacity/);
arch('capacity in seconds', (a) => { a.buffers.outputs.capacity = '1 s'; return a; }, /\$\.buffers\.outputs\.capacity/);
arch('banks zero', (a) => { a.buffers.weights.banks = 0; return a; }, /\$\.buffers\.weights\.banks/);
arch('portWidth 0 bit', (a) => { a.buffers.weights.portWidth = '0 bit'; return a; }, /\$\.buffers\.weights\.portWidth/);
arch('precisionBits 7', (a) => { a.buffers.realStream.precisionBits = 7; return a; }, /\$\.buffers\.realStream\.precisionBits/);
arch('unknown buffer key', (a) => { a.buffers.weights.capacty = '1 KiB'; return a; }, /\$\.buffers\.weights\.capacty/);
arch('buffer missing', (a) => { delete a.buffers.outputs; return a; }, /\$\.buffers\.outputs/);
arch('rows zero', (a) => { a.peArray.rows = 0; return a; }, /\$\.peArray\.rows/);
arch('cols fractional', (a) => { a.peArray.cols = 2.5; return a; }, /\$\.peArray\.cols/);
arch('laneBits 0', (a) => { a.peArray.laneBits = 0; return a; }, /\$\.peArray\.laneBits/);
arch('dataflow typo', (a) => { a.peArray.dataflow = 'oss'; return a; }, /\$\.peArray\.dataflow/);
arch('pe type typo', (a) => { a.peArray.type = 'xnr'; return a; }, /\$\.peArray\.type/);
arch('peArray key toString', (a) => { a.peArray.toString = 1; return a; }, /\$\.peArray\.toString/);
arch('realUnit macs zero', (a) => { a.realUnit.macsPerCycle = 0; return a; }, /\$\.realUnit\.macsPerCycle/);
arch('realUnit precision typo', (a) => { a.realUnit.precision = 'fp33'; return a; }, /\$\.realUnit\.precision/);
arch('postProcessing lanes negative', (a) => { a.postProcessing.lanes = -1; return a; }, /\$\.postProcessing\.lanes/);
arch('unknown top key', (a) => { a.clok = '1 GHz'; return a; }, /\$\.clok/);
add('arch', 'arch not JSON', (d) => { const f = join(d, 'a.json'); writeFileSync(f, '{clock: 1}'); return ['simulate', 'bireal-mnist', '--arch', f]; }, /a\.json/, /E_JSON/);
add('arch', 'arch preset typo', () => ['simulate', 'bireal-mnist', '--arch', 'egde'], /--arch|egde/, /did you mean 'edge'/);
add('arch', 'arch preset __proto__', () => ['simulate', 'bireal-mnist', '--arch', '__proto__'], /__proto__/);

// ------------------------------------------------------------------------------------------------ sweep specs
const SPEC = { schema: 'birealsim.sweep-spec/1', name: 'c', workload: 'bireal-mnist', arch: 'edge', mode: 'grid', axes: { 'peArray.rows': [8, 16], clock: ['250 MHz', '500 MHz'] } };
function spec(name: string, mutate: (s: any) => unknown, ...re: RegExp[]) {
  add('sweep spec', name, (d) => { const f = join(d, 's.json'); writeFileSync(f, JSON.stringify(mutate(clone(SPEC)))); return ['sweep', f, '--out', join(d, 'o.jsonl'), '--workers', '0']; }, /s\.json/, ...re);
}
spec('no schema', (s) => { delete s.schema; return s; }, /\$\.schema/);
spec('wrong schema', (s) => { s.schema = 'birealsim.sweep/1'; return s; }, /\$\.schema/);
spec('mode typo', (s) => { s.mode = 'gird'; return s; }, /\$\.mode/);
spec('random without samples', (s) => { s.mode = 'random'; return s; }, /\$\.samples/);
spec('samples zero', (s) => { s.mode = 'random'; s.samples = 0; return s; }, /\$\.samples/);
spec('axes empty', (s) => { s.axes = {}; return s; }, /\$\.axes/);
spec('axes an array', (s) => { s.axes = [1]; return s; }, /\$\.axes/);
spec('axis values not an array', (s) => { s.axes.clock = '500 MHz'; return s; }, /\$\.axes/);
spec('axis values empty', (s) => { s.axes.clock = []; return s; }, /\$\.axes/);
spec('workload unknown', (s) => { s.workload = 'bireal-mnistt'; return s; }, /\$\.workload|bireal-mnistt/);
spec('axis through a leaf', (s) => { s.axes['clock.value'] = [1]; return s; }, /\$\.axes/);
spec('typo in axis name', (s) => { s.axes['dram.bandwith'] = ['6.4 GB/s']; return s; }, /dram\.bandwith/, /did you mean 'bandwidth'/);
spec('grid of 1e8 points', (s) => { const v = Array.from({ length: 100 }, (_, i) => i + 1); s.axes = { 'peArray.rows': v, 'peArray.cols': v, 'pooling.lanes': v, 'postProcessing.lanes': v }; return s; }, /E_SWEEP_SIZE/);
spec('arch unknown', (s) => { s.arch = 'egde'; return s; }, /\$\.arch|egde/);
spec('not JSON', () => '{', /E_JSON|\$/);

// ------------------------------------------------------------------------------------------------ models
const NET = resolveNetwork(WL);
function model(name: string, bytes: () => Uint8Array, ...re: RegExp[]) {
  add('model', name, (d) => { const f = join(d, 'm.safetensors'); writeFileSync(f, bytes()); return ['run', f]; }, /m\.safetensors/, ...re);
}
function header(bytes: Uint8Array, edit: (h: any) => void): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const h = JSON.parse(Buffer.from(bytes.slice(8, 8 + n)).toString());
  edit(h);
  let js = JSON.stringify(h);
  const body = bytes.slice(8 + n);
  while (js.length % 8) js += ' ';
  const out = new Uint8Array(8 + js.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(js.length), true);
  out.set(Buffer.from(js), 8); out.set(body, 8 + js.length);
  return out;
}
const good = () => encodeModel(randomModel(NET, 1));
model('empty file', () => new Uint8Array(0), /E_SAFETENSORS/);
model('header length too big', () => { const b = good(); new DataView(b.buffer).setBigUint64(0, 1n << 40n, true); return b; }, /E_SAFETENSORS/);
model('header not JSON', () => { const b = good(); b[9] = 0x7b; b[10] = 0x7b; return b; }, /E_SAFETENSORS|E_JSON/);
model('no metadata', () => header(good(), (h) => { delete h.__metadata__; }), /E_MODEL/);
model('format typo', () => header(good(), (h) => { h.__metadata__['birealsim.format'] = 'birealsim.model/9'; }), /E_MODEL/);
model('dtype unknown', () => header(good(), (h) => { const k = Object.keys(h).find((x) => x !== '__metadata__')!; h[k].dtype = 'F99'; }), /E_SAFETENSORS|E_MODEL/);
model('offsets out of range', () => header(good(), (h) => { const k = Object.keys(h).find((x) => x !== '__metadata__')!; h[k].data_offsets = [0, 1e12]; }), /E_SAFETENSORS/);
model('offsets reversed', () => header(good(), (h) => { const k = Object.keys(h).find((x) => x !== '__metadata__')!; h[k].data_offsets = [8, 4]; }), /E_SAFETENSORS/);
model('tensor missing', () => header(good(), (h) => { delete h['stem.conv.weight']; }), /E_MODEL|E_SAFETENSORS/);
model('Inf weight', () => { const m = randomModel(NET, 1); (m.params.get('stem.conv.weight') as Float32Array)[0] = Infinity; return encodeModel(m); }, /E_MODEL/, /stem\.conv\.weight/);
model('NaN in BN mean', () => { const m = randomModel(NET, 1); (m.params.get('stem.bn.running_mean') as Float32Array)[1] = NaN; return encodeModel(m); }, /E_MODEL/, /running_mean/);
model('deployable with a non +-1 bit word shape', () => header(encodeModel(toDeployable(randomModel(NET, 1))), (h) => { const k = Object.keys(h).find((x) => x.endsWith('weight_bits'))!; h[k].shape = [1, 2, 3, 4, 5]; }), /E_MODEL|E_SAFETENSORS/);
model('plain safetensors without birealsim metadata', () => encodeSafetensors(new Map([['w', { shape: [1], data: new Float32Array(1) }]]), {}), /E_MODEL/);
add('model', 'model is a directory', (d) => { mkdirSync(join(d, 'm.safetensors')); return ['run', join(d, 'm.safetensors')]; }, /m\.safetensors/);
add('model', 'verify a missing model', (d) => ['verify', join(d, 'none.safetensors'), '--images', '1'], /none\.safetensors/);
add('model', 'export a non-model', (d) => { writeFileSync(join(d, 'x.safetensors'), 'abc'); return ['export', join(d, 'x.safetensors'), '--out', join(d, 'dep.safetensors')]; }, /x\.safetensors/);
add('model', 'eval a workload file that does not exist', (d) => ['eval', join(d, 'nope.safetensors'), '--dataset', 'mnist'], /nope\.safetensors/);

// ------------------------------------------------------------------------------------------------ --input tensors
function input(name: string, file: string, content: string | Uint8Array, ...re: RegExp[]) {
  add('input', name, (d) => { writeFileSync(join(d, file), content); return ['run', 'bireal-mnist', '--input', join(d, file)]; }, new RegExp(esc(file)), /E_INPUT|E_JSON|E_SAFETENSORS/, ...re);
}
input('empty JSON array', 'i.json', '[]', /784/);
input('object without data', 'i.json', '{"shape": [28, 28, 1]}', /\$/);
input('data with null', 'i.json', JSON.stringify({ data: [1, null] }), /\$\.data\[1\]/);
input('nested arrays of strings', 'i.json', JSON.stringify([['1']]), /\$/);
input('785 values', 'i.json', JSON.stringify(new Array(785).fill(0)), /784/);
input('safetensors with two tensors', 'i.safetensors', encodeSafetensors(new Map([['a', { shape: [784], data: new Float32Array(784) }], ['b', { shape: [1], data: new Float32Array(1) }]]), {}), /exactly one tensor/);
input('safetensors with Inf', 'i.safetensors', (() => { const x = new Float32Array(784); x[9] = -Infinity; return encodeSafetensors(new Map([['x', { shape: [784], data: x }]]), {}); })(), /\$\["x"\]\[9\]/);
input('safetensors too short', 'i.safetensors', new Uint8Array(4), /E_SAFETENSORS/);

// ------------------------------------------------------------------------------------------------ IDX datasets
const MODEL = 'reports/train/mnist-deep-pool10/deployable.safetensors';
const idx = (dims: number[], data: Uint8Array, dtype = 8): Uint8Array => {
  const h = new Uint8Array(4 + 4 * dims.length);
  h[2] = dtype; h[3] = dims.length;
  const v = new DataView(h.buffer);
  dims.forEach((x, i) => v.setUint32(4 + 4 * i, x, false));
  const out = new Uint8Array(h.length + data.length); out.set(h); out.set(data, h.length); return out;
};
function idxDir(name: string, files: Partial<Record<'ti' | 'tl' | 'ei' | 'el', Uint8Array | string>>, ...re: RegExp[]) {
  add('IDX', name, (d) => {
    const dd = join(d, 'data'); mkdirSync(dd);
    const base = { ti: idx([2, 28, 28], new Uint8Array(2 * 784)), tl: idx([2], new Uint8Array(2)), ei: idx([2, 28, 28], new Uint8Array(2 * 784)), el: idx([2], new Uint8Array(2)) };
    const names = { ti: 'train-images-idx3-ubyte', tl: 'train-labels-idx1-ubyte', ei: 't10k-images-idx3-ubyte', el: 't10k-labels-idx1-ubyte' } as const;
    for (const k of Object.keys(names) as (keyof typeof names)[]) {
      const v = k in files ? files[k] : base[k];
      if (v === undefined) continue;
      writeFileSync(join(dd, names[k] + (typeof v === 'string' ? '.gz' : '')), typeof v === 'string' ? Buffer.from(v, 'latin1') : v);
    }
    return ['eval', MODEL, '--data', dd];
  }, /E_IDX|E_DATA/, ...re);
}
idxDir('missing test labels', { el: undefined }, /t10k-labels-idx1-ubyte/);
idxDir('bad magic', { ti: Uint8Array.from([1, 2, 8, 3, 0, 0, 0, 0]) }, /train-images-idx3-ubyte/, /magic/);
idxDir('float dtype', { ti: idx([2, 28, 28], new Uint8Array(2 * 784 * 4), 0x0d) }, /dtype/);
idxDir('truncated images', { ei: idx([2, 28, 28], new Uint8Array(100)) }, /t10k-images-idx3-ubyte/, /truncated/);
idxDir('labels 2-D', { tl: idx([2, 1], new Uint8Array(2)) }, /labels must be 1-D/);
idxDir('count mismatch', { el: idx([3], new Uint8Array(3)) }, /2 images but 3 labels/);
idxDir('image size mismatch train vs test', { ei: idx([2, 14, 14], new Uint8Array(2 * 196)) }, /train images are 28x28x1 but test images are 14x14x1/);
idxDir('empty test split', { ei: idx([0, 28, 28], new Uint8Array(0)), el: idx([0], new Uint8Array(0)) }, /test split has no images/);
idxDir('bad gzip', { tl: 'not gzip at all' }, /gunzip/);
idxDir('header only 3 bytes', { tl: Uint8Array.from([0, 0, 8]) }, /too short/);
idxDir('ndim 0', { tl: Uint8Array.from([0, 0, 8, 0]) }, /dimensions/);
idxDir('images wrong size for the model', { ti: idx([2, 32, 32], new Uint8Array(2 * 1024)), ei: idx([2, 32, 32], new Uint8Array(2 * 1024)) }, /32x32|28x28/);
add('IDX', 'data dir missing', (d) => ['eval', MODEL, '--data', join(d, 'nope')], /nope/, /E_DATA/);
add('IDX', 'dataset name typo', () => ['eval', MODEL, '--dataset', 'fashon-mnist'], /did you mean 'fashion-mnist'/);
add('IDX', 'gzip of garbage IDX', (d) => { const dd = join(d, 'data'); mkdirSync(dd); writeFileSync(join(dd, 'train-images-idx3-ubyte.gz'), gzipSync(Buffer.from('xx'))); return ['eval', MODEL, '--data', dd]; }, /E_IDX|E_DATA/);

// ------------------------------------------------------------------------------------------------ report inputs
function report(name: string, text: string, ...re: RegExp[]) {
  add('report input', name, (d) => { const f = join(d, 'r.json'); writeFileSync(f, text); return ['report', f, '--out', join(d, 'rep')]; }, /r\.json/, ...re);
}
report('not JSON', '{', /E_JSON/);
report('array', '[]', /\$/);
report('unknown kind', '{"kind": "nonsense"}', /\$\.kind/);
report('kind toString', '{"kind": "toString"}', /\$\.kind/);
report('cost without rows', '{"tool": "birealsim", "kind": "cost"}', /\$/);
add('report input', 'report missing file', (d) => ['report', join(d, 'gone.json')], /gone\.json/);
add('report input', 'report --png without --out', () => ['report', 'paper-table', '--png'], /--png/);

// ------------------------------------------------------------------------------------------------ flags
function flag(name: string, args: string[], ...re: RegExp[]) { add('flag', name, () => args, ...re); }
const T = ['train', '--model', 'bireal-tiny', '--dataset', 'mnist'];
for (const [f, v] of [['epochs', '-1'], ['epochs', '1.5'], ['pre-epochs', '-3'], ['batch', '0'], ['batch', '1e9'], ['lr', '-1'], ['lr', 'NaN'], ['pre-lr', '0'],
  ['wd', '-0.1'], ['pre-wd', '2'], ['momentum', '-1'], ['gamma', '0'], ['label-smoothing', '1.5'], ['crop-pad', '-1'], ['crop-pad', '100'],
  ['limit-train', '-5'], ['replicas', '100'], ['seed', '-1'], ['seed', '4294967296']] as const) {
  flag(`train --${f} ${v}`, [...T, `--${f}`, v], new RegExp(`--${f}:`), /E_FLAG/);
}
flag('train --milestones x', [...T, '--milestones', '1,x'], /--milestones/);
flag('train no dataset', ['train', '--model', 'bireal-tiny'], /--dataset|dataset/);
flag('train model typo', ['train', '--model', 'bireal-tinny', '--dataset', 'mnist'], /bireal-tinny/);
flag('verify --images -1', ['verify', MODEL, '--images', '-1'], /--images/);
flag('verify --images zero', ['verify', MODEL, '--images', '0'], /--images/);
flag('verify --min-agreement -0.1', ['verify', MODEL, '--min-agreement', '-0.1'], /--min-agreement/);
flag('verify --kernels typo', ['verify', MODEL, '--kernels', 'fastt'], /--kernels|fastt/);
flag('formats --check-images 1.5', ['formats', MODEL, '--check-images', '1.5'], /--check-images/);
flag('formats unknown format', ['formats', MODEL, '--formats', 'fp33'], /fp33/);
flag('formats int8q9', ['formats', MODEL, '--formats', 'int8q99'], /int8q99/);
flag('cost --bn-params -2', ['cost', 'bireal18-imagenet', '--bn-params', '-2'], /--bn-params/);
flag('cost --convention typo', ['cost', 'bireal18-imagenet', '--convention', 'xnor'], /--convention/);
flag('cost target toString', ['cost', 'toString'], /toString/);
flag('simulate --objective typo', ['simulate', 'bireal-mnist', '--arch', 'edge', '--objective', 'fastest'], /--objective|fastest/);
flag('simulate --verify without --functional', ['simulate', 'bireal-mnist', '--arch', 'edge', '--verify'], /--verify/);
flag('simulate --seed 0.5', ['simulate', 'bireal-mnist', '--arch', 'edge', '--seed', '0.5'], /--seed/);
flag('run --top 0', ['run', 'bireal-mnist', '--top', '0'], /--top/);
flag('run --seed -2', ['run', 'bireal-mnist', '--seed', '-2'], /--seed/);
flag('inspect --seed NaN', ['inspect', 'bireal-mnist', '--seed', 'NaN'], /--seed/);
flag('export --bn-reestimate -1', ['export', MODEL, '--out', join(root, 'never.safetensors'), '--bn-reestimate', '-1'], /--bn-reestimate/);
flag('export --batch 0', ['export', MODEL, '--out', join(root, 'never.safetensors'), '--batch', '0'], /--batch/);
flag('ablate --seeds 5000', ['ablate', '--seeds', '5000'], /--seeds/);
flag('ablate --limit-test -1', ['ablate', '--limit-test', '-1'], /--limit-test/);
flag('demo --limit-train -1', ['demo', '--limit-train', '-1'], /--limit-train/);
flag('sweep --limit -1', ['sweep', 'reports/sweeps/bireal18-edge.spec.json', '--out', join(root, 'never.jsonl'), '--limit', '-1'], /--limit/);
flag('sweep --shard 0/2', ['sweep', 'reports/sweeps/bireal18-edge.spec.json', '--out', join(root, 'never.jsonl'), '--shard', '0/2'], /--shard/);
flag('sweep --shard 3/2', ['sweep', 'reports/sweeps/bireal18-edge.spec.json', '--out', join(root, 'never.jsonl'), '--shard', '3/2'], /--shard/);
flag('report --seed -1', ['report', 'paper-table', '--seed', '-1'], /--seed/);
flag('unknown command', ['simualte'], /E_USAGE/);
flag('unknown flag on train', [...T, '--epoch', '3'], /E_USAGE/);
flag('export --out onto its input', ['export', MODEL, '--out', MODEL], /--out/);
flag('cost --out onto a workload input', ['cost', 'workloads/bireal-mnist.json', '--out', 'workloads/bireal-mnist.json'], /--out/);

describe('bad-input corpus: exit 2, one located line, no stack, nothing left behind', () => {
  it('has at least 150 cases across every file kind and flags', () => {
    expect(cases.length).toBeGreaterThanOrEqual(150);
    expect(new Set(cases.map((c) => c.kind))).toEqual(new Set(['workload', 'arch', 'sweep spec', 'model', 'input', 'IDX', 'report input', 'flag']));
  });
  cases.forEach((c, i) => {
    it(`${c.kind}: ${c.name}`, async () => {
      const dir = join(root, String(i));
      mkdirSync(dir);
      const args = c.setup(dir);
      const before = readdirSync(dir).sort();
      const r = await runCli(args);
      expect(r.code, r.err).toBe(2);
      const lines = r.err.trim().split('\n');
      expect(lines, r.err).toHaveLength(1);
      expect(r.err).not.toMatch(/\n\s+at |E_INTERNAL/);
      for (const re of c.expect) expect(r.err).toMatch(re);
      expect(readdirSync(dir).sort(), 'no file left behind').toEqual(before);
    });
  });
  it('refused runs wrote nothing outside their folders either', () => {
    for (const f of ['never.safetensors', 'never.jsonl']) expect(existsSync(join(root, f))).toBe(false);
  });
});
