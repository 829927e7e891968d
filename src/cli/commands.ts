/** The list of CLI commands (each in its own file). Add a command by appending it here. */
import { costCommand } from './cost.ts';
import { inspectCommand } from './inspect.ts';
import { runCommand } from './run.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: any[] = [costCommand, inspectCommand, runCommand];
