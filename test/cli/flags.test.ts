/** Numeric flags out of range are bad input (exit 2, one line naming the flag), checked before any work (cli/flags.ts). */
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';


describe('numeric flag ranges', () => {
  const cases: [string[], RegExp][] = [
    [['run', 'bireal-tiny', '--top', '-3'], /^error E_FLAG: --top: expected an integer >= 1, got -3/],
    [['run', 'bireal-tiny', '--top', '2.5'], /--top: expected an integer/],
    [['verify', 'bireal-tiny', '--min-agreement', '2', '--images', '1'], /--min-agreement: expected a number from 0 to 1, got 2/],
    [['verify', 'bireal-tiny', '--images', '0'], /--images: expected a positive integer or 'all', got "0"/],
    [['formats', 'bireal-tiny', '--images', '2.5'], /--images: expected a positive integer or 'all', got "2.5"/],
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
