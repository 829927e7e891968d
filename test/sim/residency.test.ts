/**
 * Inter-layer fusion and residency (src/sim/residency.ts): hand-derived DRAM traffic of a small network with
 * and without fusion, and properties on the built-in ImageNet networks: `none` at batch 1 is the
 * layer-by-layer model, `auto` never moves more DRAM bytes than `none` and is never worse under the
 * objective, no schedule moves less than the network's compulsory traffic, more SRAM never increases DRAM
 * traffic under --objective dram, and resident weights are fetched once per batch.
 */
import { describe, expect, it } from 'vitest';
import { BUILTIN_WORKLOADS } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { shapeOnlyModel } from '../../src/ir/model.ts';
import { lower } from '../../src/golden/plan.ts';
import { loadArch } from '../../src/sim/arch.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { archWith, HUGE_BUFFERS, planOf } from './helpers.ts';

// sign -> 3x3 binary conv 64->64 (+BN, sign) -> 3x3 binary conv 64->64 (+BN) -> global average pool, 8x8 input
const tiny = () => planOf({ h: 8, w: 8, c: 64 }, [
  { id: 'sg', op: 'sign' },
  { id: 'bc1', op: 'bconv', outChannels: 64, kernel: 3, stride: 1, pad: 1, padMode: 'zero', weightScale: 'channel' },
  { id: 'bn1', op: 'bn', eps: 1e-5 },
  { id: 'sg2', op: 'sign' },
  { id: 'bc2', op: 'bconv', outChannels: 64, kernel: 3, stride: 1, pad: 1, padMode: 'zero', weightScale: 'channel' },
  { id: 'bn2', op: 'bn', eps: 1e-5 },
  { id: 'gap', op: 'gap' },
]);

describe('fusion on a small network, hand-derived DRAM bytes', () => {
  // Bytes by hand (fp32 real stream, packed bits in 32-bit words per pixel):
  //   input 8*8*64*4 = 16384; a packed 8x8x64 activation 8*8*(64/32)*4 = 512; a real 8x8x64 tensor 16384;
  //   binary weights 64 out x 9 taps x 8 B = 4608, + folded scale and BN as 32-bit words per output channel
  //   (alpha*gamma/sigma and the shift: 2 words) = 512 -> 5120 per conv; the GAP output 64*4 = 256.
  const arch = archWith('edge', { buffers: HUGE_BUFFERS });
  it('none: every layer reads its operands and writes its result once (buffers never limit)', () => {
    const r = simulate(tiny(), arch, { fusion: 'none' });
    // sign: 16384 in + 512 out; bc1: 512 + 5120 + 512 out; bc2: 512 + 5120 + 16384 out; gap: 16384 + 256
    expect(r.totals!.dramBytes).toBe(16384 + 512 + (512 + 5120 + 512) + (512 + 5120 + 16384) + (16384 + 256));
  });
  it('auto: every intermediate tensor stays on chip; only the input, the weights once and the output move: the network compulsory bytes', () => {
    const r = simulate(tiny(), arch, { fusion: 'auto' });
    expect(r.totals!.dramBytes).toBe(16384 + 2 * 5120 + 256);
    expect(r.totals!.networkCompulsoryDramBytes).toBe(16384 + 2 * 5120 + 256);
    expect(r.residency!.residentTensors.map((t) => t.name).sort()).toEqual(['bn2', 'sg', 'sg2']);
    expect(r.residency!.recomputedRows).toBe(0);
  });
  it('auto with a batch of 4: input and output per frame, the weights once', () => {
    const r = simulate(tiny(), arch, { fusion: 'auto', batch: 4 });
    expect(r.totals!.dramBytes).toBe(4 * 16384 + 2 * 5120 + 4 * 256);
    expect(r.totals!.framesPerSecond).toBeCloseTo((4 * arch.clockHz) / r.totals!.cycles, 6);
  });
  it('a tensor too big for its buffer stays on chip as a band: (R-1)*s + k rows of the consumer window + R rows being written', () => {
    // sign -> 3x3 binary conv on 64x64x32: the packed activation is 64*64*4 B = 16 KiB, the inputs buffer 8 KiB
    const plan = planOf({ h: 64, w: 64, c: 32 }, [
      { id: 'sg', op: 'sign' },
      { id: 'bc', op: 'bconv', outChannels: 32, kernel: 3, stride: 1, pad: 1, padMode: 'zero', weightScale: 'channel' },
      { id: 'gap', op: 'gap' },
    ]);
    const a = archWith('edge', { buffers: { ...HUGE_BUFFERS, inputs: { capacity: '8 KiB', banks: 4, portWidth: '128 bit', doubleBuffered: true } } });
    const r = simulate(plan, a, { fusion: 'auto', objective: 'dram' });
    const sg = r.residency!.residentTensors.find((t) => t.name === 'sg')!;
    expect(sg.mode).toBe('band');
    const chain = r.residency!.chains.find((c) => c.layers.includes('sg') && c.layers.includes('bc'))!;
    const R = chain.rowsPerBand;
    expect(sg.heldBytes).toBe(Math.min(64, (R - 1) * 1 + 3 + R) * 64 * 4);
    // the packed activation neither leaves nor re-enters the chip
    const none = simulate(plan, a, { fusion: 'none', objective: 'dram' });
    expect(none.totals!.dramBytes - r.totals!.dramBytes).toBeGreaterThanOrEqual(2 * 16384);
  });
  it('a reserved buffer the tensors do not fit makes fusion fall back to DRAM (never an infeasible network)', () => {
    const small = archWith('edge', { buffers: { inputs: { capacity: '2 KiB' }, realStream: { capacity: '2 KiB' } } });
    const none = simulate(tiny(), small, { fusion: 'none' });
    const auto = simulate(tiny(), small, { fusion: 'auto' });
    expect(none.feasible).toBe(true);
    expect(auto.feasible).toBe(true);
    expect(auto.totals!.dramBytes).toBeLessThanOrEqual(none.totals!.dramBytes);
  });
});

describe('batch: pointwise layers stack the frames', () => {
  it('an fc layer with a batch of 4 reads its weights once: DRAM(4) = DRAM(1) + 3 x (input 512*4 B + output 1000*4 B)', () => {
    const plan = planOf({ h: 1, w: 1, c: 512 }, [{ id: 'fc', op: 'fc', outFeatures: 1000 }]);
    const arch = archWith('edge', { buffers: HUGE_BUFFERS });
    const d1 = simulate(plan, arch, { batch: 1 }).totals!.dramBytes;
    const r4 = simulate(plan, arch, { batch: 4 });
    expect(r4.totals!.dramBytes).toBe(d1 + 3 * (512 * 4 + 1000 * 4));
    expect(r4.layers[0].residency!.framesStacked).toBe(4);
    // the work is the batch's: 4 x 512 x 1000 MACs
    expect(r4.totals!.realMacs).toBe(4 * 512 * 1000);
  });
});

describe('fusion on the built-in ImageNet networks (properties)', () => {
  const nets = ['bireal18-imagenet', 'xnornet18-imagenet', 'reactnet18-imagenet'] as const;
  const plans = Object.fromEntries(nets.map((n) => [n, lower(shapeOnlyModel(resolveNetwork(BUILTIN_WORKLOADS[n]())))]));
  for (const n of nets) for (const preset of ['edge', 'large']) {
    it(`${n} on ${preset}: compulsory <= auto <= none in DRAM bytes, auto not worse in cycles (batch 1 and 4)`, () => {
      const arch = loadArch(preset);
      for (const batch of [1, 4]) {
        const none = simulate(plans[n], arch, { fusion: 'none', batch }).totals!;
        const auto = simulate(plans[n], arch, { fusion: 'auto', batch }).totals!;
        expect(auto.dramBytes).toBeLessThanOrEqual(none.dramBytes);
        expect(auto.cycles).toBeLessThanOrEqual(none.cycles);
        expect(auto.networkCompulsoryDramBytes).toBe(none.networkCompulsoryDramBytes);
        expect(none.dramBytes).toBeGreaterThanOrEqual(none.networkCompulsoryDramBytes);
        expect(auto.dramBytes).toBeGreaterThanOrEqual(auto.networkCompulsoryDramBytes);
        // the work does not change with fusion; it scales with the batch
        expect(auto.bops).toBe(none.bops);
        expect(auto.bops).toBe(batch * simulate(plans[n], arch).totals!.bops);
      }
    }, 60_000);
  }
  it('more SRAM never increases DRAM traffic under --objective dram with fusion auto (bireal18, edge, capacities x1, x2, x4)', () => {
    let prev = Infinity;
    for (const k of [128, 256, 512]) {
      const cap = `${k} KiB`;
      const arch = archWith('edge', { buffers: { weights: { capacity: cap }, inputs: { capacity: cap }, realStream: { capacity: cap }, outputs: { capacity: `${k / 2} KiB` } } });
      const d = simulate(plans['bireal18-imagenet'], arch, { fusion: 'auto', objective: 'dram' }).totals!.dramBytes;
      expect(d).toBeLessThanOrEqual(prev);
      prev = d;
    }
  }, 60_000);
  it('batch: with resident weights the batch moves fewer weight bytes per frame than batch 1 (bireal18 on large)', () => {
    const arch = loadArch('large');
    const b1 = simulate(plans['bireal18-imagenet'], arch, { fusion: 'none', batch: 1 }).totals!;
    const b8 = simulate(plans['bireal18-imagenet'], arch, { fusion: 'none', batch: 8 });
    expect(b8.totals!.dramBytesPerFrame).toBeLessThan(b1.dramBytes);
    expect(b8.residency!.residentWeights.length).toBeGreaterThan(0);
    // a layer with resident weights: its weight bytes over the batch are its whole weights once
    const l = b8.layers.find((x) => x.residency?.resident.includes('weights+params'))!;
    expect(l.dramBytes!['weights+params']).toBe(l.residency!.preloadBytes);
  }, 60_000);
});
