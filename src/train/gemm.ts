/**
 * The ONE float matrix-multiply entry point of the trainer: every conv (via im2col) and FC goes through
 * `sgemm`. Row-major, C[M,N] (+)= op(A)[M,K] * op(B)[K,N], op = optional transpose of the stored matrix.
 *
 * Two back ends with the same packing and the same per-element summation order (k ascending, one fp32
 * accumulator per output), so they produce bit-identical results:
 *  - 'wasm-simd': a WebAssembly SIMD (f32x4) micro-kernel on a 4x8 register tile, written as WAT below and
 *    assembled at start-up by `wabt` (devDependency). f32x4.mul + f32x4.add round exactly like the scalar
 *    fp32 multiply then add, so the WASM and JS kernels agree bit for bit.
 *  - 'js': the same 4x8 tile in plain JavaScript with Math.fround (the fallback, and the spec of the kernel).
 * src/kernels' multi-threaded WASM SIMD sgemm (worker pool over all cores, same exactness contract: k
 * ascending, fp32 mul then add, no FMA) is plugged in by `useKernelGemm()` for the shapes where it measured
 * faster on the 2-core machine (KERNEL_GEMM_WHEN: not transposed A, overwrite, K >= 64, >= 1e7 MACs, i.e. the
 * conv forwards and the dcols products). Those calls give the same bits as the local kernel (test/train
 * ops.test.ts), so training results do not depend on the thread count. The transposed-A weight-gradient
 * products stay local: the kernel repacks A there and was slower, and its accumulate mode rounds
 * differently (it starts the sum at C; the local kernel adds the finished sum to C).
 *
 * Staging (see below): A and B are copied into the kernel heap as stored; only a transposed B is repacked.
 * Both kernels write C row-major with rows padded to 8*nb floats, so copying it out is one memcpy per row.
 */

import { SIMD_OPS_WAT, SimdOps, type SimdOpsExports } from './simd-ops.ts';

export type GemmBackendName = 'js' | 'wasm-simd';

const WAT = `
(module
  (memory (export "mem") 1)
  ;; For each 4-row panel i and 8-column panel j: tile = sum_k A[4i+r, k] * B[k, 8j+c].
  ;; A(i,k) at pa0 + i*sai + k*sak (bytes); B(k, 8j..8j+7) at pb0 + k*sbk + 32j; C row-major at cp with a
  ;; row stride of ldc bytes (= 32*nb: the padded 4mb x 8nb result).
  (func (export "gemm") (param $mb i32) (param $nb i32) (param $K i32) (param $pa0 i32) (param $sai i32)
        (param $sak i32) (param $pb0 i32) (param $sbk i32) (param $cp i32) (param $ldc i32)
    (local $i i32) (local $j i32) (local $k i32) (local $pa i32) (local $pb i32) (local $pc i32)
    (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $a v128)
    (local.set $a1 (local.get $sai))
    (local.set $a2 (i32.mul (local.get $sai) (i32.const 2)))
    (local.set $a3 (i32.mul (local.get $sai) (i32.const 3)))
    (local.set $i (i32.const 0))
    (block $iend (loop $iloop
      (br_if $iend (i32.ge_u (local.get $i) (local.get $mb)))
      (local.set $j (i32.const 0))
      (block $jend (loop $jloop
        (br_if $jend (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $pa (i32.add (local.get $pa0) (i32.mul (i32.mul (local.get $i) (i32.const 4)) (local.get $sai))))
        (local.set $pb (i32.add (local.get $pb0) (i32.mul (local.get $j) (i32.const 32))))
        (local.set $pc (i32.add (local.get $cp) (i32.add (i32.mul (i32.mul (local.get $i) (i32.const 4)) (local.get $ldc)) (i32.mul (local.get $j) (i32.const 32)))))
        (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
        (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
        (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
        (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
        (local.set $k (local.get $K))
        (block $kend (loop $kloop
          (br_if $kend (i32.eqz (local.get $k)))
          (local.set $b0 (v128.load (local.get $pb)))
          (local.set $b1 (v128.load offset=16 (local.get $pb)))
          (local.set $a (f32x4.splat (f32.load (local.get $pa))))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
          (local.set $a (f32x4.splat (f32.load (i32.add (local.get $pa) (local.get $a1)))))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
          (local.set $a (f32x4.splat (f32.load (i32.add (local.get $pa) (local.get $a2)))))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
          (local.set $a (f32x4.splat (f32.load (i32.add (local.get $pa) (local.get $a3)))))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
          (local.set $pa (i32.add (local.get $pa) (local.get $sak)))
          (local.set $pb (i32.add (local.get $pb) (local.get $sbk)))
          (local.set $k (i32.sub (local.get $k) (i32.const 1)))
          (br $kloop)))
        (v128.store (local.get $pc) (local.get $c00))
        (v128.store offset=16 (local.get $pc) (local.get $c01))
        (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
        (v128.store (local.get $pc) (local.get $c10))
        (v128.store offset=16 (local.get $pc) (local.get $c11))
        (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
        (v128.store (local.get $pc) (local.get $c20))
        (v128.store offset=16 (local.get $pc) (local.get $c21))
        (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
        (v128.store (local.get $pc) (local.get $c30))
        (v128.store offset=16 (local.get $pc) (local.get $c31))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jloop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $iloop)))
  )
)`;

type GemmKernel = (mb: number, nb: number, K: number, pa0: number, sai: number, sak: number, pb0: number, sbk: number, cp: number, ldc: number) => void;
interface WasmGemm { mem: WebAssembly.Memory; gemm: GemmKernel }

let wasm: WasmGemm | null = null;
let simd: SimdOps | null = null;
let simdEnabled = true;
let backend: GemmBackendName = 'js';
type GemmFn = (M: number, N: number, K: number, A: Float32Array, B: Float32Array, C: Float32Array, transA: boolean, transB: boolean, accumulate: boolean) => void;
type GemmWhen = (M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean) => boolean;
let external: GemmFn | null = null;
let externalWhen: GemmWhen | null = null;

/** Shapes routed to the src/kernels sgemm by useKernelGemm (see header; measured per training shape). */
export const KERNEL_GEMM_WHEN: GemmWhen = (M, N, K, transA, _transB, accumulate) => !transA && !accumulate && K >= 64 && M * N * K >= 1e7;

/** Assembles the WASM kernel (idempotent). Falls back to JS (and says why) when wabt or SIMD is missing. */
export async function initGemm(prefer: GemmBackendName = 'wasm-simd'): Promise<{ backend: GemmBackendName; reason?: string }> {
  if (prefer === 'js') { backend = 'js'; return { backend }; }
  if (wasm) { backend = 'wasm-simd'; return { backend }; }
  try {
    const wabtMod = (await import('wabt')).default as unknown as () => Promise<{ parseWat: (f: string, t: string, feat?: Record<string, boolean>) => { toBinary: (o: object) => { buffer: Uint8Array }; destroy: () => void } }>;
    const w = await wabtMod();
    const m = w.parseWat('gemm.wat', WAT, { simd: true });
    const bin = m.toBinary({}).buffer;
    m.destroy();
    const inst = await WebAssembly.instantiate(bin);
    const ex = (inst as unknown as { instance: WebAssembly.Instance }).instance.exports as unknown as WasmGemm;
    // the elementwise kernels (simd-ops.ts) share the GEMM's memory as scratch
    const om = w.parseWat('simd-ops.wat', SIMD_OPS_WAT, { simd: true });
    const obin = om.toBinary({}).buffer;
    om.destroy();
    const oinst = await WebAssembly.instantiate(obin, { env: { mem: ex.mem } });
    simd = new SimdOps((oinst as unknown as { instance: WebAssembly.Instance }).instance.exports as unknown as SimdOpsExports, ex.mem);
    wasm = { mem: ex.mem, gemm: ex.gemm };
    backend = 'wasm-simd';
    return { backend };
  } catch (e) {
    backend = 'js';
    return { backend, reason: (e as Error).message };
  }
}

/**
 * The WebAssembly SIMD elementwise kernels (simd-ops.ts) when the 'wasm-simd' back end is active, else null
 * (ops.ts then runs its JS loops, which define the same results bit for bit).
 */
export function simdOps(): SimdOps | null { return backend === 'wasm-simd' && simdEnabled ? simd : null; }
/** Tests and benchmarks: turn the SIMD elementwise kernels off (JS loops) or back on. */
export function setSimdOpsEnabled(on: boolean): void { simdEnabled = on; }

/** The built-in back end (what a worker thread should initialise), whatever external routing is set. */
export function localGemmBackend(): GemmBackendName { return backend; }
export function gemmBackend(): string { return external ? (externalWhen ? `${backend}+external` : 'external') : backend; }
export function setGemmBackend(name: GemmBackendName): void {
  if (name === 'wasm-simd' && !wasm) throw new Error('wasm gemm not initialised: await initGemm() first');
  backend = name;
}
/**
 * Plug in an external sgemm with the same contract (e.g. from src/kernels); null restores the built-in one.
 * With `when`, only the calls it accepts go to `f` (the rest use the built-in kernel).
 */
export function setExternalGemm(f: GemmFn | null, when?: GemmWhen): void { external = f; externalWhen = f ? when ?? null : null; }

/**
 * Routes the KERNEL_GEMM_WHEN shapes to src/kernels' sgemm on `threads` threads (default: BIREALSIM_THREADS
 * or all cores) and waits for its workers. Requires the WASM back end (initGemm) for the other calls.
 */
export async function useKernelGemm(threads?: number): Promise<void> {
  const k = await import('../kernels/index.ts');
  const { defaultThreads } = await import('../kernels/pool.ts');
  await k.setKernelThreads(threads ?? defaultThreads());
  await k.kernelsReady();
  setExternalGemm((M, N, K, a, b, c, transA, transB, accumulate) => k.sgemm({ M, N, K, a, b, c, transA, transB, accumulate }), KERNEL_GEMM_WHEN);
}

// ---- staging -------------------------------------------------------------------------------------------
// A is copied as stored (no repacking): A(i,k) = heap[aOff + i*sai + k*sak] with (sai, sak) = (K, 1), or
// (1, M) when transposed. Rows i in [M, 4*mb) of the last panel read zero slack or neighbouring values; they
// only feed tile rows that are never copied back. B, when not transposed, is also copied as stored
// (row stride N; columns >= N of the last panel read slack and are discarded); a transposed B (small in
// practice: the weights) is repacked into [K][8*nb] with zero padding.

function round4(n: number): number { return (n + 3) & ~3; }

interface Layout { aOff: number; sai: number; sak: number; bOff: number; sbk: number; cOff: number; total: number }

function stage(M: number, N: number, K: number, A: Float32Array, B: Float32Array, transA: boolean, transB: boolean,
  heapFor: (floats: number) => Float32Array): { heap: Float32Array; lay: Layout } {
  const mb = (M + 3) >> 2, nb = (N + 7) >> 3;
  const aLen = round4(Math.max(M, 4 * mb) * K + 8);
  const bLen = round4(transB ? K * nb * 8 : K * N + 8);
  const cLen = mb * nb * 32;
  const aOff = 0, bOff = aLen, cOff = aLen + bLen;
  const heap = heapFor(aLen + bLen + cLen);
  heap.set(A.subarray(0, M * K), aOff);
  heap.fill(0, aOff + M * K, aOff + aLen);
  let sbk: number;
  if (!transB) {
    heap.set(B.subarray(0, K * N), bOff);
    heap.fill(0, bOff + K * N, bOff + bLen);
    sbk = N;
  } else {
    packTransposedB(heap, bOff, B, K, N);
    sbk = nb * 8;
  }
  const [sai, sak] = transA ? [1, M] : [K, 1];
  return { heap, lay: { aOff, sai, sak, bOff, sbk, cOff, total: aLen + bLen + cLen } };
}

/** B stored N x K (transposed) -> heap[bOff..] as [K][8*ceil(N/8)], zero-padded columns. */
function packTransposedB(heap: Float32Array, bOff: number, B: Float32Array, K: number, N: number): void {
  const w = ((N + 7) >> 3) * 8;
  for (let k = 0; k < K; k++) {
    const dst = bOff + k * w;
    for (let j = 0; j < N; j++) heap[dst + j] = B[j * K + k];
    for (let j = N; j < w; j++) heap[dst + j] = 0;
  }
}

/** C (+)= the padded row-major result (row stride 8*nb) at tiles[off..]. */
function unpackC(M: number, N: number, tiles: Float32Array, off: number, C: Float32Array, accumulate: boolean): void {
  const ldc = ((N + 7) >> 3) * 8;
  if (!accumulate) {
    if (ldc === N) { C.set(tiles.subarray(off, off + M * N)); return; }
    for (let i = 0; i < M; i++) C.set(tiles.subarray(off + i * ldc, off + i * ldc + N), i * N);
    return;
  }
  for (let i = 0; i < M; i++) {
    const t = off + i * ldc, row = i * N;
    for (let j = 0; j < N; j++) C[row + j] += tiles[t + j];
  }
}

/** The JS micro-kernel: the same tiles, reads and rounding (k ascending, fp32 mul then add) as the WAT one. */
function jsTiles(mb: number, nb: number, K: number, h: Float32Array, lay: Layout): void {
  const f = Math.fround;
  const { aOff, sai, sak, bOff, sbk } = lay;
  const ldc = nb * 8;
  for (let i = 0; i < mb; i++) {
    for (let j = 0; j < nb; j++) {
      const pc = lay.cOff + 4 * i * ldc + 8 * j;
      for (let r = 0; r < 4; r++) {
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        let qa = aOff + (4 * i + r) * sai, qb = bOff + 8 * j;
        for (let k = 0; k < K; k++) {
          const a = h[qa];
          s0 = f(s0 + f(a * h[qb])); s1 = f(s1 + f(a * h[qb + 1])); s2 = f(s2 + f(a * h[qb + 2])); s3 = f(s3 + f(a * h[qb + 3]));
          s4 = f(s4 + f(a * h[qb + 4])); s5 = f(s5 + f(a * h[qb + 5])); s6 = f(s6 + f(a * h[qb + 6])); s7 = f(s7 + f(a * h[qb + 7]));
          qa += sak; qb += sbk;
        }
        const o = pc + r * ldc;
        h[o] = s0; h[o + 1] = s1; h[o + 2] = s2; h[o + 3] = s3; h[o + 4] = s4; h[o + 5] = s5; h[o + 6] = s6; h[o + 7] = s7;
      }
    }
  }
}

let jsHeap = new Float32Array(0);

/**
 * C (+)= op(A) * op(B). A is M x K (or K x M stored when transA), B is K x N (or N x K stored when transB).
 * accumulate=false overwrites C.
 */
export function sgemm(M: number, N: number, K: number, A: Float32Array, B: Float32Array, C: Float32Array,
  transA = false, transB = false, accumulate = false): void {
  if (external && (!externalWhen || externalWhen(M, N, K, transA, transB, accumulate))) { external(M, N, K, A, B, C, transA, transB, accumulate); return; }
  if (M === 0 || N === 0) return;
  if (K === 0) { if (!accumulate) C.fill(0, 0, M * N); return; }
  const mb = (M + 3) >> 2, nb = (N + 7) >> 3;
  if (backend === 'wasm-simd' && wasm) {
    const w = wasm;
    const { heap, lay } = stage(M, N, K, A, B, transA, transB, growTo);
    w.gemm(mb, nb, K, lay.aOff * 4, lay.sai * 4, lay.sak * 4, lay.bOff * 4, lay.sbk * 4, lay.cOff * 4, nb * 32);
    unpackC(M, N, heap, lay.cOff, C, accumulate);
    return;
  }
  const { heap, lay } = stage(M, N, K, A, B, transA, transB, (floats) => {
    if (jsHeap.length < floats) jsHeap = new Float32Array(floats);
    return jsHeap;
  });
  jsTiles(mb, nb, K, heap, lay);
  unpackC(M, N, heap, lay.cOff, C, accumulate);
}

// ---- fused conv paths (wasm-simd only) --------------------------------------------------------------------
// The conv forward gathers its im2col matrix straight into the GEMM's A operand, and the input gradient
// scatters (col2im) straight out of the GEMM's result, so the large column matrices are copied between JS
// and the wasm heap once (forward: out to the caller's cols buffer, which the weight gradient needs) instead
// of three times. Same kernels, same operands, same order: the results are the bits of the unfused path
// (im2col -> sgemm -> ..., sgemm -> col2im), which test/train/simd-ops.test.ts checks.

export interface ConvDims { n: number; h: number; w: number; c: number; k: number; stride: number; pad: number; oh: number; ow: number }

/** The GEMM heap as floats, grown to at least `floats` (growing detaches earlier views). */
function growTo(floats: number): Float32Array {
  const w = wasm!;
  const have = w.mem.buffer.byteLength;
  if (have < floats * 4) w.mem.grow(Math.ceil((floats * 4 - have) / 65536));
  return new Float32Array(w.mem.buffer);
}

/** Whether the fused paths apply: the local wasm kernels run this product and channels are whole vectors. */
function fusedOk(M: number, N: number, K: number, transB: boolean, c: number): boolean {
  if (backend !== 'wasm-simd' || !wasm || !simd || !simdEnabled || c % 4 !== 0 || M === 0 || N === 0 || K === 0) return false;
  return !(external && (!externalWhen || externalWhen(M, N, K, false, transB, false)));
}

/**
 * y[P, O] = im2col(x)[P, K] * W[O, K]^T with cols[P, K] = im2col(x) written to `cols` as well.
 * Returns false (nothing done) when the fused path does not apply.
 */
export function convForwardFused(x: Float32Array, d: ConvDims, padValue: number, weight: Float32Array, O: number, y: Float32Array, cols: Float32Array): boolean {
  const P = d.n * d.oh * d.ow, K = d.k * d.k * d.c;
  if (!fusedOk(P, O, K, true, d.c)) return false;
  const mb = (P + 3) >> 2, nb = (O + 7) >> 3, bw = nb * 8;
  const aOff = 0, aLen = round4(4 * mb * K + 8), bOff = aLen, bLen = round4(K * bw), cOff = bOff + bLen, cLen = mb * nb * 32, xOff = cOff + cLen;
  const heap = growTo(xOff + round4(x.length + 4));
  heap.set(x, xOff);
  simd!.k.cols(0, xOff * 4, aOff * 4, d.n, d.h, d.w, d.c >> 2, d.k, d.stride, d.pad, d.oh, d.ow, padValue);
  packTransposedB(heap, bOff, weight, K, O);
  wasm!.gemm(mb, nb, K, aOff * 4, K * 4, 4, bOff * 4, bw * 4, cOff * 4, nb * 32);
  unpackC(P, O, heap, cOff, y, false);
  cols.set(heap.subarray(aOff, aOff + P * K));
  return true;
}

/**
 * dx = col2im(dy[P, O] * W[O, K]) (dx overwritten). Needs K % 8 == 0 so the GEMM's padded result rows are
 * the dcols rows; returns false (nothing done) when the fused path does not apply.
 */
export function convInputGradFused(dy: Float32Array, d: ConvDims, weight: Float32Array, O: number, dx: Float32Array): boolean {
  const P = d.n * d.oh * d.ow, K = d.k * d.k * d.c;
  if (K % 8 !== 0 || !fusedOk(P, K, O, false, d.c)) return false;
  const mb = (P + 3) >> 2, nb = K >> 3;
  const aOff = 0, aLen = round4(4 * mb * O + 8), bOff = aLen, bLen = round4(O * K + 8), cOff = bOff + bLen, cLen = mb * nb * 32, xOff = cOff + cLen;
  const heap = growTo(xOff + round4(dx.length + 4));
  heap.set(dy.subarray(0, P * O), aOff);
  heap.set(weight.subarray(0, O * K), bOff);
  wasm!.gemm(mb, nb, O, aOff * 4, O * 4, 4, bOff * 4, K * 4, cOff * 4, nb * 32);
  heap.fill(0, xOff, xOff + dx.length);
  simd!.k.cols(1, xOff * 4, cOff * 4, d.n, d.h, d.w, d.c >> 2, d.k, d.stride, d.pad, d.oh, d.ow, 0);
  dx.set(heap.subarray(xOff, xOff + dx.length));
  return true;
}
