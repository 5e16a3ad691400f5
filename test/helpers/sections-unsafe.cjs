'use strict';
// Run with RSEQ_SIM_KERNEL=6.19 RSEQ_SIM_ARCH=aarch64 (or any kernel the
// table lists): the package must run no critical section, and the structures
// must stay exact on their non-section path, with workers. Prints one JSON line.
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');
const { rseq, PerCpuCounter, PerCpuBuffer, PerCpuPool } = require(process.argv[2]);

if (!isMainThread) {
  const { counter, buffer, pool, reps } = workerData;
  const c = PerCpuCounter.from(counter);
  const b = PerCpuBuffer.from(buffer);
  const p = PerCpuPool.from(pool);
  let popped = 0;
  const rec = new Uint8Array(8);
  for (let i = 0; i < reps; i++) {
    c.add();
    b.push(rec);
    if (b.pop() !== null) popped++;
    const x = p.take();
    if (x !== null) p.give(x);
  }
  parentPort.postMessage({ popped, attempts: rseq.opCounts().attempts, crossing: c.region?.crossing ?? null });
} else {
  (async () => {
    const W = 4;
    const reps = 300;
    const counter = new PerCpuCounter({ path: 'rseq' });
    const buffer = new PerCpuBuffer({ recordSize: 8, capacity: W * reps });
    const pool = new PerCpuPool({ size: 16 });
    const results = await Promise.all(
      Array.from({ length: W }, () => new Promise((resolve, reject) => {
        const w = new Worker(__filename, { argv: [process.argv[2]], workerData: { counter: counter.buffer, buffer: buffer.buffer, pool: pool.buffer, reps } });
        w.once('message', resolve);
        w.once('error', reject);
      })),
    );
    let fence = null;
    try {
      rseq.fence();
      fence = 'no error';
    } catch (e) {
      fence = { code: e.code, message: e.message };
    }
    const popped = results.reduce((s, r) => s + r.popped, 0) + buffer.drain().length;
    const taken = [];
    for (let x = pool.take(); x !== null; x = pool.take()) taken.push(x);
    console.log(JSON.stringify({
      backend: rseq.backend,
      release: rseq.probe().kernel.release,
      arch: rseq.probe().arch,
      criticalSections: rseq.probe().criticalSections,
      counter: counter.value(),
      expected: W * reps,
      popped,
      poolBack: new Set(taken).size,
      sectionAttempts: results.reduce((s, r) => s + r.attempts, 0) + rseq.opCounts().attempts,
      fence,
    }));
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
