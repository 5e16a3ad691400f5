'use strict';
// Section 2 of bench/metrics.cjs (--only scrape): W = 1, 4, 8 workers each
// made --requests requests of the workload, then the main thread (the
// cluster primary) scrapes, ms per scrape: rseq/metrics' registry.metrics()
// (reads the shared memory), the same through a prom-client Registry
// (rseq/metrics/prom-client, when built), prom-client in worker_threads (one
// registry per thread: getMetricsAsJSON() over postMessage, then
// AggregatorRegistry.aggregate, which is what an application has to build:
// prom-client has no worker_threads support), and prom-client's
// AggregatorRegistry over `cluster` with W worker processes
// (clusterMetrics()). Every scrape's text is checked once against the exact
// totals.
const path = require('node:path');
const cluster = require('node:cluster');
const { Worker } = require('node:worker_threads');
const { summary, median, fmt, paired } = require('../lib/stats.cjs');
const W = require('./workload.cjs');
const { makeRseq } = require('./rseq.cjs');

/** rseq/metrics/prom-client, or null before it is built. */
function loadPromAdapter() {
  try {
    return require('rseq/metrics/prom-client');
  } catch {
    return null;
  }
}

function onceMessage(target, what) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      cleanup();
      if (typeof m === 'string' && m.startsWith('error')) reject(new Error(`${what}: ${m}`));
      else resolve(m);
    };
    const onError = (e) => {
      cleanup();
      reject(e);
    };
    const onExit = (code) => {
      cleanup();
      reject(new Error(`${what} exited (${code}) before it was ready`));
    };
    const cleanup = () => {
      target.off('message', onMessage);
      target.off('error', onError);
      target.off('exit', onExit);
    };
    target.on('message', onMessage);
    target.on('error', onError);
    target.on('exit', onExit);
  });
}

/** n worker_threads (thread-worker.cjs) of `kind`, each having made `requests` requests. */
async function startThreads(kind, n, requests, extra) {
  const workers = [];
  for (let i = 0; i < n; i++) {
    workers.push(new Worker(path.join(__dirname, 'thread-worker.cjs'), { workerData: { kind, index: i, count: requests, ...extra } }));
  }
  await Promise.all(workers.map((w, i) => onceMessage(w, `${kind} worker ${i}`)));
  return workers;
}

/** prom-client in worker_threads: every worker's getMetricsAsJSON() over postMessage, aggregated as prom-client's cluster support does. */
function threadScraper(prom, workers) {
  let next = 0;
  return async () => {
    const id = next++;
    const answers = await Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve) => {
            const on = (m) => {
              if (m && m.id === id) {
                w.off('message', on);
                resolve(m.metrics);
              }
            };
            w.on('message', on);
            w.postMessage({ scrape: id });
          }),
      ),
    );
    return prom.AggregatorRegistry.aggregate(answers).metrics();
  };
}

/** n cluster worker processes (cluster-worker.cjs), each having made `requests` requests. */
async function startCluster(n, requests) {
  cluster.setupPrimary({ exec: path.join(__dirname, 'cluster-worker.cjs'), silent: false });
  const workers = [];
  for (let i = 0; i < n; i++) workers.push(cluster.fork({ RSEQ_BENCH_COUNT: String(requests), RSEQ_BENCH_INDEX: String(i) }));
  await Promise.all(workers.map((w, i) => onceMessage(w, `cluster worker ${i}`)));
  return workers;
}

async function stopCluster(workers) {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((resolve) => {
          if (w.isDead()) return resolve();
          w.once('exit', resolve);
          w.kill();
        }),
    ),
  );
}

/** One sample: scrapes for about ms (at least 3), the median ms of one. */
async function sample(fn, ms) {
  const times = [];
  const end = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
  while (times.length < 3 || process.hrtime.bigint() < end) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

module.exports = async function scrapeSection({ report, results, config, prom, check }) {
  report.heading(`2. Scrape (ms per scrape; each worker made ${config.requests} requests first)`);
  const adapter = loadPromAdapter();
  if (!adapter) report.note('rseq/metrics/prom-client is not built: its contender is left out.');
  const agg = new prom.AggregatorRegistry();
  const byWorkers = {};
  const contenderLabels = {};
  for (const w of config.workers) {
    const rs = makeRseq();
    const rsThreads = await startThreads('rseq', w, config.requests, { buffer: rs.registry.buffer });
    const promThreads = await startThreads('prom', w, config.requests, {});
    const procs = await startCluster(w, config.requests);
    const list = [{ id: 'rseq', label: 'rseq/metrics: registry.metrics() (worker_threads, shared memory)', fn: () => rs.registry.metrics() }];
    if (adapter) {
      const pr = new prom.Registry();
      adapter.registerWithPromClient(rs.registry, pr);
      list.push({ id: 'rseq-prom', label: 'rseq/metrics through a prom-client Registry (rseq/metrics/prom-client)', fn: () => pr.metrics() });
    }
    list.push({ id: 'prom-threads', label: 'prom-client per worker_thread: getMetricsAsJSON() over postMessage + AggregatorRegistry.aggregate', fn: threadScraper(prom, promThreads) });
    list.push({ id: 'prom-cluster', label: 'prom-client AggregatorRegistry.clusterMetrics(), cluster worker processes', fn: () => agg.clusterMetrics() });
    try {
      for (const c of list) {
        contenderLabels[c.id] = c.label;
        const diff = W.compareExposition(await c.fn(), w, config.requests);
        check(`scrape ${c.id}, ${w} workers: every sample exact`, diff === null, diff || 'exact', 'exact');
      }
      const samples = Object.fromEntries(list.map((c) => [c.id, []]));
      for (let r = 0; r < config.rounds; r++) {
        for (let k = 0; k < list.length; k++) {
          const c = list[(k + r) % list.length];
          samples[c.id].push(await sample(c.fn, config.scrapeMs));
        }
      }
      byWorkers[w] = Object.fromEntries(list.map((c) => [c.id, { label: c.label, msPerScrape: summary(samples[c.id]) }]));
      for (const c of list) if (c.id !== 'rseq') results.ratios[`scrape${w}-${c.id}/rseq`] = paired(samples[c.id], samples.rseq);
    } finally {
      await Promise.all([...rsThreads, ...promThreads].map((t) => t.terminate()));
      await stopCluster(procs);
    }
  }
  const ids = Object.keys(contenderLabels);
  const rows = [];
  for (const w of config.workers) {
    for (const id of ids) {
      const x = byWorkers[w][id];
      if (!x) continue;
      const ratio = id === 'rseq' ? '-' : fmt(results.ratios[`scrape${w}-${id}/rseq`].median);
      rows.push([String(w), x.label, fmt(x.msPerScrape.median), fmt(x.msPerScrape.min), fmt(x.msPerScrape.max), ratio]);
    }
  }
  report.emit(['workers', 'scrape', 'ms median', 'min', 'max', 'this / rseq'], rows);
  report.note(`One sample = the median scrape of a ${config.scrapeMs} ms burst (at least 3 scrapes); median (min, max) of ${config.rounds} rounds, contenders rotating. 8 counter series and 8 histogram series (6 buckets + +Inf), ${config.requests} requests per worker; every contender's text was checked once against the exact totals.`);
  results.sections.scrape = { unit: 'ms/scrape', requests: config.requests, workerCounts: config.workers, contenders: contenderLabels, byWorkers };
};
