/**
 * Numeric flags out of range are bad input (exit 2, one line naming the flag), checked before any work by one
 * mechanism (cli/flags.ts FLAG_RULES + the checkNumericFlags middleware), for every command.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLAG_RULES } from '../../src/cli/flags.ts';
import { runCli } from './run-cli.ts';

describe('numeric flag ranges', () => {
  it('every numeric option declared under src/cli has a rule in FLAG_RULES', () => {
    const declared = new Set<string>();
    for (const f of readdirSync('src/cli').filter((f) => f.endsWith('.ts'))) {
      const src = readFileSync(join('src/cli', f), 'utf8');
      // .option('name', { type: 'number' ...  and  name: { type: 'number' ... / 'name': { type: 'number' ...
      for (const m of src.matchAll(/\.option\('([\w-]+)',\s*\{\s*type:\s*'number'/g)) declared.add(m[1]);
      for (const m of src.matchAll(/^\s*'?([\w-]+)'?:\s*\{\s*type:\s*'number'/gm)) declared.add(m[1]);
    }
    expect(declared.size).toBeGreaterThan(20); // the scan found the options (train alone declares 18)
    const missing = [...declared].filter((k) => !Object.hasOwn(FLAG_RULES, k) && k !== 'images');
    expect(missing).toEqual([]);
  });

  const cases: [string[], RegExp][] = [
    [['run', 'bireal-tiny', '--top', '-3'], /^error E_FLAG: --top: expected an integer from 1 to 1000000, got -3/],
    [['run', 'bireal-tiny', '--top', '2.5'], /--top: expected an integer/],
    [['verify', 'bireal-tiny', '--min-agreement', '2', '--images', '1'], /--min-agreement: expected a number from 0 to 1, got 2/],
    [['verify', 'bireal-tiny', '--images', '0'], /--images: expected a positive integer or 'all', got "0"/],
    [['formats', 'bireal-tiny', '--images', '2.5'], /--images: expected a positive integer or 'all', got "2.5"/],
    [['train', '--model', 'bireal-tiny', '--dataset', 'mnist', '--epochs', '-1'], /--epochs: expected an integer from 0 to 10000, got -1/],
    [['train', '--model', 'bireal-tiny', '--dataset', 'mnist', '--lr', '0'], /--lr: expected a number <= 100 > 0, got 0/],
    [['train', '--model', 'bireal-tiny', '--dataset', 'mnist', '--momentum', '1.5'], /--momentum: expected a number from 0 to 1, got 1.5/],
    [['train', '--model', 'bireal-tiny', '--dataset', 'mnist', '--replicas', '0'], /--replicas/],
    [['train', '--model', 'bireal-tiny', '--dataset', 'mnist', '--batch', 'many'], /--batch: expected an integer from 1 to 65536, got NaN/],
    [['cost', 'bireal18-imagenet', '--bn-params', '3'], /--bn-params: expected an integer \(one of 0, 2, 4\), got 3/],
    [['simulate', 'bireal18-imagenet', '--arch', 'edge', '--seed', '-1'], /--seed: expected an integer from 0 to 4294967295, got -1/],
    [['inspect', 'bireal18-imagenet', '--seed', '1e999'], /--seed: .*got Infinity/],
    [['ablate', '--seeds', '0'], /--seeds: expected an integer from 1 to 1000, got 0/],
    [['formats', 'bireal-tiny', '--check-images', '-1'], /--check-images/],
    [['demo', '--epochs', '-2'], /--epochs/],
    [['sweep', 'nope.json', '--out', 'x.jsonl', '--workers', '-1'], /--workers: expected an integer from 0 to 64, got -1/],
  ];
  for (const [args, re] of cases) {
    it(args.join(' '), async () => {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(re);
    });
  }
  it('an in-range --top runs', async () => expect((await runCli(['run', 'bireal-mnist', '--top', '3'])).code).toBe(0));
});
