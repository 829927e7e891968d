/**
 * One exit-code convention in every command (src/cli/main.ts): 0 success, 1 a check failed, 2 bad input or
 * usage, 3 internal error with one "please report" line (the stack only under --debug). An internal error is
 * provoked by making the cost model throw a plain Error (a bug, not a UserError).
 */
import { describe, expect, it, vi } from 'vitest';
import { runCli } from './run-cli.ts';

vi.mock('../../src/cost/count.ts', async (orig) => {
  const real = await orig<typeof import('../../src/cost/count.ts')>();
  return { ...real, countPlan: () => { throw new Error('simulated bug in countPlan'); } };
});


describe('exit codes', () => {
  it('an internal error exits 3 with one line naming the error and asking for a report, no stack', async () => {
    const r = await runCli(['cost', 'bireal-mnist']);
    expect(r.code).toBe(3);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error E_INTERNAL: simulated bug in countPlan \(hint: .*please report/);
  });
  it('--debug adds the stack trace', async () => {
    const r = await runCli(['cost', 'bireal-mnist', '--debug']);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/simulated bug in countPlan\n\s+at /);
  });
  it('bad input exits 2 (unknown workload), usage exits 2 (unknown flag)', async () => {
    expect((await runCli(['cost', 'no-such-net'])).code).toBe(2);
    expect((await runCli(['cost', 'bireal-mnist', '--no-such-flag'])).code).toBe(2);
  });
});
