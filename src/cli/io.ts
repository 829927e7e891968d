/**
 * Output helpers for commands: the CLI is the only layer that touches the console and the exit code.
 * Files are written atomically.
 */
import { writeFileAtomic } from '../core/atomic.ts';
import pkg from '../../package.json' with { type: 'json' };

export const TOOL_VERSION: string = (pkg as { version: string }).version;

export function emit(text: string, outFile?: string): void {
  if (outFile) {
    writeFileAtomic(outFile, text.endsWith('\n') ? text : text + '\n');
    process.stderr.write(`wrote ${outFile}\n`);
  } else {
    process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }
}

/** Stable JSON (2-space indent); typed arrays become plain arrays. */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (ArrayBuffer.isView(x) && !(x instanceof DataView) ? Array.from(x as unknown as ArrayLike<number>) : x), 2);
}

export type OutputFormat = 'text' | 'json' | 'csv' | 'markdown';
export function formatOf(argv: { json?: boolean; csv?: boolean; markdown?: boolean }): OutputFormat {
  return argv.json ? 'json' : argv.csv ? 'csv' : argv.markdown ? 'markdown' : 'text';
}
export const formatOptions = {
  json: { type: 'boolean', describe: 'machine-readable JSON on stdout', conflicts: ['csv', 'markdown'] },
  csv: { type: 'boolean', describe: 'CSV on stdout', conflicts: ['json', 'markdown'] },
  markdown: { type: 'boolean', describe: 'Markdown table on stdout', conflicts: ['json', 'csv'] },
  out: { type: 'string', describe: 'write to this file (atomically) instead of stdout' },
} as const;

/** Exit code a command asks for without an error (e.g. verify found a mismatch: 1). main() returns it. */
let requestedExit = 0;
export function requestExitCode(code: number): void { requestedExit = Math.max(requestedExit, code); }
export function takeRequestedExitCode(): number { const c = requestedExit; requestedExit = 0; return c; }
