/**
 * `birealsim summary` (Larq-style) shows exactly the figures `cost --layers` and `inspect` print for the same
 * network (one source of truth: countPlan and the lowered plan), and its totals reproduce the paper's
 * Bi-Real-18 row (Liu et al. 2018, Table 4: memory 33.6 Mbit, 11.14x saving; OPs 1.63e8, 11.06x speed-up).
 */
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

/** RFC 4180 fields of one line (quoted fields may hold commas and doubled quotes). */
const fields = (line: string) => [...line.matchAll(/(?:^|,)("(?:[^"]|"")*"|[^,]*)/g)].map((m) => m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1]);
const json = async (args: string[]) => { const r = await runCli(args); expect(r.code, r.err).toBe(0); return JSON.parse(r.out); };

describe('summary', () => {
  it('bireal18-imagenet: every layer equals cost --layers and inspect; totals equal cost and the paper', async () => {
    const s = await json(['summary', 'bireal18-imagenet', '--json']);
    const cost = (await json(['cost', 'bireal18-imagenet', '--layers', '--json'])).networks[0];
    const insp = await json(['inspect', 'bireal18-imagenet', '--json']);
    expect(s.layers.length).toBe(cost.layers.length);
    expect(s.layers.length).toBe(insp.steps.length);
    s.layers.forEach((r: any, i: number) => {
      const k = cost.layers[i], st = insp.steps[i];
      expect(r.layer).toBe(k.step); expect(r.layer).toBe(st.step);
      expect([r.binaryParams, r.realParams, r.memoryBits, r.bops, r.realMacs]).toEqual([k.binaryWeights, k.realParams, k.memoryBits, k.bops, k.realMacs]);
      expect(`${r.outputShape.join('x')}${r.outputKind === 'bits' ? ' bits' : ''}`).toBe(st.output);
      expect(r.precision).toBe(st.precision);
      expect(r.op).toBe(st.op);
    });
    const t = s.totals, c = cost.totals;
    expect([t.binaryParams, t.realParams, t.memoryBits, t.bops, t.realMacs, t.ops]).toEqual([c.binaryWeights, c.realParams, c.memoryBits, c.bops, c.realMacs, c.ops]);
    // the paper's printed values (3 significant digits; OPs truncated as the paper prints them)
    expect((t.memoryBits / 1e6).toFixed(1)).toBe('33.5'); // paper: 33.6 with its own rounding of BN/FC (see cost's paper column)
    expect(Math.trunc(t.ops / 1e6)).toBe(163);
    expect(t.speedup.toFixed(2)).toBe('11.06');
  });

  it('CSV: raw numbers (no thousands separators), one row per layer plus total, units-free headers', async () => {
    const r = await runCli(['summary', 'bireal18-imagenet', '--csv']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    const head = fields(lines[0]);
    const s = await json(['summary', 'bireal18-imagenet', '--json']);
    expect(lines.length).toBe(1 + s.layers.length + 1);
    for (const line of lines.slice(1)) {
      const cells = fields(line);
      expect(cells.length).toBe(head.length);
      for (const k of ['binary_params', 'real_params', 'memory_bits', 'bops', 'real_macs']) expect(cells[head.indexOf(k)]).toMatch(/^\d+$/);
    }
    const total = fields(lines.at(-1)!);
    expect(Number(total[head.indexOf('bops')])).toBe(s.totals.bops);
  });

  it('text output ends with the savings; a bad target is exit 2', async () => {
    const r = await runCli(['summary', 'xnornet18-imagenet']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/memory: .* KiB .* in full precision: [\d.]+x smaller/);
    expect(r.out).toMatch(/operations: .* OPs .*: [\d.]+x fewer/);
    expect((await runCli(['summary', 'bireal18-imagenett'])).code).toBe(2);
  });
});
