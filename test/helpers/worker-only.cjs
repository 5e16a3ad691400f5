'use strict';
// The main thread never loads the package: only workers do, one after another.
// When the last of them ends, the addon must stay mapped (its pthread-key
// destructors and any thread's rseq_cs point into it). Exits 0 with a report.
const { Worker } = require('node:worker_threads');
const entry = process.argv[2];
const body = `const { rseq, PerCpuCounter } = require(require('node:worker_threads').workerData);
const c = new PerCpuCounter({ path: 'rseq' });
for (let i = 0; i < 1000; i++) c.add(1);
require('node:worker_threads').parentPort.postMessage({ backend: rseq.backend, sum: c.value() });`;
async function main() {
  const reports = [];
  for (let i = 0; i < 3; i++) {
    const w = new Worker(body, { eval: true, workerData: entry });
    const exited = new Promise((resolve) => w.once('exit', resolve));
    reports.push(await new Promise((resolve, reject) => (w.once('message', resolve), w.once('error', reject))));
    if ((await exited) !== 0) throw new Error(`worker ${i} exited non-zero`);
  }
  process.stdout.write(JSON.stringify(reports) + '\n');
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
