/**
 * WebAssembly text (WAT) generators of the ONE kernel module (moduleWat): the golden model's kernels
 * (below) and the trainer's batch kernels (wat-batch.ts), all on one shared memory. The text is
 * hand-written here as templates with the register-blocking factors as parameters, and assembled on first
 * use or at build time by the npm package `wabt` (see wasm.ts). Features used: SIMD128 (no relaxed-simd,
 * no FMA) and threads (a shared imported memory, so worker threads run the same code on the same bytes).
 * One generator per operation: where two instances exist they differ in addressing, never in arithmetic
 * (sconv / sgemm, im2col / col2im, sign_pack / sign_pack_pad, the bconv register tiles).
 *
 * Both kernels are "strided conv-as-GEMM" loops that read NHWC activations in place (no im2col copy;
 * fast.ts gathers windows with the wasm im2col below only when a binary conv's segments are short):
 * an output pixel's receptive field is `nseg` segments (one per kernel row ky) of contiguous data (the
 * kx taps of one input row are adjacent pixels, channels innermost), `segStride` bytes apart. Output
 * pixels of one output row are `pxStride` bytes apart (= stride * pixel bytes), output rows `rowStride`
 * bytes apart. A plain GEMM is the special case nseg = 1, one pixel = one row of A.
 *
 * Loop order: output-channel tile (outermost, its weights stay in L1) -> output row -> pixel tile ->
 * segment -> k step. Work splits between threads along the channel-tile range [t0, t1) or the row range
 * [oy0, oy1); every (pixel, channel) output is written by exactly one call.
 *
 * ---- bconv: XNOR-popcount (Liu et al. 2018 Bi-Real Net / Rastegari et al. 2016; LCE polarity) ----
 * Computes out[p][o] = kone - 2 * popcount(window(p) XOR weights(o)) with 128-bit steps:
 *   v128.xor -> i8x16.popcnt -> i8x16.add into byte accumulators.
 * Widening limit: one step adds at most 8 (bits per byte) to each byte lane, so a u8 lane can absorb
 * floor(255 / 8) = 31 steps before it could wrap; after at most 31 steps the bytes are widened
 * (i16x8.extadd_pairwise_i8x16_u, then i32x4.extadd_pairwise_i16x8_u, i32x4.add) into i32x4
 * accumulators, which hold at most K <= 2^31 bits. A segment whose length in 32-bit words is not a
 * multiple of 4 ends with one masked step: the activation vector is ANDed with a mask of the first `tail`
 * words (the bytes past the segment belong to other pixels), the weight tail is stored zero-padded, so
 * the masked lanes XOR to 0 and count nothing.
 * Weight layout (packed by fast.ts): tile t of O channels -> [seg][step][j = 0..O-1][16 bytes].
 *
 * ---- bconv64: the same with scalar i64.xor + i64.popcnt (the default, see fast.ts) ----
 * V8 (Node 20, x64) lowers i8x16.popcnt to a ~9-instruction PSHUFB nibble-lookup sequence with two
 * constant reloads (measured in --print-wasm-code), while i64.popcnt is one POPCNT; with several
 * independent accumulators the scalar form does more bit-MACs per cycle on the Bi-Real-18 shapes.
 * Register tiles beyond ~6 accumulators spill (x64 has ~12 allocatable GPRs), hence 1x4 / 2x2.
 *
 * ---- sconv / sgemm: fp32 conv / GEMM, bit-exact with kernels/reference.ts ----
 * For each output, acc starts at 0 (or at the existing output, flag bit 0), then for k = 0..K-1 in the
 * order (segment, position in segment) = (ky, kx, ci): acc = fp32(acc + fp32(x_k * w_k)) with f32x4.mul
 * then f32x4.add (wasm forbids contracting them into an FMA), four OUTPUT channels per vector lane group;
 * k is never split across lanes, so each lane performs exactly the reference's sequence of roundings.
 * Bias (flag bit 1) is added last; with flag bit 2 a per-channel affine map (a BN folded to scale/shift)
 * follows: out = fp32(fp32(acc * scale_c) + shift_c), exactly ops/bn.ts bnApply; flag bit 3 adds the
 * finished sum to the existing output (the trainer's gradient accumulation). Weight layout: tile t of 8
 * channels -> [k][8 floats] ('sconv'), or any strides ('sgemm', see sconvWat). Loops are not unrolled:
 * the unrolled variants (U = 2, 4) were slower, V8 hoisted the loads and spilled.
 *
 * ---- element ops (elementWat, poolWat, im2colWat): the golden model's bn / add / sign+pack / pooling /
 * xnor output transform / im2col, exact lane by lane (the trainer uses add, bn, sign_pack, im2col and
 * col2im too); see their comments.
 */

import { batchWat } from './wat-batch.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** XNOR-popcount conv kernel with P pixels x O output channels per register tile. */
export function bconvWat(name: string, P: number, O: number): string {
  const I = range(P), J = range(O);
  const pairs = I.flatMap((i) => J.map((j) => [i, j] as const));
  const widen = pairs.map(([i, j]) =>
    `(local.set $a32_${i}_${j} (i32x4.add (local.get $a32_${i}_${j}) (i32x4.extadd_pairwise_i16x8_u (i16x8.extadd_pairwise_i8x16_u (local.get $a8_${i}_${j})))))
     (local.set $a8_${i}_${j} (v128.const i64x2 0 0))`).join('\n');
  const step = (masked: boolean) => [
    ...I.map((i) => masked
      ? `(local.set $xv_${i} (v128.and (v128.load (local.get $xp_${i})) (local.get $mask)))`
      : `(local.set $xv_${i} (v128.load (local.get $xp_${i})))`),
    ...J.map((j) => `(local.set $wv_${j} (v128.load offset=${16 * j} (local.get $ws)))`),
    ...pairs.map(([i, j]) => `(local.set $a8_${i}_${j} (i8x16.add (local.get $a8_${i}_${j}) (i8x16.popcnt (v128.xor (local.get $xv_${i}) (local.get $wv_${j})))))`),
    `(local.set $ws (i32.add (local.get $ws) (i32.const ${16 * O})))`,
  ].join('\n');
  const store = I.map((i) => `
    (if (i32.lt_u (i32.add (local.get $px) (i32.const ${i})) (local.get $ncols)) (then
      (local.set $optr (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $oy) (local.get $ncols)) (i32.add (local.get $px) (i32.const ${i}))) (local.get $cout)) (local.get $o0)) (i32.const 2))))
      ${J.map((j) => `(if (i32.lt_u (i32.add (local.get $o0) (i32.const ${j})) (local.get $cout)) (then
        (i32.store offset=${4 * j} (local.get $optr) (i32.sub (local.get $kone) (i32.shl (i32.add (i32.add (i32x4.extract_lane 0 (local.get $a32_${i}_${j})) (i32x4.extract_lane 1 (local.get $a32_${i}_${j}))) (i32.add (i32x4.extract_lane 2 (local.get $a32_${i}_${j})) (i32x4.extract_lane 3 (local.get $a32_${i}_${j})))) (i32.const 1))))))`).join('\n')}))`).join('\n');
  return `
  (func $${name} (export "${name}")
    (param $x i32) (param $w i32) (param $out i32)
    (param $oy0 i32) (param $oy1 i32) (param $t0 i32) (param $t1 i32)
    (param $ncols i32) (param $rowStride i32) (param $pxStride i32)
    (param $nseg i32) (param $segStride i32) (param $nfull i32) (param $tail i32)
    (param $cout i32) (param $kone i32)
    (local $mask v128) (local $segSteps i32) (local $tileBytes i32) (local $tile i32) (local $wt i32) (local $o0 i32)
    (local $oy i32) (local $px i32) (local $xbase i32) (local $ws i32) (local $seg i32) (local $xs i32)
    (local $rem i32) (local $n i32) (local $budget i32) (local $optr i32)
    ${I.map((i) => `(local $xp_${i} i32) (local $xv_${i} v128)`).join(' ')}
    ${J.map((j) => `(local $wv_${j} v128)`).join(' ')}
    ${pairs.map(([i, j]) => `(local $a8_${i}_${j} v128) (local $a32_${i}_${j} v128)`).join(' ')}
    (local.set $mask (i32x4.gt_s (i32x4.splat (local.get $tail)) (v128.const i32x4 0 1 2 3)))
    (local.set $segSteps (i32.add (local.get $nfull) (i32.ne (local.get $tail) (i32.const 0))))
    (local.set $tileBytes (i32.mul (i32.mul (local.get $segSteps) (local.get $nseg)) (i32.const ${16 * O})))
    (local.set $tile (local.get $t0))
    (block $tiles_end (loop $tiles
      (br_if $tiles_end (i32.ge_u (local.get $tile) (local.get $t1)))
      (local.set $wt (i32.add (local.get $w) (i32.mul (local.get $tile) (local.get $tileBytes))))
      (local.set $o0 (i32.mul (local.get $tile) (i32.const ${O})))
      (local.set $oy (local.get $oy0))
      (block $rows_end (loop $rows
        (br_if $rows_end (i32.ge_u (local.get $oy) (local.get $oy1)))
        (local.set $px (i32.const 0))
        (block $px_end (loop $pxl
          (br_if $px_end (i32.ge_u (local.get $px) (local.get $ncols)))
          (local.set $xbase (i32.add (i32.add (local.get $x) (i32.mul (local.get $oy) (local.get $rowStride))) (i32.mul (local.get $px) (local.get $pxStride))))
          ${pairs.map(([i, j]) => `(local.set $a8_${i}_${j} (v128.const i64x2 0 0)) (local.set $a32_${i}_${j} (v128.const i64x2 0 0))`).join('\n')}
          (local.set $budget (i32.const 31))
          (local.set $ws (local.get $wt))
          (local.set $seg (i32.const 0))
          (loop $segs
            (local.set $xs (i32.add (local.get $xbase) (i32.mul (local.get $seg) (local.get $segStride))))
            ${I.map((i) => `(local.set $xp_${i} (i32.add (local.get $xs) (i32.mul (i32.const ${i}) (local.get $pxStride))))`).join('\n')}
            (local.set $rem (local.get $nfull))
            (block $chunks_end (loop $chunks
              (br_if $chunks_end (i32.eqz (local.get $rem)))
              (local.set $n (select (local.get $rem) (local.get $budget) (i32.lt_u (local.get $rem) (local.get $budget))))
              (local.set $rem (i32.sub (local.get $rem) (local.get $n)))
              (local.set $budget (i32.sub (local.get $budget) (local.get $n)))
              (loop $steps
                ${step(false)}
                ${I.map((i) => `(local.set $xp_${i} (i32.add (local.get $xp_${i}) (i32.const 16)))`).join('\n')}
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br_if $steps (local.get $n)))
              (if (i32.eqz (local.get $budget)) (then ${widen} (local.set $budget (i32.const 31))))
              (br $chunks)))
            (if (local.get $tail) (then
              ${step(true)}
              (local.set $budget (i32.sub (local.get $budget) (i32.const 1)))
              (if (i32.eqz (local.get $budget)) (then ${widen} (local.set $budget (i32.const 31))))))
            (local.set $seg (i32.add (local.get $seg) (i32.const 1)))
            (br_if $segs (i32.lt_u (local.get $seg) (local.get $nseg))))
          ${widen}
          ${store}
          (local.set $px (i32.add (local.get $px) (i32.const ${P})))
          (br $pxl)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $rows)))
      (local.set $tile (i32.add (local.get $tile) (i32.const 1)))
      (br $tiles)))
  )`;
}

/**
 * Optional prologue of bconv64 (`touch`): when the call owns whole output rows (all channel tiles,
 * t0 = 0 and t1 * O >= cout), one 16-byte zero store per 64 bytes of its output block [oy0, oy1) takes
 * the cache lines for writing in one dense sweep before the kernel's scattered stores (the values are
 * overwritten; results unchanged). Lines last read by another core otherwise cost one ownership
 * transfer each, one at a time, in the middle of the compute.
 */
const TOUCH = `
    (if (i32.and (i32.eqz (local.get $t0)) (i32.ge_u (i32.mul (local.get $t1) (i32.const O_TILE)) (local.get $cout))) (then
      (local.set $optr (i32.add (local.get $out) (i32.shl (i32.mul (i32.mul (local.get $oy0) (local.get $ncols)) (local.get $cout)) (i32.const 2))))
      (local.set $n (i32.sub (i32.add (local.get $out) (i32.shl (i32.mul (i32.mul (local.get $oy1) (local.get $ncols)) (local.get $cout)) (i32.const 2))) (i32.const 16)))
      (block $td (loop $tl
        (br_if $td (i32.gt_s (local.get $optr) (local.get $n)))
        (v128.store (local.get $optr) (v128.const i64x2 0 0))
        (local.set $optr (i32.add (local.get $optr) (i32.const 64)))
        (br $tl)))))`;

/**
 * Scalar variant of bconv: 64-bit steps with i64.xor + i64.popcnt into i64 accumulators (no widening
 * needed). Same arguments and strided-window addressing as bconvWat; `nfull` counts 64-bit steps and
 * `tail` (0 or 1) marks a final 32-bit word, read with i64.load32_u (upper half zero). Weight layout:
 * tile t of O channels -> [seg][step][j = 0..O-1][8 bytes], the odd last word zero-padded.
 */
export function bconv64Wat(name: string, P: number, O: number, U = 1, touch = false): string {
  const I = range(P), J = range(O);
  const pairs = I.flatMap((i) => J.map((j) => [i, j] as const));
  // step u of an unrolled group: static offsets 8u (activations) and 8*O*u (weights) from the group's pointers
  const step = (tail: boolean, u = 0) => [
    ...I.map((i) => `(local.set $xv_${i} (${tail ? 'i64.load32_u' : 'i64.load'} offset=${8 * u} (local.get $xp_${i})))`),
    ...J.map((j) => `(local.set $wv_${j} (i64.load offset=${8 * (O * u + j)} (local.get $ws)))`),
    ...pairs.map(([i, j]) => `(local.set $a_${i}_${j} (i64.add (local.get $a_${i}_${j}) (i64.popcnt (i64.xor (local.get $xv_${i}) (local.get $wv_${j})))))`),
  ].join('\n');
  const advance = (u: number) => [
    ...I.map((i) => `(local.set $xp_${i} (i32.add (local.get $xp_${i}) (i32.const ${8 * u})))`),
    `(local.set $ws (i32.add (local.get $ws) (i32.const ${8 * O * u})))`,
  ].join('\n');
  const store = I.map((i) => `
    (if (i32.lt_u (i32.add (local.get $px) (i32.const ${i})) (local.get $ncols)) (then
      (local.set $optr (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $oy) (local.get $ncols)) (i32.add (local.get $px) (i32.const ${i}))) (local.get $cout)) (local.get $o0)) (i32.const 2))))
      ${J.map((j) => `(if (i32.lt_u (i32.add (local.get $o0) (i32.const ${j})) (local.get $cout)) (then
        (i32.store offset=${4 * j} (local.get $optr) (i32.sub (local.get $kone) (i32.shl (i32.wrap_i64 (local.get $a_${i}_${j})) (i32.const 1))))))`).join('\n')}))`).join('\n');
  return `
  (func $${name} (export "${name}")
    (param $x i32) (param $w i32) (param $out i32)
    (param $oy0 i32) (param $oy1 i32) (param $t0 i32) (param $t1 i32)
    (param $ncols i32) (param $rowStride i32) (param $pxStride i32)
    (param $nseg i32) (param $segStride i32) (param $nfull i32) (param $tail i32)
    (param $cout i32) (param $kone i32)
    (local $segSteps i32) (local $tileBytes i32) (local $tile i32) (local $wt i32) (local $o0 i32)
    (local $oy i32) (local $px i32) (local $xbase i32) (local $ws i32) (local $seg i32) (local $xs i32)
    (local $n i32) (local $optr i32)
    ${I.map((i) => `(local $xp_${i} i32) (local $xv_${i} i64)`).join(' ')}
    ${J.map((j) => `(local $wv_${j} i64)`).join(' ')}
    ${pairs.map(([i, j]) => `(local $a_${i}_${j} i64)`).join(' ')}
    ${touch ? TOUCH.replace('O_TILE', String(O)) : ''}
    (local.set $segSteps (i32.add (local.get $nfull) (i32.ne (local.get $tail) (i32.const 0))))
    (local.set $tileBytes (i32.mul (i32.mul (local.get $segSteps) (local.get $nseg)) (i32.const ${8 * O})))
    (local.set $tile (local.get $t0))
    (block $tiles_end (loop $tiles
      (br_if $tiles_end (i32.ge_u (local.get $tile) (local.get $t1)))
      (local.set $wt (i32.add (local.get $w) (i32.mul (local.get $tile) (local.get $tileBytes))))
      (local.set $o0 (i32.mul (local.get $tile) (i32.const ${O})))
      (local.set $oy (local.get $oy0))
      (block $rows_end (loop $rows
        (br_if $rows_end (i32.ge_u (local.get $oy) (local.get $oy1)))
        (local.set $px (i32.const 0))
        (block $px_end (loop $pxl
          (br_if $px_end (i32.ge_u (local.get $px) (local.get $ncols)))
          (local.set $xbase (i32.add (i32.add (local.get $x) (i32.mul (local.get $oy) (local.get $rowStride))) (i32.mul (local.get $px) (local.get $pxStride))))
          ${pairs.map(([i, j]) => `(local.set $a_${i}_${j} (i64.const 0))`).join(' ')}
          (local.set $ws (local.get $wt))
          (local.set $seg (i32.const 0))
          (loop $segs
            (local.set $xs (i32.add (local.get $xbase) (i32.mul (local.get $seg) (local.get $segStride))))
            ${I.map((i) => `(local.set $xp_${i} (i32.add (local.get $xs) (i32.mul (i32.const ${i}) (local.get $pxStride))))`).join('\n')}
            (local.set $n (local.get $nfull))
            (block $unr_end (loop $unr
              (br_if $unr_end (i32.lt_u (local.get $n) (i32.const ${U})))
              ${range(U).map((u) => step(false, u)).join('\n')}
              ${advance(U)}
              (local.set $n (i32.sub (local.get $n) (i32.const ${U})))
              (br $unr)))
            (block $steps_end (loop $steps
              (br_if $steps_end (i32.eqz (local.get $n)))
              ${step(false)}
              ${advance(1)}
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br $steps)))
            (if (local.get $tail) (then ${step(true)} ${advance(1)}))
            (local.set $seg (i32.add (local.get $seg) (i32.const 1)))
            (br_if $segs (i32.lt_u (local.get $seg) (local.get $nseg))))
          ${store}
          (local.set $px (i32.add (local.get $px) (i32.const ${P})))
          (br $pxl)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $rows)))
      (local.set $tile (i32.add (local.get $tile) (i32.const 1)))
      (br $tiles)))
  )`;
}

/** Flag bits of the fp32 conv / GEMM kernels (sconvWat); any combination, applied in this order. */
export const SCONV_FLAGS = { INIT: 1, BIAS: 2, AFFINE: 4, ADD_TO_OUT: 8 } as const;

/**
 * fp32 conv / GEMM kernel: P pixels x (4*V) output channels per register tile; channel tile = 4*V.
 * Two instances come from this one generator (moduleWat):
 *  - 'sconv' (strided = false): A is read in place from NHWC windows (k advances 4 bytes), the weights are
 *    packed [tile][k][4V floats] (packFloatRows); the golden model's real convs and FCs.
 *  - 'sgemm' (strided = true): three more arguments give the strides in bytes of A along k ($kStride) and of
 *    B between channel tiles ($wTile) and along k ($wk), so a transposed A (stride = M floats) and a B
 *    stored K x N row-major (tile stride 32 bytes, k stride N floats) are read where they lie, without
 *    repacking; the float GEMM of the kernels' sgemm and of the trainer (batch-ops.ts).
 * The strides are compile-time constants in 'sconv' (an add of an immediate in the k loop) and values in
 * 'sgemm'; the arithmetic, its order and so every result bit are the same in both.
 * Flags (SCONV_FLAGS): INIT starts each sum at the existing output; BIAS adds bias_c after the sum; AFFINE
 * then maps out = fp32(fp32(acc * scale_c) + shift_c); ADD_TO_OUT finally stores fp32(out + acc), i.e. the
 * finished sum (from +0) added to the existing output: C += A*B with the rounding of `C[i] += s` in JS.
 */
export function sconvWat(name: string, P: number, V: number, U = 1, strided = false): string {
  if (strided && U !== 1) throw new Error('sconvWat: the strided instance is not unrolled');
  const I = range(P), Vs = range(V);
  const pairs = I.flatMap((i) => Vs.map((v) => [i, v] as const));
  const TW = 4 * V; // channels per tile
  // k step u of an unrolled group of U: static offsets 4u (activations) and 4*TW*u (weights)
  const kstep = (u: number) => [
    ...Vs.map((v) => `(local.set $wv_${v} (v128.load offset=${16 * v + 4 * TW * u} (local.get $ws)))`),
    ...I.map((i) => `(local.set $xv_${i} (v128.load32_splat offset=${4 * u} (local.get $xp_${i})))`),
    ...pairs.map(([i, v]) => `(local.set $acc_${i}_${v} (f32x4.add (local.get $acc_${i}_${v}) (f32x4.mul (local.get $xv_${i}) (local.get $wv_${v}))))`),
  ].join('\n');
  const advance = (u: number) => [
    ...I.map((i) => `(local.set $xp_${i} (i32.add (local.get $xp_${i}) ${strided ? '(local.get $kStride)' : `(i32.const ${4 * u})`}))`),
    `(local.set $ws (i32.add (local.get $ws) ${strided ? '(local.get $wk)' : `(i32.const ${4 * TW * u})`}))`,
  ].join('\n');
  const tileBase = strided
    ? '(i32.add (local.get $w) (i32.mul (local.get $tile) (local.get $wTile)))'
    : `(i32.add (local.get $w) (i32.mul (i32.mul (local.get $tile) (local.get $kTotal)) (i32.const ${TW * 4})))`;
  return `
  (func $${name} (export "${name}")
    (param $x i32) (param $w i32) (param $out i32) (param $bias i32) (param $flags i32)
    (param $oy0 i32) (param $oy1 i32) (param $t0 i32) (param $t1 i32)
    (param $ncols i32) (param $rowStride i32) (param $pxStride i32)
    (param $nseg i32) (param $segStride i32) (param $segLen i32) (param $coutPad i32)
    (param $scale i32) (param $shift i32)${strided ? ' (param $kStride i32) (param $wTile i32) (param $wk i32)' : ''}
    (local $tile i32) (local $wt i32) (local $oy i32) (local $px i32) (local $xbase i32) (local $ws i32)
    (local $seg i32) (local $n i32) (local $kTotal i32)
    ${I.map((i) => `(local $xp_${i} i32) (local $op_${i} i32) (local $xv_${i} v128)`).join(' ')}
    ${Vs.map((v) => `(local $wv_${v} v128)`).join(' ')}
    ${pairs.map(([i, v]) => `(local $acc_${i}_${v} v128)`).join(' ')}
    (local.set $kTotal (i32.mul (local.get $nseg) (local.get $segLen)))
    (local.set $tile (local.get $t0))
    (block $tiles_end (loop $tiles
      (br_if $tiles_end (i32.ge_u (local.get $tile) (local.get $t1)))
      (local.set $wt ${tileBase})
      (local.set $oy (local.get $oy0))
      (block $rows_end (loop $rows
        (br_if $rows_end (i32.ge_u (local.get $oy) (local.get $oy1)))
        (local.set $px (i32.const 0))
        (block $px_end (loop $pxl
          (br_if $px_end (i32.ge_u (local.get $px) (local.get $ncols)))
          (local.set $xbase (i32.add (i32.add (local.get $x) (i32.mul (local.get $oy) (local.get $rowStride))) (i32.mul (local.get $px) (local.get $pxStride))))
          ${I.map((i) => `(local.set $op_${i} (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $oy) (local.get $ncols)) (i32.add (local.get $px) (i32.const ${i}))) (local.get $coutPad)) (i32.mul (local.get $tile) (i32.const ${TW}))) (i32.const 2))))`).join('\n')}
          (if (i32.and (local.get $flags) (i32.const 1))
            (then ${pairs.map(([i, v]) => `(local.set $acc_${i}_${v} (v128.load offset=${16 * v} (local.get $op_${i})))`).join(' ')})
            (else ${pairs.map(([i, v]) => `(local.set $acc_${i}_${v} (v128.const i64x2 0 0))`).join(' ')}))
          (local.set $ws (local.get $wt))
          (local.set $seg (i32.const 0))
          (loop $segs
            ${I.map((i) => `(local.set $xp_${i} (i32.add (i32.add (local.get $xbase) (i32.mul (local.get $seg) (local.get $segStride))) (i32.mul (i32.const ${i}) (local.get $pxStride))))`).join('\n')}
            (local.set $n (local.get $segLen))
            (block $unr_end (loop $unr
              (br_if $unr_end (i32.lt_u (local.get $n) (i32.const ${U})))
              ${range(U).map((u) => kstep(u)).join('\n')}
              ${advance(U)}
              (local.set $n (i32.sub (local.get $n) (i32.const ${U})))
              (br $unr)))
            (block $ks_end (loop $ks
              (br_if $ks_end (i32.eqz (local.get $n)))
              ${kstep(0)}
              ${advance(1)}
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br $ks)))
            (local.set $seg (i32.add (local.get $seg) (i32.const 1)))
            (br_if $segs (i32.lt_u (local.get $seg) (local.get $nseg))))
          (if (i32.and (local.get $flags) (i32.const 2)) (then
            ${Vs.map((v) => `(local.set $wv_${v} (v128.load offset=${16 * v} (i32.add (local.get $bias) (i32.mul (local.get $tile) (i32.const ${TW * 4})))))`).join(' ')}
            ${pairs.map(([i, v]) => `(local.set $acc_${i}_${v} (f32x4.add (local.get $acc_${i}_${v}) (local.get $wv_${v})))`).join(' ')}))
          (if (i32.and (local.get $flags) (i32.const 4)) (then
            ${Vs.map((v) => `(local.set $wv_${v} (v128.load offset=${16 * v} (i32.add (local.get $scale) (i32.mul (local.get $tile) (i32.const ${TW * 4})))))`).join(' ')}
            ${pairs.map(([i, v]) => `(local.set $acc_${i}_${v} (f32x4.mul (local.get $acc_${i}_${v}) (local.get $wv_${v})))`).join(' ')}
            ${Vs.map((v) => `(local.set $wv_${v} (v128.load offset=${16 * v} (i32.add (local.get $shift) (i32.mul (local.get $tile) (i32.const ${TW * 4})))))`).join(' ')}
            ${pairs.map(([i, v]) => `(local.set $acc_${i}_${v} (f32x4.add (local.get $acc_${i}_${v}) (local.get $wv_${v})))`).join(' ')}))
          (if (i32.and (local.get $flags) (i32.const 8)) (then
            ${pairs.map(([i, v]) => `(local.set $acc_${i}_${v} (f32x4.add (v128.load offset=${16 * v} (local.get $op_${i})) (local.get $acc_${i}_${v})))`).join(' ')}))
          ${pairs.map(([i, v]) => `(v128.store offset=${16 * v} (local.get $op_${i}) (local.get $acc_${i}_${v}))`).join('\n')}
          (local.set $px (i32.add (local.get $px) (i32.const ${P})))
          (br $pxl)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $rows)))
      (local.set $tile (i32.add (local.get $tile) (i32.const 1)))
      (br $tiles)))
  )`;
}

/**
 * Element ops of the golden model (the op modules, src/ops/), vectorised over channels, each over a pixel range
 * [p0, p1) so calls split across threads. Each lane performs exactly the fp32 operations the JS version
 * performs (JS rounds a double result to fp32 with Math.fround; for one +, * of fp32 operands that equals
 * the fp32 operation, since double has > 2*24+2 significand bits):
 *   xnor_out: out = fp32(fp32(mul_c * fp32(acc)) + bias_c)   (fp32(acc) exact while |acc| < 2^24)
 *   bn:       out = fp32(fp32(x * scale_c) + shift_c)
 *   add:      out = fp32(a + b)
 *   sign_pack: bit = (x < 0) (so -0 and +0 give 0; NaN gives 0), 32 channels per word LSB first, via
 *             f32x4.lt + i32x4.bitmask (4 bits per vector, 8 vectors per word); padding bits 0
 *   maxpool / avgpool: see poolWat
 * Channel counts not divisible by 4 (or 32 for packing) finish with scalar lanes.
 */
export function elementWat(): string {
  // out[p][c] = f(in[p][c]) for p in [p0, p1): `vec` and `sca` are the per-4-lane and per-lane bodies
  // with $i (input byte offset of the lane group), $j (channel byte offset) in scope
  const perChannel = (name: string, params: string, vec: string, sca: string) => `
  (func $${name} (export "${name}") (param $in i32) ${params} (param $out i32) (param $p0 i32) (param $p1 i32) (param $c i32)
    (local $p i32) (local $j i32) (local $cv i32) (local $i i32) (local $o i32) (local $row i32)
    (local.set $cv (i32.shl (i32.and (local.get $c) (i32.const -4)) (i32.const 2)))
    (local.set $row (i32.shl (local.get $c) (i32.const 2)))
    (local.set $p (local.get $p0))
    (block $done (loop $pix
      (br_if $done (i32.ge_u (local.get $p) (local.get $p1)))
      (local.set $i (i32.add (local.get $in) (i32.mul (local.get $p) (local.get $row))))
      (local.set $o (i32.add (local.get $out) (i32.mul (local.get $p) (local.get $row))))
      (local.set $j (i32.const 0))
      (block $vd (loop $vl
        (br_if $vd (i32.ge_u (local.get $j) (local.get $cv)))
        (v128.store (i32.add (local.get $o) (local.get $j)) ${vec})
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vl)))
      (block $sd (loop $sl
        (br_if $sd (i32.ge_u (local.get $j) (local.get $row)))
        (f32.store (i32.add (local.get $o) (local.get $j)) ${sca})
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sl)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pix)))
  )`;
  const at = (base: string, ty: string) => `(${ty}.load (i32.add (local.get ${base}) (local.get $j)))`;
  const lane = (ptr: string) => `(i32.add (local.get ${ptr}) (local.get $j))`;
  return [
    perChannel('xnor_out', '(param $mul i32) (param $bias i32)',
      `(f32x4.add (f32x4.mul (v128.load ${lane('$mul')}) (f32x4.convert_i32x4_s (v128.load ${lane('$i')}))) (v128.load ${lane('$bias')}))`,
      `(f32.add (f32.mul ${at('$mul', 'f32')} (f32.convert_i32_s ${at('$i', 'i32')})) ${at('$bias', 'f32')})`),
    perChannel('bn', '(param $scale i32) (param $shift i32)',
      `(f32x4.add (f32x4.mul (v128.load ${lane('$i')}) (v128.load ${lane('$scale')})) (v128.load ${lane('$shift')}))`,
      `(f32.add (f32.mul ${at('$i', 'f32')} ${at('$scale', 'f32')}) ${at('$shift', 'f32')})`),
    // add: the second operand sits at the same offsets from $in2 (row-major, same shape)
    perChannel('add', '(param $in2 i32)',
      `(f32x4.add (v128.load ${lane('$i')}) (v128.load (i32.add (i32.add (local.get $in2) (i32.sub (local.get $i) (local.get $in))) (local.get $j))))`,
      `(f32.add ${at('$i', 'f32')} (f32.load (i32.add (i32.add (local.get $in2) (i32.sub (local.get $i) (local.get $in))) (local.get $j))))`),
    signPackWat('sign_pack', false),
    signPackWat('sign_pack_pad', true),
    poolWat('maxpool', 'max'),
    poolWat('avgpool', 'avg'),
    poolWat('maxpool_arg', 'max', true),
    im2colWat('gather'),
    im2colWat('scatter-add'),
  ].join('\n');
}

/**
 * sign + bit-pack over pixels [p0, p1) (see elementWat). `padded`: pixel p = (p / ow, p % ow) is written at
 * out + (p / ow) * oRow + (p % ow) * oPx, i.e. into the interior of a zero-bordered packed buffer that a
 * binary conv then reads in place; otherwise the packed words are contiguous.
 */
function signPackWat(name: string, padded: boolean): string {
  return `
  (func $${name} (export "${name}") (param $in i32) (param $out i32) (param $p0 i32) (param $p1 i32) (param $c i32)${padded ? ' (param $ow i32) (param $oRow i32) (param $oPx i32)' : ''}
    (local $p i32) (local $w i32) (local $words i32) (local $full i32) (local $i i32) (local $o i32) (local $word i32) (local $b i32) (local $n i32)
    (local.set $words (i32.shr_u (i32.add (local.get $c) (i32.const 31)) (i32.const 5)))
    (local.set $full (i32.shr_u (local.get $c) (i32.const 5)))
    (local.set $p (local.get $p0))
    (block $done (loop $pix
      (br_if $done (i32.ge_u (local.get $p) (local.get $p1)))
      (local.set $i (i32.add (local.get $in) (i32.shl (i32.mul (local.get $p) (local.get $c)) (i32.const 2))))
      ${padded
        ? '(local.set $o (i32.add (local.get $out) (i32.add (i32.mul (i32.div_u (local.get $p) (local.get $ow)) (local.get $oRow)) (i32.mul (i32.rem_u (local.get $p) (local.get $ow)) (local.get $oPx)))))'
        : '(local.set $o (i32.add (local.get $out) (i32.shl (i32.mul (local.get $p) (local.get $words)) (i32.const 2))))'}
      (local.set $w (i32.const 0))
      (block $fd (loop $fl
        (br_if $fd (i32.ge_u (local.get $w) (local.get $full)))
        (i32.store (local.get $o) (i32.or (i32.or (i32.or
          (i32x4.bitmask (f32x4.lt (v128.load offset=0 (local.get $i)) (v128.const i64x2 0 0)))
          (i32.shl (i32x4.bitmask (f32x4.lt (v128.load offset=16 (local.get $i)) (v128.const i64x2 0 0))) (i32.const 4)))
          (i32.or (i32.shl (i32x4.bitmask (f32x4.lt (v128.load offset=32 (local.get $i)) (v128.const i64x2 0 0))) (i32.const 8))
                  (i32.shl (i32x4.bitmask (f32x4.lt (v128.load offset=48 (local.get $i)) (v128.const i64x2 0 0))) (i32.const 12))))
          (i32.or (i32.or
          (i32.shl (i32x4.bitmask (f32x4.lt (v128.load offset=64 (local.get $i)) (v128.const i64x2 0 0))) (i32.const 16))
          (i32.shl (i32x4.bitmask (f32x4.lt (v128.load offset=80 (local.get $i)) (v128.const i64x2 0 0))) (i32.const 20)))
          (i32.or (i32.shl (i32x4.bitmask (f32x4.lt (v128.load offset=96 (local.get $i)) (v128.const i64x2 0 0))) (i32.const 24))
                  (i32.shl (i32x4.bitmask (f32x4.lt (v128.load offset=112 (local.get $i)) (v128.const i64x2 0 0))) (i32.const 28))))))
        (local.set $i (i32.add (local.get $i) (i32.const 128)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $w (i32.add (local.get $w) (i32.const 1)))
        (br $fl)))
      (if (i32.lt_u (local.get $full) (local.get $words)) (then
        (local.set $n (i32.sub (local.get $c) (i32.shl (local.get $full) (i32.const 5))))
        (local.set $word (i32.const 0))
        (local.set $b (i32.const 0))
        (block $bd (loop $bl
          (br_if $bd (i32.ge_u (local.get $b) (local.get $n)))
          (local.set $word (i32.or (local.get $word) (i32.shl (f32.lt (f32.load (local.get $i)) (f32.const 0)) (local.get $b))))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (local.set $b (i32.add (local.get $b) (i32.const 1)))
          (br $bl)))
        (i32.store (local.get $o) (local.get $word))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pix)))
  )`;
}

/**
 * im2col and its adjoint, over 32-bit words (packed sign bits of a binary conv, or fp32 values of a float
 * conv), from a zero-bordered (or value-bordered) NHWC source, so every window is in bounds:
 *   'im2col' (gather): output pixel p (row-major over `cols` columns) gets its nseg segments of segWords
 *            words, taken at x + (p / cols) * rowStride + (p % cols) * pxStride + seg * segStride,
 *            concatenated into out[p][nseg * segWords] (copied as 128-bit, then 64-bit, then 32-bit words).
 *   'col2im' (scatter-add, fp32): the same addressing with the roles swapped: every window word is
 *            incremented, dx[...] = fp32(dx[...] + cols[p][...]), pixel p ascending then segment ascending,
 *            where row p of cols starts at cols + p * colStride (bytes). Each bordered-source word then
 *            receives its terms in the order of the plain loop over (pixel, kernel row) that skips
 *            out-of-bounds taps (batch-ops.ts col2im): the skipped taps land in the border, which the
 *            caller discards.
 * Pixels [p0, p1) per call; one call covers one image (the callers loop over a batch).
 */
function im2colWat(mode: 'gather' | 'scatter-add'): string {
  const gather = mode === 'gather';
  const name = gather ? 'im2col' : 'col2im';
  // one step of `bytes` bytes from d (cols) to/from s (window), then both advance
  const step = (bytes: 16 | 8 | 4) => {
    const [ld, st] = bytes === 16 ? ['v128.load', 'v128.store'] : bytes === 8 ? ['i64.load', 'i64.store'] : ['i32.load', 'i32.store'];
    const op = gather ? `(${st} (local.get $d) (${ld} (local.get $s)))`
      : bytes === 16 ? '(v128.store (local.get $s) (f32x4.add (v128.load (local.get $s)) (v128.load (local.get $d))))'
        : bytes === 8 ? `(f32.store (local.get $s) (f32.add (f32.load (local.get $s)) (f32.load (local.get $d))))
          (f32.store offset=4 (local.get $s) (f32.add (f32.load offset=4 (local.get $s)) (f32.load offset=4 (local.get $d))))`
          : '(f32.store (local.get $s) (f32.add (f32.load (local.get $s)) (f32.load (local.get $d))))';
    return `${op}
          (local.set $s (i32.add (local.get $s) (i32.const ${bytes})))
          (local.set $d (i32.add (local.get $d) (i32.const ${bytes})))`;
  };
  return `
  (func $${name} (export "${name}") (param $x i32) (param $out i32) (param $p0 i32) (param $p1 i32)
    (param $cols i32) (param $rowStride i32) (param $pxStride i32) (param $nseg i32) (param $segStride i32) (param $segWords i32)${gather ? '' : ' (param $colStride i32)'}
    (local $p i32) (local $src i32) (local $s i32) (local $d i32) (local $seg i32) (local $n i32) (local $quads i32)
    (local.set $quads (i32.shr_u (local.get $segWords) (i32.const 2)))
    (local.set $p (local.get $p0))
    ${gather ? '(local.set $d (i32.add (local.get $out) (i32.shl (i32.mul (local.get $p0) (i32.mul (local.get $nseg) (local.get $segWords))) (i32.const 2))))' : ''}
    (block $done (loop $pix
      (br_if $done (i32.ge_u (local.get $p) (local.get $p1)))
      ${gather ? '' : '(local.set $d (i32.add (local.get $out) (i32.mul (local.get $p) (local.get $colStride))))'}
      (local.set $src (i32.add (i32.add (local.get $x) (i32.mul (i32.div_u (local.get $p) (local.get $cols)) (local.get $rowStride)))
                               (i32.mul (i32.rem_u (local.get $p) (local.get $cols)) (local.get $pxStride))))
      (local.set $seg (i32.const 0))
      (block $sd (loop $sl
        (br_if $sd (i32.ge_u (local.get $seg) (local.get $nseg)))
        (local.set $s (i32.add (local.get $src) (i32.mul (local.get $seg) (local.get $segStride))))
        (local.set $n (local.get $quads))
        (block $wd (loop $wl
          (br_if $wd (i32.eqz (local.get $n)))
          ${step(16)}
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $wl)))
        (if (i32.and (local.get $segWords) (i32.const 2)) (then
          ${step(8)}))
        (if (i32.and (local.get $segWords) (i32.const 1)) (then
          ${step(4)}))
        (local.set $seg (i32.add (local.get $seg) (i32.const 1)))
        (br $sl)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pix)))
  )`;
}

/**
 * Window pooling over an output-row range [oy0, oy1) (ops/common.ts poolApply), channels vectorised:
 *   max: acc = -Inf; for in-bounds taps in (ky, kx) order acc = v > acc ? v : acc (v128.bitselect on
 *        f32x4.gt, NOT f32x4.max, which would differ on NaN and on -0/+0 ties);
 *   avg: acc = 0; acc = fp32(acc + v) in (ky, kx) order; out = fp32(acc / count of in-bounds taps).
 * Channels go in blocks of 16 (four vector accumulators, one address per tap), then groups of 4, then
 * single lanes; every channel sees its taps in the same (ky, kx) order.
 * `argmax` (max only; the trainer's max pool, batch-ops.ts maxPoolForward): two more arguments $arg and
 * $argBase; with every replacement of acc (the same strict v > acc) the float index argBase + (address
 * of v - in) / 4 is kept too, so arg receives, at the output's position, the index of the FIRST maximum
 * (-1 when no tap was in bounds). One generator: the plain instances' text is unchanged by the option.
 */
function poolWat(name: string, mode: 'max' | 'avg', argmax = false): string {
  const max = mode === 'max';
  if (argmax && !max) throw new Error('poolWat: argmax applies to max pooling');
  const init = max ? '-inf' : '0';
  // float index of the value at byte address `addr` (+ lane offsets `plus`), as an i32x4 vector
  const idxVec = (addr: string, plus = 0) =>
    `(i32x4.add (i32x4.splat (i32.add (local.get $argBase) (i32.add (i32.shr_u (i32.sub ${addr} (local.get $in)) (i32.const 2)) (i32.const ${plus})))) (v128.const i32x4 0 1 2 3))`;
  const vUpdate = argmax
    ? `(local.set $m (f32x4.gt (local.get $v) (local.get $acc)))
              (local.set $acc (v128.bitselect (local.get $v) (local.get $acc) (local.get $m)))
              (local.set $ia (v128.bitselect ${idxVec('(local.get $t)')} (local.get $ia) (local.get $m)))`
    : max
      ? '(local.set $acc (v128.bitselect (local.get $v) (local.get $acc) (f32x4.gt (local.get $v) (local.get $acc))))'
      : '(local.set $acc (f32x4.add (local.get $acc) (local.get $v)))';
  const sUpdate = argmax
    ? `(local.set $g (f32.gt (local.get $sv) (local.get $sa)))
              (local.set $sa (select (local.get $sv) (local.get $sa) (local.get $g)))
              (local.set $si (select (i32.add (local.get $argBase) (i32.shr_u (i32.sub (local.get $t) (local.get $in)) (i32.const 2))) (local.get $si) (local.get $g)))`
    : max
      ? '(local.set $sa (select (local.get $sv) (local.get $sa) (f32.gt (local.get $sv) (local.get $sa))))'
      : '(local.set $sa (f32.add (local.get $sa) (local.get $sv)))';
  const vFinal = max ? '(local.get $acc)' : '(f32x4.div (local.get $acc) (f32x4.splat (local.get $cnt)))';
  const sFinal = max ? '(local.get $sa)' : '(f32.div (local.get $sa) (local.get $cnt))';
  // byte address in $arg of the output at $o + $j (+ offset)
  const argAt = '(i32.add (local.get $arg) (i32.add (i32.sub (local.get $o) (local.get $out)) (local.get $j)))';
  // address of tap (ky, kx) at channel byte $j
  const tapAddr = '(i32.add (i32.add (local.get $in) (i32.mul (i32.add (i32.mul (i32.add (local.get $y0) (local.get $ky)) (local.get $W)) (i32.add (local.get $x0) (local.get $kx))) (local.get $row))) (local.get $j))';
  // blocks of 4 lane groups (16 channels): one address per tap for 4 accumulators
  const B = 4;
  const bUpdate = (i: number) => argmax
    ? `(local.set $m (f32x4.gt (local.get $v) (local.get $b${i})))
              (local.set $b${i} (v128.bitselect (local.get $v) (local.get $b${i}) (local.get $m)))
              (local.set $ib${i} (v128.bitselect ${idxVec('(local.get $t)', 4 * i)} (local.get $ib${i}) (local.get $m)))`
    : max
      ? `(local.set $b${i} (v128.bitselect (local.get $v) (local.get $b${i}) (f32x4.gt (local.get $v) (local.get $b${i}))))`
      : `(local.set $b${i} (f32x4.add (local.get $b${i}) (local.get $v)))`;
  const bFinal = (i: number) => max ? `(local.get $b${i})` : `(f32x4.div (local.get $b${i}) (f32x4.splat (local.get $cnt)))`;
  const block = `
        (block $bd (loop $bl
          (br_if $bd (i32.gt_u (i32.add (local.get $j) (i32.const ${16 * B})) (local.get $cv)))
          ${Array.from({ length: B }, (_, i) => `(local.set $b${i} (f32x4.splat (f32.const ${init})))`).join(' ')}${argmax ? `
          ${Array.from({ length: B }, (_, i) => `(local.set $ib${i} (i32x4.splat (i32.const -1)))`).join(' ')}` : ''}
          (local.set $ky (local.get $ky0))
          (block $kyd3 (loop $kyl3
            (br_if $kyd3 (i32.ge_s (local.get $ky) (local.get $ky1)))
            (local.set $t (i32.add (i32.add (local.get $in) (i32.mul (i32.add (i32.mul (i32.add (local.get $y0) (local.get $ky)) (local.get $W)) (i32.add (local.get $x0) (local.get $kx0))) (local.get $row))) (local.get $j)))
            (local.set $kx (local.get $kx0))
            (block $kxd3 (loop $kxl3
              (br_if $kxd3 (i32.ge_s (local.get $kx) (local.get $kx1)))
              ${Array.from({ length: B }, (_, i) => `(local.set $v (v128.load offset=${16 * i} (local.get $t))) ${bUpdate(i)}`).join('\n              ')}
              (local.set $t (i32.add (local.get $t) (local.get $row)))
              (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
              (br $kxl3)))
            (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
            (br $kyl3)))
          ${Array.from({ length: B }, (_, i) => `(v128.store offset=${16 * i} (i32.add (local.get $o) (local.get $j)) ${bFinal(i)})`).join(' ')}${argmax ? `
          ${Array.from({ length: B }, (_, i) => `(v128.store offset=${16 * i} ${argAt} (local.get $ib${i}))`).join(' ')}` : ''}
          (local.set $j (i32.add (local.get $j) (i32.const ${16 * B})))
          (br $bl)))`;
  return `
  (func $${name} (export "${name}") (param $in i32) (param $out i32) (param $oy0 i32) (param $oy1 i32)
    (param $H i32) (param $W i32) (param $c i32) (param $k i32) (param $s i32) (param $pad i32) (param $OW i32)${argmax ? ' (param $arg i32) (param $argBase i32)' : ''}
    (local $oy i32) (local $ox i32) (local $y0 i32) (local $x0 i32) (local $ky0 i32) (local $ky1 i32) (local $kx0 i32) (local $kx1 i32)
    (local $ky i32) (local $kx i32) (local $j i32) (local $cv i32) (local $row i32) (local $o i32) (local $t i32)
    (local $acc v128) (local $v v128) (local $sa f32) (local $sv f32) (local $cnt f32) (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)${argmax ? `
    (local $m v128) (local $ia v128) (local $ib0 v128) (local $ib1 v128) (local $ib2 v128) (local $ib3 v128) (local $si i32) (local $g i32)` : ''}
    (local.set $row (i32.shl (local.get $c) (i32.const 2)))
    (local.set $cv (i32.shl (i32.and (local.get $c) (i32.const -4)) (i32.const 2)))
    (local.set $oy (local.get $oy0))
    (block $yd (loop $yl
      (br_if $yd (i32.ge_u (local.get $oy) (local.get $oy1)))
      (local.set $y0 (i32.sub (i32.mul (local.get $oy) (local.get $s)) (local.get $pad)))
      (local.set $ky0 (select (i32.sub (i32.const 0) (local.get $y0)) (i32.const 0) (i32.lt_s (local.get $y0) (i32.const 0))))
      (local.set $ky1 (select (i32.sub (local.get $H) (local.get $y0)) (local.get $k) (i32.lt_s (i32.sub (local.get $H) (local.get $y0)) (local.get $k))))
      (local.set $ox (i32.const 0))
      (block $xd (loop $xl
        (br_if $xd (i32.ge_u (local.get $ox) (local.get $OW)))
        (local.set $x0 (i32.sub (i32.mul (local.get $ox) (local.get $s)) (local.get $pad)))
        (local.set $kx0 (select (i32.sub (i32.const 0) (local.get $x0)) (i32.const 0) (i32.lt_s (local.get $x0) (i32.const 0))))
        (local.set $kx1 (select (i32.sub (local.get $W) (local.get $x0)) (local.get $k) (i32.lt_s (i32.sub (local.get $W) (local.get $x0)) (local.get $k))))
        (local.set $cnt (f32.convert_i32_s (i32.mul (i32.sub (local.get $ky1) (local.get $ky0)) (i32.sub (local.get $kx1) (local.get $kx0)))))
        (local.set $o (i32.add (local.get $out) (i32.mul (i32.add (i32.mul (local.get $oy) (local.get $OW)) (local.get $ox)) (local.get $row))))
        (local.set $j (i32.const 0))
        ${block}
        (block $vd (loop $vl
          (br_if $vd (i32.ge_u (local.get $j) (local.get $cv)))
          (local.set $acc (f32x4.splat (f32.const ${init})))${argmax ? `
          (local.set $ia (i32x4.splat (i32.const -1)))` : ''}
          (local.set $ky (local.get $ky0))
          (block $kyd (loop $kyl
            (br_if $kyd (i32.ge_s (local.get $ky) (local.get $ky1)))
            (local.set $kx (local.get $kx0))
            (block $kxd (loop $kxl
              (br_if $kxd (i32.ge_s (local.get $kx) (local.get $kx1)))
              ${argmax ? `(local.set $t ${tapAddr})
              (local.set $v (v128.load (local.get $t)))` : `(local.set $v (v128.load ${tapAddr}))`}
              ${vUpdate}
              (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
              (br $kxl)))
            (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
            (br $kyl)))
          (v128.store (i32.add (local.get $o) (local.get $j)) ${vFinal})${argmax ? `
          (v128.store ${argAt} (local.get $ia))` : ''}
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.ge_u (local.get $j) (local.get $row)))
          (local.set $sa (f32.const ${init}))${argmax ? `
          (local.set $si (i32.const -1))` : ''}
          (local.set $ky (local.get $ky0))
          (block $kyd2 (loop $kyl2
            (br_if $kyd2 (i32.ge_s (local.get $ky) (local.get $ky1)))
            (local.set $kx (local.get $kx0))
            (block $kxd2 (loop $kxl2
              (br_if $kxd2 (i32.ge_s (local.get $kx) (local.get $kx1)))
              ${argmax ? `(local.set $t ${tapAddr})
              (local.set $sv (f32.load (local.get $t)))` : `(local.set $sv (f32.load ${tapAddr}))`}
              ${sUpdate}
              (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
              (br $kxl2)))
            (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
            (br $kyl2)))
          (f32.store (i32.add (local.get $o) (local.get $j)) ${sFinal})${argmax ? `
          (i32.store ${argAt} (local.get $si))` : ''}
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $sl)))
        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
        (br $xl)))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br $yl)))
  )`;
}

/** Flag bits of the fused xnor epilogue (xnorEpiWat); one exported function per combination. */
export const EPI = { ACC_BACK: 1, STORE_Y: 2, RESIDUAL: 4, PACK: 8 } as const;
export const epiName = (flags: number) => `xnor_epi_${flags}`;

/**
 * Fused epilogue of a binary conv over output pixels [p0, p1) with c channels (the golden steps
 * xnor -> add -> sign, each exact as in the op modules (src/ops/); fusion only skips storing intermediates):
 *   a = acc - corr[cls[p]]           padding correction (fast.ts header; cls[p] = byte offset of pixel p's
 *                                    correction vector, 0 = the all-zero vector for interior pixels)
 *   y = fp32(fp32(mul_c * fp32(a)) + bias_c)                 (ops.xnorOutputTransform)
 *   ACC_BACK: acc = a (the corrected accumulators, for taps)  STORE_Y: store y
 *   RESIDUAL: z = fp32(y + res) stored at z (ops.addApply), else z = y (not stored)
 *   PACK: sign bits (z < 0) packed 32 channels per word into a zero-bordered packed buffer at
 *         pk + (p / ow) * pkRow + (p % ow) * pkPx (as sign_pack_pad)
 * Channel groups of 4 are vectorised; a tail of c mod 4 channels runs scalar.
 */
function xnorEpiWat(flags: number): string {
  const accBack = (flags & EPI.ACC_BACK) !== 0, storeY = (flags & EPI.STORE_Y) !== 0, residual = (flags & EPI.RESIDUAL) !== 0, pack = (flags & EPI.PACK) !== 0;
  const name = epiName(flags);
  const vec = [
    '(local.set $av (i32x4.sub (v128.load (i32.add (local.get $a) (local.get $j))) (v128.load (i32.add (local.get $cp) (local.get $j)))))',
    accBack ? '(v128.store (i32.add (local.get $a) (local.get $j)) (local.get $av))' : '',
    '(local.set $yv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $mul) (local.get $j))) (f32x4.convert_i32x4_s (local.get $av))) (v128.load (i32.add (local.get $bias) (local.get $j)))))',
    storeY ? '(v128.store (i32.add (local.get $yp) (local.get $j)) (local.get $yv))' : '',
    residual ? '(local.set $yv (f32x4.add (local.get $yv) (v128.load (i32.add (local.get $rp) (local.get $j)))))' : '',
    residual ? '(v128.store (i32.add (local.get $zp) (local.get $j)) (local.get $yv))' : '',
    pack ? `(local.set $sh (i32.and (i32.shr_u (local.get $j) (i32.const 2)) (i32.const 31)))
        (local.set $word (i32.or (local.get $word) (i32.shl (i32x4.bitmask (f32x4.lt (local.get $yv) (v128.const i64x2 0 0))) (local.get $sh))))
        (if (i32.eq (local.get $sh) (i32.const 28)) (then
          (i32.store (local.get $pkp) (local.get $word)) (local.set $word (i32.const 0))
          (local.set $pkp (i32.add (local.get $pkp) (i32.const 4)))))` : '',
  ].filter(Boolean).join('\n        ');
  const sca = [
    '(local.set $as (i32.sub (i32.load (i32.add (local.get $a) (local.get $j))) (i32.load (i32.add (local.get $cp) (local.get $j)))))',
    accBack ? '(i32.store (i32.add (local.get $a) (local.get $j)) (local.get $as))' : '',
    '(local.set $ys (f32.add (f32.mul (f32.load (i32.add (local.get $mul) (local.get $j))) (f32.convert_i32_s (local.get $as))) (f32.load (i32.add (local.get $bias) (local.get $j)))))',
    storeY ? '(f32.store (i32.add (local.get $yp) (local.get $j)) (local.get $ys))' : '',
    residual ? '(local.set $ys (f32.add (local.get $ys) (f32.load (i32.add (local.get $rp) (local.get $j)))))' : '',
    residual ? '(f32.store (i32.add (local.get $zp) (local.get $j)) (local.get $ys))' : '',
    pack ? `(local.set $sh (i32.and (i32.shr_u (local.get $j) (i32.const 2)) (i32.const 31)))
        (local.set $word (i32.or (local.get $word) (i32.shl (f32.lt (local.get $ys) (f32.const 0)) (local.get $sh))))
        (if (i32.eq (local.get $sh) (i32.const 31)) (then
          (i32.store (local.get $pkp) (local.get $word)) (local.set $word (i32.const 0))
          (local.set $pkp (i32.add (local.get $pkp) (i32.const 4)))))` : '',
  ].filter(Boolean).join('\n        ');
  return `
  (func $${name} (export "${name}")
    (param $acc i32) (param $cls i32) (param $corr i32) (param $mul i32) (param $bias i32)
    (param $res i32) (param $y i32) (param $z i32) (param $pk i32)
    (param $p0 i32) (param $p1 i32) (param $c i32) (param $ow i32) (param $pkRow i32) (param $pkPx i32)
    (local $p i32) (local $j i32) (local $cv i32) (local $row i32) (local $a i32) (local $cp i32)
    (local $yp i32) (local $zp i32) (local $rp i32) (local $pkp i32) (local $word i32) (local $sh i32)
    (local $av v128) (local $yv v128) (local $as i32) (local $ys f32)
    (local.set $cv (i32.shl (i32.and (local.get $c) (i32.const -4)) (i32.const 2)))
    (local.set $row (i32.shl (local.get $c) (i32.const 2)))
    (local.set $p (local.get $p0))
    (block $done (loop $pix
      (br_if $done (i32.ge_u (local.get $p) (local.get $p1)))
      (local.set $a (i32.add (local.get $acc) (i32.mul (local.get $p) (local.get $row))))
      (local.set $cp (i32.add (local.get $corr) (i32.load (i32.add (local.get $cls) (i32.shl (local.get $p) (i32.const 2))))))
      (local.set $yp (i32.add (local.get $y) (i32.mul (local.get $p) (local.get $row))))
      (local.set $zp (i32.add (local.get $z) (i32.mul (local.get $p) (local.get $row))))
      (local.set $rp (i32.add (local.get $res) (i32.mul (local.get $p) (local.get $row))))
      (local.set $pkp (i32.add (local.get $pk) (i32.add (i32.mul (i32.div_u (local.get $p) (local.get $ow)) (local.get $pkRow)) (i32.mul (i32.rem_u (local.get $p) (local.get $ow)) (local.get $pkPx)))))
      (local.set $word (i32.const 0))
      (local.set $j (i32.const 0))
      (block $vd (loop $vl
        (br_if $vd (i32.ge_u (local.get $j) (local.get $cv)))
        ${vec}
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vl)))
      (block $sd (loop $sl
        (br_if $sd (i32.ge_u (local.get $j) (local.get $row)))
        ${sca}
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sl)))
      ${pack ? '(if (i32.and (local.get $c) (i32.const 31)) (then (i32.store (local.get $pkp) (local.get $word))))' : ''}
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pix)))
  )`;
}

/**
 * Short binary reductions (a gathered window of at most 9 64-bit words, e.g. a 3x3 conv over <= 64
 * channels): `bconvx_${nfull}_${tail}` keeps the pixel's window in L1 and walks the output channels with
 * the whole reduction unrolled, G = 8 channels per iteration (then single channels), each dot a tree of
 * i64.popcnt(x_k XOR w_{o,k}) (+ a final 32-bit word when `tail`). Measured ~1.4x the 1x4 register-tile
 * kernel on Bi-Real's 64-channel stage, where that kernel spends much of its time in per-pixel loop
 * overhead; for longer windows the register-tile kernel is faster.
 * Same arguments as bconv64 (nseg, segStride, nfull, tail are fixed by the name and ignored); a "tile" is
 * G = 8 output channels; weights [o][nfull + tail steps][8 bytes] (packBinaryWeights with O = 1).
 */
export const BCONVX_G = 8;
export const BCONVX_MAX_STEPS = 9;
/** Segment shapes (nfull, tail) of the segmented 3-segment (3x3) variants: 3x3 windows over <= 64 channels. */
export const BCONVXS_SEGMENTS: ReadonlyArray<readonly [number, number]> = [[0, 1], [1, 0], [1, 1], [2, 0], [2, 1], [3, 0]];
export const bconvxName = (nfull: number, tail: number) => `bconvx_${nfull}_${tail}`;
/**
 * Segmented form `bconvxs_${nseg}_${nfull}_${tail}`: the window is read in place as `nseg` segments of
 * nfull (+ tail) steps each, segStride bytes apart (no im2col gather); weights [o][seg][step][8 bytes].
 */
export const bconvxsName = (nseg: number, nfull: number, tail: number) => `bconvxs_${nseg}_${nfull}_${tail}`;
function bconvxWat(nfull: number, tail: number, nseg = 0): string {
  const G = BCONVX_G, segs = Math.max(1, nseg), steps = nfull + tail, stepBytes = 8 * steps * segs;
  const xp = (sg: number) => (nseg ? `$xp${sg}` : '$xp');
  const dot = (g: number) => {
    let t = Array.from({ length: segs * steps }, (_, i) => {
      const sg = Math.floor(i / steps), k = i % steps;
      return `(i64.popcnt (i64.xor (${k < nfull ? 'i64.load' : 'i64.load32_u'} offset=${8 * k} (local.get ${xp(sg)})) (i64.load offset=${stepBytes * g + 8 * i} (local.get $ws))))`;
    });
    while (t.length > 1) { const n: string[] = []; for (let i = 0; i < t.length; i += 2) n.push(i + 1 < t.length ? `(i64.add ${t[i]} ${t[i + 1]})` : t[i]); t = n; }
    return `(i32.sub (local.get $kone) (i32.shl (i32.wrap_i64 ${t[0]}) (i32.const 1)))`;
  };
  const name = nseg ? bconvxsName(nseg, nfull, tail) : bconvxName(nfull, tail);
  return `
  (func $${name} (export "${name}")
    (param $x i32) (param $w i32) (param $out i32)
    (param $oy0 i32) (param $oy1 i32) (param $t0 i32) (param $t1 i32)
    (param $ncols i32) (param $rowStride i32) (param $pxStride i32)
    (param $nseg i32) (param $segStride i32) (param $nfull i32) (param $tail i32)
    (param $cout i32) (param $kone i32)
    (local $o0 i32) (local $oEnd i32) (local $oy i32) (local $px i32) (local $xp i32) (local $op i32) (local $ws i32) (local $o i32)
    ${Array.from({ length: nseg }, (_, sg) => `(local $xp${sg} i32)`).join(' ')}
    (local.set $o0 (i32.mul (local.get $t0) (i32.const ${G})))
    (local.set $oEnd (i32.mul (local.get $t1) (i32.const ${G})))
    (if (i32.gt_u (local.get $oEnd) (local.get $cout)) (then (local.set $oEnd (local.get $cout))))
    (local.set $oy (local.get $oy0))
    (block $yd (loop $yl
      (br_if $yd (i32.ge_u (local.get $oy) (local.get $oy1)))
      (local.set $px (i32.const 0))
      (block $pd (loop $pl
        (br_if $pd (i32.ge_u (local.get $px) (local.get $ncols)))
        (local.set $xp (i32.add (i32.add (local.get $x) (i32.mul (local.get $oy) (local.get $rowStride))) (i32.mul (local.get $px) (local.get $pxStride))))
        ${Array.from({ length: nseg }, (_, sg) => `(local.set $xp${sg} (i32.add (local.get $xp) (i32.mul (local.get $segStride) (i32.const ${sg}))))`).join('\n        ')}
        (local.set $op (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $oy) (local.get $ncols)) (local.get $px)) (local.get $cout)) (local.get $o0)) (i32.const 2))))
        (local.set $ws (i32.add (local.get $w) (i32.mul (local.get $o0) (i32.const ${stepBytes}))))
        (local.set $o (local.get $o0))
        (block $gd (loop $gl
          (br_if $gd (i32.gt_u (i32.add (local.get $o) (i32.const ${G})) (local.get $oEnd)))
          ${Array.from({ length: G }, (_, g) => `(i32.store offset=${4 * g} (local.get $op) ${dot(g)})`).join('\n          ')}
          (local.set $ws (i32.add (local.get $ws) (i32.const ${G * stepBytes})))
          (local.set $op (i32.add (local.get $op) (i32.const ${4 * G})))
          (local.set $o (i32.add (local.get $o) (i32.const ${G})))
          (br $gl)))
        (block $sd (loop $sl
          (br_if $sd (i32.ge_u (local.get $o) (local.get $oEnd)))
          (i32.store (local.get $op) ${dot(0)})
          (local.set $ws (i32.add (local.get $ws) (i32.const ${stepBytes})))
          (local.set $op (i32.add (local.get $op) (i32.const 4)))
          (local.set $o (i32.add (local.get $o) (i32.const 1)))
          (br $sl)))
        (local.set $px (i32.add (local.get $px) (i32.const 1)))
        (br $pl)))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br $yl)))
  )`;
}

/** Register tiles compiled into the module (P pixels x O channels for bconv, P x 4V for sconv). */
export const BCONV_TILES: ReadonlyArray<readonly [number, number]> = [[2, 4], [4, 2], [2, 3], [3, 2], [2, 2], [1, 4]];
export const BCONV64_TILES: ReadonlyArray<readonly [number, number]> = [[2, 2], [2, 3], [3, 2], [1, 4], [4, 1], [2, 4], [1, 2]];
export const SCONV_TILE = { P: 4, V: 2 } as const;

export function moduleWat(): string {
  return `(module
  (import "env" "mem" (memory 1 65536 shared))
  ${BCONV_TILES.map(([p, o]) => bconvWat(`bconv_${p}x${o}`, p, o)).join('\n')}
  ${BCONV64_TILES.map(([p, o]) => bconv64Wat(`bconv64_${p}x${o}`, p, o)).join('\n')}
  ${BCONV64_TILES.map(([p, o]) => bconv64Wat(`bconv64_${p}x${o}_t`, p, o, 1, true)).join('\n')}
  ${Array.from({ length: BCONVX_MAX_STEPS + 1 }, (_, n) => [0, 1].filter((t) => n + t >= 1 && n + t <= BCONVX_MAX_STEPS).map((t) => bconvxWat(n, t)).join('\n')).join('\n')}
  ${BCONVXS_SEGMENTS.map(([n, t]) => bconvxWat(n, t, 3)).join('\n')}
  ${sconvWat('sconv', SCONV_TILE.P, SCONV_TILE.V)}
  ${sconvWat('sgemm', SCONV_TILE.P, SCONV_TILE.V, 1, true)}
  ${elementWat()}
  ${Array.from({ length: 16 }, (_, f) => xnorEpiWat(f)).join('\n')}
  ${batchWat()}
)`;
}
