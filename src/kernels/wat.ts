/**
 * WebAssembly text (WAT) generators for the fast kernels. The text is hand-written here as templates with
 * the register-blocking factors as parameters, and assembled at load time by the npm package `wabt`
 * (see wasm.ts). Features used: SIMD128 (no relaxed-simd, no FMA) and threads (a shared imported memory,
 * so worker threads run the same code on the same bytes).
 *
 * Both kernels are "strided conv-as-GEMM" loops that read NHWC activations in place (no im2col copy):
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
 * ---- sconv: fp32 conv / GEMM, bit-exact with kernels/reference.ts ----
 * For each output, acc starts at 0 (or at the existing output, flag bit 0), then for k = 0..K-1 in the
 * order (segment, position in segment) = (ky, kx, ci): acc = fp32(acc + fp32(x_k * w_k)) with f32x4.mul
 * then f32x4.add (wasm forbids contracting them into an FMA), four OUTPUT channels per vector lane group;
 * k is never split across lanes, so each lane performs exactly the reference's sequence of roundings.
 * Bias (flag bit 1) is added last. Weight layout: tile t of 8 channels -> [k][8 floats].
 */

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
 * Scalar variant of bconv: 64-bit steps with i64.xor + i64.popcnt into i64 accumulators (no widening
 * needed). Same arguments and strided-window addressing as bconvWat; `nfull` counts 64-bit steps and
 * `tail` (0 or 1) marks a final 32-bit word, read with i64.load32_u (upper half zero). Weight layout:
 * tile t of O channels -> [seg][step][j = 0..O-1][8 bytes], the odd last word zero-padded.
 */
export function bconv64Wat(name: string, P: number, O: number): string {
  const I = range(P), J = range(O);
  const pairs = I.flatMap((i) => J.map((j) => [i, j] as const));
  const step = (tail: boolean) => [
    ...I.map((i) => `(local.set $xv_${i} (${tail ? 'i64.load32_u' : 'i64.load'} (local.get $xp_${i})))`),
    ...J.map((j) => `(local.set $wv_${j} (i64.load offset=${8 * j} (local.get $ws)))`),
    ...pairs.map(([i, j]) => `(local.set $a_${i}_${j} (i64.add (local.get $a_${i}_${j}) (i64.popcnt (i64.xor (local.get $xv_${i}) (local.get $wv_${j})))))`),
    `(local.set $ws (i32.add (local.get $ws) (i32.const ${8 * O})))`,
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
            (block $steps_end (loop $steps
              (br_if $steps_end (i32.eqz (local.get $n)))
              ${step(false)}
              ${I.map((i) => `(local.set $xp_${i} (i32.add (local.get $xp_${i}) (i32.const 8)))`).join('\n')}
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br $steps)))
            (if (local.get $tail) (then ${step(true)}))
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

/** fp32 conv / GEMM kernel: P pixels x (4*V) output channels per register tile; channel tile = 4*V. */
export function sconvWat(name: string, P: number, V: number): string {
  const I = range(P), Vs = range(V);
  const pairs = I.flatMap((i) => Vs.map((v) => [i, v] as const));
  const TW = 4 * V; // channels per tile
  return `
  (func $${name} (export "${name}")
    (param $x i32) (param $w i32) (param $out i32) (param $bias i32) (param $flags i32)
    (param $oy0 i32) (param $oy1 i32) (param $t0 i32) (param $t1 i32)
    (param $ncols i32) (param $rowStride i32) (param $pxStride i32)
    (param $nseg i32) (param $segStride i32) (param $segLen i32) (param $coutPad i32)
    (local $tile i32) (local $wt i32) (local $oy i32) (local $px i32) (local $xbase i32) (local $ws i32)
    (local $seg i32) (local $n i32) (local $kTotal i32)
    ${I.map((i) => `(local $xp_${i} i32) (local $op_${i} i32) (local $xv_${i} v128)`).join(' ')}
    ${Vs.map((v) => `(local $wv_${v} v128)`).join(' ')}
    ${pairs.map(([i, v]) => `(local $acc_${i}_${v} v128)`).join(' ')}
    (local.set $kTotal (i32.mul (local.get $nseg) (local.get $segLen)))
    (local.set $tile (local.get $t0))
    (block $tiles_end (loop $tiles
      (br_if $tiles_end (i32.ge_u (local.get $tile) (local.get $t1)))
      (local.set $wt (i32.add (local.get $w) (i32.mul (i32.mul (local.get $tile) (local.get $kTotal)) (i32.const ${TW * 4}))))
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
            (loop $ks
              ${Vs.map((v) => `(local.set $wv_${v} (v128.load offset=${16 * v} (local.get $ws)))`).join(' ')}
              ${I.map((i) => `(local.set $xv_${i} (v128.load32_splat (local.get $xp_${i})))`).join(' ')}
              ${pairs.map(([i, v]) => `(local.set $acc_${i}_${v} (f32x4.add (local.get $acc_${i}_${v}) (f32x4.mul (local.get $xv_${i}) (local.get $wv_${v}))))`).join('\n')}
              ${I.map((i) => `(local.set $xp_${i} (i32.add (local.get $xp_${i}) (i32.const 4)))`).join(' ')}
              (local.set $ws (i32.add (local.get $ws) (i32.const ${TW * 4})))
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br_if $ks (local.get $n)))
            (local.set $seg (i32.add (local.get $seg) (i32.const 1)))
            (br_if $segs (i32.lt_u (local.get $seg) (local.get $nseg))))
          (if (i32.and (local.get $flags) (i32.const 2)) (then
            ${Vs.map((v) => `(local.set $wv_${v} (v128.load offset=${16 * v} (i32.add (local.get $bias) (i32.mul (local.get $tile) (i32.const ${TW * 4})))))`).join(' ')}
            ${pairs.map(([i, v]) => `(local.set $acc_${i}_${v} (f32x4.add (local.get $acc_${i}_${v}) (local.get $wv_${v})))`).join(' ')}))
          ${pairs.map(([i, v]) => `(v128.store offset=${16 * v} (local.get $op_${i}) (local.get $acc_${i}_${v}))`).join('\n')}
          (local.set $px (i32.add (local.get $px) (i32.const ${P})))
          (br $pxl)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $rows)))
      (local.set $tile (i32.add (local.get $tile) (i32.const 1)))
      (br $tiles)))
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
  ${sconvWat('sconv', SCONV_TILE.P, SCONV_TILE.V)}
)`;
}
