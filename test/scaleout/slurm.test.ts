/**
 * Scale-out on a real Slurm (issue 17): starts a single-node Slurm 22.05 on this machine (slurm-cluster.ts:
 * munged, slurmctld, slurmd, no cgroups), submits the shipped examples/slurm/submit.sh (an array job of 4
 * sweep tasks, one shard each, and a merge job held by --dependency=afterok) over a 256-point spec, and
 * checks that the merged file equals a single-process `birealsim sweep` of the same spec point for point
 * (and byte for byte: merge writes points in index order, and point records carry no timing fields).
 *
 * Runs only with BIREALSIM_SLURM_TEST=1 (.ci/run sets it after installing slurm-wlm and munge); otherwise
 * it is skipped and says why. With the flag set, missing Slurm binaries are a failure, not a skip.
 * On any failure the error carries squeue / sinfo / scontrol / sacct output, the job completion log, the
 * jobs' own output and the daemon logs; the daemons are stopped in afterAll (and at process exit).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readSweepFile, sweepText } from '../../src/report/sweep-file.ts';
import { startSlurmCluster, slurmMissing, type SlurmCluster } from './slurm-cluster.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SPEC = join(ROOT, 'test/fixtures/slurm-sweep.spec.json');
const SHARDS = 4;
const JOBS_TIMEOUT_MS = 80_000;
const ON = process.env.BIREALSIM_SLURM_TEST === '1';
const SKIP_REASON = 'BIREALSIM_SLURM_TEST is not 1 (.ci/run sets it and installs slurm-wlm and munge when missing)';
if (!ON) console.warn(`Slurm scale-out test skipped: ${SKIP_REASON}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `scontrol show job -o <id>`: one record per job (per array task), as key=value maps. */
function jobRecords(c: SlurmCluster, id: string): Record<string, string>[] {
  const r = c.run('scontrol', ['show', 'job', '-o', id]);
  if (r.status !== 0) return [];
  return r.stdout.split('\n').filter((l) => l.startsWith('JobId=')).map((l) => {
    const rec: Record<string, string> = {};
    for (const m of l.matchAll(/(\w[\w/:]*)=(\S*)/g)) rec[m[1]] ??= m[2];
    return rec;
  });
}

describe.skipIf(!ON)(`sharded sweep as a Slurm array job${ON ? '' : ` [skipped: ${SKIP_REASON}]`}`, () => {
  let dir = '';
  let cluster: SlurmCluster | undefined;

  beforeAll(async () => {
    const missing = slurmMissing();
    if (missing) throw new Error(`BIREALSIM_SLURM_TEST=1 but Slurm is ${missing}`);
    dir = mkdtempSync(join(tmpdir(), 'birealsim-slurm-'));
    cluster = await startSlurmCluster(join(dir, 'cluster'));
  }, 45_000);

  afterAll(() => {
    cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it(`${SHARDS} array tasks + an afterok merge job = one single-process sweep, point for point`, async () => {
    const c = cluster!;
    const out = join(dir, 'out');
    const jobOutputs = () => (existsSync(out) ? readdirSync(out).filter((f) => f.endsWith('.out')).sort().map((f) => `--- ${f}\n${readFileSync(join(out, f), 'utf8')}`).join('\n') : '(no job output)');
    const fail = (what: string): never => { throw new Error(`${what}\n${jobOutputs()}\n${c.diagnostics()}`); };

    // the reference: one process, main thread, same spec (runs while Slurm works; the file order is irrelevant)
    const single = join(dir, 'single.jsonl');
    const singleChild = spawn(process.execPath, ['bin/birealsim.mjs', 'sweep', SPEC, '--out', single, '--workers', '0', '--quiet'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    const singleDone = new Promise<{ code: number | null; err: string }>((resolve) => {
      let err = '';
      singleChild.stderr.on('data', (b) => { err += String(b); });
      singleChild.on('close', (code) => resolve({ code, err }));
    });
    try {
      const t0 = Date.now();
      const sub = spawnSync('bash', [join(ROOT, 'examples/slurm/submit.sh'), SPEC, out, String(SHARDS)], {
        cwd: dir, encoding: 'utf8', timeout: 30_000,
        env: { ...c.env, BIREALSIM: `${process.execPath} ${join(ROOT, 'bin/birealsim.mjs')}` },
      });
      const ids = /^sweep=(\d+) merge=(\d+)$/m.exec(sub.stdout ?? '');
      if (sub.status !== 0 || !ids) fail(`submit.sh failed (exit ${sub.status}): ${sub.stdout}${sub.stderr}`);
      const [, sweepJob, mergeJob] = ids!;

      while (true) {
        const q = c.run('squeue', ['-h', '-o', '%i %T %r']);
        if (q.status !== 0) fail(`squeue failed: ${q.stderr}`);
        if (q.stdout.trim() === '') break;
        if (/DependencyNeverSatisfied/.test(q.stdout)) fail(`the merge job can never start (a shard failed):\n${q.stdout}`);
        if (Date.now() - t0 > JOBS_TIMEOUT_MS) fail(`jobs not finished after ${JOBS_TIMEOUT_MS / 1000} s:\n${q.stdout}`);
        await sleep(500);
      }
      const slurmSeconds = (Date.now() - t0) / 1000;

      const tasks = jobRecords(c, sweepJob);
      const merge = jobRecords(c, mergeJob);
      const states = [...tasks, ...merge].map((r) => `${r.JobId} array ${r.ArrayJobId ?? '-'}_${r.ArrayTaskId ?? '-'} ${r.JobState} exit ${r.ExitCode}`).join('\n');
      if (tasks.length !== SHARDS || merge.length !== 1 || [...tasks, ...merge].some((r) => r.JobState !== 'COMPLETED' || r.ExitCode !== '0:0')) {
        fail(`expected ${SHARDS} COMPLETED array tasks and a COMPLETED merge job, all exit 0:0; got\n${states}`);
      }
      expect(tasks.map((r) => Number(r.ArrayTaskId)).sort()).toEqual([1, 2, 3, 4]);
      expect(new Set(tasks.map((r) => r.JobId)).size).toBe(SHARDS); // four separate jobs, not one process
      const mergeRecord = merge[0];
      // the merge started only after every shard ended
      const lastShardEnd = Math.max(...tasks.map((r) => Date.parse(r.EndTime)));
      expect(Date.parse(mergeRecord.StartTime)).toBeGreaterThanOrEqual(lastShardEnd);

      const singleRun = await singleDone;
      expect(singleRun.code, singleRun.err).toBe(0);
      const s = readSweepFile(single);
      const m = readSweepFile(join(out, 'merged.jsonl'));
      const total = s.header.totalPoints;
      expect(total).toBe(256);

      // shards: each holds exactly the points j with j mod n = k-1; together disjoint and covering
      const seen = new Set<number>();
      for (let k = 1; k <= SHARDS; k++) {
        const part = readSweepFile(join(out, `part-${k}.jsonl`));
        expect(part.header.shard).toEqual({ k, n: SHARDS });
        expect(part.header.specHash).toBe(s.header.specHash);
        expect(part.points.length).toBe(total / SHARDS);
        for (const p of part.points) {
          expect(p.index % SHARDS).toBe(k - 1);
          expect(seen.has(p.index)).toBe(false);
          seen.add(p.index);
        }
      }
      expect(seen.size).toBe(total);

      // merged = single-process run: header (shard null), then every point record, in index order
      expect(m.header.specHash).toBe(s.header.specHash);
      expect(m.header.shard).toBeNull();
      expect(m.header.totalPoints).toBe(total);
      expect(m.header.spec).toEqual(s.header.spec);
      const byIndex = [...s.points].sort((a, b) => a.index - b.index);
      expect(m.points.map((p) => p.index)).toEqual(byIndex.map((p) => p.index));
      expect(m.points).toEqual(byIndex);
      expect(m.points.filter((p) => p.infeasible).length).toBeGreaterThan(0); // both kinds of record compared
      expect(m.points.filter((p) => p.metrics).length).toBeGreaterThan(0);
      expect(readFileSync(join(out, 'merged.jsonl'), 'utf8')).toBe(sweepText(s.header, byIndex));
      console.info(`Slurm: ${SHARDS} shards + merge of ${total} points finished ${slurmSeconds.toFixed(1)} s after submission`);
    } finally {
      if (singleChild.exitCode === null && singleChild.signalCode === null) singleChild.kill('SIGTERM'); // only after a failure above
    }
  }, 110_000);
});
