/**
 * Build step: assembles the one WebAssembly kernel module (src/kernels/wat.ts moduleWat) and writes it as
 * `kernels-<sha256 of the WAT text>.wasm` into a directory, where kernels/wasm.ts loadKernels() finds it
 * without assembling (the digest in the name keeps a stale binary from ever being used).
 * Usage: node bin/run-ts.mjs scripts/build-kernels.ts [dir]
 *   dir: the directory of the compiled kernels/wasm.js (e.g. dist/src/kernels); default: src/kernels, next
 *   to wasm.ts (git-ignored there).
 */
import { resolve } from 'node:path';
import { PREBUILT_DIR, writePrebuiltKernels } from '../src/kernels/wasm.ts';

const dir = process.argv[2] ? resolve(process.argv[2]) : PREBUILT_DIR;
const t0 = performance.now();
const path = await writePrebuiltKernels(dir);
process.stdout.write(`wrote ${path} (${Math.round(performance.now() - t0)} ms)\n`);
