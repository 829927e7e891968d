/**
 * Architecture spec (birealsim.arch/1) -> resolve() -> complete, frozen ResolvedArch in plain SI numbers
 * (bytes, Hz, bytes/s, seconds, joules). The resolved arch is echoed into every simulation result.
 *
 * Follows the Timeloop/Accelergy split (architecture separate from workload and mapping) and Vite's
 * "optional user config -> resolve() -> read-only resolved config". Quantities are unit strings parsed with
 * mathjs ("256 KiB", "500 MHz", "12.8 GB/s", "8 pJ/bit"); unknown keys are rejected with "did you mean";
 * every error is a UserError naming the file and the JSON path.
 *
 * Energy: every per-action energy is either {"value": "<unit string>", "source": "<citation>"} or the string
 * "default", which takes the anchor-derived value from energy-defaults below WITH its derivation as the
 * source. Nothing is defaulted silently: a missing energy entry is an error, and the resolved table carries
 * the source of each number.
 *
 * Area (area.ts): `technologyNode` (default "45 nm") and per-component unit areas (peArray.peArea,
 * buffers.<name>.area, postProcessing.laneArea, realUnit.macArea, pooling.laneArea) follow the same pattern,
 * except that they are optional: absent or "default" takes area.ts's model scaled to the node, with its
 * derivation as the source; {"value": "<area>", "source": "..."} is taken as given (not scaled).
 *
 * Components (see shared/reference/accelerator-model.md):
 *  - dram: bandwidth, latency, energy per bit;
 *  - buffers: weights (bit-packed binary weights, real weights, folded BN params), inputs (bit-packed
 *    activations feeding the PE array), realStream (real-valued shortcut/BN path and real-unit inputs, with
 *    its own precision), outputs (accumulators and packed outputs): capacity, banks x port width per cycle,
 *    energy per port-width access, double buffering (halves the capacity available to one tile);
 *  - peArray: R x C PEs; type 'xnor' (each PE does XNOR+popcount of a laneBits-bit word per cycle into an
 *    accumulatorBits-bit accumulator) or 'mac' (one real MAC per cycle at `precision`: the full-precision
 *    baseline, where a binary layer runs as real MACs on +-1 values); dataflow os|ws|is; skew model;
 *  - postProcessing: lanes (elements/cycle): folded BN multiply-add, residual add, sign+pack, XNOR-Net K scale;
 *  - realUnit: stem conv, 1x1 downsample convs, FC (MACs/cycle, precision), or "pe-array" on a mac array;
 *  - pooling: lanes (tap operations/cycle).
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve as resolvePath, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { UserError, didYouMeanHint, didYouMean } from '../core/diagnostics.ts';
import { macPeArea45, poolingLaneArea45, ppuLaneArea45, realMacArea45, scaledDefault, sramArea45, xnorPeArea45, type UnitArea } from './area.ts';

/**
 * mathjs reads every quantity. It is loaded on first use, as its single-file build (one file instead of some
 * 1,400 ES modules: the same library and version, ~5x faster to load), so commands that read no quantity do
 * not pay for it.
 */
type MathUnit = (s: string) => { toNumber(target: string): number };
let mathUnit: MathUnit | null = null;
function quantityIn(text: string, target: string): number {
  mathUnit ??= (createRequire(import.meta.url)('mathjs/lib/browser/math.js') as { unit: MathUnit }).unit;
  // "KB" is not a mathjs unit; it is taken as kB = 1000 B, decimal like MB and GB (binary sizes: KiB, MiB)
  return mathUnit(text.replace(/(\d|\s)KB\b/g, '$1kB')).toNumber(target);
}

/**
 * Supported range of every quantity, by unit (zero allowed where the key allows it): wide enough for any
 * real design, narrow enough that cycle counts, byte counts and energies stay finite and non-zero.
 */
const QUANTITY_RANGES: Record<string, { min: number; max: number; text: string }> = {
  Hz: { min: 1e3, max: 1e11, text: '1 kHz .. 100 GHz' },
  'B/s': { min: 1e3, max: 1e15, text: '1 kB/s .. 1 PB/s' },
  s: { min: 0, max: 1, text: '0 .. 1 s' },
  B: { min: 1, max: 2 ** 40, text: '1 B .. 1 TiB' },
  bit: { min: 1, max: 65536, text: '1 .. 65536 bit' },
  J: { min: 0, max: 1e-3, text: '0 .. 1 mJ' },
  'J/bit': { min: 0, max: 1e-6, text: '0 .. 1 uJ/bit' },
  'm^2': { min: 0, max: 1e-2, text: '0 .. 10000 mm^2' },
  m: { min: 1e-9, max: 1e-6, text: '1 nm .. 1000 nm' },
};

export const ARCH_SCHEMA_ID = 'birealsim.arch/1';

export type Dataflow = 'os' | 'ws' | 'is';
export type Precision = 'fp32' | 'fp16' | 'int8';
/** 'array': every fold pays the full R+C skew (SCALE-Sim); 'occupied': a fold pays skew only over the rows/cols it occupies. */
export type SkewModel = 'array' | 'occupied';
/** 'rtl': cycles as counted by an RTL simulation; 'scalesim-printed': one less (SCALE-Sim prints the 0-based index of the last output write). */
export type CycleConvention = 'rtl' | 'scalesim-printed';

export interface EnergyEntry { joules: number; source: string }
/** an area in um^2 with its source (an override {value, source}, or "default: <derivation>" from area.ts) */
export interface AreaEntry { um2: number; source: string }

export interface ResolvedBuffer {
  name: BufferName;
  capacityBytes: number;
  banks: number;
  portBits: number;
  /** banks * portBits / 8 */
  bandwidthBytesPerCycle: number;
  doubleBuffered: boolean;
  /** capacity one tile may use: capacity / 2 when double-buffered */
  tileBytes: number;
  /** energy per access of portBits */
  accessEnergy: EnergyEntry;
  /** area of the whole buffer (all banks) at the arch's technology node */
  area: AreaEntry;
}
export const BUFFER_NAMES = ['weights', 'inputs', 'realStream', 'outputs'] as const;
export type BufferName = typeof BUFFER_NAMES[number];

export interface ResolvedArch {
  schema: typeof ARCH_SCHEMA_ID;
  name: string;
  description: string;
  file?: string;
  clockHz: number;
  dram: { bandwidthBytesPerSecond: number; bytesPerCycle: number; latencySeconds: number; latencyCycles: number; energyPerBit: EnergyEntry };
  buffers: Record<BufferName, ResolvedBuffer>;
  /** bits of a real value in the real-valued stream and in real tensors in DRAM */
  realBits: number;
  realPrecision: Precision;
  peArray: {
    rows: number; cols: number; type: 'xnor' | 'mac';
    /** binary elements per PE per cycle (xnor); 1 for mac */
    laneBits: number;
    /** xnor accumulator width; mac: the precision's width */
    accumulatorBits: number;
    /** mac precision (or 'int8'-like label for xnor accumulators: not used) */
    precision: Precision | 'binary';
    /** storage bits per binary element in buffers and DRAM: 1 = bit-packed (32-bit words per pixel), 8 = one byte (SCALE-Sim), 16/32 = real words (mac baseline) */
    binaryElementBits: number;
    dataflow: Dataflow;
    skew: SkewModel;
    cycleConvention: CycleConvention;
    ofmapWriteQuirk: boolean;
    /** energy of one PE operation: an XNOR-popcount word-op (xnor) or one MAC (mac) */
    opEnergy: EnergyEntry;
  };
  postProcessing: { lanes: number; mulEnergy: EnergyEntry; addEnergy: EnergyEntry; compareEnergy: EnergyEntry };
  realUnit: { onPeArray: boolean; macsPerCycle: number; precision: Precision; macEnergy: EnergyEntry };
  pooling: { lanes: number; opEnergy: EnergyEntry };
  /** unit areas at the technology node (area.ts; areaOf(arch) sums them by component); buffer areas are in buffers.<name>.area */
  area: { technologyNodeNm: number; pe: AreaEntry; ppuLane: AreaEntry; realUnitMac: AreaEntry; poolingLane: AreaEntry };
}

// ---------------------------------------------------------------- energy defaults (accelerator-model.md §4)

const PRECISION_BITS: Record<Precision, number> = { fp32: 32, fp16: 16, int8: 8 };
/**
 * Horowitz ISSCC'14, 45 nm: multiply / add energies in pJ. Exported with the other defaults below so the
 * dataflow family's energy model (sim/dataflow-cost.ts) uses these same numbers, never copies of them.
 */
export const HOROWITZ_ENERGY_PJ: Record<Precision, { mul: number; add: number; label: string }> = {
  fp32: { mul: 3.7, add: 0.9, label: 'fp32 multiply 3.7 pJ + fp32 add 0.9 pJ' },
  fp16: { mul: 1.1, add: 0.4, label: 'fp16 multiply 1.1 pJ + fp16 add 0.4 pJ' },
  int8: { mul: 0.2, add: 0.03, label: '8-bit int multiply 0.2 pJ + 8-bit int add 0.03 pJ' },
};
const HOROWITZ = HOROWITZ_ENERGY_PJ;
const pJ = 1e-12;
/** energy of one binary (XNOR-popcount) op: 21.6 fJ (Conti, Schiavone, Benini, XNOR Neural Engine, IEEE TCAD 2018) */
export const XNE_BINARY_OP_PJ = 0.0216;
/** sign / threshold compare, taken as one 8-bit int add (Horowitz ISSCC'14) */
export const COMPARE_PJ = 0.03;
/** default DRAM energy per bit (both families): LPDDR4 8 pJ/bit */
export const DEFAULT_DRAM_ENERGY: EnergyEntry = { joules: 8 * pJ, source: 'LPDDR4 8 pJ/bit (default of the Accelergy CACTI plug-in; Wu, Emer and Sze, ICCAD 2019)' };
/** energy class of real-stream arithmetic: 16-bit values take fp16 energies (Horowitz has no int16; fp16 bounds it from above), 8-bit int8 */
export function realPrecisionOfBits(bits: number): Precision {
  return bits === 32 ? 'fp32' : bits === 16 ? 'fp16' : 'int8';
}

/**
 * 64-bit SRAM read energy (Horowitz: 10 pJ at 8 KB, 20 pJ at 32 KB, 100 pJ at 1 MB), interpolated linearly in
 * log(capacity)-log(energy) between the anchors and extrapolated along the nearest segment.
 */
export function sram64ReadPj(bankBytes: number): number {
  const pts: [number, number][] = [[8 * 1024, 10], [32 * 1024, 20], [1024 * 1024, 100]];
  const x = Math.log(Math.max(bankBytes, 1));
  const seg = x <= Math.log(pts[1][0]) ? 0 : 1;
  const [a, b] = [pts[seg], pts[seg + 1]];
  const t = (x - Math.log(a[0])) / (Math.log(b[0]) - Math.log(a[0]));
  return Math.exp(Math.log(a[1]) + t * (Math.log(b[1]) - Math.log(a[1])));
}

/**
 * Default energy of one SRAM access of `portBits` bits to a bank of `bankBytes` (the buffers' "default"
 * accessEnergy): the 64-bit read energy at the bank size (sram64ReadPj) scaled linearly to the port width.
 */
export function sramAccessPj(bankBytes: number, portBits: number): number {
  return sram64ReadPj(bankBytes) * (portBits / 64);
}

/** Integer add of an accumulator of `bits` bits (Horowitz ISSCC'14: 8-bit 0.03 pJ, 32-bit 0.1 pJ; 16-bit 0.05 pJ between them). */
export function accumulateAddPj(bits: number): { pj: number; label: string } {
  if (bits <= 8) return { pj: 0.03, label: '8-bit int add 0.03 pJ' };
  if (bits <= 16) return { pj: 0.05, label: '16-bit int add 0.05 pJ' };
  return { pj: 0.1, label: '32-bit int add 0.1 pJ' };
}

// ---------------------------------------------------------------- spec walking helpers

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Spec-walking context (shared with sim/dataflow-arch.ts, which resolves the dataflow family). */
export class Ctx {
  constructor(readonly file: string | undefined) {}
  err(path: string, msg: string, hint?: string): UserError { return new UserError('E_ARCH', msg, { file: this.file, path, hint }); }
  keys(o: Json, path: string, allowed: readonly string[], required: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) throw this.err(`${path}.${k}`, `unknown key '${k}'`, didYouMeanHint(k, allowed));
    }
    for (const k of required) if (!(k in o)) throw this.err(`${path}.${k}`, `missing required key '${k}'`, `${path} needs: ${required.join(', ')}`);
  }
  obj(v: unknown, path: string): Json {
    if (!isObj(v)) throw this.err(path, `expected an object, got ${JSON.stringify(v)}`);
    return v;
  }
  int(v: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw this.err(path, `expected an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return v;
  }
  bool(v: unknown, path: string): boolean {
    if (typeof v !== 'boolean') throw this.err(path, `expected true or false, got ${JSON.stringify(v)}`);
    return v;
  }
  str(v: unknown, path: string): string {
    if (typeof v !== 'string') throw this.err(path, `expected a string, got ${JSON.stringify(v)}`);
    return v;
  }
  choice<T extends string>(v: unknown, path: string, options: readonly T[]): T {
    if (typeof v !== 'string' || !options.includes(v as T)) throw this.err(path, `expected one of ${options.map((o) => `'${o}'`).join(', ')}, got ${JSON.stringify(v)}`, typeof v === 'string' ? didYouMeanHint(v, options) : undefined);
    return v as T;
  }
  /** Parses "12.8 GB/s" into a number in `target` units ('B', 'Hz', 'B/s', 's', 'J', 'J/bit', 'bit'); must be > 0 (or >= 0 when allowZero). */
  quantity(v: unknown, path: string, target: string, example: string, allowZero = false): number {
    if (typeof v !== 'string') throw this.err(path, `expected a quantity with a unit like "${example}", got ${JSON.stringify(v)}`, 'quantities are strings with units, e.g. "256 KiB", "500 MHz", "12.8 GB/s", "8 pJ/bit"');
    let n: number;
    try {
      n = quantityIn(v, target);
    } catch (e) {
      const msg = (e as Error).message;
      throw this.err(path, `cannot read "${v}" as a quantity in ${target}: ${msg}`, `write it like "${example}"`);
    }
    if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw this.err(path, `expected a positive quantity, got "${v}"`);
    const r = QUANTITY_RANGES[target];
    if (r && (n < r.min || n > r.max)) throw this.err(path, `"${v}" is outside the supported range ${r.text}`, `write a value in ${r.text}`);
    return n;
  }
  energy(v: unknown, path: string, target: 'J' | 'J/bit', example: string, dflt: () => EnergyEntry): EnergyEntry {
    if (v === 'default') { const d = dflt(); return { joules: d.joules, source: `default: ${d.source}` }; }
    if (!isObj(v)) throw this.err(path, `expected {"value": "${example}", "source": "..."} or "default", got ${JSON.stringify(v)}`, 'every energy number carries its source; "default" takes the documented anchor value with its derivation as the source (docs/arch.md)');
    this.keys(v, path, ['value', 'source'], ['value', 'source']);
    const joules = this.quantity(v.value, `${path}.value`, target, example, true);
    const source = this.str(v.source, `${path}.source`);
    if (!source.trim()) throw this.err(`${path}.source`, 'the source of an energy number must not be empty');
    return { joules, source };
  }
  /**
   * An area: absent or "default" takes the model's unit area (area.ts) scaled to the technology node, with its
   * derivation as the source; {"value": "<area unit string>", "source": "..."} is taken as given (at the arch's
   * node, not scaled).
   */
  area(v: unknown, path: string, example: string, nodeNm: number, dflt: () => UnitArea): AreaEntry {
    if (v === undefined || v === 'default') return scaledDefault(dflt(), nodeNm);
    if (!isObj(v)) throw this.err(path, `expected {"value": "${example}", "source": "..."} or "default", got ${JSON.stringify(v)}`, 'every area number carries its source; "default" (or leaving the key out) takes the model in src/sim/area.ts');
    this.keys(v, path, ['value', 'source'], ['value', 'source']);
    const um2 = this.quantity(v.value, `${path}.value`, 'm^2', example, true) * 1e12;
    const source = this.str(v.source, `${path}.source`);
    if (!source.trim()) throw this.err(`${path}.source`, 'the source of an area number must not be empty');
    return { um2, source };
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') { Object.freeze(o); for (const v of Object.values(o)) deepFreeze(v); }
  return o;
}

/** Architecture families (birealsim.arch/1 `family`): one accelerator running layers in turn (default), or one engine per layer (sim/dataflow.ts). */
export const ARCH_FAMILIES = ['layer-sequential', 'dataflow'] as const;
export type ArchFamily = typeof ARCH_FAMILIES[number];
const LAYER_SEQUENTIAL: ArchFamily = 'layer-sequential';

export const TOP_KEYS = ['$schema', 'extends', 'schema', 'family', 'name', 'description', 'technologyNode', 'clock', 'dram', 'buffers', 'peArray', 'postProcessing', 'realUnit', 'pooling'];
const BUFFER_KEYS = ['capacity', 'banks', 'portWidth', 'doubleBuffered', 'accessEnergy', 'area', 'precisionBits'];
const PE_KEYS = ['rows', 'cols', 'type', 'laneBits', 'accumulatorBits', 'precision', 'binaryElementBits', 'dataflow', 'skew', 'cycleConvention', 'ofmapWriteQuirk', 'opEnergy', 'peArea'];

/** Validates a raw (parsed JSON) arch spec and resolves it. `file` names the source in errors. */
export function resolveArch(raw: unknown, file?: string): ResolvedArch {
  const c = new Ctx(file);
  const o = c.obj(raw, '$');
  // families (docs/arch.md): this function resolves 'layer-sequential' (the default; `family` may be omitted);
  // 'dataflow' archs are resolved by sim/dataflow-arch.ts and simulated by `birealsim simulate` only
  if (o.family !== undefined && o.family !== LAYER_SEQUENTIAL) {
    const fam = c.choice(o.family, '$.family', ARCH_FAMILIES);
    throw c.err('$.family', `a '${fam}' architecture cannot be used here: this command models the layer-sequential family only`, "`birealsim simulate --arch` accepts dataflow architectures");
  }
  c.keys(o, '$', TOP_KEYS, ['schema', 'name', 'clock', 'dram', 'buffers', 'peArray', 'postProcessing', 'realUnit', 'pooling']);
  if (o.schema !== ARCH_SCHEMA_ID) throw c.err('$.schema', `expected "${ARCH_SCHEMA_ID}", got ${JSON.stringify(o.schema)}`, 'an architecture file starts with {"schema": "birealsim.arch/1", ...}');
  const name = c.str(o.name, '$.name');
  const description = o.description === undefined ? '' : c.str(o.description, '$.description');
  const clockHz = c.quantity(o.clock, '$.clock', 'Hz', '500 MHz');
  // technology node of the area model (area.ts): default 45 nm, the node of its sources
  const technologyNodeNm = o.technologyNode === undefined ? 45 : Math.round(c.quantity(o.technologyNode, '$.technologyNode', 'm', '28 nm') * 1e9 * 1e6) / 1e6;

  // dram
  const d = c.obj(o.dram, '$.dram');
  c.keys(d, '$.dram', ['bandwidth', 'latency', 'energyPerBit'], ['bandwidth', 'energyPerBit']);
  const bw = c.quantity(d.bandwidth, '$.dram.bandwidth', 'B/s', '12.8 GB/s');
  // default 100 ns: a typical DRAM access latency (row activate + column access + controller) of LPDDR4/DDR4
  const latencySeconds = c.quantity(d.latency ?? '100 ns', '$.dram.latency', 's', '100 ns', true);
  const dram = {
    bandwidthBytesPerSecond: bw,
    bytesPerCycle: bw / clockHz,
    latencySeconds,
    // 1e-9 relative guard: "100 ns" parses to 1.0000000000000001e-7 s
    latencyCycles: Math.ceil(latencySeconds * clockHz * (1 - 1e-9)),
    energyPerBit: c.energy(d.energyPerBit, '$.dram.energyPerBit', 'J/bit', '8 pJ/bit', () => DEFAULT_DRAM_ENERGY),
  };

  // buffers
  const b = c.obj(o.buffers, '$.buffers');
  c.keys(b, '$.buffers', BUFFER_NAMES, BUFFER_NAMES);
  let realBits = 32;
  const buffers = {} as Record<BufferName, ResolvedBuffer>;
  for (const bn of BUFFER_NAMES) {
    const p = `$.buffers.${bn}`;
    const x = c.obj(b[bn], p);
    const allowed = bn === 'realStream' ? BUFFER_KEYS : BUFFER_KEYS.filter((k) => k !== 'precisionBits');
    c.keys(x, p, allowed, ['capacity', 'accessEnergy', ...(bn === 'realStream' ? ['precisionBits'] : [])]);
    const capacityBytes = Math.floor(c.quantity(x.capacity, `${p}.capacity`, 'B', '256 KiB'));
    // defaults: one bank with a 64-bit port (the access width of the SRAM energy anchors), double-buffered
    const banks = c.int(x.banks ?? 1, `${p}.banks`, 1, 1024);
    const portBits = c.quantity(x.portWidth ?? '64 bit', `${p}.portWidth`, 'bit', '64 bit');
    if (!Number.isInteger(portBits)) throw c.err(`${p}.portWidth`, `port width must be a whole number of bits, got ${portBits}`);
    const doubleBuffered = c.bool(x.doubleBuffered ?? true, `${p}.doubleBuffered`);
    if (bn === 'realStream') {
      realBits = c.int(x.precisionBits, `${p}.precisionBits`, 8, 32);
      if (realBits !== 8 && realBits !== 16 && realBits !== 32) throw c.err(`${p}.precisionBits`, `expected 8 (int8 fixed point), 16 (fp16 / int16 fixed point) or 32 (fp32), got ${realBits}`);
    }
    const bankBytes = capacityBytes / banks;
    const accessEnergy = c.energy(x.accessEnergy, `${p}.accessEnergy`, 'J', '20 pJ', () => {
      const e64 = sram64ReadPj(bankBytes);
      return { joules: sramAccessPj(bankBytes, portBits) * pJ, source: `Horowitz ISSCC'14 64-bit SRAM read (10/20/100 pJ at 8 KB/32 KB/1 MB), log-log interpolated at ${(bankBytes / 1024).toFixed(1)} KiB per bank = ${e64.toFixed(2)} pJ, scaled to a ${portBits}-bit access` };
    });
    const area = c.area(x.area, `${p}.area`, '0.5 mm^2', technologyNodeNm, () => sramArea45(capacityBytes, banks, portBits));
    buffers[bn] = { name: bn, capacityBytes, banks, portBits, bandwidthBytesPerCycle: (banks * portBits) / 8, doubleBuffered, tileBytes: doubleBuffered ? Math.floor(capacityBytes / 2) : capacityBytes, accessEnergy, area };
  }
  // energy class of real-stream arithmetic (post-processing, pooling defaults): 16-bit values take fp16 energies
  // (Horowitz has no 16-bit int entries; fp16 bounds an int16 add/multiply from above), 8-bit values int8
  const realPrecision: Precision = realPrecisionOfBits(realBits);

  // PE array
  const pe = c.obj(o.peArray, '$.peArray');
  c.keys(pe, '$.peArray', PE_KEYS, ['rows', 'cols', 'type', 'opEnergy']);
  const rows = c.int(pe.rows, '$.peArray.rows', 1, 4096);
  const cols = c.int(pe.cols, '$.peArray.cols', 1, 4096);
  const type = c.choice(pe.type, '$.peArray.type', ['xnor', 'mac'] as const);
  // default output stationary (the dataflow of the shipped presets)
  const dataflow = c.choice(pe.dataflow ?? 'os', '$.peArray.dataflow', ['os', 'ws', 'is'] as const);
  const skew = pe.skew === undefined ? 'occupied' : c.choice(pe.skew, '$.peArray.skew', ['array', 'occupied'] as const);
  const cycleConvention = pe.cycleConvention === undefined ? 'rtl' : c.choice(pe.cycleConvention, '$.peArray.cycleConvention', ['rtl', 'scalesim-printed'] as const);
  const ofmapWriteQuirk = pe.ofmapWriteQuirk === undefined ? false : c.bool(pe.ofmapWriteQuirk, '$.peArray.ofmapWriteQuirk');
  let laneBits = 1, accumulatorBits: number, precision: Precision | 'binary', binaryElementBits: number;
  let opEnergy: EnergyEntry;
  if (type === 'xnor') {
    for (const k of ['laneBits', 'accumulatorBits']) if (!(k in pe)) throw c.err(`$.peArray.${k}`, `missing required key '${k}' for an xnor PE array`);
    if ('precision' in pe) throw c.err('$.peArray.precision', "'precision' applies to type 'mac' only", 'an xnor PE has laneBits and accumulatorBits');
    laneBits = c.int(pe.laneBits, '$.peArray.laneBits', 1, 1024);
    if ((laneBits & (laneBits - 1)) !== 0) throw c.err('$.peArray.laneBits', `expected a power of two, got ${laneBits}`);
    accumulatorBits = c.int(pe.accumulatorBits, '$.peArray.accumulatorBits', 2, 64);
    binaryElementBits = pe.binaryElementBits === undefined ? 1 : c.int(pe.binaryElementBits, '$.peArray.binaryElementBits', 1, 8);
    if (binaryElementBits !== 1 && binaryElementBits !== 8) throw c.err('$.peArray.binaryElementBits', `expected 1 (bit-packed) or 8 (one byte per element, SCALE-Sim), got ${binaryElementBits}`);
    precision = 'binary';
    const acc = accumulateAddPj(accumulatorBits);
    opEnergy = c.energy(pe.opEnergy, '$.peArray.opEnergy', 'J', '1.4 pJ', () => ({
      joules: (laneBits * XNE_BINARY_OP_PJ + acc.pj) * pJ,
      source: `XNE 21.6 fJ per binary op (Conti et al., XNOR Neural Engine, IEEE TCAD 2018) x ${laneBits} lanes + ${acc.label} (Horowitz ISSCC'14) for the accumulate`,
    }));
  } else {
    for (const k of ['laneBits', 'accumulatorBits', 'binaryElementBits']) if (k in pe) throw c.err(`$.peArray.${k}`, `'${k}' applies to type 'xnor' only`, "a mac PE has 'precision'");
    if (!('precision' in pe)) throw c.err('$.peArray.precision', "missing required key 'precision' for a mac PE array", "one of 'fp32', 'fp16', 'int8'");
    const prec = c.choice(pe.precision, '$.peArray.precision', ['fp32', 'fp16', 'int8'] as const);
    precision = prec;
    accumulatorBits = PRECISION_BITS[prec];
    binaryElementBits = PRECISION_BITS[prec];
    const h = HOROWITZ[prec];
    opEnergy = c.energy(pe.opEnergy, '$.peArray.opEnergy', 'J', '4.6 pJ', () => ({ joules: (h.mul + h.add) * pJ, source: `one MAC = ${h.label} (Horowitz ISSCC'14, 45 nm)` }));
  }

  const peArea = c.area(pe.peArea, '$.peArray.peArea', '1200 um^2', technologyNodeNm, () => (type === 'xnor' ? xnorPeArea45(laneBits, accumulatorBits) : macPeArea45(precision as Precision)));

  // post-processing
  const pp = c.obj(o.postProcessing, '$.postProcessing');
  c.keys(pp, '$.postProcessing', ['lanes', 'mulEnergy', 'addEnergy', 'compareEnergy', 'laneArea'], ['lanes', 'mulEnergy', 'addEnergy', 'compareEnergy']);
  const ppuLane = c.area(pp.laneArea, '$.postProcessing.laneArea', '13000 um^2', technologyNodeNm, () => ppuLaneArea45(realPrecision, realBits));
  const hr = HOROWITZ[realPrecision];
  const postProcessing = {
    lanes: c.int(pp.lanes, '$.postProcessing.lanes', 1, 1 << 20),
    mulEnergy: c.energy(pp.mulEnergy, '$.postProcessing.mulEnergy', 'J', '3.7 pJ', () => ({ joules: hr.mul * pJ, source: `${realPrecision} multiply ${hr.mul} pJ (Horowitz ISSCC'14; real stream is ${realBits}-bit)` })),
    addEnergy: c.energy(pp.addEnergy, '$.postProcessing.addEnergy', 'J', '0.9 pJ', () => ({ joules: hr.add * pJ, source: `${realPrecision} add ${hr.add} pJ (Horowitz ISSCC'14; real stream is ${realBits}-bit)` })),
    compareEnergy: c.energy(pp.compareEnergy, '$.postProcessing.compareEnergy', 'J', '0.03 pJ', () => ({ joules: COMPARE_PJ * pJ, source: "sign/compare taken as one 8-bit int add, 0.03 pJ (Horowitz ISSCC'14)" })),
  };

  // real unit
  let realUnit: ResolvedArch['realUnit'];
  let realUnitMac: AreaEntry;
  if (o.realUnit === 'pe-array') {
    realUnitMac = { um2: 0, source: 'realUnit "pe-array": real MACs run on the PE array (its area is in peArray)' };
    if (type !== 'mac') throw c.err('$.realUnit', "realUnit 'pe-array' needs a mac PE array (binary PEs cannot do real MACs)", 'give {"macsPerCycle": ..., "precision": ..., "macEnergy": ...}');
    realUnit = { onPeArray: true, macsPerCycle: rows * cols, precision: precision as Precision, macEnergy: opEnergy };
  } else {
    const ru = c.obj(o.realUnit, '$.realUnit');
    c.keys(ru, '$.realUnit', ['macsPerCycle', 'precision', 'macEnergy', 'macArea'], ['macsPerCycle', 'precision', 'macEnergy']);
    const prec = c.choice(ru.precision, '$.realUnit.precision', ['fp32', 'fp16', 'int8'] as const);
    realUnitMac = c.area(ru.macArea, '$.realUnit.macArea', '11884 um^2', technologyNodeNm, () => realMacArea45(prec));
    const h = HOROWITZ[prec];
    realUnit = {
      onPeArray: false,
      macsPerCycle: c.int(ru.macsPerCycle, '$.realUnit.macsPerCycle', 1, 1 << 24),
      precision: prec,
      macEnergy: c.energy(ru.macEnergy, '$.realUnit.macEnergy', 'J', '4.6 pJ', () => ({ joules: (h.mul + h.add) * pJ, source: `one MAC = ${h.label} (Horowitz ISSCC'14, 45 nm)` })),
    };
  }

  // pooling
  const po = c.obj(o.pooling, '$.pooling');
  c.keys(po, '$.pooling', ['lanes', 'opEnergy', 'laneArea'], ['lanes', 'opEnergy']);
  const poolingLane = c.area(po.laneArea, '$.pooling.laneArea', '4184 um^2', technologyNodeNm, () => poolingLaneArea45(realPrecision));
  const pooling = {
    lanes: c.int(po.lanes, '$.pooling.lanes', 1, 1 << 20),
    opEnergy: c.energy(po.opEnergy, '$.pooling.opEnergy', 'J', '0.9 pJ', () => ({ joules: hr.add * pJ, source: `one pooling tap = ${realPrecision} add/compare ${hr.add} pJ (Horowitz ISSCC'14)` })),
  };

  return deepFreeze({
    schema: ARCH_SCHEMA_ID, name, description, file, clockHz, dram, buffers, realBits, realPrecision,
    peArray: { rows, cols, type, laneBits, accumulatorBits, precision, binaryElementBits, dataflow, skew, cycleConvention, ofmapWriteQuirk, opEnergy },
    postProcessing, realUnit, pooling,
    area: { technologyNodeNm, pe: peArea, ppuLane, realUnitMac, poolingLane },
  });
}

// ---------------------------------------------------------------- presets and loading

/** Directory of the checked-in presets (repo/arch). */
export const PRESET_DIR = resolvePath(dirname(fileURLToPath(import.meta.url)), '../../arch');

/**
 * Names of the presets of one family (default: the layer-sequential presets, which every command but
 * `simulate` can use), or of all presets. A preset's family is its own `family` key, else its base's.
 */
export function presetNames(family: ArchFamily | 'all' = LAYER_SEQUENTIAL): string[] {
  if (!existsSync(PRESET_DIR)) return [];
  const all = readdirSync(PRESET_DIR).filter((f) => f.endsWith('.json')).map((f) => basename(f, '.json')).sort();
  return family === 'all' ? all : all.filter((n) => presetFamily(n, all, 0) === family);
}

function presetFamily(name: string, all: string[], depth: number): string {
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(join(PRESET_DIR, `${name}.json`), 'utf8')); } catch { return LAYER_SEQUENTIAL; }
  if (!isObj(raw)) return LAYER_SEQUENTIAL;
  if (typeof raw.family === 'string') return raw.family;
  if (typeof raw.extends === 'string' && all.includes(raw.extends) && depth < 16) return presetFamily(raw.extends, all, depth + 1);
  return LAYER_SEQUENTIAL;
}

/** Parses arch JSON text (located JSON errors) and resolves it. */
export function resolveArchText(text: string, file?: string): ResolvedArch {
  return resolveArch(archJsonOf(text, file), file);
}

/** Parses arch JSON text (located JSON errors) and expands `extends`: the raw spec a family resolves. */
export function archJsonOf(text: string, file?: string): unknown {
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (e) {
    throw new UserError('E_JSON', `invalid JSON: ${(e as Error).message}`, { file, path: '$', hint: 'check for trailing commas, missing quotes or a truncated file' });
  }
  return expandExtends(raw, file, []);
}

/**
 * Resolves `"extends": "<preset name or relative file path>"`: the base (itself possibly extending another)
 * is deep-merged under this file's keys. A relative path is taken from the extending file's directory;
 * cycles and missing bases are E_ARCH at `$.extends`.
 */
export function expandExtends(raw: unknown, file: string | undefined, chain: string[]): unknown {
  if (!isObj(raw) || !('extends' in raw)) return raw;
  const { extends: base, ...own } = raw;
  const at = { file, path: '$.extends' };
  if (typeof base !== 'string' || base === '') throw new UserError('E_ARCH', `'extends' must be a preset name or a relative file path`, { ...at, hint: `presets: ${presetNames().join(', ')}` });
  let baseFile: string, shown: string;
  if (presetNames('all').includes(base) && !base.includes('/') && !base.endsWith('.json')) { baseFile = join(PRESET_DIR, `${base}.json`); shown = `arch/${base}.json`; }
  else {
    shown = file ? join(dirname(file), base) : base;
    baseFile = file && file.startsWith('arch/') && !existsSync(shown) ? resolvePath(PRESET_DIR, '..', shown) : shown;
    if (!existsSync(baseFile)) {
      const m = didYouMean(base, presetNames('all'));
      throw new UserError('E_ARCH', `'extends' names no preset or file '${base}'`, { ...at, hint: `${m ? `did you mean '${m}'? ` : ''}presets: ${presetNames('all').join(', ')}; a path is relative to the extending file` });
    }
  }
  const key = resolvePath(baseFile);
  if (chain.includes(key) || (file && resolvePath(file) === key)) throw new UserError('E_ARCH', `'extends' cycle: ${[...chain.map((c) => basename(c)), basename(key)].join(' -> ')}`, at);
  let baseRaw: unknown;
  try { baseRaw = JSON.parse(readFileSync(baseFile, 'utf8')); } catch (e) {
    throw new UserError('E_ARCH', `cannot read base architecture '${base}': ${(e as Error).message}`, at);
  }
  const expanded = expandExtends(baseRaw, shown, [...chain, ...(file ? [resolvePath(file)] : []), key]);
  const merged = mergeSpec(expanded, own) as Json;
  // the base's own name/description/$schema are not inherited as if they were the derived file's
  if (!('name' in own) && isObj(merged)) merged.name = `${String(merged.name)}+${basename(file ?? 'arch', '.json')}`;
  return merged;
}

/** Loads a preset by name (arch/<name>.json) or an arch file by path (layer-sequential family). */
export function loadArch(nameOrPath: string): ResolvedArch {
  const { text, shown } = readArchSource(nameOrPath);
  return resolveArchText(text, shown);
}

/**
 * The text of a preset (by name) or an arch file (by path), and the name errors and results show for it:
 * presets are named by their path inside the package (arch/<name>.json), never by an absolute path, so
 * results and reports are the same bytes in every checkout.
 */
export function readArchSource(nameOrPath: string): { text: string; shown: string } {
  const presets = presetNames('all');
  let file: string, shown: string;
  if (presets.includes(nameOrPath)) { file = join(PRESET_DIR, `${nameOrPath}.json`); shown = `arch/${nameOrPath}.json`; }
  else if (existsSync(nameOrPath)) file = shown = nameOrPath;
  else {
    const m = didYouMean(nameOrPath, presets);
    throw new UserError('E_ARCH', `no such architecture preset or file '${nameOrPath}'`, { path: '--arch', hint: `${m ? `did you mean '${m}'? ` : ''}presets: ${presets.join(', ')}; or give a path to a ${ARCH_SCHEMA_ID} JSON file` });
  }
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) {
    throw new UserError('E_IO', `cannot read architecture: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
  return { text, shown };
}

/** A modified copy of a spec object (deep-merged), for tests and sweeps: `withSpec(raw, {peArray: {rows: 32}})`. */
export function mergeSpec(base: unknown, patch: unknown): unknown {
  if (!isObj(base) || !isObj(patch)) return patch;
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = k in base ? mergeSpec(base[k], v) : v;
  return out;
}

/** Reads a preset's raw spec (for deriving variants). */
export function presetSpec(name: string): Json {
  return JSON.parse(readFileSync(join(PRESET_DIR, `${name}.json`), 'utf8')) as Json;
}
