/**
 * Property tests over >= 1000 seeded random (layer, arch) pairs: the invariants and monotonicity checks of
 * shared/reference/accelerator-model.md §5. Layers come from small random workloads lowered to an ExecPlan
 * (so they are the simulator's real input); archs are random variants of the presets (occupied skew).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import type { Layer } from '../../src/ir/types.ts';
import { mergeSpec, presetSpec, resolveArch, BUFFER_NAMES, type ResolvedArch } from '../../src/sim/arch.ts';
import { candidateMappings, compulsoryDramBytes, dramBytesOf, evaluate, feasibility, layerContext, mapLayer, type LayerEval } from '../../src/sim/mapper.ts';
import { buildLayers, type SimLayer } from '../../src/sim/layers.ts';
import { countStep } from '../../src/cost/count.ts';
import { CONVENTIONS } from '../../src/cost/conventions.ts';
import { planOf } from './helpers.ts';

const pick = <T,>(rng: Rng, a: readonly T[]): T => a[rng.int(a.length)];

function randomLayer(rng: Rng): SimLayer {
  for (;;) {
    const h = 3 + rng.int(18), w = 3 + rng.int(18);
    const cin = pick(rng, [3, 16, 32, 48, 64, 96, 128, 200]);
    const k = pick(rng, [1, 3, 5]), s = 1 + rng.int(2), p = rng.int(k);
    if (h + 2 * p < k || w + 2 * p < k) continue;
    const cout = 1 + rng.int(96);
    const type = rng.int(5);
    let layers: Layer[];
    let id: string;
    if (type === 0) {
      id = 'bc';
      layers = [{ id: 'sg', op: 'sign' }, { id: 'bc', op: 'bconv', outChannels: cout, kernel: k, stride: s, pad: p, padMode: rng.int(2) ? 'zero' : 'one', weightScale: 'channel' }, { id: 'bn', op: 'bn', eps: 1e-5 }];
      if (rng.int(2)) layers.push({ id: 'sg2', op: 'sign' }, { id: 'bc2', op: 'bconv', outChannels: 8, kernel: 1, stride: 1, pad: 0, padMode: 'zero', weightScale: 'channel' });
      layers.push({ id: 'gap', op: 'gap' });
    } else if (type === 1) {
      id = 'cv';
      layers = [{ id: 'cv', op: 'conv', outChannels: cout, kernel: k, stride: s, pad: p, bias: rng.int(2) === 1 }, { id: 'bn', op: 'bn', eps: 1e-5 }, { id: 'r', op: 'relu' }, { id: 'gap', op: 'gap' }];
    } else if (type === 2) {
      id = 'pl';
      layers = [{ id: 'pl', op: rng.int(2) ? 'avgpool' : 'maxpool', kernel: k, stride: s, pad: p }, { id: 'gap', op: 'gap' }];
    } else if (type === 3) {
      id = 'fc';
      layers = [{ id: 'fc', op: 'fc', outFeatures: 1 + rng.int(300), bias: true }];
    } else {
      id = 'bc';
      layers = [{ id: 'sg', op: 'sign' }, { id: 'bc', op: 'bconv', outChannels: cout, kernel: k, stride: s, pad: p, padMode: 'zero', weightScale: 'channel' },
        { id: 'ks', op: 'actscale', inputs: ['bc', 'input'], kernel: k, stride: s, pad: p }, { id: 'bn', op: 'bn', eps: 1e-5 }, { id: 'gap', op: 'gap' }];
    }
    const plan = planOf({ h, w, c: cin }, layers);
    const l = buildLayers(plan).find((x) => x.id === id)!;
    return l;
  }
}

const q = (n: number, u: string) => `${n} ${u}`;
function randomSpec(rng: Rng): Record<string, unknown> {
  const base = pick(rng, ['edge', 'large', 'baseline-mac']);
  const buffer = () => ({ capacity: q(1 + rng.int(512), 'KiB'), banks: 1 + rng.int(8), portWidth: q(pick(rng, [32, 64, 128, 256, 512]), 'bit'), doubleBuffered: rng.int(3) > 0 });
  const pe: Record<string, unknown> = { rows: 1 + rng.int(40), cols: 1 + rng.int(40), dataflow: pick(rng, ['os', 'ws', 'is']), skew: 'occupied' };
  if (base !== 'baseline-mac') { pe.laneBits = pick(rng, [8, 16, 32, 64, 128, 256]); pe.accumulatorBits = 16 + rng.int(9); }
  const patch: Record<string, unknown> = {
    dram: { bandwidth: q(0.5 + rng.int(200), 'GB/s'), latency: q(rng.int(200), 'ns') },
    buffers: { weights: buffer(), inputs: buffer(), realStream: buffer(), outputs: buffer() },
    peArray: pe,
    postProcessing: { lanes: 1 + rng.int(64) },
    pooling: { lanes: 1 + rng.int(64) },
  };
  if (base !== 'baseline-mac') patch.realUnit = { macsPerCycle: 1 + rng.int(256) };
  return mergeSpec(presetSpec(base), patch) as Record<string, unknown>;
}

const resolve = (spec: unknown) => resolveArch(spec, 'random');

function checkInvariants(l: SimLayer, arch: ResolvedArch, ev: LayerEval): void {
  const c = ev.cycles;
  expect(c.sramStall).toBeGreaterThanOrEqual(0);
  expect(c.dramStall).toBeGreaterThanOrEqual(0);
  expect(c.total).toBeCloseTo(c.compute + c.postOp + c.sramStall + c.dramStall + c.fillDrain, 6);
  const util = ev.unitOps / (c.total * ev.unitPeakOpsPerCycle);
  expect(util).toBeGreaterThanOrEqual(0);
  expect(util).toBeLessThanOrEqual(1);
  if (ev.peFolds) { const me = ev.usedPeFolds / ev.peFolds; expect(me).toBeGreaterThan(0); expect(me).toBeLessThanOrEqual(1); }
  const ctx = layerContext(l, arch);
  const dram = ev.counts.dramReadBytes + ev.counts.dramWriteBytes;
  expect(dram).toBeGreaterThanOrEqual(compulsoryDramBytes(ctx) - 1e-6);
  expect(dramBytesOf(ctx, ev.mapping)).toBeCloseTo(dram, 6);
  // rooflines: ideal compute, DRAM bytes / bandwidth, each buffer's bytes / its bandwidth
  expect(c.total).toBeGreaterThanOrEqual(ev.unitOps / ev.unitPeakOpsPerCycle - 1e-6);
  expect(c.total).toBeGreaterThanOrEqual(dram / arch.dram.bytesPerCycle - 1e-6);
  for (const b of BUFFER_NAMES) expect(c.total).toBeGreaterThanOrEqual((ev.counts.sram[b].readBytes + ev.counts.sram[b].writeBytes) / arch.buffers[b].bandwidthBytesPerCycle - 1e-6);
  // operation counts equal the cost model's
  const cost = countStep(l.anchor, CONVENTIONS.paper);
  expect(l.bops).toBe(cost.bops);
  if (l.anchor.op === 'conv' || l.anchor.op === 'fc') expect(l.macs).toBe(cost.realMacs);
  if (l.binary) expect(ev.unitOps).toBe(cost.bops);
}

type Variant = { name: string; patch: (s: Record<string, unknown>, a: ResolvedArch) => unknown; objective: 'cycles' | 'dram'; applies: (l: SimLayer, a: ResolvedArch) => boolean };
const VARIANTS: Variant[] = [
  { name: 'more SRAM -> DRAM bytes', objective: 'dram', applies: () => true, patch: (s) => scaleBuffers(s, 'capacity', 'KiB', 2) },
  { name: 'more SRAM -> cycles', objective: 'cycles', applies: () => true, patch: (s) => scaleBuffers(s, 'capacity', 'KiB', 4) },
  { name: 'more DRAM bandwidth', objective: 'cycles', applies: () => true, patch: (s, a) => mergeSpec(s, { dram: { bandwidth: q((a.dram.bandwidthBytesPerSecond / 1e9) * 3, 'GB/s') } }) },
  { name: 'lower DRAM latency', objective: 'cycles', applies: () => true, patch: (s, a) => mergeSpec(s, { dram: { latency: q(Math.floor((a.dram.latencySeconds * 1e9) / 2), 'ns') } }) },
  { name: 'more PE rows', objective: 'cycles', applies: () => true, patch: (s, a) => mergeSpec(s, { peArray: { rows: a.peArray.rows + 1 + (a.peArray.rows % 7) } }) },
  { name: 'more PE cols', objective: 'cycles', applies: () => true, patch: (s, a) => mergeSpec(s, { peArray: { cols: a.peArray.cols * 2 } }) },
  { name: 'wider lanes', objective: 'cycles', applies: (_l, a) => a.peArray.type === 'xnor', patch: (s, a) => mergeSpec(s, { peArray: { laneBits: a.peArray.laneBits * 2 } }) },
  { name: 'wider SRAM ports', objective: 'cycles', applies: () => true, patch: (s) => scaleBuffers(s, 'portWidth', 'bit', 2) },
];
function scaleBuffers(s: Record<string, unknown>, key: string, unit: string, f: number): unknown {
  const b = s.buffers as Record<string, Record<string, string>>;
  const out: Record<string, unknown> = {};
  for (const [n, v] of Object.entries(b)) out[n] = { ...v, [key]: q(parseFloat(v[key]) * f * (v[key].includes('MiB') ? 1024 : 1), v[key].includes('MiB') ? 'KiB' : unit) };
  return mergeSpec(s, { buffers: out });
}

describe('simulator properties over random layer/arch pairs', () => {
  it('invariants, rooflines, cost-model MACs and monotonicity hold on 1000 pairs', () => {
    const rng = new Rng(2024);
    let feasibleCount = 0, infeasibleCount = 0, monotoneChecks = 0;
    for (let i = 0; i < 1000; i++) {
      const l = randomLayer(rng);
      const spec = randomSpec(rng);
      const arch = resolve(spec);
      const ctx = layerContext(l, arch);
      const r = mapLayer(ctx, 'cycles');
      if (!r.feasible) {
        infeasibleCount++;
        expect(r.reason).toMatch(/buffer needs|accumulator/);
        continue;
      }
      feasibleCount++;
      checkInvariants(l, arch, r.best);
      const v = VARIANTS[i % VARIANTS.length];
      if (!v.applies(l, arch)) continue;
      const arch2 = resolve(v.patch(spec, arch));
      const a = v.objective === 'cycles' ? r : mapLayer(ctx, 'dram');
      const b = mapLayer(layerContext(l, arch2), v.objective);
      expect(b.feasible, `${v.name}: still feasible`).toBe(true);
      if (!a.feasible || !b.feasible) continue;
      monotoneChecks++;
      if (v.objective === 'cycles') expect(b.best.cycles.total, `${v.name} (case ${i})`).toBeLessThanOrEqual(a.best.cycles.total + 1e-9);
      else expect(b.best.counts.dramReadBytes + b.best.counts.dramWriteBytes, `${v.name} (case ${i})`).toBeLessThanOrEqual(a.best.counts.dramReadBytes + a.best.counts.dramWriteBytes + 1e-9);
    }
    expect(feasibleCount).toBeGreaterThan(600);
    expect(infeasibleCount).toBeGreaterThan(0);
    expect(monotoneChecks).toBeGreaterThan(500);
  });

  it('the pruned search finds the exhaustive optimum', () => {
    const rng = new Rng(99);
    for (let i = 0; i < 120; i++) {
      const l = randomLayer(rng);
      const arch = resolve(randomSpec(rng));
      const ctx = layerContext(l, arch);
      const r = mapLayer(ctx, 'cycles');
      let best = Infinity;
      for (const m of candidateMappings(ctx)) if (feasibility(ctx, m).ok) best = Math.min(best, evaluate(ctx, m).cycles.total);
      if (r.feasible) expect(r.best.cycles.total).toBe(best);
      else expect(best).toBe(Infinity);
    }
  });
});
