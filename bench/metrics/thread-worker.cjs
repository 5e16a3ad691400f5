'use strict';
// A worker_threads worker of bench/metrics.cjs's scrape section
// (scrape.cjs). workerData: { kind, index, count, buffer? }.
//
//   kind 'rseq': attaches to the main thread's rseq/metrics registry
//     (Registry.from(buffer)), makes `count` requests of the workload on it
//     and says 'ready'. A scrape reads the shared memory on the main thread;
//     this worker takes no part in it.
//   kind 'prom': prom-client in this thread (its own Registry: prom-client
//     keeps a thread's metrics in that thread's heap), makes `count`
//     requests, says 'ready', then answers every { scrape: id } with
//     { id, metrics: await registry.getMetricsAsJSON() }: what an
//     application with worker_threads has to build to aggregate them (the
//     main thread gives the answers to AggregatorRegistry.aggregate).

const { parentPort, workerData } = require('node:worker_threads');
const W = require('./workload.cjs');

const { kind, index, count } = workerData;

async function main() {
  if (kind === 'rseq') {
    const { attachRseq } = require('./rseq.cjs');
    const { counter, histogram } = attachRseq(workerData.buffer);
    W.record(counter, histogram, count, index);
    parentPort.postMessage('ready');
    return;
  }
  const prom = require('prom-client');
  const registry = new prom.Registry();
  const counter = new prom.Counter({ ...W.COUNTER, registers: [registry] });
  const histogram = new prom.Histogram({ ...W.HISTOGRAM, registers: [registry] });
  W.record(counter, histogram, count, index);
  parentPort.on('message', async (m) => {
    if (m && typeof m.scrape === 'number') parentPort.postMessage({ id: m.scrape, metrics: await registry.getMetricsAsJSON() });
  });
  parentPort.postMessage('ready');
}

main().catch((err) => {
  parentPort.postMessage(`error: ${err && err.stack ? err.stack : err}`);
});
