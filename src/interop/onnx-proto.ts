/**
 * ONNX files in and out, through protobufjs and the official ONNX IR specification (onnx.proto, vendored
 * beside this file from github.com/onnx/onnx; see docs/IR.md there): no hand-written wire format. This module
 * only decodes/encodes ModelProto and converts TensorProto <-> Float32Array; the graph mapping is
 * onnx-import.ts / onnx-export.ts.
 *
 * Tensors: float (1), double (11, rounded to fp32), int64 (7) and int32 (6) are read, from raw_data
 * (little-endian, as the spec requires) or the typed *_data fields; float tensors are written as raw_data.
 * External data (data_location = EXTERNAL) is refused: import needs one self-contained file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { UserError } from '../core/diagnostics.ts';

// protobufjs message objects with the proto's field names (keepCase)
export interface OnnxAttribute {
  name: string; type?: number; f?: number; i?: number; s?: Uint8Array; t?: OnnxTensor;
  floats?: number[]; ints?: number[];
}
export interface OnnxTensor {
  name?: string; dims?: number[]; data_type?: number; raw_data?: Uint8Array;
  float_data?: number[]; int32_data?: number[]; int64_data?: number[]; double_data?: number[]; data_location?: number;
}
export interface OnnxNode { name?: string; op_type: string; domain?: string; input?: string[]; output?: string[]; attribute?: OnnxAttribute[] }
export interface OnnxValueInfo { name: string; type?: { tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number; dim_param?: string }[] } } } }
export interface OnnxGraph { name?: string; node?: OnnxNode[]; initializer?: OnnxTensor[]; input?: OnnxValueInfo[]; output?: OnnxValueInfo[] }
export interface OnnxModel {
  ir_version?: number; producer_name?: string; producer_version?: string; doc_string?: string;
  opset_import?: { domain?: string; version?: number }[];
  metadata_props?: { key: string; value: string }[];
  graph?: OnnxGraph;
}

export const TENSOR_FLOAT = 1, TENSOR_INT32 = 6, TENSOR_INT64 = 7, TENSOR_DOUBLE = 11;
export const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

let modelType: protobuf.Type | undefined;
function ModelProto(): protobuf.Type {
  if (!modelType) {
    const root = new protobuf.Root().loadSync(fileURLToPath(new URL('./onnx.proto', import.meta.url)), { keepCase: true });
    modelType = root.lookupType('onnx.ModelProto');
  }
  return modelType;
}

/** Decodes an ONNX file; not protobuf, or not a model with a graph, is E_ONNX (exit 2). */
export function decodeOnnx(buf: Uint8Array, file?: string): OnnxModel {
  let msg: protobuf.Message;
  try {
    msg = ModelProto().decode(buf);
  } catch (e) {
    throw new UserError('E_ONNX', `not an ONNX model: the protobuf decoder says "${(e as Error).message}"`, { file, hint: 'give a .onnx file written by torch.onnx.export or another ONNX exporter' });
  }
  const m = ModelProto().toObject(msg, { longs: Number, bytes: Uint8Array, defaults: false, arrays: true }) as OnnxModel;
  if (!m.graph || !m.graph.node?.length) throw new UserError('E_ONNX', 'not an ONNX model: no graph with nodes', { file, hint: 'give a .onnx file written by torch.onnx.export or another ONNX exporter' });
  return m;
}

export function readOnnxFile(path: string): { model: OnnxModel; bytes: Buffer } {
  let bytes: Buffer;
  try { bytes = readFileSync(path); } catch (e) {
    throw new UserError('E_IO', `cannot read ONNX model: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
  }
  return { model: decodeOnnx(bytes, path), bytes };
}

/** Encodes a model object (field names as in onnx.proto) into ONNX bytes. */
export function encodeOnnx(model: OnnxModel): Uint8Array {
  const T = ModelProto();
  const err = T.verify(model);
  if (err) throw new Error(`encodeOnnx: ${err}`);
  return T.encode(T.fromObject(model)).finish();
}

/** A float tensor as raw_data (little-endian fp32). */
export function floatTensor(name: string, dims: number[], data: Float32Array): OnnxTensor {
  const bytes = new Uint8Array(data.length * 4);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(i * 4, data[i], true);
  return { name, dims, data_type: TENSOR_FLOAT, raw_data: bytes };
}

export function int64Tensor(name: string, dims: number[], data: number[]): OnnxTensor {
  return { name, dims, data_type: TENSOR_INT64, int64_data: data };
}

/** Values of a tensor as numbers (fp32-rounded for float), or a UserError naming the tensor. */
export function tensorValues(t: OnnxTensor, where: { file?: string; what: string }): { dims: number[]; data: Float32Array } {
  const dims = (t.dims ?? []).map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const fail = (msg: string) => new UserError('E_ONNX', `${where.what}: ${msg}`, { file: where.file });
  if (t.data_location === 1) throw fail('external data is not supported (save the model with its weights inside the .onnx file)');
  const raw = t.raw_data && t.raw_data.length ? t.raw_data : undefined;
  const out = new Float32Array(n);
  const dt = t.data_type ?? 0;
  const width = dt === TENSOR_FLOAT || dt === TENSOR_INT32 ? 4 : dt === TENSOR_INT64 || dt === TENSOR_DOUBLE ? 8 : 0;
  if (!width) throw fail(`unsupported tensor data type ${dt} (float, double, int32 and int64 are read)`);
  if (raw) {
    if (raw.length !== n * width) throw fail(`raw_data has ${raw.length} bytes, dims ${JSON.stringify(dims)} need ${n * width}`);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < n; i++) {
      out[i] = dt === TENSOR_FLOAT ? dv.getFloat32(i * 4, true) : dt === TENSOR_INT32 ? dv.getInt32(i * 4, true)
        : dt === TENSOR_DOUBLE ? dv.getFloat64(i * 8, true) : Number(dv.getBigInt64(i * 8, true));
    }
    return { dims, data: out };
  }
  const src = dt === TENSOR_FLOAT ? t.float_data : dt === TENSOR_INT32 ? t.int32_data : dt === TENSOR_INT64 ? t.int64_data : t.double_data;
  const vals = src ?? [];
  if (vals.length !== n) throw fail(`has ${vals.length} values, dims ${JSON.stringify(dims)} need ${n}`);
  for (let i = 0; i < n; i++) out[i] = Number(vals[i]);
  return { dims, data: out };
}

/** Attribute lookup by name. */
export function attr(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute?.find((a) => a.name === name);
}
export function attrInts(node: OnnxNode, name: string): number[] | undefined { const a = attr(node, name); return a?.ints?.map(Number); }
export function attrInt(node: OnnxNode, name: string): number | undefined { const a = attr(node, name); return a && a.i !== undefined ? Number(a.i) : undefined; }
export function attrFloat(node: OnnxNode, name: string): number | undefined { const a = attr(node, name); return a?.f; }
export function attrString(node: OnnxNode, name: string): string | undefined { const a = attr(node, name); return a?.s ? Buffer.from(a.s).toString('utf8') : undefined; }
