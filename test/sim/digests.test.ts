/**
 * Speed work on the simulator must not change a result byte: the timing-only results (whole SimResult JSON
 * with traces, wall-clock timingMs zeroed) of bireal18 / xnornet18 / resnet18 on edge / large / baseline-mac /
 * scalesim-compat under the cycles and energy objectives hash to the digests recorded before that work
 * (test/sim/fixtures/timing-digests.json, written by scripts/sim-digests.ts). A deliberate model change
 * re-records them with `node bin/run-ts.mjs scripts/sim-digests.ts > test/sim/fixtures/timing-digests.json`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DIGEST_FILE, simDigests } from '../../scripts/sim-digests.ts';

describe('timing results are byte-identical to the recorded digests', () => {
  it('24 network x preset x objective results', () => {
    const want = JSON.parse(readFileSync(DIGEST_FILE, 'utf8')) as Record<string, string>;
    expect(Object.keys(want)).toHaveLength(24);
    expect(simDigests()).toEqual(want);
  }, 120_000);
});
