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

// One operation of this worker's kind; i numbers it.
let step;
if (kind === 'counter') {
  const c = PerCpuCounter.from(workerData.buffer, { path: workerData.path });
  const amount = workerData.amount ?? 1;
  step = () => c.add(amount);
} else if (kind === 'counter-mixed') {
  // The three paths on one buffer, with amounts small and large (a bigint goes
  // to the checked base word); out.added is what this worker added.
  const handles = ['atomics', 'rseq', 'lane'].map((path) => PerCpuCounter.from(workerData.buffer, { path }));
  const amounts = [65536, 1, 65536, 65537, 65536, 3, 2n ** 33n, -2];
  out.added = 0;
  step = (i) => {
    const n = amounts[i % amounts.length];
    handles[(i >> 3) % 3].add(n);
    out.added += Number(n);
  };
} else if (kind === 'buffer') {
  // Each record is (worker, sequence); every other push is followed by a pop.
  const b = PerCpuBuffer.from(workerData.buffer);
  const rec = new Uint8Array(8);
  const dv = new DataView(rec.buffer);
  step = (i) => {
    dv.setUint32(0, wid, true);
    dv.setUint32(4, i, true);
    b.push(rec);
    if (i % 2 === 1) {
      const r = b.pop();
      if (r !== null) {
        const rv = new DataView(r.buffer);
        out.popped.push(rv.getUint32(0, true) * 2 ** 32 + rv.getUint32(4, true));
      }
    }
  };
} else if (kind === 'pool') {
  // Owning an index is marked in a shared array: a second owner is a duplicate.
  const p = PerCpuPool.from(workerData.buffer);
  const owner = new Int32Array(workerData.owners);
  const held = [];
  step = () => {
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
  };
  out.finish = () => {
    for (const g of held.splice(0)) {
      Atomics.store(owner, g, 0);
      p.give(g);
    }
  };
} else if (kind === 'swap') {
  // Writers add 1 to their CPU's slot in the active bank, committing only while
  // the bank word still names the bank they read (double compare, inside the section).
  const words = new BigInt64Array(workerData.buffer);
  const b = backend();
  const slots = workerData.slots;
  step = () => {
    for (;;) {
      const id = b.currentId('cpu');
      const bank = Number(Atomics.load(words, 0));
      const idx = 8 + bank * slots * 8 + id * 8;
      const e = Number(Atomics.load(words, idx));
      if (b.section('doubleCompareStore', { mode: 'cpu', id, words, index: idx, expect: e, index2: 0, expect2: bank, newv: e + 1 }) === 0) return void out.committed++;
    }
  };
}

// `reps` operations; then, where the test needs aborts observed, more in
// chunks until some worker has seen one (a shared flag), for up to 60 s. Aborts
// are rare events (a preemption or signal must land inside a section of a few
// instructions: about one in 10-50 million adds here), so the run lasts as
// long as it takes to see one; `ops` says how long that was.
const seen = workerData.abortSeen ? new Int32Array(workerData.abortSeen) : null;
let ops = 0;
const runTo = (n) => {
  for (; ops < n; ops++) step(ops);
  if (seen && rseq.opCounts().aborts > 0) Atomics.store(seen, 0, 1);
};
runTo(reps);
const until = Date.now() + 60_000;
while (seen && Atomics.load(seen, 0) === 0 && Date.now() < until) runTo(ops + Math.ceil(reps / 10));
if (out.finish) out.finish();
delete out.finish;
out.ops = ops;
out.counts = rseq.opCounts();
session.post('Profiler.stop', () => {
  session.disconnect();
  parentPort.postMessage(out);
});
