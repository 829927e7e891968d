/**
 * Evaluates one sweep point: base arch spec + point patch -> the point's arch of either family -> the
 * simulator's timing-only evaluation of the workload's ExecPlan -> {latency, throughput, energy per frame,
 * area, on-chip bytes, DRAM bytes}. An arch that does not resolve, a layer with no feasible mapping, or a
 * dataflow point that misses its targetFps makes the point infeasible with the simulator's reason (a value,
 * not an exception).
 *
 * Families (docs/sweep.md "Architecture families"): a point's family is its `family` axis value, else the base
 * arch's. A dataflow point of a layer-sequential base is built by `dataflowSpecOf` (clock, dram, technology
 * node and real-value widths carried over; fifoDepth, targetFps and folding from their own axes or the
 * dataflow defaults). Each arch axis applies to the families whose arch format has that key (found once, by
 * trial resolution); it is ignored by points of the other family. An axis that applies to no family of the
 * sweep is refused up front (E_SWEEP_AXIS), as is a layer-sequential point on a dataflow base.
 *
 * Invariants: deterministic (no randomness, no clock); the plan is lowered once per evaluator (workers
 * build one evaluator and reuse it for every point they receive).
 */
import { readFileSync } from 'node:fs';
import { isUserError, UserError, didYouMean } from '../core/diagnostics.ts';
import { BUILTIN_WORKLOADS } from '../ir/builders.ts';
import { loadWorkloadText, resolveNetwork } from '../ir/validate.ts';
import { shapeOnlyModel } from '../ir/model.ts';
import { lower, type ExecPlan } from '../golden/plan.ts';
import { ARCH_FAMILIES, resolveArch, presetNames, presetSpec, type ArchFamily, type ResolvedArch } from '../sim/arch.ts';
import { areaOf } from '../sim/area.ts';
import { isDataflowSpec, resolveDataflowArch, type ResolvedDataflowArch } from '../sim/dataflow-arch.ts';
import { simulateDataflowTiming, simulateTiming } from './sim-adapter.ts';
import type { PointMetrics } from './sweep-file.ts';
import { applyPoint, isRunAxis, RUN_AXES, splitPoint, type RunAxis, type SweepSpec } from './sweep-spec.ts';
import { parseRealFormat, type RealFormat } from '../core/realformat.ts';
import { didYouMeanHint } from '../core/diagnostics.ts';
import { OBJECTIVES, type Objective } from '../sim/mapper.ts';
import { FUSION_MODES, type FusionMode } from '../sim/residency.ts';

/** The workload's plan (weights do not affect timing: shape-only model). */
export function loadPlan(workload: string, specFile?: string, realFormat?: RealFormat): ExecPlan {
  const opts = realFormat ? { realFormat } : undefined;
  if (BUILTIN_WORKLOADS[workload]) return lower(shapeOnlyModel(resolveNetwork(BUILTIN_WORKLOADS[workload]())), opts);
  let text: string;
  try { text = readFileSync(workload, 'utf8'); } catch {
    const m = didYouMean(workload, Object.keys(BUILTIN_WORKLOADS));
    throw new UserError('E_SWEEP_SPEC', `no such built-in workload or file '${workload}'`, { file: specFile, path: '$.workload', hint: `${m ? `did you mean '${m}'? ` : ''}built-ins: ${Object.keys(BUILTIN_WORKLOADS).join(', ')}` });
  }
  return lower(shapeOnlyModel(loadWorkloadText(text, workload)), opts);
}

/** Raw base arch spec of a sweep (preset name or file path). */
export function loadBaseArch(arch: string, specFile: string): unknown {
  if (presetNames('all').includes(arch)) return presetSpec(arch);
  let text: string;
  try { text = readFileSync(arch, 'utf8'); } catch {
    const m = didYouMean(arch, presetNames('all'));
    throw new UserError('E_SWEEP_SPEC', `no such architecture preset or file '${arch}'`, { file: specFile, path: '$.arch', hint: `${m ? `did you mean '${m}'? ` : ''}presets: ${presetNames('all').join(', ')}` });
  }
  try { return JSON.parse(text); } catch (e) { throw new UserError('E_JSON', `invalid JSON: ${(e as Error).message}`, { file: arch, path: '$' }); }
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The family of a raw arch spec (absent `family` = layer-sequential). */
export function familyOf(spec: unknown): ArchFamily {
  return isDataflowSpec(spec) ? 'dataflow' : 'layer-sequential';
}

/** Resolves a raw spec as the given family (UserError E_ARCH on any problem). */
function resolveAs(family: ArchFamily, spec: unknown, file: string): ResolvedArch | ResolvedDataflowArch {
  return family === 'dataflow' ? resolveDataflowArch(spec, file) : resolveArch(spec, file);
}

/**
 * The dataflow counterpart of a layer-sequential arch spec (a `family` axis value "dataflow" on a
 * layer-sequential base). Keys of both formats keep their value: clock, technologyNode, dram.bandwidth,
 * dram.latency (default "100 ns", as in arch.ts) and dram.energyPerBit. The real-value widths map:
 * realStreamBits = buffers.realStream.precisionBits; realMacPrecision = realUnit.precision (the peArray's
 * precision when realUnit is "pe-array"). Everything else of the layer-sequential format (PE array, buffers,
 * post-processing, pooling) has no dataflow counterpart and is dropped; fifoDepth, targetFps and folding take
 * the dataflow defaults (2, none, {}) unless the sweep has axes for them.
 */
export function dataflowSpecOf(ls: unknown): Json {
  const o = isObj(ls) ? ls : {};
  const dram = isObj(o.dram) ? o.dram : {};
  const buffers = isObj(o.buffers) ? o.buffers : {};
  const realStream = isObj(buffers.realStream) ? buffers.realStream : {};
  const pe = isObj(o.peArray) ? o.peArray : {};
  const realMacPrecision = o.realUnit === 'pe-array' ? pe.precision : isObj(o.realUnit) ? o.realUnit.precision : undefined;
  const out: Json = {
    schema: o.schema, family: 'dataflow', name: `${String(o.name)}+dataflow`,
    description: `dataflow counterpart of '${String(o.name)}' (sweep family axis: clock, dram, technologyNode and real-value widths carried over)`,
    clock: o.clock,
    dram: { bandwidth: dram.bandwidth, latency: dram.latency ?? '100 ns', ...(dram.energyPerBit !== undefined ? { energyPerBit: dram.energyPerBit } : {}) },
    realStreamBits: realStream.precisionBits,
    realMacPrecision,
  };
  if (o.technologyNode !== undefined) out.technologyNode = o.technologyNode;
  return out;
}

/**
 * The families a sweep's points use: its `family` axis values (each checked: a known family, and no
 * layer-sequential point on a dataflow base), else the base arch's family.
 */
export function sweepFamilies(spec: SweepSpec, baseArch: unknown, file: string): ArchFamily[] {
  const base = familyOf(baseArch);
  const values = spec.axes.family;
  if (!values) return [base];
  const out: ArchFamily[] = [];
  values.forEach((v, i) => {
    const path = `$.axes["family"][${i}]`;
    if (typeof v !== 'string' || !(ARCH_FAMILIES as readonly string[]).includes(v)) throw new UserError('E_SWEEP_AXIS', `axis 'family' value ${JSON.stringify(v)}: expected one of ${ARCH_FAMILIES.join(', ')}`, { file, path, hint: typeof v === 'string' ? didYouMeanHint(v, ARCH_FAMILIES) : undefined });
    if (v === 'layer-sequential' && base === 'dataflow') throw new UserError('E_SWEEP_AXIS', "axis 'family' value \"layer-sequential\": the base arch is a dataflow arch, which has no layer-sequential counterpart", { file, path, hint: 'use a layer-sequential base arch (e.g. "edge"): its dataflow points are derived from it (docs/sweep.md, "Architecture families")' });
    if (!out.includes(v as ArchFamily)) out.push(v as ArchFamily);
  });
  return out;
}

/** The raw spec each family's points start from: the base itself, or its dataflow counterpart. */
function familyBase(family: ArchFamily, baseArch: unknown): unknown {
  return family === familyOf(baseArch) ? baseArch : dataflowSpecOf(baseArch);
}

/**
 * Whether an arch axis names a key of a family's format: the axis alone (first value) on that family's base,
 * resolved; an "unknown key" from the validator means it does not (returned as the error, for the message).
 */
function axisTrial(family: ArchFamily, baseArch: unknown, axis: string, value: unknown, file: string): UserError | null {
  try { resolveAs(family, applyPoint(familyBase(family, baseArch), { [axis]: value }), file); } catch (e) {
    if (!isUserError(e)) throw e;
    if (e.jsonPath === `$.axes["${axis}"]`) return e; // goes through a leaf value: not a field of this format
    if (/^unknown key /.test(e.message) && e.jsonPath) return e;
  }
  return null;
}

/** For each arch axis, the families of the sweep whose format has it (see the module comment). */
export function axisFamilies(spec: SweepSpec, baseArch: unknown, file: string): Map<string, ArchFamily[]> {
  const families = sweepFamilies(spec, baseArch, file);
  const out = new Map<string, ArchFamily[]>();
  for (const axis of Object.keys(spec.axes)) {
    if (isRunAxis(axis) || axis === 'family') continue;
    out.set(axis, families.filter((f) => axisTrial(f, baseArch, axis, spec.axes[axis][0], file) === null));
  }
  return out;
}

/**
 * Refuses an axis that names no arch field (a typo such as "dram.bandwith"), up front: each axis alone is
 * applied to the base arch of every family of the sweep with its first value, and an "unknown key" from the
 * arch validator in every family is an E_SWEEP_AXIS error naming the axis's JSON path and the valid names
 * there (otherwise every point would be "infeasible" and the sweep would exit 0). Also refuses bad `family`
 * values, and the run axes that only the layer-sequential family reads (objective, fusion) when no point of
 * the sweep is layer-sequential.
 */
export function checkAxes(spec: SweepSpec, baseArch: unknown, file: string): void {
  const families = sweepFamilies(spec, baseArch, file);
  for (const axis of Object.keys(spec.axes)) {
    if (axis === 'family') continue;
    if (isRunAxis(axis)) { checkRunAxis(spec, axis, file, families); continue; }
    const errors = families.map((f) => axisTrial(f, baseArch, axis, spec.axes[axis][0], file));
    if (errors.every((e) => e !== null)) {
      const e = errors[0]!;
      if (e.jsonPath === `$.axes["${axis}"]`) throw new UserError(e.code === 'E_ARCH' ? 'E_SWEEP_AXIS' : e.code, e.message, { file, path: e.jsonPath, hint: e.hint });
      const at = e.jsonPath!.replace(/^\$\.?/, '').split('.').slice(0, -1).join('.');
      const run = at ? undefined : didYouMean(axis, RUN_AXES);
      const which = families.length > 1 ? ` of either family (${families.join(', ')})` : families[0] === 'dataflow' ? ' of the dataflow family' : '';
      const hints = families.length > 1
        ? errors.map((x, i) => `${families[i]}: ${x!.hint ?? x!.message}`).join('; ')
        : `${at ? `under '${at}': ` : ''}${e.hint ?? ''}`;
      throw new UserError('E_SWEEP_AXIS', `axis '${axis}' names no arch field or run setting${which} (${e.message} at ${at || 'the top level'})`, { file, path: `$.axes["${axis}"]`, hint: run ? `did you mean '${run}'? (run axes: ${RUN_AXES.join(', ')})` : `${hints}${at ? '' : `; run axes: ${RUN_AXES.join(', ')}`}` });
    }
    // a value outside a field's fixed set of choices ("dataflow": "wss") is a typo too: every value alone, in
    // every family that has the axis
    families.forEach((f, fi) => {
      if (errors[fi] !== null) return;
      spec.axes[axis].forEach((v, i) => {
        try { resolveAs(f, applyPoint(familyBase(f, baseArch), { [axis]: v }), file); } catch (e) {
          if (isUserError(e) && /^expected one of /.test(e.message)) throw new UserError('E_SWEEP_AXIS', `axis '${axis}' value ${JSON.stringify(v)}: ${e.message}`, { file, path: `$.axes["${axis}"][${i}]`, hint: e.hint });
        }
      });
    });
  }
}

/** Checks every value of a run axis (see sweep-spec.ts RUN_AXES) before the first point runs. */
function checkRunAxis(spec: SweepSpec, axis: RunAxis, file: string, families: ArchFamily[]): void {
  if ((axis === 'objective' || axis === 'fusion') && !families.includes('layer-sequential')) {
    throw new UserError('E_SWEEP_AXIS', `run axis '${axis}' has no effect on dataflow points, and this sweep has no layer-sequential point`, { file, path: `$.axes["${axis}"]`, hint: `the dataflow family has no mapper and always streams on chip; remove the axis, or add a "family" axis with "layer-sequential" on a layer-sequential base` });
  }
  spec.axes[axis].forEach((v, i) => {
    const path = `$.axes["${axis}"][${i}]`;
    const bad = (msg: string, hint?: string) => new UserError('E_SWEEP_AXIS', `axis '${axis}' value ${JSON.stringify(v)}: ${msg}`, { file, path, hint });
    const choice = (options: readonly string[]) => { if (typeof v !== 'string' || !options.includes(v)) throw bad(`expected one of ${options.join(', ')}`, typeof v === 'string' ? didYouMeanHint(v, options) : undefined); };
    switch (axis) {
      case 'workload':
        if (typeof v !== 'string') throw bad('expected a built-in workload name or a workload file');
        try { loadPlan(v, file); } catch (e) { if (isUserError(e)) throw bad(e.message, e.hint); throw e; }
        break;
      case 'batch':
        if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65536) throw bad('expected an integer batch from 1 to 65536');
        break;
      case 'objective': choice(OBJECTIVES); break;
      case 'fusion': choice(FUSION_MODES); break;
      case 'realFormat':
        try { parseRealFormat(String(v)); } catch (e) { if (isUserError(e)) throw bad(e.message, e.hint); throw e; }
        break;
    }
  });
}

export function onChipBytes(a: ResolvedArch): number {
  return Object.values(a.buffers).reduce((s, b) => s + b.capacityBytes, 0);
}

export type PointResult = { metrics: PointMetrics } | { infeasible: string };

export function makeEvaluator(spec: SweepSpec, baseArch: unknown): (params: Record<string, unknown>) => PointResult {
  // plans per (workload, real-stream format), lowered once per evaluator
  const plans = new Map<string, ExecPlan>();
  const planOf = (workload: string, realFormat: string): ExecPlan => {
    const key = `${workload}\u0000${realFormat}`;
    let p = plans.get(key);
    if (!p) { p = loadPlan(workload, undefined, parseRealFormat(realFormat)); plans.set(key, p); }
    return p;
  };
  planOf(spec.workload, 'fp32');
  const baseFamily = familyOf(baseArch);
  // which family each arch axis belongs to: only needed when the sweep mixes families
  const applies = spec.axes.family ? axisFamilies(spec, baseArch, `${spec.name} spec`) : null;
  const patchFor = (family: ArchFamily, params: Record<string, unknown>) => Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'family' && (!applies || !applies.has(k) || applies.get(k)!.includes(family))));
  return (params) => {
    const { run } = splitPoint(params);
    const family = (params.family ?? baseFamily) as ArchFamily;
    const where = `${spec.name} point`;
    const plan = () => planOf(String(run.workload ?? spec.workload), String(run.realFormat ?? 'fp32'));
    const bad = (e: unknown): PointResult => {
      if (isUserError(e)) return { infeasible: `arch: ${e.jsonPath ? e.jsonPath + ': ' : ''}${e.message}` };
      throw e;
    };
    if (family === 'dataflow') {
      // a layer-sequential base: its own axes first, then the dataflow counterpart with the dataflow axes
      const start = baseFamily === 'dataflow' ? baseArch : dataflowSpecOf(applyPoint(baseArch, patchFor('layer-sequential', params)));
      let arch: ResolvedDataflowArch;
      try { arch = resolveDataflowArch(applyPoint(start, patchFor('dataflow', params)), where); } catch (e) { return bad(e); }
      const t = simulateDataflowTiming(plan(), arch, { batch: (run.batch ?? 1) as number });
      if ('infeasible' in t) return { infeasible: t.infeasible };
      return { metrics: { latencyCycles: t.latencyCycles, latencySeconds: t.latencyCycles / arch.clockHz, energyJoules: t.energyJoules, onChipBytes: t.onChipBytes, areaMm2: t.areaMm2, dramBytes: t.dramBytes, framesPerSecond: t.framesPerSecond } };
    }
    let arch: ResolvedArch;
    try { arch = resolveArch(applyPoint(baseArch, patchFor('layer-sequential', params)), where); } catch (e) { return bad(e); }
    const t = simulateTiming(plan(), arch, { objective: (run.objective ?? 'cycles') as Objective, fusion: (run.fusion ?? 'none') as FusionMode, batch: (run.batch ?? 1) as number });
    if ('infeasible' in t) return { infeasible: t.infeasible };
    return { metrics: { latencyCycles: t.latencyCycles, latencySeconds: t.latencyCycles / arch.clockHz, energyJoules: t.energyJoules, onChipBytes: onChipBytes(arch), areaMm2: areaOf(arch).totalMm2, dramBytes: t.dramBytes, ...(t.framesPerSecond !== undefined ? { framesPerSecond: t.framesPerSecond } : {}) } };
  };
}
