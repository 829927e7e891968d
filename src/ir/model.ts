/**
 * Model = network IR + weights, stored as one safetensors file (IR JSON in the metadata, tensors beside it).
 *
 * Two kinds (each op module declares its tensors, src/ops):
 *  - 'latent': training-form float weights, e.g. conv/bconv `weight` [O,kh,kw,I] (OHWI), conv `bias` [O],
 *    bn `gamma|beta|running_mean|running_var` [C], fc `weight` [O, H*W*C] and `bias` [O].
 *  - 'deployable': ops with a deployable form (ops/types.ts DeploySpec) hold it instead: every bconv exact +-1
 *    weights bit-packed as `weight_bits` (stored I32, read as uint32 words, [O,kh,kw,ceil(I/32)], same bit
 *    conventions as activations, core/bits.ts) and the folded output transform `mul`, `bias` [O] (alpha and,
 *    when the bconv's sole consumer is a BN, that BN folded in). Absorbed layers have no tensors. Other
 *    layers keep their latent form.
 * Tensor names are `${layerId}.${param}`. Loading checks every tensor's presence, shape, dtype and finiteness.
 */
import { readFileSync } from 'node:fs';
import { UserError, didYouMean } from '../core/diagnostics.ts';
import { decodeSafetensors, encodeSafetensors, type StArray } from '../core/safetensors.ts';
import { writeFileAtomic } from '../core/atomic.ts';
import { Rng } from '../core/rng.ts';
import { opOf } from '../ops/index.ts';
import type { ParamArray, ParamSpec } from '../ops/types.ts';
import type { ResolvedLayer, ResolvedNetwork } from './types.ts';
import { resolveNetwork, validateWorkload, parseJsonText } from './validate.ts';

export type ModelKind = 'latent' | 'deployable';
export type { ParamArray };

export interface Model {
  kind: ModelKind;
  net: ResolvedNetwork;
  params: Map<string, ParamArray>;
  /** free-form provenance (trainer command, seed, dataset, accuracy); written into the file */
  meta: Record<string, string>;
}

/** Latent tensors of a layer (name without the layer prefix), as its op module declares them. */
export function latentParams(rl: ResolvedLayer): Record<string, ParamSpec> {
  return opOf(rl.layer).params?.(rl.layer, rl.inShapes) ?? {};
}

/**
 * Deployment absorption (ops' DeploySpec.absorbs): the layers each layer absorbs (a bconv its BN), and the
 * set of absorbed layer ids (they have no tensors of their own in a deployable model).
 */
export function absorption(net: ResolvedNetwork): { by: Map<string, ResolvedLayer[]>; absorbed: Set<string> } {
  const by = new Map<string, ResolvedLayer[]>(), absorbed = new Set<string>();
  for (const rl of net.layers) {
    const ids = opOf(rl.layer).deploy?.absorbs(rl, net) ?? [];
    if (!ids.length) continue;
    by.set(rl.layer.id, ids.map((id) => net.byId.get(id)!));
    for (const id of ids) absorbed.add(id);
  }
  return { by, absorbed };
}

/** Expected tensors (name -> [shape, dtype]) for a model of the given kind. */
export function expectedTensors(net: ResolvedNetwork, kind: ModelKind): Map<string, { shape: number[]; dtype: 'F32' | 'I32' }> {
  const m = new Map<string, { shape: number[]; dtype: 'F32' | 'I32' }>();
  const { absorbed } = kind === 'deployable' ? absorption(net) : { absorbed: new Set<string>() };
  for (const rl of net.layers) {
    const id = rl.layer.id;
    if (absorbed.has(id)) continue;
    const dep = kind === 'deployable' ? opOf(rl.layer).deploy : undefined;
    if (dep) { for (const [p, t] of Object.entries(dep.tensors(rl))) m.set(`${id}.${p}`, t); continue; }
    for (const [p, spec] of Object.entries(latentParams(rl))) m.set(`${id}.${p}`, { shape: spec.shape, dtype: 'F32' });
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
 * A latent model with seeded random weights (ops/types.ts ParamRole): He-normal weights, gains and variances
 * in [0.5, 1.5], everything else ~ N(0, 0.1^2). Same seed, same bytes.
 */
export function randomModel(net: ResolvedNetwork, seed: number): Model {
  const rng = new Rng(seed);
  const params = new Map<string, ParamArray>();
  for (const rl of net.layers) {
    for (const [p, { shape, role }] of Object.entries(latentParams(rl))) {
      const n = shape.reduce((a, b) => a * b, 1);
      const a = new Float32Array(n);
      const fanIn = shape.slice(1).reduce((x, y) => x * y, 1);
      if (role === 'weight') rng.fillNormal(a, Math.sqrt(2 / fanIn));
      else if (role === 'gain' || role === 'variance') rng.fillUniform(a, 0.5, 1.5);
      else rng.fillNormal(a, 0.1);
      params.set(`${rl.layer.id}.${p}`, a);
    }
  }
  return { kind: 'latent', net, params, meta: { 'weights': `random, seed ${seed}` } };
}

/**
 * A deployable model whose tensors are zeros (latent-form layers left standing, such as an unfused BN: gains
 * and variances 1): for consumers that need only shapes (cost accounting, timing-only simulation). Cheap: no
 * random numbers are drawn and nothing is packed (the tensors are those expectedTensors names for a
 * deployable file, so lowering takes them as they are).
 */
export function shapeOnlyModel(net: ResolvedNetwork): Model {
  const params = new Map<string, ParamArray>();
  const latentRoles = new Map<string, string>();
  for (const rl of net.layers) for (const [p, { role }] of Object.entries(latentParams(rl))) latentRoles.set(`${rl.layer.id}.${p}`, role);
  for (const [name, { shape, dtype }] of expectedTensors(net, 'deployable')) {
    const n = shape.reduce((x, y) => x * y, 1);
    const a = dtype === 'I32' ? new Uint32Array(n) : new Float32Array(n);
    const role = latentRoles.get(name);
    if (role === 'variance' || role === 'gain') a.fill(1);
    params.set(name, a);
  }
  return { kind: 'deployable', net, params, meta: { weights: 'none (shape-only placeholder)' } };
}

export type { ResolvedLayer };
