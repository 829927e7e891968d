/**
 * The dataflow architecture family (birealsim.arch/1 with `"family": "dataflow"`): spec -> resolve() ->
 * complete, frozen ResolvedDataflowArch in plain SI numbers, in the same style as arch.ts (which resolves the
 * default 'layer-sequential' family and refuses this one): quantities are unit strings, unknown keys are
 * rejected with "did you mean", every error is a UserError (E_ARCH) naming the file and the JSON path.
 *
 * A dataflow arch is a FINN-style streaming design (Umuroglu et al., FINN, FPGA'17; Blott et al., FINN-R,
 * TRETS 2018; github.com/Xilinx/finn): one compute engine per layer, engines connected by FIFOs, all weights
 * on chip. The engines, their cycle formulas and the folding search are in dataflow.ts; this module only
 * reads the file. What depends on the workload (does a PE divide MH, does a folded layer id exist) is checked
 * when the arch meets a plan (dataflow.ts), still as a UserError at `$.folding.<layer>.<key>`.
 *
 * Keys (docs/arch.md "Dataflow family"): schema, family, name, description, technologyNode, clock, dram
 * {bandwidth, latency, energyPerBit}, realStreamBits, realMacPrecision, fifoDepth, targetFps, folding {<layer id>: {pe, simd, swgSimd,
 * parallelWindow}}. `$schema` is ignored and `extends` is expanded before this runs (arch.ts expandExtends).
 * `technologyNode` (default 45 nm) and `dram.energyPerBit` (default "default": 8 pJ/bit LPDDR4) mean exactly
 * what they mean in the layer-sequential family and are read by the same Ctx helpers; they feed the area and
 * energy model of this family (dataflow-cost.ts).
 */
import { ARCH_SCHEMA_ID, archJsonOf, Ctx, DEFAULT_DRAM_ENERGY, readArchSource, resolveArch, type EnergyEntry, type Precision, type ResolvedArch } from './arch.ts';

export interface DataflowFolding {
  /** MVAU: output channels (matrix rows MH) computed in parallel; pooling / element-wise engines: channels in parallel */
  pe?: number;
  /** MVAU: input elements (matrix columns MW: binary or real input channels x taps) consumed in parallel */
  simd?: number;
  /** the sliding-window generator's own SIMD (input channels per cycle); must divide the layer's input channels */
  swgSimd?: number;
  /** FINN RTL SWG "parallel" style: one whole k x k window per cycle (needs swgSimd = input channels) */
  parallelWindow?: boolean;
}

export interface ResolvedDataflowArch {
  schema: typeof ARCH_SCHEMA_ID;
  family: 'dataflow';
  name: string;
  description: string;
  file?: string;
  clockHz: number;
  /** node of the area model (area.ts scales default unit areas by (node / 45 nm)^2) */
  technologyNodeNm: number;
  dram: { bandwidthBytesPerSecond: number; bytesPerCycle: number; latencySeconds: number; latencyCycles: number; energyPerBit: EnergyEntry };
  /** bits of a real value in the streams, the shortcut FIFOs, line buffers of real inputs and DRAM frames */
  realStreamBits: number;
  /** precision of the real MAC engines (stem conv, 1x1 downsample convs, FC): their weight bits and MAC kind */
  realMacPrecision: Precision;
  realMacBits: number;
  /** depth in stream words of the FIFO in front of every engine input */
  fifoDepth: number;
  /** frames/s the folding search aims at (null: no search; unfolded layers get FINN's default PE = SIMD = 1) */
  targetFps: number | null;
  /** explicit per-layer folding (layer id = the plan group's id) */
  folding: Record<string, DataflowFolding>;
}

export const DATAFLOW_TOP_KEYS = ['$schema', 'extends', 'schema', 'family', 'name', 'description', 'technologyNode', 'clock', 'dram', 'realStreamBits', 'realMacPrecision', 'fifoDepth', 'targetFps', 'folding'];
const REQUIRED = ['schema', 'family', 'name', 'clock', 'dram', 'realStreamBits', 'realMacPrecision'];
const FOLDING_KEYS = ['pe', 'simd', 'swgSimd', 'parallelWindow'];
const PRECISION_BITS: Record<Precision, number> = { fp32: 32, fp16: 16, int8: 8 };
/** FINN nodes carry depth-2 stream FIFOs on their inputs and outputs (finn insert_fifo.py: "shallow-depth (<=2) FIFOs") */
export const DEFAULT_FIFO_DEPTH = 2;

/** True when a raw (extends-expanded) spec is a dataflow arch. */
export function isDataflowSpec(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) && (raw as Record<string, unknown>).family === 'dataflow';
}

/** Validates a raw (parsed, extends-expanded) dataflow arch spec and resolves it. */
export function resolveDataflowArch(raw: unknown, file?: string): ResolvedDataflowArch {
  const c = new Ctx(file);
  const o = c.obj(raw, '$');
  c.keys(o, '$', DATAFLOW_TOP_KEYS, REQUIRED);
  if (o.schema !== ARCH_SCHEMA_ID) throw c.err('$.schema', `expected "${ARCH_SCHEMA_ID}", got ${JSON.stringify(o.schema)}`, 'an architecture file starts with {"schema": "birealsim.arch/1", ...}');
  if (o.family !== 'dataflow') throw c.err('$.family', `expected "dataflow", got ${JSON.stringify(o.family)}`);
  const name = c.str(o.name, '$.name');
  const description = o.description === undefined ? '' : c.str(o.description, '$.description');
  const clockHz = c.quantity(o.clock, '$.clock', 'Hz', '200 MHz');
  // as in arch.ts: default 45 nm, the node of the area model's sources
  const technologyNodeNm = o.technologyNode === undefined ? 45 : Math.round(c.quantity(o.technologyNode, '$.technologyNode', 'm', '28 nm') * 1e9 * 1e6) / 1e6;
  const d = c.obj(o.dram, '$.dram');
  c.keys(d, '$.dram', ['bandwidth', 'latency', 'energyPerBit'], ['bandwidth', 'latency']);
  const bw = c.quantity(d.bandwidth, '$.dram.bandwidth', 'B/s', '12.8 GB/s');
  const latencySeconds = c.quantity(d.latency, '$.dram.latency', 's', '100 ns', true);
  // optional here (files written before the energy model have none): absent = "default", the same default as arch.ts
  const energyPerBit = c.energy(d.energyPerBit ?? 'default', '$.dram.energyPerBit', 'J/bit', '8 pJ/bit', () => DEFAULT_DRAM_ENERGY);
  const dram = { bandwidthBytesPerSecond: bw, bytesPerCycle: bw / clockHz, latencySeconds, latencyCycles: Math.ceil(latencySeconds * clockHz * (1 - 1e-9)), energyPerBit };
  const realStreamBits = c.int(o.realStreamBits, '$.realStreamBits', 8, 32);
  if (![8, 16, 32].includes(realStreamBits)) throw c.err('$.realStreamBits', `expected 8 (int8 fixed point), 16 (fp16 / int16 fixed point) or 32 (fp32), got ${realStreamBits}`);
  const realMacPrecision = c.choice(o.realMacPrecision, '$.realMacPrecision', ['fp32', 'fp16', 'int8'] as const);
  const fifoDepth = o.fifoDepth === undefined ? DEFAULT_FIFO_DEPTH : c.int(o.fifoDepth, '$.fifoDepth', 1, 1 << 24);
  let targetFps: number | null = null;
  if (o.targetFps !== undefined) {
    if (typeof o.targetFps !== 'number' || !Number.isFinite(o.targetFps) || o.targetFps <= 0 || o.targetFps > 1e9) throw c.err('$.targetFps', `expected a frame rate in (0, 1e9] frames/s, got ${JSON.stringify(o.targetFps)}`);
    targetFps = o.targetFps;
  }
  const folding: Record<string, DataflowFolding> = {};
  if (o.folding !== undefined) {
    const f = c.obj(o.folding, '$.folding');
    for (const [id, spec] of Object.entries(f)) {
      const p = folPath(id);
      const x = c.obj(spec, p);
      c.keys(x, p, FOLDING_KEYS, []);
      const r: DataflowFolding = {};
      if (x.pe !== undefined) r.pe = c.int(x.pe, `${p}.pe`, 1, 1 << 20);
      if (x.simd !== undefined) r.simd = c.int(x.simd, `${p}.simd`, 1, 1 << 20);
      if (x.swgSimd !== undefined) r.swgSimd = c.int(x.swgSimd, `${p}.swgSimd`, 1, 1 << 20);
      if (x.parallelWindow !== undefined) r.parallelWindow = c.bool(x.parallelWindow, `${p}.parallelWindow`);
      folding[id] = r;
    }
  }
  return deepFreeze({
    schema: ARCH_SCHEMA_ID, family: 'dataflow', name, description, file, clockHz, technologyNodeNm, dram, realStreamBits,
    realMacPrecision, realMacBits: PRECISION_BITS[realMacPrecision], fifoDepth, targetFps, folding,
  });
}

export type AnyResolvedArch = { family: 'layer-sequential'; arch: ResolvedArch } | { family: 'dataflow'; arch: ResolvedDataflowArch };

/** Resolves a raw spec of either family (the `family` key dispatches; absent = layer-sequential). */
export function resolveAnyArch(raw: unknown, file?: string): AnyResolvedArch {
  return isDataflowSpec(raw) ? { family: 'dataflow', arch: resolveDataflowArch(raw, file) } : { family: 'layer-sequential', arch: resolveArch(raw, file) };
}

/** Loads a preset by name or an arch file by path, of either family (`birealsim simulate`). */
export function loadAnyArch(nameOrPath: string): AnyResolvedArch {
  const { text, shown } = readArchSource(nameOrPath);
  return resolveAnyArch(archJsonOf(text, shown), shown);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') { Object.freeze(o); for (const v of Object.values(o)) deepFreeze(v); }
  return o;
}

/** JSON path of a layer's folding entry: bracket notation, since layer ids contain dots (`$.folding["s1.b0.conv"]`). */
export function folPath(id: string, key?: string): string {
  return `$.folding[${JSON.stringify(id)}]${key ? `.${key}` : ''}`;
}
