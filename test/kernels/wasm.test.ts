/**
 * Loading the one kernel module (src/kernels/wasm.ts): nothing is assembled at import, a kernel used before
 * loadKernels() throws an internal error that says what to do, the binary is assembled once and then
 * served from the per-user cache (named by the digest of the WAT text), and the build step writes the
 * same module.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelSourceText, writePrebuiltKernels } from '../../src/kernels/wasm.ts';

function child(tmp: string): { before: string; source: string; again: string; sgemm: string } {
  const r = spawnSync(process.execPath, ['bin/run-ts.mjs', 'test/fixtures/kernels-load.ts'], { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp } });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe('kernel module loading', () => {
  it('a fresh process: use before loading throws; the first load assembles and fills the cache, the next process reads it', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'birealsim-kload-'));
    try {
      const first = child(tmp);
      expect(first.before).toMatch(/internal error: .* before the WebAssembly kernels were loaded .*loadKernels\(\)/);
      expect([first.source, first.again, first.sgemm]).toEqual(['assembled', 'assembled', 'function']);
      const { digest } = kernelSourceText();
      const cached = readdirSync(tmp).filter((d) => d.startsWith('birealsim-kernels-')).flatMap((d) => readdirSync(join(tmp, d)));
      expect(cached).toEqual([`kernels-${digest}.wasm`]);
      expect(child(tmp).source).toBe('cache');
    } finally { rmSync(tmp, { recursive: true, force: true }); }
  });

  it('the build step writes the module under the digest of its WAT text, with the golden and the trainer kernels', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'birealsim-kbuild-'));
    try {
      const path = await writePrebuiltKernels(dir);
      const { wat, digest } = kernelSourceText();
      expect(path).toBe(join(dir, `kernels-${digest}.wasm`));
      expect(digest).toMatch(/^[0-9a-f]{64}$/);
      expect(kernelSourceText().wat).toBe(wat); // the generators are deterministic
      const names = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(path))).map((e) => e.name);
      for (const n of ['sconv', 'sgemm', 'bconv64_1x4', 'im2col', 'col2im', 'sign_pack', 'xnor_out', 'bn_norm', 'sign_bwd_approx', 'maxpool']) expect(names).toContain(n);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
