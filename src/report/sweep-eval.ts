/**
 * Evaluates one sweep point: base arch spec + point patch -> resolveArch -> the simulator's timing-only
 * evaluation of the workload's ExecPlan -> {latency, energy per frame, area (sim/area.ts), on-chip bytes, DRAM bytes}.
 * An arch that does not resolve, or a layer with no feasible mapping, makes the point infeasible with the
 * simulator's reason (a value, not an exception).
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
import { resolveArch, presetNames, presetSpec, type ResolvedArch } from '../sim/arch.ts';
import { areaOf } from '../sim/area.ts';
import { simulateTiming } from './sim-adapter.ts';
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
  if (presetNames().includes(arch)) return presetSpec(arch);
  let text: string;
  try { text = readFileSync(arch, 'utf8'); } catch {
    const m = didYouMean(arch, presetNames());
    throw new UserError('E_SWEEP_SPEC', `no such architecture preset or file '${arch}'`, { file: specFile, path: '$.arch', hint: `${m ? `did you mean '${m}'? ` : ''}presets: ${presetNames().join(', ')}` });
  }
  try { return JSON.parse(text); } catch (e) { throw new UserError('E_JSON', `invalid JSON: ${(e as Error).message}`, { file: arch, path: '$' }); }
}

/**
 * Refuses an axis that names no arch field (a typo such as "dram.bandwith"), up front: each axis alone is
 * applied to the base arch with its first value, and an "unknown key" from the arch validator at that axis is
 * an E_SWEEP_AXIS error naming the axis's JSON path and the valid names there (otherwise every point would
 * be "infeasible" and the sweep would exit 0).
 */
export function checkAxes(spec: SweepSpec, baseArch: unknown, file: string): void {
  for (const axis of Object.keys(spec.axes)) {
    if (isRunAxis(axis)) { checkRunAxis(spec, axis, file); continue; }
    try { resolveArch(applyPoint(baseArch, { [axis]: spec.axes[axis][0] }), file); } catch (e) {
      if (!isUserError(e)) throw e;
      if (e.jsonPath === `$.axes["${axis}"]`) throw new UserError(e.code === 'E_ARCH' ? 'E_SWEEP_AXIS' : e.code, e.message, { file, path: e.jsonPath, hint: e.hint });
      if (/^unknown key /.test(e.message) && e.jsonPath) {
        const at = e.jsonPath.replace(/^\$\.?/, '').split('.').slice(0, -1).join('.');
        const run = at ? undefined : didYouMean(axis, RUN_AXES);
        throw new UserError('E_SWEEP_AXIS', `axis '${axis}' names no arch field or run setting (${e.message} at ${at || 'the top level'})`, { file, path: `$.axes["${axis}"]`, hint: run ? `did you mean '${run}'? (run axes: ${RUN_AXES.join(', ')})` : `${at ? `under '${at}': ` : ''}${e.hint ?? ''}${at ? '' : `; run axes: ${RUN_AXES.join(', ')}`}` });
      }
      // any other error depends on the value (out of range, wrong type): that point is infeasible, not a typo
    }
    // a value outside a field's fixed set of choices ("dataflow": "wss") is a typo too: every value alone
    spec.axes[axis].forEach((v, i) => {
      try { resolveArch(applyPoint(baseArch, { [axis]: v }), file); } catch (e) {
        if (isUserError(e) && /^expected one of /.test(e.message)) throw new UserError('E_SWEEP_AXIS', `axis '${axis}' value ${JSON.stringify(v)}: ${e.message}`, { file, path: `$.axes["${axis}"][${i}]`, hint: e.hint });
      }
    });
  }
}

/** Checks every value of a run axis (see sweep-spec.ts RUN_AXES) before the first point runs. */
function checkRunAxis(spec: SweepSpec, axis: RunAxis, file: string): void {
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
  return (params) => {
    const { run } = splitPoint(params);
    let arch: ResolvedArch;
    try { arch = resolveArch(applyPoint(baseArch, params), `${spec.name} point`); } catch (e) {
      if (isUserError(e)) return { infeasible: `arch: ${e.jsonPath ? e.jsonPath + ': ' : ''}${e.message}` };
      throw e;
    }
    const plan = planOf(String(run.workload ?? spec.workload), String(run.realFormat ?? 'fp32'));
    const t = simulateTiming(plan, arch, { objective: (run.objective ?? 'cycles') as Objective, fusion: (run.fusion ?? 'none') as FusionMode, batch: (run.batch ?? 1) as number });
    if ('infeasible' in t) return { infeasible: t.infeasible };
    return { metrics: { latencyCycles: t.latencyCycles, latencySeconds: t.latencyCycles / arch.clockHz, energyJoules: t.energyJoules, onChipBytes: onChipBytes(arch), areaMm2: areaOf(arch).totalMm2, dramBytes: t.dramBytes, ...(t.framesPerSecond !== undefined ? { framesPerSecond: t.framesPerSecond } : {}) } };
  };
}
