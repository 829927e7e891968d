/**
 * `birealsim merge <files..> --out merged.jsonl`: joins shard files of one sweep (same spec hash required),
 * deduplicates points by index (conflicting duplicates are an error), writes them in index order, atomically.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { writeFileAtomic } from '../core/atomic.ts';
import { mergeSweepFiles, sweepText } from '../report/sweep-file.ts';

interface MergeArgs { files: string[]; out: string }

export const mergeCommand = {
  command: 'merge <files..>',
  describe: 'join sweep shard files (same sweep spec) into one, deduplicated and in point order',
  builder: (y: Argv) => y
    .positional('files', { type: 'string', array: true, describe: 'sweep .jsonl files (shards of one sweep)' })
    .option('out', { type: 'string', demandOption: true, describe: 'merged file to write' }),
  handler: (argv: ArgumentsCamelCase<MergeArgs>) => {
    const m = mergeSweepFiles(argv.files);
    writeFileAtomic(argv.out, sweepText(m.header, m.points));
    process.stderr.write(`wrote ${argv.out}: ${m.points.length} of ${m.header.totalPoints} points (${m.duplicates} duplicates dropped${m.missing ? `, ${m.missing} MISSING: run the remaining shards` : ', complete'})\n`);
  },
};
