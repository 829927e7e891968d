/** The list of CLI commands (each in its own file). Add a command by appending it here. */
import { costCommand } from './cost.ts';
import { inspectCommand } from './inspect.ts';
import { runCommand } from './run.ts';
import { demoCommand } from './demo.ts';
import { reportCommand } from './report.ts';
import { reportCommand } from './report.ts';
import { sweepCommand } from './sweep.ts';
import { mergeCommand } from './merge.ts';
import { reportCommand } from './report.ts';
import { sweepCommand } from './sweep.ts';
import { mergeCommand } from './merge.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: any[] = [demoCommand, costCommand, inspectCommand, runCommand];
commands.push(reportCommand);
commands.push(reportCommand, sweepCommand, mergeCommand);
commands.push(reportCommand, sweepCommand, mergeCommand);
