/**
 * Inputs for report tests, produced by the real producers on the micro workload (test/fixtures):
 * cost JSON from the CLI (`birealsim cost --json`), simulation JSON from sim/simulate.ts (timingMs pinned
 * to 0: the only wall-clock field), and a tiny grid sweep run on the calling thread (index order).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import type { InputDoc } from '../../src/report/build.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { loadArch } from '../../src/sim/arch.ts';
import { loadPlan, loadBaseArch } from '../../src/report/sweep-eval.ts';
import { runSweep } from '../../src/report/sweep-run.ts';
import { validateSpec } from '../../src/report/sweep-spec.ts';

export const MICRO = 'test/fixtures/micro-workload.json';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
export const doc = (name: string, text: string): InputDoc => ({ name, text, sha256: sha(text) });

export function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/birealsim.mjs', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function costDoc(): InputDoc {
  const r = cli(['cost', MICRO, '--json']);
  if (r.status !== 0) throw new Error(`cost --json failed: ${r.stderr}`);
  return doc('micro-cost.json', r.stdout);
}

export function simDoc(workload: string, arch: string, name: string): InputDoc {
  const res = simulate(loadPlan(workload), loadArch(arch));
  return doc(name, JSON.stringify({ ...res, timingMs: 0 }, null, 2));
}

export const MICRO_SPEC = {
  schema: 'birealsim.sweep-spec/1', name: 'micro-grid', workload: MICRO, arch: 'edge', mode: 'grid',
  axes: { 'peArray.rows': [8, 16], 'peArray.laneBits': [32, 64], 'dram.bandwidth': ['3.2 GB/s', '12.8 GB/s'], 'buffers.*.capacity': ['1 KiB', '64 KiB'] },
};

export async function sweepDoc(): Promise<InputDoc> {
  const dir = mkdtempSync(join(tmpdir(), 'birealsim-sweep-'));
  try {
    const out = join(dir, 'micro.jsonl');
    const spec = validateSpec(MICRO_SPEC, 'micro-spec');
    await runSweep({ spec, baseArch: loadBaseArch(spec.arch, 'micro-spec'), out, shard: null, workers: 0, toolVersion: '0.1.0' });
    return doc('micro-sweep.jsonl', readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
