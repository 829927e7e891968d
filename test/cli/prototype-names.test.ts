/**
 * Names that are Object.prototype members ('toString', 'constructor', '__proto__', 'hasOwnProperty') given
 * where the CLI looks up a built-in by name (target, training network, cost convention, report input) or
 * as an op or key in a workload: each is an unknown name (exit 2, one line, no stack), never a crash.
 * The tables are null-prototype (core/diagnostics.ts byName); the op registry is a Map.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.ts';
import { birealSmall } from '../../src/ir/builders.ts';

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'birealsim-proto-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));


function workloadWith(name: string, mutate: (l: Record<string, unknown>) => void): string {
  const w = JSON.parse(JSON.stringify(birealSmall('tiny', [8, 16, 16], [1, 1, 1])));
  mutate(w.layers[1]);
  const f = join(dir, `${name}.json`);
  writeFileSync(f, JSON.stringify(w));
  return f;
}

const NAMES = ['toString', 'constructor', '__proto__', 'hasOwnProperty'];
describe('prototype-member names are unknown names, not crashes', () => {
  const cases: [string, () => string[], RegExp][] = [];
  for (const n of NAMES) {
    cases.push([`cost ${n}`, () => ['cost', n], /E_TARGET/]);
    cases.push([`run ${n}`, () => ['run', n], /E_TARGET/]);
    cases.push([`cost --convention ${n}`, () => ['cost', 'bireal-mnist', '--convention', n], /E_ARG.*--convention/]);
    cases.push([`train --model ${n}`, () => ['train', '--model', n, '--dataset', 'mnist', '--out', join(dir, 'never')], /E_TARGET/]);
    cases.push([`op '${n}'`, () => ['inspect', workloadWith(`op-${n}`, (l) => { l.op = n; })], /E_UNKNOWN_OP.*\$\.layers\[1\]\.op/]);
  }
  cases.push(["key 'toString'", () => ['inspect', workloadWith('key-toString', (l) => { Reflect.set(l, 'toString', 1); })], /E_UNKNOWN_KEY.*\$\.layers\[1\]\.toString/]);
  for (const [name, args, re] of cases) {
    it(name, async () => {
      const r = await runCli(args());
      expect(r.code).toBe(2);
      const lines = r.err.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(re);
      expect(lines[0]).not.toMatch(/E_INTERNAL|\bat \S+:\d+/);
    });
  }
});
