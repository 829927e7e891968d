/**
 * Functional simulation is bit-exact: every step output and every binary conv's integer accumulators equal
 * the golden model's taps, on random-weight Bi-Real-18 and XNOR-Net-18 at 224x224 and on small networks
 * across all presets (different tilings, K splits, unaligned channel tiles in the byte-word preset).
 */
import { describe, expect, it } from 'vitest';
import { BUILTIN_WORKLOADS } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { randomModel } from '../../src/ir/model.ts';
import { lower } from '../../src/golden/plan.ts';
import { Rng } from '../../src/core/rng.ts';
import { tensor } from '../../src/core/tensor.ts';
import { loadArch, presetNames } from '../../src/sim/arch.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { buildLayers } from '../../src/sim/layers.ts';
import { runFunctional, verifyAgainstGolden } from '../../src/sim/functional.ts';
import { archWith } from './helpers.ts';
import { parseRealFormat } from '../../src/core/realformat.ts';
import { SCHEMA_ID, type Workload } from '../../src/ir/types.ts';

function setup(name: string, seed = 1) {
  const net = resolveNetwork(BUILTIN_WORKLOADS[name]());
  const plan = lower(randomModel(net, seed));
  const x = tensor(net.input.h, net.input.w, net.input.c);
  new Rng(seed + 100).fillNormal(x.data);
  return { plan, x };
}

describe('functional simulation equals the golden model bit for bit', () => {
  for (const name of ['bireal18-imagenet', 'xnornet18-imagenet']) {
    it(`${name} (224x224, random weights) on the edge preset`, () => {
      const { plan, x } = setup(name);
      const r = simulate(plan, loadArch('edge'), { functional: { input: x, verify: true } });
      expect(r.feasible).toBe(true);
      const f = r.functional!;
      expect(f.mismatches).toEqual([]);
      expect(f.verified).toBe(true);
      expect(f.stepsChecked).toBe(plan.steps.length);
      expect(f.accumulatorsChecked).toBe(plan.steps.filter((s) => s.op === 'bconv').length);
      // tiles really are tiles: more tiles than layers, and the buffers never exceed their per-tile capacity
      expect(f.tiles).toBeGreaterThan(r.layers.length);
      const arch = r.arch;
      for (const [b, used] of Object.entries(f.peakBufferBytes)) expect(used).toBeLessThanOrEqual(arch.buffers[b as keyof typeof arch.buffers].tileBytes);
    });
  }

  it('small Bi-Real net on every preset and on small buffers (many tiles)', () => {
    const { plan, x } = setup('bireal-mnist', 5);
    const small = archWith('edge', { buffers: { weights: { capacity: '20 KiB' }, inputs: { capacity: '2 KiB' }, realStream: { capacity: '32 KiB' }, outputs: { capacity: '8 KiB' } } });
    for (const arch of [...presetNames().map(loadArch), small]) {
      const r = simulate(plan, arch, { functional: { input: x, verify: true } });
      expect(r.feasible, `${arch.name}: ${JSON.stringify(r.infeasible)}`).toBe(true);
      expect(r.functional!.mismatches, arch.name).toEqual([]);
    }
  });

  it('K-split tiles (partial sums in the outputs buffer) with both pad modes and strides', () => {
    for (const [padMode, stride] of [['zero', 1], ['one', 2], ['zero', 2], ['one', 1]] as const) {
      const wl: Workload = { schema: SCHEMA_ID, name: 'ksplit', input: { h: 9, w: 7, c: 300 }, layers: [
        { id: 'sg', op: 'sign' },
        { id: 'bc', op: 'bconv', outChannels: 40, kernel: 3, stride, pad: 1, padMode, weightScale: 'channel' },
        { id: 'bn', op: 'bn', eps: 1e-5 },
        { id: 'gap', op: 'gap' },
      ] };
      const net = resolveNetwork(wl);
      const plan = lower(randomModel(net, 11));
      const x = tensor(9, 7, 300);
      new Rng(12).fillNormal(x.data);
      // 300 channels = 10 words: k-tiles of 96 channels (3 words) -> 4 k-tiles, the last one 12 channels
      const r = simulate(plan, loadArch('edge'), { mappings: { bc: { rowsPerTile: 2, channelsPerTile: 16, cinPerTile: 96, order: 'mnk' } }, functional: { input: x, verify: true } });
      expect(r.feasible).toBe(true);
      expect(r.layers.find((l) => l.id === 'bc')!.tiles).toBe(Math.ceil(net.byId.get('bc')!.out.h / 2) * 3 * 4);
      expect(r.functional!.mismatches, `${padMode} stride ${stride}`).toEqual([]);
    }
  });

  it('follows the plan\'s real-stream format (fp16, fixed point) like the golden model', () => {
    const net = resolveNetwork(BUILTIN_WORKLOADS['bireal-mnist']());
    const x = tensor(28, 28, 1);
    new Rng(8).fillNormal(x.data);
    for (const f of ['fp16', 'int16q8']) {
      const plan = lower(randomModel(net, 3), { realFormat: parseRealFormat(f) });
      const r = simulate(plan, archWith('edge', { buffers: { realStream: { precisionBits: 16 } } }), { functional: { input: x, verify: true } });
      expect(r.functional!.mismatches, f).toEqual([]);
    }
  });

  it('a corrupted value is reported with layer, step, tile and coordinate', () => {
    const { plan, x } = setup('bireal-mnist', 6);
    const arch = loadArch('edge');
    const r = simulate(plan, arch);
    const layers = buildLayers(plan);
    const maps = new Map(r.layers.map((l) => [l.id, l.mapping!]));
    const run = runFunctional(plan, layers, maps, arch, x);
    const target = layers.find((l) => l.binary)!;
    const acc = run.accs.get(target.id)!;
    const [H, W, C] = [target.out.h, target.out.w, target.out.c];
    const y = H - 1, xx = 2, c = C - 1;
    acc[(y * W + xx) * C + c] += 2;
    const rep = verifyAgainstGolden(plan, layers, maps, run, x);
    expect(rep.verified).toBe(false);
    const m = rep.mismatches!.find((q) => q.what === 'accumulator')!;
    expect(m.layer).toBe(target.id);
    expect(m.coordinate).toEqual([y, xx, c]);
    const mp = maps.get(target.id)!;
    expect(m.band).toBe(Math.floor(y / mp.rowsPerTile));
    expect(m.channelTile).toBe(Math.floor(c / mp.channelsPerTile));
    // the tile that completes output tile (band, channel tile): its last k-tile, counted in loop order
    const nb = Math.ceil(H / Math.min(mp.rowsPerTile, H)), nn = Math.ceil(C / Math.min(mp.channelsPerTile, C)), nk = Math.ceil(target.cin / Math.min(mp.cinPerTile, target.cin));
    const order = mp.order === 'nmk' ? [m.channelTile, m.band, nb] : [m.band, m.channelTile, nn];
    expect(m.tile).toBe((order[0] * order[2] + order[1]) * nk + nk - 1);
  });
});
