/**
 * Issue 13 item 6: schemas/workload.schema.json is what src/ir/workload-schema.ts generates from the op
 * registry, every shipped workload validates against it and carries "$schema", and it agrees with the
 * project's validator (src/ir/validate.ts) on good files and on bad mutations the schema can express.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { validateWorkload } from '../../src/ir/validate.ts';
import { workloadSchema } from '../../src/ir/workload-schema.ts';

const schema = JSON.parse(readFileSync('schemas/workload.schema.json', 'utf8'));
const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ allErrors: true, strict: false });
const validate = ajv.compile(schema);
const shipped = readdirSync('workloads').filter((f) => f.endsWith('.json')).map((f) => `workloads/${f}`);
const accepts = (raw: unknown) => { try { validateWorkload(raw); return true; } catch { return false; } };
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('workload schema', () => {
  it('the committed schema is the one generated from the op registry (npm run schemas)', () => {
    expect(schema).toEqual(workloadSchema());
  });
  it.each(shipped)('%s validates and carries $schema', (f) => {
    const raw = JSON.parse(readFileSync(f, 'utf8'));
    expect(raw.$schema).toBe('../schemas/workload.schema.json');
    expect(validate(raw), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(accepts(raw)).toBe(true);
  });

  const base = JSON.parse(readFileSync('workloads/bireal-mnist.json', 'utf8'));
  const at = (f: (w: any) => void) => { const w = clone(base); f(w); return w; };
  const conv = base.layers.findIndex((l: any) => l.op === 'bconv');
  const good: Record<string, unknown> = {
    'as shipped': base,
    'without $schema': at((w) => { delete w.$schema; }),
    'defaults written out': at((w) => { w.layers[conv].stride ??= 1; }),
    'a layer with its own input shape (an independent segment)': at((w) => { w.layers[1].input = { h: 28, w: 28, c: 8 }; }),
  };
  const bad: Record<string, unknown> = {
    'unknown top key': at((w) => { w.layerz = []; }),
    'wrong schema id': at((w) => { w.schema = 'birealsim.workload/2'; }),
    'no layers': at((w) => { w.layers = []; }),
    'input.h zero': at((w) => { w.input.h = 0; }),
    'input extra key': at((w) => { w.input.d = 1; }),
    'unknown op': at((w) => { w.layers[conv].op = 'bconv2'; }),
    'unknown key for op': at((w) => { w.layers[conv].kernal = 3; }),
    'kernel not an integer': at((w) => { w.layers[conv].kernel = 2.5; }),
    'missing required key': at((w) => { delete w.layers[conv].outChannels; }),
    'enum out of range': at((w) => { w.layers[conv].padMode = 'two'; }),
    'id "input"': at((w) => { w.layers[0].id = 'input'; }),
    'name empty': at((w) => { w.name = ''; }),
    'segment input and in together': at((w) => { w.layers[1].input = { h: 28, w: 28, c: 8 }; w.layers[1].in = w.layers[0].id; }),
    'segment input without c': at((w) => { w.layers[1].input = { h: 28, w: 28 }; }),
    'id beginning with "input:"': at((w) => { w.layers[1].id = 'input:x'; }),
  };
  it.each(Object.entries(good))('good: %s accepted by both', (_n, raw) => {
    expect(accepts(raw)).toBe(true);
    expect(validate(raw), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
  });
  it.each(Object.entries(bad))('bad: %s rejected by both', (_n, raw) => {
    expect(accepts(raw)).toBe(false);
    expect(validate(raw)).toBe(false);
  });
});
