/**
 * WebAssembly SIMD versions of the trainer's memory-bound elementwise ops (sign, clip, ReLU and their
 * pseudo-gradients, residual add, per-channel scaling, batch-norm statistics / normalisation / backward,
 * im2col and col2im). They run on the float GEMM's memory (gemm.ts; the heap is per-call scratch, laid
 * out from byte 0 by each call), so a call copies its operands in, runs one kernel and copies its result
 * out; the copies cost ~0.1 ns per float against 2-6 ns per float for the JS loops they replace (the
 * JS sign and clip loops branch on random signs and mispredict about half the time).
 *
 * Exactness contract: every kernel returns the SAME BITS as the JS loop it replaces in ops.ts /
 * quantizers.ts, which stays the spec (test/train/simd-ops.test.ts checks each one bit for bit):
 *  - where the JS loop computes in float64 (JS numbers) and rounds once when storing to a Float32Array
 *    (the ApproxSign pseudo-gradient, every batch-norm formula), the kernel computes in f64x2 lanes with
 *    the same operations in the same order and rounds with f32x4.demote_f64x2_zero; float64 sums keep
 *    their order (pixel ascending per channel, one accumulator per channel);
 *  - a single fp32 add or multiply of two fp32 values rounds the same in fp32 as in float64 followed by
 *    rounding to fp32 (the exact result fits in float64), so the residual add, col2im's accumulation and
 *    the channel scaling use f32x4 arithmetic;
 *  - selects keep the JS zeros: `cond ? dy * (2-2|x|) : 0` selects +0, `dy * df(x)` multiplies by 0 or 1
 *    (giving -0 for a negative dy, like JS).
 * The per-channel kernels need C % 4 == 0 (ops.ts falls back to JS otherwise); lengths are rounded up to
 * whole vectors, the extra lanes read and write heap slack that is never copied back.
 */

// ---- WAT text helpers (the kernels below share these loop skeletons) -----------------------------------
/** A loop over $n4 vectors: `body` sees each pointer in `ptrs` at the current vector; all advance 16 bytes. */
function vecLoop(ptrs: string[], body: string): string {
  return `(local.set $end (i32.add (local.get $${ptrs[0]}) (i32.shl (local.get $n4) (i32.const 4))))
    (block $e (loop $l
      (br_if $e (i32.ge_u (local.get $${ptrs[0]}) (local.get $end)))
      ${body}
      ${ptrs.map((p) => `(local.set $${p} (i32.add (local.get $${p}) (i32.const 16)))`).join('\n      ')}
      (br $l)))`;
}
/**
 * Loops over $M rows x $c4 channel vectors (4 channels each): `body` runs per vector with $o the byte offset
 * of its channels in per-channel vectors (float64 by default: 32 bytes per 4 channels); the row pointers in
 * `ptrs` advance 16 bytes per vector and so walk the NHWC rows continuously.
 */
function rowLoop(body: string, ptrs: string[], chBytes = 32): string {
  return `(block $ie (loop $il
      (br_if $ie (i32.ge_u (local.get $i) (local.get $M)))
      (local.set $o (i32.const 0))
      (local.set $j (i32.const 0))
      (block $je (loop $jl
        (br_if $je (i32.ge_u (local.get $j) (local.get $c4)))
        ${body}
        ${ptrs.map((p) => `(local.set $${p} (i32.add (local.get $${p}) (i32.const 16)))`).join('\n        ')}
        (local.set $o (i32.add (local.get $o) (i32.const ${chBytes})))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jl)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $il)))`;
}
/**
 * The image x row x column nest of the NHWC kernels: $b over $n images (from its current value), then the
 * locals `y` over [0, `h`) and `x` over [0, `w`); `perImage` runs once per image before its rows, `body` once
 * per pixel.
 */
function pixelLoop(y: string, h: string, x: string, w: string, body: string, perImage = ''): string {
  return `(block $be (loop $bl
      (br_if $be (i32.ge_u (local.get $b) (local.get $n)))
      ${perImage}
      (local.set $${y} (i32.const 0))
      (block $ye (loop $yl
        (br_if $ye (i32.ge_s (local.get $${y}) (local.get $${h})))
        (local.set $${x} (i32.const 0))
        (block $xe (loop $xl
          (br_if $xe (i32.ge_s (local.get $${x}) (local.get $${w})))
          ${body}
          (local.set $${x} (i32.add (local.get $${x}) (i32.const 1)))
          (br $xl)))
        (local.set $${y} (i32.add (local.get $${y}) (i32.const 1)))
        (br $yl)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bl)))`;
}
/** address of the current 4 channels in the per-channel vector at param $name */
const ch = (name: string) => `(i32.add (local.get $${name}) (local.get $o))`;
/** lanes 2,3 of an f32x4 moved to lanes 0,1 (for f64x2.promote_low_f32x4) */
const high = (v: string) => `(i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${v} ${v})`;
/** two f64x2 rounded to fp32 and joined into one f32x4 (lo lanes 0,1; hi lanes 2,3) */
const join = (lo: string, hi: string) => `(i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero ${lo}) (f32x4.demote_f64x2_zero ${hi}))`;

export const SIMD_OPS_WAT = `
(module
  (import "env" "mem" (memory 1))

  ;; ---- pointwise over n4 vectors ------------------------------------------------------------------
  (func (export "sign_fwd") (param $x i32) (param $y i32) (param $n4 i32)
    (local $end i32)
    ${vecLoop(['x', 'y'], `(v128.store (local.get $y)
        (v128.bitselect (v128.const f32x4 -1 -1 -1 -1) (v128.const f32x4 1 1 1 1)
          (f32x4.lt (v128.load (local.get $x)) (v128.const f32x4 0 0 0 0))))`)})

  ;; dx = |x| < 1 ? dy * (2 - 2|x|) : +0, the product in float64 (as JS), rounded to fp32
  (func (export "sign_bwd_approx") (param $x i32) (param $dy i32) (param $dx i32) (param $n4 i32)
    (local $end i32) (local $a v128) (local $d v128)
    ${vecLoop(['x', 'dy', 'dx'], `(local.set $a (f32x4.abs (v128.load (local.get $x))))
      (local.set $d (v128.load (local.get $dy)))
      (v128.store (local.get $dx)
        (v128.bitselect
          ${join(
            `(f64x2.mul (f64x2.promote_low_f32x4 (local.get $d)) (f64x2.sub (v128.const f64x2 2 2) (f64x2.mul (v128.const f64x2 2 2) (f64x2.promote_low_f32x4 (local.get $a)))))`,
            `(f64x2.mul (f64x2.promote_low_f32x4 ${high('(local.get $d)')}) (f64x2.sub (v128.const f64x2 2 2) (f64x2.mul (v128.const f64x2 2 2) (f64x2.promote_low_f32x4 ${high('(local.get $a)')}))))`)}
          (v128.const i32x4 0 0 0 0)
          (f32x4.lt (local.get $a) (v128.const f32x4 1 1 1 1))))`)})

  ;; dx = |x| <= 1 ? dy : +0 (straight-through estimator)
  (func (export "sign_bwd_ste") (param $x i32) (param $dy i32) (param $dx i32) (param $n4 i32)
    (local $end i32)
    ${vecLoop(['x', 'dy', 'dx'], `(v128.store (local.get $dx)
        (v128.bitselect (v128.load (local.get $dy)) (v128.const i32x4 0 0 0 0)
          (f32x4.le (f32x4.abs (v128.load (local.get $x))) (v128.const f32x4 1 1 1 1))))`)})

  ;; kind 0: clip (hardtanh) y = min(max(x, -1), 1) keeping -0 and NaN as JS does; kind 1: ReLU x > 0 ? x : +0
  (func (export "act_fwd") (param $kind i32) (param $x i32) (param $y i32) (param $n4 i32)
    (local $end i32) (local $v v128)
    ${vecLoop(['x', 'y'], `(local.set $v (v128.load (local.get $x)))
      (if (i32.eqz (local.get $kind))
        (then (v128.store (local.get $y)
          (v128.bitselect (v128.const f32x4 -1 -1 -1 -1)
            (v128.bitselect (v128.const f32x4 1 1 1 1) (local.get $v) (f32x4.gt (local.get $v) (v128.const f32x4 1 1 1 1)))
            (f32x4.lt (local.get $v) (v128.const f32x4 -1 -1 -1 -1)))))
        (else (v128.store (local.get $y)
          (v128.bitselect (local.get $v) (v128.const i32x4 0 0 0 0) (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0))))))`)})

  ;; dx = dy * df(x), df = 1 inside, 0 outside (kind 0: clip, -1 < x < 1; kind 1: ReLU, x > 0)
  (func (export "act_bwd") (param $kind i32) (param $x i32) (param $dy i32) (param $dx i32) (param $n4 i32)
    (local $end i32) (local $v v128) (local $m v128)
    ${vecLoop(['x', 'dy', 'dx'], `(local.set $v (v128.load (local.get $x)))
      (if (i32.eqz (local.get $kind))
        (then (local.set $m (v128.and (f32x4.gt (local.get $v) (v128.const f32x4 -1 -1 -1 -1))
                                      (f32x4.lt (local.get $v) (v128.const f32x4 1 1 1 1)))))
        (else (local.set $m (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0)))))
      (v128.store (local.get $dx)
        (f32x4.mul (v128.load (local.get $dy))
          (v128.bitselect (v128.const f32x4 1 1 1 1) (v128.const f32x4 0 0 0 0) (local.get $m))))`)})

  ;; y = a + b (fp32)
  (func (export "add") (param $a i32) (param $b i32) (param $y i32) (param $n4 i32)
    (local $end i32)
    ${vecLoop(['a', 'b', 'y'], '(v128.store (local.get $y) (f32x4.add (v128.load (local.get $a)) (v128.load (local.get $b))))')})

  ;; y[i, c] *= s[c] (fp32) over M rows of C = 4*c4 channels, in place
  (func (export "scale_channels") (param $y i32) (param $s i32) (param $M i32) (param $c4 i32)
    (local $i i32) (local $j i32) (local $o i32)
    ${rowLoop(`(v128.store (local.get $y) (f32x4.mul (v128.load (local.get $y)) (v128.load (i32.add (local.get $s) (local.get $o)))))`, ['y'], 16)})

  ;; ---- batch norm over M rows of C = 4*c4 channels; per-channel vectors are float64 [C] (offset $o) ------
  ;; mode 0: acc[c] += x ; mode 1: acc[c] += (x - mean[c])^2 ; all in float64, rows ascending
  (func (export "bn_stats") (param $mode i32) (param $x i32) (param $M i32) (param $c4 i32) (param $mean i32) (param $acc i32)
    (local $i i32) (local $j i32) (local $o i32) (local $v v128) (local $lo v128) (local $hi v128)
    ${rowLoop(`(local.set $v (v128.load (local.get $x)))
        (local.set $lo (f64x2.promote_low_f32x4 (local.get $v)))
        (local.set $hi (f64x2.promote_low_f32x4 ${high('(local.get $v)')}))
        (if (local.get $mode) (then
          (local.set $lo (f64x2.sub (local.get $lo) (v128.load ${ch('mean')})))
          (local.set $hi (f64x2.sub (local.get $hi) (v128.load offset=16 ${ch('mean')})))
          (local.set $lo (f64x2.mul (local.get $lo) (local.get $lo)))
          (local.set $hi (f64x2.mul (local.get $hi) (local.get $hi)))))
        (v128.store ${ch('acc')} (f64x2.add (v128.load ${ch('acc')}) (local.get $lo)))
        (v128.store offset=16 ${ch('acc')} (f64x2.add (v128.load offset=16 ${ch('acc')}) (local.get $hi)))`, ['x'])})

  ;; training: xh = (x - m[c]) * s[c]; xhat = f32(xh); y = f32(xh * g[c] + b[c])   (float64, no FMA)
  ;; eval ($xhat = -1): y = f32(x * s[c] + b[c])  (m and g unused)
  (func (export "bn_norm") (param $x i32) (param $M i32) (param $c4 i32) (param $m i32) (param $s i32) (param $g i32) (param $b i32)
        (param $xhat i32) (param $y i32)
    (local $i i32) (local $j i32) (local $o i32) (local $v v128) (local $lo v128) (local $hi v128)
    ${rowLoop(`(local.set $v (v128.load (local.get $x)))
        (local.set $lo (f64x2.promote_low_f32x4 (local.get $v)))
        (local.set $hi (f64x2.promote_low_f32x4 ${high('(local.get $v)')}))
        (if (i32.ge_s (local.get $xhat) (i32.const 0))
          (then
            (local.set $lo (f64x2.mul (f64x2.sub (local.get $lo) (v128.load ${ch('m')})) (v128.load ${ch('s')})))
            (local.set $hi (f64x2.mul (f64x2.sub (local.get $hi) (v128.load offset=16 ${ch('m')})) (v128.load offset=16 ${ch('s')})))
            (v128.store (local.get $xhat) ${join('(local.get $lo)', '(local.get $hi)')})
            (local.set $xhat (i32.add (local.get $xhat) (i32.const 16)))
            (local.set $lo (f64x2.add (f64x2.mul (local.get $lo) (v128.load ${ch('g')})) (v128.load ${ch('b')})))
            (local.set $hi (f64x2.add (f64x2.mul (local.get $hi) (v128.load offset=16 ${ch('g')})) (v128.load offset=16 ${ch('b')}))))
          (else
            (local.set $lo (f64x2.add (f64x2.mul (local.get $lo) (v128.load ${ch('s')})) (v128.load ${ch('b')})))
            (local.set $hi (f64x2.add (f64x2.mul (local.get $hi) (v128.load offset=16 ${ch('s')})) (v128.load offset=16 ${ch('b')})))))
        (v128.store (local.get $y) ${join('(local.get $lo)', '(local.get $hi)')})`, ['x', 'y'])})

  ;; sums for the backward: sd[c] += dy ; sdx[c] += dy * xhat   (float64; the product of two fp32 is exact)
  (func (export "bn_bwd_sums") (param $dy i32) (param $xh i32) (param $M i32) (param $c4 i32) (param $sd i32) (param $sdx i32)
    (local $i i32) (local $j i32) (local $o i32) (local $d v128) (local $h v128) (local $dl v128) (local $dh v128)
    ${rowLoop(`(local.set $d (v128.load (local.get $dy)))
        (local.set $h (v128.load (local.get $xh)))
        (local.set $dl (f64x2.promote_low_f32x4 (local.get $d)))
        (local.set $dh (f64x2.promote_low_f32x4 ${high('(local.get $d)')}))
        (v128.store ${ch('sd')} (f64x2.add (v128.load ${ch('sd')}) (local.get $dl)))
        (v128.store offset=16 ${ch('sd')} (f64x2.add (v128.load offset=16 ${ch('sd')}) (local.get $dh)))
        (v128.store ${ch('sdx')} (f64x2.add (v128.load ${ch('sdx')}) (f64x2.mul (local.get $dl) (f64x2.promote_low_f32x4 (local.get $h)))))
        (v128.store offset=16 ${ch('sdx')} (f64x2.add (v128.load offset=16 ${ch('sdx')})
          (f64x2.mul (local.get $dh) (f64x2.promote_low_f32x4 ${high('(local.get $h)')}))))`, ['dy', 'xh'])})

  ;; dx = f32(k1[c] * ((dy - k2[c]) - xhat * k3[c]))   (float64)
  (func (export "bn_bwd_dx") (param $dy i32) (param $xh i32) (param $M i32) (param $c4 i32) (param $k1 i32) (param $k2 i32) (param $k3 i32) (param $dx i32)
    (local $i i32) (local $j i32) (local $o i32) (local $d v128) (local $h v128)
    ${rowLoop(`(local.set $d (v128.load (local.get $dy)))
        (local.set $h (v128.load (local.get $xh)))
        (v128.store (local.get $dx) ${join(
          `(f64x2.mul (v128.load ${ch('k1')}) (f64x2.sub (f64x2.sub (f64x2.promote_low_f32x4 (local.get $d)) (v128.load ${ch('k2')}))
            (f64x2.mul (f64x2.promote_low_f32x4 (local.get $h)) (v128.load ${ch('k3')}))))`,
          `(f64x2.mul (v128.load offset=16 ${ch('k1')}) (f64x2.sub (f64x2.sub (f64x2.promote_low_f32x4 ${high('(local.get $d)')}) (v128.load offset=16 ${ch('k2')}))
            (f64x2.mul (f64x2.promote_low_f32x4 ${high('(local.get $h)')}) (v128.load offset=16 ${ch('k3')}))))`)})`, ['dy', 'xh', 'dx'])})

  ;; ---- im2col / col2im (NHWC, C = 4*c4; the same loop structure and tap order as ops.ts) ---------------
  ;; $dir 0: im2col, cols[q..] = x runs, padded taps = $pv;  $dir 1: col2im, dx runs += dcols[q..]
  ;; ($x is x or dx, $q is cols or dcols; dx must be zero on entry)
  (func (export "cols") (param $dir i32) (param $x i32) (param $q i32) (param $n i32) (param $h i32) (param $w i32) (param $c4 i32)
        (param $k i32) (param $s i32) (param $pad i32) (param $oh i32) (param $ow i32) (param $pv f32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $ky i32) (local $x0 i32) (local $kx0 i32) (local $kx1 i32)
    (local $iy i32) (local $xb i32) (local $src i32) (local $p i32) (local $e i32) (local $rowEnd i32)
    (local $cb i32) (local $imgB i32) (local $pvv v128)
    (local.set $pvv (f32x4.splat (local.get $pv)))
    (local.set $cb (i32.shl (local.get $c4) (i32.const 4)))   ;; bytes per pixel
    (local.set $imgB (i32.mul (i32.mul (local.get $h) (local.get $w)) (local.get $cb)))
    (local.set $b (i32.const 0))
    ${pixelLoop('oy', 'oh', 'ox', 'ow', `(local.set $x0 (i32.sub (i32.mul (local.get $ox) (local.get $s)) (local.get $pad)))
          (local.set $kx0 (select (i32.sub (i32.const 0) (local.get $x0)) (i32.const 0) (i32.lt_s (local.get $x0) (i32.const 0))))
          (local.set $kx1 (select (i32.sub (local.get $w) (local.get $x0)) (local.get $k)
            (i32.gt_s (i32.add (local.get $x0) (local.get $k)) (local.get $w))))
          (local.set $ky (i32.const 0))
          (block $ke (loop $kl
            (br_if $ke (i32.ge_s (local.get $ky) (local.get $k)))
            (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $s)) (local.get $pad)) (local.get $ky)))
            (local.set $rowEnd (i32.add (local.get $q) (i32.mul (local.get $k) (local.get $cb))))
            (if (i32.or (i32.or (i32.lt_s (local.get $iy) (i32.const 0)) (i32.ge_s (local.get $iy) (local.get $h)))
                        (i32.le_s (local.get $kx1) (local.get $kx0)))
              (then
                (if (i32.eqz (local.get $dir)) (then
                  (local.set $p (local.get $q))
                  (block $fe (loop $fl
                    (br_if $fe (i32.ge_u (local.get $p) (local.get $rowEnd)))
                    (v128.store (local.get $p) (local.get $pvv))
                    (local.set $p (i32.add (local.get $p) (i32.const 16)))
                    (br $fl))))))
              (else
                (local.set $src (i32.add (local.get $xb)
                  (i32.mul (i32.add (i32.mul (local.get $iy) (local.get $w)) (i32.add (local.get $x0) (local.get $kx0))) (local.get $cb))))
                (local.set $p (i32.add (local.get $q) (i32.mul (local.get $kx0) (local.get $cb))))
                (local.set $e (i32.add (local.get $q) (i32.mul (local.get $kx1) (local.get $cb))))
                (if (i32.eqz (local.get $dir))
                  (then
                    (local.set $iy (local.get $q))   ;; reuse $iy as a fill cursor: left padding
                    (block $le (loop $ll
                      (br_if $le (i32.ge_u (local.get $iy) (local.get $p)))
                      (v128.store (local.get $iy) (local.get $pvv))
                      (local.set $iy (i32.add (local.get $iy) (i32.const 16)))
                      (br $ll)))
                    (block $ce (loop $cl
                      (br_if $ce (i32.ge_u (local.get $p) (local.get $e)))
                      (v128.store (local.get $p) (v128.load (local.get $src)))
                      (local.set $p (i32.add (local.get $p) (i32.const 16)))
                      (local.set $src (i32.add (local.get $src) (i32.const 16)))
                      (br $cl)))
                    (block $re (loop $rl
                      (br_if $re (i32.ge_u (local.get $p) (local.get $rowEnd)))
                      (v128.store (local.get $p) (local.get $pvv))
                      (local.set $p (i32.add (local.get $p) (i32.const 16)))
                      (br $rl))))
                  (else
                    (block $ae (loop $al
                      (br_if $ae (i32.ge_u (local.get $p) (local.get $e)))
                      (v128.store (local.get $src) (f32x4.add (v128.load (local.get $src)) (v128.load (local.get $p))))
                      (local.set $p (i32.add (local.get $p) (i32.const 16)))
                      (local.set $src (i32.add (local.get $src) (i32.const 16)))
                      (br $al)))))))
            (local.set $q (local.get $rowEnd))
            (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
            (br $kl)))`, `(local.set $xb (i32.add (local.get $x) (i32.mul (local.get $b) (local.get $imgB))))`)})
  ;; ---- XNOR-popcount forward of a binary conv on +-1 activations (exact integers) -------------------------
  ;; pack: x NHWC floats (+-1) -> sign bits (bit = 1 for a negative value), W32 words per pixel, into a
  ;; zero-initialised padded bit image [n][h+2pad][w+2pad][W32] (pad pixels stay 0, i.e. +1)
  (func (export "pack_signs") (param $x i32) (param $out i32) (param $n i32) (param $h i32) (param $w i32) (param $W32 i32) (param $pad i32)
    (local $b i32) (local $yy i32) (local $xx i32) (local $u i32) (local $o i32) (local $wp i32) (local $hp i32) (local $bits i32)
    (local.set $wp (i32.add (local.get $w) (i32.shl (local.get $pad) (i32.const 1))))
    (local.set $hp (i32.add (local.get $h) (i32.shl (local.get $pad) (i32.const 1))))
    ${pixelLoop('yy', 'h', 'xx', 'w', `(local.set $o (i32.add (local.get $out) (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $hp))
            (i32.add (local.get $yy) (local.get $pad))) (local.get $wp)) (i32.add (local.get $xx) (local.get $pad))) (local.get $W32)) (i32.const 2))))
          (local.set $u (i32.const 0))
          (block $ue (loop $ul
            (br_if $ue (i32.ge_u (local.get $u) (local.get $W32)))
            (local.set $bits (i32.or (i32.or (i32.or
              (i32x4.bitmask (v128.load (local.get $x)))
              (i32.shl (i32x4.bitmask (v128.load offset=16 (local.get $x))) (i32.const 4)))
              (i32.or (i32.shl (i32x4.bitmask (v128.load offset=32 (local.get $x))) (i32.const 8))
                      (i32.shl (i32x4.bitmask (v128.load offset=48 (local.get $x))) (i32.const 12))))
              (i32.or (i32.or (i32.shl (i32x4.bitmask (v128.load offset=64 (local.get $x))) (i32.const 16))
                              (i32.shl (i32x4.bitmask (v128.load offset=80 (local.get $x))) (i32.const 20)))
                      (i32.or (i32.shl (i32x4.bitmask (v128.load offset=96 (local.get $x))) (i32.const 24))
                              (i32.shl (i32x4.bitmask (v128.load offset=112 (local.get $x))) (i32.const 28))))))
            (i32.store (local.get $o) (local.get $bits))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (local.set $x (i32.add (local.get $x) (i32.const 128)))
            (local.set $u (i32.add (local.get $u) (i32.const 1)))
            (br $ul)))`)})

  ;; y[p, o] = sum over the window's taps and channels of x * w, as floats (exact integers), for G groups
  ;; of 4 output channels. Weight bits at wb + (((ky*k + kx)*W32 + u)*G + g)*16: 4 channels' words of a
  ;; (tap, word). $full = 0 ('zero' padding): only in-bounds taps count (a padded tap multiplies by 0);
  ;; $full = 1 ('one' padding): every tap counts, padded ones read the +1 border of the bit image.
  ;; Per tap and word: dot = 32 - 2*popcount(x ^ w). Byte-wise popcounts are summed over one kernel row
  ;; (k*W32*8 <= 255 is required) and then widened to 32-bit lanes.
  (func (export "xnor_conv") (param $xb i32) (param $wb i32) (param $y i32) (param $n i32) (param $h i32) (param $w i32)
        (param $W32 i32) (param $k i32) (param $s i32) (param $pad i32) (param $oh i32) (param $ow i32) (param $G i32) (param $full i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $iy0 i32) (local $ix0 i32)
    (local $ky0 i32) (local $ky1 i32) (local $kx0 i32) (local $kx1 i32) (local $ky i32) (local $kx i32) (local $u i32) (local $g i32)
    (local $wp i32) (local $hp i32) (local $pixB i32) (local $px i32) (local $pw i32) (local $gB i32) (local $nC i32)
    (local $cnt v128) (local $acc v128)
    (local.set $wp (i32.add (local.get $w) (i32.shl (local.get $pad) (i32.const 1))))
    (local.set $hp (i32.add (local.get $h) (i32.shl (local.get $pad) (i32.const 1))))
    (local.set $pixB (i32.shl (local.get $W32) (i32.const 2)))
    (local.set $gB (i32.shl (local.get $G) (i32.const 4)))
    ${pixelLoop('oy', 'oh', 'ox', 'ow', `(local.set $iy0 (i32.sub (i32.mul (local.get $oy) (local.get $s)) (local.get $pad)))
          (local.set $ix0 (i32.sub (i32.mul (local.get $ox) (local.get $s)) (local.get $pad)))
          (if (local.get $full)
            (then (local.set $ky0 (i32.const 0)) (local.set $ky1 (local.get $k)) (local.set $kx0 (i32.const 0)) (local.set $kx1 (local.get $k)))
            (else
              (local.set $ky0 (select (i32.sub (i32.const 0) (local.get $iy0)) (i32.const 0) (i32.lt_s (local.get $iy0) (i32.const 0))))
              (local.set $ky1 (select (i32.sub (local.get $h) (local.get $iy0)) (local.get $k) (i32.gt_s (i32.add (local.get $iy0) (local.get $k)) (local.get $h))))
              (local.set $kx0 (select (i32.sub (i32.const 0) (local.get $ix0)) (i32.const 0) (i32.lt_s (local.get $ix0) (i32.const 0))))
              (local.set $kx1 (select (i32.sub (local.get $w) (local.get $ix0)) (local.get $k) (i32.gt_s (i32.add (local.get $ix0) (local.get $k)) (local.get $w))))))
          ;; C * (number of counted taps)
          (local.set $nC (i32.shl (i32.mul (i32.mul (i32.sub (local.get $ky1) (local.get $ky0)) (i32.sub (local.get $kx1) (local.get $kx0))) (local.get $W32)) (i32.const 5)))
          (local.set $g (i32.const 0))
          (block $ge (loop $gl
            (br_if $ge (i32.ge_u (local.get $g) (local.get $G)))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $ky (local.get $ky0))
            (block $kye (loop $kyl
              (br_if $kye (i32.ge_s (local.get $ky) (local.get $ky1)))
              (local.set $cnt (v128.const i32x4 0 0 0 0))
              (local.set $kx (local.get $kx0))
              (block $kxe (loop $kxl
                (br_if $kxe (i32.ge_s (local.get $kx) (local.get $kx1)))
                (local.set $px (i32.add (local.get $xb) (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $hp))
                  (i32.add (i32.add (local.get $iy0) (local.get $pad)) (local.get $ky))) (local.get $wp))
                  (i32.add (i32.add (local.get $ix0) (local.get $pad)) (local.get $kx))) (local.get $pixB))))
                (local.set $pw (i32.add (local.get $wb) (i32.add (i32.mul (i32.mul (i32.add (i32.mul (local.get $ky) (local.get $k)) (local.get $kx)) (local.get $W32)) (local.get $gB))
                  (i32.shl (local.get $g) (i32.const 4)))))
                (local.set $u (i32.const 0))
                (block $ue (loop $ul
                  (br_if $ue (i32.ge_u (local.get $u) (local.get $W32)))
                  (local.set $cnt (i8x16.add (local.get $cnt)
                    (i8x16.popcnt (v128.xor (v128.load32_splat (local.get $px)) (v128.load (local.get $pw))))))
                  (local.set $px (i32.add (local.get $px) (i32.const 4)))
                  (local.set $pw (i32.add (local.get $pw) (local.get $gB)))
                  (local.set $u (i32.add (local.get $u) (i32.const 1)))
                  (br $ul)))
                (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
                (br $kxl)))
              (local.set $acc (i32x4.add (local.get $acc)
                (i32x4.extadd_pairwise_i16x8_u (i16x8.extadd_pairwise_i8x16_u (local.get $cnt)))))
              (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
              (br $kyl)))
            (v128.store (local.get $y) (f32x4.convert_i32x4_s
              (i32x4.sub (i32x4.splat (local.get $nC)) (i32x4.shl (local.get $acc) (i32.const 1)))))
            (local.set $y (i32.add (local.get $y) (i32.const 16)))
            (local.set $g (i32.add (local.get $g) (i32.const 1)))
            (br $gl)))`)})
  ;; ---- max pool (NHWC, C = 4*c4), the JS loop order: per output pixel, taps ky, kx ascending, then channels;
  ;; a tap replaces the running max only if strictly greater (f32x4.gt: NaN never wins, the first max is kept).
  ;; $arg receives the float index (into x) of each output's maximum, -1 if no tap was in bounds.
  (func (export "maxpool_fwd") (param $x i32) (param $y i32) (param $arg i32) (param $n i32) (param $h i32) (param $w i32) (param $c4 i32)
        (param $k i32) (param $s i32) (param $pad i32) (param $oh i32) (param $ow i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $ky i32) (local $kx i32) (local $iy i32) (local $ix i32) (local $j i32)
    (local $yo i32) (local $xo i32) (local $v v128) (local $m v128) (local $py i32) (local $pa i32)
    ${pixelLoop('oy', 'oh', 'ox', 'ow', `;; byte offset of this output pixel's channels
          (local.set $yo (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $oh)) (local.get $oy)) (local.get $ow)) (local.get $ox))
            (local.get $c4)) (i32.const 4)))
          (local.set $j (i32.const 0))
          (block $ie (loop $il
            (br_if $ie (i32.ge_u (local.get $j) (local.get $c4)))
            (v128.store (i32.add (i32.add (local.get $y) (local.get $yo)) (i32.shl (local.get $j) (i32.const 4))) (v128.const f32x4 -inf -inf -inf -inf))
            (v128.store (i32.add (i32.add (local.get $arg) (local.get $yo)) (i32.shl (local.get $j) (i32.const 4))) (v128.const i32x4 -1 -1 -1 -1))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $il)))
          (local.set $ky (i32.const 0))
          (block $ke (loop $kl
            (br_if $ke (i32.ge_s (local.get $ky) (local.get $k)))
            (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $s)) (local.get $pad)) (local.get $ky)))
            (if (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $h))) (then
              (local.set $kx (i32.const 0))
              (block $qe (loop $ql
                (br_if $qe (i32.ge_s (local.get $kx) (local.get $k)))
                (local.set $ix (i32.add (i32.sub (i32.mul (local.get $ox) (local.get $s)) (local.get $pad)) (local.get $kx)))
                (if (i32.and (i32.ge_s (local.get $ix) (i32.const 0)) (i32.lt_s (local.get $ix) (local.get $w))) (then
                  ;; float index of this tap's first channel
                  (local.set $xo (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (local.get $iy)) (local.get $w)) (local.get $ix))
                    (local.get $c4)) (i32.const 2)))
                  (local.set $py (i32.add (local.get $y) (local.get $yo)))
                  (local.set $pa (i32.add (local.get $arg) (local.get $yo)))
                  (local.set $j (i32.const 0))
                  (block $ce (loop $cl
                    (br_if $ce (i32.ge_u (local.get $j) (local.get $c4)))
                    (local.set $v (v128.load (i32.add (local.get $x) (i32.shl (local.get $xo) (i32.const 2)))))
                    (local.set $m (f32x4.gt (local.get $v) (v128.load (local.get $py))))
                    (v128.store (local.get $py) (v128.bitselect (local.get $v) (v128.load (local.get $py)) (local.get $m)))
                    (v128.store (local.get $pa) (v128.bitselect
                      (i32x4.add (i32x4.splat (local.get $xo)) (v128.const i32x4 0 1 2 3)) (v128.load (local.get $pa)) (local.get $m)))
                    (local.set $xo (i32.add (local.get $xo) (i32.const 4)))
                    (local.set $py (i32.add (local.get $py) (i32.const 16)))
                    (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $cl)))))
                (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
                (br $ql)))))
            (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
            (br $kl)))`)})
)`;

export interface SimdOpsExports {
  sign_fwd(x: number, y: number, n4: number): void;
  sign_bwd_approx(x: number, dy: number, dx: number, n4: number): void;
  sign_bwd_ste(x: number, dy: number, dx: number, n4: number): void;
  act_fwd(kind: number, x: number, y: number, n4: number): void;
  act_bwd(kind: number, x: number, dy: number, dx: number, n4: number): void;
  add(a: number, b: number, y: number, n4: number): void;
  scale_channels(y: number, s: number, M: number, c4: number): void;
  bn_stats(mode: number, x: number, M: number, c4: number, mean: number, acc: number): void;
  bn_norm(x: number, M: number, c4: number, m: number, s: number, g: number, b: number, xhat: number, y: number): void;
  bn_bwd_sums(dy: number, xh: number, M: number, c4: number, sd: number, sdx: number): void;
  bn_bwd_dx(dy: number, xh: number, M: number, c4: number, k1: number, k2: number, k3: number, dx: number): void;
  cols(dir: number, x: number, q: number, n: number, h: number, w: number, c4: number, k: number, s: number, pad: number, oh: number, ow: number, pv: number): void;
  pack_signs(x: number, out: number, n: number, h: number, w: number, W32: number, pad: number): void;
  xnor_conv(xb: number, wb: number, y: number, n: number, h: number, w: number, W32: number, k: number, s: number, pad: number, oh: number, ow: number, G: number, full: number): void;
  maxpool_fwd(x: number, y: number, arg: number, n: number, h: number, w: number, c4: number, k: number, s: number, pad: number, oh: number, ow: number): void;
}

/**
 * The heap seen by the elementwise kernels: a bump allocator over the shared memory, reset per op call.
 * `f32(n)` / `f64(n)` reserve 16-byte aligned blocks (rounded up to whole vectors); `views()` must be
 * taken AFTER all reservations of the call (reserving may grow the memory, which detaches old views).
 */
export class SimdHeap {
  private top = 0;
  constructor(private readonly mem: WebAssembly.Memory) {}
  reset(): this { this.top = 0; return this; }
  private take(bytes: number): number {
    const at = this.top;
    this.top += (bytes + 15) & ~15;
    const have = this.mem.buffer.byteLength;
    if (this.top > have) this.mem.grow(Math.ceil((this.top - have) / 65536));
    return at;
  }
  /** byte offset of room for n floats (plus slack up to a whole vector) */
  f32(n: number): number { return this.take(n * 4); }
  f64(n: number): number { return this.take(n * 8); }
  views(): { F: Float32Array; D: Float64Array } { const b = this.mem.buffer; return { F: new Float32Array(b), D: new Float64Array(b) }; }
}

/**
 * Float32Array-level entry points: copy operands into the heap, run one kernel, copy the result out.
 * Each method computes exactly what the JS loop named in its comment computes (see the header).
 */
/** Shapes the XNOR-popcount conv serves (see SimdOps.xnorConv). */
export function xnorApplies(C: number, O: number, k: number): boolean { return C % 32 === 0 && O % 4 === 0 && k * (C >> 5) * 8 <= 255; }

export class SimdOps {
  private readonly heap: SimdHeap;
  constructor(readonly k: SimdOpsExports, mem: WebAssembly.Memory) { this.heap = new SimdHeap(mem); }

  /** quantizers.ts signForward */
  sign(x: Float32Array, y: Float32Array): void { this.unary((a, b, n4) => this.k.sign_fwd(a, b, n4), x, y); }
  /** ops.ts CLIP / RELU pointwiseForward */
  act(kind: 'clip' | 'relu', x: Float32Array, y: Float32Array): void {
    const code = kind === 'clip' ? 0 : 1;
    this.unary((a, b, n4) => this.k.act_fwd(code, a, b, n4), x, y);
  }
  /** quantizers.ts signBackward ('approxsign' | 'ste') */
  signBackward(kind: 'approxsign' | 'ste', x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    this.binary((a, b, c, n4) => (kind === 'approxsign' ? this.k.sign_bwd_approx(a, b, c, n4) : this.k.sign_bwd_ste(a, b, c, n4)), x, dy, dx);
  }
  /** ops.ts pointwiseBackward for CLIP / RELU */
  actBackward(kind: 'clip' | 'relu', x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    const code = kind === 'clip' ? 0 : 1;
    this.binary((a, b, c, n4) => this.k.act_bwd(code, a, b, c, n4), x, dy, dx);
  }
  /** ops.ts addForward */
  add(a: Float32Array, b: Float32Array, y: Float32Array): void { this.binary((p, q, r, n4) => this.k.add(p, q, r, n4), a, b, y); }

  /** y[i*C + c] *= s[c] in place (net.ts bconv alpha scaling); C % 4 == 0 */
  scaleChannels(y: Float32Array, s: Float32Array, C: number): void {
    const n = y.length, h = this.heap.reset();
    const py = h.f32(n), ps = h.f32(C);
    const { F } = h.views();
    F.set(y, py >> 2); F.set(s, ps >> 2);
    this.k.scale_channels(py, ps, n / C, C >> 2);
    y.set(F.subarray(py >> 2, (py >> 2) + n));
  }

  /**
   * ops.ts bnForward, training branch, float64 statistics: returns per-channel sums of x and, with `mean`
   * given, of (x - mean)^2. (Two calls, as the JS makes two passes.)
   */
  bnSums(x: Float32Array, C: number, mean: Float64Array | null, out: Float64Array): void {
    const n = x.length, h = this.heap.reset();
    const px = h.f32(n), pm = h.f64(C), pa = h.f64(C);
    const { F, D } = h.views();
    F.set(x, px >> 2);
    D.fill(0, pa >> 3, (pa >> 3) + C);
    if (mean) D.set(mean, pm >> 3);
    this.k.bn_stats(mean ? 1 : 0, px, n / C, C >> 2, pm, pa);
    out.set(D.subarray(pa >> 3, (pa >> 3) + C));
  }

  /** ops.ts bnForward normalisation: training (xhat given) xh = (x-m)*s, y = xh*g + b; eval y = x*s + b */
  bnNormalize(x: Float32Array, C: number, m: ArrayLike<number>, s: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>, xhat: Float32Array | null, y: Float32Array): void {
    const n = x.length, h = this.heap.reset();
    const px = h.f32(n), py = h.f32(n), pxh = xhat ? h.f32(n) : -1;
    const pm = h.f64(C), ps = h.f64(C), pg = h.f64(C), pb = h.f64(C);
    const { F, D } = h.views();
    F.set(x, px >> 2);
    for (let c = 0; c < C; c++) { D[(pm >> 3) + c] = m[c]; D[(ps >> 3) + c] = s[c]; D[(pg >> 3) + c] = g[c]; D[(pb >> 3) + c] = b[c]; }
    this.k.bn_norm(px, n / C, C >> 2, pm, ps, pg, pb, pxh, py);
    y.set(F.subarray(py >> 2, (py >> 2) + n));
    if (xhat) xhat.set(F.subarray(pxh >> 2, (pxh >> 2) + n));
  }

  /** ops.ts bnBackward: float64 sums of dy and dy*xhat per channel */
  bnBackwardSums(dy: Float32Array, xh: Float32Array, C: number, sumDy: Float64Array, sumDyXh: Float64Array): void {
    const n = dy.length, h = this.heap.reset();
    const pd = h.f32(n), px = h.f32(n), p1 = h.f64(C), p2 = h.f64(C);
    const { F, D } = h.views();
    F.set(dy, pd >> 2); F.set(xh, px >> 2);
    D.fill(0, p1 >> 3, (p1 >> 3) + C); D.fill(0, p2 >> 3, (p2 >> 3) + C);
    this.k.bn_bwd_sums(pd, px, n / C, C >> 2, p1, p2);
    sumDy.set(D.subarray(p1 >> 3, (p1 >> 3) + C)); sumDyXh.set(D.subarray(p2 >> 3, (p2 >> 3) + C));
  }

  /** ops.ts bnBackward: dx = k1 * (dy - k2 - xhat * k3) */
  bnBackwardDx(dy: Float32Array, xh: Float32Array, C: number, k1: Float64Array, k2: Float64Array, k3: Float64Array, dx: Float32Array): void {
    const n = dy.length, h = this.heap.reset();
    const pd = h.f32(n), px = h.f32(n), po = h.f32(n), q1 = h.f64(C), q2 = h.f64(C), q3 = h.f64(C);
    const { F, D } = h.views();
    F.set(dy, pd >> 2); F.set(xh, px >> 2);
    D.set(k1, q1 >> 3); D.set(k2, q2 >> 3); D.set(k3, q3 >> 3);
    this.k.bn_bwd_dx(pd, px, n / C, C >> 2, q1, q2, q3, po);
    dx.set(F.subarray(po >> 2, (po >> 2) + n));
  }

  /** ops.ts maxPoolForward: y and the argmax float indices into x; C % 4 == 0 */
  maxPool(x: Float32Array, dims: { n: number; h: number; w: number; c: number }, k: number, stride: number, pad: number, oh: number, ow: number, y: Float32Array, arg: Int32Array): void {
    const hp = this.heap.reset();
    const px = hp.f32(x.length), py = hp.f32(y.length), pa = hp.f32(y.length);
    const { F } = hp.views();
    F.set(x, px >> 2);
    this.k.maxpool_fwd(px, py, pa, dims.n, dims.h, dims.w, dims.c >> 2, k, stride, pad, oh, ow);
    y.set(F.subarray(py >> 2, (py >> 2) + y.length));
    arg.set(new Int32Array(F.buffer, pa, y.length));
  }

  /** ops.ts im2col into `cols` (length n*oh*ow*k*k*C); C % 4 == 0 */
  im2col(x: Float32Array, dims: { n: number; h: number; w: number; c: number }, k: number, stride: number, pad: number, oh: number, ow: number, padValue: number, cols: Float32Array): void {
    const len = dims.n * oh * ow * k * k * dims.c, h = this.heap.reset();
    const px = h.f32(x.length), pq = h.f32(len);
    const { F } = h.views();
    F.set(x, px >> 2);
    this.k.cols(0, px, pq, dims.n, dims.h, dims.w, dims.c >> 2, k, stride, pad, oh, ow, padValue);
    cols.set(F.subarray(pq >> 2, (pq >> 2) + len));
  }

  /** ops.ts col2im: dx = scatter-add of dcols (dx is overwritten) */
  col2im(dcols: Float32Array, dims: { n: number; h: number; w: number; c: number }, k: number, stride: number, pad: number, oh: number, ow: number, dx: Float32Array): void {
    const len = dims.n * oh * ow * k * k * dims.c, h = this.heap.reset();
    const px = h.f32(dx.length), pq = h.f32(len);
    const { F } = h.views();
    F.fill(0, px >> 2, (px >> 2) + dx.length);
    F.set(dcols.subarray(0, len), pq >> 2);
    this.k.cols(1, px, pq, dims.n, dims.h, dims.w, dims.c >> 2, k, stride, pad, oh, ow, 0);
    dx.set(F.subarray(px >> 2, (px >> 2) + dx.length));
  }

  /**
   * Binary conv forward by XNOR-popcount: y[P, O] = conv(x, sw) for x and sw exactly +-1 (x NHWC, sw OHWI), as
   * the float GEMM computes it (every partial sum is an integer below 2^24, so the float result is exact and
   * equal). padOne: padded taps are +1 ('one' padding), else 0. Needs C % 32 == 0, O % 4 == 0 and
   * k * C/32 * 8 <= 255 (xnorApplies).
   */
  xnorConv(x: Float32Array, dims: { n: number; h: number; w: number; c: number }, sw: Float32Array, O: number, k: number, stride: number, pad: number, oh: number, ow: number, padOne: boolean, y: Float32Array): void {
    const { n, h: H, w: W, c: C } = dims, W32 = C >> 5, G = O >> 2, hp = H + 2 * pad, wp = W + 2 * pad;
    const hh = this.heap.reset();
    const T = k * k, nw = O * T * W32;
    const px = hh.f32(x.length), pb = hh.f32(n * hp * wp * W32), pw = hh.f32(nw), ps = hh.f32(sw.length), pr = hh.f32(nw), py = hh.f32(n * oh * ow * O);
    const { F } = hh.views();
    F.set(x, px >> 2);
    F.set(sw, ps >> 2);
    const U = new Uint32Array(F.buffer);
    U.fill(0, pb >> 2, (pb >> 2) + n * hp * wp * W32);
    this.k.pack_signs(px, pb, n, H, W, W32, pad);
    // weight bits in (o, tap, word) order, then placed as word u of tap t for channel o at
    // ((t*W32 + u)*G + (o >> 2))*4 + (o & 3)
    this.k.pack_signs(ps, pr, 1, 1, O * T, W32, 0);
    const wo = pw >> 2, ro = pr >> 2;
    for (let o = 0, q = ro; o < O; o++) for (let t = 0; t < T; t++) for (let u = 0; u < W32; u++) U[wo + ((t * W32 + u) * G + (o >> 2)) * 4 + (o & 3)] = U[q++];
    this.k.xnor_conv(pb, pw, py, n, H, W, W32, k, stride, pad, oh, ow, G, padOne ? 1 : 0);
    y.set(F.subarray(py >> 2, (py >> 2) + n * oh * ow * O));
  }

  private unary(f: (a: number, b: number, n4: number) => void, x: Float32Array, y: Float32Array): void {
    const n = x.length, h = this.heap.reset();
    const px = h.f32(n), py = h.f32(n);
    const { F } = h.views();
    F.set(x, px >> 2);
    f(px, py, (n + 3) >> 2);
    y.set(F.subarray(py >> 2, (py >> 2) + n));
  }
  private binary(f: (a: number, b: number, c: number, n4: number) => void, a: Float32Array, b: Float32Array, y: Float32Array): void {
    const n = a.length, h = this.heap.reset();
    const pa = h.f32(n), pb = h.f32(n), py = h.f32(n);
    const { F } = h.views();
    F.set(a, pa >> 2); F.set(b.subarray(0, n), pb >> 2);
    f(pa, pb, py, (n + 3) >> 2);
    y.set(F.subarray(py >> 2, (py >> 2) + n));
  }
}
