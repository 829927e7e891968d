/**
 * Every arch quantity is finite and inside its documented range (sim/arch.ts QUANTITY_RANGES): absurd values
 * (1e300 Hz, 1e-300 Hz, a 0.5 B buffer, a 1e300 s latency, 1e-300 B/s) are refused with E_ARCH at their JSON
 * path instead of printing null or infinite results; every preset is inside the ranges.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadArch, presetNames, resolveArch } from '../../src/sim/arch.ts';

const edge = () => JSON.parse(readFileSync('arch/edge.json', 'utf8'));
function errorOf(a: unknown): { code?: string; jsonPath?: string; message: string } {
  try { resolveArch(a, 'a.json'); } catch (e) { return e as { code?: string; jsonPath?: string; message: string }; }
  throw new Error('accepted');
}

describe('arch quantity ranges', () => {
  const cases: [string, (a: any) => void, string][] = [
    ['clock 1e300 Hz', (a) => { a.clock = '1e300 Hz'; }, '$.clock'],
    ['clock 1e-300 Hz', (a) => { a.clock = '1e-300 Hz'; }, '$.clock'],
    ['DRAM bandwidth 1e-300 B/s', (a) => { a.dram.bandwidth = '1e-300 B/s'; }, '$.dram.bandwidth'],
    ['DRAM latency 1e300 s', (a) => { a.dram.latency = '1e300 s'; }, '$.dram.latency'],
    ['a 0.5 B buffer', (a) => { a.buffers.weights.capacity = '0.5 B'; }, '$.buffers.weights.capacity'],
  ];
  for (const [name, patch, path] of cases) {
    it(`refuses ${name} at ${path}`, () => {
      const a = edge(); patch(a);
      const e = errorOf(a);
      expect(e.code).toBe('E_ARCH');
      expect(e.jsonPath).toBe(path);
      expect(e.message).toMatch(/outside the supported range/);
    });
  }
  it('accepts the range ends and every preset', () => {
    const a = edge(); a.clock = '100 GHz'; a.dram.latency = '0 s';
    expect(resolveArch(a, 'a.json').clockHz).toBe(1e11);
    for (const p of presetNames()) expect(() => loadArch(p), p).not.toThrow();
  });
});
