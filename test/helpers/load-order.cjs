'use strict';
// Workers started BEFORE this thread loads the package, then adding to one
// counter on path 'rseq' (and pushing to one buffer): the structures must be
// exact whatever the order in which threads loaded the package. Prints JSON.
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

const WORKERS = 4;
const ADDS = 30000;

if (isMainThread) {
  const entry = process.argv[2];
  const workers = Array.from({ length: WORKERS }, () => new Worker(__filename, { workerData: { entry } }));
  // Only now does this thread load the package (and the simulator's shared state).
  const { PerCpuCounter, PerCpuPool, rseq } = require(entry);
  const counter = new PerCpuCounter({ path: 'rseq' });
  const pool = new PerCpuPool({ size: 64 });
  let done = 0;
  const dup = [];
  for (const w of workers) {
    w.on('message', (m) => {
      if (m.dup) dup.push(m.dup);
      if (++done === WORKERS) {
        const got = [];
        for (let i = pool.take(); i !== null; i = pool.take()) got.push(i);
        console.log(JSON.stringify({ backend: rseq.backend, value: counter.value(), expected: WORKERS * ADDS, poolTaken: got.length, poolDistinct: new Set(got).size, dup }));
        for (const x of workers) x.terminate();
      }
    });
    w.on('error', (e) => {
      console.error(e);
      process.exit(1);
    });
    w.postMessage({ counter: counter.buffer, pool: pool.buffer });
  }
} else {
  parentPort.once('message', ({ counter, pool }) => {
    const { PerCpuCounter, PerCpuPool } = require(workerData.entry);
    const c = PerCpuCounter.from(counter, { path: 'rseq' });
    const p = PerCpuPool.from(pool);
    const held = [];
    for (let i = 0; i < ADDS; i++) {
      c.add();
      if (i % 3 === 0) {
        const k = p.take();
        if (k !== null) held.push(k);
      } else if (held.length > 0) p.give(held.pop());
    }
    for (const k of held) p.give(k);
    parentPort.postMessage({});
  });
}
