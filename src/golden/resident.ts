/**
 * Resident execution of an ExecPlan on the fast WebAssembly kernels: the plan is compiled once into a fixed
 * memory layout in the kernels' shared memory (kernels/wasm.ts resident region) and a list of kernel
 * launches on byte offsets, so a run copies only the input in and the logits (or taps) out, instead of
 * copying every step's operands in and results out and allocating fresh arrays per step.
 *
 * Same bytes as the per-step golden run (golden/run.ts executeStep with any kernel set), by construction:
 *  - every launch is one of the fast kernels that test/kernels checks bit for bit against the reference, on
 *    the same operand layouts (zero-bordered inputs, packed weights) that the per-call wrappers build;
 *  - the plan's fused groups (golden/plan.ts decides them) run in as few launches as the kernels allow, which
 *    only skips storing intermediates, never changes an operation: a real conv takes the affine map (BN)
 *    that follows it in its group (sconv flag 4 = bn.ts bnApply in the conv's epilogue); a binary conv's
 *    epilogue (wat.ts xnorEpiWat) applies the zero-padding correction, the output transform, a residual add
 *    and a sign + bit-pack that follow it in its group in one pass, writing the packed bits straight into the
 *    zero-bordered buffer the next binary conv reads in place. Steps are recognised by the kernel family
 *    their op declares (ops/types.ts KernelFamily), never by op name.
 *  - zero padding ('zero' pad mode): the conv computes the +1-padding dot (zero words = +1), and the
 *    epilogue subtracts, per output pixel, the sum of C - 2*popcount(w_{o,t}) over its out-of-bounds taps t;
 *    pixels fall into a few classes (which kernel rows and columns are out of bounds), each class has one
 *    precomputed per-channel correction vector (class 0 = interior = zeros).
 *  - steps without a resident kernel (no family, or non-finite weights) run through the per-step
 *    path on copies (download inputs, executeStep, upload the output), so every plan runs.
 * Taps mode compiles without fusion and keeps every tensor and every (corrected) accumulator buffer.
 * Only the fp32 real stream is compiled (other real formats round every stored tensor: per-step path).
 *
 * Memory: each program owns a region of the wasm memory (kernels/wasm.ts allocRegion), laid out at
 * compile time from the region's base (compiled twice: once to size the region, once at its base); the
 * first run zeroes it (borders, padding) and uploads the weights. If the regions are dropped (they grew
 * past the cap) the program is compiled again at a new region.
 */
import type { ExecPlan, ExecStep, FusedGroup } from './plan.ts';
import { stepOutput } from './plan.ts';
import { opOf } from '../ops/index.ts';
import type { KernelFamily } from '../ops/types.ts';
import type { BConvStep } from '../ops/bconv.ts';
import type { ConvStep } from '../ops/conv.ts';
import type { FcStep } from '../ops/fc.ts';
import type { BnStep } from '../ops/bn.ts';
import type { PoolStep } from '../ops/maxpool.ts';
import { packedTensor, tensor, type PackedTensor, type Tensor } from '../core/tensor.ts';
import { wordsFor } from '../core/bits.ts';
import { outSize } from '../core/geometry.ts';
import { memory, allocRegion, ownsRegion } from '../kernels/wasm.ts';
import { cachedFloatWeights, getBinaryKernel, im2colBelowWords, packBinaryWeights, probeMatches, probeOf, runSplit, type SplitOptions } from '../kernels/fast.ts';
import { BCONVX_G, BCONVX_MAX_STEPS, BCONVXS_SEGMENTS, EPI, bconvxName, bconvxsName, epiName, SCONV_TILE } from '../kernels/wat.ts';

type Value = Tensor | PackedTensor;
/** The per-step executor used for steps without a resident kernel (golden/run.ts executeStep). */
export type StepExecutor = (step: ExecStep, ins: Value[]) => { out: Value; acc?: Int32Array };

interface RealBuf { kind: 'real'; off: number; h: number; w: number; c: number; pad: number; slack: number }
interface PackedBuf { kind: 'packed'; off: number; h: number; w: number; c: number; wpp: number; pad: number; slack: number }
type Buf = RealBuf | PackedBuf;

const SP = SCONV_TILE.P, TW = 4 * SCONV_TILE.V;
/** Readable slack after every buffer: covers the kernels' over-reads for strides <= 4 and kernels <= 8. */
const slackFor = (pxBytes: number) => (4 * 4 + 8) * pxBytes + 64;

/**
 * Element ops split by whole image rows (`unit` pixels), the same rows as the conv before them, from
 * ~20K values on (a worker hand-off costs a few microseconds while the worker is spinning).
 */
const rowsOf = (unit: number): SplitOptions => ({ mode: 'rows', unit, minWork: 20_000 });

const f32 = () => new Float32Array(memory.buffer);
/** The kernel family an op declares for fast backends (ops/types.ts), if any. */
const family = (s: ExecStep): KernelFamily | undefined => opOf(s).fast?.family;
const i32 = () => new Int32Array(memory.buffer);
const u32 = () => new Uint32Array(memory.buffer);

export class ResidentProgram {
  private top: number;
  private initialised = false;
  private readonly ops: (() => void)[] = [];
  /** what each op does (step id and kernel), for profile() */
  private readonly labels: string[] = [];
  private current = '';
  private readonly uploads: { off: number; data: Float32Array | Int32Array | Uint32Array }[] = [];
  private readonly probes: { src: ArrayLike<number>; probe: Float64Array }[] = [];
  private readonly bufs = new Map<string, Buf>();
  private readonly accBufs = new Map<string, { off: number; n: number }>();
  private readonly consumers = new Map<string, ExecStep[]>();
  private inputBuf!: RealBuf;

  /**
   * Lays the plan out from byte `base` (a region of `owner`, see residentProgram); with no owner the
   * program only measures its size (`bytes`) and must not run.
   */
  constructor(readonly plan: ExecPlan, readonly taps: boolean, private readonly fallback: StepExecutor, readonly base = 0, private readonly owner?: object) {
    this.top = base;
    for (const s of plan.steps) for (const n of s.inputs) {
      if (!this.consumers.has(n)) this.consumers.set(n, []);
      this.consumers.get(n)!.push(s);
    }
    const i0 = plan.input;
    const cons = this.consumers.get('input') ?? [];
    const convPads = new Set(cons.map((s) => (family(s) === 'real-conv' ? (s as ConvStep).pad : -1)));
    const pad = convPads.size === 1 && !convPads.has(-1) ? [...convPads][0] : 0;
    this.inputBuf = this.realBuf(i0.h, i0.w, i0.c, pad);
    this.bufs.set('input', this.inputBuf);
    for (const g of plan.groups) this.compileGroup(g);
  }

  // ------------------------------------------------------------------ layout

  private push(op: () => void, what = ''): void { this.ops.push(op); this.labels.push(what ? `${this.current} ${what}` : this.current); }
  private alloc(bytes: number): number { const at = this.top; this.top += Math.ceil(bytes / 64) * 64; return at; }
  private realBuf(h: number, w: number, c: number, pad = 0): RealBuf {
    const bytes = (h + 2 * pad) * (w + 2 * pad) * c * 4, slack = slackFor(c * 4);
    return { kind: 'real', off: this.alloc(bytes + slack), h, w, c, pad, slack };
  }
  private packedBuf(h: number, w: number, c: number, pad: number): PackedBuf {
    const wpp = wordsFor(c), bytes = (h + 2 * pad) * (w + 2 * pad) * wpp * 4, slack = slackFor(wpp * 4);
    return { kind: 'packed', off: this.alloc(bytes + slack), h, w, c, wpp, pad, slack };
  }
  private upload(data: Float32Array | Int32Array | Uint32Array): number {
    const off = this.alloc(data.byteLength + 64);
    this.uploads.push({ off, data });
    return off;
  }
  /** A per-channel vector uploaded zero-padded to n entries. */
  private uploadVec(v: Float32Array, c: number, n: number): number {
    if (v.length < c) throw new Error(`resident: per-channel vector has ${v.length} values, expected ${c}`);
    const d = new Float32Array(n);
    d.set(v.subarray(0, c));
    return this.upload(d);
  }
  private watch(src: ArrayLike<number>): void { this.probes.push({ src, probe: probeOf(src) }); }
  private buf(name: string): Buf {
    const b = this.bufs.get(name);
    if (!b) throw new Error(`resident: tensor ${name} not available`);
    return b;
  }
  /** Border a packed tensor should be stored with: its consumers' common pad if all are binary convs. */
  private packedPadFor(name: string): number {
    const pads = new Set((this.consumers.get(name) ?? []).map((s) => (family(s) === 'binary-conv' && (s as BConvStep).stride <= 4 ? (s as BConvStep).pad : -1)));
    return pads.size === 1 && !pads.has(-1) ? [...pads][0] : 0;
  }

  // ------------------------------------------------------------------ groups and steps

  /**
   * A fused group (golden/plan.ts) in as few launches as the kernels allow: a binary conv's epilogue takes a
   * following residual add and sign+pack, a real conv's a following affine map (BN); every other step gets its
   * own launch. Taps mode launches every step on its own and keeps every tensor.
   */
  private compileGroup(g: FusedGroup): void {
    for (let i = 0; i < g.steps.length;) {
      const step = g.steps[i], rest = this.taps ? [] : g.steps.slice(i + 1);
      let used = -1;
      this.current = `${step.id} (${step.op})`;
      if (family(step) === 'binary-conv') used = this.compileXnor(step as BConvStep, rest, g);
      else if (family(step) === 'real-conv') used = this.compileConv(step as ConvStep, rest, g);
      if (used < 0) { this.compileStep(step); used = 0; }
      i += 1 + used;
    }
  }

  private compileStep(step: ExecStep): void {
    const out = stepOutput(step);
    this.current = `${step.id} (${step.op})`;
    switch (family(step)) {
      case 'dense': if (this.compileFc(step as FcStep)) return; break;
      case 'affine': case 'add': {
        const x = this.buf(step.inputs[0]);
        if (x.kind !== 'real' || x.pad !== 0) break;
        const o = this.realBuf(x.h, x.w, x.c);
        const n = x.h * x.w * x.c;
        if (family(step) === 'affine') {
          const s = this.uploadVec((step as BnStep).scale, x.c, x.c), t = this.uploadVec((step as BnStep).shift, x.c, x.c);
          this.push(() => runSplit('bn', [x.off, s, t, o.off, 0, 0, x.c], 4, x.h * x.w, -1, 0, n, rowsOf(x.w)));
        } else {
          const y = this.buf(step.inputs[1]);
          if (y.kind !== 'real' || y.pad !== 0 || y.h * y.w * y.c !== n) break;
          this.push(() => runSplit('add', [x.off, y.off, o.off, 0, 0, x.c], 3, x.h * x.w, -1, 0, n, rowsOf(x.w)));
        }
        this.bufs.set(out, o);
        return;
      }
      case 'sign-pack': {
        const x = this.buf(step.inputs[0]);
        if (x.kind !== 'real' || x.pad !== 0) break;
        const pad = this.packedPadFor(out);
        const o = this.packedBuf(x.h, x.w, x.c, pad);
        const Wp = x.w + 2 * pad, pxB = o.wpp * 4;
        const at = o.off + (pad * Wp + pad) * pxB;
        this.push(() => runSplit('sign_pack_pad', [x.off, at, 0, 0, x.c, x.w, Wp * pxB, pxB], 2, x.h * x.w, -1, 0, x.h * x.w * x.c, rowsOf(x.w)));
        this.bufs.set(out, o);
        return;
      }
      case 'max-pool': case 'avg-pool': case 'global-avg-pool': {
        const x = this.buf(step.inputs[0]);
        if (x.kind !== 'real' || x.pad !== 0) break;
        // global = avg pool with one window over the whole (square) map: same additions in the same order
        const global = family(step) === 'global-avg-pool', ps = step as PoolStep;
        if (global && x.h !== x.w) break;
        const [k, s, pad] = global ? [x.h, 1, 0] : [ps.kernel, ps.stride, ps.pad];
        const win = { kernel: k, stride: s, pad };
        const oh = outSize(x.h, win), ow = outSize(x.w, win);
        const o = this.realBuf(oh, ow, x.c);
        const fn = family(step) === 'max-pool' ? 'maxpool' : 'avgpool';
        this.push(() => runSplit(fn, [x.off, o.off, 0, 0, x.h, x.w, x.c, k, s, pad, ow], 2, oh, -1, 0, oh * ow * x.c * k * k, rowsOf(1)));
        this.bufs.set(out, o);
        return;
      }
      default: break;
    }
    this.compileFallback(step);
  }

  /** Runs the step through the per-step path on copies of its inputs. */
  private compileFallback(step: ExecStep): void {
    const ins = step.inputs.map((n) => this.buf(n));
    const o = step.out;
    const outName = stepOutput(step);
    let ob: Buf;
    if (o.dtype === 'bits') ob = this.packedBuf(o.h, o.w, o.c, this.packedPadFor(outName));
    else ob = this.realBuf(o.h, o.w, o.c);
    this.bufs.set(outName, ob);
    const acc = opOf(step).executesAs === 'xnor' && this.taps ? { off: this.alloc(o.h * o.w * o.c * 4), n: o.h * o.w * o.c } : undefined;
    if (acc) this.accBufs.set(step.id, acc);
    this.push(() => {
      const r = this.fallback(step, ins.map((b) => this.download(b)));
      this.store(ob, r.out);
      if (acc && r.acc) i32().set(r.acc, acc.off >>> 2);
    });
  }

  /** A real conv and, when it is next in the group and reads only the conv's output, an affine map (BN); returns the fused count or -1. */
  private compileConv(step: ConvStep, rest: ExecStep[], g: FusedGroup): number {
    const x = this.buf(step.inputs[0]);
    if (x.kind !== 'real') return -1;
    const { kernel: k, stride: s, pad, cout } = step;
    const C = x.c, K = k * k * C;
    const packed = cachedFloatWeights(step.weight, cout, K);
    if (!packed.finite || s > 4 || k > 8) return -1;
    this.watch(step.weight);
    // fuse the next step of the group when it is an affine map of this conv's output alone
    const next = rest[0];
    const y = stepOutput(step);
    const alone = g.internal.includes(y) && g.steps.every((q) => q === next || !q.inputs.includes(y));
    const bn = next && opOf(next).fast?.epilogue === 'affine' && next.inputs[0] === y && alone ? next as BnStep : undefined;
    const outName = bn ? stepOutput(bn) : stepOutput(step);
    const { h: oh, w: ow } = step.out;
    const coutPad = Math.ceil(cout / TW) * TW, tiles = coutPad / TW;
    // input: zero-bordered by `pad` (copied into a bordered buffer unless it already is)
    let xb: RealBuf = x;
    if (x.pad !== pad) {
      const t = this.realBuf(x.h, x.w, C, pad);
      this.push(() => this.copyReal(x, t));
      xb = t;
    }
    const gemm = k === 1 && s === 1 && pad === 0;
    const Wp = xb.w + 2 * pad, pxB = C * 4;
    const rows = gemm ? Math.ceil((oh * ow) / SP) : oh, colsPad = gemm ? SP : Math.ceil(ow / SP) * SP;
    const compact = coutPad === cout && (gemm || colsPad === ow);
    const o = this.realBuf(oh, ow, cout);
    const outBytes = rows * colsPad * coutPad * 4;
    const dst = compact && outBytes <= oh * ow * cout * 4 + o.slack ? o.off : this.alloc(outBytes);
    const wOff = this.upload(packed.words);
    let flags = 0, bOff = 0, sOff = 0, tOff = 0;
    if (step.bias) { bOff = this.uploadVec(step.bias, cout, coutPad); flags |= 2; }
    if (bn) { sOff = this.uploadVec(bn.scale, cout, coutPad); tOff = this.uploadVec(bn.shift, cout, coutPad); flags |= 4; }
    const args = gemm
      ? [xb.off, wOff, dst, bOff, flags, 0, 0, 0, 0, SP, SP * pxB, pxB, 1, 0, C, coutPad, sOff, tOff]
      : [xb.off, wOff, dst, bOff, flags, 0, 0, 0, 0, colsPad, s * Wp * pxB, s * pxB, k, Wp * pxB, k * C, coutPad, sOff, tOff];
    const work = rows * colsPad * coutPad * K;
    this.push(() => runSplit('sconv', args, 5, rows, 7, tiles, work, gemm ? {} : { mode: 'rows' }));
    if (dst !== o.off) this.push(() => this.compactConv(dst, o, gemm ? oh * ow : ow, gemm ? 1 : oh, gemm ? oh * ow : colsPad, coutPad));
    this.bufs.set(outName, o);
    return bn ? 1 : 0;
  }

  private compileFc(step: FcStep): boolean {
    const x = this.buf(step.inputs[0]);
    if (x.kind !== 'real' || x.pad !== 0) return false;
    const n = x.h * x.w * x.c, cout = step.outFeatures;
    const packed = cachedFloatWeights(step.weight, cout, n);
    if (!packed.finite || n === 0) return false;
    this.watch(step.weight);
    const coutPad = Math.ceil(cout / TW) * TW;
    const o = this.realBuf(1, 1, cout);
    const dst = this.alloc(SP * coutPad * 4); // [SP][coutPad]: the SP pixel lanes all read the one input row
    const wOff = this.upload(packed.words);
    let flags = 0, bOff = 0;
    if (step.bias) { bOff = this.uploadVec(step.bias, cout, coutPad); flags |= 2; }
    const args = [x.off, wOff, dst, bOff, flags, 0, 0, 0, 0, SP, 0, 0, 1, 0, n, coutPad, 0, 0];
    this.push(() => {
      runSplit('sconv', args, 5, 1, 7, coutPad / TW, SP * coutPad * n);
      f32().copyWithin(o.off >>> 2, dst >>> 2, (dst >>> 2) + cout);
    });
    this.bufs.set(stepOutput(step), o);
    return true;
  }

  /**
   * A binary conv with its output transform, fusing into its epilogue the next steps of the group while they
   * are a residual add of its output y, then a sign+pack of z (the add's output, or y); returns the fused
   * count, or -1 when the conv has no resident kernel.
   */
  private compileXnor(step: BConvStep, rest: ExecStep[], g: FusedGroup): number {
    let x = this.buf(step.inputs[0]);
    if (x.kind !== 'packed') return -1;
    const { kernel: k, stride: s, pad, cout, padMode } = step;
    if (s > 4) return -1;
    const { h: oh, w: ow } = step.out;
    const n = oh * ow * cout;
    const wpp = x.wpp, C = x.c;
    if (x.pad !== pad) {
      const t = this.packedBuf(x.h, x.w, C, pad);
      const src = x;
      this.push(() => this.copyPacked(src, t));
      x = t;
    }
    const bk = getBinaryKernel();
    const segWords = k * wpp;
    // short 3x3 windows: the unrolled x-stationary kernel reading the 3 kernel-row segments in place (wat.ts
    // bconvxWat, 8 channels per "tile"); other short windows: gathered (im2col), then that kernel
    const inPlace = bk.kind === 'i64' && bk.short !== false && bk.shortInPlace !== false && k === 3 && BCONVXS_SEGMENTS.some(([n, t]) => n === segWords >> 1 && t === segWords % 2);
    const gather = !inPlace && k > 1 && segWords < im2colBelowWords();
    const short = inPlace || (gather && bk.kind === 'i64' && bk.short !== false && Math.ceil((k * k * wpp) / 2) <= BCONVX_MAX_STEPS);
    const packed = inPlace ? packBinaryWeights(step.weightBits, cout, k, segWords, k, wpp, C, { O: 1, SW: 2 })
      : short ? packBinaryWeights(step.weightBits, cout, 1, k * k * wpp, k * k, wpp, C, { O: 1, SW: 2 })
        : gather ? packBinaryWeights(step.weightBits, cout, 1, k * k * wpp, k * k, wpp, C)
          : packBinaryWeights(step.weightBits, cout, k, k * wpp, k, wpp, C);
    this.watch(step.weightBits);
    const SW = packed.stepWords, O = short ? BCONVX_G : packed.O, tiles = Math.ceil(cout / O);
    const fn = inPlace ? bconvxsName(k, segWords >> 1, segWords % 2)
      : short ? bconvxName(Math.floor((k * k * wpp) / 2), (k * k * wpp) % 2)
        : `${SW === 4 ? 'bconv' : 'bconv64'}_${bk.P}x${packed.O}${SW === 2 && bk.touch ? '_t' : ''}`;
    const wOff = this.upload(packed.words);
    const accOff = this.alloc(n * 4);
    if (this.taps) this.accBufs.set(step.id, { off: accOff, n });
    const Wp = x.w + 2 * pad, pxB = wpp * 4;
    const work = (n * k * k * wpp * 32) / 8;
    // large maps: every thread computes, then post-processes, its own output rows (the data stays in its
    // core's caches); small maps (few rows, many channels): split the channel tiles
    const convSplit: SplitOptions = oh >= 14 ? { mode: 'rows' } : { mode: 'tiles' };
    if (gather) {
      const K = k * k * wpp;
      const col = this.alloc(oh * ow * K * 4 + 4 * K * 4 + 64);
      const xo = x.off;
      this.push(() => runSplit('im2col', [xo, col, 0, 0, ow, s * Wp * pxB, s * pxB, k, Wp * pxB, k * wpp], 2, oh * ow, -1, 0, oh * ow * K, rowsOf(ow)), 'im2col');
      const nfull = Math.floor(K / SW), tail = K % SW;
      const args = [col, wOff, accOff, 0, 0, 0, 0, ow, ow * K * 4, K * 4, 1, 0, nfull, tail, cout, k * k * C];
      this.push(() => runSplit(fn, args, 3, oh, 5, tiles, work, convSplit));
    } else {
      const segWords = k * wpp, nfull = Math.floor(segWords / SW), tail = segWords % SW;
      const args = [x.off, wOff, accOff, 0, 0, 0, 0, ow, s * Wp * pxB, s * pxB, k, Wp * pxB, nfull, tail, cout, k * k * C];
      this.push(() => runSplit(fn, args, 3, oh, 5, tiles, work, convSplit));
    }
    // padding correction classes
    const { cls, corr } = correctionTables(step, x.h, x.w, padMode === 'zero' && pad > 0 ? packed.tapCorrection : undefined);
    const clsOff = this.upload(cls), corrOff = this.upload(corr);
    const mulOff = this.uploadVec(step.mul, cout, cout), biasOff = this.uploadVec(step.bias, cout, cout);
    // fusion: the group's next steps, when they are a residual add of y and then a sign+pack of its value
    const yName = stepOutput(step);
    let i = 0;
    const addStep = rest[i] && opOf(rest[i]).fast?.epilogue === 'residual-add' && rest[i].inputs.includes(yName) && rest[i].inputs[0] !== rest[i].inputs[1] ? rest[i] : undefined;
    if (addStep) i++;
    const zName = addStep ? stepOutput(addStep) : yName;
    const sign = rest[i] && opOf(rest[i]).fast?.epilogue === 'sign-pack' && rest[i].inputs[0] === zName ? rest[i] : undefined;
    // y is stored when anything but the fused steps reads it; the epilogue ignores the pointer otherwise
    const fusedReaders = new Set([addStep, sign].filter(Boolean));
    const yStored = this.taps || g.outputs.includes(yName) || g.steps.some((q) => !fusedReaders.has(q) && q.inputs.includes(yName));
    const yb = yStored ? this.realBuf(oh, ow, cout) : undefined;
    if (yb) this.bufs.set(yName, yb);
    const zb = addStep ? this.realBuf(oh, ow, cout) : yb;
    if (addStep && zb) this.bufs.set(zName, zb);
    let pk: PackedBuf | undefined;
    if (sign) { pk = this.packedBuf(oh, ow, cout, this.packedPadFor(stepOutput(sign))); this.bufs.set(stepOutput(sign), pk); }
    const flags = (this.taps ? EPI.ACC_BACK : 0) | (yStored ? EPI.STORE_Y : 0) | (addStep ? EPI.RESIDUAL : 0) | (pk ? EPI.PACK : 0);
    const pkWp = pk ? ow + 2 * pk.pad : 0, pkPx = pk ? pk.wpp * 4 : 0;
    const pkAt = pk ? pk.off + (pk.pad * pkWp + pk.pad) * pkPx : 0;
    // the shortcut operand of the add is an input of the group: computed before it
    let resOff = 0;
    if (addStep) {
      const resName = addStep.inputs[0] === yName ? addStep.inputs[1] : addStep.inputs[0];
      const r = this.buf(resName);
      if (r.kind !== 'real' || r.pad !== 0 || r.h * r.w * r.c !== n) throw new Error(`resident: shortcut ${resName} does not match ${yName}`);
      resOff = r.off;
    }
    const args = [accOff, clsOff, corrOff, mulOff, biasOff, resOff, yb?.off ?? 0, zb?.off ?? 0, pkAt, 0, 0, cout, ow, pkWp * pkPx, pkPx];
    this.push(() => runSplit(epiName(flags), args, 9, oh * ow, -1, 0, n, rowsOf(ow)), 'epilogue');
    return (addStep ? 1 : 0) + (sign ? 1 : 0);
  }

  // ------------------------------------------------------------------ copies (JS on views)

  private copyReal(from: RealBuf, to: RealBuf): void {
    const m = f32(), c = from.c;
    const fW = from.w + 2 * from.pad, tW = to.w + 2 * to.pad;
    for (let y = 0; y < from.h; y++) {
      const s = (from.off >>> 2) + ((y + from.pad) * fW + from.pad) * c;
      m.copyWithin((to.off >>> 2) + ((y + to.pad) * tW + to.pad) * c, s, s + from.w * c);
    }
  }
  private copyPacked(from: PackedBuf, to: PackedBuf): void {
    const m = u32(), c = from.wpp;
    const fW = from.w + 2 * from.pad, tW = to.w + 2 * to.pad;
    for (let y = 0; y < from.h; y++) {
      const s = (from.off >>> 2) + ((y + from.pad) * fW + from.pad) * c;
      m.copyWithin((to.off >>> 2) + ((y + to.pad) * tW + to.pad) * c, s, s + from.w * c);
    }
  }
  /** [rows][colsPad][coutPad] -> compact [rows][cols][cout]. */
  private compactConv(src: number, o: RealBuf, cols: number, rows: number, colsPad: number, coutPad: number): void {
    const m = f32(), cout = o.c;
    for (let r = 0, d = o.off >>> 2; r < rows; r++) for (let c = 0; c < cols; c++, d += cout) {
      const s = (src >>> 2) + (r * colsPad + c) * coutPad;
      m.copyWithin(d, s, s + cout);
    }
  }

  private download(b: Buf): Value {
    if (b.kind === 'real') {
      const t = tensor(b.h, b.w, b.c);
      if (b.pad === 0) t.data.set(new Float32Array(memory.buffer, b.off, t.data.length));
      else {
        const m = f32(), Wp = b.w + 2 * b.pad;
        for (let y = 0; y < b.h; y++) {
          const s = (b.off >>> 2) + ((y + b.pad) * Wp + b.pad) * b.c;
          t.data.set(m.subarray(s, s + b.w * b.c), y * b.w * b.c);
        }
      }
      return t;
    }
    const p = packedTensor(b.h, b.w, b.c);
    const m = u32(), Wp = b.w + 2 * b.pad;
    for (let y = 0; y < b.h; y++) {
      const s = (b.off >>> 2) + ((y + b.pad) * Wp + b.pad) * b.wpp;
      p.words.set(m.subarray(s, s + b.w * b.wpp), y * b.w * b.wpp);
    }
    return p;
  }
  private store(b: Buf, v: Value): void {
    if (b.kind === 'real') {
      if ('words' in v) throw new Error('resident: expected a real tensor');
      const m = f32(), Wp = b.w + 2 * b.pad;
      for (let y = 0; y < b.h; y++) m.set(v.data.subarray(y * b.w * b.c, (y + 1) * b.w * b.c), (b.off >>> 2) + ((y + b.pad) * Wp + b.pad) * b.c);
      return;
    }
    if (!('words' in v)) throw new Error('resident: expected a packed tensor');
    const m = u32(), Wp = b.w + 2 * b.pad;
    for (let y = 0; y < b.h; y++) m.set(v.words.subarray(y * b.w * b.wpp, (y + 1) * b.w * b.wpp), (b.off >>> 2) + ((y + b.pad) * Wp + b.pad) * b.wpp);
  }

  // ------------------------------------------------------------------ run

  /** Median milliseconds of each op over `reps` runs (for benchmarks; same results as run). */
  profile(input: Tensor, reps: number): { label: string; ms: number }[] {
    this.run(input);
    const times = this.ops.map(() => [] as number[]);
    for (let r = 0; r < reps; r++) {
      this.store(this.inputBuf, input);
      this.ops.forEach((op, i) => { const t0 = performance.now(); op(); times[i].push(performance.now() - t0); });
    }
    return this.ops.map((_, i) => ({ label: this.labels[i], ms: [...times[i]].sort((a, b) => a - b)[Math.floor(reps / 2)] }));
  }

  /** Bytes of wasm memory the program lays out. */
  get bytes(): number { return this.top - this.base; }

  /** False when a weight array changed since compilation or the region was dropped (the caller recompiles). */
  valid(): boolean { return this.owner !== undefined && ownsRegion(this.owner) && this.probes.every((p) => probeMatches(p.src, p.probe)); }

  run(input: Tensor): { logits: Float32Array; taps: Map<string, { acc?: Int32Array; bits?: PackedTensor; real?: Tensor }> } {
    if (!this.owner || !ownsRegion(this.owner)) throw new Error('resident: program has no region (use residentProgram)');
    if (!this.initialised) {
      new Uint8Array(memory.buffer, this.base, this.bytes).fill(0); // zero borders and padding
      const m = u32();
      for (const u of this.uploads) m.set(new Uint32Array(u.data.buffer, u.data.byteOffset, u.data.length), u.off >>> 2);
      this.initialised = true;
    }
    this.store(this.inputBuf, input);
    for (const op of this.ops) op();
    const taps = new Map<string, { acc?: Int32Array; bits?: PackedTensor; real?: Tensor }>();
    if (this.taps) {
      for (const step of this.plan.steps) {
        const v = this.download(this.buf(stepOutput(step)));
        const a = this.accBufs.get(step.id);
        const acc = a ? new Int32Array(a.n) : undefined;
        if (a && acc) acc.set(new Int32Array(memory.buffer, a.off, a.n));
        taps.set(step.id, 'words' in v ? { bits: v, acc } : { real: v, acc });
      }
    }
    const out = this.download(this.buf(this.plan.output));
    if ('words' in out) throw new Error('runPlan: output is packed');
    return { logits: out.data, taps };
  }
}

/**
 * Per-pixel correction classes of a zero-padded binary conv (see header): cls[p] = byte offset of pixel
 * p's vector in corr ([class][cout] int32, class 0 = zeros). Without `tapCorrection` every pixel is
 * class 0.
 */
export function correctionTables(step: BConvStep, inH: number, inW: number, tapCorrection?: Int32Array): { cls: Int32Array; corr: Int32Array } {
  const { kernel: k, stride: s, pad, cout } = step, { h: oh, w: ow } = step.out;
  const cls = new Int32Array(oh * ow);
  if (!tapCorrection) return { cls, corr: new Int32Array(cout) };
  const mask = (o: number, size: number) => { let m = 0; for (let t = 0; t < k; t++) { const i = o * s - pad + t; if (i < 0 || i >= size) m |= 1 << t; } return m; };
  const rowM = Array.from({ length: oh }, (_, y) => mask(y, inH)), colM = Array.from({ length: ow }, (_, x) => mask(x, inW));
  const classes = new Map<string, number>([['0/0', 0]]);
  const vecs: Int32Array[] = [new Int32Array(cout)];
  const taps = k * k;
  for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) {
    const key = `${rowM[y]}/${colM[x]}`;
    let c = classes.get(key);
    if (c === undefined) {
      c = vecs.length;
      classes.set(key, c);
      const v = new Int32Array(cout);
      for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
        if (!((rowM[y] >> ky) & 1) && !((colM[x] >> kx) & 1)) continue;
        for (let o = 0; o < cout; o++) v[o] += tapCorrection[o * taps + ky * k + kx];
      }
      vecs.push(v);
    }
    cls[y * ow + x] = c * cout * 4;
  }
  const corr = new Int32Array(vecs.length * cout);
  vecs.forEach((v, i) => corr.set(v, i * cout));
  return { cls, corr };
}

/** Compiles a new program in a new region (residentProgram caches one per plan and taps mode). */
export function compileResident(plan: ExecPlan, taps: boolean, fallback: StepExecutor): ResidentProgram {
  const bytes = new ResidentProgram(plan, taps, fallback).bytes;
  const owner = {};
  return new ResidentProgram(plan, taps, fallback, allocRegion(owner, bytes), owner);
}

/** The cached program of a plan (compiled on first use, again when its weights or region changed). */
export function residentProgram(plan: ExecPlan, taps: boolean, fallback: StepExecutor): ResidentProgram {
  let m = programs.get(plan);
  if (!m) { m = {}; programs.set(plan, m); }
  const key = taps ? 'taps' : 'plain';
  let p = m[key];
  if (!p || !p.valid()) { p = compileResident(plan, taps, fallback); m[key] = p; }
  return p;
}

const programs = new WeakMap<ExecPlan, { plain?: ResidentProgram; taps?: ResidentProgram }>();

/** Runs a plan resident in the fast kernels' memory (compiled on first use per plan and taps mode). */
export function runResident(plan: ExecPlan, input: Tensor, taps: boolean, fallback: StepExecutor) {
  return residentProgram(plan, taps, fallback).run(input);
}
