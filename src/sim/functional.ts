/**
 * Functional execution: every layer (a fused group of the plan) runs tile by tile with the mapping the timing
 * model chose; each tile's operands are copied from "DRAM" (full tensors written by earlier layers) into the
 * modelled buffers, whose per-tile capacity is enforced, and computed by the SAME function the golden model
 * runs: each step's op module's `execute` (src/ops), on the step restricted to the tile by the op's `slice`
 * (its output channels, and for a binary conv's k-tile the packed words of its input channels), with the same
 * KernelSet, and every stored real value rounded to the plan's real-stream format as golden does. So every
 * step's output must equal the golden model's taps bit for bit; verifyAgainstGolden checks that and names
 * the layer, step, tile and (y, x, c) of the first difference.
 * The tiles, their order and geometry (output rows and channels, k-tiles, the band's input rows and the window
 * side input's rows) and the tile index of a mismatch are the tiling's (tiling.ts), the same the timing model
 * evaluated.
 *
 * Tiles on sub-tensors with the ops' symmetric padding: a band of output rows [oy0, oy1) of a window
 * (k, s, p) reads input rows from oy0*s - p. The op always starts output row 0 at input row -p, so the
 * sub-tensor starts at input row R0 = (oy0 - j0)*s with j0 = min(oy0, ceil(p/s)): output row j of the
 * sub-step then reads sub row j*s - p + ky, i.e. image row (oy0 - j0 + j)*s - p + ky. For the kept rows
 * j >= j0 that is >= 0 inside the sub-tensor, so only true image borders look like padding; the first j0
 * output rows are discarded (a simulator artefact; the hardware does not compute them and the timing model
 * does not count them). The sub-tensor ends at min(H, (oy1-1)*s - p + k), so the bottom border is the
 * image's own. A window side input (an XNOR-Net actscale's x) is cut the same way with its own window.
 * K-tiles of a binary conv split the packed words of each pixel (ops with `splitK`): each slice's dot is
 * C_slice - 2*popcount (zero padding bits XOR to 0, and for padMode 'one' the per-slice C_slice - 2*popcount(w)
 * sums to the whole), and the integer partial sums add exactly in the outputs buffer; the output transform
 * runs after the last k-tile. Sub-tensors that are contiguous in the source (all channels / packed words of a
 * row range) are views, not copies; parameter slices are cached by the op modules (ops/common.ts), so the
 * kernels' packed-weight caches hit as they do for golden.
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
import { opOf } from '../ops/index.ts';
import type { BufferName, ResolvedArch } from './arch.ts';
import { bitsPixelBytes, realOperandBits, type SimLayer } from './layers.ts';
import { TileCursor, tileIndex, tilingOf, type Mapping } from './tiling.ts';
import { segmentInputTensor } from '../ir/segments.ts';

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

/** Drops the first j rows of a real tile and keeps `rows` rows (a view of the tile). */
function dropRows(t: Tensor, j: number, rows: number): Tensor {
  if (j === 0 && rows === t.h) return t;
  const row = t.w * t.c;
  return tensor(rows, t.w, t.c, t.data.subarray(j * row, (j + rows) * row));
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
  for (const [name, t] of plan.net.segmentInputs) dram.set(name, segmentInputTensor(name, t));
  const probe = new Map<string, Value>();
  const accs = new Map<string, Int32Array>();
  const srams = {} as Record<BufferName, Sram>;
  for (const b of ['weights', 'inputs', 'realStream', 'outputs'] as BufferName[]) srams[b] = new Sram(b, arch.buffers[b].tileBytes);
  const realB = arch.realBits / 8;
  let tiles = 0, kernelCalls = 0;
  const onArray = (l: SimLayer) => l.unit === 'pe-array' || (l.unit === 'real-unit' && arch.realUnit.onPeArray);
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
      full.set(stepOutput(s), o.dtype === 'bits' ? { h: o.h, w: o.w, c: o.c, wordsPerPixel: wordsFor(o.c), words: new Uint32Array(o.h * o.w * wordsFor(o.c)) } : tensor(o.h, o.w, o.c));
    }
    const mod = opOf(a);
    const fullAcc = mod.executesAs === 'xnor' && keepAll ? new Int32Array(Ho * Wo * N) : undefined;
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
      if (l.unit !== 'ppu') {
        // the anchor on this tile: input rows [R0, R1) (kernel output rows j < j0 are discarded), its output
        // channels [c0, c0 + nt), and for a binary k-tile the packed words of input channels [k0, k0 + ct)
        const x = get(a.inputs[0]);
        const bits = isPacked(x);
        const inCh = l.channelwise ? nt : bits ? ct : l.cin;
        srams[inBuf].take(neededRows * l.input.w * (bits ? bitsPixelBytes(ct, arch) : inCh * realB), `${l.id} input tile`);
        const sub: Value = bits ? packedRows(x, R0, R1, k0 >>> 5, wordsFor(k0 + ct), ct) : realRows(x, R0, R1, l.channelwise ? c0 : 0, l.channelwise ? c0 + nt : l.cin);
        const subInfo = { h: sub.h, w: sub.w, c: sub.c, dtype: bits ? 'bits' as const : 'real' as const };
        const computes = l.unit === 'pe-array' || l.unit === 'real-unit';
        if (computes) {
          const kk = l.kh * l.kw;
          srams.weights.take((l.binary ? nt * kk * bitsPixelBytes(ct, arch) : (nt * kk * l.cin * realOperandBits(arch)) / 8) + nt * l.paramWordsPerChannel * 4, `${l.id} weight tile`);
          kernelCalls++;
        }
        const slice = (outH: number) => mod.slice(a, { c0, c1: c0 + nt, k0, k1: k0 + ct, inShapes: [subInfo], outH });
        if (mod.splitK && nk > 1) {
          // a k-tile: integer partial sums add exactly in the outputs buffer; the output transform after the last
          const accBits = arch.peArray.type === 'xnor' ? arch.peArray.accumulatorBits : realOperandBits(arch);
          srams.outputs.take((rows * Wo * nt * accBits) / 8, `${l.id} accumulators`);
          const part = mod.splitK.partial(slice(rows + j0), [sub], kernels);
          const kept = part.subarray(j0 * Wo * nt, (j0 + rows) * Wo * nt); // the kernel's fresh array: accumulated in place
          if (firstK) acc = kept;
          else for (let i = 0; i < acc!.length; i++) acc![i] += kept[i];
          if (lastK) {
            if (fullAcc) writeAcc(fullAcc, acc!, rows, Wo, N, oy0, c0, nt);
            val = mod.splitK.finish(slice(rows), acc!);
          }
        } else {
          if (mod.executesAs === 'xnor') {
            const accBits = arch.peArray.type === 'xnor' ? arch.peArray.accumulatorBits : realOperandBits(arch);
            srams.outputs.take((rows * Wo * nt * accBits) / 8, `${l.id} accumulators`);
          }
          const r = mod.execute(slice(rows + j0), [sub], kernels);
          if (fullAcc && r.acc) writeAcc(fullAcc, r.acc.subarray(j0 * Wo * nt, (j0 + rows) * Wo * nt), rows, Wo, N, oy0, c0, nt);
          val = dropRows(r.out as Tensor, j0, rows);
        }
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
        if (val === undefined) throw new Error(`sim functional: ${l.id} computed no value`);
        roundReal(val, fmt);
        const dst = full.get(current);
        if (dst) writeTile(dst, val, oy0, c0);
      }
      const chain = l.unit === 'ppu' ? l.steps : l.steps.slice(1);
      for (const s of chain) {
        const sm = opOf(s), win = sm.workload(s).sideWindow;
        // a window side input (an actscale's x: k x k over all channels) reads its own input rows; the op then
        // computes ja extra leading output rows that are discarded, as for the anchor's window
        const ja = win ? Math.min(oy0, Math.ceil(win.pad / win.stride)) : 0;
        const lead = (t: Tensor): Tensor => { if (!ja) return t; const p = tensor(rows + ja, t.w, t.c); p.data.set(t.data, ja * t.w * t.c); return p; };
        const chainValue = val as Tensor;
        const ins: Value[] = s.inputs.map((name) => {
          if (name === current) return lead(chainValue);
          const own = full.get(name);
          if (own && l.steps.some((q) => stepOutput(q) === name)) return lead(realRows(own as Tensor, oy0, oy1, c0, c0 + nt)); // an earlier result of this layer
          const v = get(name) as Tensor;
          if (win) {
            const aw = l.actWindow;
            if (!aw || aw.kernel !== win.kernel || aw.stride !== win.stride || aw.pad !== win.pad) throw new Error(`sim functional: ${l.id}: window side input (${win.kernel}, ${win.stride}, ${win.pad}) is not the layer's tiled window`);
            srams.realStream.take((t.winHi - t.winLo) * v.w * v.c * realB, `${l.id} window side input ${name}`);
            return realRows(v, (oy0 - ja) * win.stride, t.winHi, 0, v.c);
          }
          srams.realStream.take(rows * Wo * nt * realB, `${l.id} side input ${name}`);
          return lead(realRows(v, oy0, oy1, c0, c0 + nt));
        });
        const inShapes = ins.map((v) => ({ h: v.h, w: v.w, c: v.c, dtype: isPacked(v) ? 'bits' as const : 'real' as const }));
        const out = sm.execute(sm.slice(s, { c0, c1: c0 + nt, inShapes, outH: rows + ja }), ins, kernels).out;
        val = isPacked(out) ? out : dropRows(out, ja, rows);
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
      if (tap.acc && run.accs.has(s.id)) {
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
