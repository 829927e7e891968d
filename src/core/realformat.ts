/**
 * Number formats of the real-valued stream (the shortcut / BN path that Bi-Real carries between binary
 * convs). Every real tensor an ExecPlan step stores is rounded to the plan's format; the golden model and
 * the simulator both call `quantizeInPlace`, so they stay bit-exact to each other in every format.
 *
 *  - fp32       : identity (values are already fp32)
 *  - fp16       : IEEE 754 binary16, round to nearest, ties to even; overflow -> +-Infinity, subnormals kept
 *  - int<B>q<F> : signed B-bit fixed point with F fraction bits (B = 8 or 16): q = round_half_even(x * 2^F),
 *                 saturated to [-2^(B-1), 2^(B-1) - 1], value q / 2^F. NaN never reaches here (inputs are checked).
 */
import { UserError } from './diagnostics.ts';

export type RealFormat =
  | { kind: 'fp32'; name: 'fp32'; bits: 32 }
  | { kind: 'fp16'; name: 'fp16'; bits: 16 }
  | { kind: 'fixed'; name: string; bits: 8 | 16; frac: number };

export const FP32: RealFormat = { kind: 'fp32', name: 'fp32', bits: 32 };

export function parseRealFormat(s: string, where = '--real-format'): RealFormat {
  if (s === 'fp32') return FP32;
  if (s === 'fp16') return { kind: 'fp16', name: 'fp16', bits: 16 };
  const m = /^int(8|16)q(\d+)$/.exec(s);
  if (m) {
    const bits = Number(m[1]) as 8 | 16, frac = Number(m[2]);
    if (frac < bits) return { kind: 'fixed', name: s, bits, frac };
  }
  throw new UserError('E_ARG', `unknown real-stream format '${s}'`, { path: where, hint: "use fp32, fp16, or int<8|16>q<F> with F fraction bits below the width, e.g. int16q8, int8q4" });
}

/** Round half to even of a double. */
function roundHalfEven(x: number): number {
  const r = Math.round(x); // rounds half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * fp32 -> nearest binary16 value (returned as a number). Works on the fp32 bit pattern: exponent rebias
 * from 127 to 15, 13 mantissa bits dropped with round-to-nearest-even; below 2^-14 the value is rounded to a
 * multiple of 2^-24 (subnormal spacing), which round-half-even on x * 2^24 does exactly.
 */
export function toFp16(x: number): number {
  if (!Number.isFinite(x)) return x;
  const a = Math.abs(x);
  if (a < 2 ** -14) return (Math.sign(x) * roundHalfEven(a * 2 ** 24)) / 2 ** 24;
  f32[0] = x;
  let bits = u32[0];
  const lower = bits & 0x1fff;
  bits &= ~0x1fff;
  if (lower > 0x1000 || (lower === 0x1000 && (bits & 0x2000) !== 0)) bits += 0x2000;
  u32[0] = bits >>> 0;
  const v = f32[0];
  return Math.abs(v) > 65504 ? Math.sign(v) * Infinity : v;
}

export function quantizeInPlace(data: Float32Array, fmt: RealFormat): void {
  if (fmt.kind === 'fp32') return;
  if (fmt.kind === 'fp16') { for (let i = 0; i < data.length; i++) data[i] = toFp16(data[i]); return; }
  const scale = 2 ** fmt.frac, lo = -(2 ** (fmt.bits - 1)), hi = 2 ** (fmt.bits - 1) - 1;
  for (let i = 0; i < data.length; i++) {
    let q = roundHalfEven(data[i] * scale);
    if (q < lo) q = lo; else if (q > hi) q = hi;
    data[i] = q / scale;
  }
}
