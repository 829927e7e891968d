/**
 * WAT generators of the trainer's batch kernels (assembled into the one kernel module by wat.ts
 * moduleWat): the memory-bound elementwise ops of training (sign, clip, ReLU and their pseudo-gradients,
 * batch-norm statistics / normalisation / backward) over NHWC batches. The
 * golden model's kernels that compute the same thing serve the trainer too (residual add and channel
 * scaling: wat.ts 'add' and 'bn'; im2col / col2im: wat.ts im2colWat; XNOR conv and sign+pack: the bconv
 * family and 'sign_pack'; max pooling with argmax: wat.ts poolWat 'maxpool_arg'); the kernels here have no
 * golden counterpart with the same semantics (the trainer's batch norm computes in float64, the golden one
 * is a folded fp32 affine map; the golden model has no sign-to-float or pseudo-gradient).
 *
 * Exactness contract: every kernel returns the SAME BITS as the JS loop it replaces in batch-ops.ts /
 * ops/sign.ts, which stays the spec (test/kernels/batch-fast.test.ts checks each one bit for bit):
 *  - where the JS loop computes in float64 (JS numbers) and rounds once when storing to a Float32Array
 *    (the ApproxSign pseudo-gradient, every batch-norm formula), the kernel computes in f64x2 lanes with
 *    the same operations in the same order and rounds with f32x4.demote_f64x2_zero; float64 sums keep
 *    their order (pixel ascending per channel, one accumulator per channel);
 *  - selects keep the JS zeros: `cond ? dy * (2-2|x|) : 0` selects +0, `dy * df(x)` multiplies by 0 or 1
 *    (giving -0 for a negative dy, like JS).
 * The per-channel kernels need C % 4 == 0 (batch-ops.ts runs its JS loop otherwise); lengths are rounded up
 * to whole vectors, the extra lanes read and write scratch slack that is never copied back.
 */

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
/** address of the current 4 channels in the per-channel vector at param $name */
const ch = (name: string) => `(i32.add (local.get $${name}) (local.get $o))`;
/** lanes 2,3 of an f32x4 moved to lanes 0,1 (for f64x2.promote_low_f32x4) */
const high = (v: string) => `(i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${v} ${v})`;
/** two f64x2 rounded to fp32 and joined into one f32x4 (lo lanes 0,1; hi lanes 2,3) */
const join = (lo: string, hi: string) => `(i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero ${lo}) (f32x4.demote_f64x2_zero ${hi}))`;

/** The batch kernels' functions (module body text, no module wrapper). */
export function batchWat(): string {
  return `
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

`;
}
