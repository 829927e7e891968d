/**
 * Workload validation and shape inference. Every problem becomes a UserError naming the file, the JSON path
 * ($.layers[3].kernel), what was expected, and a "did you mean" for unknown keys and ops. A one-input layer's
 * own `input` shape (instead of `in`) starts an independent segment (ir/segments.ts): its input is an extra
 * network input `input:<id>`, collected in ResolvedNetwork.segmentInputs.
 */
import { UserError, didYouMeanHint, didYouMean } from '../core/diagnostics.ts';
import { OP_NAMES, hasOp, opModule } from '../ops/index.ts';
import type { KeySpec } from '../ops/types.ts';
import { SEGMENT_INPUT_PREFIX, segmentInputName } from './segments.ts';
import { SCHEMA_ID, type Layer, type ResolvedLayer, type ResolvedNetwork, type TensorInfo, type Workload } from './types.ts';

type Json = Record<string, unknown>;

const TOP_KEYS = ['$schema', 'schema', 'name', 'description', 'family', 'input', 'layers', 'output'];

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

/** Checks one op key's value against its declaration (ops/types.ts KeySpec). */
function checkKey(v: unknown, spec: KeySpec, file: string | undefined, path: string): void {
  switch (spec.type) {
    case 'int': posInt(v, file, path, spec.min); return;
    case 'number': if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw err(file, path, `expected a positive number, got ${JSON.stringify(v)}`); return;
    case 'bool': if (typeof v !== 'boolean') throw err(file, path, `expected true or false, got ${JSON.stringify(v)}`); return;
    case 'enum': if (typeof v !== 'string' || !spec.values.includes(v)) throw err(file, path, `expected ${spec.values.map((x) => `'${x}'`).join(' or ')}, got ${JSON.stringify(v)}`, didYouMeanHint(String(v), spec.values)); return;
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
    if (!hasOp(op)) throw err(file, `${p}.op`, `unknown op '${op}'`, didYouMeanHint(op, OP_NAMES), 'E_UNKNOWN_OP');
    const mod = opModule(op);
    const id = rl.id;
    if (typeof id !== 'string' || !id) throw err(file, `${p}.id`, 'expected a non-empty string id');
    if (ids.has(id)) throw err(file, `${p}.id`, `duplicate layer id '${id}'`, 'ids must be unique and "input" is reserved');
    if (id.startsWith(SEGMENT_INPUT_PREFIX)) throw err(file, `${p}.id`, `layer id '${id}' begins with '${SEGMENT_INPUT_PREFIX}'`, `ids beginning with '${SEGMENT_INPUT_PREFIX}' name segment inputs (a layer's own "input" shape); rename the layer`);
    const common = mod.arity === 2 ? ['id', 'op', 'inputs'] : ['id', 'op', 'in', 'input'];
    const own = Object.keys(mod.keys);
    for (const k of Object.keys(rl)) {
      if (!common.includes(k) && !own.includes(k)) {
        throw err(file, `${p}.${k}`, `unknown key '${k}' for op '${op}'`, didYouMeanHint(k, [...common, ...own]), 'E_UNKNOWN_KEY');
      }
    }
    const out: Json = { id, op };
    for (const [k, spec] of Object.entries(mod.keys)) {
      const v = rl[k] === undefined ? spec.default : rl[k];
      if (v === undefined) throw err(file, `${p}.${k}`, `missing required key '${k}' for op '${op}'`);
      checkKey(v, spec, file, `${p}.${k}`);
      out[k] = v;
    }
    if (mod.arity === 2) {
      const ins = rl.inputs;
      if (!Array.isArray(ins) || ins.length !== 2 || !ins.every((s) => typeof s === 'string')) throw err(file, `${p}.inputs`, `op '${op}' expects "inputs": [two layer ids]`);
      ins.forEach((s: string, j: number) => { if (!ids.has(s)) throw err(file, `${p}.inputs[${j}]`, `unknown layer '${s}' (inputs must refer to earlier layers)`, hintId(s, ids)); });
      out.inputs = [...ins];
    } else if (rl.input !== undefined) {
      // an independent segment starts here (ir/segments.ts): the layer reads its own input tensor
      if (rl.in !== undefined) throw err(file, `${p}.input`, 'a layer takes either "in" (an earlier layer) or "input" (its own input shape), not both', 'drop one of them');
      const si = rl.input;
      if (!isObj(si)) throw err(file, `${p}.input`, 'expected an object {h, w, c}: the shape of this layer\'s own input');
      for (const k of Object.keys(si)) if (!['h', 'w', 'c'].includes(k)) throw err(file, `${p}.input.${k}`, `unknown key '${k}'`, didYouMeanHint(k, ['h', 'w', 'c']), 'E_UNKNOWN_KEY');
      out.input = { h: posInt(si.h, file, `${p}.input.h`), w: posInt(si.w, file, `${p}.input.w`), c: posInt(si.c, file, `${p}.input.c`) };
      ids.add(segmentInputName(id));
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

/**
 * Largest tensor (activation or parameter) a workload may declare, in elements: 2^28 (1 GiB as fp32; the
 * largest in Bi-Real-34 / ResNet-34 at 224x224 are ~0.8M activations and ~2.4M weights). Checked during shape
 * inference, before anything is allocated, so an absurd size is a clear error rather than a RangeError.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

function checkSize(elements: number, what: string, path: string, file: string | undefined): void {
  if (elements > MAX_TENSOR_ELEMENTS) {
    throw err(file, path, `${what} has ${elements.toExponential(3)} elements, over the limit of ${MAX_TENSOR_ELEMENTS.toLocaleString('en-US')} (2^28)`, 'use a smaller input or fewer channels', 'E_SIZE');
  }
}

/** Shape inference over a validated workload. Errors name the layer's JSON path. */
export function resolveNetwork(wl: Workload, file?: string): ResolvedNetwork {
  const shapes = new Map<string, TensorInfo>();
  const input: TensorInfo = { ...wl.input, dtype: 'real' };
  checkSize(input.h * input.w * input.c, `the input ${input.h}x${input.w}x${input.c}`, '$.input', file);
  shapes.set('input', input);
  const layers: ResolvedLayer[] = [];
  const byId = new Map<string, ResolvedLayer>();
  const segmentInputs = new Map<string, TensorInfo>();
  let prev = 'input';
  wl.layers.forEach((l, index) => {
    const p = `$.layers[${index}]`;
    const mod = opModule(l.op);
    if (l.input) {
      const name = segmentInputName(l.id), t: TensorInfo = { ...l.input, dtype: 'real' };
      checkSize(t.h * t.w * t.c, `the input of '${l.id}' (${t.h}x${t.w}x${t.c})`, `${p}.input`, file);
      segmentInputs.set(name, t);
      shapes.set(name, t);
    }
    const inputs = mod.arity === 2 ? [...l.inputs!] : [l.input ? segmentInputName(l.id) : l.in ?? prev];
    const inShapes = inputs.map((s) => shapes.get(s)!);
    const fail = (msg: string, hint?: string, suffix = ''): never => { throw err(file, `${p}${suffix}`, msg, hint, 'E_SHAPE'); };
    mod.inputDtypes.forEach((dtype, i) => {
      const t = inShapes[i];
      if (t.dtype !== dtype) {
        fail(`op '${l.op}' needs a ${dtype} ${i === 0 ? 'input' : 'second input'}, but '${inputs[i]}' produces ${t.dtype}`,
          dtype === 'bits' ? `insert a binary activation before it (an op producing bits: ${OP_NAMES.filter((o) => opModule(o).executesAs === 'pack').join(', ')})` : 'a bit tensor can only feed a binary conv');
      }
    });
    mod.validate?.(l, fail);
    const out = mod.infer(l, inShapes, fail);
    checkSize(out.h * out.w * out.c, `the output of '${l.id}' (${out.h}x${out.w}x${out.c})`, p, file);
    for (const [name, spec] of Object.entries(mod.params?.(l, inShapes) ?? {})) checkSize(spec.shape.reduce((a, b) => a * b, 1), `parameter '${l.id}.${name}' [${spec.shape.join('x')}]`, p, file);
    const rl: ResolvedLayer = { layer: l, index, inputs, inShapes, out, consumers: [] };
    for (const s of inputs) byId.get(s)?.consumers.push(l.id);
    layers.push(rl);
    byId.set(l.id, rl);
    shapes.set(l.id, out);
    prev = l.id;
  });
  const output = wl.output ?? prev;
  if (byId.get(output)!.out.dtype !== 'real') throw err(file, '$.output', `output '${output}' is a bit tensor`, 'end the network with a real-valued layer (fc, gap)', 'E_SHAPE');
  return { workload: wl, input, segmentInputs, layers, byId, output };
}

/** Reads, validates and resolves a workload from JSON text. */
export function loadWorkloadText(text: string, file?: string): ResolvedNetwork {
  return resolveNetwork(validateWorkload(parseJsonText(text, file), file), file);
}
