/**
 * Issue 13 item 6: schemas/arch.schema.json (JSON Schema draft 2020-12, checked with ajv) accepts every
 * shipped arch file, and it and the project's own validator (src/sim/arch.ts, the source of truth) agree
 * on a corpus of good and bad mutations of arch/edge.json.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { resolveArch, mergeSpec, presetSpec } from '../../src/sim/arch.ts';
import { resolveAnyArch } from '../../src/sim/dataflow-arch.ts';

const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ allErrors: true, strict: false });
const validate = ajv.compile(JSON.parse(readFileSync('schemas/arch.schema.json', 'utf8')));
const shipped = [...readdirSync('arch').filter((f) => f.endsWith('.json')).map((f) => `arch/${f}`), ...readdirSync('arch/examples').map((f) => `arch/examples/${f}`)];

const projectAccepts = (raw: unknown) => { try { resolveArch(raw); return true; } catch { return false; } };

describe('arch schema', () => {
  it.each(shipped)('%s validates and carries $schema', (f) => {
    const raw = JSON.parse(readFileSync(f, 'utf8'));
    expect(raw.$schema).toMatch(/schemas\/arch\.schema\.json$/);
    expect(validate(raw), JSON.stringify(validate.errors)).toBe(true);
  });

  const edge = presetSpec('edge');
  const good: Record<string, unknown> = {
    'edge as shipped': edge,
    'GHz clock': mergeSpec(edge, { clock: '1 GHz' }),
    'KiB buffer': mergeSpec(edge, { buffers: { weights: { capacity: '128 KiB' } } }),
    'ws dataflow': mergeSpec(edge, { peArray: { dataflow: 'ws' } }),
    'explicit energy': mergeSpec(edge, { pooling: { opEnergy: { value: '1 pJ', source: 'Horowitz ISSCC 2014' } } }),
    'technology node and area overrides': mergeSpec(edge, {
      technologyNode: '28 nm', peArray: { peArea: { value: '900 um^2', source: 'synthesis' } }, buffers: { weights: { area: { value: '0.4 mm^2', source: 'macro' } }, inputs: { area: 'default' } },
      postProcessing: { laneArea: 'default' }, realUnit: { macArea: { value: '5000 um^2', source: 'synthesis' } }, pooling: { laneArea: 'default' },
    }),
  };
  const drop = (k: string) => Object.fromEntries(Object.entries(edge).filter(([x]) => x !== k));
  const bad: Record<string, unknown> = {
    'unknown top key': { ...edge, clok: '1 GHz' },
    'missing clock': drop('clock'),
    'missing dram': drop('dram'),
    'wrong schema id': { ...edge, schema: 'birealsim.arch/2' },
    'rows not an integer': mergeSpec(edge, { peArray: { rows: 1.5 } }),
    'rows zero': mergeSpec(edge, { peArray: { rows: 0 } }),
    'rows a string': mergeSpec(edge, { peArray: { rows: '16' } }),
    'unknown dataflow': mergeSpec(edge, { peArray: { dataflow: 'rs' } }),
    'unknown buffer key': mergeSpec(edge, { buffers: { weights: { size: '1 KiB' } } }),
    'energy without source': mergeSpec(edge, { pooling: { opEnergy: { value: '1 pJ' } } }),
    'doubleBuffered a string': mergeSpec(edge, { buffers: { inputs: { doubleBuffered: 'yes' } } }),
    'clock a number': { ...edge, clock: 500 },
    'banks too many': mergeSpec(edge, { buffers: { inputs: { banks: 4096 } } }),
    'precisionBits 12': mergeSpec(edge, { buffers: { realStream: { precisionBits: 12 } } }),
    'area without source': mergeSpec(edge, { peArray: { peArea: { value: '900 um^2' } } }),
    'area a number': mergeSpec(edge, { pooling: { laneArea: 4184 } }),
    'technologyNode a number': { ...edge, technologyNode: 28 },
  };
  it.each(Object.entries(good))('good: %s accepted by both', (_n, raw) => {
    expect(projectAccepts(raw)).toBe(true);
    expect(validate(raw), JSON.stringify(validate.errors)).toBe(true);
  });
  it.each(Object.entries(bad))('bad: %s rejected by both', (_n, raw) => {
    expect(projectAccepts(raw)).toBe(false);
    expect(validate(raw)).toBe(false);
  });
});

describe('arch schema: dataflow family', () => {
  const df = presetSpec('dataflow-bnn');
  const accepts = (raw: unknown) => { try { resolveAnyArch(raw); return true; } catch { return false; } };
  const good: Record<string, unknown> = {
    'dataflow-bnn as shipped': df,
    'explicit folding': mergeSpec(df, { folding: { 's1.b0.conv': { pe: 4, simd: 64, swgSimd: 16, parallelWindow: false } } }),
    'no target': Object.fromEntries(Object.entries(df).filter(([k]) => k !== 'targetFps')),
    'fifo depth 32': mergeSpec(df, { fifoDepth: 32 }),
    'dram energy per bit and technology node (energy and area model)': mergeSpec(df, { technologyNode: '28 nm', dram: { energyPerBit: { value: '4 pJ/bit', source: 'DDR4' } } }),
    'dram energy per bit default': mergeSpec(df, { dram: { energyPerBit: 'default' } }),
  };
  const bad: Record<string, unknown> = {
    'peArray in a dataflow arch': mergeSpec(df, { peArray: { rows: 4 } }),
    'unknown folding key': mergeSpec(df, { folding: { 's1.b0.conv': { smid: 4 } } }),
    'pe zero': mergeSpec(df, { folding: { 's1.b0.conv': { pe: 0 } } }),
    'realStreamBits 12': mergeSpec(df, { realStreamBits: 12 }),
    'negative target': mergeSpec(df, { targetFps: -5 }),
    'dram energy without a source': mergeSpec(df, { dram: { energyPerBit: { value: '4 pJ/bit' } } }),
    'unknown dram key': mergeSpec(df, { dram: { energyPerByte: 'default' } }),
    'unknown family': { ...df, family: 'systolic' },
    'missing realMacPrecision': Object.fromEntries(Object.entries(df).filter(([k]) => k !== 'realMacPrecision')),
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
