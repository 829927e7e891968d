/**
 * The CLI's commands, one module each, in the order `birealsim --help` lists them (the story: main job,
 * then network description and cost, inference, training, simulation, verification, reporting).
 */
import { demoCommand } from './demo.ts';
import { costCommand } from './cost.ts';
import { inspectCommand } from './inspect.ts';
import { runCommand } from './run.ts';
import { trainCommand } from './train.ts';
import { evalCommand } from './eval.ts';
import { exportCommand } from './export.ts';
import { ablateCommand } from './ablate.ts';
import { simulateCommand } from './simulate.ts';
import { sweepCommand } from './sweep.ts';
import { mergeCommand } from './merge.ts';
import { verifyCommand } from './verify.ts';
import { formatsCommand } from './formats.ts';
import { reportCommand } from './report.ts';

// yargs command modules have per-command argument types; the list is heterogeneous
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: any[] = [
  demoCommand, costCommand, inspectCommand, runCommand,
  trainCommand, evalCommand, exportCommand, ablateCommand,
  simulateCommand, sweepCommand, mergeCommand,
  verifyCommand, formatsCommand, reportCommand,
];
