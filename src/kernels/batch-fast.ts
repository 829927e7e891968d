/**
 * The batch ops' (batch-ops.ts, the trainer's primitives) back end on the one WebAssembly stack: the float
 * GEMM (`sgemm`, the positional form of fast.ts sgemm), the conv paths that keep im2col / col2im next to
 * the GEMM in scratch, and `simdOps()`: the fast versions of the memory-bound loops of batch-ops.ts and
 * ops/sign.ts. Each computes exactly what the JS loop it replaces computes (that loop is the spec;
 * test/kernels/batch-fast.test.ts compares every one bit for bit). Operands are copied into the kernels'
 * scratch (wasm.ts Scratch), one kernel (or a few) runs, the result is copied out: ~0.1 ns per float
 * against 2-6 ns per float for the JS loops (the JS sign and clip loops branch on random signs and
 * mispredict about half the time).
 *
 * Back end (setGemmBackend): 'wasm-simd' (the default) runs the kernels and needs them loaded: initGemm()
 * awaits kernels/wasm.ts loadKernels(), and a call before that throws an internal error (never a silent
 * switch to the JS loops); 'js' runs the readable loops only (reference sgemm, batch-ops.ts loops), chosen
 * explicitly (`birealsim train --gemm js`, tests). setSimdOpsEnabled(false) turns off the memory-bound
 * kernels alone (tests: same bits either way).
 * Threads: every call runs on the calling thread (data-parallel training replicas already keep the cores
 * busy), except, after useKernelGemm(n), the GEMMs KERNEL_GEMM_WHEN selects, which the kernel pool splits
 * over n threads (bit-identical: each output is computed by one thread in the same order).
 */
import { gemmPlaced, kernelsReady, onCallingThread, placeGemmB, setKernelThreads, sgemm as fastSgemm, takeRows, xnorConvBatch } from './fast.ts';
import { defaultThreads } from './pool.ts';
import { sgemmReference } from './reference.ts';
import { SCONV_TILE } from './wat.ts';
import { kernelExports, loadKernels, Scratch } from './wasm.ts';

export type GemmBackendName = 'js' | 'wasm-simd';

let backend: GemmBackendName = 'wasm-simd';
let simdEnabled = true;
/** threads the selected GEMMs may use (useKernelGemm); 1 = calling thread only */
let gemmThreads = 1;

/** GEMM shapes split over threads after useKernelGemm (measured per training shape on 2 cores). */
export const KERNEL_GEMM_WHEN = (M: number, N: number, K: number, transA: boolean, _transB: boolean, accumulate: boolean): boolean =>
  !transA && !accumulate && K >= 64 && M * N * K >= 1e7;

/**
 * Selects the back end; 'wasm-simd' (default) loads the kernels first (idempotent; `module`: an already
 * compiled kernel module, e.g. posted to a worker thread, wasm.ts loadKernels). Failing to load throws.
 */
export async function initGemm(prefer: GemmBackendName = 'wasm-simd', module?: WebAssembly.Module): Promise<{ backend: GemmBackendName; reason?: string }> {
  if (prefer === 'wasm-simd') await loadKernels({ module });
  backend = prefer;
  return { backend };
}

export function setGemmBackend(name: GemmBackendName): void { backend = name; }
/** The back end (what a data-parallel replica should initialise). */
export function localGemmBackend(): GemmBackendName { return backend; }
/** The back end as logged by `birealsim train`, with the threads of the split GEMMs. */
export function gemmBackend(): string { return backend === 'wasm-simd' && gemmThreads > 1 ? `${backend} (large products on ${gemmThreads} threads)` : backend; }

/**
 * Lets the KERNEL_GEMM_WHEN products use the kernel worker pool on `threads` threads (default:
 * BIREALSIM_THREADS or all cores) and waits for its workers; 1 returns to the calling thread alone.
 */
export async function useKernelGemm(threads?: number): Promise<void> {
  const n = threads ?? defaultThreads();
  await setKernelThreads(n);
  await kernelsReady();
  gemmThreads = n;
}

/** The fast memory-bound kernels when the 'wasm-simd' back end is active and they are enabled, else null. */
export function simdOps(): SimdOps | null { return backend === 'wasm-simd' && simdEnabled ? OPS : null; }
/** Tests and benchmarks: turn the fast memory-bound kernels off (JS loops) or back on. */
export function setSimdOpsEnabled(on: boolean): void { simdEnabled = on; }

/**
 * C (+)= op(A) * op(B): A is M x K (K x M stored when transA), B is K x N (N x K stored when transB),
 * accumulate=false overwrites C; contract of fast.ts sgemm (k ascending, fp32 products and sums, the sum
 * added to C last), on the 'js' back end its spec reference.ts sgemmReference.
 */
export function sgemm(M: number, N: number, K: number, A: Float32Array, B: Float32Array, C: Float32Array,
  transA = false, transB = false, accumulate = false): void {
  const g = { M, N, K, a: A, b: B, c: C, transA, transB, accumulate };
  if (backend === 'js') { sgemmReference(g); return; }
  if (gemmThreads > 1 && KERNEL_GEMM_WHEN(M, N, K, transA, transB, accumulate)) fastSgemm(g);
  else onCallingThread(() => fastSgemm(g));
}

// ---- conv paths: im2col -> GEMM and GEMM -> col2im in scratch ------------------------------------------
// The conv forward gathers its im2col matrix straight into the GEMM's A operand, and the input gradient
// scatters (col2im) straight out of the GEMM's result, so the large column matrices are copied between JS
// and the wasm memory once (forward: out to the caller's cols buffer, which the weight gradient needs)
// instead of three times. Same kernels, same operands, same order: the results are the bits of the unfused
// path (im2col -> sgemm -> ..., sgemm -> col2im), which test/kernels/batch-fast.test.ts checks.
// im2col and col2im run on a bordered copy of the image (wat.ts im2colWat): the border holds the pad value
// (forward) or collects the gradient of padded taps, which is dropped (backward).

export interface ConvDims { n: number; h: number; w: number; c: number; k: number; stride: number; pad: number; oh: number; ow: number }

const SP = SCONV_TILE.P, TW = 4 * SCONV_TILE.V;
const bordered = (d: Omit<ConvDims, 'k' | 'stride' | 'oh' | 'ow'>) => ({ Hp: d.h + 2 * d.pad, Wp: d.w + 2 * d.pad, imageFloats: (d.h + 2 * d.pad) * (d.w + 2 * d.pad) * d.c });

/** Copies the batch x into scratch with a border of `pad` pixels holding `fill`; returns the byte offset. */
function placeBordered(sc: Scratch, x: Float32Array | null, d: Omit<ConvDims, 'k' | 'stride' | 'oh' | 'ow'>, fill: number): number {
  const { Wp, imageFloats } = bordered(d), { n, h, w, c, pad } = d;
  const off = sc.alloc(n * imageFloats * 4, 64);
  sc.commit();
  const f32 = sc.f32, o = off >>> 2;
  if (pad === 0 && x) { f32.set(x.subarray(0, n * imageFloats), o); return off; }
  f32.fill(fill, o, o + n * imageFloats);
  if (x) for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) {
    f32.set(x.subarray(((b * h + y) * w) * c, ((b * h + y) * w + w) * c), o + b * imageFloats + ((y + pad) * Wp + pad) * c);
  }
  return off;
}

/** Copies the interior of a bordered batch (byte offset `off`) into dx. */
function takeInterior(f32: Float32Array, off: number, d: Omit<ConvDims, 'k' | 'stride' | 'oh' | 'ow'>, dx: Float32Array): void {
  const { Wp, imageFloats } = bordered(d), { n, h, w, c, pad } = d, o = off >>> 2;
  if (pad === 0) { dx.set(f32.subarray(o, o + n * imageFloats)); return; }
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) {
    const s = o + b * imageFloats + ((y + pad) * Wp + pad) * c;
    dx.set(f32.subarray(s, s + w * c), ((b * h + y) * w) * c);
  }
}

/** Arguments of the im2col / col2im kernels for image b (wat.ts im2colWat), with `rows` the cols rows. */
function colsArgs(d: ConvDims, xb: number, b: number, q: number, rowBytes: number): number[] {
  const { Wp, imageFloats } = bordered(d), px = d.c * 4, P = d.oh * d.ow;
  // args: x out p0 p1 cols rowStride pxStride nseg segStride segWords
  return [xb + b * imageFloats * 4, q + b * P * rowBytes, 0, P, d.ow, d.stride * Wp * px, d.stride * px, d.k, Wp * px, d.k * d.c];
}

/** im2col of a bordered batch into A rows (K floats each) at byte offset q. */
function im2colPlaced(d: ConvDims, xb: number, q: number): void {
  const k = kernelExports().im2col, K = d.k * d.k * d.c;
  for (let b = 0; b < d.n; b++) k(...colsArgs(d, xb, b, q, K * 4));
}

/** col2im of rows of `rowFloats` floats (the first K used) at byte offset q into a zeroed bordered batch. */
function col2imPlaced(d: ConvDims, dxb: number, q: number, rowFloats: number): void {
  const k = kernelExports().col2im;
  for (let b = 0; b < d.n; b++) k(...colsArgs(d, dxb, b, q, rowFloats * 4), rowFloats * 4);
}

/** Whether the fused conv paths run: the 'wasm-simd' back end with the fast kernels enabled. */
function fusedOk(): boolean { return backend === 'wasm-simd' && simdEnabled; }

/**
 * y[P, O] = im2col(x)[P, K] * W[O, K]^T with cols[P, K] = im2col(x) written to `cols` as well.
 * Returns false (nothing done) when the fused path does not apply.
 */
export function convForwardFused(x: Float32Array, d: ConvDims, padValue: number, weight: Float32Array, O: number, y: Float32Array, cols: Float32Array): boolean {
  if (!fusedOk()) return false;
  const P = d.n * d.oh * d.ow, K = d.k * d.k * d.c, Ppad = Math.ceil(P / SP) * SP, Opad = Math.ceil(O / TW) * TW;
  const sc = new Scratch();
  const xb = placeBordered(sc, x, d, padValue);
  const aOff = sc.alloc(Ppad * K * 4, 64);
  const B = placeGemmB(sc, weight, K, O, true);
  const outOff = sc.alloc(Ppad * Opad * 4);
  sc.commit();
  sc.f32.fill(0, (aOff >>> 2) + P * K, (aOff >>> 2) + Ppad * K);
  im2colPlaced(d, xb, aOff);
  const gemm = () => gemmPlaced({ a: aOff, aRow: K * 4, aK: 4, ...B }, P, O, K, outOff);
  if (gemmThreads > 1 && KERNEL_GEMM_WHEN(P, O, K, false, true, false)) gemm(); else onCallingThread(gemm);
  const f32 = sc.f32;
  takeRows(f32, outOff >>> 2, y, P, O, Opad);
  cols.set(f32.subarray(aOff >>> 2, (aOff >>> 2) + P * K));
  return true;
}

/**
 * dx = col2im(dy[P, O] * W[O, K]) (dx overwritten); returns false (nothing done) when the fused path does
 * not apply.
 */
export function convInputGradFused(dy: Float32Array, d: ConvDims, weight: Float32Array, O: number, dx: Float32Array): boolean {
  if (!fusedOk()) return false;
  const P = d.n * d.oh * d.ow, K = d.k * d.k * d.c, Ppad = Math.ceil(P / SP) * SP, Kpad = Math.ceil(K / TW) * TW;
  const sc = new Scratch();
  const aOff = sc.alloc(Ppad * O * 4, 64);
  const B = placeGemmB(sc, weight, O, K, false);
  const outOff = sc.alloc(Ppad * Kpad * 4);
  sc.commit();
  const f32 = sc.f32;
  f32.set(dy.subarray(0, P * O), aOff >>> 2);
  f32.fill(0, (aOff >>> 2) + P * O, (aOff >>> 2) + Ppad * O);
  const gemm = () => gemmPlaced({ a: aOff, aRow: O * 4, aK: 4, ...B }, P, K, O, outOff);
  if (gemmThreads > 1 && KERNEL_GEMM_WHEN(P, K, O, false, false, false)) gemm(); else onCallingThread(gemm);
  const dxb = placeBordered(sc, null, d, 0);
  col2imPlaced(d, dxb, outOff, Kpad);
  takeInterior(sc.f32, dxb, d, dx);
  return true;
}

// ---- the memory-bound kernels ---------------------------------------------------------------------------

/** NHWC batch shape of a kernel operand. */
type Dims = { n: number; h: number; w: number; c: number };

/**
 * Float32Array-level entry points: copy operands into scratch, run the kernel, copy the result out. Each
 * method computes exactly what the JS loop named in its comment computes (see the header).
 */
export class SimdOps {
  /** ops/sign.ts signForward */
  sign(x: Float32Array, y: Float32Array): void { unary((a, b, n4) => kernelExports().sign_fwd(a, b, n4), x, y); }
  /** batch-ops.ts CLIP / RELU pointwiseForward */
  act(kind: 'clip' | 'relu', x: Float32Array, y: Float32Array): void {
    const code = kind === 'clip' ? 0 : 1;
    unary((a, b, n4) => kernelExports().act_fwd(code, a, b, n4), x, y);
  }
  /** ops/sign.ts signBackward ('approxsign' | 'ste') */
  signBackward(kind: 'approxsign' | 'ste', x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    binary((a, b, c, n4) => kernelExports()[kind === 'approxsign' ? 'sign_bwd_approx' : 'sign_bwd_ste'](a, b, c, n4), x, dy, dx);
  }
  /** batch-ops.ts pointwiseBackward for CLIP / RELU */
  actBackward(kind: 'clip' | 'relu', x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    const code = kind === 'clip' ? 0 : 1;
    binary((a, b, c, n4) => kernelExports().act_bwd(code, a, b, c, n4), x, dy, dx);
  }
  /** batch-ops.ts addForward: y = fp32(a + b), the golden model's 'add' kernel over one row of n values */
  add(a: Float32Array, b: Float32Array, y: Float32Array): void {
    binary((p, q, r) => kernelExports().add(p, q, r, 0, 1, a.length), a, b, y);
  }

  /**
   * y[i*C + c] = fp32(y[i*C + c] * s[c]) in place (the channel scaling of a binary conv): the golden model's
   * 'bn' kernel fp32(fp32(y * s_c) + t_c) with t = -0, since v + (-0) = v for every fp32 v (including -0).
   */
  scaleChannels(y: Float32Array, s: Float32Array, C: number): void {
    const n = y.length, sc = new Scratch();
    const py = sc.alloc(n * 4), ps = sc.alloc(C * 4), pt = sc.alloc(C * 4);
    sc.commit();
    const F = sc.f32;
    F.set(y, py >> 2); F.set(s.subarray(0, C), ps >> 2); F.fill(-0, pt >> 2, (pt >> 2) + C);
    kernelExports().bn(py, ps, pt, py, 0, n / C, C);
    y.set(F.subarray(py >> 2, (py >> 2) + n));
  }

  /**
   * batch-ops.ts bnForward, training branch, float64 statistics: returns per-channel sums of x and, with
   * `mean` given, of (x - mean)^2. (Two calls, as the JS makes two passes.) C % 4 == 0.
   */
  bnSums(x: Float32Array, C: number, mean: Float64Array | null, out: Float64Array): void {
    const n = x.length, sc = new Scratch();
    const px = sc.alloc(n * 4, 16), pm = sc.alloc(C * 8), pa = sc.alloc(C * 8);
    sc.commit();
    const F = sc.f32, D = sc.f64;
    F.set(x, px >> 2);
    D.fill(0, pa >> 3, (pa >> 3) + C);
    if (mean) D.set(mean, pm >> 3);
    kernelExports().bn_stats(mean ? 1 : 0, px, n / C, C >> 2, pm, pa);
    out.set(D.subarray(pa >> 3, (pa >> 3) + C));
  }

  /** batch-ops.ts bnForward normalisation: training (xhat given) xh = (x-m)*s, y = xh*g + b; eval y = x*s + b */
  bnNormalize(x: Float32Array, C: number, m: ArrayLike<number>, s: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>, xhat: Float32Array | null, y: Float32Array): void {
    const n = x.length, sc = new Scratch();
    const px = sc.alloc(n * 4, 16), py = sc.alloc(n * 4, 16), pxh = xhat ? sc.alloc(n * 4, 16) : -1;
    const pm = sc.alloc(C * 8), ps = sc.alloc(C * 8), pg = sc.alloc(C * 8), pb = sc.alloc(C * 8);
    sc.commit();
    const F = sc.f32, D = sc.f64;
    F.set(x, px >> 2);
    for (let c = 0; c < C; c++) { D[(pm >> 3) + c] = m[c]; D[(ps >> 3) + c] = s[c]; D[(pg >> 3) + c] = g[c]; D[(pb >> 3) + c] = b[c]; }
    kernelExports().bn_norm(px, n / C, C >> 2, pm, ps, pg, pb, pxh, py);
    y.set(F.subarray(py >> 2, (py >> 2) + n));
    if (xhat) xhat.set(F.subarray(pxh >> 2, (pxh >> 2) + n));
  }

  /** batch-ops.ts bnBackward: float64 sums of dy and dy*xhat per channel */
  bnBackwardSums(dy: Float32Array, xh: Float32Array, C: number, sumDy: Float64Array, sumDyXh: Float64Array): void {
    const n = dy.length, sc = new Scratch();
    const pd = sc.alloc(n * 4, 16), px = sc.alloc(n * 4, 16), p1 = sc.alloc(C * 8), p2 = sc.alloc(C * 8);
    sc.commit();
    const F = sc.f32, D = sc.f64;
    F.set(dy, pd >> 2); F.set(xh, px >> 2);
    D.fill(0, p1 >> 3, (p1 >> 3) + C); D.fill(0, p2 >> 3, (p2 >> 3) + C);
    kernelExports().bn_bwd_sums(pd, px, n / C, C >> 2, p1, p2);
    sumDy.set(D.subarray(p1 >> 3, (p1 >> 3) + C)); sumDyXh.set(D.subarray(p2 >> 3, (p2 >> 3) + C));
  }

  /** batch-ops.ts bnBackward: dx = k1 * (dy - k2 - xhat * k3) */
  bnBackwardDx(dy: Float32Array, xh: Float32Array, C: number, k1: Float64Array, k2: Float64Array, k3: Float64Array, dx: Float32Array): void {
    const n = dy.length, sc = new Scratch();
    const pd = sc.alloc(n * 4, 16), px = sc.alloc(n * 4, 16), po = sc.alloc(n * 4, 16), q1 = sc.alloc(C * 8), q2 = sc.alloc(C * 8), q3 = sc.alloc(C * 8);
    sc.commit();
    const F = sc.f32, D = sc.f64;
    F.set(dy, pd >> 2); F.set(xh, px >> 2);
    D.set(k1, q1 >> 3); D.set(k2, q2 >> 3); D.set(k3, q3 >> 3);
    kernelExports().bn_bwd_dx(pd, px, n / C, C >> 2, q1, q2, q3, po);
    dx.set(F.subarray(po >> 2, (po >> 2) + n));
  }

  /**
   * batch-ops.ts maxPoolForward: y and the argmax float indices into x, by the golden model's max pool
   * kernel with argmax (wat.ts poolWat 'maxpool_arg'), one image at a time
   */
  maxPool(x: Float32Array, dims: Dims, k: number, stride: number, pad: number, oh: number, ow: number, y: Float32Array, arg: Int32Array): void {
    const { n, h, w, c } = dims, img = h * w * c, oimg = oh * ow * c;
    const sc = new Scratch();
    const px = sc.alloc(x.length * 4), py = sc.alloc(y.length * 4), pa = sc.alloc(y.length * 4);
    sc.commit();
    const F = sc.f32, pool = kernelExports().maxpool_arg;
    F.set(x, px >> 2);
    // args: in out oy0 oy1 H W c k s pad OW arg argBase
    for (let b = 0; b < n; b++) pool(px + b * img * 4, py + b * oimg * 4, 0, oh, h, w, c, k, stride, pad, ow, pa + b * oimg * 4, b * img);
    y.set(F.subarray(py >> 2, (py >> 2) + y.length));
    arg.set(sc.i32.subarray(pa >> 2, (pa >> 2) + y.length));
  }

  /** batch-ops.ts avgPoolForward (count_include_pad = false), by the golden model's 'avgpool' kernel, one image at a time */
  avgPool(x: Float32Array, dims: Dims, k: number, stride: number, pad: number, oh: number, ow: number, y: Float32Array): void {
    const { n, h, w, c } = dims, img = h * w * c, oimg = oh * ow * c;
    const sc = new Scratch();
    const px = sc.alloc(x.length * 4), py = sc.alloc(y.length * 4);
    sc.commit();
    const F = sc.f32, pool = kernelExports().avgpool;
    F.set(x, px >> 2);
    // args: in out oy0 oy1 H W c k s pad OW
    for (let b = 0; b < n; b++) pool(px + b * img * 4, py + b * oimg * 4, 0, oh, h, w, c, k, stride, pad, ow);
    y.set(F.subarray(py >> 2, (py >> 2) + y.length));
  }

  /** batch-ops.ts im2col into `cols` (length n*oh*ow*k*k*C) */
  im2col(x: Float32Array, dims: Dims, k: number, stride: number, pad: number, oh: number, ow: number, padValue: number, cols: Float32Array): void {
    const d: ConvDims = { ...dims, k, stride, pad, oh, ow }, len = dims.n * oh * ow * k * k * dims.c;
    const sc = new Scratch();
    const xb = placeBordered(sc, x, d, padValue), q = sc.alloc(len * 4);
    sc.commit();
    im2colPlaced(d, xb, q);
    cols.set(sc.f32.subarray(q >> 2, (q >> 2) + len));
  }

  /** batch-ops.ts col2im: dx = scatter-add of dcols (dx is overwritten) */
  col2im(dcols: Float32Array, dims: Dims, k: number, stride: number, pad: number, oh: number, ow: number, dx: Float32Array): void {
    const d: ConvDims = { ...dims, k, stride, pad, oh, ow }, K = k * k * dims.c, len = dims.n * oh * ow * K;
    const sc = new Scratch();
    const dxb = placeBordered(sc, null, d, 0), q = sc.alloc(len * 4);
    sc.commit();
    sc.f32.set(dcols.subarray(0, len), q >> 2);
    col2imPlaced(d, dxb, q, K);
    takeInterior(sc.f32, dxb, d, dx);
  }

  /**
   * Binary conv forward by XNOR-popcount on +-1 data (fast.ts xnorConvBatch): y[P, O] = fp32(scale_o *
   * conv(x, sw)) for x and sw exactly +-1 (x NHWC, sw OHWI), scale = 1 when null; padOne: padded taps are +1
   * ('one' padding), else they count nothing. The float GEMM on the same operands gives the same integers
   * (every partial sum is an integer below 2^24), so the results are the bits of conv2dForward followed by
   * scaleChannels.
   */
  xnorConv(x: Float32Array, dims: Dims, sw: Float32Array, O: number, k: number, stride: number, pad: number, oh: number, ow: number, padOne: boolean, y: Float32Array, scale: Float32Array | null = null): void {
    onCallingThread(() => xnorConvBatch(x, dims, sw, O, k, stride, pad, padOne ? 'one' : 'zero', oh, ow, scale, y));
  }
}

const OPS = new SimdOps();

/** y = f(x) over n values (n4 whole vectors; the lanes past n read and write scratch slack). */
function unary(f: (a: number, b: number, n4: number) => void, x: Float32Array, y: Float32Array): void {
  const n = x.length, sc = new Scratch();
  const px = sc.alloc(n * 4, 16), py = sc.alloc(n * 4, 16);
  sc.commit();
  const F = sc.f32;
  F.set(x, px >> 2);
  f(px, py, (n + 3) >> 2);
  y.set(F.subarray(py >> 2, (py >> 2) + n));
}
/** y = f(a, b) over n = a.length values (as unary). */
function binary(f: (a: number, b: number, c: number, n4: number) => void, a: Float32Array, b: Float32Array, y: Float32Array): void {
  const n = a.length, sc = new Scratch();
  const pa = sc.alloc(n * 4, 16), pb = sc.alloc(n * 4, 16), py = sc.alloc(n * 4, 16);
  sc.commit();
  const F = sc.f32;
  F.set(a, pa >> 2); F.set(b.subarray(0, n), pb >> 2);
  f(pa, pb, py, (n + 3) >> 2);
  y.set(F.subarray(py >> 2, (py >> 2) + n));
}

