/**
 * The CLI's commands, one module each, in the order `birealsim --help` lists them (the story: main job,
 * then network description and cost, inference, training, simulation, verification, reporting).
 *
 * Loaded lazily: a command's module (and everything it imports: kernels, trainer, simulator) is imported
 * only when that command runs, so `birealsim --version` and `birealsim cost` do not pay for the others.
 * Each entry is the command's name (the first word of its yargs `command` string; a test checks they
 * match) and a loader returning the module's yargs command object unchanged.
 */

// yargs command modules have per-command argument types; the list is heterogeneous
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CommandModule = any;

export interface CommandEntry { name: string; load: () => Promise<CommandModule> }

export const commands: readonly CommandEntry[] = [
  { name: 'demo', load: async () => (await import('./demo.ts')).demoCommand },
  { name: 'cost', load: async () => (await import('./cost.ts')).costCommand },
  { name: 'inspect', load: async () => (await import('./inspect.ts')).inspectCommand },
  { name: 'summary', load: async () => (await import('./summary.ts')).summaryCommand },
  { name: 'run', load: async () => (await import('./run.ts')).runCommand },
  { name: 'train', load: async () => (await import('./train.ts')).trainCommand },
  { name: 'eval', load: async () => (await import('./eval.ts')).evalCommand },
  { name: 'export', load: async () => (await import('./export.ts')).exportCommand },
  { name: 'import', load: async () => (await import('./import.ts')).importCommand },
  { name: 'export-torch', load: async () => (await import('./export-torch.ts')).exportTorchCommand },
  { name: 'export-onnx', load: async () => (await import('./export-onnx.ts')).exportOnnxCommand },
  { name: 'ablate', load: async () => (await import('./ablate.ts')).ablateCommand },
  { name: 'simulate', load: async () => (await import('./simulate.ts')).simulateCommand },
  { name: 'sweep', load: async () => (await import('./sweep.ts')).sweepCommand },
  { name: 'merge', load: async () => (await import('./merge.ts')).mergeCommand },
  { name: 'verify', load: async () => (await import('./verify.ts')).verifyCommand },
  { name: 'formats', load: async () => (await import('./formats.ts')).formatsCommand },
  { name: 'report', load: async () => (await import('./report.ts')).reportCommand },
  { name: 'explore', load: async () => (await import('./explore.ts')).exploreCommand },
];

/** The first word of a yargs command string ('cost [workloads..]' -> 'cost'). */
export function commandName(command: string): string {
  return command.trim().split(/\s+/)[0];
}

/** What a parse of `args` needs: command modules to import, and names to register as hidden stubs. */
export interface CommandsNeeded { load: readonly CommandEntry[]; stubs: readonly string[] }

/**
 * What a parse of `args` needs. The named command alone when the first argument that is not an option
 * names one (`cost --help` and `--help cost` both show the cost command's help); every module for --help
 * otherwise (the listing shows every command's description); for an unknown command, only the names, as
 * hidden stubs (yargs' "did you mean" needs nothing else, and no stub can run: none matches the token);
 * nothing for a bare version request or when no command is given. The CLI has no top-level option that
 * takes a value, so the first non-option argument is the command.
 */
export function commandsNeeded(args: readonly string[]): CommandsNeeded {
  const rest = args.indexOf('--');
  const head = rest < 0 ? args : args.slice(0, rest);
  const token = head.find((a) => !a.startsWith('-'));
  const hit = token === undefined ? undefined : commands.find((c) => c.name === token);
  if (hit) return { load: [hit], stubs: [] };
  if (head.some((a) => a === '--help' || a === '-h')) return { load: commands, stubs: [] };
  if (token !== undefined) return { load: [], stubs: commands.map((c) => c.name) };
  return { load: [], stubs: [] };
}
