/**
 * Issue 13 item 7: `"extends"` in arch files (preset name or relative path, deep merge, cycles refused,
 * E_ARCH at $.extends) and the docs example arch/examples/custom-32x32.json working in one try.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadArch } from '../../src/sim/arch.ts';
import { UserError } from '../../src/core/diagnostics.ts';
import { runCli } from '../cli/run-cli.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'birealsim-extends-'));
function archErr(f: () => unknown): UserError {
  try { f(); } catch (e) { if (e instanceof UserError) return e; throw e; }
  throw new Error('expected a UserError');
}

describe('arch extends', () => {
  it('the documented example resolves to a 32x32 array, 128 KiB weights, 1 GHz, 12.8 GB/s', () => {
    const a = loadArch('arch/examples/custom-32x32.json') as any;
    expect(a.name).toBe('custom-32x32');
    expect(a.clockHz).toBe(1e9);
    expect(a.dram.bandwidthBytesPerSecond).toBeCloseTo(12.8e9, 0);
    expect(a.buffers.weights.capacityBytes ?? a.buffers.weights.capacity).toBe(128 * 1024);
    expect(a.peArray.rows).toBe(32);
    expect(a.peArray.cols).toBe(32);
    // inherited from edge
    expect(a.buffers.outputs.capacityBytes ?? a.buffers.outputs.capacity).toBe(64 * 1024);
  });

  it('birealsim simulate bireal18-imagenet --arch arch/examples/custom-32x32.json succeeds', async () => {
    const r = await runCli(['simulate', 'bireal18-imagenet', '--arch', 'arch/examples/custom-32x32.json']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('custom-32x32');
  }, 120_000);

  it('chains through relative files', () => {
    const d = tmp();
    writeFileSync(join(d, 'a.json'), JSON.stringify({ extends: 'large', peArray: { rows: 8 } }));
    writeFileSync(join(d, 'b.json'), JSON.stringify({ extends: './a.json', peArray: { cols: 4 } }));
    const a = loadArch(join(d, 'b.json')) as any;
    expect([a.peArray.rows, a.peArray.cols]).toEqual([8, 4]);
  });

  it('refuses cycles, unknown bases and bad overrides with E_ARCH at a JSON path', () => {
    const d = tmp();
    writeFileSync(join(d, 'x.json'), JSON.stringify({ extends: './y.json' }));
    writeFileSync(join(d, 'y.json'), JSON.stringify({ extends: './x.json' }));
    const c = archErr(() => loadArch(join(d, 'x.json')));
    expect(c.code).toBe('E_ARCH');
    expect(c.message).toMatch(/cycle/);
    writeFileSync(join(d, 'z.json'), JSON.stringify({ extends: 'egde' }));
    const u = archErr(() => loadArch(join(d, 'z.json')));
    expect(u.code).toBe('E_ARCH');
    expect(u.message + (u as any).hint).toMatch(/edge/);
    writeFileSync(join(d, 'w.json'), JSON.stringify({ extends: 'edge', peArray: { rows: 'many' } }));
    const w = archErr(() => loadArch(join(d, 'w.json')));
    expect(w.code).toBe('E_ARCH');
    expect(JSON.stringify(w)).toContain('$.peArray.rows');
  });
});

describe('arch unit spellings', () => {
  it('KB and kB are decimal (1000 B), KiB binary (1024 B); MB/s, GB/s, MHz, GHz decimal', () => {
    const d = tmp();
    const f = join(d, 'u.json');
    const cap = (s: string) => { writeFileSync(f, JSON.stringify({ extends: 'edge', buffers: { weights: { capacity: s } } })); return (loadArch(f) as any).buffers.weights.capacityBytes; };
    expect(cap('128 KB')).toBe(128000);
    expect(cap('128 kB')).toBe(128000);
    expect(cap('128 KiB')).toBe(131072);
    writeFileSync(f, JSON.stringify({ extends: 'edge', clock: '800 MHz', dram: { bandwidth: '800 MB/s' } }));
    const a = loadArch(f) as any;
    expect(a.clockHz).toBe(8e8);
    expect(a.dram.bandwidthBytesPerSecond).toBeCloseTo(8e8, 0);
  });
});
