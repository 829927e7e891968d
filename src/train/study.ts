/**
 * Training studies over seeds (the paper's ablations and the depth study, Liu et al. ECCV 2018 section 4.2):
 * a list of configurations x seeds 1..S, each one a full `train` run, resumable, with the statistics that say
 * whether a difference is real.
 *
 * Resume: everything lives in a work folder. `runs.jsonl` there gets one line per finished run (configuration,
 * seed, test accuracy, seconds, the settings hash); a run killed mid-way continues from its own checkpoint
 * (outDir = work/<config>-seed<s>; trainer.ts checkpoints at every epoch end, in <outDir>.partial while running). A work folder made with other
 * settings (dataset, sizes, options, configurations) is refused instead of being mixed in.
 * Order: seed-major (seed 1 of every configuration, then seed 2, ...), so a partial study is balanced.
 * Statistics (core/stats.ts): per configuration mean, sample std and standard error; against the reference
 * configuration Welch's t-test (two-sided p) and the 95% CI of the difference. Verdict on "the reference is
 * better": holds (reference better, p < alpha), does not hold (reference worse, p < alpha), not resolved.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/diagnostics.ts';
import { summarize, welch, type Summary, type WelchResult } from '../core/stats.ts';
import type { Dataset } from '../data/datasets.ts';
import type { ResolvedNetwork } from '../ir/types.ts';
import { CHECKPOINT_FILE, train, workDirOf, type TrainOptions } from './trainer.ts';

export interface StudyConfig {
  /** short stable key, used in folder names and runs.jsonl */
  key: string;
  /** table label */
  name: string;
  /** what differs from the reference */
  what: string;
  net: ResolvedNetwork;
  options: TrainOptions;
}

export interface RunRecord { config: string; seed: number; accuracy: number; seconds: number; settings: string }

export const RUNS_FILE = 'runs.jsonl';

/** Hash of everything a run's result depends on (so a work folder is only ever resumed with the same study). */
export function settingsHash(ds: Dataset, configs: StudyConfig[], seeds: number): string {
  const canon = { dataset: ds.name, train: ds.train.n, test: ds.test.n, seeds, configs: configs.map((c) => ({ key: c.key, net: c.net.workload, options: c.options })) };
  return createHash('sha256').update(JSON.stringify(canon)).digest('hex').slice(0, 16);
}

/** Finished runs in a work folder (a torn last line from a kill is ignored). */
export function readRuns(workDir: string): RunRecord[] {
  const f = join(workDir, RUNS_FILE);
  if (!existsSync(f)) return [];
  const out: RunRecord[] = [];
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try { out.push(JSON.parse(line) as RunRecord); } catch { /* a line cut by a kill: that run is redone */ }
  }
  return out;
}

export interface StudyRun {
  configs: StudyConfig[];
  seeds: number;
  dataset: Dataset;
  workDir: string;
  log?: (s: string) => void;
  /** called after every finished run with all records so far (reports are rewritten there) */
  onRecord?: (records: RunRecord[]) => void;
}

/** Runs (or resumes) the study; returns every record. Throws E_INTERRUPTED after saving on Ctrl-C. */
export async function runStudy(s: StudyRun): Promise<RunRecord[]> {
  const log = s.log ?? (() => {});
  const settings = settingsHash(s.dataset, s.configs, s.seeds);
  mkdirSync(s.workDir, { recursive: true });
  const records = readRuns(s.workDir);
  const foreign = records.find((r) => r.settings !== settings);
  if (foreign) throw new UserError('E_RESUME', `the work folder holds runs of a different study (settings ${foreign.settings}, this one ${settings})`, { file: join(s.workDir, RUNS_FILE), hint: 'use the same flags as the run that made it, or another --out' });
  const done = new Set(records.map((r) => `${r.config}/${r.seed}`));
  if (records.length) log(`resuming: ${records.length} of ${s.configs.length * s.seeds} runs already done (${join(s.workDir, RUNS_FILE)})`);
  s.onRecord?.(records);
  for (let seed = 1; seed <= s.seeds; seed++) {
    for (const c of s.configs) {
      if (done.has(`${c.key}/${seed}`)) continue;
      const outDir = join(s.workDir, `${c.key}-seed${seed}`);
      const resume = existsSync(join(workDirOf(outDir), CHECKPOINT_FILE)) || existsSync(join(outDir, CHECKPOINT_FILE));
      if (!resume) rmSync(outDir, { recursive: true, force: true }); // a run without a checkpoint starts clean (no stale metrics)
      const r = await train({ net: c.net, dataset: s.dataset, options: { ...c.options, seed }, outDir, resume, evalEachEpoch: false });
      if (r.interrupted) throw new UserError('E_INTERRUPTED', `study interrupted during ${c.name} seed ${seed}; its checkpoint is saved`, { hint: 'run the same command again to continue' });
      const rec: RunRecord = { config: c.key, seed, accuracy: r.testAccuracy, seconds: r.seconds, settings };
      appendFileSync(join(s.workDir, RUNS_FILE), JSON.stringify(rec) + '\n');
      rmSync(join(outDir, CHECKPOINT_FILE), { force: true }); // the run is recorded; its model and metrics stay
      records.push(rec);
      log(`${c.name} seed ${seed}: test accuracy ${(100 * r.testAccuracy).toFixed(2)}% (${(r.seconds / 60).toFixed(1)} min; ${records.length}/${s.configs.length * s.seeds} runs done)`);
      s.onRecord?.(records);
    }
  }
  return records;
}

export type Verdict = 'holds' | 'does not hold' | 'not resolved';

/** "a is better than b" at level alpha, from Welch's test of mean(a) - mean(b). */
export function verdictBetter(w: WelchResult | undefined, alpha = 0.05): Verdict {
  if (!w || !(w.p < alpha)) return 'not resolved';
  return w.diff > 0 ? 'holds' : 'does not hold';
}

export interface ConfigStats { key: string; name: string; what: string; accuracies: number[]; summary: Summary; seconds: number }

export function configStats(configs: StudyConfig[], records: RunRecord[]): ConfigStats[] {
  return configs.map((c) => {
    const rs = records.filter((r) => r.config === c.key).sort((a, b) => a.seed - b.seed);
    return { key: c.key, name: c.name, what: c.what, accuracies: rs.map((r) => r.accuracy), summary: summarize(rs.map((r) => r.accuracy)), seconds: rs.reduce((a, r) => a + r.seconds, 0) };
  });
}

/** Welch's test of a vs b when both have >= 2 runs. */
export function compare(a: ConfigStats, b: ConfigStats): WelchResult | undefined {
  return a.accuracies.length >= 2 && b.accuracies.length >= 2 ? welch(a.accuracies, b.accuracies) : undefined;
}
