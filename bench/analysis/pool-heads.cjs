#!/usr/bin/env node
'use strict';
// Why PerCpuPool's 4-worker figure varies between runs: one pool, rounds of 4
// workers doing take + give, and after each round where each CPU's list head
// is. Analysis for the README; nothing here is used by the package.
//
//   node bench/analysis/pool-heads.cjs [--rounds N] [--ms N] [--wait-quiet]
//
// A take + give on one CPU writes next[i] of the index it reuses, mostly the
// head of that CPU's list. The indices are dealt in contiguous blocks, so at
// first the CPUs' heads are far apart; a worker that migrates between its
// take and its give puts the index on the other CPU's list, and over time
// two CPUs' heads can sit on one 64-byte line of next[] (8 indices per line),
// which both then write. Each row: the round's take + give rate over all
// workers, the heads of the first two allowed CPUs when it ended, whether
// they share a line, and the workers' section attempts that the kernel
// aborted or that found the thread on another CPU (rseq.opCounts()).
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');

const WORKERS = 4;
const SIZE = 256;

if (isMainThread) {
  const { analysisSetup } = require('../lib/analysis.cjs');
  const { table } = require('../lib/stats.cjs');
  const { pkg, entry, rounds, ms } = analysisSetup('pool-heads', { rounds: 8, ms: 500 });
  const pool = new pkg.PerCpuPool({ size: SIZE });
  const words = new BigInt64Array(pool.buffer);
  // The region header (src/contract/abi.ts REGION_LAYOUT): word 4 the stride,
  // slots from word 8 (headerWords) on; word 0 of a slot is its list head.
  const stride = Number(words[4]);
  const head = (cpu) => Number(words[8 + cpu * stride]);
  const cpus = pkg.rseq.getAffinity().slice(0, 2);
  if (cpus.length < 2) throw new Error('pool-heads: needs two allowed CPUs');
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const rows = [];
  (async () => {
    for (let round = 0; round < rounds; round++) {
      const counts = [];
      const done = [];
      for (let k = 0; k < WORKERS; k++) {
        const w = new Worker(__filename, { workerData: { entry, buffer: pool.buffer, ctl } });
        done.push(new Promise((resolve, reject) => {
          w.once('message', (m) => (counts.push(m), resolve()));
          w.once('error', reject);
        }));
      }
      await new Promise((r) => setTimeout(r, 200));
      Atomics.store(ctl, 0, 1);
      const t0 = process.hrtime.bigint();
      await new Promise((r) => setTimeout(r, ms));
      Atomics.store(ctl, 0, 2);
      await Promise.all(done);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      Atomics.store(ctl, 0, 0);
      const h = cpus.map(head);
      const sameLine = h[0] >= 0 && h[1] >= 0 && Math.floor(h[0] / 8) === Math.floor(h[1] / 8);
      const sum = (k) => counts.reduce((a, m) => a + m[k], 0);
      rows.push([String(round), (sum('n') / seconds / 1e6).toFixed(1), `${h[0]}, ${h[1]}`, sameLine ? 'yes' : 'no', String(sum('attempts')), String(sum('aborts')), String(sum('moved'))]);
    }
    console.log(table(['round', 'M take+give/s', `heads of CPUs ${cpus.join(', ')}`, 'one line', 'attempts', 'aborted', 'moved'], rows));
  })().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  const { PerCpuPool, rseq } = require(workerData.entry);
  const p = PerCpuPool.from(workerData.buffer);
  const ctl = workerData.ctl;
  while (Atomics.load(ctl, 0) === 0);
  const before = rseq.opCounts();
  let n = 0;
  while (Atomics.load(ctl, 0) === 1) {
    for (let i = 0; i < 1000; i++) {
      const x = p.take();
      if (x !== null) {
        p.give(x);
        n++;
      }
    }
  }
  const after = rseq.opCounts();
  const d = (k) => Number(after[k]) - Number(before[k]);
  parentPort.postMessage({ n, attempts: d('attempts'), aborts: d('aborts'), moved: d('moved') });
}
