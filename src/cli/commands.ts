/** The list of CLI commands (each in its own file). Add a command by appending it here. */
import { costCommand } from './cost.ts';
import { inspectCommand } from './inspect.ts';
import { runCommand } from './run.ts';
import { reportCommand } from './report.ts';
import { sweepCommand } from './sweep.ts';
import { mergeCommand } from './merge.ts';
import { demoCommand } from './demo.ts';
import { verifyCommand } from './verify.ts';
import { trainCommand } from './train.ts';
import { evalCommand } from './eval.ts';
import { exportCommand } from './export.ts';
import { ablateCommand } from './ablate.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: any[] = [demoCommand, costCommand, inspectCommand, runCommand];
commands.push(reportCommand, sweepCommand, mergeCommand, verifyCommand);
commands.push(trainCommand, evalCommand, exportCommand, ablateCommand);
import { simulateCommand } from './simulate.ts';
commands.push(simulateCommand);
import { formatsCommand } from './formats.ts';
commands.push(formatsCommand);
