/**
 * The 'fast' KernelSet: WebAssembly SIMD kernels (wat.ts) on a shared memory (wasm.ts), split across a
 * persistent worker pool (pool.ts). Every function returns exactly what kernels/reference.ts returns
 * (tested bit for bit in test/kernels).
 *
 * binaryConv: the packed NHWC input is copied once into a zero-bordered buffer; zero words are +1
 *   activations, so the wasm kernel computes the 'one' padding result dot1 = k*k*C - 2*popcount over
 *   every tap. For padMode 'zero' the out-of-bounds taps must contribute nothing instead of
 *   C - 2*popcount(w_tap) (the value a +1 pad gives), so at border outputs only:
 *     dot_zero = dot1 - sum_{out-of-bounds taps t} (C - 2*popcount(w_{o,t}))        (LCE's correction).
 *   The kernel reads windows in place (kernel rows = segments); when a row segment is short (< 16 words,
 *   i.e. C <= 160 at 3x3) the windows are first gathered into contiguous rows by a wasm im2col.
 * realConv / fc: the input is zero-bordered too. Adding the products 0 * w of out-of-bounds taps leaves
 *   the reference's accumulator unchanged: 0 * w = +-0 for finite w, acc + (+-0) = acc exactly, and acc
 *   is never -0 (it starts at +0, and x + y = -0 under round-to-nearest only when x = y = -0). So the
 *   zero-bordered loop is bit-exact for finite weights; weights with Inf/NaN (0 * Inf = NaN) take the
 *   reference path instead.
 * "Bit-identical" covers every bit of every non-NaN fp32 result (signed zeros included); the sign and
 * payload of a NaN are not specified (V8's own JS arithmetic gives 0x7fc00000 or 0xffc00000 for the same
 * expression depending on the compiler tier), only that it is a NaN.
 * The golden model does not go through these per-call wrappers for whole plans: golden/resident.ts runs a
 * plan resident in the wasm memory on the same kernels (runSplit, the packers below, the bconvx kernels
 * for short windows and the fused epilogues in wat.ts).
 * Weight layouts are packed once per weight array and cached (WeakMap on the array's identity). Each hit
 * re-reads 64 sampled entries of the source and repacks if any changed, which catches in-place updates
 * such as an optimiser step; a mutation that leaves every sampled entry unchanged would go unnoticed, so
 * weights should be replaced, not edited, between calls (sgemm never caches).
 */
import { popcount32 } from '../core/bits.ts';
import { outSize } from '../core/geometry.ts';
import { packedTensor, tensor, type PackedTensor, type Tensor } from '../core/tensor.ts';
import type { BinaryConvArgs, FcArgs, KernelSet, RealConvArgs } from './types.ts';
import { fcReference, realConvReference } from './reference.ts';
import { allocRegion, kernelExports, memory, ownsRegion, Scratch } from './wasm.ts';
import { KernelPool, defaultThreads } from './pool.ts';
import { SCONV_TILE } from './wat.ts';

// ---------------------------------------------------------------- threads

let pool: KernelPool | undefined;
let threads = defaultThreads();

/**
 * Sets the number of threads (1 = main thread only). Starts or stops workers as needed; going down to 1
 * keeps existing workers asleep (unused), so alternating 1 and n threads (benchmarks) does not restart them.
 */
export async function setKernelThreads(n: number): Promise<void> {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`setKernelThreads: expected a positive integer, got ${n}`);
  threads = n;
  if (n > 1 && pool && pool.workers !== n - 1) { const p = pool; pool = undefined; await p.close(); }
  if (n > 1) await getPool()!.ready();
}

/** The pool (created on first use), or undefined when running single-threaded. */
let callingThreadOnly = 0;
function getPool(): KernelPool | undefined {
  if (threads <= 1) return undefined;
  pool ??= new KernelPool(threads - 1, kernelExports);
  return pool;
}

/** The pool's counters (benchmarks), or undefined before a pool was started. */
export function poolStats(): { posted: number; cancelled: number; waitMs: number; backoffs: number } | undefined { return pool?.stats; }

/** Waits until the worker threads are running (optional: calls before that run on the main thread). */
export async function kernelsReady(): Promise<void> { await getPool()?.ready(); }

/** Stops the worker threads (they are unref()ed, so this is only needed to free them early). */
export async function closeKernelPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.close();
}

/** Counters for tests and benchmarks: kernel calls, and how many of them were split over threads. */
export const kernelStats = { calls: 0, parallelCalls: 0 };

/**
 * Minimum work worth waking a worker for (~20 us): fp32 multiply-accumulates, or binary ones divided by 8
 * (one core does ~10x more binary than fp32 MACs per second).
 */
const PARALLEL_MIN_WORK = 300_000;

/** How runSplit divides a call (all optional): see runSplit. */
export interface SplitOptions {
  /** split the row range or the tile range (default: the larger one, tiles when there are >= 2 per thread) */
  mode?: 'rows' | 'tiles';
  /** row ranges are cut at multiples of this many rows (e.g. one image row of pixels) */
  unit?: number;
  /** split only from this much work on (default PARALLEL_MIN_WORK) */
  minWork?: number;
}

/**
 * Runs kernel `fn` whose argument list holds a row range at rowArg/rowArg+1 and a channel-tile range at
 * tileArg/tileArg+1 (tileArg < 0: none), splitting one of the two ranges between the threads (in chunks,
 * each thread its own share first, see pool.ts runChunked).
 * Callers that chain several calls over the same rows (golden/resident.ts) pass the same mode and unit, so
 * each thread keeps working on the rows it produced (less data moving between cores).
 */
export function runSplit(fn: string, args: number[], rowArg: number, rows: number, tileArg: number, tiles: number, work: number, opts: SplitOptions = {}): void {
  const p = work >= (opts.minWork ?? PARALLEL_MIN_WORK) && callingThreadOnly === 0 ? getPool() : undefined;
  const unit = Math.max(1, opts.unit ?? 1), units = Math.ceil(rows / unit);
  const byTiles = tileArg >= 0 && (opts.mode ? opts.mode === 'tiles' : tiles >= units || tiles >= 2 * (p?.threads ?? 1));
  const n = p ? Math.min(p.threads, byTiles ? tiles : units) : 1;
  kernelStats.calls++;
  if (!p || n <= 1) {
    const a = args.slice();
    a[rowArg] = 0; a[rowArg + 1] = rows;
    if (tileArg >= 0) { a[tileArg] = 0; a[tileArg + 1] = tiles; }
    kernelExports[fn](...a);
    return;
  }
  const a = args.slice();
  a[rowArg] = 0; a[rowArg + 1] = rows;
  if (tileArg >= 0) { a[tileArg] = 0; a[tileArg + 1] = tiles; }
  kernelStats.parallelCalls++;
  if (byTiles) p.runChunked(fn, a, tileArg, tiles, 1);
  else p.runChunked(fn, a, rowArg, rows, unit);
}

// ---------------------------------------------------------------- binary conv

/**
 * Binary kernel variant: 'v128' (SIMD, 128-bit steps, wat.ts BCONV_TILES) or 'i64' (scalar i64.popcnt,
 * 64-bit steps, BCONV64_TILES), with its register tile P output pixels x O output channels.
 */
export interface BinaryKernelChoice {
  kind: 'v128' | 'i64'; P: number; O: number;
  /**
   * scalar kernels: pre-touch whole output rows (wat.ts TOUCH; default on: binary GEMM on 2 threads went
   * from 1.43x to 1.84x of 1 thread on an idle moment of this VM, the output lines otherwise bounce between
   * the cores' caches one at a time)
   */
  touch?: boolean;
  /** resident programs: gathered windows of <= 9 64-bit words use the unrolled bconvx kernels (default on) */
  short?: boolean;
  /** resident programs, with `short`: 3x3 windows over <= 64 channels read in place, no im2col (default on) */
  shortInPlace?: boolean;
}
let bKernel: BinaryKernelChoice = { kind: 'i64', P: 1, O: 4, touch: true };
/** For benchmarks: selects the binary kernel variant and register tile. */
export function setBinaryKernel(k: BinaryKernelChoice): void { bKernel = { ...k }; }
export function getBinaryKernel(): BinaryKernelChoice { return { ...bKernel }; }
/** Binary convs whose kernel-row segment is shorter than this many words are gathered (im2col) first. */
let IM2COL_BELOW_WORDS = 16;
export const im2colBelowWords = () => IM2COL_BELOW_WORDS;
/** For benchmarks and tests: the im2col threshold in words (0 disables the gather). */
export function setIm2colBelowWords(words: number): void { IM2COL_BELOW_WORDS = words; }

export interface PackedBinaryWeights { O: number; stepWords: number; words: Uint32Array; tapCorrection: Int32Array; probe: Float64Array }
const binaryWeightCache = new WeakMap<Uint32Array, Map<string, PackedBinaryWeights>>();

/** 64 evenly spaced entries of a weight array (cache validation, see header). */
const PROBES = 64;
export function probeOf(src: ArrayLike<number>): Float64Array {
  const p = new Float64Array(Math.min(PROBES, src.length));
  for (let i = 0; i < p.length; i++) p[i] = src[Math.floor((i * (src.length - 1)) / Math.max(1, p.length - 1))];
  return p;
}
export function probeMatches(src: ArrayLike<number>, probe: Float64Array): boolean {
  const n = probe.length;
  if (Math.min(PROBES, src.length) !== n) return false;
  for (let i = 0; i < n; i++) if (!Object.is(src[Math.floor((i * (src.length - 1)) / Math.max(1, n - 1))], probe[i])) return false;
  return true;
}

/**
 * Packs [cout][nseg][segWords] weight words into the kernel's layout [tile][seg][step][j][stepWords]
 * (stepWords = 4 for v128, 2 for i64; zero-padded steps and channels), plus the per-tap padding
 * corrections C - 2*popcount(w_{o,tap}).
 */
export function packBinaryWeights(src: Uint32Array, cout: number, nseg: number, segWords: number, tapsPerSeg: number, wordsPerTap: number, channels: number, layout?: { O: number; SW: number }): PackedBinaryWeights {
  const O = layout?.O ?? bKernel.O, SW = layout?.SW ?? (bKernel.kind === 'v128' ? 4 : 2);
  const key = `${cout}/${nseg}/${segWords}/${tapsPerSeg}/${O}/${SW}`;
  let m = binaryWeightCache.get(src);
  const hit = m?.get(key);
  if (hit && probeMatches(src, hit.probe)) return hit;
  if (src.length !== cout * nseg * segWords) throw new Error(`binaryConv: weightBits has ${src.length} words, expected ${cout * nseg * segWords}`);
  const steps = Math.ceil(segWords / SW), tiles = Math.ceil(cout / O);
  const words = new Uint32Array(tiles * nseg * steps * O * SW);
  let d = 0;
  for (let t = 0; t < tiles; t++) for (let s = 0; s < nseg; s++) for (let st = 0; st < steps; st++) for (let j = 0; j < O; j++) {
    const o = t * O + j;
    for (let q = 0; q < SW; q++, d++) {
      const wi = st * SW + q;
      if (o < cout && wi < segWords) words[d] = src[(o * nseg + s) * segWords + wi];
    }
  }
  const taps = nseg * tapsPerSeg;
  const tapCorrection = new Int32Array(cout * taps);
  for (let o = 0; o < cout; o++) for (let t = 0; t < taps; t++) {
    let pop = 0;
    for (let w = 0; w < wordsPerTap; w++) pop += popcount32(src[(o * taps + t) * wordsPerTap + w]);
    tapCorrection[o * taps + t] = channels - 2 * pop;
  }
  const packed = { O, stepWords: SW, words, tapCorrection, probe: probeOf(src) };
  if (!m) { m = new Map(); binaryWeightCache.set(src, m); }
  m.set(key, packed);
  return packed;
}

interface BinaryGeometry {
  /** byte offset of the first window in the x buffer */
  rows: number; cols: number; rowStride: number; pxStride: number; nseg: number; segStride: number; segWords: number;
  kone: number; cout: number;
}

/** Runs the bconv kernel on operands already in scratch; returns the byte offset of the dots [rows][cols][cout]. */
function runBinary(sc: Scratch, xOff: number, packed: PackedBinaryWeights, g: BinaryGeometry): number {
  const { kind, P } = bKernel, O = packed.O, SW = packed.stepWords;
  const wOff = sc.alloc(packed.words.byteLength);
  const outOff = sc.alloc(g.rows * g.cols * g.cout * 4);
  sc.commit();
  sc.u32.set(packed.words, wOff >>> 2);
  const tiles = Math.ceil(g.cout / O);
  const nfull = Math.floor(g.segWords / SW), tail = g.segWords % SW;
  // args: x w out oy0 oy1 t0 t1 ncols rowStride pxStride nseg segStride nfull tail cout kone
  const args = [xOff, wOff, outOff, 0, 0, 0, 0, g.cols, g.rowStride, g.pxStride, g.nseg, g.segStride, nfull, tail, g.cout, g.kone];
  const work = (g.rows * g.cols * g.cout * g.nseg * g.segWords * 32) / 8;
  runSplit(`${kind === 'v128' ? 'bconv' : 'bconv64'}_${P}x${O}`, args, 3, g.rows, 5, tiles, work);
  return outOff;
}

export function binaryConvFast(a: BinaryConvArgs): Int32Array {
  const sc = new Scratch();
  const outOff = binaryConvInScratch(sc, a);
  return sc.copyI32(outOff, a.outH * a.outW * a.cout);
}

/** binaryConv with the (padding-corrected) dots left in scratch; returns their byte offset. */
function binaryConvInScratch(sc: Scratch, a: BinaryConvArgs): number {
  const { input, weightBits, cout, kernel: k, stride: s, pad, padMode, outH, outW } = a;
  const wpp = input.wordsPerPixel, C = input.c, H = input.h, W = input.w;
  const Hp = H + 2 * pad, Wp = W + 2 * pad;
  const P = bKernel.P;
  // short segments (C <= 128 at 3x3): gather each window into one contiguous row first (wasm im2col);
  // the kernel then runs one long segment per pixel, measured 15-20% faster than 3 short ones
  const gather = k > 1 && k * wpp < IM2COL_BELOW_WORDS;
  const packed = gather ? packBinaryWeights(weightBits, cout, 1, k * k * wpp, k * k, wpp, C) : packBinaryWeights(weightBits, cout, k, k * wpp, k, wpp, C);
  const pxBytes = wpp * 4;
  // slack: a partial pixel tile reads up to P-1 windows past the last one, a masked tail up to 12 bytes
  const xOff = sc.alloc(Hp * Wp * pxBytes, P * s * pxBytes + 64);
  sc.commit();
  const u32 = sc.u32, xw = xOff >>> 2;
  if (pad === 0) u32.set(input.words, xw);
  else {
    u32.fill(0, xw, xw + Hp * Wp * wpp);
    for (let y = 0; y < H; y++) u32.set(input.words.subarray(y * W * wpp, (y + 1) * W * wpp), xw + ((y + pad) * Wp + pad) * wpp);
  }
  let outOff: number;
  if (gather) {
    const K = k * k * wpp;
    const colOff = sc.alloc(outH * outW * K * 4, P * K * 4 + 64);
    sc.commit();
    // args: x out p0 p1 cols rowStride pxStride nseg segStride segWords
    runSplit('im2col', [xOff, colOff, 0, 0, outW, s * Wp * pxBytes, s * pxBytes, k, Wp * pxBytes, k * wpp], 2, outH * outW, -1, 0, outH * outW * K);
    outOff = runBinary(sc, colOff, packed, { rows: outH, cols: outW, rowStride: outW * K * 4, pxStride: K * 4, nseg: 1, segStride: 0, segWords: K, kone: k * k * C, cout });
  } else {
    outOff = runBinary(sc, xOff, packed, {
      rows: outH, cols: outW, rowStride: s * Wp * pxBytes, pxStride: s * pxBytes, nseg: k, segStride: Wp * pxBytes,
      segWords: k * wpp, kone: k * k * C, cout,
    });
  }
  if (padMode === 'zero' && pad > 0) zeroPadCorrection(sc.i32, outOff >>> 2, packed.tapCorrection, a);
  return outOff;
}

/** Subtracts the +1-padding contribution of out-of-bounds taps at border outputs (see header). */
function zeroPadCorrection(out: Int32Array, outIdx: number, corr: Int32Array, a: BinaryConvArgs): void {
  const { input, cout, kernel: k, stride: s, pad, outH, outW } = a;
  const taps = k * k;
  // outputs whose whole window is inside along x: ceil(pad/s) <= ox <= floor((W - k + pad)/s)
  const oxLo = Math.ceil(pad / s), oxHi = Math.floor((input.w - k + pad) / s);
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * s - pad;
    const rowInside = y0 >= 0 && y0 + k <= input.h;
    for (let ox = 0; ox < outW; ox++) {
      if (rowInside && ox >= oxLo && ox <= oxHi) { ox = oxHi; continue; }
      const x0 = ox * s - pad;
      const base = outIdx + (oy * outW + ox) * cout;
      for (let ky = 0; ky < k; ky++) {
        const iy = y0 + ky;
        const rowOut = iy < 0 || iy >= input.h;
        for (let kx = 0; kx < k; kx++) {
          const ix = x0 + kx;
          if (!rowOut && ix >= 0 && ix < input.w) continue;
          const t = ky * k + kx;
          for (let o = 0; o < cout; o++) out[base + o] -= corr[o * taps + t];
        }
      }
    }
  }
}

/**
 * Binary GEMM: dot[m][n] = K - 2*popcount(A_m XOR B_n) for packed rows A [M][wordsPerRow],
 * B [N][wordsPerRow] (bit conventions of core/bits.ts: padding bits past K zero in both).
 * Returns Int32Array [M][N], written into `out` when given (reusing one output buffer avoids fresh-page
 * faults, which cost ~10-25 us per 4 KiB page in this Firecracker VM), or with out = 'view' the dots where
 * the kernel wrote them: a view of the shared wasm memory, valid until the next binaryGemm call (no copy,
 * as the C reference leaves its dots in its buffer; copying them out also makes the main thread pull the
 * worker's half across cores every call). The benchmark's measure of binary throughput.
 * B is packed once (cached) and kept in a resident region (wasm.ts allocRegion), so repeated products
 * with the same B copy only A in and the dots out. Threads split the
 * M rows ('rows', default: each thread reads its own rows of A and writes one contiguous block of the
 * output) or the N channel tiles ('tiles': every thread reads all of A).
 */
let gemmSplit: 'rows' | 'tiles' = 'rows';
/** For benchmarks: how binaryGemm divides its work between threads. */
export function setGemmSplit(mode: 'rows' | 'tiles'): void { gemmSplit = mode; }
let gemmState: { owner: object; packed: PackedBinaryWeights; M: number; N: number; wpr: number; xOff: number; outOff: number; wOff: number } | undefined;

export function binaryGemm(aBits: Uint32Array, bBits: Uint32Array, M: number, N: number, kBits: number, out?: Int32Array | 'view'): Int32Array {
  const wpr = Math.ceil(kBits / 32);
  if (aBits.length !== M * wpr || bBits.length !== N * wpr) throw new Error(`binaryGemm: operand sizes ${aBits.length}, ${bBits.length} do not match M=${M}, N=${N}, K=${kBits} bits`);
  if (out instanceof Int32Array && out.length < M * N) throw new Error(`binaryGemm: out has ${out.length} values, needs ${M * N}`);
  const packed = packBinaryWeights(bBits, N, 1, wpr, 1, wpr, kBits);
  const { kind, P } = bKernel;
  let g = gemmState;
  if (!g || !ownsRegion(g.owner) || g.packed !== packed || g.M !== M || g.N !== N || g.wpr !== wpr) {
    const a64 = (n: number) => Math.ceil(n / 64) * 64;
    // slack: the 'rows' layout below computes whole rows of P pixels, the last one possibly past M
    const xRel = a64(packed.words.byteLength), outRel = xRel + a64(M * wpr * 4 + P * wpr * 4 + 64);
    const owner = {};
    const base = allocRegion(owner, outRel + (M + P) * N * 4);
    new Uint32Array(memory.buffer).set(packed.words, base >>> 2);
    g = gemmState = { owner, packed, M, N, wpr, xOff: base + xRel, outOff: base + outRel, wOff: base };
  }
  new Uint32Array(memory.buffer).set(aBits, g.xOff >>> 2);
  const SW = packed.stepWords, tiles = Math.ceil(N / packed.O);
  const nfull = Math.floor(wpr / SW), tail = wpr % SW;
  const fn = `${kind === 'v128' ? 'bconv' : 'bconv64'}_${P}x${packed.O}${kind === 'i64' && bKernel.touch ? '_t' : ''}`;
  // args: x w out oy0 oy1 t0 t1 ncols rowStride pxStride nseg segStride nfull tail cout kone
  const work = (M * N * wpr * 32) / 8;
  if (gemmSplit === 'tiles') runSplit(fn, [g.xOff, g.wOff, g.outOff, 0, 1, 0, tiles, M, 0, wpr * 4, 1, 0, nfull, tail, N, kBits], 3, 1, 5, tiles, work, { mode: 'tiles' });
  else {
    // 'rows' of P pixels (one register tile each): row r = pixels [rP, rP + P), contiguous in A and in out
    const rows = Math.ceil(M / P);
    runSplit(fn, [g.xOff, g.wOff, g.outOff, 0, rows, 0, tiles, P, P * wpr * 4, wpr * 4, 1, 0, nfull, tail, N, kBits], 3, rows, 5, tiles, work, { mode: 'rows' });
  }
  const dots = new Int32Array(memory.buffer, g.outOff, M * N);
  if (out === 'view') return dots;
  const res = out ?? new Int32Array(M * N);
  res.set(dots);
  return res;
}

// ---------------------------------------------------------------- fp32 conv / fc / sgemm

const TW = 4 * SCONV_TILE.V; // output channels per tile
const SP = SCONV_TILE.P;     // pixels per tile

interface PackedFloatWeights { words: Float32Array; finite: boolean; probe: Float64Array }
const floatWeightCache = new WeakMap<Float32Array, Map<string, PackedFloatWeights>>();

/** Packs row-major weights W[o][k] (o < cout, k < K) into [tile][k][TW] with zero-padded channels. */
function packFloatRows(src: Float32Array, cout: number, K: number, dst: Float32Array, dOff: number): void {
  const tiles = Math.ceil(cout / TW);
  for (let t = 0; t < tiles; t++) for (let j = 0; j < TW; j++) {
    const o = t * TW + j;
    if (o >= cout) continue;
    const s = o * K, d = dOff + t * K * TW + j;
    for (let k = 0; k < K; k++) dst[d + k * TW] = src[s + k];
  }
}

export function cachedFloatWeights(src: Float32Array, cout: number, K: number): PackedFloatWeights {
  const key = `${cout}/${K}`;
  let m = floatWeightCache.get(src);
  const hit = m?.get(key);
  if (hit && probeMatches(src, hit.probe)) return hit;
  if (src.length !== cout * K) throw new Error(`fast kernels: weight has ${src.length} values, expected ${cout} x ${K}`);
  let finite = true;
  for (let i = 0; i < src.length; i++) if (!Number.isFinite(src[i])) { finite = false; break; }
  const words = new Float32Array(Math.ceil(cout / TW) * K * TW);
  packFloatRows(src, cout, K, words, 0);
  const packed = { words, finite, probe: probeOf(src) };
  if (!m) { m = new Map(); floatWeightCache.set(src, m); }
  m.set(key, packed);
  return packed;
}

interface FloatGeometry { rows: number; colsPad: number; rowStride: number; pxStride: number; nseg: number; segStride: number; segLen: number; cout: number }

/**
 * Runs sconv with x and the packed weights already in scratch (weights at wOff: [tile][k][TW]); bias is
 * copied in here. `init` fills the output slot before an accumulating call. Returns the output slot
 * [rows][colsPad][coutPad].
 */
function runFloat(sc: Scratch, xOff: number, wOff: number, bias: Float32Array | undefined, g: FloatGeometry, init?: (f32: Float32Array, outIdx: number, coutPad: number) => void): { outOff: number; coutPad: number } {
  const coutPad = Math.ceil(g.cout / TW) * TW, tiles = coutPad / TW;
  const bOff = sc.alloc(coutPad * 4);
  const outOff = sc.alloc(g.rows * g.colsPad * coutPad * 4);
  sc.commit();
  const f32 = sc.f32;
  let flags = 0;
  if (bias) { f32.fill(0, bOff >>> 2, (bOff >>> 2) + coutPad); f32.set(bias.subarray(0, g.cout), bOff >>> 2); flags |= 2; }
  if (init) { init(f32, outOff >>> 2, coutPad); flags |= 1; }
  // args: x w out bias flags oy0 oy1 t0 t1 ncols rowStride pxStride nseg segStride segLen coutPad scale shift
  const args = [xOff, wOff, outOff, bOff, flags, 0, 0, 0, 0, g.colsPad, g.rowStride, g.pxStride, g.nseg, g.segStride, g.segLen, coutPad, 0, 0];
  runSplit('sconv', args, 5, g.rows, 7, tiles, g.rows * g.colsPad * coutPad * g.nseg * g.segLen);
  return { outOff, coutPad };
}

/** Places cached packed weights in scratch; returns their offset. */
function placeWeights(sc: Scratch, w: Float32Array): number {
  const off = sc.alloc(w.byteLength);
  sc.commit();
  sc.f32.set(w, off >>> 2);
  return off;
}

/** Copies [rows][colsPad][coutPad] (valid region rows x cols x cout) out of scratch. */
function extract(f32: Float32Array, outIdx: number, rows: number, cols: number, colsPad: number, cout: number, coutPad: number): Float32Array {
  if (cols === colsPad && cout === coutPad) { const o = new Float32Array(rows * cols * cout); o.set(f32.subarray(outIdx, outIdx + o.length)); return o; }
  const out = new Float32Array(rows * cols * cout);
  if (cout === coutPad) {
    for (let r = 0; r < rows; r++) out.set(f32.subarray(outIdx + r * colsPad * coutPad, outIdx + r * colsPad * coutPad + cols * cout), r * cols * cout);
    return out;
  }
  for (let r = 0, d = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    const s = outIdx + (r * colsPad + c) * coutPad;
    for (let o = 0; o < cout; o++, d++) out[d] = f32[s + o];
  }
  return out;
}

export function realConvFast(a: RealConvArgs): Float32Array {
  const { input, weight, bias, cout, kernel: k, stride: s, pad, outH, outW } = a;
  const C = input.c, H = input.h, W = input.w;
  const K = k * k * C;
  const packed = cachedFloatWeights(weight, cout, K);
  if (!packed.finite) return realConvReference(a);
  const Hp = H + 2 * pad, Wp = W + 2 * pad;
  const colsPad = Math.ceil(outW / SP) * SP;
  const sc = new Scratch();
  const pxBytes = C * 4;
  // slack: the padded pixel columns of the last row read up to SP windows past the last real one
  const xOff = sc.alloc(Hp * Wp * pxBytes, SP * s * pxBytes + k * pxBytes + 64);
  sc.commit();
  const f32 = sc.f32, xw = xOff >>> 2;
  if (pad === 0) f32.set(input.data, xw);
  else {
    f32.fill(0, xw, xw + Hp * Wp * C);
    for (let y = 0; y < H; y++) f32.set(input.data.subarray(y * W * C, (y + 1) * W * C), xw + ((y + pad) * Wp + pad) * C);
  }
  const { outOff, coutPad } = runFloat(sc, xOff, placeWeights(sc, packed.words), bias, {
    rows: outH, colsPad, rowStride: s * Wp * pxBytes, pxStride: s * pxBytes, nseg: k, segStride: Wp * pxBytes, segLen: k * C, cout,
  });
  return extract(sc.f32, outOff >>> 2, outH, outW, colsPad, cout, coutPad);
}

export function fcFast(a: FcArgs): Float32Array {
  const { input, weight, bias, outFeatures } = a;
  const n = input.length;
  const packed = cachedFloatWeights(weight, outFeatures, n);
  if (!packed.finite || n === 0) return fcReference(a);
  const sc = new Scratch();
  const xOff = sc.alloc(n * 4, SP * n * 4 + 64);
  sc.commit();
  sc.f32.set(input, xOff >>> 2);
  const { outOff, coutPad } = runFloat(sc, xOff, placeWeights(sc, packed.words), bias, { rows: 1, colsPad: SP, rowStride: 0, pxStride: 0, nseg: 1, segStride: 0, segLen: n, cout: outFeatures });
  return extract(sc.f32, outOff >>> 2, 1, 1, SP, outFeatures, coutPad);
}

export interface SgemmArgs {
  /** A is M x K (row-major), or K x M when transA */
  transA?: boolean;
  /** B is K x N (row-major), or N x K when transB */
  transB?: boolean;
  M: number; N: number; K: number;
  a: Float32Array; b: Float32Array;
  /** C, M x N row-major: overwritten, or accumulated into when `accumulate` */
  c: Float32Array;
  accumulate?: boolean;
}

/**
 * Single-precision GEMM for the trainer: C = A * B, or C += A * B with `accumulate` (row-major, optional
 * transposes, no alpha/beta). EXACTNESS CONTRACT (same as the reference conv): for each (i, j),
 *   acc = accumulate ? C[i][j] : +0;  for k = 0, 1, ..., K-1:  acc = fp32(acc + fp32(A[i][k] * B[k][j]));
 *   C[i][j] = acc
 * i.e. every product and every partial sum rounded to fp32, k strictly increasing, no FMA, independent of
 * the number of threads. So a conv computed as im2col(x) * W^T with k in (ky, kx, ci) order equals
 * realConvReference bit for bit. NaN/Inf propagate as in IEEE 754. Nothing is cached (weights change).
 */
export function sgemm(g: SgemmArgs): void {
  const { M, N, K, a, b, c } = g;
  if (a.length < M * K || b.length < K * N || c.length < M * N) throw new Error(`sgemm: operands too small for M=${M}, N=${N}, K=${K}`);
  if (M === 0 || N === 0) return;
  if (K === 0) { if (!g.accumulate) c.fill(0, 0, M * N); return; }
  const rows = Math.ceil(M / SP), Mpad = rows * SP;
  const Npad = Math.ceil(N / TW) * TW;
  const sc = new Scratch();
  const aOff = sc.alloc(Mpad * K * 4, 64);
  const wOff = sc.alloc(Npad * K * 4);
  sc.commit();
  let f32 = sc.f32;
  const aw = aOff >>> 2;
  if (!g.transA) f32.set(a.subarray(0, M * K), aw);
  else for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) f32[aw + i * K + k] = a[k * M + i];
  f32.fill(0, aw + M * K, aw + Mpad * K);
  // pack B into [tile][k][TW]
  const ww = wOff >>> 2;
  f32.fill(0, ww, ww + Npad * K);
  if (g.transB) packFloatRows(b, N, K, f32, ww);
  else {
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) f32[ww + ((j / TW) | 0) * K * TW + k * TW + (j % TW)] = b[k * N + j];
  }
  const { outOff, coutPad } = runFloat(sc, aOff, wOff, undefined, { rows, colsPad: SP, rowStride: SP * K * 4, pxStride: K * 4, nseg: 1, segStride: 0, segLen: K, cout: N },
    g.accumulate ? (buf, outIdx, cp) => {
      for (let i = 0; i < M; i++) buf.set(c.subarray(i * N, i * N + N), outIdx + i * cp);
    } : undefined);
  f32 = sc.f32;
  const o = outOff >>> 2;
  for (let i = 0; i < M; i++) c.set(f32.subarray(o + i * coutPad, o + i * coutPad + N), i * N);
}

// ---------------------------------------------------------------- element ops (golden/ops.ts, exact)

/**
 * Element ops are memory-bound (~0.3-1 ns per value): only stem-sized tensors (>= 300K values) are worth
 * a worker wake-up; counted so that PARALLEL_MIN_WORK applies.
 */
const elementWork = (values: number) => values;

/** Copies a real tensor into scratch; returns the byte offset. */
function place(sc: Scratch, data: Float32Array, slack = 0): number {
  const off = sc.alloc(data.byteLength, slack);
  sc.commit();
  sc.f32.set(data, off >>> 2);
  return off;
}

function placeVector(sc: Scratch, v: Float32Array, n: number): number {
  if (v.length < n) throw new Error(`fast kernels: per-channel vector has ${v.length} values, expected ${n}`);
  return place(sc, v.subarray(0, n));
}

export function xnorConvFast(a: BinaryConvArgs, mul: Float32Array, bias: Float32Array): { acc: Int32Array; out: Tensor } {
  const sc = new Scratch();
  const accOff = binaryConvInScratch(sc, a);
  const { outH: h, outW: w, cout: c } = a, n = h * w * c;
  const mOff = placeVector(sc, mul, c), bOff = placeVector(sc, bias, c);
  const outOff = sc.alloc(n * 4);
  sc.commit();
  runSplit('xnor_out', [accOff, mOff, bOff, outOff, 0, 0, c], 4, h * w, -1, 0, elementWork(n));
  return { acc: sc.copyI32(accOff, n), out: tensor(h, w, c, sc.copyF32(outOff, n)) };
}

export function bnFast(x: Tensor, scale: Float32Array, shift: Float32Array): Tensor {
  const sc = new Scratch();
  const n = x.data.length;
  const xOff = place(sc, x.data), sOff = placeVector(sc, scale, x.c), tOff = placeVector(sc, shift, x.c);
  const outOff = sc.alloc(n * 4);
  sc.commit();
  runSplit('bn', [xOff, sOff, tOff, outOff, 0, 0, x.c], 4, x.h * x.w, -1, 0, elementWork(n));
  return tensor(x.h, x.w, x.c, sc.copyF32(outOff, n));
}

export function addFast(a: Tensor, b: Tensor): Tensor {
  if (a.data.length !== b.data.length) throw new Error(`add: shapes ${a.h}x${a.w}x${a.c} and ${b.h}x${b.w}x${b.c} differ`);
  const sc = new Scratch();
  const n = a.data.length;
  const aOff = place(sc, a.data), bOff = place(sc, b.data);
  const outOff = sc.alloc(n * 4);
  sc.commit();
  runSplit('add', [aOff, bOff, outOff, 0, 0, a.c], 3, a.h * a.w, -1, 0, elementWork(n));
  return tensor(a.h, a.w, a.c, sc.copyF32(outOff, n));
}

export function signPackFast(x: Tensor): PackedTensor {
  const sc = new Scratch();
  const p = packedTensor(x.h, x.w, x.c);
  const xOff = place(sc, x.data);
  const outOff = sc.alloc(p.words.byteLength);
  sc.commit();
  runSplit('sign_pack', [xOff, outOff, 0, 0, x.c], 2, x.h * x.w, -1, 0, elementWork(x.data.length));
  p.words.set(sc.u32.subarray(outOff >>> 2, (outOff >>> 2) + p.words.length));
  return p;
}

export function poolFast(x: Tensor, kind: 'avgpool' | 'maxpool', kernel: number, stride: number, pad: number): Tensor {
  const win = { kernel, stride, pad };
  const oh = outSize(x.h, win), ow = outSize(x.w, win);
  const sc = new Scratch();
  const xOff = place(sc, x.data);
  const n = oh * ow * x.c;
  const outOff = sc.alloc(n * 4);
  sc.commit();
  runSplit(kind, [xOff, outOff, 0, 0, x.h, x.w, x.c, kernel, stride, pad, ow], 2, oh, -1, 0, elementWork(n * kernel * kernel));
  return tensor(oh, ow, x.c, sc.copyF32(outOff, n));
}

/** KernelSet.onCallingThread: every call inside `fn` runs on the main thread. */
function onCallingThread<T>(fn: () => T): T {
  callingThreadOnly++;
  try { return fn(); } finally { callingThreadOnly--; }
}

export const fastKernels: KernelSet = {
  name: 'fast',
  device: 'wasm',
  onCallingThread,
  binaryConv: binaryConvFast,
  realConv: realConvFast,
  fc: fcFast,
  ops: { xnorConv: xnorConvFast, bn: bnFast, add: addFast, signPack: signPackFast, pool: poolFast },
};
