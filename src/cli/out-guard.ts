/**
 * Nothing the user made is overwritten: one check, run by main.ts before every command, refuses an `--out`
 * that resolves to one of the command's inputs (any positional or flag value naming an existing file or
 * folder), or a folder `--out` that holds an input (folder outputs such as report directories are replaced
 * as a whole). Paths are compared after resolving symbolic links, so `./a.json`, `a.json` and a link to it
 * are the same input.
 * `merge` is exempt: its output is the union of its inputs, written atomically, so merging a file in place
 * (`merge f.jsonl --out f.jsonl`, as scripts/gen-reports.sh does) loses nothing.
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, relative, resolve, isAbsolute } from 'node:path';
import { UserError } from '../core/diagnostics.ts';

const EXEMPT = new Set(['merge']);
/** flags that name outputs, not inputs */
const OUTPUT_FLAGS = new Set(['out', 'png', '$0', '_']);
/** commands whose --out is a prefix: the files written are these suffixes added to it */
const OUT_SUFFIXES: Record<string, string[]> = { ablate: ['.md', '.json'] };

/** The canonical path of p, for an existing path or a path whose parent exists (an output to be written). */
function canonical(p: string): string {
  if (existsSync(p)) return realpathSync(p);
  const parent = dirname(resolve(p));
  return existsSync(parent) ? resolve(realpathSync(parent), basename(p)) : resolve(p);
}

/** Every string an argument holds (positionals and flags; arrays flattened), except the output itself. */
function inputValues(argv: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(argv)) {
    if (OUTPUT_FLAGS.has(k)) continue;
    for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'string' && x !== '') out.push(x);
  }
  return [...new Set(out)];
}

export function refuseOutOverInput(argv: Record<string, unknown>): void {
  const command = String((argv._ as unknown[] | undefined)?.[0] ?? '');
  const out = argv.out;
  if (typeof out !== 'string' || out === '' || EXEMPT.has(command)) return;
  const written = (OUT_SUFFIXES[command] ?? ['']).map((suffix) => out + suffix);
  for (const v of inputValues(argv)) {
    if (!existsSync(v)) continue;
    const i = realpathSync(v);
    for (const w of written) {
      const o = canonical(w);
      if (i === o) throw new UserError('E_OUT_IS_INPUT', `'${w}' is the input '${v}': writing it would destroy the input`, { path: '--out', hint: 'write to another path' });
      const rel = relative(o, i);
      if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) {
        throw new UserError('E_OUT_IS_INPUT', `'${w}' contains the input '${v}': an output folder is replaced as a whole`, { path: '--out', hint: 'write to a folder that holds none of the inputs' });
      }
    }
  }
}
