'use strict';
// Starts and ends N workers one after another; each loads the package and reads
// its fields. Prints the process's registration counts before and after.
const { Worker } = require('node:worker_threads');
const [entry, countArg] = process.argv.slice(2);
const count = Number(countArg);
const { rseq } = require(entry);

const body = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { rseq } = require(workerData.entry);
  const r = rseq.registration();
  parentPort.postMessage({ owner: r.owner, cpuId: rseq.cpuId(), view: rseq.area().cpuId, threads: rseq.debugCounts().threads });
`;

async function main() {
  const before = rseq.debugCounts();
  const owners = {};
  let maxThreads = 0;
  for (let i = 0; i < count; i++) {
    const w = new Worker(body, { eval: true, workerData: { entry } });
    const exited = new Promise((resolve) => w.once('exit', resolve));
    const msg = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      exited.then((code) => reject(new Error(`worker ${i} exited with ${code} before reporting`)));
    });
    const code = await exited;
    if (code !== 0) throw new Error(`worker ${i} exited with ${code}`);
    owners[msg.owner] = (owners[msg.owner] ?? 0) + 1;
    maxThreads = Math.max(maxThreads, msg.threads);
  }
  const after = rseq.debugCounts();
  process.stdout.write(JSON.stringify({ before, after, owners, maxThreads, mainOwner: rseq.registration().owner }) + '\n');
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
