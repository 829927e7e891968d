/**
 * Nothing the user made is overwritten (src/cli/out-guard.ts): an --out that resolves to an input, by any
 * spelling or through a symbolic link, or a folder --out holding an input, is refused with exit 2 and one
 * line naming --out, and the input keeps its bytes; outputs that touch no input are written as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.ts';
import { birealSmall } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { encodeModel, randomModel } from '../../src/ir/model.ts';

let dir = '';
const P = (name: string) => join(dir, name);


beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'birealsim-out-guard-'));
  const w = birealSmall('tiny', [8, 16, 16], [1, 1, 1]);
  writeFileSync(P('w.json'), JSON.stringify(w));
  writeFileSync(P('m.safetensors'), encodeModel(randomModel(resolveNetwork(w), 1)));
  symlinkSync(P('w.json'), P('link.json'));
  mkdirSync(P('runs'));
  writeFileSync(P('runs/w.json'), JSON.stringify(w));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--out never overwrites an input', () => {
  const refused: [string, () => string[], string][] = [
    ['cost: --out is the workload', () => ['cost', P('w.json'), '--out', P('w.json')], 'w.json'],
    ['cost: the same file spelled differently', () => ['cost', P('w.json'), '--out', join(dir, 'runs', '..', 'w.json')], 'w.json'],
    ['cost: --out is a symbolic link to the workload', () => ['cost', P('w.json'), '--out', P('link.json')], 'w.json'],
    ['inspect: --out is the model', () => ['inspect', P('m.safetensors'), '--out', P('m.safetensors')], 'm.safetensors'],
    ['export: --out is the latent model', () => ['export', P('m.safetensors'), '--out', P('m.safetensors'), '--dataset', 'mnist'], 'm.safetensors'],
    ['report: the output folder holds the input', () => ['report', P('runs/w.json'), '--out', P('runs')], 'runs/w.json'],
    ['ablate: --out prefix + .json is the model', () => ['ablate', '--model', P('w.json'), '--out', P('w'), '--dataset', 'mnist'], 'w.json'],
  ];
  for (const [name, args, input] of refused) {
    it(`refuses: ${name}`, async () => {
      const before = readFileSync(P(input));
      const r = await runCli(args());
      expect(r.code).toBe(2);
      const lines = r.err.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/E_OUT_IS_INPUT.*--out/);
      expect(lines[0]).not.toMatch(/\bat \S+:\d+/); // no stack trace
      expect(readFileSync(P(input)).equals(before)).toBe(true);
    });
  }
  it('writes an --out that is no input (cost, then a report folder whose png folder exists from a previous run)', async () => {
    expect((await runCli(['cost', P('w.json'), '--json', '--out', P('cost.json')])).code).toBe(0);
    expect(JSON.parse(readFileSync(P('cost.json'), 'utf8')).kind).toBe('cost');
    for (let i = 0; i < 2; i++) expect((await runCli(['report', P('cost.json'), '--out', P('rep'), '--png', P('rep/img')])).code).toBe(0);
    expect(existsSync(P('rep/report.html'))).toBe(true);
  });
});
