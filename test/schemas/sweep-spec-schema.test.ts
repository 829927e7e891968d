/**
 * Issue 13 item 6: schemas/sweep-spec.schema.json accepts every shipped sweep spec and agrees with
 * validateSpec (src/report/sweep-spec.ts) on good specs and bad mutations.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { validateSpec } from '../../src/report/sweep-spec.ts';

const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ allErrors: true, strict: false });
const validate = ajv.compile(JSON.parse(readFileSync('schemas/sweep-spec.schema.json', 'utf8')));
const shipped = readdirSync('reports/sweeps').filter((f) => f.endsWith('.spec.json')).map((f) => `reports/sweeps/${f}`);
const accepts = (raw: unknown) => { try { validateSpec(raw, 'x.spec.json'); return true; } catch { return false; } };

describe('sweep-spec schema', () => {
  it.each(shipped)('%s validates and carries $schema', (f) => {
    const raw = JSON.parse(readFileSync(f, 'utf8'));
    expect(raw.$schema).toBe('../../schemas/sweep-spec.schema.json');
    expect(validate(raw), JSON.stringify(validate.errors)).toBe(true);
    expect(accepts(raw)).toBe(true);
  });
  const base = JSON.parse(readFileSync('reports/sweeps/bireal18-edge.spec.json', 'utf8'));
  const grid = { schema: 'birealsim.sweep-spec/1', name: 'g', workload: 'bireal18-imagenet', arch: 'edge', mode: 'grid', axes: { 'peArray.rows': [8, 16], 'buffers.*.capacity': ['64 KiB'] } };
  const good: Record<string, unknown> = { 'shipped random spec': base, 'grid spec': grid };
  const bad: Record<string, unknown> = {
    'unknown key': { ...grid, axis: {} },
    'wrong schema id': { ...grid, schema: 'birealsim.sweep-spec/2' },
    'unknown mode': { ...grid, mode: 'grids' },
    'samples in grid mode': { ...grid, samples: 3 },
    'random without seed': { ...grid, mode: 'random', samples: 3 },
    'random samples over the limit': { ...grid, mode: 'random', samples: 10_000_001, seed: 1 },
    'random seed negative': { ...grid, mode: 'random', samples: 3, seed: -1 },
    'no axes': { ...grid, axes: {} },
    'empty axis': { ...grid, axes: { 'peArray.rows': [] } },
    'repeated values': { ...grid, axes: { 'peArray.rows': [8, 8] } },
    'axis not a dotted path': { ...grid, axes: { 'peArray..rows': [8] } },
    'object value': { ...grid, axes: { 'peArray.rows': [{ a: 1 }] } },
    'empty name': { ...grid, name: '' },
  };
  it.each(Object.entries(good))('good: %s accepted by both', (_n, raw) => {
    expect(accepts(raw)).toBe(true);
    expect(validate(raw), JSON.stringify(validate.errors)).toBe(true);
  });
  it.each(Object.entries(bad))('bad: %s rejected by both', (_n, raw) => {
    expect(accepts(raw)).toBe(false);
    expect(validate(raw)).toBe(false);
  });
});
