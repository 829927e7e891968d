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

let seen = 0;
for (;;) {
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
