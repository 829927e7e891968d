/**
 * The dataflow family (sim/dataflow.ts, sim/dataflow-arch.ts): FINN's analytic cycle estimates on hand-derived
 * cases (arithmetic written out), II = slowest engine, the folding search against a brute-force oracle,
 * folding validation as located user errors, the shortcut FIFO depth, the family dispatch in arch.ts, and the
 * two Bi-Real workloads end to end (through the CLI too).
 */
import { describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { BUILTIN_WORKLOADS } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { shapeOnlyModel } from '../../src/ir/model.ts';
import { lower, type ExecPlan } from '../../src/golden/plan.ts';
import { loadArch, mergeSpec, presetNames, presetSpec, resolveArch } from '../../src/sim/arch.ts';
import { loadAnyArch, resolveDataflowArch, type ResolvedDataflowArch } from '../../src/sim/dataflow-arch.ts';
import { divisors, mvauCycles, simulateDataflow, swgBufferWords, swgCycles, type DataflowStage } from '../../src/sim/dataflow.ts';
import { buildLayers } from '../../src/sim/layers.ts';
import { UserError } from '../../src/core/diagnostics.ts';
import { main } from '../../src/cli/main.ts';
import { planOf } from './helpers.ts';

const base = presetSpec('dataflow-bnn');
const archOf = (patch: unknown = {}): ResolvedDataflowArch => resolveDataflowArch(mergeSpec(base, patch), 'df.json');
/** the preset without a target: only explicit folding, FINN defaults elsewhere */
const noTarget = (patch: unknown = {}) => {
  const { targetFps: _t, ...rest } = base;
  return resolveDataflowArch(mergeSpec(rest, patch), 'df.json');
};
const workload = (n: string): ExecPlan => lower(shapeOnlyModel(resolveNetwork(BUILTIN_WORKLOADS[n]())));
const stage = (r: { stages: DataflowStage[] }, id: string) => r.stages.find((s) => s.id === id)!;
const engine = (s: DataflowStage, name: string) => s.engines.find((e) => e.name === name)!.cycles;

/** sign -> 3x3 bconv 64 -> 64 on 14x14, pad 1, stride 1 */
const conv14 = () => planOf({ h: 14, w: 14, c: 64 }, [
  { id: 'sign', op: 'sign' },
  { id: 'conv', op: 'bconv', outChannels: 64, kernel: 3, stride: 1, pad: 1 },
]);

describe('FINN cycle formulas, hand-derived', () => {
  it('MVAU: 3x3 conv 64->64 on 14x14, PE 16, SIMD 32 -> (64/16)*(576/32)*196 = 4*18*196 = 14112 cycles', () => {
    expect(mvauCycles(64, 3 * 3 * 64, 16, 32, 14 * 14)).toBe(14112);
    const r = simulateDataflow(conv14(), noTarget({ folding: { conv: { pe: 16, simd: 32, swgSimd: 32 } } }));
    const s = stage(r, 'conv');
    expect(s.matrix).toEqual({ mh: 64, mw: 576, inputVectors: 196 });
    expect(engine(s, 'mvau')).toBe(14112);
    expect(s.lanes).toBe(16 * 32);
    expect(s.folding.chosenBy).toEqual({ pe: 'explicit', simd: 'explicit', swgSimd: 'explicit', parallelWindow: 'default' });
  });

  it('SWG (RTL default): the same conv, SWG SIMD 32: padded 16x16 input, cf = 64/32 = 2', () => {
    // buffer_min_size = ((3-1)*16 + (3-1) + 1) * 2 = 35*2 = 70
    // per output row: max(14*3*3*2 = 252 (write), 1*16*2 = 32 (read)) = 252; 14 rows -> 3528; total 70 + 3528 = 3598
    const g = { ifmH: 16, ifmW: 16, ofmH: 14, ofmW: 14, kh: 3, kw: 3, strideH: 1, strideW: 1, channels: 64, depthwise: false };
    expect(swgCycles(g, 32, false)).toBe(3598);
    // buffer depth = 70 + max(0, (0 - 9)*2) + max(0, (0*16 - 9)*2) = 70 words of 32 bits
    expect(swgBufferWords(g, 32, false)).toBe(70);
    const s = stage(simulateDataflow(conv14(), noTarget({ folding: { conv: { pe: 16, simd: 32, swgSimd: 32 } } })), 'conv');
    expect(engine(s, 'swg')).toBe(3598);
    expect(s.memory.swgBufferBits).toBe(70 * 32 * 1);
    // FMPadding: (64/32) * 16 * 16 = 512
    expect(engine(s, 'fmpadding')).toBe(512);
    // the layer's cycles per frame: its slowest engine, the MVAU
    expect(s.cyclesPerFrame).toBe(14112);
  });

  it('SWG (RTL default), stride 2: 3x3 on 56x56 (padded 58), 64 channels, SIMD 64 (cf 1)', () => {
    // buffer_min_size = (2*58 + 2 + 1) = 119; per row max(28*9 = 252, 2*58 = 116) = 252; 119 + 28*252 = 7175
    const g = { ifmH: 58, ifmW: 58, ofmH: 28, ofmW: 28, kh: 3, kw: 3, strideH: 2, strideW: 2, channels: 64, depthwise: false };
    expect(swgCycles(g, 64, false)).toBe(7175);
    // depth 119 + max(0, (1-9)*1) + max(0, (1*58 - 9)*1) = 119 + 49 = 168
    expect(swgBufferWords(g, 64, false)).toBe(168);
    // parallel window: input values + 2 = 58*58*1 + 2 = 3366; buffer ((2*58 + 2)*1 + 1) + 1 = 120
    expect(swgCycles(g, 64, true)).toBe(3366);
    expect(swgBufferWords(g, 64, true)).toBe(120);
  });

  it('SWG with a 1x1 kernel (stride 2) is FINN\'s parallel style: input values + 2', () => {
    // 1x1 stride 2 on 14x14x64, SIMD 16: 14*14*(64/16) + 2 = 786 (rtl select_impl_style: k = 1 -> "parallel")
    const g = { ifmH: 14, ifmW: 14, ofmH: 7, ofmW: 7, kh: 1, kw: 1, strideH: 2, strideW: 2, channels: 64, depthwise: false };
    expect(swgCycles(g, 16, false)).toBe(786);
  });

  it('depthwise SWG + Pool: 2x2 stride-2 average pool of Bi-Real-18 s2.b0 (56x56x64), PE 2', () => {
    // cf = 64/2 = 32; buffer_min_size = (1*56 + 1 + 1)*32 = 1856; write 28*4*32 = 3584, read 2*56*32 = 3584;
    // depthwise: max += 28*(2-1)*(32-1) = 868 -> 4452; 1856 + 28*4452 = 126512; + (2-1)*56*32 = 1792 -> 128304
    const g = { ifmH: 56, ifmW: 56, ofmH: 28, ofmW: 28, kh: 2, kw: 2, strideH: 2, strideW: 2, channels: 64, depthwise: true };
    expect(swgCycles(g, 2, false)).toBe(128304);
    const plan = workload('bireal18-imagenet');
    const s = stage(simulateDataflow(plan, noTarget({ folding: { 's2.b0.down.pool': { pe: 2 } } })), 's2.b0.down.pool');
    expect(s.kind).toBe('pool');
    expect(engine(s, 'swg')).toBe(128304);
    // Pool: (64 * 2*2 / 2) * 28*28 = 128 * 784 = 100352
    expect(engine(s, 'pool')).toBe(100352);
  });

  it('folding constraints: MH % PE and MW % SIMD (internal misuse throws)', () => {
    expect(() => mvauCycles(64, 576, 3, 32, 1)).toThrow(/PE 3 must divide MH 64/);
    expect(() => mvauCycles(64, 576, 16, 7, 1)).toThrow(/SIMD 7 must divide MW 576/);
  });
});

describe('network totals', () => {
  it('II = the slowest engine (and DRAM transfers); frames/s = clock / II', () => {
    const r = simulateDataflow(workload('bireal-mnist'), noTarget({ folding: { 's1.b0.conv': { pe: 2, simd: 8 } } }));
    const all = [r.dram.inputCycles, r.dram.outputCycles, ...r.stages.flatMap((s) => s.engines.map((e) => e.cycles))];
    expect(r.totals.initiationIntervalCycles).toBe(Math.max(...all));
    for (const s of r.stages) expect(s.cyclesPerFrame).toBe(Math.max(...s.engines.map((e) => e.cycles)));
    expect(r.totals.framesPerSecond).toBeCloseTo(200e6 / r.totals.initiationIntervalCycles, 6);
    const slowest = r.stages.reduce((a, s) => (s.cyclesPerFrame > a.cyclesPerFrame ? s : a));
    expect(r.totals.bottleneck).toBe(slowest.id);
    expect(slowest.busyFraction).toBe(1);
    // the FINN critical path is at least every stage's own cycles, and grows along the chain
    expect(r.totals.latencyCycles).toBeGreaterThan(r.stages.reduce((a, s) => Math.max(a, s.latencyAtOutputCycles), 0));
    // overlapped (balanced-pipeline) latency: at least one II, at most FINN's no-overlap critical path
    expect(r.totals.overlappedLatencyCycles).toBeGreaterThanOrEqual(r.totals.initiationIntervalCycles);
    expect(r.totals.overlappedLatencyCycles).toBeLessThan(r.totals.latencyCycles);
  });

  it('shortcut FIFO: 3x3 stride-1 conv whose input and shortcut come from the same engine needs W + 2 pixels', () => {
    for (const w of [8, 14]) {
      const plan = planOf({ h: w, w, c: 32 }, [
        { id: 'bn0', op: 'bn', eps: 1e-5 },
        { id: 'sign', op: 'sign', in: 'bn0' },
        { id: 'conv', op: 'bconv', outChannels: 32, kernel: 3, stride: 1, pad: 1 },
        { id: 'bn', op: 'bn', eps: 1e-5 },
        { id: 'add', op: 'add', inputs: ['bn', 'bn0'] },
      ]);
      const s = stage(simulateDataflow(plan, noTarget()), 'conv');
      expect(s.memory.shortcutFifos).toEqual([{ tensor: 'bn0', depthPixels: w + 2, bits: (w + 2) * 32 * 16 }]);
    }
  });
});

describe('folding search', () => {
  // a small net with three MVAUs (stem real conv, two binary convs), a max pool and a global pool
  const small = () => planOf({ h: 8, w: 8, c: 4 }, [
    { id: 'stem', op: 'conv', outChannels: 16, kernel: 3, stride: 1, pad: 1, bias: false },
    { id: 'pool', op: 'maxpool', kernel: 3, stride: 1, pad: 1 },
    { id: 'sign1', op: 'sign' },
    { id: 'c1', op: 'bconv', outChannels: 32, kernel: 3, stride: 1, pad: 1 },
    { id: 'sign2', op: 'sign' },
    { id: 'c2', op: 'bconv', outChannels: 16, kernel: 3, stride: 2, pad: 1 },
    { id: 'gap', op: 'gap' },
  ]);
  const clock = 200e6;

  for (const fps of [20000, 60000, 150000]) {
    it(`meets ${fps} frames/s with the fewest total lanes (brute-force oracle) and no single-step cheaper folding`, () => {
      const plan = small();
      const r = simulateDataflow(plan, archOf(), { targetFps: fps });
      expect(r.feasible).toBe(true);
      const T = clock / fps;
      expect(r.totals.initiationIntervalCycles).toBeLessThanOrEqual(T);
      expect(r.totals.framesPerSecond).toBeGreaterThanOrEqual(fps);
      // oracle: every (PE, SIMD) of every MVAU, all combinations; II bound on each MVAU by FINN's formula
      const mv = r.stages.filter((s) => s.matrix);
      expect(mv.map((s) => s.id)).toEqual(['stem', 'c1', 'c2']);
      const options = mv.map((s) => {
        const { mh, mw, inputVectors: v } = s.matrix!;
        const o: { lanes: number }[] = [];
        for (let pe = 1; pe <= mh; pe++) for (let simd = 1; simd <= mw; simd++) {
          if (mh % pe || mw % simd) continue;
          if ((mh / pe) * (mw / simd) * v <= T) o.push({ lanes: pe * simd });
        }
        return o;
      });
      let best = Infinity;
      for (const a of options[0]) for (const b of options[1]) for (const c of options[2]) best = Math.min(best, a.lanes + b.lanes + c.lanes);
      expect(r.totals.totalLanes).toBe(best);
      // single step: the next smaller divisor of PE or of SIMD misses the target
      for (const s of mv) {
        const { mh, mw, inputVectors: v } = s.matrix!;
        const { pe, simd } = s.folding;
        const prev = (n: number, x: number) => divisors(n).filter((d) => d < x).pop();
        const pp = prev(mh, pe), ps = prev(mw, simd);
        if (pp !== undefined) expect((mh / pp) * (mw / simd) * v, `${s.id} PE ${pp}`).toBeGreaterThan(T);
        if (ps !== undefined) expect((mh / pe) * (mw / ps) * v, `${s.id} SIMD ${ps}`).toBeGreaterThan(T);
      }
      // every other engine meets the target too
      for (const s of r.stages) for (const e of s.engines) expect(e.cycles, `${s.id} ${e.name}`).toBeLessThanOrEqual(T);
      // SWG SIMD and pool PE are the smallest divisors meeting the target: the next smaller one misses it
      // (SWG: FINN RTL default formula with FMPadding in front; pool: depthwise SWG with SIMD = PE, then Pool)
      for (const s of mv) {
        const sw = s.folding.swgSimd;
        if (sw === null || s.folding.parallelWindow) continue;
        const cin = s.inShape[2], w = s.inShape[1] + 2, ow = s.outShape[1];
        const smaller = divisors(cin).filter((d) => d < sw).pop();
        if (smaller === undefined) continue;
        const cf = cin / smaller;
        const swg = (2 * w + 3) * cf + s.outShape[0] * Math.max(ow * 9 * cf, s.window.stride * w * cf);
        expect(Math.max(swg, cf * w * w), `${s.id} SWG SIMD ${smaller}`).toBeGreaterThan(T);
      }
      const pool = stage(r, 'pool');
      const pe = pool.folding.pe, smallerPe = divisors(16).filter((d) => d < pe).pop();
      if (smallerPe !== undefined) {
        const g = { ifmH: 10, ifmW: 10, ofmH: 8, ofmW: 8, kh: 3, kw: 3, strideH: 1, strideW: 1, channels: 16, depthwise: true };
        // pool: (16*9/PE)*64; its SWG; FMPadding (16/PE)*10*10
        const slowest = Math.max((16 * 9 / smallerPe) * 64, swgCycles(g, smallerPe, false), (16 / smallerPe) * 100);
        expect(slowest, `pool PE ${smallerPe}`).toBeGreaterThan(T);
      }
    });
  }

  it('monotone: a higher target never needs fewer lanes, and every reachable target is met', () => {
    const plan = workload('bireal-mnist');
    let lanes = 0;
    for (const fps of [100, 300, 1000, 3000, 10000, 30000]) {
      const r = simulateDataflow(plan, archOf(), { targetFps: fps });
      expect(r.feasible, `${fps}`).toBe(true);
      expect(r.totals.framesPerSecond).toBeGreaterThanOrEqual(fps);
      expect(r.totals.totalLanes).toBeGreaterThanOrEqual(lanes);
      lanes = r.totals.totalLanes;
    }
  });

  it('an unreachable target is a reason value, not an exception', () => {
    const r = simulateDataflow(small(), archOf(), { targetFps: 1e7 });
    expect(r.feasible).toBe(false);
    expect(r.infeasible.map((x) => x.layer)).toContain('c1');
    const c1 = stage(r, 'c1');
    expect(c1.feasible).toBe(false);
    // fully unfolded (PE = MH = 32, SIMD = MW = 9*16 = 144) it still needs one cycle per output pixel: 8*8 = 64 > 200e6/1e7 = 20
    expect(c1.reason).toMatch(/needs 64 cycles per frame even at PE 32, SIMD 144 .*> 20/);
  });

  it('explicit folding is kept; the rest is searched', () => {
    const r = simulateDataflow(small(), archOf({ folding: { c1: { pe: 2 } } }), { targetFps: 20000 });
    const c1 = stage(r, 'c1');
    expect(c1.folding.pe).toBe(2);
    expect(c1.folding.chosenBy.pe).toBe('explicit');
    expect(c1.folding.chosenBy.simd).toBe('search');
    expect(engine(c1, 'mvau')).toBeLessThanOrEqual(10000);
  });
});

describe('arch validation and family dispatch', () => {
  const err = (f: () => unknown): UserError => {
    try { f(); } catch (e) { if (e instanceof UserError) return e; throw e; }
    throw new Error('expected a UserError');
  };
  it('PE not dividing MH -> E_ARCH at $.folding["conv"].pe naming the file', () => {
    const e = err(() => simulateDataflow(conv14(), noTarget({ folding: { conv: { pe: 3 } } })));
    expect(e.code).toBe('E_ARCH');
    expect(e.file).toBe('df.json');
    expect(e.jsonPath).toBe('$.folding["conv"].pe');
    expect(e.message).toMatch(/PE 3 does not divide MH = 64/);
  });
  it('SIMD not dividing MW, SWG SIMD not dividing the channels, unknown layer and keys', () => {
    expect(err(() => simulateDataflow(conv14(), noTarget({ folding: { conv: { simd: 7 } } }))).jsonPath).toBe('$.folding["conv"].simd');
    expect(err(() => simulateDataflow(conv14(), noTarget({ folding: { conv: { swgSimd: 5 } } }))).jsonPath).toBe('$.folding["conv"].swgSimd');
    const u = err(() => simulateDataflow(conv14(), noTarget({ folding: { conb: { pe: 1 } } })));
    expect(u.jsonPath).toBe('$.folding["conb"]');
    expect(u.hint).toMatch(/did you mean 'conv'/);
    const k = err(() => archOf({ folding: { conv: { smid: 4 } } }));
    expect(k.jsonPath).toBe('$.folding["conv"].smid');
    expect(k.hint).toMatch(/did you mean 'simd'/);
    expect(err(() => archOf({ clok: '1 GHz' })).hint).toMatch(/did you mean 'clock'/);
    expect(err(() => archOf({ realStreamBits: 12 })).jsonPath).toBe('$.realStreamBits');
    expect(err(() => archOf({ targetFps: -1 })).jsonPath).toBe('$.targetFps');
  });
  it('layer-sequential archs resolve exactly as before; arch.ts refuses a dataflow arch at $.family', () => {
    const edge = presetSpec('edge');
    expect(resolveArch({ ...edge, family: 'layer-sequential' })).toEqual(resolveArch(edge));
    expect(err(() => resolveArch(base, 'df.json')).jsonPath).toBe('$.family');
    expect(err(() => resolveArch({ ...edge, family: 'dataflw' })).hint).toMatch(/did you mean 'dataflow'/);
    expect(err(() => loadArch('dataflow-bnn')).jsonPath).toBe('$.family');
    expect(presetNames()).not.toContain('dataflow-bnn');
    expect(presetNames('dataflow')).toEqual(['dataflow-bnn']);
    expect(loadAnyArch('dataflow-bnn').family).toBe('dataflow');
    expect(loadAnyArch('edge').family).toBe('layer-sequential');
  });
});

describe('extends', () => {
  it('a file extending dataflow-bnn is a dataflow arch; its folding errors name that file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'df-ext-'));
    const f = join(dir, 'mine.json');
    writeFileSync(f, JSON.stringify({ extends: 'dataflow-bnn', clock: '100 MHz', folding: { 's1.b0.conv': { simd: 7 } } }));
    const a = loadAnyArch(f);
    expect(a.family).toBe('dataflow');
    const arch = a.arch as ResolvedDataflowArch;
    expect(arch.clockHz).toBe(100e6);
    expect(arch.name).toBe('dataflow-bnn+mine');
    let e: unknown;
    try { simulateDataflow(workload('bireal-mnist'), arch); } catch (x) { e = x; }
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).file).toBe(f);
    expect((e as UserError).jsonPath).toBe('$.folding["s1.b0.conv"].simd');
    expect((e as UserError).message).toMatch(/SIMD 7 does not divide MW = 288/);
  });
});

describe('Bi-Real workloads end to end', () => {
  for (const [name, fps] of [['bireal-mnist', 1000], ['bireal18-imagenet', 1000]] as const) {
    it(`${name} on dataflow-bnn meets ${fps} frames/s`, () => {
      const plan = workload(name);
      const r = simulateDataflow(plan, loadAnyArch('dataflow-bnn').arch as ResolvedDataflowArch);
      expect(r.feasible).toBe(true);
      expect(r.stages.map((s) => s.id)).toEqual(buildLayers(plan).map((l) => l.id));
      expect(r.totals.framesPerSecond).toBeGreaterThanOrEqual(fps);
      // counts are the cost model's; the MVAU matrices account for exactly those BOPs / MACs
      const layers = buildLayers(plan);
      expect(r.totals.bops).toBe(layers.reduce((a, l) => a + l.countTotals.bops, 0));
      for (const s of r.stages) if (s.kind === 'xnor-mvau') expect(s.matrix!.mh * s.matrix!.mw * s.matrix!.inputVectors).toBe(s.bops);
      // DRAM: the input and output frames only (16-bit real values)
      expect(r.totals.dramBytesPerFrame).toBe((plan.input.h * plan.input.w * plan.input.c * 16) / 8 + r.dram.outputBytes);
      // on-chip memory holds at least every weight bit
      expect(r.totals.onChipBytes).toBeGreaterThan(r.totals.weightBytes);
      expect(r.totals.weightBytes).toBe(r.stages.reduce((a, s) => a + s.memory.weightBits, 0) / 8);
      // deterministic
      expect(JSON.stringify(simulateDataflow(plan, r.arch))).toBe(JSON.stringify(r));
    });
  }

  async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '', err = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
    try { return { code: await main(args), out, err }; } finally { o.mockRestore(); e.mockRestore(); }
  }
  const dir = mkdtempSync(join(tmpdir(), 'df-cli-'));
  it('CLI: --json, --target-fps, exit 1 on a missed target, exit 2 on a bad folding', async () => {
    const out = join(dir, 'r.json');
    const ok = await run(['simulate', 'bireal-mnist', '--arch', 'dataflow-bnn', '--target-fps', '5000', '--json', '--out', out]);
    expect(ok.code).toBe(0);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.kind).toBe('simulate-dataflow');
    expect(j.targetFps).toBe(5000);
    expect(j.totals.framesPerSecond).toBeGreaterThanOrEqual(5000);
    const miss = await run(['simulate', 'bireal-mnist', '--arch', 'dataflow-bnn', '--target-fps', '1e8']);
    expect(miss.code).toBe(1);
    expect(miss.err).toMatch(/E_TARGET/);
    const f = join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify(mergeSpec(base, { folding: { 's1.b0.conv': { pe: 5 } } })));
    const bad = await run(['simulate', 'bireal-mnist', '--arch', f]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/E_ARCH: .*bad\.json: \$\.folding\["s1\.b0\.conv"\]\.pe: layer 's1\.b0\.conv': PE 5 does not divide MH = 32/);
    const seq = await run(['simulate', 'bireal-mnist', '--arch', 'edge', '--target-fps', '10']);
    expect(seq.code).toBe(2);
  });
});
