'use strict';
// A worker for test/shared/metrics.test.ts: binds the registry from its buffer
// (workerData.buffer) and records what workerData.task says.
const { workerData, parentPort } = require('node:worker_threads');
const { Registry, Counter } = require(workerData.metricsEntry);

const r = Registry.from(workerData.buffer);
const { task, id, n } = workerData;

if (task === 'mixed') {
  // Labelled inc, a bound child, histogram observations, a gauge, and label
  // sets that first appear in this worker.
  const c = r.getSingleMetric('jobs_total');
  const h = r.getSingleMetric('job_seconds');
  const child = c.labels('child', 'ok');
  for (let i = 0; i < n; i++) {
    c.inc({ kind: 'plain', result: i % 2 === 0 ? 'ok' : 'error' });
    child.inc(2);
    c.inc({ kind: `route${i % 50}`, result: 'ok' });
    h.observe({ kind: 'w' }, (i % 4) * 0.01);
  }
  r.getSingleMetric('workers_up').inc();
  parentPort.postMessage({ done: true });
} else if (task === 'define') {
  // The same definition made again in a worker binds to the same metric.
  const c = new Counter({ name: 'defined_total', help: 'defined in two threads', labelNames: ['t'], registers: [r] });
  for (let i = 0; i < n; i++) c.inc({ t: 'x' });
  parentPort.postMessage({ done: true });
} else if (task === 'cardinality') {
  const c = r.getSingleMetric('bounded_total');
  const out = { codes: [] };
  for (let i = 0; i < 5; i++) {
    try {
      c.inc({ v: `w${id}-${i}` });
      out.codes.push('ok');
    } catch (e) {
      out.codes.push(e.code);
    }
  }
  parentPort.postMessage(out);
} else if (task === 'loop') {
  // Counts until terminated; progress[id] = adds completed (stored after each one).
  const progress = new Int32Array(workerData.progress);
  const c = r.getSingleMetric('loop_total');
  const child = c.labels('w');
  parentPort.postMessage({ started: true });
  for (let i = 1; ; i++) {
    child.inc();
    Atomics.store(progress, id, i);
  }
}
