/**
 * Bit-level numeric conventions of birealsim: the ONE place they are defined.
 *
 * Follows Larq Compute Engine's polarity (see shared/reference/bireal-method.md section 4):
 *  - A +-1 value is stored as one bit: bit 1 <=> -1, bit 0 <=> +1.
 *  - sign(x) = -1 iff x < 0, so sign(0) = +1 and sign(-0) = +1. NaN is rejected before it gets here.
 *  - Packing runs along channels (NHWC, channels innermost), 32 channels per Uint32 word, channel i of a
 *    pixel -> word floor(i/32), bit (i mod 32), LSB first. A pixel of C channels owns ceil(C/32) words.
 *  - Channel padding: the unused high bits of the last word are 0 in BOTH activations and weights, so they
 *    XOR to 0 and never reach the popcount; K (the dot length) is always the UNPADDED count.
 *
 * Derivation of the popcount identity: for +-1 vectors a, b of length K encoded as above, a_i*b_i = +1 when
 * the bits agree and -1 when they differ. With d = popcount(a XOR b) differing positions,
 * dot = (K - d) - d = K - 2d.
 */

export const WORD_BITS = 32;

/** Spatial padding of a binary conv: 'zero' = padded taps contribute nothing; 'one' = padded taps are +1. */
export type PadMode = 'zero' | 'one';

/** Bit value for a real number under sign(0)=+1: 1 means -1. */
export function signBit(x: number): 0 | 1 {
  return x < 0 ? 1 : 0;
}

/** +-1 value of a stored bit. */
export function bitValue(bit: number): 1 | -1 {
  return bit ? -1 : 1;
}

/** Number of 32-bit words that hold `channels` packed channels. */
export function wordsFor(channels: number): number {
  return Math.ceil(channels / WORD_BITS);
}

/** Population count of a 32-bit word (SWAR form; exact for any int32/uint32 input). */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** dot product of K +-1 pairs from the XOR popcount: K - 2*popcount(a XOR b). */
export function dotFromPopcount(k: number, popcountXor: number): number {
  return k - 2 * popcountXor;
}

/**
 * Packs a row of real values (one pixel's channels) into words, writing `wordsFor(channels)` words at
 * `out[outOffset...]`. Padding bits are 0.
 */
export function packRow(values: ArrayLike<number>, offset: number, channels: number, out: Uint32Array, outOffset: number): void {
  const words = wordsFor(channels);
  for (let w = 0; w < words; w++) {
    let word = 0;
    const base = offset + w * WORD_BITS;
    const n = Math.min(WORD_BITS, channels - w * WORD_BITS);
    for (let b = 0; b < n; b++) if (values[base + b] < 0) word |= 1 << b;
    out[outOffset + w] = word >>> 0;
  }
}

/** Reads channel `c` of a packed pixel starting at word offset `pixelWord`: returns the bit (1 = -1). */
export function getBit(words: Uint32Array, pixelWord: number, c: number): 0 | 1 {
  return ((words[pixelWord + (c >>> 5)] >>> (c & 31)) & 1) as 0 | 1;
}

/** Convention summary printed by `birealsim inspect` (kept next to the definitions it describes). */
export const CONVENTIONS_TEXT = [
  'bit 1 = -1, bit 0 = +1 (Larq Compute Engine polarity)',
  'sign(0) = +1 (and sign(-0) = +1)',
  'packing: NHWC, channels innermost, 32 per uint32 word, channel i -> bit (i mod 32), LSB first',
  'channel padding bits are 0 in activations and weights; K is the unpadded count',
  'binary dot = K - 2*popcount(a XOR b)',
  "spatial pad mode per binary conv: 'zero' = padded taps contribute nothing (effective K counts in-bounds taps only); 'one' = padded taps are +1",
  'real-valued ops: fp32, each multiply and add rounded to fp32, accumulation in (ky, kx, ci) order',
  'binary conv output: y = fp32(fp32(mul_c * acc) + bias_c), mul/bias = alpha and BN folded',
];
