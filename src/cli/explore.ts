/**
 * `birealsim explore [--out explore.html]`: writes the design-space explorer, one self-contained HTML page
 * (src/explore/page.ts) in which the timing simulator itself runs (src/explore/bundle.ts: the library
 * bundled for the browser), atomically. The page carries the layer-sequential presets (arch/*.json,
 * `extends` expanded) and the built-in networks; it makes no request (a CSP forbids any) and opens from
 * file://. Same tool version, same bytes.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.ts';
import { UserError } from '../core/diagnostics.ts';
import { BUILTIN_WORKLOADS } from '../ir/builders.ts';
import { archJsonOf, presetNames, readArchSource } from '../sim/arch.ts';
import { exploreBundle } from '../explore/bundle.ts';
import { renderExplorePage, type ExploreData, type ExplorePreset } from '../explore/page.ts';
import { TOOL_VERSION } from './io.ts';

interface ExploreArgs { out: string }

/** The page's data: every layer-sequential preset (raw spec, `extends` expanded, no $schema) and the built-in networks. */
export function exploreData(): ExploreData {
  const presets: ExplorePreset[] = presetNames().map((name) => {
    const { text, shown } = readArchSource(name);
    const { $schema: _s, ...spec } = archJsonOf(text, shown) as Record<string, unknown>;
    void _s;
    return { name, description: String(spec.description ?? ''), spec };
  });
  const preset = presets.some((p) => p.name === 'edge') ? 'edge' : presets[0].name;
  return { version: TOOL_VERSION, presets, workloads: Object.keys(BUILTIN_WORKLOADS), defaults: { preset, workload: 'bireal18-imagenet' } };
}

/** The explorer page's HTML. */
export async function explorePage(): Promise<string> {
  return renderExplorePage(exploreData(), await exploreBundle());
}

/** A directory given as --out is bad input (exit 2), found before the page is built. */
function checkOut(out: string): void {
  if (existsSync(out) && statSync(out).isDirectory()) throw new UserError('E_OUT', `'${out}' is a directory; --out names the HTML file to write`, { path: '--out', hint: `e.g. --out ${join(out, 'explore.html')}` });
}

/** Writes the page atomically; an unwritable path is bad input (exit 2), not a crash. */
function writePage(out: string, html: string): void {
  try { writeFileAtomic(out, html); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) throw new UserError('E_IO', `cannot write the explorer page: ${code}`, { file: out, path: '--out', hint: 'give a path in a writable folder' });
    throw e;
  }
}

export const exploreCommand = {
  command: 'explore',
  describe: 'write the design-space explorer: a self-contained HTML page that runs the timing simulator in the browser (sliders, per-layer charts, sweep Pareto fronts, arch JSON download)',
  builder: (y: Argv) => y
    .option('out', { type: 'string', default: 'explore.html', describe: 'HTML file to write (atomically)' }),
  handler: async (argv: ArgumentsCamelCase<ExploreArgs>) => {
    checkOut(argv.out);
    const html = await explorePage();
    writePage(argv.out, html);
    process.stderr.write(`wrote ${argv.out} (${(Buffer.byteLength(html) / 1e6).toFixed(2)} MB): open it in a browser; it needs no server and makes no network request\n`);
  },
};
