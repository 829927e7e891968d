/**
 * Functional execution: every layer runs tile by tile with the mapping the timing model chose; each tile's
 * operands are copied from "DRAM" (full tensors written by earlier layers) into the modelled buffers, whose
 * per-tile capacity is enforced, and computed with the SAME KernelSet the golden model uses (tile-level
 * kernel calls on tile sub-tensors) and the golden real-valued ops (golden/ops.ts) in the same order, with
 * every stored real value rounded to the plan's real-stream format (core/realformat.ts) as golden does. So
 * every step's output must equal the golden model's taps bit for bit; verifyAgainstGolden checks that and
 * names the layer, step, tile and (y, x, c) of the first difference. The tiles, their order and geometry
 * (output rows and channels, k-tiles, the band's input rows and actscale window rows) and the tile index of
 * a mismatch are the tiling's (tiling.ts), the same the timing model evaluated.
 *
 * Tiles on sub-tensors with the kernels' symmetric padding: a band of output rows [oy0, oy1) of a window
 * (k, s, p) reads input rows from oy0*s - p. The kernel always starts output row 0 at input row -p, so the
 * sub-tensor starts at input row R0 = (oy0 - j0)*s with j0 = min(oy0, ceil(p/s)): kernel output row j then
 * reads sub row j*s - p + ky, i.e. image row (oy0 - j0 + j)*s - p + ky. For the kept rows j >= j0 that is
 * >= 0 inside the sub-tensor, so only true image borders look like padding; the first j0 output rows are
 * discarded (a simulator artefact; the hardware does not compute them and the timing model does not count
 * them). The sub-tensor ends at min(H, (oy1-1)*s - p + k), so the bottom border is the image's own.
 * When the kernel set has ElementOps (kernels.ops, bit-identical to golden/ops.ts by contract), tiles use
 * them exactly as golden/run.ts does: a binary conv tile whose K is whole runs the fused xnorConv (integer
 * accumulators + output transform), and bn / add / sign / pooling tiles the vectorised ops. Sub-tensors
 * that are contiguous in the source (all channels / packed words of a row range) are views, not copies, and
 * weight tiles are sliced once per (weight array, tile) and kept (WeakMap on the weight array, re-checked
 * against the source on every use), so the kernels' packed-weight caches hit as they do for golden.
 * K-tiles of a binary conv split the packed words of each pixel: each slice's dot is C_slice -
 * 2*popcount (zero padding bits XOR to 0, and for padMode 'one' the per-slice C_slice - 2*popcount(w)
 * sums to the whole), and the integer partial sums add exactly in the outputs buffer.
 */
import { createHash } from 'node:crypto';
import { packSigns, tensor, type PackedTensor, type Tensor } from '../core/tensor.ts';
import { wordsFor } from '../core/bits.ts';
import type { ElementOps, KernelSet } from '../kernels/types.ts';
import { fastKernels } from '../kernels/fast.ts';
import { quantizeInPlace, type RealFormat } from '../core/realformat.ts';
import type { ExecPlan, ExecStep } from '../golden/plan.ts';
import { stepOutput } from '../golden/plan.ts';
import { runPlan } from '../golden/run.ts';
import { actScaleApply, addApply, bnApply, clipApply, gapApply, poolApply, reluApply, xnorOutputTransform } from '../golden/ops.ts';
import type { BufferName, ResolvedArch } from './arch.ts';
import { bitsPixelBytes, realOperandBits, type SimLayer } from './layers.ts';
import { TileCursor, tileIndex, tilingOf, type Mapping } from './tiling.ts';

type Value = Tensor | PackedTensor;
const isPacked = (v: Value): v is PackedTensor => 'words' in v;

export interface Mismatch { layer: string; step: string; what: 'output' | 'accumulator'; tile: number; band: number; channelTile: number; coordinate: [number, number, number]; expected: string; got: string; differing: number }
export interface FunctionalReport {
  ms: number; kernels: string; layers: number; tiles: number; kernelCalls: number;
  /** peak modelled bytes per buffer over all tiles (<= the per-tile capacity) */
  peakBufferBytes: Record<BufferName, number>;
  logitsSha256: string;
  verified?: boolean; goldenMs?: number; stepsChecked?: number; accumulatorsChecked?: number; mismatches?: Mismatch[];
}
export interface FunctionalRun { report: FunctionalReport; probe: Map<string, Value>; accs: Map<string, Int32Array>; logits: Float32Array }

/** A modelled buffer: per-tile allocation of modelled bytes against the per-tile capacity. */
class Sram {
  used = 0; peak = 0;
  constructor(readonly name: BufferName, readonly capacity: number) {}
  reset(): void { this.used = 0; }
  take(modelBytes: number, what: string): void {
    this.used += modelBytes;
    if (this.used > this.capacity + 1e-9) throw new Error(`sim functional: ${what} overflows the ${this.name} buffer (${this.used} B > ${this.capacity} B per tile): mapper/footprint disagree`);
    if (this.used > this.peak) this.peak = this.used;
  }
}

/** Rows [r0, r1) and packed words [w0, w1) of every pixel as a packed sub-tensor (a view when all words are kept). */
function packedRows(src: PackedTensor, r0: number, r1: number, w0: number, w1: number, c: number): PackedTensor {
  const wpp = w1 - w0, W = src.w;
  if (w0 === 0 && wpp === src.wordsPerPixel) return { h: r1 - r0, w: W, c, wordsPerPixel: wpp, words: src.words.subarray(r0 * W * wpp, r1 * W * wpp) };
  const out: PackedTensor = { h: r1 - r0, w: W, c, wordsPerPixel: wpp, words: new Uint32Array((r1 - r0) * W * wpp) };
  const s = src.words, d = out.words, swpp = src.wordsPerPixel;
  for (let p = 0, q = r0 * W; p < (r1 - r0) * W; p++, q++) for (let i = 0, a = q * swpp + w0, b = p * wpp; i < wpp; i++) d[b + i] = s[a + i];
  return out;
}

/** Rows [r0, r1) and channels [c0, c1) as a real sub-tensor (a read-only view when all channels are kept). */
function realRows(src: Tensor, r0: number, r1: number, c0: number, c1: number): Tensor {
  const C = src.c, W = src.w, n = c1 - c0;
  if (c0 === 0 && c1 === C) return tensor(r1 - r0, W, n, src.data.subarray(r0 * W * C, r1 * W * C));
  const out = tensor(r1 - r0, W, n);
  const s = src.data, d = out.data;
  for (let p = 0, q = r0 * W; p < (r1 - r0) * W; p++, q++) for (let i = 0, a = q * C + c0, b = p * n; i < n; i++) d[b + i] = s[a + i];
  return out;
}

/**
 * Rows [y0, y1) of the image (which may extend past its borders) with `pad` zero columns on the left and
 * enough on the right for `outW` outputs; out-of-image rows and columns are zero.
 */
function zeroPaddedRows(src: Tensor, y0: number, y1: number, pad: number, outW: number, k: number, s: number): Tensor {
  const C = src.c, W = (outW - 1) * s + k;
  const out = tensor(y1 - y0, W, C);
  for (let y = Math.max(0, y0); y < Math.min(src.h, y1); y++) {
    const x0 = Math.max(0, -pad), x1 = Math.min(src.w, W - pad);
    out.data.set(src.data.subarray((y * src.w + x0) * C, (y * src.w + x1) * C), ((y - y0) * W + x0 + pad) * C);
  }
  return out;
}

/** Drops the first j rows of a real tile and keeps `rows` rows (a view of the tile). */
function dropRows(t: Tensor, j: number, rows: number): Tensor {
  if (j === 0 && rows === t.h) return t;
  const row = t.w * t.c;
  return tensor(rows, t.w, t.c, t.data.subarray(j * row, (j + rows) * row));
}

/**
 * Weight tiles, sliced once per (source array, tile) and kept while the source lives. A kept slice is
 * compared with its source on every use and replaced by a new array when they differ (so kernel caches
 * keyed on the slice's identity never see stale weights). The whole array is passed as it is.
 */
const sliceCache = new WeakMap<object, Map<string, Uint32Array | Float32Array>>();
/** Bitwise equality of two ranges. */
function sameRange(a: Uint32Array | Float32Array, b: Uint32Array | Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Int32Array(a.buffer, a.byteOffset, a.length), y = new Int32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
function cachedSlice<T extends Uint32Array | Float32Array>(src: T, key: string, make: () => T, same: (kept: T) => boolean): T {
  let m = sliceCache.get(src);
  if (!m) { m = new Map(); sliceCache.set(src, m); }
  const kept = m.get(key) as T | undefined;
  if (kept && same(kept)) return kept;
  const fresh = make();
  m.set(key, fresh);
  return fresh;
}
function floatRange(src: Float32Array, start: number, end: number): Float32Array {
  if (start === 0 && end === src.length) return src;
  return cachedSlice(src, `${start}/${end}`, () => src.slice(start, end), (kept) => sameRange(src.subarray(start, end), kept));
}
/** Binary weights of output channels [c0, c0+nt) and packed words [w0, w1) of each (channel, tap). */
function binaryWeightTile(src: Uint32Array, kk: number, wpp: number, c0: number, nt: number, w0: number, w1: number): Uint32Array {
  const twpp = w1 - w0;
  if (w0 === 0 && twpp === wpp) {
    const start = c0 * kk * wpp, end = (c0 + nt) * kk * wpp;
    if (start === 0 && end === src.length) return src;
    return cachedSlice(src, `${start}/${end}`, () => src.slice(start, end), (kept) => sameRange(src.subarray(start, end), kept));
  }
  const make = () => {
    const wt = new Uint32Array(nt * kk * twpp);
    for (let o = 0; o < nt; o++) for (let tap = 0; tap < kk; tap++) {
      const s = ((c0 + o) * kk + tap) * wpp;
      wt.set(src.subarray(s + w0, s + w1), (o * kk + tap) * twpp);
    }
    return wt;
  };
  const same = (kept: Uint32Array) => {
    for (let o = 0; o < nt; o++) for (let tap = 0; tap < kk; tap++) {
      const s = ((c0 + o) * kk + tap) * wpp, d = (o * kk + tap) * twpp;
      for (let i = 0; i < twpp; i++) if (kept[d + i] !== src[s + w0 + i]) return false;
    }
    return true;
  };
  return cachedSlice(src, `${c0}/${nt}/${w0}/${w1}/${kk}`, make, same);
}

function writeReal(dst: Tensor, tile: Tensor, oy0: number, c0: number): void {
  const C = dst.c, W = dst.w, n = tile.c;
  if (c0 === 0 && n === C) { dst.data.set(tile.data, oy0 * W * C); return; }
  const s = tile.data, d = dst.data;
  for (let p = 0, q = oy0 * W; p < tile.h * W; p++, q++) for (let i = 0, a = p * n, b = q * C + c0; i < n; i++) d[b + i] = s[a + i];
}

function writeBits(dst: PackedTensor, tile: PackedTensor, oy0: number, c0: number): void {
  const W = dst.w, wpp = dst.wordsPerPixel, twpp = tile.wordsPerPixel;
  for (let p = 0, q = oy0 * W; p < tile.h * W; p++, q++) {
    if ((c0 & 31) === 0) {
      const base = q * wpp + (c0 >>> 5);
      for (let k = 0; k < twpp; k++) dst.words[base + k] = (dst.words[base + k] | tile.words[p * twpp + k]) >>> 0;
    } else {
      for (let ch = 0; ch < tile.c; ch++) {
        const bit = (tile.words[p * twpp + (ch >>> 5)] >>> (ch & 31)) & 1;
        const cc = c0 + ch;
        if (bit) dst.words[q * wpp + (cc >>> 5)] = (dst.words[q * wpp + (cc >>> 5)] | (1 << (cc & 31))) >>> 0;
      }
    }
  }
}

function writeAcc(dst: Int32Array, tile: Int32Array, rows: number, W: number, C: number, oy0: number, c0: number, n: number): void {
  if (c0 === 0 && n === C) { dst.set(tile, oy0 * W * C); return; }
  for (let p = 0, q = oy0 * W; p < rows * W; p++, q++) for (let i = 0, a = p * n, b = q * C + c0; i < n; i++) dst[b + i] = tile[a + i];
}

/**
 * `probe` (default true) keeps every step's full output and every binary conv's accumulators for
 * verifyAgainstGolden; without it only what later steps and layers read is assembled (the same values).
 */
export function runFunctional(plan: ExecPlan, layers: SimLayer[], mappings: Map<string, Mapping>, arch: ResolvedArch, input: Tensor, kernels: KernelSet = fastKernels, opts: { probe?: boolean } = {}): FunctionalRun {
  // many small tile calls: on this 2-core machine a worker hand-off per tile cost more than its split saved
  // (functional 2-4x slower with hand-offs under load, bench/sim.ts), so tiles run on the calling thread
  return kernels.onCallingThread ? kernels.onCallingThread(() => functionalRun(plan, layers, mappings, arch, input, kernels, opts)) : functionalRun(plan, layers, mappings, arch, input, kernels, opts);
}

function functionalRun(plan: ExecPlan, layers: SimLayer[], mappings: Map<string, Mapping>, arch: ResolvedArch, input: Tensor, kernels: KernelSet, opts: { probe?: boolean }): FunctionalRun {
  const keepAll = opts.probe ?? true;
  const fmt = plan.realFormat;
  const t0 = performance.now();
  const dram = new Map<string, Value>([['input', input]]);
  const probe = new Map<string, Value>();
  const accs = new Map<string, Int32Array>();
  const srams = {} as Record<BufferName, Sram>;
  for (const b of ['weights', 'inputs', 'realStream', 'outputs'] as BufferName[]) srams[b] = new Sram(b, arch.buffers[b].tileBytes);
  const realB = arch.realBits / 8;
  let tiles = 0, kernelCalls = 0;
  const onArray = (l: SimLayer) => l.unit === 'pe-array' || (l.unit === 'real-unit' && arch.realUnit.onPeArray);
  const ops = kernels.ops ?? {}; // the same optional element ops golden/run.ts uses
  const sramList = Object.values(srams);

  for (const l of layers) {
    const m = mappings.get(l.id)!;
    const a = l.anchor;
    const Ho = l.out.h, Wo = l.out.w, N = l.out.c;
    // the tiling the timing model evaluated (tiling.ts): loop order, tile geometry, input and window rows
    const tiling = tilingOf(l, m), nk = tiling.kTiles;
    const get = (name: string): Value => { const v = dram.get(name); if (!v) throw new Error(`sim functional: tensor ${name} not in DRAM for ${l.id}`); return v; };
    // full-size results of every step of the layer (probe for verification; the layer's outputs go to DRAM)
    const full = new Map<string, Value>();
    const read = new Set<string>(l.outputs.map((o) => o.name));
    for (const s of l.steps) for (const n of s.inputs) read.add(n);
    for (const s of l.steps) {
      const o = s.out;
      if (!keepAll && !read.has(stepOutput(s))) continue;
      full.set(stepOutput(s), s.kind === 'sign' ? { h: o.h, w: o.w, c: o.c, wordsPerPixel: wordsFor(o.c), words: new Uint32Array(o.h * o.w * wordsFor(o.c)) } : tensor(o.h, o.w, o.c));
    }
    const fullAcc = a.kind === 'xnor' && keepAll ? new Int32Array(Ho * Wo * N) : undefined;
    const inBuf: BufferName = onArray(l) ? 'inputs' : 'realStream';
    let acc: Int32Array | undefined;
    const t = new TileCursor(tiling);
    while (t.next()) {
      tiles++;
      for (const s of sramList) s.reset();
      const { oy0, oy1, rows, c0, channels: nt, k0, cin: ct, firstK, lastK } = t;
      // sub-tensor start for the kernels' symmetric padding (header); the band's input rows end at inHi
      const j0 = Math.min(oy0, Math.ceil(l.pad / l.stride));
      const R0 = (oy0 - j0) * l.stride, R1 = t.inHi;
      const neededRows = t.inHi - t.inLo;
      let val: Value | undefined;
      switch (a.kind) {
        case 'xnor': {
          const x = get(a.inputs[0]) as PackedTensor;
          const w0 = k0 >>> 5, w1 = wordsFor(k0 + ct);
          srams[inBuf].take(neededRows * l.input.w * bitsPixelBytes(ct, arch), `${l.id} input tile`);
          const sub = packedRows(x, R0, R1, w0, w1, ct);
          const wpp = x.wordsPerPixel, kk = a.kernel * a.kernel, twpp = w1 - w0;
          srams.weights.take(nt * kk * bitsPixelBytes(ct, arch) + nt * l.paramWordsPerChannel * 4, `${l.id} weight tile`);
          const wt = binaryWeightTile(a.weightBits, kk, wpp, c0, nt, w0, w1);
          const args = { input: sub, weightBits: wt, cout: nt, kernel: a.kernel, stride: a.stride, pad: a.pad, padMode: a.padMode, outH: rows + j0, outW: Wo };
          const accBits = arch.peArray.type === 'xnor' ? arch.peArray.accumulatorBits : realOperandBits(arch);
          srams.outputs.take((rows * Wo * nt * accBits) / 8, `${l.id} accumulators`);
          const keep0 = j0 * Wo * nt, keep1 = (j0 + rows) * Wo * nt;
          if (nk === 1 && ops.xnorConv) {
            // whole K in one tile: the fused conv + output transform, as golden runs it
            const r = ops.xnorConv(args, a.mul.subarray(c0, c0 + nt), a.bias.subarray(c0, c0 + nt));
            kernelCalls++;
            if (fullAcc) writeAcc(fullAcc, r.acc.subarray(keep0, keep1), rows, Wo, N, oy0, c0, nt);
            val = dropRows(r.out, j0, rows);
            break;
          }
          const part = kernels.binaryConv(args);
          kernelCalls++;
          const kept = part.subarray(keep0, keep1); // the kernel's fresh array: accumulated in place
          if (firstK) acc = kept;
          else for (let i = 0; i < acc!.length; i++) acc![i] += kept[i];
          if (lastK) {
            if (fullAcc) writeAcc(fullAcc, acc!, rows, Wo, N, oy0, c0, nt);
            val = xnorOutputTransform(acc!, a.mul.subarray(c0, c0 + nt), a.bias.subarray(c0, c0 + nt), rows, Wo, nt);
          }
          break;
        }
        case 'conv': {
          const x = get(a.inputs[0]) as Tensor;
          srams[inBuf].take(neededRows * l.input.w * l.cin * realB, `${l.id} input tile`);
          // explicit zero padding (functional artefact, not modelled traffic): adding a +-0 product to an fp32
          // sum that starts at +0 never changes its bits, so this equals the kernel's skipped border taps
          const sub = zeroPaddedRows(x, oy0 * a.stride - a.pad, (oy1 - 1) * a.stride - a.pad + a.kernel, a.pad, Wo, a.kernel, a.stride);
          const per = a.kernel * a.kernel * a.cin;
          srams.weights.take((nt * per * realOperandBits(arch)) / 8 + nt * l.paramWordsPerChannel * 4, `${l.id} weight tile`);
          const wt = floatRange(a.weight, c0 * per, (c0 + nt) * per);
          const y = kernels.realConv({ input: sub, weight: wt, bias: a.bias?.subarray(c0, c0 + nt), cout: nt, kernel: a.kernel, stride: a.stride, pad: 0, outH: rows, outW: Wo });
          kernelCalls++;
          val = tensor(rows, Wo, nt, y);
          break;
        }
        case 'fc': {
          const x = get(a.inputs[0]) as Tensor;
          srams[inBuf].take(x.data.length * realB, `${l.id} input`);
          const inF = a.inFeatures;
          srams.weights.take((nt * inF * realOperandBits(arch)) / 8 + nt * l.paramWordsPerChannel * 4, `${l.id} weight tile`);
          const y = kernels.fc({ input: x.data, weight: floatRange(a.weight, c0 * inF, (c0 + nt) * inF), bias: a.bias?.subarray(c0, c0 + nt), outFeatures: nt });
          kernelCalls++;
          val = tensor(1, 1, nt, y);
          break;
        }
        case 'avgpool': case 'maxpool': {
          const x = get(a.inputs[0]) as Tensor;
          srams.realStream.take(neededRows * x.w * nt * realB, `${l.id} input tile`);
          const sub = realRows(x, R0, R1, c0, c0 + nt);
          val = dropRows((ops.pool ?? poolApply)(sub, a.kind, a.kernel, a.stride, a.pad), j0, rows);
          break;
        }
        case 'gap': {
          const x = get(a.inputs[0]) as Tensor;
          srams.realStream.take(x.h * x.w * nt * realB, `${l.id} input tile`);
          val = gapApply(realRows(x, 0, x.h, c0, c0 + nt));
          break;
        }
        default: break; // stand-alone post-op layer: handled by the chain below
      }
      if (!lastK) continue;
      // post-op chain in plan order (the anchor itself when the layer is a stand-alone post-op)
      let current = l.unit === 'ppu' ? a.inputs[0] : stepOutput(a);
      if (l.unit === 'ppu') {
        const x = get(current) as Tensor;
        srams.realStream.take(rows * Wo * nt * realB, `${l.id} input tile`);
        val = realRows(x, oy0, oy1, c0, c0 + nt);
        if (val.data.buffer === x.data.buffer) val = tensor(val.h, val.w, val.c, val.data.slice()); // the chain may round in place
      } else {
        roundReal(val!, fmt);
        const dst = full.get(current);
        if (dst) writeTile(dst, val!, oy0, c0);
      }
      const chain = l.unit === 'ppu' ? l.steps : l.steps.slice(1);
      for (const s of chain) {
        val = applyPost(s, val!, current, (name) => {
          // a streamed operand (side input) or an earlier result of this layer
          const own = full.get(name);
          if (own && name !== current && l.steps.some((q) => stepOutput(q) === name)) return realRows(own as Tensor, oy0, oy1, c0, c0 + nt);
          const v = get(name) as Tensor;
          srams.realStream.take(rows * Wo * nt * realB, `${l.id} side input ${name}`);
          return realRows(v, oy0, oy1, c0, c0 + nt);
        }, (name, ka, sa, pa) => {
          const v = get(name) as Tensor;
          const aw = l.actWindow;
          if (!aw || aw.kernel !== ka || aw.stride !== sa || aw.pad !== pa) throw new Error(`sim functional: ${l.id}: actscale window (${ka}, ${sa}, ${pa}) is not the layer's tiled window`);
          const ja = Math.min(oy0, Math.ceil(pa / sa));
          srams.realStream.take((t.winHi - t.winLo) * v.w * v.c * realB, `${l.id} actscale window ${name}`);
          return { x: realRows(v, (oy0 - ja) * sa, t.winHi, 0, v.c), j: ja };
        }, rows, c0, ops);
        roundReal(val, fmt);
        current = stepOutput(s);
        const dst = full.get(current);
        if (dst) writeTile(dst, val, oy0, c0);
      }
      // output tiles staged for DRAM
      for (const o of l.outputs) srams[o.dtype === 'bits' ? 'outputs' : 'realStream'].take(o.dtype === 'bits' ? rows * Wo * bitsPixelBytes(nt, arch) : rows * Wo * nt * realB, `${l.id} output tile ${o.name}`);
    }
    for (const [name, v] of full) probe.set(name, v);
    if (fullAcc) accs.set(a.id, fullAcc);
    for (const o of l.outputs) dram.set(o.name, full.get(o.name)!);
  }
  const out = dram.get(plan.output) as Tensor;
  const logits = out.data;
  const peakBufferBytes = {} as Record<BufferName, number>;
  for (const [k, s] of Object.entries(srams)) peakBufferBytes[k as BufferName] = s.peak;
  const report: FunctionalReport = {
    ms: performance.now() - t0, kernels: kernels.name, layers: layers.length, tiles, kernelCalls, peakBufferBytes,
    logitsSha256: createHash('sha256').update(new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength)).digest('hex'),
  };
  return { report, probe, accs, logits };
}

/** Every real tensor a step stores is rounded to the plan's real-stream format (element-wise, as golden does). */
function roundReal(v: Value, fmt: RealFormat): void {
  if (fmt.kind !== 'fp32' && !isPacked(v)) quantizeInPlace(v.data, fmt);
}

function writeTile(dst: Value, tile: Value, oy0: number, c0: number): void {
  if (isPacked(dst)) writeBits(dst, tile as PackedTensor, oy0, c0);
  else writeReal(dst, tile as Tensor, oy0, c0);
}

function applyPost(
  s: ExecStep, val: Value, current: string,
  side: (name: string) => Tensor,
  window: (name: string, k: number, s: number, p: number) => { x: Tensor; j: number },
  rows: number, c0: number, ops: Partial<ElementOps>,
): Value {
  const v = val as Tensor;
  switch (s.kind) {
    case 'bn': return (ops.bn ?? bnApply)(v, s.scale.subarray(c0, c0 + v.c), s.shift.subarray(c0, c0 + v.c));
    case 'add': {
      const [i0, i1] = s.inputs;
      const add = ops.add ?? addApply;
      return i0 === current ? add(v, side(i1)) : add(side(i0), v);
    }
    case 'sign': return (ops.signPack ?? packSigns)(v);
    case 'relu': return reluApply(v);
    case 'clip': return clipApply(v);
    case 'actscale': {
      const { x, j } = window(s.inputs[1], s.kernel, s.stride, s.pad);
      const padded = tensor(rows + j, v.w, v.c);
      padded.data.set(v.data, j * v.w * v.c);
      return dropRows(actScaleApply(padded, x, s.kernel, s.stride, s.pad), j, rows);
    }
    default: throw new Error(`sim functional: ${s.kind} is not a post-op`);
  }
}

/** Runs the golden model with taps and compares every step output and binary-conv accumulator bit for bit. */
export function verifyAgainstGolden(plan: ExecPlan, layers: SimLayer[], mappings: Map<string, Mapping>, run: FunctionalRun, input: Tensor, kernels: KernelSet = fastKernels): FunctionalReport {
  const t0 = performance.now();
  const golden = runPlan(plan, input, { taps: true, kernels });
  const goldenMs = performance.now() - t0;
  const mismatches: Mismatch[] = [];
  let stepsChecked = 0, accumulatorsChecked = 0;
  for (const l of layers) {
    const tiling = tilingOf(l, mappings.get(l.id)!);
    const r = tiling.rowsPerTile, nt = tiling.channelsPerTile;
    const report = (step: ExecStep, what: 'output' | 'accumulator', idx: number, count: number, expected: string, got: string, c: number, w: number) => {
      const ch = idx % c, px = Math.floor(idx / c), y = Math.floor(px / w), x = px % w;
      const band = Math.floor(y / r), n = Math.floor(ch / nt);
      // the output tile (band, n) is complete at its last k-tile
      mismatches.push({ layer: l.id, step: step.id, what, tile: tileIndex(tiling, band, n, tiling.kTiles - 1), band, channelTile: n, coordinate: [y, x, ch], expected, got, differing: count });
    };
    for (const s of l.steps) {
      const tap = golden.taps.get(s.id)!;
      const mine = run.probe.get(stepOutput(s))!;
      stepsChecked++;
      if (tap.bits) {
        const got = mine as PackedTensor, exp = tap.bits;
        let first = -1, count = 0;
        for (let i = 0; i < exp.words.length; i++) if (exp.words[i] !== got.words[i]) { count++; if (first < 0) first = i; }
        if (count) {
          const px = Math.floor(first / exp.wordsPerPixel), diff = (exp.words[first] ^ got.words[first]) >>> 0;
          const ch = (first % exp.wordsPerPixel) * 32 + (31 - Math.clz32(diff & -diff));
          report(s, 'output', px * exp.c + ch, count, `bit ${(exp.words[first] >>> (ch & 31)) & 1}`, `bit ${(got.words[first] >>> (ch & 31)) & 1}`, exp.c, exp.w);
        }
      } else {
        const exp = tap.real!, got = mine as Tensor;
        const eu = new Uint32Array(exp.data.buffer, exp.data.byteOffset, exp.data.length), gu = new Uint32Array(got.data.buffer, got.data.byteOffset, got.data.length);
        let first = -1, count = 0;
        for (let i = 0; i < eu.length; i++) if (eu[i] !== gu[i]) { count++; if (first < 0) first = i; }
        if (count) report(s, 'output', first, count, String(exp.data[first]), String(got.data[first]), exp.c, exp.w);
      }
      if (tap.acc && s.kind === 'xnor') {
        accumulatorsChecked++;
        const got = run.accs.get(s.id)!, exp = tap.acc;
        let first = -1, count = 0;
        for (let i = 0; i < exp.length; i++) if (exp[i] !== got[i]) { count++; if (first < 0) first = i; }
        if (count) report(s, 'accumulator', first, count, String(exp[first]), String(got[first]), s.out.c, s.out.w);
      }
    }
  }
  return { ...run.report, verified: mismatches.length === 0, goldenMs, stepsChecked, accumulatorsChecked, mismatches };
}
