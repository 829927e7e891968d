/**
 * CLI entry: yargs with strict parsing. Exit codes, the same in every command: 0 success; 1 a check failed
 * (a verification diverged, a target was missed when asked to check: the command requests it, io.ts);
 * 2 bad input or usage (UserError, bad flags: one line on stderr); 3 internal error (a bug: one line with a
 * "please report" hint, the stack only under --debug). Only the command modules the
 * parse needs are imported (commands.ts: the invoked command alone; all of them for --help; only names for
 * an unknown command; none for --version), so start-up does not pay for the kernels, trainer or simulator.
 * A bare `birealsim --version` is answered before yargs is even imported (its import is about half of
 * that command's start-up), with the same output yargs prints.
 */
import { isUserError } from '../core/diagnostics.ts';
import { commands, commandsNeeded } from './commands.ts';
import { TOOL_VERSION, takeRequestedExitCode } from './io.ts';
import { checkNumericFlags } from './flags.ts';
import { refuseOutOverInput } from './out-guard.ts';

export interface MainOptions {
  /** register every command, as before lazy loading (tests compare the two parses) */
  allCommands?: boolean;
}

export async function main(args: string[], opts: MainOptions = {}): Promise<number> {
  if (args.length === 1 && args[0] === '--version' && !opts.allCommands) {
    process.stdout.write(`${TOOL_VERSION}\n`);
    return 0;
  }
  const { default: yargs } = await import('yargs');
  let code = 0;
  const needed = opts.allCommands ? { load: commands, stubs: [] } : commandsNeeded(args);
  const modules = await Promise.all(needed.load.map((c) => c.load()));
  const parser = yargs(args)
    .scriptName('birealsim')
    .version(TOOL_VERSION)
    .strict()
    .demandCommand(1, 'give a command (see --help)')
    .recommendCommands()
    .option('debug', { type: 'boolean', describe: 'on an internal error, print its stack trace' })
    .middleware((argv) => checkNumericFlags(argv as Record<string, unknown>))
    .middleware((argv) => refuseOutOverInput(argv as Record<string, unknown>))
    .epilogue('Exit codes (every command): 0 success; 1 a check failed (verification divergence, a target missed when asked to check); 2 bad input or usage (one line naming the file, JSON path or flag); 3 internal error (a bug: please report it; --debug prints the stack).')
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err && !isUserError(err)) throw err;
      if (err) throw err;
      throw Object.assign(new Error(msg), { usage: true });
    });
  for (const m of modules) parser.command(m);
  for (const name of needed.stubs) parser.command({ command: name, describe: false, handler: () => {} });
  try {
    await parser.parseAsync();
    code = takeRequestedExitCode();
  } catch (e) {
    takeRequestedExitCode();
    if (isUserError(e)) {
      process.stderr.write(e.format() + '\n');
      code = 2;
    } else if ((e as { usage?: boolean }).usage) {
      process.stderr.write(`error E_USAGE: ${(e as Error).message} (hint: birealsim --help)\n`);
      code = 2;
    } else {
      const err = e instanceof Error ? e : new Error(String(e));
      const detail = args.includes('--debug') ? `\n${err.stack ?? err.message}` : '';
      process.stderr.write(`error E_INTERNAL: ${err.message.split('\n')[0]} (hint: this is a bug in birealsim ${TOOL_VERSION}; please report it with the command line; --debug prints the stack)${detail}\n`);
      code = 3;
    }
  }
  return code;
}
