/**
 * Builds the JSON Schema (draft 2020-12) of birealsim.workload/1 from the op registry (src/ops), so the
 * shipped schemas/workload.schema.json cannot drift from the ops: `npm run schemas` writes it and
 * test/schemas/workload-schema.test.ts checks the committed file equals this. The schema is for editors;
 * src/ir/validate.ts (ids, references, shapes) stays the source of truth.
 */
import { OP_NAMES, opModule } from '../ops/index.ts';
import type { KeySpec } from '../ops/types.ts';
import { SCHEMA_ID } from './types.ts';

function keySchema(s: KeySpec): Record<string, unknown> {
  const base: Record<string, unknown> = { description: s.doc };
  if (s.default !== undefined) base.default = s.default;
  switch (s.type) {
    case 'int': return { ...base, type: 'integer', minimum: s.min };
    case 'number': return { ...base, type: 'number', exclusiveMinimum: 0 };
    case 'bool': return { ...base, type: 'boolean' };
    case 'enum': return { ...base, enum: [...s.values] };
  }
}

export function workloadSchema(): Record<string, unknown> {
  const layer = OP_NAMES.map((op) => {
    const m = opModule(op);
    const props: Record<string, unknown> = { id: { type: 'string', minLength: 1, not: { const: 'input' }, pattern: '^(?!input:)', description: 'unique; "input" and ids beginning with "input:" (segment inputs) are reserved' }, op: { const: op } };
    if (m.arity === 2) props.inputs = { type: 'array', items: { type: 'string' }, minItems: 2, maxItems: 2, description: 'ids of two earlier layers' };
    else {
      props.in = { type: 'string', description: 'id of an earlier layer or "input"; default: the previous layer' };
      props.input = { type: 'object', additionalProperties: false, required: ['h', 'w', 'c'], properties: { h: { type: 'integer', minimum: 1 }, w: { type: 'integer', minimum: 1 }, c: { type: 'integer', minimum: 1 } }, description: 'instead of "in": this layer\'s own input shape (HWC), starting an independent segment (docs/workload.md)' };
    }
    for (const [k, s] of Object.entries(m.keys)) props[k] = keySchema(s);
    const required = ['id', 'op', ...(m.arity === 2 ? ['inputs'] : []), ...Object.entries(m.keys).filter(([, s]) => s.default === undefined).map(([k]) => k)];
    const then: Record<string, unknown> = { description: m.summary, properties: props, required, additionalProperties: false };
    if (m.arity === 1) then.not = { required: ['in', 'input'] };
    return { if: { properties: { op: { const: op } }, required: ['op'] }, then };
  });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://birealsim.dev/schemas/workload.schema.json',
    title: `${SCHEMA_ID} network description`,
    description: 'Generated from src/ops by src/ir/workload-schema.ts; see docs/workload.md. src/ir/validate.ts is the source of truth (ids, references, shapes).',
    type: 'object',
    additionalProperties: false,
    required: ['schema', 'name', 'input', 'layers'],
    properties: {
      $schema: { type: 'string' },
      schema: { const: SCHEMA_ID },
      name: { type: 'string', minLength: 1 },
      description: { type: 'string' },
      family: { type: 'string' },
      input: { type: 'object', additionalProperties: false, required: ['h', 'w', 'c'], properties: { h: { type: 'integer', minimum: 1 }, w: { type: 'integer', minimum: 1 }, c: { type: 'integer', minimum: 1 } } },
      layers: { type: 'array', minItems: 1, items: { type: 'object', required: ['id', 'op'], properties: { op: { enum: [...OP_NAMES] } }, allOf: layer } },
      output: { type: 'string', description: 'id of the output layer; default: the last layer' },
    },
  };
}
