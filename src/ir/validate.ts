/**
 * Workload validation and shape inference. Every problem becomes a UserError naming the file, the JSON path
 * ($.layers[3].kernel), what was expected, and a "did you mean" for unknown keys and ops.
 */
import { UserError, didYouMeanHint, didYouMean } from '../core/diagnostics.ts';
import { outSize, windowProblem } from '../core/geometry.ts';
import {
  OP_NAMES, SCHEMA_ID, type Layer, type ResolvedLayer, type ResolvedNetwork, type TensorInfo, type Workload,
} from './types.ts';

type Json = Record<string, unknown>;

/** Allowed keys per op, with a default (undefined = required). */
const OP_KEYS: Record<string, Record<string, unknown>> = {
  conv: { outChannels: undefined, kernel: undefined, stride: 1, pad: 0, bias: false },
  bconv: { outChannels: undefined, kernel: undefined, stride: 1, pad: 0, padMode: 'zero', weightScale: 'channel' },
  sign: {},
  bn: { eps: 1e-5 },
  add: {},
  avgpool: { kernel: undefined, stride: undefined, pad: 0 },
  maxpool: { kernel: undefined, stride: undefined, pad: 0 },
  gap: {},
  fc: { outFeatures: undefined, bias: true },
  actscale: { kernel: undefined, stride: 1, pad: 0 },
  relu: {},
  clip: {},
};
const TWO_INPUT = new Set(['add', 'actscale']);
const TOP_KEYS = ['schema', 'name', 'description', 'family', 'input', 'layers', 'output'];

function err(file: string | undefined, path: string, msg: string, hint?: string, code = 'E_WORKLOAD'): UserError {
  return new UserError(code, msg, { file, path, hint });
}

function isObj(v: unknown): v is Json { return typeof v === 'object' && v !== null && !Array.isArray(v); }

function posInt(v: unknown, file: string | undefined, path: string, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw err(file, path, `expected an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Parses JSON text with a located error. */
export function parseJsonText(text: string, file?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec(String((e as Error).message));
    let where = '';
    if (m) {
      const pos = Number(m[1]);
      const before = text.slice(0, pos);
      const line = before.split('\n').length;
      const col = pos - before.lastIndexOf('\n');
      where = ` at line ${line}, column ${col}`;
    }
    throw new UserError('E_JSON', `invalid JSON${where}: ${(e as Error).message}`, { file, path: '$', hint: 'check for trailing commas, missing quotes or a truncated file' });
  }
}

/** Validates a parsed workload object and returns a normalised Workload (defaults filled in). */
export function validateWorkload(raw: unknown, file?: string): Workload {
  if (!isObj(raw)) throw err(file, '$', `expected a JSON object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  for (const k of Object.keys(raw)) {
    if (!TOP_KEYS.includes(k)) throw err(file, `$.${k}`, `unknown key '${k}'`, didYouMeanHint(k, TOP_KEYS), 'E_UNKNOWN_KEY');
  }
  if (raw.schema !== SCHEMA_ID) {
    throw err(file, '$.schema', `expected "${SCHEMA_ID}", got ${JSON.stringify(raw.schema)}`, 'this file is not a birealsim workload, or was written by an incompatible version', 'E_SCHEMA');
  }
  if (typeof raw.name !== 'string' || !raw.name) throw err(file, '$.name', 'expected a non-empty string');
  const inp = raw.input;
  if (!isObj(inp)) throw err(file, '$.input', 'expected an object {h, w, c}');
  for (const k of Object.keys(inp)) if (!['h', 'w', 'c'].includes(k)) throw err(file, `$.input.${k}`, `unknown key '${k}'`, didYouMeanHint(k, ['h', 'w', 'c']), 'E_UNKNOWN_KEY');
  const input = { h: posInt(inp.h, file, '$.input.h'), w: posInt(inp.w, file, '$.input.w'), c: posInt(inp.c, file, '$.input.c') };
  if (!Array.isArray(raw.layers) || raw.layers.length === 0) throw err(file, '$.layers', 'expected a non-empty array of layers');
  const ids = new Set<string>(['input']);
  const layers: Layer[] = [];
  raw.layers.forEach((rl: unknown, i: number) => {
    const p = `$.layers[${i}]`;
    if (!isObj(rl)) throw err(file, p, 'expected a layer object');
    const op = rl.op;
    if (typeof op !== 'string') throw err(file, `${p}.op`, 'expected a string op name', `one of: ${OP_NAMES.join(', ')}`);
    if (!(op in OP_KEYS)) throw err(file, `${p}.op`, `unknown op '${op}'`, didYouMeanHint(op, OP_NAMES), 'E_UNKNOWN_OP');
    const id = rl.id;
    if (typeof id !== 'string' || !id) throw err(file, `${p}.id`, 'expected a non-empty string id');
    if (ids.has(id)) throw err(file, `${p}.id`, `duplicate layer id '${id}'`, 'ids must be unique and "input" is reserved');
    const allowed = OP_KEYS[op];
    const common = TWO_INPUT.has(op) ? ['id', 'op', 'inputs'] : ['id', 'op', 'in'];
    for (const k of Object.keys(rl)) {
      if (!common.includes(k) && !(k in allowed)) {
        throw err(file, `${p}.${k}`, `unknown key '${k}' for op '${op}'`, didYouMeanHint(k, [...common, ...Object.keys(allowed)]), 'E_UNKNOWN_KEY');
      }
    }
    const out: Json = { id, op };
    for (const [k, def] of Object.entries(allowed)) {
      const v = rl[k] === undefined ? def : rl[k];
      if (v === undefined) throw err(file, `${p}.${k}`, `missing required key '${k}' for op '${op}'`);
      out[k] = v;
    }
    for (const k of ['outChannels', 'outFeatures', 'kernel', 'stride']) if (k in out) posInt(out[k], file, `${p}.${k}`);
    if ('pad' in out) posInt(out.pad, file, `${p}.pad`, 0);
    if ('bias' in out && typeof out.bias !== 'boolean') throw err(file, `${p}.bias`, `expected true or false, got ${JSON.stringify(out.bias)}`);
    if (op === 'bconv') {
      if (out.padMode !== 'zero' && out.padMode !== 'one') throw err(file, `${p}.padMode`, `expected 'zero' or 'one', got ${JSON.stringify(out.padMode)}`, didYouMeanHint(String(out.padMode), ['zero', 'one']));
      if (out.weightScale !== 'channel' && out.weightScale !== 'none') throw err(file, `${p}.weightScale`, `expected 'channel' or 'none', got ${JSON.stringify(out.weightScale)}`);
    }
    if (op === 'bn' && !(typeof out.eps === 'number' && out.eps > 0 && Number.isFinite(out.eps))) throw err(file, `${p}.eps`, `expected a positive number, got ${JSON.stringify(out.eps)}`);
    if (TWO_INPUT.has(op)) {
      const ins = rl.inputs;
      if (!Array.isArray(ins) || ins.length !== 2 || !ins.every((s) => typeof s === 'string')) throw err(file, `${p}.inputs`, `op '${op}' expects "inputs": [two layer ids]`);
      ins.forEach((s: string, j: number) => { if (!ids.has(s)) throw err(file, `${p}.inputs[${j}]`, `unknown layer '${s}' (inputs must refer to earlier layers)`, hintId(s, ids)); });
      out.inputs = [...ins];
    } else if (rl.in !== undefined) {
      if (typeof rl.in !== 'string' || !ids.has(rl.in)) throw err(file, `${p}.in`, `unknown layer ${JSON.stringify(rl.in)} (in must refer to an earlier layer or "input")`, hintId(String(rl.in), ids));
      out.in = rl.in;
    }
    ids.add(id);
    layers.push(out as unknown as Layer);
  });
  let output: string | undefined;
  if (raw.output !== undefined) {
    if (typeof raw.output !== 'string' || !ids.has(raw.output)) throw err(file, '$.output', `unknown layer ${JSON.stringify(raw.output)}`, hintId(String(raw.output), ids));
    output = raw.output;
  }
  const wl: Workload = { schema: SCHEMA_ID, name: raw.name, input, layers };
  if (typeof raw.description === 'string') wl.description = raw.description;
  if (typeof raw.family === 'string') wl.family = raw.family;
  if (output) wl.output = output;
  return wl;
}

function hintId(s: string, ids: Set<string>): string | undefined {
  const m = didYouMean(s, [...ids]);
  return m ? `did you mean '${m}'?` : undefined;
}

/** Shape inference over a validated workload. Errors name the layer's JSON path. */
export function resolveNetwork(wl: Workload, file?: string): ResolvedNetwork {
  const shapes = new Map<string, TensorInfo>();
  const input: TensorInfo = { ...wl.input, dtype: 'real' };
  shapes.set('input', input);
  const layers: ResolvedLayer[] = [];
  const byId = new Map<string, ResolvedLayer>();
  let prev = 'input';
  wl.layers.forEach((l, index) => {
    const p = `$.layers[${index}]`;
    const inputs = 'inputs' in l ? [...l.inputs] : [l.in ?? prev];
    const inShapes = inputs.map((s) => shapes.get(s)!);
    const a = inShapes[0];
    const need = (dtype: 'real' | 'bits', t: TensorInfo, which: string) => {
      if (t.dtype !== dtype) {
        throw err(file, p, `op '${l.op}' needs a ${dtype} ${which}, but '${inputs[0]}' produces ${t.dtype}`,
          dtype === 'bits' ? "insert a {\"op\": \"sign\"} layer before a bconv" : 'a bit tensor can only feed a bconv', 'E_SHAPE');
      }
    };
    const win = (k: number, s: number, pd: number, size: number, axis: string) => {
      const pr = windowProblem(size, { kernel: k, stride: s, pad: pd });
      if (pr) throw err(file, p, `${axis}: ${pr}`, undefined, 'E_SHAPE');
      return outSize(size, { kernel: k, stride: s, pad: pd });
    };
    let out: TensorInfo;
    switch (l.op) {
      case 'conv':
      case 'bconv':
        need(l.op === 'conv' ? 'real' : 'bits', a, 'input');
        out = { h: win(l.kernel, l.stride, l.pad, a.h, 'height'), w: win(l.kernel, l.stride, l.pad, a.w, 'width'), c: l.outChannels, dtype: 'real' };
        break;
      case 'sign': need('real', a, 'input'); out = { ...a, dtype: 'bits' }; break;
      case 'bn': case 'relu': case 'clip': need('real', a, 'input'); out = { ...a }; break;
      case 'add': {
        need('real', a, 'input'); need('real', inShapes[1], 'second input');
        const b = inShapes[1];
        if (a.h !== b.h || a.w !== b.w || a.c !== b.c) {
          throw err(file, `${p}.inputs`, `shape mismatch: '${inputs[0]}' is ${a.h}x${a.w}x${a.c} but '${inputs[1]}' is ${b.h}x${b.w}x${b.c}`, 'a downsampling block needs a shortcut with the same stride and channel count', 'E_SHAPE');
        }
        out = { ...a };
        break;
      }
      case 'avgpool': case 'maxpool':
        need('real', a, 'input');
        out = { h: win(l.kernel, l.stride, l.pad, a.h, 'height'), w: win(l.kernel, l.stride, l.pad, a.w, 'width'), c: a.c, dtype: 'real' };
        break;
      case 'gap': need('real', a, 'input'); out = { h: 1, w: 1, c: a.c, dtype: 'real' }; break;
      case 'fc': need('real', a, 'input'); out = { h: 1, w: 1, c: l.outFeatures, dtype: 'real' }; break;
      case 'actscale': {
        need('real', a, 'input'); need('real', inShapes[1], 'second input');
        const b = inShapes[1];
        const oh = win(l.kernel, l.stride, l.pad, b.h, 'height'), ow = win(l.kernel, l.stride, l.pad, b.w, 'width');
        if (oh !== a.h || ow !== a.w) throw err(file, `${p}.inputs`, `K map of '${inputs[1]}' is ${oh}x${ow} but '${inputs[0]}' is ${a.h}x${a.w}`, 'actscale takes the same kernel/stride/pad as the bconv it scales', 'E_SHAPE');
        out = { ...a };
        break;
      }
    }
    const rl: ResolvedLayer = { layer: l, index, inputs, inShapes, out, consumers: [] };
    for (const s of inputs) byId.get(s)?.consumers.push(l.id);
    layers.push(rl);
    byId.set(l.id, rl);
    shapes.set(l.id, out);
    prev = l.id;
  });
  const output = wl.output ?? prev;
  if (byId.get(output)!.out.dtype !== 'real') throw err(file, '$.output', `output '${output}' is a bit tensor`, 'end the network with a real-valued layer (fc, gap)', 'E_SHAPE');
  return { workload: wl, input, layers, byId, output };
}

/** Reads, validates and resolves a workload from JSON text. */
export function loadWorkloadText(text: string, file?: string): ResolvedNetwork {
  return resolveNetwork(validateWorkload(parseJsonText(text, file), file), file);
}
