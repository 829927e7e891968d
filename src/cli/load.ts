/**
 * Resolving command-line targets: a built-in workload name, a workload JSON file, or a model file
 * (.safetensors). Workloads without weights get seeded random weights. Input hashes are recorded so
 * reports can embed them.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { UserError, didYouMean } from '../core/diagnostics.ts';
import { BUILTIN_WORKLOADS } from '../ir/builders.ts';
import { loadWorkloadText, resolveNetwork } from '../ir/validate.ts';
import { decodeModel, randomModel, type Model } from '../ir/model.ts';
import type { ResolvedNetwork } from '../ir/types.ts';
import { tensor, type Tensor } from '../core/tensor.ts';
import { Rng } from '../core/rng.ts';
import { decodeSafetensors } from '../core/safetensors.ts';
import { parseJsonText } from '../ir/validate.ts';

export interface TargetSource { kind: 'builtin' | 'workload-file' | 'model-file'; name: string; path?: string; sha256?: string; weights: string }
export interface LoadedTarget { model: Model; source: TargetSource }

function readBytes(path: string, what: string): Buffer {
  try { return readFileSync(path); } catch (e) {
    throw new UserError('E_IO', `cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
  }
}

export function sha256(buf: Uint8Array): string { return createHash('sha256').update(buf).digest('hex'); }

/** Loads a network description only (built-in name, workload JSON, or the network of a .safetensors model). */
export function loadNetwork(arg: string): { net: ResolvedNetwork; source: TargetSource } {
  if (BUILTIN_WORKLOADS[arg]) {
    return { net: resolveNetwork(BUILTIN_WORKLOADS[arg]()), source: { kind: 'builtin', name: arg, weights: 'none' } };
  }
  if (!existsSync(arg)) {
    const m = didYouMean(arg, Object.keys(BUILTIN_WORKLOADS));
    throw new UserError('E_TARGET', `no such file or built-in workload '${arg}'`, { hint: `${m ? `did you mean '${m}'? ` : ''}built-ins: ${Object.keys(BUILTIN_WORKLOADS).join(', ')}; or give a .json workload or a .safetensors model` });
  }
  if (arg.endsWith('.safetensors')) {
    // a model file's network (an imported or trained model's cost, timing-only simulation)
    const buf = readBytes(arg, 'model');
    const model = decodeModel(buf, arg);
    return { net: model.net, source: { kind: 'model-file', name: model.net.workload.name, path: arg, sha256: sha256(buf), weights: 'none' } };
  }
  const buf = readBytes(arg, 'workload');
  const net = loadWorkloadText(buf.toString('utf8'), arg);
  return { net, source: { kind: 'workload-file', name: net.workload.name, path: arg, sha256: sha256(buf), weights: 'none' } };
}

/** Loads a model, or a workload with seeded random weights. */
export function loadTarget(arg: string, seed: number): LoadedTarget {
  if (!BUILTIN_WORKLOADS[arg] && existsSync(arg) && !arg.endsWith('.json')) {
    const buf = readBytes(arg, 'model');
    const model = decodeModel(buf, arg);
    return { model, source: { kind: 'model-file', name: model.net.workload.name, path: arg, sha256: sha256(buf), weights: `${model.kind} model` } };
  }
  const { net, source } = loadNetwork(arg);
  return { model: randomModel(net, seed), source: { ...source, weights: `random (seed ${seed})` } };
}

/**
 * Loads an input image: a .json file (a flat array of h*w*c numbers in HWC order, or {"shape": [h,w,c],
 * "data": [...]}) or a .safetensors file with one F32 tensor of shape [h,w,c] (or [1,h,w,c]). Without a file,
 * a seeded standard-normal image.
 */
export function loadInput(path: string | undefined, net: ResolvedNetwork, seed: number): { input: Tensor; desc: string; sha256?: string } {
  const { h, w, c } = net.input;
  if (!path) {
    const t = tensor(h, w, c);
    new Rng(seed ^ 0x5eed).fillNormal(t.data);
    return { input: t, desc: `random N(0,1) ${h}x${w}x${c} (seed ${seed})` };
  }
  const buf = readBytes(path, 'input');
  let data: ArrayLike<number>;
  if (path.endsWith('.json')) {
    const j = parseJsonText(buf.toString('utf8'), path) as unknown;
    const arr = Array.isArray(j) ? j : (j as { data?: unknown }).data;
    if (!Array.isArray(arr)) throw new UserError('E_INPUT', 'expected a flat array of numbers or {"shape": [h,w,c], "data": [...]}', { file: path, path: '$' });
    const flat = (arr as unknown[]).flat(3);
    flat.forEach((v, i) => { if (typeof v !== 'number' || !Number.isFinite(v)) throw new UserError('E_INPUT', `expected a finite number, got ${JSON.stringify(v)}`, { file: path, path: `$.data[${i}]` }); });
    data = flat as number[];
  } else {
    const st = decodeSafetensors(buf, path);
    if (st.tensors.size !== 1) throw new UserError('E_INPUT', `expected exactly one tensor, found ${st.tensors.size}`, { file: path, path: '$' });
    const [name, t] = [...st.tensors][0];
    if (t.dtype !== 'F32') throw new UserError('E_INPUT', `expected an F32 tensor, got ${t.dtype}`, { file: path, path: `$["${name}"].dtype` });
    data = t.data as Float32Array;
    const bad = (data as Float32Array).findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new UserError('E_INPUT', `expected a finite number, got ${data[bad]} at flat index ${bad}`, { file: path, path: `$["${name}"][${bad}]` });
  }
  if (data.length !== h * w * c) throw new UserError('E_INPUT', `expected ${h}*${w}*${c} = ${h * w * c} values (HWC), got ${data.length}`, { file: path, path: '$', hint: `the network '${net.workload.name}' takes ${h}x${w}x${c} inputs` });
  const t = tensor(h, w, c, Float32Array.from(data));
  return { input: t, desc: path, sha256: sha256(buf) };
}
