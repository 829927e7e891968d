/**
 * Loads the fast kernels: assembles the generated WAT (wat.ts) with the npm package `wabt` once, at module
 * load (top-level await), and instantiates it on ONE shared WebAssembly.Memory that the worker pool
 * (pool.ts) instantiates too, so threads exchange no data: they receive argument lists only.
 *
 * Memory map: [0, scratchBase) holds resident regions, one per owner (golden/resident.ts programs keep
 * weights and activations there across calls; binaryGemm its packed B), allocated one after the other
 * (allocRegion); above them, every kernel call lays its operands out from scratchBase upward
 * (`Scratch`), growing the memory when a call needs more; nothing is allocated per call once the memory
 * is large enough. Calls are strictly sequential on the main thread (a pool job finishes before the call
 * returns), so one scratch region suffices, and per-call kernels never touch resident regions. When the
 * regions would pass REGIONS_MAX_BYTES they are all dropped and allocation restarts at 0: their owners
 * see ownsRegion() false and rebuild (programs recompile at a new base).
 */
import wabtInit from 'wabt';
import { moduleWat } from './wat.ts';

const PAGE_BYTES = 65536;
/** 2 GiB - 64 KiB: the kernels address memory with i32 byte offsets computed in signed-safe ranges. */
const MAX_PAGES = 32767;

async function assemble(): Promise<WebAssembly.Module> {
  const wabt = await wabtInit();
  const features = { simd: true, threads: true };
  const parsed = wabt.parseWat('birealsim-kernels.wat', moduleWat(), features);
  try {
    // validate() takes the feature set too (untyped in wabt's index.d.ts): without it shared memory is refused
    (parsed.validate as (f: typeof features) => void)(features);
    const { buffer } = parsed.toBinary({});
    return new WebAssembly.Module(new Uint8Array(buffer));
  } finally {
    parsed.destroy();
  }
}

export const kernelModule: WebAssembly.Module = await assemble();
export const memory = new WebAssembly.Memory({ initial: 256, maximum: MAX_PAGES, shared: true });
const instance = new WebAssembly.Instance(kernelModule, { env: { mem: memory } });

type KernelFn = (...args: number[]) => void;
/** Exported kernel functions of the main-thread instance, by name. */
export const kernelExports = instance.exports as unknown as Record<string, KernelFn>;

/** Grows the memory so that it holds at least `bytes` bytes. */
export function ensureMemory(bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes <= have) return;
  const pages = Math.ceil((bytes - have) / PAGE_BYTES);
  if (have / PAGE_BYTES + pages > MAX_PAGES) throw new Error(`fast kernels: ${bytes} bytes of wasm memory needed, over the 2 GiB limit`);
  memory.grow(pages);
}

let scratchBase = 0;
let REGIONS_MAX_BYTES = 512 << 20;
/** For tests: the cap after which all resident regions are dropped (default 512 MiB). */
export function setRegionsMaxBytes(bytes: number): void { REGIONS_MAX_BYTES = bytes; }
let regionTop = 0;
let regionOwners = new Set<object>();

/**
 * Allocates a resident region of `bytes` for `owner` and returns its base (64-byte aligned). Its contents
 * are unspecified (memory may have held scratch data): the owner initialises it.
 */
export function allocRegion(owner: object, bytes: number): number {
  const size = Math.ceil(bytes / 64) * 64;
  if (regionTop + size > REGIONS_MAX_BYTES) { regionOwners = new Set(); regionTop = 0; }
  const base = regionTop;
  regionTop += size;
  regionOwners.add(owner);
  scratchBase = Math.max(scratchBase, regionTop);
  ensureMemory(scratchBase);
  return base;
}
/** True while `owner`'s region is still allocated (regions are dropped together when they outgrow the cap). */
export function ownsRegion(owner: object): boolean { return regionOwners.has(owner); }

/** Bump layout of one call's operands in the shared memory; views are refreshed after any growth. */
export class Scratch {
  private top = scratchBase;
  /** Reserves `bytes` (64-byte aligned) plus `slackBytes` of readable slack; returns the byte offset. */
  alloc(bytes: number, slackBytes = 0): number {
    const at = this.top;
    this.top = at + Math.ceil((bytes + slackBytes) / 64) * 64;
    return at;
  }
  /** Grows the memory to hold everything allocated so far; call before writing through views. */
  commit(): void { ensureMemory(this.top); }
  /**
   * Copies n values at byte offset `at` out of the shared memory into a fresh array. (new + set, never
   * TypedArray.prototype.slice: V8's slice of a SharedArrayBuffer view is ~100x slower than memcpy.)
   */
  copyF32(at: number, n: number): Float32Array { const o = new Float32Array(n); o.set(new Float32Array(memory.buffer, at, n)); return o; }
  copyI32(at: number, n: number): Int32Array { const o = new Int32Array(n); o.set(new Int32Array(memory.buffer, at, n)); return o; }
  get u32(): Uint32Array { return new Uint32Array(memory.buffer); }
  get i32(): Int32Array { return new Int32Array(memory.buffer); }
  get f32(): Float32Array { return new Float32Array(memory.buffer); }
}
