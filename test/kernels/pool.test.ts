/**
 * The worker pool's failure modes: a worker that dies mid-run makes the call throw a clear error after the
 * watchdog delay instead of hanging the main thread, and later calls run without that worker.
 */
import { describe, expect, it } from 'vitest';
import { KernelPool } from '../../src/kernels/pool.ts';
import { kernelExports, Scratch } from '../../src/kernels/wasm.ts';

describe('kernel pool watchdog', () => {
  it('a dead worker gives an error naming it and the kernel, not a hang; later calls still work', async () => {
    const pool = new KernelPool(1, kernelExports, { watchdogMs: 300 });
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
