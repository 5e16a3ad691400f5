'use strict';
// Section 7 of bench/run.cjs (--only latency): the distribution of one
// push + pop's duration, each timed alone, from 8 workers on 2 CPUs (more
// runnable threads than CPUs, so threads are preempted in the middle of
// operations): PerCpuBuffer, the lock stack of section 5, and the two clock
// reads alone (the floor of every figure). Histograms: bench/lib/histogram.cjs.
const { summary, fmt, paired } = require('../lib/stats.cjs');
const histogram = require('../lib/histogram.cjs');
const contenders = require('../lib/contenders.cjs');

module.exports = function latencySection({ report, results, config, rseq }, pool) {
  const w = config.latencyWorkers;
  const own = rseq.getAffinity();
  // Pin the run's workers to the first latencyCpus CPUs the process may use, when it may use more.
  const cpus = own.length > config.latencyCpus ? own.slice(0, config.latencyCpus) : null;
  const on = cpus || own;
  report.heading(`7. Latency of one push + pop, ${w} workers on ${on.length} CPU${on.length === 1 ? '' : 's'} (${on.join(',')}) (microseconds; ${config.latencyMs} ms per run)`);
  if (on.length !== config.latencyCpus) report.note(`The process may use ${own.length} CPU(s), not ${config.latencyCpus}: the workers ran on all of them.`);
  const list = contenders.LATENCY;
  for (const c of list) pool.latency(c.id, w, config.warmMs, cpus); // warm-up: the timed loops are compiled apart from section 5's
  const perRound = Object.fromEntries(list.map((c) => [c.id, { p50: [], p99: [], p999: [], p9999: [], opsPerSec: [] }]));
  const pooled = Object.fromEntries(list.map((c) => [c.id, new Float64Array(histogram.BUCKETS)]));
  for (let r = 0; r < config.rounds; r++) {
    for (let k = 0; k < list.length; k++) {
      const c = list[(k + r) % list.length];
      const run = pool.latency(c.id, w, config.latencyMs, cpus);
      const d = histogram.describe(run.hist);
      const pr = perRound[c.id];
      pr.p50.push(d.p50);
      pr.p99.push(d.p99);
      pr.p999.push(d.p999);
      pr.p9999.push(d.p9999);
      pr.opsPerSec.push((run.per.reduce((a, p) => a + p.ops, 0) * 1e9) / run.wallNs);
      histogram.addInto(pooled[c.id], run.hist);
    }
  }
  const us = (ns) => fmt(ns / 1000);
  const out = {};
  const rows = [];
  for (const c of list) {
    const all = histogram.describe(pooled[c.id]);
    const pr = perRound[c.id];
    const p999 = summary(pr.p999);
    out[c.id] = {
      label: c.label,
      unit: 'ns',
      pooled: all,
      perRound: { p50: summary(pr.p50), p99: summary(pr.p99), p999, p9999: summary(pr.p9999), opsPerSec: summary(pr.opsPerSec) },
      // The pooled histogram's non-empty buckets: [low ns, high ns, count].
      histogram: [...pooled[c.id]].map((n, b) => [...histogram.bucketRange(b), n]).filter((x) => x[2] > 0),
    };
    rows.push([c.label, fmt(summary(pr.opsPerSec).median / 1e6), String(all.count), us(all.p50), us(all.p99), us(all.p999), us(all.p9999), us(all.max), us(p999.median), us(p999.min), us(p999.max)]);
  }
  report.emit(['contender', 'M ops/s', 'operations timed', 'p50', 'p99', 'p99.9', 'p99.99', 'max', 'p99.9 per run median', 'min', 'max'], rows);
  results.ratios.latencyP999LockOverPercpu = paired(perRound['lock-stack'].p999, perRound['percpu-buffer'].p999);
  results.ratios.latencyP99LockOverPercpu = paired(perRound['lock-stack'].p99, perRound['percpu-buffer'].p99);
  results.ratios.latencyP50LockOverPercpu = paired(perRound['lock-stack'].p50, perRound['percpu-buffer'].p50);
  report.note(
    `p50 to max: of every operation of every run (${config.rounds} runs each), in microseconds, to the histogram's 3 %; per run: the p99.9 of each run. ` +
      `Lock stack / PerCpuBuffer, medians of per-run ratios: p50 x${fmt(results.ratios.latencyP50LockOverPercpu.median)}, p99 x${fmt(results.ratios.latencyP99LockOverPercpu.median)}, p99.9 x${fmt(results.ratios.latencyP999LockOverPercpu.median)}. ` +
      'Every figure includes the two clock reads (the last row: their own distribution, preemption included).',
  );
  results.sections.latency = { workers: w, cpus: on, pinned: cpus !== null, durationMs: config.latencyMs, rounds: config.rounds, contenders: out };
};
