'use strict';
// A cluster worker of bench/metrics.cjs's scrape section (scrape.cjs):
// prom-client's own multi-process set-up. Its metrics are in prom-client's
// global registry, which prom-client's cluster support answers the primary's
// AggregatorRegistry.clusterMetrics() from (over the cluster IPC channel).
// RSEQ_BENCH_COUNT requests of the workload, offset RSEQ_BENCH_INDEX, then
// { ready: true } to the primary.

const prom = require('prom-client');
const W = require('./workload.cjs');

// Constructing an AggregatorRegistry in a worker installs prom-client's
// listener that answers the primary's requests.
new prom.AggregatorRegistry();
const counter = new prom.Counter(W.COUNTER);
const histogram = new prom.Histogram(W.HISTOGRAM);
W.record(counter, histogram, Number(process.env.RSEQ_BENCH_COUNT), Number(process.env.RSEQ_BENCH_INDEX));
process.send({ ready: true });
