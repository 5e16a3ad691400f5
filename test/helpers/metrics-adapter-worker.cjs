'use strict';
// A worker for test/shared/metrics-adapters.test.ts: binds the registry from
// its buffer, defines the test's metrics again (the same definitions bind to
// the same shared metrics) and records workerData.n requests: request i on
// route routes[i % routes.length], duration durations[(i + id) % length],
// and the gauge up by one. Then posts 'done'.
const { workerData, parentPort } = require('node:worker_threads');
const { Registry, Counter, Histogram, Gauge } = require(workerData.metricsEntry);

const { buffer, defs, id, n, routes, durations } = workerData;
const r = Registry.from(buffer);
const requests = new Counter({ ...defs.counter, registers: [r] });
const seconds = new Histogram({ ...defs.histogram, registers: [r] });
const inflight = new Gauge({ ...defs.gauge, registers: [r] });
for (let i = 0; i < n; i++) {
  const labels = { route: routes[i % routes.length], code: '200' };
  requests.inc(labels);
  seconds.observe(labels, durations[(i + id) % durations.length]);
}
inflight.inc();
parentPort.postMessage('done');
