/**
 * Resident execution of an ExecPlan on the native kernels (kernels/native.ts, native/birealsim_native.cc
 * "resident programs"): the plan is compiled once into a list of native instructions on buffers allocated
 * once, and a run is one call into the addon (plus the input copy in and the logits copy out), instead of
 * one call, one fresh output array and one separate pass per step.
 *
 * Same bytes as the per-step golden run (golden/run.ts executeStep with the native set), by construction:
 *  - an instruction's producer is the kernel the per-step path calls for the group's first step (binary conv
 *    with its output transform, fp32 conv, fc, max / average pool, global average pool), on the same
 *    operands, or a plain read of an existing tensor when the first step is itself an element op;
 *  - the plan's fused groups (golden/plan.ts decides them) become the producer's epilogue: each later step of
 *    the group is applied to every output pixel's channel vector in the same pass, with the element function
 *    the per-step kernel uses (affine = bn.ts bnApply, residual add = add.ts addApply, sign + bit-pack =
 *    core/tensor.ts packSigns). A tensor read outside its group is stored on the way. Steps are recognised by
 *    the kernel family their op declares (ops/types.ts), never by op name;
 *  - a step whose family has no native producer or epilogue (ReLU, RPReLU, RSign, ...) ends the instruction
 *    and runs through the per-step path on views of the program's buffers (no copies in), its output
 *    written into its buffer; the next steps start a new instruction.
 * Taps mode compiles every step alone (no fusion) and keeps every tensor and every accumulator.
 * Only the fp32 real stream is compiled (other real formats round every stored tensor: per-step path), and
 * networks with independent segments (ir/segments.ts) run step by step.
 *
 * The program is cached per plan and taps flag; the weights it captured are probed before each run (the same
 * 64-value probe the kernel caches use), and a changed weight array recompiles it.
 */
import type { ExecPlan, ExecStep } from './plan.ts';
import { stepOutput } from './plan.ts';
import { opOf } from '../ops/index.ts';
import type { KernelFamily } from '../ops/types.ts';
import type { BConvStep } from '../ops/bconv.ts';
import type { ConvStep } from '../ops/conv.ts';
import type { FcStep } from '../ops/fc.ts';
import type { BnStep } from '../ops/bn.ts';
import type { PoolStep } from '../ops/maxpool.ts';
import { tensor, type PackedTensor, type Tensor } from '../core/tensor.ts';
import { wordsFor } from '../core/bits.ts';
import { nativeAddon, nativeBinaryWeights, nativeFloatWeights, probeMatches, probeOf, type NativeAddon } from '../kernels/native.ts';
import type { KernelSet } from '../kernels/types.ts';

type Value = Tensor | PackedTensor;
export type StepExecutor = (step: ExecStep, ins: Value[]) => { out: Value; acc?: Int32Array };
export interface NativeTap { acc?: Int32Array; bits?: PackedTensor; real?: Tensor }

/** Instruction kinds and epilogue kinds of the addon (birealsim_native.cc InstrKind / EpiKind). */
const I = { bconv: 0, rconv: 1, pool: 2, gap: 3, read: 4 } as const;
const E = { affine: 0, add: 1, store: 2, pack: 3 } as const;

const family = (s: ExecStep): KernelFamily | undefined => opOf(s).fast?.family;
type Arr = Float32Array | Uint32Array | Int32Array | null;

/** A unit of the program: a range of native instructions, or one step on the per-step path. */
type Unit = { kind: 'native'; from: number; to: number } | { kind: 'step'; step: ExecStep };

/** An instruction being built: producer and epilogue entries, flushed to the addon by close(). */
interface Open { kind: number; ints: number[]; arrs: Arr[]; epi: number[]; epiArrs: Arr[]; channels: number; value: string; shape: { h: number; w: number; c: number }; step: ExecStep }

export class NativeProgram {
  private readonly m: NativeAddon;
  private readonly id: number;
  private count = 0;
  private readonly units: Unit[] = [];
  private readonly real = new Map<string, Tensor>();
  private readonly packed = new Map<string, PackedTensor>();
  private readonly accs = new Map<string, Int32Array>();
  private readonly probes: { src: ArrayLike<number>; probe: Float64Array }[] = [];
  private readonly keep: unknown[] = [];
  private open: Open | null = null;
  private scratch: Float32Array = new Float32Array(0);
  private readonly scratchUsers: { arrs: Arr[]; at: number }[] = [];

  constructor(readonly plan: ExecPlan, readonly taps: boolean, private readonly fallback: StepExecutor) {
    this.m = nativeAddon()!;
    this.id = this.m.progNew();
    registry.register(this, { m: this.m, id: this.id });
    const i0 = plan.input;
    this.real.set('input', tensor(i0.h, i0.w, i0.c));
    const groups = taps ? plan.steps.map((s) => ({ steps: [s], outputs: [stepOutput(s)] })) : plan.groups;
    for (const g of groups) {
      const outs = new Set(g.outputs);
      g.steps.forEach((s, k) => this.compileStep(s, k === 0, outs.has(stepOutput(s)) || this.taps));
      this.close();
    }
    // one scratch buffer serves every producer whose raw output is not stored (read only by its epilogue)
    for (const u of this.scratchUsers) u.arrs[u.at] = this.scratch;
    this.flushAll();
  }

  // ------------------------------------------------------------------ compile

  private pending: Open[] = [];
  /** the step whose kernel produces each instruction (its epilogue steps follow it), for profile() */
  private readonly producers: ExecStep[] = [];

  private realOf(name: string): Tensor {
    const t = this.real.get(name);
    if (!t) throw new Error(`native program: real tensor ${name} not available`);
    return t;
  }
  private newReal(name: string, s: { h: number; w: number; c: number }): Tensor {
    const t = tensor(s.h, s.w, s.c);
    this.real.set(name, t);
    return t;
  }
  private newPacked(name: string, s: { h: number; w: number; c: number }): PackedTensor {
    const wpp = wordsFor(s.c);
    const p: PackedTensor = { h: s.h, w: s.w, c: s.c, wordsPerPixel: wpp, words: new Uint32Array(s.h * s.w * wpp) };
    this.packed.set(name, p);
    return p;
  }
  private watch(src: ArrayLike<number>): void { this.probes.push({ src, probe: probeOf(src) }); }
  private vec(v: Float32Array, c: number): Float32Array {
    if (v.length < c) throw new Error(`native program: per-channel vector has ${v.length} values, expected ${c}`);
    this.watch(v);
    return v;
  }

  /** Raw output of a producer: the step's own buffer when it is stored, else the shared scratch. */
  private rawFor(step: ExecStep, stored: boolean, n: number, o: Open, at: number): Float32Array | null {
    if (stored) return this.newReal(stepOutput(step), step.out).data;
    if (this.scratch.length < n) this.scratch = new Float32Array(n);
    this.scratchUsers.push({ arrs: o.arrs, at });
    return null;
  }

  /** Whether `step` can run as an epilogue entry of the open instruction (it reads the open value). */
  private fitsEpilogue(step: ExecStep, o: Open): boolean {
    const f = family(step), i = o.value ? step.inputs.indexOf(o.value) : -1;
    if (i < 0) return false;
    if (f === 'affine' || f === 'sign-pack') return i === 0 && step.inputs.length === 1;
    if (f === 'add') {
      const other = this.real.get(step.inputs[1 - i]);
      return step.inputs.length === 2 && !!other && other.data.length === o.shape.h * o.shape.w * o.shape.c;
    }
    return false;
  }

  private compileStep(step: ExecStep, first: boolean, stored: boolean): void {
    const o = this.open;
    if (!first && o && this.fitsEpilogue(step, o)) {
      const f = family(step);
      if (f === 'affine') {
        const bn = step as BnStep;
        o.epi.push(E.affine, 0); o.epiArrs.push(this.vec(bn.scale, o.channels), this.vec(bn.shift, o.channels), null);
      } else if (f === 'add') {
        const other = step.inputs[1 - step.inputs.indexOf(o.value)];
        o.epi.push(E.add, 0); o.epiArrs.push(this.realOf(other).data, null, null);
      } else {
        const p = this.newPacked(stepOutput(step), step.out);
        o.epi.push(E.pack, p.wordsPerPixel); o.epiArrs.push(null, null, p.words);
        o.value = ''; // bits leave the pass
        return;
      }
      o.value = stepOutput(step);
      o.shape = step.out;
      if (stored) { const t = this.newReal(o.value, step.out); o.epi.push(E.store, 0); o.epiArrs.push(null, null, t.data); }
      return;
    }
    // anything else ends the open instruction; a value it still holds that this step reads is stored first
    if (o && o.value && step.inputs.includes(o.value) && !this.real.has(o.value)) {
      const t = this.newReal(o.value, o.shape);
      o.epi.push(E.store, 0); o.epiArrs.push(null, null, t.data);
    }
    this.close();
    this.startProducer(step, stored);
  }

  private startProducer(step: ExecStep, stored: boolean): void {
    const f = family(step);
    const ins = step.inputs;
    const x = () => this.realOf(ins[0]);
    const n = step.out.h * step.out.w * step.out.c;
    const mk = (kind: number, ints: number[], arrs: Arr[], channels: number): Open => ({ kind, ints, arrs, epi: [], epiArrs: [], channels, value: stepOutput(step), shape: step.out, step });
    let o: Open | null = null;
    if (f === 'binary-conv' && this.packed.has(ins[0])) {
      const s = step as BConvStep, xp = this.packed.get(ins[0])!;
      const wT = nativeBinaryWeights(this.m, s.weightBits, s.cout, s.kernel * s.kernel, xp.wordsPerPixel);
      this.watch(s.weightBits);
      const acc = this.taps ? new Int32Array(n) : null;
      if (acc) this.accs.set(step.id, acc);
      // the last int: whether the raw output is stored (else only the epilogue reads it)
      o = mk(I.bconv, [xp.h, xp.w, xp.wordsPerPixel, xp.c, s.cout, s.kernel, s.stride, s.pad, s.padMode === 'one' ? 1 : 0, s.out.h, s.out.w, stored ? 1 : 0],
        [xp.words, wT, this.vec(s.mul, s.cout), this.vec(s.bias, s.cout), null, acc], s.cout);
      o.arrs[4] = this.rawFor(step, stored, n, o, 4);
    } else if (f === 'real-conv' && this.real.has(ins[0])) {
      const s = step as ConvStep, xt = x();
      const wT = nativeFloatWeights(this.m, s.weight, s.cout, s.kernel * s.kernel * xt.c);
      this.watch(s.weight);
      o = mk(I.rconv, [xt.h, xt.w, xt.c, s.cout, s.kernel, s.stride, s.pad, s.out.h, s.out.w, stored ? 1 : 0], [xt.data, wT, s.bias ? this.vec(s.bias, s.cout) : null, null], s.cout);
      o.arrs[3] = this.rawFor(step, stored, n, o, 3);
    } else if (f === 'dense' && this.real.has(ins[0])) {
      const s = step as FcStep, xt = x(), K = xt.data.length;
      const wT = nativeFloatWeights(this.m, s.weight, s.outFeatures, K);
      this.watch(s.weight);
      o = mk(I.rconv, [1, 1, K, s.outFeatures, 1, 1, 0, 1, 1, stored ? 1 : 0], [xt.data, wT, s.bias ? this.vec(s.bias, s.outFeatures) : null, null], s.outFeatures);
      o.arrs[3] = this.rawFor(step, stored, n, o, 3);
    } else if ((f === 'max-pool' || f === 'avg-pool') && this.real.has(ins[0])) {
      const s = step as PoolStep, xt = x();
      o = mk(I.pool, [xt.h, xt.w, xt.c, f === 'max-pool' ? 1 : 0, s.kernel, s.stride, s.pad, s.out.h, s.out.w], [xt.data, null], xt.c);
      o.arrs[1] = this.rawFor(step, stored, n, o, 1);
    } else if (f === 'global-avg-pool' && this.real.has(ins[0])) {
      const xt = x();
      o = mk(I.gap, [xt.h, xt.w, xt.c], [xt.data, null], xt.c);
      o.arrs[1] = this.rawFor(step, stored, n, o, 1);
    } else if ((f === 'affine' || f === 'add' || f === 'sign-pack') && this.real.has(ins[0])) {
      // an element op first: read its first operand in place, then the op as the epilogue
      const xt = x();
      const r = mk(I.read, [xt.h * xt.w, xt.c], [xt.data], xt.c);
      r.value = ins[0];
      r.shape = xt;
      if (this.fitsEpilogue(step, r)) { this.open = r; this.compileStep(step, false, stored); return; }
    }
    if (!o) { this.perStep(step); return; }
    this.open = o;
  }

  /** A step without a native producer: the per-step path on views of the buffers. */
  private perStep(step: ExecStep): void {
    for (const n of step.inputs) if (!this.real.has(n) && !this.packed.has(n)) throw new Error(`native program: tensor ${n} not available for ${step.id}`);
    const name = stepOutput(step);
    if (step.out.dtype === 'bits') this.newPacked(name, step.out);
    else this.newReal(name, step.out);
    this.units.push({ kind: 'step', step });
  }

  private close(): void {
    const o = this.open;
    if (!o) return;
    this.open = null;
    this.pending.push(o);
    this.producers.push(o.step);
    const idx = this.count++;
    const last = this.units[this.units.length - 1];
    if (last && last.kind === 'native' && last.to === idx) last.to = idx + 1;
    else this.units.push({ kind: 'native', from: idx, to: idx + 1 });
  }

  private flushAll(): void {
    this.markPoolFusion();
    for (const o of this.pending) {
      this.keep.push(o.arrs, o.epiArrs);
      this.m.progAdd(this.id, o.kind, Int32Array.from(o.ints), o.arrs, Int32Array.from(o.epi), o.epiArrs);
    }
    this.pending = [];
  }

  /**
   * A real conv whose stored output (its last epilogue entry, after affine / add entries only) is read by the
   * next instruction, a pool, and by no other step (nor is it the plan's output, nor kept as a tap): its last
   * int tells the addon it may run the two as one (runPoolFused: the conv output is never written out).
   */
  private markPoolFusion(): void {
    for (let i = 0; i + 1 < this.pending.length; i++) {
      const a = this.pending[i], b = this.pending[i + 1];
      if (this.taps || a.kind !== I.rconv || b.kind !== I.pool || a.ints.length !== 10) continue;
      const kinds = a.epi.filter((_, j) => j % 2 === 0);
      const storeLast = kinds.length > 0 && kinds[kinds.length - 1] === E.store && kinds.slice(0, -1).every((k) => k === E.affine || k === E.add);
      const readers = this.plan.steps.filter((s) => s.inputs.includes(a.value)).length;
      if (storeLast && b.step.inputs[0] === a.value && readers === 1 && a.value !== this.plan.output) a.ints.push(1);
    }
  }

  // ------------------------------------------------------------------ run

  private runStep(step: ExecStep): void {
    const ins = step.inputs.map((n) => this.real.get(n) ?? this.packed.get(n)!);
    const { out, acc } = this.fallback(step, ins);
    const name = stepOutput(step);
    if ('words' in out) this.packed.get(name)!.words.set(out.words);
    else this.real.get(name)!.data.set(out.data);
    if (acc && this.taps) this.accs.set(step.id, acc.slice());
  }

  /** True when every captured weight array still holds what it held at compile time. */
  valid(): boolean { return this.probes.every((p) => probeMatches(p.src, p.probe)); }

  run(input: Tensor): { logits: Float32Array; taps: Map<string, NativeTap> } {
    this.realOf('input').data.set(input.data);
    for (const u of this.units) {
      if (u.kind === 'native') this.m.progRun(this.id, u.from, u.to);
      else this.runStep(u.step);
    }
    const out = this.real.get(this.plan.output);
    if (!out) throw new Error('runPlan: output is packed');
    const taps = new Map<string, NativeTap>();
    if (this.taps) {
      for (const s of this.plan.steps) {
        const name = stepOutput(s), acc = this.accs.get(s.id)?.slice();
        const r = this.real.get(name), p = this.packed.get(name);
        taps.set(s.id, p ? { bits: { ...p, words: p.words.slice() }, acc } : { real: tensor(r!.h, r!.w, r!.c, r!.data.slice()), acc });
      }
    }
    return { logits: out.data.slice(), taps };
  }

  /**
   * Median milliseconds of each unit over `reps` runs (benchmarks): a native instruction (its producer step and
   * fused epilogue) or a per-step unit, labelled by the step that produces it. Same results as run().
   */
  profile(input: Tensor, reps: number): { step: ExecStep; ms: number }[] {
    this.run(input);
    const items: { step: ExecStep; t: () => void }[] = [];
    for (const u of this.units) {
      if (u.kind === 'native') for (let i = u.from; i < u.to; i++) items.push({ step: this.producers[i], t: () => this.m.progRun(this.id, i, i + 1) });
      else items.push({ step: u.step, t: () => this.runStep(u.step) });
    }
    const times = items.map(() => [] as number[]);
    for (let r = 0; r < reps; r++) {
      this.realOf('input').data.set(input.data);
      items.forEach((it, i) => { const t0 = performance.now(); it.t(); times[i].push(performance.now() - t0); });
    }
    return items.map((it, i) => ({ step: it.step, ms: [...times[i]].sort((a, b) => a - b)[Math.floor(reps / 2)] }));
  }

  dispose(): void { registry.unregister(this); this.m.progFree(this.id); }
}

/** Frees a program's native instruction list when its JS object is collected. */
const registry = new FinalizationRegistry<{ m: NativeAddon; id: number }>(({ m, id }) => m.progFree(id));

const cache = new WeakMap<ExecPlan, Map<boolean, NativeProgram>>();

/**
 * Runs the plan as a native resident program, or returns undefined when it cannot (no addon, a real format
 * other than fp32, independent segments): the caller then runs step by step.
 */
/** The compiled (plain, not taps) program of a plan on the native kernels, for profiling; undefined without the addon. */
export function nativeProgramOf(plan: ExecPlan, kernels: KernelSet, fallback: StepExecutor): NativeProgram | undefined {
  if (kernels.device !== 'native' || !nativeAddon() || plan.realFormat.kind !== 'fp32' || plan.net.segmentInputs.size > 0) return undefined;
  return new NativeProgram(plan, false, fallback);
}

export function runNativeProgram(plan: ExecPlan, input: Tensor, taps: boolean, kernels: KernelSet, fallback: StepExecutor): { logits: Float32Array; taps: Map<string, NativeTap> } | undefined {
  if (kernels.device !== 'native' || !nativeAddon() || plan.realFormat.kind !== 'fp32' || plan.net.segmentInputs.size > 0) return undefined;
  let per = cache.get(plan);
  if (!per) { per = new Map(); cache.set(plan, per); }
  let prog = per.get(taps);
  if (prog && !prog.valid()) { prog.dispose(); prog = undefined; }
  if (!prog) { prog = new NativeProgram(plan, taps, fallback); per.set(taps, prog); }
  return prog.run(input);
}
