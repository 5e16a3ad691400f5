'use strict';
// One stress worker: runs `reps` operations on a shared per-CPU structure and
// reports what it did, for the invariants checked by test/shared/stress.test.ts.
const { parentPort, workerData } = require('node:worker_threads');
const { PerCpuCounter, PerCpuBuffer, PerCpuPool, rseq } = require(workerData.entry);
const { backend } = require(workerData.threadEntry);

const { kind, reps, wid } = workerData;
const out = { wid, popped: [], violations: 0, committed: 0 };

// Signals sent to the process go to the main thread (the kernel prefers the
// thread-group leader), so they rarely interrupt a worker. V8's sampling
// profiler sends SIGPROF to this worker's own thread every few microseconds:
// those are the signals that land inside critical sections here.
const inspector = require('node:inspector');
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 10 });
session.post('Profiler.start');

if (kind === 'counter') {
  const c = PerCpuCounter.from(workerData.buffer, { path: workerData.path });
  for (let i = 0; i < reps; i++) c.add(1);
} else if (kind === 'buffer') {
  // Each record is (worker, sequence); every other push is followed by a pop.
  const b = PerCpuBuffer.from(workerData.buffer);
  const rec = new Uint8Array(8);
  const dv = new DataView(rec.buffer);
  for (let i = 0; i < reps; i++) {
    dv.setUint32(0, wid, true);
    dv.setUint32(4, i, true);
    b.push(rec);
    if (i % 2 === 1) {
      const r = b.pop();
      if (r !== null) out.popped.push(new DataView(r.buffer).getUint32(0, true) * 1e6 + new DataView(r.buffer).getUint32(4, true));
    }
  }
} else if (kind === 'pool') {
  // Owning an index is marked in a shared array: a second owner is a duplicate.
  const p = PerCpuPool.from(workerData.buffer);
  const owner = new Int32Array(workerData.owners);
  const held = [];
  for (let i = 0; i < reps; i++) {
    const idx = p.take();
    if (idx !== null) {
      if (Atomics.compareExchange(owner, idx, 0, wid + 1) !== 0) out.violations++;
      held.push(idx);
    }
    if (held.length > 3 || (idx === null && held.length > 0)) {
      const g = held.shift();
      Atomics.store(owner, g, 0);
      p.give(g);
    }
  }
  for (const g of held) {
    Atomics.store(owner, g, 0);
    p.give(g);
  }
} else if (kind === 'swap') {
  // Writers add 1 to their CPU's slot in the active bank, committing only while
  // the bank word still names the bank they read (double compare, inside the section).
  const words = new BigInt64Array(workerData.buffer);
  const b = backend();
  const slots = workerData.slots;
  for (let i = 0; i < reps; ) {
    const id = b.currentId('cpu');
    const bank = Number(Atomics.load(words, 0));
    const idx = 8 + bank * slots * 8 + id * 8;
    const e = Number(Atomics.load(words, idx));
    if (b.doubleCompareStore('cpu', id, words, idx, e, 0, bank, e + 1) === 0) {
      out.committed++;
      i++;
    }
  }
}
out.counts = rseq.opCounts();
session.post('Profiler.stop', () => {
  session.disconnect();
  parentPort.postMessage(out);
});
