/**
 * The explorer's design model, free of DOM code so Node tests can use it: a design is a raw arch spec
 * (birealsim.arch/1, `extends` already expanded) plus the run settings `simulate` takes (network, objective,
 * fusion, batch, the plan's real-stream format). The page edits the spec through CONTROLS (each a dotted
 * path into the spec and the values its slider or select offers), runs the same functions `birealsim
 * simulate` runs (lower -> resolveArch -> simulate), and downloads the spec as the arch JSON that
 * `birealsim simulate --arch` reads: the same spec through the same resolveArch gives the same numbers.
 */
import { BUILTIN_WORKLOADS } from '../ir/builders.ts';
import { resolveNetwork } from '../ir/validate.ts';
import { shapeOnlyModel } from '../ir/model.ts';
import type { ResolvedNetwork } from '../ir/types.ts';
import { lower, type ExecPlan } from '../golden/plan.ts';
import { parseRealFormat } from '../core/realformat.ts';
import { resolveArch } from '../sim/arch.ts';
import type { Objective } from '../sim/mapper.ts';
import type { FusionMode } from '../sim/residency.ts';
import { simulate, type SimResult } from '../sim/simulate.ts';

export type Json = Record<string, unknown>;
export type ControlValue = string | number;

export interface RunSettings { workload: string; objective: Objective; fusion: FusionMode; batch: number; realFormat: string }
export interface Design { preset: string; spec: Json; run: RunSettings }

export interface Control {
  id: string;
  label: string;
  /** dotted path into the arch spec, or 'run.<key>' for a run setting */
  path: string;
  kind: 'range' | 'select';
  values: ControlValue[];
  /** which arch types it applies to (absent: all) */
  peType?: 'xnor' | 'mac';
  group: 'PE array' | 'Memory' | 'DRAM and clock' | 'Run';
}

const pow2 = (from: number, to: number) => { const v: number[] = []; for (let x = from; x <= to; x *= 2) v.push(x); return v; };
const KIB = ['4 KiB', '8 KiB', '16 KiB', '32 KiB', '64 KiB', '128 KiB', '256 KiB', '512 KiB', '1 MiB', '2 MiB', '4 MiB', '8 MiB'];

export const CONTROLS: readonly Control[] = [
  { id: 'rows', label: 'PE rows', path: 'peArray.rows', kind: 'range', values: pow2(1, 256), group: 'PE array' },
  { id: 'cols', label: 'PE columns', path: 'peArray.cols', kind: 'range', values: pow2(1, 256), group: 'PE array' },
  { id: 'laneBits', label: 'lane bits', path: 'peArray.laneBits', kind: 'range', values: pow2(1, 1024), peType: 'xnor', group: 'PE array' },
  { id: 'dataflow', label: 'dataflow', path: 'peArray.dataflow', kind: 'select', values: ['os', 'ws', 'is'], group: 'PE array' },
  { id: 'weights', label: 'weights buffer', path: 'buffers.weights.capacity', kind: 'range', values: KIB, group: 'Memory' },
  { id: 'inputs', label: 'inputs buffer', path: 'buffers.inputs.capacity', kind: 'range', values: KIB, group: 'Memory' },
  { id: 'realStream', label: 'real-stream buffer', path: 'buffers.realStream.capacity', kind: 'range', values: KIB, group: 'Memory' },
  { id: 'outputs', label: 'outputs buffer', path: 'buffers.outputs.capacity', kind: 'range', values: KIB, group: 'Memory' },
  { id: 'realBits', label: 'real-stream precision [bit]', path: 'buffers.realStream.precisionBits', kind: 'select', values: [8, 16, 32], group: 'Memory' },
  { id: 'bandwidth', label: 'DRAM bandwidth', path: 'dram.bandwidth', kind: 'range', values: ['0.8 GB/s', '1.6 GB/s', '3.2 GB/s', '6.4 GB/s', '12.8 GB/s', '25.6 GB/s', '51.2 GB/s', '128 GB/s', '256 GB/s', '512 GB/s'], group: 'DRAM and clock' },
  { id: 'clock', label: 'clock', path: 'clock', kind: 'range', values: ['100 MHz', '200 MHz', '250 MHz', '400 MHz', '500 MHz', '800 MHz', '1 GHz', '1.5 GHz', '2 GHz'], group: 'DRAM and clock' },
  { id: 'fusion', label: 'fusion', path: 'run.fusion', kind: 'select', values: ['none', 'auto'], group: 'Run' },
  { id: 'batch', label: 'batch [frames]', path: 'run.batch', kind: 'range', values: pow2(1, 64), group: 'Run' },
  { id: 'objective', label: 'mapper objective', path: 'run.objective', kind: 'select', values: ['cycles', 'energy', 'edp', 'dram'], group: 'Run' },
];

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value at a control's path (undefined when the spec has none, e.g. laneBits on a mac array). */
export function valueAt(d: Design, path: string): ControlValue | undefined {
  const parts = path.split('.');
  let o: unknown = parts[0] === 'run' ? d.run : d.spec;
  for (const p of parts[0] === 'run' ? parts.slice(1) : parts) { if (!isObj(o)) return undefined; o = o[p]; }
  return typeof o === 'string' || typeof o === 'number' ? o : undefined;
}

/** A copy of the design with one path set. */
export function withValue(d: Design, path: string, value: ControlValue): Design {
  const parts = path.split('.');
  if (parts[0] === 'run') return { ...d, run: { ...d.run, [parts[1]]: value } };
  const spec = structuredClone(d.spec);
  let o = spec;
  for (const p of parts.slice(0, -1)) { if (!isObj(o[p])) o[p] = {}; o = o[p] as Json; }
  o[parts[parts.length - 1]] = value;
  return { ...d, spec };
}

/**
 * The arch JSON a design downloads as: its spec, named after the preset it came from and, when changed, with
 * the changed paths in its description. `birealsim simulate <network> --arch <file>` resolves it to the
 * arch the page simulated.
 */
export function designArchJson(d: Design, presetSpec: Json | undefined): Json {
  const changes = presetSpec ? diffPaths(presetSpec, d.spec) : [];
  const { $schema: _drop, ...spec } = d.spec;
  void _drop;
  if (changes.length === 0) return spec;
  return {
    ...spec,
    name: `${d.preset}-explore`,
    description: `Derived from the '${d.preset}' preset in birealsim explore: ${changes.map((c) => `${c.path} ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`).join(', ')}.`,
  };
}

/** Leaf paths whose values differ between two specs (name and description excluded). */
export function diffPaths(a: unknown, b: unknown, at = ''): { path: string; from: unknown; to: unknown }[] {
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !(at === '' && (k === 'name' || k === 'description' || k === '$schema')));
    return keys.flatMap((k) => diffPaths(a[k], b[k], at ? `${at}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path: at, from: a, to: b }];
}

/** The command line that reproduces a design from its downloaded arch file. */
export function cliCommand(d: Design, archFile: string): string {
  const r = d.run;
  return [`birealsim simulate ${r.workload} --arch ${archFile}`, r.fusion !== 'none' ? `--fusion ${r.fusion}` : '', r.batch !== 1 ? `--batch ${r.batch}` : '',
    r.objective !== 'cycles' ? `--objective ${r.objective}` : '', r.realFormat !== 'fp32' ? `--real-format ${r.realFormat}` : ''].filter(Boolean).join(' ');
}

/** Lowered plans by network and real format (a plan does not change with the arch). */
export class PlanCache {
  private plans = new Map<string, ExecPlan>();
  private custom = new Map<string, ResolvedNetwork>();
  addNetwork(name: string, net: ResolvedNetwork): void { this.custom.set(name, net); for (const k of [...this.plans.keys()]) if (k.startsWith(`${name}\u0000`)) this.plans.delete(k); }
  has(name: string): boolean { return !!BUILTIN_WORKLOADS[name] || this.custom.has(name); }
  customNames(): string[] { return [...this.custom.keys()]; }
  plan(name: string, realFormat: string): ExecPlan {
    const key = `${name}\u0000${realFormat}`;
    let p = this.plans.get(key);
    if (!p) {
      const net = this.custom.get(name) ?? (BUILTIN_WORKLOADS[name] ? resolveNetwork(BUILTIN_WORKLOADS[name]()) : undefined);
      if (!net) throw new Error(`no network '${name}' in the page: pick a built-in or drop its workload JSON`);
      p = lower(shapeOnlyModel(net), { realFormat: parseRealFormat(realFormat) });
      this.plans.set(key, p);
    }
    return p;
  }
}

/** Runs a design exactly as `birealsim simulate` does (timing only). */
export function runDesign(d: Design, plans: PlanCache): SimResult {
  const arch = resolveArch(d.spec);
  return simulate(plans.plan(d.run.workload, d.run.realFormat), arch, { objective: d.run.objective, fusion: d.run.fusion, batch: d.run.batch });
}
