/**
 * "Same bits" baseline (issue "One definition per op", item 5): records, before a refactor, what must not
 * change after it, and compares a later tree with the record.
 *  - runs:   logits SHA-256 of `birealsim run <w> --seed 7` for every built-in workload (fast kernels,
 *            resident path) and the same with --kernels reference;
 *  - models: golden test-set accuracy of every committed model (reports/train/.../*.safetensors) on the
 *            dataset recorded in its metadata, with the SHA-256 of its predictions;
 *  - sim:    the numbers of every timing-only simulation of every built-in workload on every preset under
 *            every objective: per layer the mapping, cycle split, DRAM/SRAM bytes, action counts, energy;
 *            and the totals. Schema-independent (field names and layout of SimResult may change).
 *
 *   node bin/run-ts.mjs scripts/baseline.ts record runs|models|sim OUT.json
 *   node bin/run-ts.mjs scripts/baseline.ts check  runs|models|sim BASE.json   (prints every difference)
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/core/atomic.ts';

const sha = (a: ArrayBufferView) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

async function runs(): Promise<Record<string, string>> {
  const { BUILTIN_WORKLOADS } = await import('../src/ir/builders.ts');
  const { loadTarget, loadInput } = await import('../src/cli/load.ts');
  const { lower } = await import('../src/golden/plan.ts');
  const { runPlan } = await import('../src/golden/run.ts');
  const { fastKernels, referenceKernels, loadKernels } = await import('../src/kernels/index.ts');
  await loadKernels();
  const out: Record<string, string> = {};
  for (const name of Object.keys(BUILTIN_WORKLOADS)) {
    const { model } = loadTarget(name, 7);
    const { input } = loadInput(undefined, model.net, 7);
    const plan = lower(model);
    out[`${name}/fast`] = sha(runPlan(plan, input, { kernels: fastKernels }).logits);
    if (!name.includes('34')) out[`${name}/reference`] = sha(runPlan(plan, input, { kernels: referenceKernels }).logits);
  }
  return out;
}

function modelFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((f) => { const p = join(dir, f); return statSync(p).isDirectory() ? modelFiles(p) : p.endsWith('.safetensors') && !p.endsWith('checkpoint.safetensors') ? [p] : []; });
}

async function models(): Promise<Record<string, { accuracy: number; predictionsSha256: string }>> {
  const { loadModel } = await import('../src/ir/model.ts');
  const { loadDataset } = await import('../src/data/datasets.ts');
  const { goldenPredictions } = await import('../src/golden/evaluate.ts');
  const { getKernels, loadKernels } = await import('../src/kernels/index.ts');
  await loadKernels();
  const out: Record<string, { accuracy: number; predictionsSha256: string }> = {};
  const cache = new Map<string, ReturnType<typeof loadDataset>>();
  for (const f of modelFiles('reports')) {
    const m = loadModel(f);
    const dsName = m.meta.dataset ?? 'mnist';
    if (!cache.has(dsName)) cache.set(dsName, loadDataset(dsName));
    const g = await goldenPredictions(m, cache.get(dsName)!, getKernels('fast'));
    out[f] = { accuracy: g.accuracy, predictionsSha256: sha(g.predictions) };
    process.stderr.write(`${f}: ${(100 * g.accuracy).toFixed(2)}%\n`);
  }
  return out;
}

async function sim(): Promise<Record<string, unknown>> {
  const { BUILTIN_WORKLOADS } = await import('../src/ir/builders.ts');
  const { resolveNetwork } = await import('../src/ir/validate.ts');
  const { shapeOnlyModel } = await import('../src/ir/model.ts');
  const { lower } = await import('../src/golden/plan.ts');
  const { loadArch } = await import('../src/sim/arch.ts');
  const { simulate } = await import('../src/sim/simulate.ts');
  const out: Record<string, unknown> = {};
  for (const n of Object.keys(BUILTIN_WORKLOADS)) {
    const plan = lower(shapeOnlyModel(resolveNetwork(BUILTIN_WORKLOADS[n]())));
    for (const p of ['edge', 'large', 'baseline-mac', 'scalesim-compat']) {
      const arch = loadArch(p);
      for (const o of ['cycles', 'energy', 'edp', 'dram'] as const) {
        const r = simulate(plan, arch, { objective: o });
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const layers = r.layers.map((l: any) => ({ id: l.id, steps: l.steps, feasible: l.feasible, reason: l.reason ?? null, mapping: l.mapping ?? null, tiles: l.tiles ?? null, cycles: l.cycles ?? null, dram: l.dramBytesTotal ?? null, compulsory: l.compulsoryDramBytes ?? null, sram: l.sramBytes ?? null, actions: l.actions ?? null, energyJ: l.energyTotalJ ?? null, bops: l.bops, macs: l.macs ?? l.realMacs }));
        // the totals as first recorded (real MACs were `macs`; `ops` and `opsByPrecision` came later)
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const { realMacs, ops: _ops, opsByPrecision: _byPrecision, ...totals } = (r.totals ?? {}) as any;
        out[`${n}/${p}/${o}`] = { feasible: r.feasible, totals: r.totals ? { macs: realMacs, ...totals } : null, layers };
      }
    }
  }
  return out;
}

const WHAT: Record<string, () => Promise<unknown>> = { runs, models, sim };

/** Every leaf path where a and b differ (numbers, strings, presence). */
function diff(a: unknown, b: unknown, path: string, out: string[]): void {
  if (typeof a === 'object' && a && typeof b === 'object' && b) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) diff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`, out);
    return;
  }
  if (!Object.is(a, b)) out.push(`${path}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`);
}

const [mode, what, file] = process.argv.slice(2);
if (!WHAT[what] || !file || (mode !== 'record' && mode !== 'check')) {
  process.stderr.write('usage: baseline.ts record|check runs|models|sim FILE.json\n');
  process.exit(2);
}
const now = await WHAT[what]();
if (mode === 'record') writeFileAtomic(file, JSON.stringify(now, null, 1) + '\n');
else {
  const base = JSON.parse(readFileSync(file, 'utf8'));
  const d: string[] = [];
  diff(base, JSON.parse(JSON.stringify(now)), '$', d);
  process.stdout.write(d.length ? d.join('\n') + `\n${d.length} differences\n` : 'identical\n');
  process.exitCode = d.length ? 1 : 0;
}
process.exit();
