/**
 * `birealsim import <state dict>.safetensors --workload NET [--map names.json]`: a plain PyTorch state dict
 * (saved as safetensors: `safetensors.torch.save_file(model.state_dict(), ...)`, or train.py of
 * `birealsim export-torch`) plus the network's IR as a birealsim latent model.
 *
 * Which tensor is which IR parameter: with a map, the map says (a JSON object, state-dict name -> IR tensor
 * name `<layer id>.<param>`, or null to skip a tensor); without one, the names `export-torch` generates
 * (interop/torch-export.ts torchStateDict: the layer id's path + PyTorch's parameter name). Each tensor is
 * checked against the IR parameter the op registry declares (ops/<op>.ts `params`, shapes in PyTorch's
 * layout by the torch emitters: conv weights [O, I, kh, kw]): dtype F32, exact shape; a missing IR tensor, a
 * state-dict tensor that maps to nothing, and two tensors mapping to one parameter are errors (E_STATE_DICT,
 * exit 2, naming the tensor, the expected and the given shape, and a hint). BN's `num_batches_tracked`
 * counters are skipped. The result then passes the model loader's own checks (finite values, variances >= 0).
 */
import { UserError, didYouMean } from '../core/diagnostics.ts';
import { decodeModel, encodeModel, type Model } from '../ir/model.ts';
import type { ResolvedNetwork } from '../ir/types.ts';
import { parseJsonText } from '../ir/validate.ts';
import { torchStateDict, type TorchTensor } from './torch-export.ts';
import { toIrLayout } from './torch-ops.ts';

interface RawTensor { dtype: string; shape: number[]; begin: number; end: number }

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, U16: 2, U32: 4, U64: 8, BOOL: 1 };

/** The safetensors header of any dtype (data is read only for the F32 tensors used). */
function readHeader(buf: Uint8Array, file: string): { tensors: Map<string, RawTensor>; metadata: Record<string, string>; dataStart: number } {
  const fail = (msg: string, path = '$', hint?: string) => new UserError('E_SAFETENSORS', msg, { file, path, hint });
  if (buf.length < 8) throw fail(`file is ${buf.length} bytes, too short for a safetensors header`, '$', 'save the state dict with safetensors.torch.save_file (or train.py of export-torch)');
  const n = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  if (n > buf.length - 8 || n > 100 * 1024 * 1024) throw fail(`header length ${n} exceeds the file size ${buf.length}`, '$', 'the file is truncated or not safetensors (a torch.save .pt file is a zip/pickle: convert it with safetensors.torch.save_file)');
  let header: Record<string, unknown>;
  try { header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, n).toString('utf8')); } catch (e) { throw fail(`header is not valid JSON: ${(e as Error).message}`, '$', 'the file is corrupted or not safetensors'); }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('header is not a JSON object');
  const tensors = new Map<string, RawTensor>();
  let metadata: Record<string, string> = {};
  const dataLen = buf.length - 8 - n;
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = (v ?? {}) as Record<string, string>; continue; }
    const e = v as { dtype?: string; shape?: number[]; data_offsets?: number[] };
    const p = `$["${name}"]`;
    if (!e || typeof e !== 'object' || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) throw fail('expected {dtype, shape, data_offsets}', p);
    const [b, en] = e.data_offsets;
    if (!(Number.isInteger(b) && Number.isInteger(en) && b >= 0 && en >= b && en <= dataLen)) throw fail(`bad data_offsets [${b}, ${en}] (${dataLen} data bytes)`, `${p}.data_offsets`, 'the file is truncated or corrupted');
    const count = e.shape.reduce((a, x) => a * x, 1);
    const bytes = DTYPE_BYTES[e.dtype];
    if (bytes !== undefined && en - b !== count * bytes) throw fail(`shape ${JSON.stringify(e.shape)} needs ${count * bytes} bytes, offsets give ${en - b}`, `${p}.shape`);
    tensors.set(name, { dtype: e.dtype, shape: e.shape, begin: b, end: en });
  }
  return { tensors, metadata, dataStart: 8 + n };
}

/** Reads a --map file: state-dict name -> IR tensor name (or null: skip). */
export function parseTensorMap(text: string, file: string, irNames: readonly string[]): Map<string, string | null> {
  const raw = parseJsonText(text, file);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UserError('E_MAP', 'expected a JSON object: state-dict name -> "<layer id>.<param>" (or null to skip the tensor)', { file, path: '$', hint: 'names.json of `birealsim export-torch` is an example' });
  const m = new Map<string, string | null>();
  const known = new Set(irNames);
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (v !== null && typeof v !== 'string') throw new UserError('E_MAP', `expected an IR tensor name or null, got ${JSON.stringify(v)}`, { file, path: `$["${k}"]` });
    if (typeof v === 'string' && !known.has(v)) {
      const s = didYouMean(v, irNames);
      throw new UserError('E_MAP', `'${v}' is not a tensor of this network`, { file, path: `$["${k}"]`, hint: `${s ? `did you mean '${s}'? ` : ''}IR tensors are <layer id>.<param>: ${irNames.slice(0, 6).join(', ')}${irNames.length > 6 ? ', ...' : ''}` });
    }
    m.set(k, v as string | null);
  }
  return m;
}

export interface StateDictImport { model: Model; notes: string[]; counts: { tensors: number; skipped: number; layers: number }; metadata: Record<string, string> }

const layoutWord = (t: TorchTensor) => (t.layout === 'oihw' ? ` (IR ${t.ir} ${JSON.stringify(t.irShape)} in PyTorch's [out, in, kh, kw] layout)` : '');

export function importStateDict(buf: Uint8Array, opts: { file: string; net: ResolvedNetwork; map?: Map<string, string | null>; mapFile?: string; meta?: Record<string, string> }): StateDictImport {
  const { file, net } = opts;
  const { tensors, metadata, dataStart } = readHeader(buf, file);
  const names = torchStateDict(net);
  const byIr = new Map(names.tensors.map((t) => [t.ir, t]));
  const conventional = new Map(names.tensors.map((t) => [t.torch, t]));
  const notes: string[] = [];
  const fail = (msg: string, path: string, hint?: string) => new UserError('E_STATE_DICT', msg, { file, path, hint });
  const assigned = new Map<string, string>(); // IR name -> state-dict name
  let skipped = 0;
  const params = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    let target: TorchTensor | undefined;
    if (opts.map) {
      if (opts.map.has(name)) {
        const ir = opts.map.get(name);
        if (ir === null) { skipped++; continue; }
        target = byIr.get(ir!)!;
      }
    } else target = conventional.get(name);
    if (!target) {
      if (names.extras.has(name) || name.endsWith('.num_batches_tracked')) { skipped++; continue; }
      const cands = opts.map ? [...opts.map.keys()] : [...conventional.keys()];
      const s = didYouMean(name, cands);
      throw fail(`unused tensor '${name}' (${t.dtype} ${JSON.stringify(t.shape)}): it is no parameter of network '${net.workload.name}'`, `$["${name}"]`,
        opts.map ? `${s ? `did you mean '${s}'? ` : ''}add it to the map ${opts.mapFile ?? ''} (null skips it)` : `${s ? `did you mean '${s}'? ` : ''}the names export-torch generates are in its names.json; for other names give --map names.json`);
    }
    const prevName = assigned.get(target.ir);
    if (prevName !== undefined) throw fail(`tensors '${prevName}' and '${name}' both map to ${target.ir}`, `$["${name}"]`, 'each IR tensor takes exactly one state-dict tensor');
    assigned.set(target.ir, name);
    if (t.dtype !== 'F32') throw fail(`tensor '${name}' for ${target.ir} is ${t.dtype}, expected F32`, `$["${name}"].dtype`, 'save float32 tensors: {k: v.float() for k, v in model.state_dict().items()}');
    const same = t.shape.length === target.torchShape.length && t.shape.every((v, i) => v === target!.torchShape[i]);
    if (!same) {
      const transposed = target.layout === 'oihw' && t.shape.length === 4 && t.shape.every((v, i) => v === target!.irShape[i]);
      throw fail(`tensor '${name}' for ${target.ir} has shape ${JSON.stringify(t.shape)}, expected ${JSON.stringify(target.torchShape)}${layoutWord(target)}`, `$["${name}"].shape`,
        transposed ? 'the tensor is in the IR\'s [O, kh, kw, I] layout; a PyTorch state dict stores conv weights as [O, I, kh, kw] (permute(0, 3, 1, 2))' : 'the weights do not match the workload (channels, kernel or input size), or the map points at the wrong tensor');
    }
    const bytes = new Uint8Array(buf.subarray(dataStart + t.begin, dataStart + t.end));
    params.set(target.ir, toIrLayout(new Float32Array(bytes.buffer), target.irShape, target.layout));
  }
  for (const t of names.tensors) {
    if (!assigned.has(t.ir)) {
      const conv = opts.map ? '' : ` under the name '${t.torch}'`;
      throw fail(`missing tensor for ${t.ir} (expected F32 ${JSON.stringify(t.torchShape)}${conv})`, opts.map ? '$' : `$["${t.torch}"]`, opts.map ? `map a state-dict tensor to '${t.ir}' in ${opts.mapFile ?? 'the map'}` : 'the state dict lacks it: is it the network of --workload? otherwise give --map');
    }
  }
  if (skipped) notes.push(`skipped ${skipped} tensor${skipped === 1 ? '' : 's'} with no IR parameter (BN num_batches_tracked${opts.map ? ', or null in the map' : ''})`);
  const meta: Record<string, string> = { ...(opts.meta ?? {}) };
  const model: Model = { kind: 'latent', net, params, meta };
  // the loader's own checks (every tensor present with its shape, finite, variances >= 0)
  const checked = decodeModel(encodeModel(model), file);
  return { model: { ...checked, meta }, notes, counts: { tensors: assigned.size, skipped, layers: net.layers.length }, metadata };
}
