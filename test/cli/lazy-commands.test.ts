/**
 * Lazy command loading (cli/commands.ts): only the invoked command's module is imported, and the CLI
 * behaves as when every command was registered up front: the same usage errors and "did you mean", the
 * same --help listing (every command, in order, with its module's description), the same --version.
 */
import { describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { main } from '../../src/cli/main.ts';
import { commandName, commands, commandsNeeded } from '../../src/cli/commands.ts';

async function capture(args: string[], allCommands: boolean): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  try { return { code: await main(args, { allCommands }), out, err }; } finally { o.mockRestore(); e.mockRestore(); }
}

function cli(args: string[]) {
  return spawnSync(process.execPath, ['bin/birealsim.mjs', ...args], { encoding: 'utf8' });
}

const names = (args: string[]) => commandsNeeded(args).load.map((c) => c.name);
const stubs = (args: string[]) => commandsNeeded(args).stubs;

describe('lazy command loading', () => {
  it('loads the invoked command alone, none for a version request or no command, all for --help, names only for an unknown command', () => {
    const all = commands.map((c) => c.name);
    expect(names(['cost', 'bireal18-imagenet'])).toEqual(['cost']);
    expect(names(['--help', 'simulate'])).toEqual(['simulate']);
    expect(names(['simulate', '--help'])).toEqual(['simulate']);
    expect(names(['--version'])).toEqual([]);
    expect(names([])).toEqual([]);
    expect(names(['--help'])).toEqual(all);
    expect(names(['cots', '--help'])).toEqual(all);
    expect(names(['cots'])).toEqual([]);
    expect(stubs(['cots'])).toEqual(all);
    expect(stubs(['cost'])).toEqual([]);
    expect(names(['--', 'cost'])).toEqual([]);
  });

  it("every entry's name is its module's command name, each command once", async () => {
    const loaded = await Promise.all(commands.map((c) => c.load()));
    expect(loaded.map((m) => commandName(m.command))).toEqual(commands.map((c) => c.name));
    expect(new Set(commands.map((c) => c.name)).size).toBe(commands.length);
    for (const m of loaded) {
      expect(typeof m.describe).toBe('string');
      expect(typeof m.handler).toBe('function');
    }
  });

  const errorCases = [['cots'], ['simulat', 'bireal-mnist', '--arch', 'edge'], ['cots', '--json'], [], ['--foo'], ['cost', '--nope'], ['cost', 'nosuch'], ['simulate', 'bireal-mnist'], ['inspect'], ['simulate', 'bireal-mnist', '--arch', 'edge', '--objective', 'cylces']];
  for (const args of errorCases) {
    it(`\`birealsim ${args.join(' ')}\`: same exit code and message as with every command registered`, async () => {
      const lazy = await capture(args, false);
      const eager = await capture(args, true);
      expect(lazy).toEqual(eager);
      expect(lazy.code).toBe(2);
      expect(lazy.err.trim().split('\n')).toHaveLength(1);
    });
  }

  it('`birealsim -- cost` (the command after --) parses as with every command registered', async () => {
    expect(await capture(['--', 'cost'], false)).toEqual(await capture(['--', 'cost'], true));
  });

  it('an unknown command still gets "did you mean" and exit 2', async () => {
    const r = await capture(['simulat', 'bireal-mnist'], false);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Did you mean simulate\?/);
  });

  it('the real binary: --version prints the package version; --help lists every command in order with its description', async () => {
    const v = cli(['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    const h = cli(['--help']);
    expect(h.status, h.stderr).toBe(0);
    const loaded = await Promise.all(commands.map((c) => c.load()));
    const flat = h.stdout.replace(/\s+/g, ' ');
    let at = -1;
    for (const m of loaded) {
      const i = flat.indexOf(`birealsim ${m.command} `);
      expect(i, `${m.command} listed after the previous command`).toBeGreaterThan(at);
      at = i;
      expect(flat).toContain(m.describe.replace(/\s+/g, ' '));
    }
    // the exit-code convention is documented in --help (and in the README)
    expect(flat).toMatch(/Exit codes \(every command\): 0 success; 1 a check failed .*; 2 bad input or usage .*; 3 internal error/);
  });

  it('the real binary: `--help cost` is the cost command\'s help with its options', () => {
    const r = cli(['--help', 'cost']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^birealsim cost \[workloads\.\.\]/);
    expect(r.stdout).toContain('--convention');
  });
});
