#!/usr/bin/env node
// Native kernels build: compiles native/birealsim_native.cc into the Node-API addon native/build/birealsim.node
// (src/kernels/native.ts loads it). Runs at install (`prepare`, so `npm ci` does it) and before `npm run bench`.
// It calls the C++ compiler directly (CXX, default g++) with the Node-API headers of the local Node
// installation (<node prefix>/include/node, else /usr/include/node): nothing is downloaded. Flags:
// -O3 -ffp-contract=off (the fp32 kernels must round every product and sum as the spec does: no fused
// multiply-add) and no -march: the AVX-512 / AVX2 kernels carry target attributes and are chosen at run time.
// A missing compiler or headers, or a failed compile, is NOT an install failure: one line is printed and
// the 'fast' kernels fall back to WebAssembly.
// Usage: node scripts/build-native.mjs [--if-stale (skip when the addon is newer than its source)] [--quiet]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'native', 'birealsim_native.cc');
const outDir = join(root, 'native', 'build');
const out = join(outDir, 'birealsim.node');
const quiet = process.argv.includes('--quiet');

export const NATIVE_FLAGS = ['-O3', '-std=c++17', '-shared', '-fPIC', '-pthread', '-ffp-contract=off', '-fno-fast-math', '-fvisibility=hidden'];

function headers() {
  const candidates = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
  return candidates.find((d) => existsSync(join(d, 'node_api.h')));
}

function main() {
  if (process.env.BIREALSIM_NATIVE === '0') { if (!quiet) console.log('build-native: skipped (BIREALSIM_NATIVE=0): the fast kernels are WebAssembly'); return; }
  if (process.argv.includes('--if-stale') && existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return;
  const inc = headers();
  if (!inc) { console.log('build-native: no Node-API headers (node_api.h) found; native kernels not built, the fast kernels are WebAssembly'); return; }
  const cxx = process.env.CXX || 'g++';
  mkdirSync(outDir, { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const t0 = performance.now();
  try {
    execFileSync(cxx, [...NATIVE_FLAGS, `-I${inc}`, '-o', tmp, src], { stdio: ['ignore', 'ignore', 'pipe'] });
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { force: true });
    const why = e.code === 'ENOENT' ? `no C++ compiler (${cxx})` : `${cxx} failed: ${String(e.stderr ?? e.message).split('\n').find((l) => /error/.test(l)) ?? 'see the compiler output'}`;
    console.log(`build-native: ${why}; native kernels not built, the fast kernels are WebAssembly`);
    return;
  }
  if (!quiet) console.log(`build-native: built native/build/birealsim.node with ${cxx} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

main();
