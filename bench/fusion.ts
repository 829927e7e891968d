/**
 * Fusion benchmarks (issue 14; called by bench/run.ts, runnable alone: node bin/run-ts.mjs bench/fusion.ts):
 *  - timing-only Bi-Real-18 (224x224) with the fusion search (`--fusion auto`, residency.ts) on edge and
 *    large, warm (median of 7 after one warm-up run), target < 100 ms, beside the same run without fusion;
 *  - a 1000-point sweep with fusion auto over arch keys and batch (bireal18-imagenet on edge: PE rows x cols,
 *    buffer capacity, DRAM bandwidth, batch 1/4/8 = 5 x 5 x 4 x 2 x 5 = 1000 points) on every core (sweep
 *    workers), target < 2 minutes. The result file goes to a temporary directory.
 * The 1-minute load average is reported beside the numbers (the machine may be shared).
 */
import { loadavg, cpus, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_WORKLOADS } from '../src/ir/builders.ts';
import { resolveNetwork } from '../src/ir/validate.ts';
import { shapeOnlyModel } from '../src/ir/model.ts';
import { lower } from '../src/golden/plan.ts';
import { loadArch } from '../src/sim/arch.ts';
import { simulate } from '../src/sim/simulate.ts';
import { validateSpec, gridSize } from '../src/report/sweep-spec.ts';
import { loadBaseArch } from '../src/report/sweep-eval.ts';
import { runSweep } from '../src/report/sweep-run.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export const FUSION_SWEEP_SPEC = {
  schema: 'birealsim.sweep-spec/1', name: 'bench-fusion-1000', workload: 'bireal18-imagenet', arch: 'edge', mode: 'grid',
  axes: {
    'peArray.rows': [8, 16, 24, 32, 64], 'peArray.cols': [8, 16, 24, 32, 64],
    'buffers.*.capacity': ['64 KiB', '128 KiB', '256 KiB', '512 KiB'], 'dram.bandwidth': ['6.4 GB/s', '12.8 GB/s'],
    batch: [1, 2, 4, 8, 16], fusion: ['auto'],
  },
} as const;

export async function benchFusion(): Promise<{ markdown: string }> {
  const plan = lower(shapeOnlyModel(resolveNetwork(BUILTIN_WORKLOADS['bireal18-imagenet']())));
  const rows: string[] = [];
  const load0 = loadavg()[0];
  for (const preset of ['edge', 'large']) {
    const arch = loadArch(preset);
    for (const fusion of ['none', 'auto'] as const) {
      simulate(plan, arch, { fusion });
      const ts: number[] = [];
      let r;
      for (let i = 0; i < 7; i++) { const t0 = performance.now(); r = simulate(plan, arch, { fusion }); ts.push(performance.now() - t0); }
      const ms = median(ts), t = r!.totals!;
      rows.push(`| Bi-Real-18 on ${preset}, fusion ${fusion} | ${ms.toFixed(1)} | ${fusion === 'auto' ? `target < 100 ms: ${ms < 100 ? 'met' : 'NOT met'}` : ''} | ${t.latencyMs.toFixed(3)} | ${(t.dramBytes / 1e6).toFixed(2)} | ${(t.energyPerFrameJ * 1e6).toFixed(0)} |`);
    }
  }
  const spec = validateSpec(FUSION_SWEEP_SPEC, 'bench/fusion.ts');
  const dir = mkdtempSync(join(tmpdir(), 'birealsim-bench-fusion-'));
  const workers = cpus().length;
  let seconds = 0, evaluated = 0;
  try {
    const t0 = performance.now();
    const res = await runSweep({ spec, baseArch: loadBaseArch(spec.arch, 'bench/fusion.ts'), out: join(dir, 'sweep.jsonl'), shard: null, workers, resume: false, toolVersion: 'bench' });
    seconds = (performance.now() - t0) / 1e3;
    evaluated = res.evaluated;
  } finally { rmSync(dir, { recursive: true, force: true }); }
  const load1 = loadavg()[0];
  const md = [
    `Load average (1 min): ${load0.toFixed(2)} at start, ${load1.toFixed(2)} after.`,
    '',
    '| timing-only simulation (warm, median of 7) | ms | | latency [ms] | DRAM [MB] | energy/frame [uJ] |',
    '|---|---:|---|---:|---:|---:|',
    ...rows,
    '',
    `| sweep | points | workers | seconds | |`,
    '|---|---:|---:|---:|---|',
    `| bireal18-imagenet on edge, fusion auto: PE rows x cols x buffer capacity x DRAM bandwidth x batch (grid ${gridSize(spec)}) | ${evaluated} | ${workers} | ${seconds.toFixed(1)} | target < 120 s: ${seconds < 120 ? 'met' : 'NOT met'} |`,
  ].join('\n');
  return { markdown: md };
}

if (process.argv[1]?.endsWith('fusion.ts')) process.stdout.write((await benchFusion()).markdown + '\n');
