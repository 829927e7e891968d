/**
 * `birealsim sweep <spec.json> --out results.jsonl [--shard k/n] [--workers n]`: design-space exploration
 * over arch parameters with the simulator's timing-only mode, streamed to JSONL (resumable), ending with
 * a Pareto summary (latency, energy per frame, area). `birealsim merge` joins shard files.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { readFileSync } from 'node:fs';
import { UserError, isUserError } from '../core/diagnostics.ts';
import { resolveAnyArch } from '../sim/dataflow-arch.ts';
import { checkAxes, loadBaseArch, loadPlan } from '../report/sweep-eval.ts';
import { readSweepFile, summariseSweep } from '../report/sweep-file.ts';
import { parseShard, validateSpec, gridSize, totalPoints, checkSweepSize, MAX_SWEEP_POINTS } from '../report/sweep-spec.ts';
import { runSweep } from '../report/sweep-run.ts';
import { TOOL_VERSION } from './io.ts';

interface SweepArgs { spec: string; out: string; shard?: string; workers?: number; restart?: boolean; limit?: number; maxPoints?: number; quiet?: boolean }

export function loadSpecFile(file: string) {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) {
    throw new UserError('E_IO', `cannot read sweep spec: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file, hint: 'give a birealsim.sweep-spec/1 JSON file (see reports/sweeps/ for examples)' });
  }
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (e) {
    throw new UserError('E_JSON', `invalid JSON: ${(e as Error).message}`, { file, path: '$', hint: 'check for trailing commas, missing quotes or a truncated file' });
  }
  return validateSpec(raw, file);
}

export const sweepCommand = {
  command: 'sweep <spec>',
  describe: 'design-space sweep (grid or seeded random sample) with timing-only simulation; JSONL out, resumable, Pareto fronts',
  builder: (y: Argv) => y
    .positional('spec', { type: 'string', demandOption: true, describe: 'sweep spec JSON (birealsim.sweep-spec/1)' })
    .option('out', { type: 'string', demandOption: true, describe: 'results file (JSON Lines); an existing file of the same sweep is resumed' })
    .option('shard', { type: 'string', describe: 'evaluate only shard k of n (k/n, 1-based): points j with j mod n = k-1' })
    .option('workers', { type: 'number', describe: 'worker threads (default: one per core; 0 = main thread only)' })
    .option('restart', { type: 'boolean', describe: 'overwrite --out instead of resuming it' })
    .option('limit', { type: 'number', describe: `stop after evaluating this many new points (a run evaluates at most ${MAX_SWEEP_POINTS} points: split larger grids with --shard or --limit)` })
    .option('max-points', { type: 'number', describe: `refuse a run of more points than this (default ${MAX_SWEEP_POINTS}); say more to run a bigger grid on purpose` })
    .option('quiet', { type: 'boolean', describe: 'no progress lines on stderr' }),
  handler: async (argv: ArgumentsCamelCase<SweepArgs>) => {
    const spec = loadSpecFile(argv.spec);
    const shard = parseShard(argv.shard);
    checkSweepSize(spec, argv.spec, shard, argv.limit, argv.maxPoints); // counted, never materialised; refused before any file or lock
    const baseArch = loadBaseArch(spec.arch, argv.spec);
    try { resolveAnyArch(baseArch, spec.arch); } catch (e) { if (isUserError(e)) throw new UserError(e.code, `base arch: ${e.message}`, { file: e.file ?? argv.spec, path: e.jsonPath, hint: e.hint }); throw e; }
    checkAxes(spec, baseArch, argv.spec);
    loadPlan(spec.workload, argv.spec); // validates the workload before any worker starts
    const n = totalPoints(spec);
    const log = (s: string) => { if (!argv.quiet) process.stderr.write(s + '\n'); };
    log(`sweep ${spec.name}: ${spec.mode} over ${Object.keys(spec.axes).length} axes (grid ${gridSize(spec)} points, lazily enumerated), ${n} points${shard ? `, shard ${shard.k}/${shard.n}` : ''} -> ${argv.out}`);
    let last = 0;
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const r = await runSweep({
      signal: ac.signal,
      spec, baseArch, out: argv.out, shard, workers: argv.workers, resume: !argv.restart, toolVersion: TOOL_VERSION, limit: argv.limit, maxPoints: argv.maxPoints,
      onPoint: (_p, done, todo) => { const now = performance.now(); if (now - last > 2000 || done === todo) { last = now; log(`  ${done}/${todo} points`); } },
    });
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (r.interrupted) {
      log(`interrupted after ${r.evaluated} new points (${r.alreadyDone + r.evaluated} of ${r.inShard} in ${argv.out}); run the same command to resume`);
      process.exit(130); // the lock is released and the file closed; main() would report 0
    }
    const sec = summariseSweep(readSweepFile(argv.out), argv.out);
    const front = sec.points.filter((p) => p.pareto).length;
    log(`${r.evaluated} points evaluated in ${r.seconds.toFixed(1)} s (${r.evaluated ? ((r.evaluated / r.seconds) * 60).toFixed(0) : 0} points/min); ${r.alreadyDone} already in the file${r.droppedPartial ? ', a partial trailing line was dropped' : ''}`);
    log(`${argv.out}: ${sec.evaluated}/${r.inShard} points of this ${shard ? 'shard' : 'sweep'}, ${sec.infeasible} infeasible, ${front} on the Pareto front (latency, energy/frame, area)`);
  },
};
