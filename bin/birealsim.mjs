#!/usr/bin/env node
// Launcher: runs the compiled CLI in dist/ (built by `npm run build`, which `npm ci` runs through
// `prepare`) when that build is fresh, so start-up pays no TypeScript transpilation; otherwise (no build,
// or any source changed since it: bin/build-stamp.mjs) registers tsx and runs the TypeScript sources, so
// an edit is never answered by old code. On a terminal it says which it did and why.
// BIREALSIM_FROM=src|dist forces one (tests compare the two; `dist` runs even a stale build).
import { fileURLToPath } from 'node:url';
import { staleReason } from './build-stamp.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const forced = process.env.BIREALSIM_FROM;
if (forced !== undefined && forced !== 'src' && forced !== 'dist') {
  process.stderr.write(`error E_USAGE: BIREALSIM_FROM must be 'src' or 'dist', got '${forced}'\n`);
  process.exit(2);
}
const stale = forced ? null : staleReason(root);
let main;
if (forced === 'dist' || (!forced && stale === null)) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  if (stale && process.stderr.isTTY) {
    process.stderr.write(`birealsim: dist/ is not usable (${stale}); running the sources with tsx (slower start; \`npm run build\` rebuilds it)\n`);
  }
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
