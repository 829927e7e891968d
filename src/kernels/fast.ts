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
 * for short windows and the fused epilogues in wat.ts). The trainer (batch-fast.ts) uses the same binary
 * conv on batches (xnorConvBatch) and the one float GEMM (sgemm / gemmPlaced).
 * Weight layouts are packed once per weight array and cached (WeakMap on the array's identity). Each hit
 * re-reads 64 sampled entries of the source and repacks if any changed, which catches in-place updates
 * such as an optimiser step; a mutation that leaves every sampled entry unchanged would go unnoticed, so
 * weights should be replaced, not edited, between calls (sgemm and xnorConvBatch never cache).
 */
import { popcount32, wordsFor, type PadMode } from '../core/bits.ts';
import { outSize } from '../core/geometry.ts';
import { packedTensor, tensor, type PackedTensor, type Tensor } from '../core/tensor.ts';
import type { BinaryConvArgs, FcArgs, KernelSet, RealConvArgs } from './types.ts';
import { fcReference, realConvReference } from './reference.ts';
import { allocRegion, kernelExports, memory, ownsRegion, Scratch } from './wasm.ts';
import { KernelPool, defaultThreads } from './pool.ts';
import { SCONV_FLAGS, SCONV_TILE } from './wat.ts';
import { setNativeThreads } from './native.ts';

// ---------------------------------------------------------------- threads

let pool: KernelPool | undefined;
let threads = defaultThreads();

/**
 * Sets the number of threads (1 = main thread only), for the WebAssembly pool and the native kernels alike. Starts or stops workers as needed; going down to 1
 * keeps existing workers asleep (unused), so alternating 1 and n threads (benchmarks) does not restart them.
 */
export async function setKernelThreads(n: number): Promise<void> {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`setKernelThreads: expected a positive integer, got ${n}`);
  threads = n;
  setNativeThreads(n); // the native set (native.ts) follows the same thread count
  if (n > 1 && pool && pool.workers !== n - 1) { const p = pool; pool = undefined; await p.close(); }
  if (n > 1) await getPool()!.ready();
}

/** The pool (created on first use), or undefined when running single-threaded. */
let callingThreadOnly = 0;
function getPool(): KernelPool | undefined {
  if (threads <= 1) return undefined;
  pool ??= new KernelPool(threads - 1, kernelExports());
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
    kernelExports()[fn](...a);
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
export function packBinaryWeights(src: Uint32Array, cout: number, nseg: number, segWords: number, tapsPerSeg: number, wordsPerTap: number, channels: number, layout?: { O: number; SW: number }, cache = true): PackedBinaryWeights {
  const O = layout?.O ?? bKernel.O, SW = layout?.SW ?? (bKernel.kind === 'v128' ? 4 : 2);
  const key = `${cout}/${nseg}/${segWords}/${tapsPerSeg}/${O}/${SW}`;
  let m = cache ? binaryWeightCache.get(src) : undefined;
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
  if (!cache) return packed;
  if (!m) { m = new Map(); binaryWeightCache.set(src, m); }
  m.set(key, packed);
  return packed;
}

/** One binary conv on one image: input h x w x c (wpp words per pixel), output outH x outW x cout. */
interface BinaryConvGeom { h: number; w: number; c: number; wpp: number; cout: number; kernel: number; stride: number; pad: number; outH: number; outW: number }

const geomOf = (a: BinaryConvArgs): BinaryConvGeom => ({
  h: a.input.h, w: a.input.w, c: a.input.c, wpp: a.input.wordsPerPixel, cout: a.cout, kernel: a.kernel, stride: a.stride, pad: a.pad, outH: a.outH, outW: a.outW,
});
/** Short segments (C <= 160 at 3x3): windows are gathered into contiguous rows first (wasm im2col). */
const gathers = (g: BinaryConvGeom) => g.kernel > 1 && g.kernel * g.wpp < IM2COL_BELOW_WORDS;
/** Weights packed for the path binaryConvPlaced takes on this geometry (`cache` false: never cached). */
function convWeights(weightBits: Uint32Array, g: BinaryConvGeom, cache = true): PackedBinaryWeights {
  const { cout, kernel: k, wpp, c } = g;
  return gathers(g) ? packBinaryWeights(weightBits, cout, 1, k * k * wpp, k * k, wpp, c, undefined, cache)
    : packBinaryWeights(weightBits, cout, k, k * wpp, k, wpp, c, undefined, cache);
}
/** Bytes of one zero-bordered packed image, and the slack its kernels may read past the last one. */
function borderedBytes(g: BinaryConvGeom): { image: number; slack: number } {
  const pxBytes = g.wpp * 4;
  // slack: a partial pixel tile reads up to P-1 windows past the last one, a masked tail up to 12 bytes
  return { image: (g.h + 2 * g.pad) * (g.w + 2 * g.pad) * pxBytes, slack: bKernel.P * g.stride * pxBytes + 64 };
}

interface BinaryGeometry {
  /** byte offset of the first window in the x buffer */
  rows: number; cols: number; rowStride: number; pxStride: number; nseg: number; segStride: number; segWords: number;
  kone: number; cout: number;
}

/** Runs the bconv kernel on operands already in scratch (weights at wOff, packed as `packed`); dots [rows][cols][cout] at outOff. */
function runBinary(xOff: number, wOff: number, outOff: number, packed: PackedBinaryWeights, g: BinaryGeometry): void {
  const { kind, P } = bKernel, O = packed.O, SW = packed.stepWords;
  const tiles = Math.ceil(g.cout / O);
  const nfull = Math.floor(g.segWords / SW), tail = g.segWords % SW;
  // args: x w out oy0 oy1 t0 t1 ncols rowStride pxStride nseg segStride nfull tail cout kone
  const args = [xOff, wOff, outOff, 0, 0, 0, 0, g.cols, g.rowStride, g.pxStride, g.nseg, g.segStride, nfull, tail, g.cout, g.kone];
  const work = (g.rows * g.cols * g.cout * g.nseg * g.segWords * 32) / 8;
  runSplit(`${kind === 'v128' ? 'bconv' : 'bconv64'}_${P}x${O}`, args, 3, g.rows, 5, tiles, work);
}

export function binaryConvFast(a: BinaryConvArgs): Int32Array {
  const sc = new Scratch();
  const outOff = binaryConvInScratch(sc, a);
  return sc.copyI32(outOff, a.outH * a.outW * a.cout);
}

/** binaryConv with the (padding-corrected) dots left in scratch; returns their byte offset. */
function binaryConvInScratch(sc: Scratch, a: BinaryConvArgs): number {
  const g = geomOf(a), { input, pad } = a, { wpp, h: H, w: W } = g;
  const packed = convWeights(a.weightBits, g);
  const Wp = W + 2 * pad, bytes = borderedBytes(g);
  const xOff = sc.alloc(bytes.image, bytes.slack);
  const wOff = sc.alloc(packed.words.byteLength);
  const outOff = sc.alloc(a.outH * a.outW * a.cout * 4);
  const colOff = gathers(g) ? sc.alloc(a.outH * a.outW * a.kernel * a.kernel * wpp * 4, bKernel.P * a.kernel * a.kernel * wpp * 4 + 64) : -1;
  sc.commit();
  const u32 = sc.u32, xw = xOff >>> 2;
  if (pad === 0) u32.set(input.words, xw);
  else {
    u32.fill(0, xw, xw + bytes.image / 4);
    for (let y = 0; y < H; y++) u32.set(input.words.subarray(y * W * wpp, (y + 1) * W * wpp), xw + ((y + pad) * Wp + pad) * wpp);
  }
  u32.set(packed.words, wOff >>> 2);
  binaryConvPlaced(xOff, wOff, packed, g, a.padMode, outOff, colOff);
  return outOff;
}

/**
 * The binary conv of one image whose packed input is already in scratch, zero-bordered ([Hp][Wp][wpp]
 * words at xOff, with borderedBytes().slack readable after it), weights placed at wOff (convWeights
 * layout): writes the dots [outH][outW][cout] at outOff, padding-corrected for padMode 'zero'. `colOff`:
 * room for the gathered windows when gathers(g) (outH*outW*k*k*wpp words plus P rows of slack).
 */
function binaryConvPlaced(xOff: number, wOff: number, packed: PackedBinaryWeights, g: BinaryConvGeom, padMode: PadMode, outOff: number, colOff: number): void {
  const { c: C, wpp, cout, kernel: k, stride: s, pad, outH, outW } = g;
  const Wp = g.w + 2 * pad, pxBytes = wpp * 4;
  if (gathers(g)) {
    // short segments: gather each window into one contiguous row first (wasm im2col); the kernel then
    // runs one long segment per pixel, measured 15-20% faster than 3 short ones
    const K = k * k * wpp;
    // args: x out p0 p1 cols rowStride pxStride nseg segStride segWords
    runSplit('im2col', [xOff, colOff, 0, 0, outW, s * Wp * pxBytes, s * pxBytes, k, Wp * pxBytes, k * wpp], 2, outH * outW, -1, 0, outH * outW * K);
    runBinary(colOff, wOff, outOff, packed, { rows: outH, cols: outW, rowStride: outW * K * 4, pxStride: K * 4, nseg: 1, segStride: 0, segWords: K, kone: k * k * C, cout });
  } else {
    runBinary(xOff, wOff, outOff, packed, {
      rows: outH, cols: outW, rowStride: s * Wp * pxBytes, pxStride: s * pxBytes, nseg: k, segStride: Wp * pxBytes,
      segWords: k * wpp, kone: k * k * C, cout,
    });
  }
  if (padMode === 'zero' && pad > 0) zeroPadCorrection(new Int32Array(memory.buffer), outOff >>> 2, packed.tapCorrection, g);
}

/** Subtracts the +1-padding contribution of out-of-bounds taps at border outputs (see header). */
function zeroPadCorrection(out: Int32Array, outIdx: number, corr: Int32Array, g: BinaryConvGeom): void {
  const { h: H, w: W, cout, kernel: k, stride: s, pad, outH, outW } = g;
  const taps = k * k;
  // outputs whose whole window is inside along x: ceil(pad/s) <= ox <= floor((W - k + pad)/s)
  const oxLo = Math.ceil(pad / s), oxHi = Math.floor((W - k + pad) / s);
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * s - pad;
    const rowInside = y0 >= 0 && y0 + k <= H;
    for (let ox = 0; ox < outW; ox++) {
      if (rowInside && ox >= oxLo && ox <= oxHi) { ox = oxHi; continue; }
      const x0 = ox * s - pad;
      const base = outIdx + (oy * outW + ox) * cout;
      for (let ky = 0; ky < k; ky++) {
        const iy = y0 + ky;
        const rowOut = iy < 0 || iy >= H;
        for (let kx = 0; kx < k; kx++) {
          const ix = x0 + kx;
          if (!rowOut && ix >= 0 && ix < W) continue;
          const t = ky * k + kx;
          for (let o = 0; o < cout; o++) out[base + o] -= corr[o * taps + t];
        }
      }
    }
  }
}

/**
 * XNOR conv of a BATCH of +-1 activations (the trainer's binary conv on sign outputs): x NHWC floats
 * [n][h][w][c], each exactly -1 or +1 (a float < 0 counts as -1, anything else as +1), weights signW OHWI
 * floats +-1 likewise; y[b][oy][ox][o] = fp32(scale_o * dot) with dot the exact +-1 dot product over the
 * taps padMode counts ('zero': in-bounds taps only; 'one': out-of-bounds taps read +1), and scale = 1 when
 * null. This is the golden model's binary conv + output transform (the same kernels: sign_pack,
 * sign_pack_pad, bconv, zero-padding correction, xnor_out with bias -0, and fp32(m * a) + (-0) = fp32(m * a)
 * for every m * a including -0), one image at a time; equal bit for bit to the float GEMM of the same +-1
 * operands (whose partial sums are integers below 2^24, exact in fp32) scaled by fp32(y * scale_o).
 */
export function xnorConvBatch(x: Float32Array, dims: { n: number; h: number; w: number; c: number }, signW: Float32Array, cout: number, kernel: number, stride: number, pad: number, padMode: PadMode, outH: number, outW: number, scale: Float32Array | null, y: Float32Array): void {
  const { n, h, w, c } = dims, wpp = wordsFor(c), k = kernel;
  const g: BinaryConvGeom = { h, w, c, wpp, cout, kernel, stride, pad, outH, outW };
  if (x.length !== n * h * w * c || signW.length !== cout * k * k * c || y.length < n * outH * outW * cout) throw new Error('xnorConvBatch: operand sizes do not match the geometry');
  const sc = new Scratch();
  const xf = place(sc, x), swf = place(sc, signW);
  const taps = cout * k * k, wbOff = sc.alloc(taps * wpp * 4);
  const bytes = borderedBytes(g), Wp = w + 2 * pad, pxBytes = wpp * 4;
  const pkOff = sc.alloc(n * bytes.image, bytes.slack);
  sc.commit();
  const u32 = sc.u32;
  u32.fill(0, pkOff >>> 2, (pkOff + n * bytes.image) >>> 2);
  // one sign+pack for the weights ([cout][k][k] taps of c channels) and for every image (into its border)
  runSplit('sign_pack', [swf, wbOff, 0, 0, c], 2, taps, -1, 0, taps * c);
  for (let b = 0; b < n; b++) {
    runSplit('sign_pack_pad', [xf + b * h * w * c * 4, pkOff + b * bytes.image + (pad * Wp + pad) * pxBytes, 0, 0, c, w, Wp * pxBytes, pxBytes], 2, h * w, -1, 0, h * w * c);
  }
  const weightBits = new Uint32Array(taps * wpp);
  weightBits.set(u32.subarray(wbOff >>> 2, (wbOff >>> 2) + weightBits.length));
  const packed = convWeights(weightBits, g, false);
  const wOff = sc.alloc(packed.words.byteLength);
  const plane = outH * outW * cout, accOff = sc.alloc(n * plane * 4);
  const colOff = gathers(g) ? sc.alloc(outH * outW * k * k * wpp * 4, bKernel.P * k * k * wpp * 4 + 64) : -1;
  const mOff = sc.alloc(cout * 4), biasOff = sc.alloc(cout * 4), yOff = sc.alloc(n * plane * 4);
  sc.commit();
  const f32 = sc.f32;
  sc.u32.set(packed.words, wOff >>> 2);
  for (let b = 0; b < n; b++) binaryConvPlaced(pkOff + b * bytes.image, wOff, packed, g, padMode, accOff + b * plane * 4, colOff);
  if (scale) f32.set(scale.subarray(0, cout), mOff >>> 2); else f32.fill(1, mOff >>> 2, (mOff >>> 2) + cout);
  f32.fill(-0, biasOff >>> 2, (biasOff >>> 2) + cout);
  runSplit('xnor_out', [accOff, mOff, biasOff, yOff, 0, 0, cout], 4, n * outH * outW, -1, 0, n * plane);
  y.set(f32.subarray(yOff >>> 2, (yOff >>> 2) + n * plane));
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
 * copied in here. Returns the output slot [rows][colsPad][coutPad].
 */
function runFloat(sc: Scratch, xOff: number, wOff: number, bias: Float32Array | undefined, g: FloatGeometry): { outOff: number; coutPad: number } {
  const coutPad = Math.ceil(g.cout / TW) * TW, tiles = coutPad / TW;
  const bOff = sc.alloc(coutPad * 4);
  const outOff = sc.alloc(g.rows * g.colsPad * coutPad * 4);
  sc.commit();
  const f32 = sc.f32;
  let flags = 0;
  if (bias) { f32.fill(0, bOff >>> 2, (bOff >>> 2) + coutPad); f32.set(bias.subarray(0, g.cout), bOff >>> 2); flags |= SCONV_FLAGS.BIAS; }
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
  /** C, M x N row-major: overwritten, or added to when `accumulate` */
  c: Float32Array;
  accumulate?: boolean;
}

/** Byte offsets and strides of a float GEMM's operands in scratch (the 'sgemm' kernel, wat.ts sconvWat). */
export interface GemmOperands {
  /** A(i, k) at a + i * aRow + k * aK */
  a: number; aRow: number; aK: number;
  /** B(k, j) at b + (j / 8 | 0) * bTile + k * bK + 4 * (j % 8) */
  b: number; bTile: number; bK: number;
}

/**
 * Places A (M x K, or stored K x M when transA) in scratch as stored: a transposed A is read with a k stride
 * of M floats instead of being repacked. The rows up to a whole register tile (Mpad) read zeros
 * (plain A) or slack (transposed); their results are never copied out.
 */
export function placeGemmA(sc: Scratch, a: Float32Array, M: number, K: number, transA: boolean): Pick<GemmOperands, 'a' | 'aRow' | 'aK'> {
  const Mpad = Math.ceil(M / SP) * SP;
  const off = transA ? sc.alloc(K * M * 4, (Mpad - M) * 4 + 64) : sc.alloc(Mpad * K * 4, 64);
  sc.commit();
  const f32 = sc.f32, o = off >>> 2;
  f32.set(a.subarray(0, M * K), o);
  if (!transA) f32.fill(0, o + M * K, o + Mpad * K);
  return transA ? { a: off, aRow: 4, aK: M * 4 } : { a: off, aRow: K * 4, aK: 4 };
}

/**
 * Places B (K x N, or stored N x K when transB) in scratch: a plain B as stored (channel tiles 32 bytes
 * apart, k stride N floats; the channels of the last tile past N read slack), a transposed one repacked
 * into [tile][k][8] with zero-padded channels.
 */
export function placeGemmB(sc: Scratch, b: Float32Array, K: number, N: number, transB: boolean): Pick<GemmOperands, 'b' | 'bTile' | 'bK'> {
  const Npad = Math.ceil(N / TW) * TW;
  const off = transB ? sc.alloc(Npad * K * 4) : sc.alloc(K * N * 4, (Npad - N) * 4 + 64);
  sc.commit();
  const f32 = sc.f32, o = off >>> 2;
  if (!transB) { f32.set(b.subarray(0, K * N), o); return { b: off, bTile: TW * 4, bK: N * 4 }; }
  f32.fill(0, o, o + Npad * K);
  packFloatRows(b, N, K, f32, o);
  return { b: off, bTile: K * TW * 4, bK: TW * 4 };
}

/**
 * Runs the 'sgemm' kernel on placed operands: out[Mpad][Npad] (row stride Npad = N rounded up to 8 floats)
 * = A * B, or with `addToOut` out = fp32(out + A * B) (the product summed from +0 first). Threads split
 * rows or channel tiles (runSplit); every output is one thread's, so the bits never depend on the split.
 */
export function gemmPlaced(o: GemmOperands, M: number, N: number, K: number, outOff: number, addToOut = false): void {
  const rows = Math.ceil(M / SP), tiles = Math.ceil(N / TW);
  // args: x w out bias flags oy0 oy1 t0 t1 ncols rowStride pxStride nseg segStride segLen coutPad scale shift kStride wTile wk
  const args = [o.a, o.b, outOff, 0, addToOut ? SCONV_FLAGS.ADD_TO_OUT : 0, 0, 0, 0, 0, SP, SP * o.aRow, o.aRow, 1, 0, K, tiles * TW, 0, 0, o.aK, o.bTile, o.bK];
  runSplit('sgemm', args, 5, rows, 7, tiles, rows * SP * tiles * TW * K);
}

/**
 * Single-precision GEMM (the ONE float GEMM: the trainer's convs and FCs call it through batch-ops.ts):
 * C = A * B, or C += A * B with `accumulate` (row-major, optional transposes, no alpha/beta).
 * EXACTNESS CONTRACT (same as the reference conv, kernels/reference.ts sgemmReference): for each (i, j),
 *   s = +0;  for k = 0, 1, ..., K-1:  s = fp32(s + fp32(A[i][k] * B[k][j]));   C[i][j] = accumulate ? fp32(C[i][j] + s) : s
 * i.e. every product and every partial sum rounded to fp32, k strictly increasing, no FMA, independent of
 * the number of threads. So a conv computed as im2col(x) * W^T with k in (ky, kx, ci) order equals
 * realConvReference bit for bit. NaN/Inf propagate as in IEEE 754. Nothing is cached (weights change).
 */
export function sgemm(g: SgemmArgs): void {
  const { M, N, K, a, b, c } = g;
  if (a.length < M * K || b.length < K * N || c.length < M * N) throw new Error(`sgemm: operands too small for M=${M}, N=${N}, K=${K}`);
  if (M === 0 || N === 0) return;
  if (K === 0) { if (!g.accumulate) c.fill(0, 0, M * N); return; }
  const Npad = Math.ceil(N / TW) * TW, Mpad = Math.ceil(M / SP) * SP;
  const sc = new Scratch();
  const A = placeGemmA(sc, a, M, K, !!g.transA), B = placeGemmB(sc, b, K, N, !!g.transB);
  const outOff = sc.alloc(Mpad * Npad * 4);
  sc.commit();
  if (g.accumulate) putRows(sc.f32, outOff >>> 2, c, M, N, Npad);
  gemmPlaced({ ...A, ...B }, M, N, K, outOff, g.accumulate);
  takeRows(sc.f32, outOff >>> 2, c, M, N, Npad);
}

/** Copies rows [M][N] of `src` into scratch rows of stride `ld` floats at index `at`. */
export function putRows(f32: Float32Array, at: number, src: Float32Array, M: number, N: number, ld: number): void {
  if (ld === N) { f32.set(src.subarray(0, M * N), at); return; }
  for (let i = 0; i < M; i++) f32.set(src.subarray(i * N, i * N + N), at + i * ld);
}
/** Copies scratch rows of stride `ld` floats at index `at` into `dst` [M][N]. */
export function takeRows(f32: Float32Array, at: number, dst: Float32Array, M: number, N: number, ld: number): void {
  if (ld === N) { dst.set(f32.subarray(at, at + M * N)); return; }
  for (let i = 0; i < M; i++) dst.set(f32.subarray(at + i * ld, at + i * ld + N), i * N);
}

// ---------------------------------------------------------------- element ops (the op modules (src/ops/), exact)

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

/** KernelSet.onCallingThread: every call inside `fn` runs on the calling thread (no worker hand-off). */
export function onCallingThread<T>(fn: () => T): T {
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
