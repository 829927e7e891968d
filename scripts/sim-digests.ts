/**
 * Digests of timing-only simulation results (the whole SimResult JSON minus its wall-clock `timingMs`) for
 * bireal18 / xnornet18 / resnet18 (224x224) x presets edge / large / baseline-mac / scalesim-compat x
 * objectives cycles / energy. Used to prove that simulator speed work changes no result byte:
 *   node bin/run-ts.mjs scripts/sim-digests.ts          prints the digests as JSON
 *   node bin/run-ts.mjs scripts/sim-digests.ts --check  compares with test/sim/fixtures/timing-digests.json
 * test/sim/digests.test.ts runs the same comparison.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BUILTIN_WORKLOADS } from '../src/ir/builders.ts';
import { resolveNetwork } from '../src/ir/validate.ts';
import { shapeOnlyModel } from '../src/ir/model.ts';
import { lower } from '../src/golden/plan.ts';
import { loadArch } from '../src/sim/arch.ts';
import { simulate } from '../src/sim/simulate.ts';
import type { Objective } from '../src/sim/mapper.ts';

export const DIGEST_NETS = ['bireal18-imagenet', 'xnornet18-imagenet', 'resnet18-imagenet'] as const;
export const DIGEST_PRESETS = ['edge', 'large', 'baseline-mac', 'scalesim-compat'] as const;
export const DIGEST_OBJECTIVES: Objective[] = ['cycles', 'energy'];
export const DIGEST_FILE = new URL('../test/sim/fixtures/timing-digests.json', import.meta.url);

export function simDigests(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of DIGEST_NETS) {
    const plan = lower(shapeOnlyModel(resolveNetwork(BUILTIN_WORKLOADS[n]())));
    for (const p of DIGEST_PRESETS) {
      const arch = loadArch(p);
      for (const o of DIGEST_OBJECTIVES) {
        const r = simulate(plan, arch, { objective: o, trace: true });
        const json = JSON.stringify({ ...r, timingMs: 0 });
        out[`${n}/${p}/${o}`] = createHash('sha256').update(json).digest('hex');
      }
    }
  }
  return out;
}

if (process.argv[1]?.endsWith('sim-digests.ts')) {
  const d = simDigests();
  if (process.argv.includes('--check')) {
    const want = JSON.parse(readFileSync(DIGEST_FILE, 'utf8')) as Record<string, string>;
    const bad = Object.keys(want).filter((k) => want[k] !== d[k]);
    process.stdout.write(bad.length ? `DIFFERENT: ${bad.join(', ')}\n` : `identical: ${Object.keys(want).length} results\n`);
    process.exitCode = bad.length ? 1 : 0;
  } else process.stdout.write(JSON.stringify(d, null, 2) + '\n');
}
