// Worker side of the kernel pool (pool.ts): instantiates the kernel module on the shared memory, then
// loops: wait for SEQ to change, run the named export with the integer arguments, publish DONE = SEQ.
// Plain JavaScript on purpose: it needs no TypeScript loader under node, tsx or vitest.
import { parentPort, workerData } from 'node:worker_threads';

const SEQ = 0, DONE = 1, FN = 2, STATUS = 3, READY = 4, NARGS = 5, ARGS = 8;
const { module, memory, ctrl, names } = workerData;
const instance = new WebAssembly.Instance(module, { env: { mem: memory } });
const fns = names.map((n) => instance.exports[n]);
Atomics.store(ctrl, READY, 1);
parentPort.postMessage({ ready: true });

// Spin briefly before sleeping: inference posts jobs back to back (with short single-threaded steps in
// between), and a futex wake-up costs tens of microseconds in a VM. performance.now() bounds the spin
// (0.5 ms), so an idle pool sleeps.
const SPIN_MS = 0.5;
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
  const args = [];
  for (let i = 0; i < ctrl[NARGS]; i++) args.push(ctrl[ARGS + i]);
  try {
    fns[ctrl[FN]](...args);
    ctrl[STATUS] = 0;
  } catch (e) {
    ctrl[STATUS] = 1;
    parentPort.postMessage({ error: String(e && e.stack ? e.stack : e) });
  }
  Atomics.store(ctrl, DONE, seq);
  Atomics.notify(ctrl, DONE);
}
