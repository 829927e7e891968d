/**
 * Reader/writer for the safetensors format (huggingface/safetensors, documented spec): 8-byte little-endian
 * header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}},
 * then the raw little-endian tensor bytes. Offsets are relative to the end of the header. PyTorch users read
 * our files with `safetensors.torch.load_file`.
 * Supported dtypes: F32, U8, I32, U32 (what birealsim writes). Every structural problem is a UserError.
 */
import { UserError } from './diagnostics.ts';

export type StDtype = 'F32' | 'U8' | 'I32' | 'U32';
export type StArray = Float32Array | Uint8Array | Int32Array | Uint32Array;
export interface StTensor { dtype: StDtype; shape: number[]; data: StArray }
export interface StFile { tensors: Map<string, StTensor>; metadata: Record<string, string> }

const BYTES: Record<StDtype, number> = { F32: 4, U8: 1, I32: 4, U32: 4 };

function dtypeOf(a: StArray): StDtype {
  if (a instanceof Float32Array) return 'F32';
  if (a instanceof Uint8Array) return 'U8';
  if (a instanceof Int32Array) return 'I32';
  return 'U32';
}

export function encodeSafetensors(tensors: Map<string, { shape: number[]; data: StArray }>, metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  const names = [...tensors.keys()].sort();
  for (const name of names) {
    const t = tensors.get(name)!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`safetensors: ${name} shape ${t.shape} does not match length ${t.data.length}`);
    const bytes = t.data.byteLength;
    header[name] = { dtype: dtypeOf(t.data), shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const hb = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const name of names) {
    const d = tensors.get(name)!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), p);
    p += d.byteLength;
  }
  return out;
}

export function decodeSafetensors(buf: Uint8Array, file?: string): StFile {
  const fail = (msg: string, path = '$', hint?: string) => new UserError('E_SAFETENSORS', msg, { file, path, hint });
  if (buf.length < 8) throw fail(`file is ${buf.length} bytes, too short for a safetensors header`, '$', 'the file is truncated or not a safetensors model');
  const n = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  if (n > buf.length - 8 || n > 100 * 1024 * 1024) throw fail(`header length ${n} exceeds the file size ${buf.length}`, '$', 'the file is truncated or not a safetensors model');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, n).toString('utf8'));
  } catch (e) {
    throw fail(`header is not valid JSON: ${(e as Error).message}`, '$', 'the file is corrupted');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const tensors = new Map<string, StTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = v as Record<string, string>; continue; }
    const e = v as { dtype?: string; shape?: number[]; data_offsets?: number[] };
    const p = `$["${name}"]`;
    if (!e || typeof e !== 'object' || !e.dtype || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) throw fail('expected {dtype, shape, data_offsets}', p);
    if (!(e.dtype in BYTES)) throw fail(`unsupported dtype ${e.dtype}`, `${p}.dtype`, 'birealsim reads F32, U8, I32 and U32 tensors');
    const dt = e.dtype as StDtype;
    const [b, en] = e.data_offsets;
    const count = e.shape.reduce((a, x) => a * x, 1);
    if (!(Number.isInteger(b) && Number.isInteger(en) && b >= 0 && en >= b)) throw fail('bad data_offsets', `${p}.data_offsets`);
    if (en > dataLen) throw fail(`tensor data ends at byte ${en} but only ${dataLen} data bytes are present`, `${p}.data_offsets`, 'the file is truncated');
    if (en - b !== count * BYTES[dt]) throw fail(`shape ${JSON.stringify(e.shape)} needs ${count * BYTES[dt]} bytes, offsets give ${en - b}`, `${p}.shape`);
    const bytes = new Uint8Array(buf.subarray(dataStart + b, dataStart + en)); // a copy: aligned and owned (Buffer#slice would alias the pool)
    const data = dt === 'F32' ? new Float32Array(bytes.buffer) : dt === 'U8' ? bytes : dt === 'I32' ? new Int32Array(bytes.buffer) : new Uint32Array(bytes.buffer);
    tensors.set(name, { dtype: dt, shape: e.shape, data });
  }
  return { tensors, metadata };
}
