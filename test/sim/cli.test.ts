/** `birealsim simulate`: JSON result, bad arch input -> exit 2 with file and JSON path, infeasible -> exit 2 with the reason. */
import { describe, expect, it, vi } from 'vitest';
import { writeFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { main } from '../../src/cli/main.ts';
import { mergeSpec, presetSpec } from '../../src/sim/arch.ts';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  try { return { code: await main(args), out, err }; } finally { o.mockRestore(); e.mockRestore(); }
}

describe('birealsim simulate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
  it('--json emits the SimResult with the resolved arch echoed', async () => {
    const out = join(dir, 'r.json');
    const r = await run(['simulate', 'bireal-mnist', '--arch', 'edge', '--json', '--out', out]);
    expect(r.code).toBe(0);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.kind).toBe('simulate');
    expect(j.arch.clockHz).toBe(500e6);
    expect(j.totals.cycles).toBeGreaterThan(0);
    expect(j.layers.length).toBeGreaterThan(5);
  });
  it('a bad arch file is a one-line user error naming the file and JSON path (exit 2)', async () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify(mergeSpec(presetSpec('edge'), { peArray: { dataflw: 'os' } })));
    const r = await run(['simulate', 'bireal-mnist', '--arch', f]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/E_ARCH: .*bad\.json: \$\.peArray\.dataflw: unknown key.*did you mean 'dataflow'/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
  it('an infeasible arch exits 2 with the reason', async () => {
    const f = join(dir, 'tiny.json');
    writeFileSync(f, JSON.stringify(mergeSpec(presetSpec('edge'), { buffers: { weights: { capacity: '64 B' } } })));
    const r = await run(['simulate', 'bireal-mnist', '--arch', f]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/E_INFEASIBLE: .*weights buffer needs/);
  });
  it('--functional --verify reports bit-exactness', async () => {
    const r = await run(['simulate', 'bireal-mnist', '--arch', 'large', '--functional', '--verify', '--kernels', 'reference']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/golden comparison: bit-exact on all \d+ steps/);
  });
});
