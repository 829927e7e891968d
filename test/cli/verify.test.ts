/** verify: passes on a faithful export, and finds an injected single-bit weight corruption and names its layer. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { birealSmall } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { randomModel, saveModel } from '../../src/ir/model.ts';
import { toDeployable } from '../../src/ir/deploy.ts';
import { buildReport } from '../../src/report/build.ts';

let dir = '';
async function cli(args: string[]) {
  let out = '', err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  try { return { code: await main(args), out, err }; } finally { o.mockRestore(); e.mockRestore(); }
}

describe('birealsim verify', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'verify-'));
    const latent = randomModel(resolveNetwork(birealSmall('v', [16, 32, 64], [1, 2, 1])), 21);
    saveModel(join(dir, 'latent.safetensors'), latent);
    const dep = toDeployable(latent);
    saveModel(join(dir, 'good.safetensors'), dep);
    // one flipped bit: layer s2.b1.conv, output channel 7, tap 4, input channel 20
    const params = new Map(dep.params);
    const bits = new Uint32Array(params.get('s2.b1.conv.weight_bits') as Uint32Array);
    bits[(7 * 9 + 4) * 1 + 0] ^= 1 << 20;
    params.set('s2.b1.conv.weight_bits', bits);
    saveModel(join(dir, 'bad.safetensors'), { ...dep, params });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a faithful export is bit-exact on every path and passes', async () => {
    const r = await cli(['verify', join(dir, 'good.safetensors'), '--images', '3', '--reference', join(dir, 'latent.safetensors'), '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.pass).toBe(true);
    expect(j.simulator.bitExactImages).toBe(3);
    expect(j.reference.bitExactImages).toBe(3);
    expect(j.trainer.signBitAgreement).toBeGreaterThan(0.99);
    // the sign bits compared: every element of every sign layer's output, for each of the 3 images
    const net = resolveNetwork(birealSmall('v', [16, 32, 64], [1, 2, 1]));
    const perImage = net.layers.filter((l) => l.layer.op === 'sign').reduce((s, l) => s + l.out.h * l.out.w * l.out.c, 0);
    expect(j.trainer.signBits).toBe(3 * perImage);
    expect(j.trainer.signBitsDiffering).toBe(Math.round(j.trainer.signBits * (1 - j.trainer.signBitAgreement)));
    // the report layer reads this output as a verify section
    const rep = buildReport([{ name: 'v.json', sha256: 'x', text: r.out }], { title: 't', toolVersion: '0' });
    expect(rep.verify![0].match).toBe(true);
    expect(JSON.stringify(rep.verify![0])).toMatch(/3\/3/);
    expect(JSON.stringify(rep.verify![0])).toContain(`(${j.trainer.signBitsDiffering} of ${j.trainer.signBits} differ)`);
  });

  it('a single corrupted weight bit fails verification and is located at its layer and channel', async () => {
    const r = await cli(['verify', join(dir, 'bad.safetensors'), '--images', '3', '--reference', join(dir, 'latent.safetensors')]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/first divergence at step 's2\.b1\.conv'.*integer accumulator.*channel=7/);
    expect(r.out).toMatch(/FAIL/);
    const j = await cli(['verify', join(dir, 'bad.safetensors'), '--images', '1', '--no-sim', '--reference', join(dir, 'latent.safetensors'), '--json']);
    const rep = buildReport([{ name: 'v.json', sha256: 'x', text: j.out }], { title: 't', toolVersion: '0' });
    expect(rep.verify![0].match).toBe(false);
    expect(rep.verify![0].firstDivergence!.layer).toMatch(/s2\.b1\.conv/);
  });
});
