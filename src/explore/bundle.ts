/**
 * The explorer's browser bundle: src/explore/app.ts and everything it imports (the timing simulator:
 * sim/, golden/plan, ir/, ops/, cost/, core/, and mathjs's browser build, which arch.ts parses quantities
 * with) as one minified IIFE script that `birealsim explore` inlines into its page.
 *
 * Built by esbuild (a dependency, the version tsx uses) at `npm run build` (scripts/build.mjs step
 * `explore-bundle`) into dist/explore/explore-app.js; when the CLI runs from the sources (dist/ missing or
 * stale) the same build runs in memory, so the page always matches the code that runs.
 *
 * Node built-ins: simulator modules import node:fs, node:crypto, ... for things the page never does
 * (reading presets from disk, loading native or WebAssembly kernels, atomic writes). Each built-in is
 * replaced by a module with the same export names (read from this Node at build time) whose functions
 * throw "<module>.<name> is not available in the explorer page" when called, except for the few called at
 * module load or on the timing path: node:module's createRequire returns a require that resolves exactly
 * one id, 'mathjs/lib/browser/math.js' (the same file arch.ts loads under Node, so the page reads "128 KiB"
 * or "6.4 GB/s" to the same double the CLI does), node:url's fileURLToPath, and node:path's string helpers.
 * `import.meta.url` is a fixed file URL. The output is deterministic: same sources, same esbuild, same bytes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** File name of the prebuilt bundle beside this module in dist/explore/. */
export const EXPLORE_BUNDLE_FILE = 'explore-app.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The project root: this module lives in src/explore/ or dist/explore/ (or a build's temporary folder beside them). */
const projectRoot = resolve(here, '../..');

const MATHJS_ID = 'mathjs/lib/browser/math.js';

/**
 * Working exports of the built-ins the page reaches (see the header); every other export of a built-in
 * throws when called. `availableParallelism` is read when the fast kernels' module loads (kernels/fast.ts).
 */
const WORKING: Record<string, string> = {
  module: `import * as mathjs from ${JSON.stringify(MATHJS_ID)};
export function createRequire() {
  return (id) => {
    if (id === ${JSON.stringify(MATHJS_ID)}) return mathjs.default ?? mathjs;
    throw new Error('require(' + JSON.stringify(id) + ') is not available in the explorer page');
  };
}`,
  url: `export const URL = globalThis.URL;
export const URLSearchParams = globalThis.URLSearchParams;
export function fileURLToPath(u) { return new globalThis.URL(String(u)).pathname; }
export function pathToFileURL(p) { return new globalThis.URL('file://' + p); }`,
  path: `const norm = (p) => { const out = []; for (const s of p.split('/')) { if (s === '..') out.pop(); else if (s && s !== '.') out.push(s); } return (p.startsWith('/') ? '/' : '') + out.join('/'); };
export const sep = '/';
export function join(...a) { return norm(a.filter(Boolean).join('/')); }
export function resolve(...a) { let p = ''; for (const x of a) p = x.startsWith('/') ? x : p + '/' + x; return norm(p.startsWith('/') ? p : '/' + p); }
export function dirname(p) { const i = p.lastIndexOf('/'); return i <= 0 ? (p.startsWith('/') ? '/' : '.') : p.slice(0, i); }
export function basename(p, ext) { let b = p.slice(p.lastIndexOf('/') + 1); if (ext && b.endsWith(ext)) b = b.slice(0, -ext.length); return b; }
export function extname(p) { const b = basename(p); const i = b.lastIndexOf('.'); return i > 0 ? b.slice(i) : ''; }
export function isAbsolute(p) { return p.startsWith('/'); }
export function normalize(p) { return norm(p); }`,
  os: 'export function availableParallelism() { return 1; }',
};

/** A built-in's stand-in: its working exports (WORKING) and every other export of Node's module as a function that throws when called. */
function builtinModule(name: string): string {
  const own = WORKING[name] ?? '';
  const defined = new Set([...own.matchAll(/export (?:function|const) ([\w$]+)/g)].map((m) => m[1]));
  const names = Object.keys(createRequire(import.meta.url)(`node:${name}`) as object).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default' && !defined.has(n)).sort();
  const fail = `(n) => () => { throw new Error('node:${name}.' + n + ' is not available in the explorer page'); }`;
  return [own, `const fail = ${fail};`, ...names.map((n) => `export const ${n} = fail(${JSON.stringify(n)});`), 'export default {};'].join('\n');
}

/** Builds the bundle text (esbuild, in memory). */
export async function buildExploreBundle(root = projectRoot, opts: { minify?: boolean } = {}): Promise<string> {
  const esbuild = await import('esbuild');
  const builtins = new Set(builtinModules.filter((m) => !m.startsWith('_')));
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [join(root, 'src/explore/app.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: opts.minify ?? true,
    legalComments: 'eof',
    charset: 'utf8',
    write: false,
    logLevel: 'silent',
    // process.env is read when kernels/fast.ts loads (BIREALSIM_THREADS): the page has no environment
    define: { 'import.meta.url': '"file:///birealsim-explore/app.js"', 'process.env': '{}' },
    plugins: [{
      name: 'node-builtins',
      setup(b) {
        b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (a) => {
          const name = a.path.replace(/^node:/, '');
          return a.path.startsWith('node:') || builtins.has(name) ? { path: name, namespace: 'node-builtin' } : undefined;
        });
        // wabt (WebAssembly text assembler) is only reached by the kernels, never by the timing path
        b.onResolve({ filter: /^wabt$/ }, () => ({ path: 'wabt', namespace: 'node-builtin' }));
        b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (a) => ({
          contents: a.path === 'wabt' ? "export default () => { throw new Error('wabt is not available in the explorer page'); };" : builtinModule(a.path),
          loader: 'js',
          resolveDir: root,
        }));
      },
    }],
  });
  if (result.errors.length) throw new Error(`explore bundle: ${result.errors.map((e) => e.text).join('; ')}`);
  return result.outputFiles[0].text;
}

let cached: string | undefined;
/** The bundle: the prebuilt file beside this module (dist/), else built now from the sources. */
export async function exploreBundle(): Promise<string> {
  if (cached !== undefined) return cached;
  const prebuilt = join(here, EXPLORE_BUNDLE_FILE);
  cached = existsSync(prebuilt) ? readFileSync(prebuilt, 'utf8') : await buildExploreBundle();
  return cached;
}
