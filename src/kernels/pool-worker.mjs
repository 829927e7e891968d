// Worker side of the kernel pool (pool.ts): instantiates the kernel module on the shared memory, then
// loops: wait for SEQ to change, take the job (CAS STATE 2*seq -> 2*seq+1; a job the main thread already
// cancelled is skipped), run the named export with the integer arguments (a chunked job: claim chunks,
// own first, then steal, exactly as pool.ts runChunks), publish DONE = SEQ.
// Plain JavaScript on purpose: it needs no TypeScript loader under node, tsx or vitest.
import { parentPort, workerData } from 'node:worker_threads';

const SEQ = 0, DONE = 1, FN = 2, STATUS = 3, READY = 4, NARGS = 5, STATE = 6, ARGS = 8;
const CH_ARG = 32, CH_TOTAL = 33, CH_UNIT = 34, CH_N = 35, CH_THREADS = 36, CH_SELF = 37;
const { module, memory, ctrl, names, claims } = workerData;
const instance = new WebAssembly.Instance(module, { env: { mem: memory } });
const fns = names.map((n) => instance.exports[n]);
Atomics.store(ctrl, READY, 1);
parentPort.postMessage({ ready: true });

// same as pool.ts chunkRange / claim / runChunks
function chunkRange(c, k, total, unit) {
  const units = Math.ceil(total / unit);
  return [Math.floor((units * c) / k) * unit, Math.min(total, Math.floor((units * (c + 1)) / k) * unit)];
}
function claim(t, size, fromBack) {
  for (;;) {
    const w = Atomics.load(claims, t);
    const f = w & 0xffff, b = (w >>> 16) & 0xffff;
    if (f + b >= size) return -1;
    if (Atomics.compareExchange(claims, t, w, fromBack ? w + 0x10000 : w + 1) === w) return fromBack ? size - 1 - b : f;
  }
}
function runChunks(self, n, k, exec) {
  for (let d = 0; d < n; d++) {
    const t = (self + d) % n, lo = Math.floor((k * t) / n), hi = Math.floor((k * (t + 1)) / n);
    for (let i; (i = claim(t, hi - lo, d > 0)) >= 0;) exec(lo + i);
  }
}

// Spin briefly before sleeping: inference posts jobs back to back, and a futex wake-up costs tens of
// microseconds in a VM. performance.now() bounds the spin (~100 us), so an idle pool sleeps and a busy
// machine loses little to spinning (a job the worker is too late for is cancelled, see pool.ts).
const SPIN_MS = 0.1;
let seen = 0;
for (;;) {
  if (Atomics.load(ctrl, SEQ) === seen) {
    const until = performance.now() + SPIN_MS;
    while (Atomics.load(ctrl, SEQ) === seen && performance.now() < until);
  }
  Atomics.wait(ctrl, SEQ, seen);
  const seq = Atomics.load(ctrl, SEQ);
  if (seq === seen) continue;
  seen = seq;
  if (Atomics.compareExchange(ctrl, STATE, 2 * seq, 2 * seq + 1) !== 2 * seq) {
    // cancelled: the main thread did this job's chunks itself (or a newer job is already posted)
    Atomics.store(ctrl, DONE, seq);
    Atomics.notify(ctrl, DONE);
    continue;
  }
  const args = [];
  for (let i = 0; i < ctrl[NARGS]; i++) args.push(ctrl[ARGS + i]);
  try {
    const f = fns[ctrl[FN]], chArg = ctrl[CH_ARG];
    if (chArg < 0) f(...args);
    else {
      const total = ctrl[CH_TOTAL], unit = ctrl[CH_UNIT], k = ctrl[CH_N];
      runChunks(ctrl[CH_SELF], ctrl[CH_THREADS], k, (c) => {
        const r = chunkRange(c, k, total, unit);
        args[chArg] = r[0]; args[chArg + 1] = r[1];
        f(...args);
      });
    }
    ctrl[STATUS] = 0;
  } catch (e) {
    ctrl[STATUS] = 1;
    parentPort.postMessage({ error: String(e && e.stack ? e.stack : e) });
  }
  Atomics.store(ctrl, DONE, seq);
  Atomics.notify(ctrl, DONE);
}
