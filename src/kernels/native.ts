/**
 * The 'native' kernel set: C++ kernels (native/birealsim_native.cc, a Node-API addon built from source at
 * install by scripts/build-native.mjs) behind the KernelSet interface (types.ts). Bit-identical to the spec
 * (reference.ts and the golden ops' element functions): binary convs by XNOR-popcount (AVX-512 VPOPCNTDQ /
 * AVX2 / scalar, picked at run time), fp32 convs and fc with the spec's summation order, vectorised across
 * output channels, no FMA. Threads are the addon's own (setNativeThreads), not the WebAssembly worker pool.
 *
 * When the addon is missing (no compiler at install, or a build failure) nativeKernels() is undefined and
 * index.ts's 'fast' falls back to the WebAssembly set. BIREALSIM_NATIVE=0 disables loading it.
 * Weights are re-arranged once per weight array (cached on the array's identity, validated by a 64-entry
 * probe like fast.ts's packed-weight caches).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { outSize } from '../core/geometry.ts';
import { packedTensor, tensor, type PackedTensor, type Tensor } from '../core/tensor.ts';
import { defaultThreads } from './pool.ts';
import type { BinaryConvArgs, FcArgs, KernelSet, RealConvArgs } from './types.ts';

export interface NativeAddon {
  prepBinary(src: Uint32Array, cout: number, taps: number, wpp: number, dst: Uint32Array): void;
  prepFloat(src: Float32Array, cout: number, K: number, dst: Float32Array): void;
  binaryConv(x: Uint32Array, H: number, W: number, wpp: number, C: number, wT: Uint32Array, cout: number, kernel: number, stride: number, pad: number, padOne: number, outH: number, outW: number, acc: Int32Array, mul: Float32Array | null, bias: Float32Array | null, y: Float32Array | null): void;
  realConv(x: Float32Array, H: number, W: number, C: number, wT: Float32Array, bias: Float32Array | null, cout: number, kernel: number, stride: number, pad: number, outH: number, outW: number, y: Float32Array): void;
  bn(x: Float32Array, pixels: number, C: number, scale: Float32Array, shift: Float32Array, y: Float32Array): void;
  add(a: Float32Array, b: Float32Array, y: Float32Array): void;
  signPack(x: Float32Array, pixels: number, C: number, wpp: number, words: Uint32Array): void;
  pool(x: Float32Array, H: number, W: number, C: number, isMax: number, kernel: number, stride: number, pad: number, oh: number, ow: number, y: Float32Array): void;
  setThreads(n: number): void;
  // resident programs (golden/native-program.ts)
  progNew(): number;
  progFree(id: number): void;
  progAdd(id: number, kind: number, ints: Int32Array, arrays: (Float32Array | Uint32Array | Int32Array | null)[], epiInts: Int32Array, epiArrays: (Float32Array | Uint32Array | Int32Array | null)[]): number;
  progRun(id: number, from: number, to: number): void;
  isa(): string;
  setIsa(name: string): string;
}

/** Where the build puts the addon (relative to src/kernels and dist/kernels alike). */
export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../native/build/birealsim.node', import.meta.url));

let addon: NativeAddon | null | undefined;
let loadError = '';
function load(): NativeAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env.BIREALSIM_NATIVE === '0') { loadError = 'disabled by BIREALSIM_NATIVE=0'; return addon; }
  if (!existsSync(NATIVE_ADDON_PATH)) { loadError = `not built (${NATIVE_ADDON_PATH} missing)`; return addon; }
  try {
    addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeAddon;
    addon.setThreads(wantThreads ?? defaultThreads());
  } catch (e) {
    loadError = `failed to load: ${(e as Error).message.split('\n')[0]}`;
    addon = null;
  }
  return addon;
}

/** The loaded addon (for golden/native-program.ts), or null. */
export function nativeAddon(): NativeAddon | null { return load(); }

/** The reason the native set is absent ('' when present). */
export function nativeUnavailableReason(): string { load(); return loadError; }
/** The instruction set the native binary kernels use ('avx512-vpopcntdq', 'avx2', 'scalar'), or null without the addon. */
export function nativeIsa(): string | null { return load()?.isa() ?? null; }
/** Forces a lower instruction set (tests run every code path on one machine); returns the one in use. */
export function setNativeIsa(name: 'avx512' | 'avx2' | 'scalar'): string | null { return load()?.setIsa(name) ?? null; }
/** Threads of the native kernels (1 = calling thread only). Results do not depend on it. */
let wantThreads: number | undefined;
export function setNativeThreads(n: number): void {
  wantThreads = Math.max(1, Math.floor(n));
  if (addon) addon.setThreads(wantThreads); // before the first load: applied when it loads
}

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

const pad16 = (n: number) => Math.ceil(n / 16) * 16;
const binCache = new WeakMap<Uint32Array, { key: string; probe: Float64Array; wT: Uint32Array }>();
const fltCache = new WeakMap<Float32Array, { key: string; probe: Float64Array; wT: Float32Array }>();

export function nativeBinaryWeights(m: NativeAddon, src: Uint32Array, cout: number, taps: number, wpp: number): Uint32Array {
  const key = `${cout}/${taps}/${wpp}`;
  const c = binCache.get(src);
  if (c && c.key === key && probeMatches(src, c.probe)) return c.wT;
  if (src.length < cout * taps * wpp) throw new Error(`native binaryConv: ${src.length} weight words, expected ${cout * taps * wpp}`);
  // two sections: the rows [tap][word][coutPad], then the popcount of each tap's words [tap][coutPad] (the
  // AVX2 kernel's correction for 'zero' padding)
  const wT = new Uint32Array((wpp + 1) * taps * pad16(cout));
  m.prepBinary(src, cout, taps, wpp, wT);
  binCache.set(src, { key, probe: probeOf(src), wT });
  return wT;
}

export function nativeFloatWeights(m: NativeAddon, src: Float32Array, cout: number, K: number): Float32Array {
  const key = `${cout}/${K}`;
  const c = fltCache.get(src);
  if (c && c.key === key && probeMatches(src, c.probe)) return c.wT;
  if (src.length < cout * K) throw new Error(`native realConv: ${src.length} weights, expected ${cout * K}`);
  const wT = new Float32Array(K * pad16(cout));
  m.prepFloat(src, cout, K, wT);
  fltCache.set(src, { key, probe: probeOf(src), wT });
  return wT;
}

function binaryRun(m: NativeAddon, a: BinaryConvArgs, mul: Float32Array | null, bias: Float32Array | null): { acc: Int32Array; y: Float32Array | null } {
  const { input, cout, kernel, stride, pad, outH, outW } = a;
  const wpp = input.wordsPerPixel;
  const wT = nativeBinaryWeights(m, a.weightBits, cout, kernel * kernel, wpp);
  const acc = new Int32Array(outH * outW * cout);
  const y = mul ? new Float32Array(outH * outW * cout) : null;
  if (mul && (mul.length < cout || !bias || bias.length < cout)) throw new Error(`native xnorConv: per-channel vectors shorter than ${cout}`);
  m.binaryConv(input.words, input.h, input.w, wpp, input.c, wT, cout, kernel, stride, pad, a.padMode === 'one' ? 1 : 0, outH, outW, acc, mul, bias, y);
  return { acc, y };
}

function makeSet(m: NativeAddon): KernelSet {
  const realConv = (a: RealConvArgs): Float32Array => {
    const { input, cout, kernel, stride, pad, outH, outW } = a;
    const wT = nativeFloatWeights(m, a.weight, cout, kernel * kernel * input.c);
    const y = new Float32Array(outH * outW * cout);
    m.realConv(input.data, input.h, input.w, input.c, wT, a.bias ?? null, cout, kernel, stride, pad, outH, outW, y);
    return y;
  };
  const fc = (a: FcArgs): Float32Array => {
    const n = a.input.length;
    const wT = nativeFloatWeights(m, a.weight, a.outFeatures, n);
    const y = new Float32Array(a.outFeatures);
    m.realConv(a.input, 1, 1, n, wT, a.bias ?? null, a.outFeatures, 1, 1, 0, 1, 1, y);
    return y;
  };
  return {
    name: 'native',
    device: 'native',
    binaryConv: (a) => binaryRun(m, a, null, null).acc,
    realConv,
    fc,
    ops: {
      xnorConv: (a, mul, bias) => {
        const { acc, y } = binaryRun(m, a, mul, bias);
        return { acc, out: tensor(a.outH, a.outW, a.cout, y!) };
      },
      bn: (x: Tensor, scale: Float32Array, shift: Float32Array): Tensor => {
        if (scale.length < x.c || shift.length < x.c) throw new Error(`native bn: per-channel vectors shorter than ${x.c}`);
        const out = tensor(x.h, x.w, x.c);
        m.bn(x.data, x.h * x.w, x.c, scale, shift, out.data);
        return out;
      },
      add: (a: Tensor, b: Tensor): Tensor => {
        if (a.data.length !== b.data.length) throw new Error(`add: shapes ${a.h}x${a.w}x${a.c} and ${b.h}x${b.w}x${b.c} differ`);
        const out = tensor(a.h, a.w, a.c);
        m.add(a.data, b.data, out.data);
        return out;
      },
      signPack: (x: Tensor): PackedTensor => {
        const p = packedTensor(x.h, x.w, x.c);
        m.signPack(x.data, x.h * x.w, x.c, p.wordsPerPixel, p.words);
        return p;
      },
      pool: (x: Tensor, kind: 'avgpool' | 'maxpool', kernel: number, stride: number, pad: number): Tensor => {
        const win = { kernel, stride, pad };
        const oh = outSize(x.h, win), ow = outSize(x.w, win);
        const out = tensor(oh, ow, x.c);
        m.pool(x.data, x.h, x.w, x.c, kind === 'maxpool' ? 1 : 0, kernel, stride, pad, oh, ow, out.data);
        return out;
      },
    },
  };
}

let set: KernelSet | null | undefined;
/** The native kernel set, or undefined when the addon is not available (see nativeUnavailableReason). */
export function nativeKernels(): KernelSet | undefined {
  if (set === undefined) { const m = load(); set = m ? makeSet(m) : null; }
  return set ?? undefined;
}

/**
 * Binary GEMM on the native kernels: dot[m][n] = kBits - 2*popcount(A_m XOR B_n), A M x ceil(K/32) words,
 * B N x ceil(K/32) words (the same contract as fast.ts binaryGemm). Throws without the addon.
 */
export function nativeBinaryGemm(aBits: Uint32Array, bBits: Uint32Array, M: number, N: number, kBits: number, out?: Int32Array): Int32Array {
  const m = load();
  if (!m) throw new Error(`native kernels ${loadError}`);
  const wpr = Math.ceil(kBits / 32);
  if (aBits.length !== M * wpr || bBits.length !== N * wpr) throw new Error(`nativeBinaryGemm: operand sizes ${aBits.length}, ${bBits.length} do not match M=${M}, N=${N}, K=${kBits} bits`);
  const wT = nativeBinaryWeights(m, bBits, N, 1, wpr);
  const acc = out ?? new Int32Array(M * N);
  m.binaryConv(aBits, M, 1, wpr, kBits, wT, N, 1, 1, 0, 0, M, 1, acc, null, null, null);
  return acc;
}
