import { describe, expect, it } from 'vitest';
import { birealSmall } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { randomModel } from '../../src/ir/model.ts';
import { toDeployable } from '../../src/ir/deploy.ts';
import { lower } from '../../src/golden/plan.ts';
import { runPlan } from '../../src/golden/run.ts';
import { compareTaps, describeDivergence } from '../../src/golden/compare.ts';
import { tensor } from '../../src/core/tensor.ts';
import { Rng } from '../../src/core/rng.ts';

describe('compareTaps', () => {
  const net = resolveNetwork(birealSmall('t', [16, 32, 32], [2, 2, 2]));
  const dep = toDeployable(randomModel(net, 1));
  const x = tensor(28, 28, 1); new Rng(2).fillNormal(x.data);
  const base = runPlan(lower(dep), x, { taps: true }).taps;

  it('identical runs agree on every step', () => {
    const again = runPlan(lower(dep), x, { taps: true }).taps;
    const c = compareTaps(lower(dep), base, again);
    expect(c.agree).toBe(true);
    expect(c.steps.every((s) => s.compared > 0 && s.mismatches === 0)).toBe(true);
  });

  it('a single flipped weight bit is found at its layer, as an accumulator difference of exactly 2 per affected output', () => {
    const params = new Map(dep.params);
    const bits = new Uint32Array(params.get('s2.b1.conv.weight_bits') as Uint32Array);
    // output channel 5, tap (1,1), word 0, bit 3 -> flips weight (o=5, ky=1, kx=1, ci=3)
    const wpp = 1;
    bits[((5 * 3 + 1) * 3 + 1) * wpp] ^= 1 << 3;
    params.set('s2.b1.conv.weight_bits', bits);
    const bad = { ...dep, params };
    const plan = lower(dep);
    const c = compareTaps(plan, base, runPlan(lower(bad), x, { taps: true }).taps);
    expect(c.agree).toBe(false);
    expect(c.first!.step).toBe('s2.b1.conv');
    expect(c.first!.what).toBe('acc');
    expect(c.first!.c).toBe(5);
    expect(Math.abs(c.first!.a - c.first!.b)).toBe(2);
    // steps before the corrupted one still agree
    const idx = c.steps.findIndex((s) => s.step === 's2.b1.conv');
    expect(c.steps.slice(0, idx).every((s) => s.mismatches === 0)).toBe(true);
    expect(describeDivergence(c.first!)).toMatch(/s2\.b1\.conv.*channel=5/);
  });
});
