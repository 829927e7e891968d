/**
 * Kernel-set selection end to end (src/kernels/index.ts, cli/kernels.ts): `birealsim run` gives the same
 * logits SHA-256 with --kernels reference, wasm, native (when the addon is built) and the default; with the
 * addon unavailable (BIREALSIM_NATIVE=0, as on a machine without a compiler) the default falls back to the
 * WebAssembly set with the same logits, and asking for `native` is a clear E_ARG at --kernels.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { nativeKernels } from '../../src/kernels/native.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'birealsim.mjs');
function run(args: string[], env: Record<string, string> = {}): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, 'run', 'bireal-fashion', '--seed', '3', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, out: r.stdout, err: r.stderr };
}
const sha = (args: string[], env: Record<string, string> = {}) => {
  const r = run([...args, '--json'], env);
  expect(r.status, r.err).toBe(0);
  const j = JSON.parse(r.out);
  return { kernels: j.kernels as string, sha: j.logitsSha256 as string };
};

describe('kernel sets through the CLI', () => {
  it('same logits SHA-256 on every backend present, and the fallback without the addon', () => {
    const ref = sha(['--kernels', 'reference']);
    expect(sha(['--kernels', 'wasm']).sha).toBe(ref.sha);
    const def = sha([]);
    expect(def.sha).toBe(ref.sha);
    if (nativeKernels()) {
      expect(def.kernels).toBe('native');
      expect(sha(['--kernels', 'native']).sha).toBe(ref.sha);
    }
    const fallback = sha([], { BIREALSIM_NATIVE: '0' });
    expect(fallback).toEqual({ kernels: 'fast', sha: ref.sha }); // the WebAssembly set (named 'fast')
    const r = run(['--kernels', 'native'], { BIREALSIM_NATIVE: '0' });
    expect(r.status).not.toBe(0);
    expect(r.err).toMatch(/E_ARG.*--kernels.*'native' is not available.*--kernels wasm/);
  }, 120_000);
});
