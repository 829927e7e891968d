/**
 * The worker pool: chunked jobs cover their range exactly once whatever the thread that runs a chunk
 * (own chunks first, then stealing); failure modes: a worker that dies makes a plain call throw a clear
 * error after the watchdog delay instead of hanging the main thread (later calls run without it), and a
 * chunked call does not even wait for it (the main thread takes its chunks).
 */
import { describe, expect, it } from 'vitest';
import { KernelPool, chunkRange } from '../../src/kernels/pool.ts';
import { kernelExports, Scratch } from '../../src/kernels/wasm.ts';

describe('kernel pool', () => {
  it('chunk ranges tile [0, total) in multiples of the unit', () => {
    for (const [total, unit, k] of [[100, 1, 8], [37, 5, 8], [3, 1, 8], [56 * 56, 56, 8], [7, 7, 1]]) {
      let at = 0;
      for (let c = 0; c < k; c++) {
        const [lo, hi] = chunkRange(c, k, total, unit);
        expect(lo).toBe(at);
        expect(lo % unit === 0 || lo === total).toBe(true);
        at = Math.max(at, hi);
      }
      expect(at).toBe(total);
    }
  });

  it('chunked jobs compute every row once (many calls, odd sizes), and skip a dead worker without waiting', async () => {
    const pool = new KernelPool(1, kernelExports(), { watchdogMs: 60_000 });
    await pool.ready();
    const sc = new Scratch();
    const c = 5, px = 333;
    const a = sc.alloc(px * c * 4), b = sc.alloc(px * c * 4), o = sc.alloc(px * c * 4);
    sc.commit();
    const f = () => sc.f32;
    for (let i = 0; i < px * c; i++) { f()[(a >>> 2) + i] = i; f()[(b >>> 2) + i] = 0.5; }
    const check = () => {
      const v = f();
      for (let i = 0; i < px * c; i++) if (v[(o >>> 2) + i] !== i + 0.5) return false;
      return true;
    };
    for (let r = 0; r < 200; r++) {
      f().fill(-1, o >>> 2, (o >>> 2) + px * c);
      pool.runChunked('add', [a, b, o, 0, 0, c], 3, px, 1 + (r % 7));
      expect(check()).toBe(true);
    }
    void pool.terminateWorkerForTest(1);
    const until = performance.now() + 200;
    while (performance.now() < until);
    f().fill(-1, o >>> 2, (o >>> 2) + px * c);
    const t0 = performance.now();
    pool.runChunked('add', [a, b, o, 0, 0, c], 3, px, 3);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(check()).toBe(true);
    await pool.close();
  });

  it('a dead worker gives an error naming it and the kernel, not a hang; later calls still work', async () => {
    const pool = new KernelPool(1, kernelExports(), { watchdogMs: 300 });
    await pool.ready();
    const sc = new Scratch();
    const a = sc.alloc(64 * 4), b = sc.alloc(64 * 4), o = sc.alloc(64 * 4);
    sc.commit();
    sc.f32.fill(1, a >>> 2, (a >>> 2) + 64);
    sc.f32.fill(2, b >>> 2, (b >>> 2) + 64);
    // add over pixels [0, 8) and [8, 16) of 4 channels: one slice per thread
    const job = () => pool.run('add', [[a, b, o, 0, 8, 4], [a, b, o, 8, 16, 4]]);
    job();
    expect(pool.threads).toBe(2);
    void pool.terminateWorkerForTest(1);
    // stay synchronous, so the pool cannot have seen the worker's exit event yet
    const until = performance.now() + 200;
    while (performance.now() < until);
    const t0 = performance.now();
    expect(job).toThrow(/worker 1 did not finish kernel add within 300 ms/);
    expect(performance.now() - t0).toBeLessThan(5000);
    // the pool no longer uses the dead worker: the whole call runs on the main thread
    sc.f32.fill(0, o >>> 2, (o >>> 2) + 64);
    job();
    expect(Array.from(sc.f32.subarray(o >>> 2, (o >>> 2) + 64))).toEqual(new Array(64).fill(3));
    expect(pool.threads).toBe(1);
    await pool.close();
  });
});
