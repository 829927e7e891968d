/**
 * The scale-out job scripts without a scheduler (always run; the real Slurm run is slurm.test.ts):
 *  - examples/slurm/sweep.sbatch maps array task ids to 1-based shards: --array=1-N and any other
 *    contiguous numbering (0-3) give shards 1..N exactly once; a strided or gapped array is refused (exit 2);
 *  - the container script of examples/k8s/sweep-job.yaml maps the 0-based JOB_COMPLETION_INDEX to shard
 *    index+1 of SHARDS, and SHARDS equals the Job's completions;
 *  - examples/slurm/merge.sbatch and the script of examples/k8s/merge-job.yaml merge N real part files, fail
 *    on a missing part file and on a part that was cut short (merge reports MISSING points), and succeed once
 *    the short part is resumed.
 * The sweep scripts run with BIREALSIM=echo, so they print the birealsim command line they would run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readSweepFile } from '../../src/report/sweep-file.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = `${process.execPath} ${join(ROOT, 'bin/birealsim.mjs')}`;
const dir = mkdtempSync(join(tmpdir(), 'birealsim-shard-scripts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs bash with this process's environment minus any SLURM_* / JOB_COMPLETION_INDEX / BIREALSIM, plus `env`. */
const bash = (args: string[], env: Record<string, string>) => {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SLURM_|JOB_COMPLETION_INDEX$|BIREALSIM$)/.test(k)));
  return spawnSync('bash', args, { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...base, ...env } });
};

/** The block scalar under `args:` (`- |`) of a Job's container: the script the pod runs. */
function containerScript(yamlFile: string): string {
  const lines = readFileSync(join(ROOT, yamlFile), 'utf8').split('\n');
  const at = lines.findIndex((l) => /^\s+args:\s*$/.test(l));
  expect(at, `${yamlFile} has an args: block`).toBeGreaterThan(0);
  expect(lines[at + 1]).toMatch(/^\s+- \|\s*$/);
  const body: string[] = [];
  for (const l of lines.slice(at + 2)) {
    if (l.trim() !== '' && !l.startsWith(' '.repeat(lines[at + 1].indexOf('-') + 2))) break;
    body.push(l);
  }
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return body.map((l) => l.slice(indent)).join('\n');
}

/** The value of `- name: NAME` / `value: ...` in a Job's env list. */
function envValue(yamlFile: string, name: string): string {
  const m = new RegExp(`- name: ${name}\\b[^\\n]*\\n\\s+value: "?([^"#\\n]*?)"?\\s*(#.*)?\\n`).exec(readFileSync(join(ROOT, yamlFile), 'utf8'));
  expect(m, `${yamlFile} sets ${name}`).not.toBeNull();
  return m![1];
}

const shardOf = (stdout: string) => /--shard (\d+)\/(\d+) --out (\S+)/.exec(stdout);

describe('examples/slurm/sweep.sbatch: array task -> shard', () => {
  const sbatch = join(ROOT, 'examples/slurm/sweep.sbatch');
  const task = (id: number, min: number, max: number, count: number) => bash([sbatch, 'spec.json', join(dir, 'slurm-out')], {
    BIREALSIM: 'echo', SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: String(min), SLURM_ARRAY_TASK_MAX: String(max), SLURM_ARRAY_TASK_COUNT: String(count), SLURM_CPUS_PER_TASK: '3',
  });

  for (const [min, label] of [[1, '--array=1-4'], [0, '--array=0-3']] as const) {
    it(`${label}: tasks run shards 1/4 .. 4/4, each once, into part-k.jsonl`, () => {
      const shards = [0, 1, 2, 3].map((i) => {
        const r = task(min + i, min, min + 3, 4);
        expect(r.status, r.stderr).toBe(0);
        const m = shardOf(r.stdout);
        expect(m, r.stdout).not.toBeNull();
        expect(r.stdout).toContain('--workers 3');
        expect(m![3]).toBe(join(dir, 'slurm-out', `part-${m![1]}.jsonl`));
        return `${m![1]}/${m![2]}`;
      });
      expect(shards).toEqual(['1/4', '2/4', '3/4', '4/4']);
    });
  }

  it('a strided array (--array=1-7:2) is refused: shards would be skipped', () => {
    const r = task(3, 1, 7, 4);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/contiguous/);
    expect(r.stdout).not.toMatch(/--shard/);
  });

  it('outside an array job it says how to submit', () => {
    const r = bash([sbatch, 'spec.json', join(dir, 'slurm-out')], { BIREALSIM: 'echo' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/sbatch --array=1-N/);
  });
});

describe('examples/k8s/sweep-job.yaml: completion index (0-based) -> shard (1-based)', () => {
  const yaml = 'examples/k8s/sweep-job.yaml';
  it('SHARDS equals completions, and indexes 0..n-1 run shards 1/n..n/n', () => {
    const text = readFileSync(join(ROOT, yaml), 'utf8');
    expect(text).toMatch(/^\s+completionMode: Indexed\s*$/m);
    const completions = Number(/^\s+completions: (\d+)/m.exec(text)![1]);
    const shards = Number(envValue(yaml, 'SHARDS'));
    expect(shards).toBe(completions);
    const script = containerScript(yaml);
    const got = Array.from({ length: completions }, (_, i) => {
      const r = bash(['-c', script], { BIREALSIM: 'echo', JOB_COMPLETION_INDEX: String(i), SHARDS: String(shards), SPEC: 'spec.json', SWEEP_DIR: join(dir, 'k8s-out'), WORKERS: '2' });
      expect(r.status, r.stderr).toBe(0);
      const m = shardOf(r.stdout)!;
      expect(m[3]).toBe(join(dir, 'k8s-out', `part-${m[1]}.jsonl`));
      return `${m[1]}/${m[2]}`;
    });
    expect(got).toEqual(Array.from({ length: completions }, (_, i) => `${i + 1}/${completions}`));
    const over = bash(['-c', script], { BIREALSIM: 'echo', JOB_COMPLETION_INDEX: String(completions), SHARDS: String(shards), SPEC: 'spec.json', SWEEP_DIR: join(dir, 'k8s-out'), WORKERS: '2' });
    expect(over.status).toBe(2);
  });
});

describe('merge scripts (merge.sbatch, merge-job.yaml) on real part files', () => {
  it('merge all parts; fail on a missing or cut-short part; succeed after resuming it', () => {
    const spec = join(dir, 'tiny.spec.json');
    writeFileSync(spec, JSON.stringify({ schema: 'birealsim.sweep-spec/1', name: 'tiny', workload: 'bireal-mnist', arch: 'edge', mode: 'grid', axes: { 'peArray.rows': [8, 16], 'peArray.cols': [8, 16] } }));
    const out = join(dir, 'merge-out');
    const sweep = (k: number, extra: string[] = []) => {
      const r = spawnSync(process.execPath, ['bin/birealsim.mjs', 'sweep', spec, '--shard', `${k}/2`, '--out', join(out, `part-${k}.jsonl`), '--workers', '0', '--quiet', ...extra], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
    };
    const mergeSbatch = () => bash([join(ROOT, 'examples/slurm/merge.sbatch'), out, '2'], { BIREALSIM: CLI });
    const mergeK8s = () => bash(['-c', containerScript('examples/k8s/merge-job.yaml')], { BIREALSIM: CLI, SHARDS: '2', SWEEP_DIR: out });

    sweep(1);
    let r = mergeSbatch(); // part-2.jsonl does not exist
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/part-2\.jsonl/);
    sweep(2, ['--limit', '1']); // shard 2 cut short: 1 of its 2 points
    r = mergeSbatch();
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/MISSING/);
    expect(r.stderr).toMatch(/incomplete/);
    expect(mergeK8s().status).toBe(1);
    sweep(2); // resumes the short part
    for (const m of [mergeSbatch, mergeK8s]) {
      r = m();
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/4 of 4 points .*complete/);
      const merged = readSweepFile(join(out, 'merged.jsonl'));
      expect(merged.points.map((p) => p.index)).toEqual([0, 1, 2, 3]);
    }
  });
});
