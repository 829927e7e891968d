import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { parseRealFormat, quantizeInPlace, toFp16 } from '../../src/core/realformat.ts';
import { Rng } from '../../src/core/rng.ts';
import { birealSmall } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { randomModel } from '../../src/ir/model.ts';
import { lower } from '../../src/golden/plan.ts';
import { runPlan } from '../../src/golden/run.ts';
import { tensor } from '../../src/core/tensor.ts';

describe('real-stream formats', () => {
  it('fp16 rounding equals Python struct "e" (IEEE binary16, independent oracle)', () => {
    const rng = new Rng(1);
    const xs = new Float32Array(400);
    for (let i = 0; i < xs.length; i++) xs[i] = rng.normal() * 10 ** (rng.int(12) - 7);
    // ties, overflow boundary, subnormals, zeros
    xs.set([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519, 65520, -70000, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 0, -0, 6.1e-5], 0);
    const py = `import struct,sys,json\nxs=json.loads(sys.stdin.read())\nout=[]\nfor x in xs:\n  try: out.append(struct.unpack('<e', struct.pack('<e', x))[0])\n  except (OverflowError, struct.error): out.append('inf' if x>0 else '-inf')\nprint(json.dumps(out))`;
    const r = spawnSync('python3', ['-c', py], { input: JSON.stringify(Array.from(xs)), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const want = JSON.parse(r.stdout) as (number | string)[];
    xs.forEach((x, i) => {
      const w = want[i] === 'inf' ? Infinity : want[i] === '-inf' ? -Infinity : (want[i] as number);
      // JSON carries no sign of zero; compare zeros numerically and check the sign below
      if (w === 0) expect(toFp16(x) === 0, `x=${x}`).toBe(true); else expect(toFp16(x), `x=${x}`).toBe(w);
    });
    expect(Object.is(toFp16(-0), -0)).toBe(true);
  });

  it('fixed point rounds half to even and saturates', () => {
    const a = new Float32Array([0.125, 0.375, -0.125, 1.0, 200, -200, 0.0625]);
    quantizeInPlace(a, parseRealFormat('int8q2')); // step 0.25, range [-32, 31.75]
    expect(Array.from(a)).toEqual([0, 0.5, -0, 1, 31.75, -32, 0]);
    expect(() => parseRealFormat('int8q8')).toThrow(/real-stream format/);
    expect(() => parseRealFormat('int12q4')).toThrow(/hint|real-stream/);
  });

  it('golden run in int16q8 stays close to fp32 and every stored real tensor is on the grid', () => {
    const net = resolveNetwork(birealSmall('t', [16, 32, 32], [1, 1, 1]));
    const m = randomModel(net, 4);
    const x = tensor(28, 28, 1); new Rng(5).fillNormal(x.data);
    const ref = runPlan(lower(m), x).logits;
    const q = runPlan(lower(m, { realFormat: parseRealFormat('int16q8') }), x, { taps: true });
    for (const [, t] of q.taps) if (t.real) for (const v of t.real.data) expect(Number.isInteger(v * 256) && Math.abs(v) <= 128).toBe(true);
    let maxRel = 0;
    for (let i = 0; i < ref.length; i++) maxRel = Math.max(maxRel, Math.abs(ref[i] - q.logits[i]) / (1 + Math.abs(ref[i])));
    expect(maxRel).toBeGreaterThan(0); // the format is really applied
    expect(maxRel).toBeLessThan(0.5);
  });
});
