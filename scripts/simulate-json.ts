/**
 * Stand-in for `birealsim simulate <workload> --arch <arch> --json` until that command exists: runs
 * sim/simulate.ts (timing only) and writes its SimResult as JSON with the tool version, timingMs pinned to 0
 * (the only wall-clock field) so regenerated reports are byte-identical.
 * Usage: node bin/run-ts.mjs scripts/simulate-json.ts <workload> <arch preset or file> <out.json>
 */
import { writeFileAtomic } from '../src/core/atomic.ts';
import { loadArch } from '../src/sim/arch.ts';
import { simulate } from '../src/sim/simulate.ts';
import { loadPlan } from '../src/report/sweep-eval.ts';
import { TOOL_VERSION } from '../src/cli/io.ts';

const [workload, arch, out] = process.argv.slice(2);
if (!workload || !arch || !out) { process.stderr.write('usage: scripts/simulate-json.ts <workload> <arch> <out.json>\n'); process.exit(2); }
const r = simulate(loadPlan(workload), loadArch(arch));
writeFileAtomic(out, JSON.stringify({ ...r, version: TOOL_VERSION, timingMs: 0 }, null, 2) + '\n');
process.stderr.write(`wrote ${out}: ${r.network} on ${r.arch.name}: ${r.feasible ? `${r.totals!.latencyMs.toFixed(3)} ms, ${(r.totals!.energyPerFrameJ * 1e3).toFixed(3)} mJ/frame` : `INFEASIBLE (${r.infeasible[0]?.reason})`}\n`);
