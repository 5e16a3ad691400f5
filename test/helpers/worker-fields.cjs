'use strict';
// A worker that pins itself to one CPU and reports its own rseq readings.
const { parentPort, workerData } = require('node:worker_threads');
const { rseq } = require(workerData.entry);

rseq.setAffinity([workerData.cpu]);
const view = rseq.area();
const p = rseq.probe();
parentPort.postMessage({
  backend: rseq.backend,
  owner: p.registration.owner,
  length: p.registration.length,
  cpu: workerData.cpu,
  cpuId: rseq.cpuId(),
  cpuIdStart: rseq.cpuIdStart(),
  viewCpuId: view.cpuId,
  schedGetcpu: rseq.schedGetcpu(),
  mmCid: p.fields.mmCid ? rseq.mmCid() : null,
  nodeId: p.fields.nodeId ? view.nodeId : null,
});
// Stay alive until told to go, so that all workers hold their areas at once.
parentPort.once('message', () => process.exit(0));
