/**
 * Model = network IR + weights, stored as one safetensors file (IR JSON in the metadata, tensors beside it).
 *
 * Two kinds:
 *  - 'latent': training-form float weights. conv/bconv `weight` [O,kh,kw,I] (OHWI), conv `bias` [O],
 *    bn `gamma|beta|running_mean|running_var` [C], fc `weight` [O, H*W*C] and `bias` [O].
 *  - 'deployable': every bconv holds exact +-1 weights bit-packed as `weight_bits` (stored I32, read as
 *    uint32 words, [O,kh,kw,ceil(I/32)],
 *    same bit conventions as activations, core/bits.ts) and the folded output transform `mul`, `bias` [O]
 *    (alpha and, when the bconv feeds a BN, that BN folded in: see foldedBnOf). Folded BNs have no tensors.
 *    Real layers keep their latent form.
 * Tensor names are `${layerId}.${param}`. Loading checks every tensor's presence, shape, dtype and finiteness.
 */
import { readFileSync } from 'node:fs';
import { UserError, didYouMean } from '../core/diagnostics.ts';
import { decodeSafetensors, encodeSafetensors, type StArray } from '../core/safetensors.ts';
import { wordsFor } from '../core/bits.ts';
import { writeFileAtomic } from '../core/atomic.ts';
import { Rng } from '../core/rng.ts';
import { paramShapes, type ResolvedLayer, type ResolvedNetwork } from './types.ts';
import { resolveNetwork, validateWorkload, parseJsonText } from './validate.ts';

export type ModelKind = 'latent' | 'deployable';
export type ParamArray = Float32Array | Uint32Array;

export interface Model {
  kind: ModelKind;
  net: ResolvedNetwork;
  params: Map<string, ParamArray>;
  /** free-form provenance (trainer command, seed, dataset, accuracy); written into the file */
  meta: Record<string, string>;
}

/** The BN folded into a bconv's output transform: the bconv's sole consumer, when it is a bn. */
export function foldedBnOf(net: ResolvedNetwork, bconvId: string): string | undefined {
  const rl = net.byId.get(bconvId)!;
  if (rl.consumers.length !== 1) return undefined;
  const c = net.byId.get(rl.consumers[0])!;
  return c.layer.op === 'bn' && c.inputs[0] === bconvId ? c.layer.id : undefined;
}

/** The set of bn layer ids that a deployable model folds into bconvs. */
export function foldedBns(net: ResolvedNetwork): Set<string> {
  const s = new Set<string>();
  for (const rl of net.layers) if (rl.layer.op === 'bconv') { const b = foldedBnOf(net, rl.layer.id); if (b) s.add(b); }
  return s;
}

/** Expected tensors (name -> [shape, dtype]) for a model of the given kind. */
export function expectedTensors(net: ResolvedNetwork, kind: ModelKind): Map<string, { shape: number[]; dtype: 'F32' | 'I32' }> {
  const m = new Map<string, { shape: number[]; dtype: 'F32' | 'I32' }>();
  const folded = kind === 'deployable' ? foldedBns(net) : new Set<string>();
  for (const rl of net.layers) {
    const id = rl.layer.id;
    if (kind === 'deployable' && rl.layer.op === 'bconv') {
      const cin = rl.inShapes[0].c;
      m.set(`${id}.weight_bits`, { shape: [rl.layer.outChannels, rl.layer.kernel, rl.layer.kernel, wordsFor(cin)], dtype: 'I32' });
      m.set(`${id}.mul`, { shape: [rl.layer.outChannels], dtype: 'F32' });
      m.set(`${id}.bias`, { shape: [rl.layer.outChannels], dtype: 'F32' });
      continue;
    }
    if (folded.has(id)) continue;
    for (const [p, shape] of Object.entries(paramShapes(rl))) m.set(`${id}.${p}`, { shape, dtype: 'F32' });
  }
  return m;
}

export function encodeModel(model: Model): Uint8Array {
  const tensors = new Map<string, { shape: number[]; data: StArray }>();
  const exp = expectedTensors(model.net, model.kind);
  for (const [name, e] of exp) {
    const d = model.params.get(name);
    if (!d) throw new Error(`encodeModel: missing tensor ${name}`);
    // packed bits are stored as I32 (same bits; torch < 2.3 has no uint32 dtype)
    tensors.set(name, { shape: e.shape, data: d instanceof Uint32Array ? new Int32Array(d.buffer, d.byteOffset, d.length) : d });
  }
  const meta: Record<string, string> = {
    ...model.meta,
    'birealsim.format': 'birealsim.model/1',
    'birealsim.kind': model.kind,
    'birealsim.workload': JSON.stringify(model.net.workload),
  };
  return encodeSafetensors(tensors, meta);
}

export function saveModel(path: string, model: Model): void {
  writeFileAtomic(path, encodeModel(model));
}

export function decodeModel(buf: Uint8Array, file?: string): Model {
  const st = decodeSafetensors(buf, file);
  const fail = (msg: string, path: string, hint?: string) => new UserError('E_MODEL', msg, { file, path, hint });
  const md = st.metadata ?? {};
  if (md['birealsim.format'] !== 'birealsim.model/1') throw fail(`not a birealsim model (metadata birealsim.format = ${JSON.stringify(md['birealsim.format'])})`, '$.__metadata__["birealsim.format"]', 'write models with `birealsim train` or `birealsim export`');
  const kind = md['birealsim.kind'];
  if (kind !== 'latent' && kind !== 'deployable') throw fail(`expected kind 'latent' or 'deployable', got ${JSON.stringify(kind)}`, '$.__metadata__["birealsim.kind"]');
  const wlText = md['birealsim.workload'];
  if (typeof wlText !== 'string') throw fail('missing the network description', '$.__metadata__["birealsim.workload"]');
  const net = resolveNetwork(validateWorkload(parseJsonText(wlText, file), file), file);
  const exp = expectedTensors(net, kind);
  const params = new Map<string, ParamArray>();
  for (const name of st.tensors.keys()) {
    if (!exp.has(name)) throw fail(`unexpected tensor '${name}' for a ${kind} model of this network`, `$["${name}"]`, (() => { const m = didYouMean(name, [...exp.keys()]); return m ? `did you mean '${m}'?` : undefined; })());
  }
  for (const [name, e] of exp) {
    const t = st.tensors.get(name);
    if (!t) throw fail(`missing tensor '${name}' (expected ${e.dtype} ${JSON.stringify(e.shape)})`, `$["${name}"]`, kind === 'deployable' ? 'deployable models are written by `birealsim export`' : undefined);
    if (t.dtype !== e.dtype) throw fail(`expected dtype ${e.dtype}, got ${t.dtype}`, `$["${name}"].dtype`);
    if (t.shape.length !== e.shape.length || t.shape.some((v, i) => v !== e.shape[i])) throw fail(`expected shape ${JSON.stringify(e.shape)}, got ${JSON.stringify(t.shape)}`, `$["${name}"].shape`, 'the weights do not match the network description');
    if (t.data instanceof Float32Array) {
      for (let i = 0; i < t.data.length; i++) {
        if (!Number.isFinite(t.data[i])) throw fail(`non-finite value ${t.data[i]} at flat index ${i}`, `$["${name}"][${i}]`, 'the model diverged in training or the file is corrupted');
      }
      if (name.endsWith('.running_var')) for (let i = 0; i < t.data.length; i++) if (t.data[i] < 0) throw fail(`negative variance ${t.data[i]} at index ${i}`, `$["${name}"][${i}]`);
    }
    params.set(name, t.data instanceof Int32Array ? new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length) : (t.data as ParamArray));
  }
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(md)) if (!k.startsWith('birealsim.')) meta[k] = String(v);
  return { kind, net, params, meta };
}

export function loadModel(path: string): Model {
  let buf: Buffer;
  try { buf = readFileSync(path); } catch (e) {
    throw new UserError('E_IO', `cannot read model: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
  }
  return decodeModel(buf, path);
}

/**
 * A latent model with seeded random weights: He-normal conv/fc weights, BN gamma in [0.5, 1.5], beta and
 * running mean ~ N(0, 0.1^2), running var in [0.5, 1.5]. Same seed, same bytes.
 */
export function randomModel(net: ResolvedNetwork, seed: number): Model {
  const rng = new Rng(seed);
  const params = new Map<string, ParamArray>();
  for (const rl of net.layers) {
    for (const [p, shape] of Object.entries(paramShapes(rl))) {
      const n = shape.reduce((a, b) => a * b, 1);
      const a = new Float32Array(n);
      const fanIn = shape.slice(1).reduce((x, y) => x * y, 1);
      if (p === 'weight') rng.fillNormal(a, Math.sqrt(2 / fanIn));
      else if (p === 'gamma' || p === 'running_var') rng.fillUniform(a, 0.5, 1.5);
      else rng.fillNormal(a, 0.1);
      params.set(`${rl.layer.id}.${p}`, a);
    }
  }
  return { kind: 'latent', net, params, meta: { 'weights': `random, seed ${seed}` } };
}

/**
 * A latent model whose tensors are zeros (running variance 1): for consumers that need only shapes (cost
 * accounting, timing-only simulation). Cheap: no random numbers are drawn.
 */
export function shapeOnlyModel(net: ResolvedNetwork): Model {
  const params = new Map<string, ParamArray>();
  for (const rl of net.layers) {
    for (const [p, shape] of Object.entries(paramShapes(rl))) {
      const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
      if (p === 'running_var' || p === 'gamma') a.fill(1);
      params.set(`${rl.layer.id}.${p}`, a);
    }
  }
  return { kind: 'latent', net, params, meta: { weights: 'none (shape-only placeholder)' } };
}

export type { ResolvedLayer };
