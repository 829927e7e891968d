/** Runs the CLI in-process (src/cli/main.ts) with stdout and stderr captured; returns the exit code and both streams. */
import { vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

export async function runCli(args: string[]): Promise<{ code: number; err: string; out: string }> {
  let err = '', out = '';
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  try { return { code: await main(args), err, out }; } finally { e.mockRestore(); o.mockRestore(); }
}
