/**
 * CLI entry: yargs with strict parsing. User errors (UserError, bad flags) print one line on stderr and
 * return exit code 2; anything else is a bug and keeps its stack (exit 1).
 */
import yargs from 'yargs';
import { isUserError } from '../core/diagnostics.ts';
import { commands } from './commands.ts';
import { TOOL_VERSION, takeRequestedExitCode } from './io.ts';

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const parser = yargs(args)
    .scriptName('birealsim')
    .version(TOOL_VERSION)
    .strict()
    .demandCommand(1, 'give a command (see --help)')
    .recommendCommands()
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err && !isUserError(err)) throw err;
      if (err) throw err;
      throw Object.assign(new Error(msg), { usage: true });
    });
  for (const c of commands) parser.command(c);
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
      throw e;
    }
  }
  return code;
}
