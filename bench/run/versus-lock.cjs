'use strict';
// What sections 5 and 6 of bench/run.cjs share: a per-CPU structure against
// its alternative behind one Atomics lock in a SharedArrayBuffer, on one
// thread (ns per operation pair), then from `w` workers (throughput).
const { runAlternating } = require('../lib/micro.cjs');
const { summary, median, fmt, paired, round4 } = require('../lib/stats.cjs');
const { timedSeries } = require('../lib/worker-pool.cjs');
const { nsRow } = require('./rows.cjs');

/**
 * Runs `list` (`mine`: the structure's contender, `theirs`: the lock's) and
 * returns { section, oneThreadLockOverPercpu, workersPercpuOverLock }.
 */
function versusLock({ report, ctx, config }, pool, totals, { list, w, mine, theirs, theirsShort, unitLabel }) {
  const one = runAlternating(list, ctx, { rounds: config.rounds, targetMs: config.microMs });
  const lockSamples = one[theirs].nsPerOp.samples;
  report.emit(
    ['1 thread', `ns per ${unitLabel} median`, 'min', 'max', `x ${theirsShort}`],
    list.map((c) => [...nsRow(c.label, one[c.id].nsPerOp), fmt(paired(one[c.id].nsPerOp.samples, lockSamples).median)]),
  );
  for (const c of list) pool.timed(c.id, w, config.warmMs);
  const { samples, perThreadNs } = timedSeries(pool, list, [w], config.rounds, config.workerMs, totals);
  const workers = {};
  const rows = [];
  for (const c of list) {
    const s = summary(samples[w][c.id]);
    workers[c.id] = { label: c.label, opsPerSec: s, nsPerOp: round4(1e9 / s.median), threadNsPerOp: round4(median(perThreadNs[w][c.id])) };
    rows.push([c.label, fmt(s.median / 1e6), fmt(s.min / 1e6), fmt(s.max / 1e6), fmt(1e9 / s.median), fmt(paired(samples[w][c.id], samples[w][theirs]).median)]);
  }
  report.log(`${w} workers:`);
  report.md.push(`\n${w} workers:\n`);
  report.emit([`${w} workers`, `M ${unitLabel}/s median`, 'min', 'max', 'ns/op (all)', `x ${theirsShort}`], rows);
  return {
    section: { oneThread: { unit: 'ns/op', contenders: one }, workers: { count: w, unit: 'ops/s', contenders: workers, samples: samples[w] } },
    oneThreadLockOverPercpu: paired(lockSamples, one[mine].nsPerOp.samples),
    workersPercpuOverLock: paired(samples[w][mine], samples[w][theirs]),
  };
}

module.exports = { versusLock };
