'use strict';
// A worker running per-CPU critical sections through the simulator backend of
// the compiled package (dist/cjs/fallback/backend.js) on a SharedArrayBuffer
// shared with the test, and reporting its section counts.
const { parentPort, workerData } = require('node:worker_threads');
const { createSimulatorBackend } = require(workerData.backendEntry);

const { kind, reps, cpus, mode } = workerData;
const b = createSimulatorBackend({ cpus });
const words = new BigInt64Array(workerData.buffer);
const out = { committed: 0, cpu: b.schedGetcpu(), id: b.currentId(mode) };

if (kind === 'counter') {
  // words[id] += 1, retried until it commits.
  for (let i = 0; i < reps; i++) {
    for (;;) {
      const id = b.currentId(mode);
      if (b.section('add', { mode, id, words, index: id, count: 1 }) === 0) break;
    }
    out.committed++;
  }
} else if (kind === 'swap') {
  // words[0] names the active bank; commit only while it still does (checked inside the section).
  const slots = workerData.slots;
  for (let i = 0; i < reps; ) {
    const id = b.currentId(mode);
    const bank = Number(Atomics.load(words, 0));
    const idx = 8 + bank * slots + id;
    const e = Number(Atomics.load(words, idx));
    if (b.section('doubleCompareStore', { mode, id, words, index: idx, expect: e, index2: 0, expect2: bank, newv: e + 1 }) === 0) {
      out.committed++;
      i++;
    }
  }
}
out.counts = b.opCounts();
parentPort.postMessage(out);
