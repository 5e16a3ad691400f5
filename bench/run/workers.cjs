'use strict';
// Section 3 of bench/run.cjs (--only workers): 1, 2, 4 and 8 workers adding
// to one counter, millions of adds per second: PerCpuCounter.add on the
// default counter and each path, against one shared Atomics.add slot, one
// padded slot per worker and a plain add to the worker's own slot (the
// ideals).
const { summary, median, fmt, paired, round4 } = require('../lib/stats.cjs');
const { timedSeries } = require('../lib/worker-pool.cjs');
const contenders = require('../lib/contenders.cjs');
const { pairedIf } = require('./rows.cjs');

module.exports = function workersSection({ report, results, config, present, defaultPath }, pool, totals) {
  report.heading(`3. Workers adding to one counter (millions of adds per second; ${config.workerMs} ms per run)`);
  const list = present(contenders.WORKERS);
  // Warm-up: every worker compiles and optimises every contender's loop.
  for (const c of list) {
    const run = pool.timed(c.id, Math.max(...config.workerCounts), config.warmMs);
    totals[c.id] = (totals[c.id] || 0) + run.per.reduce((a, p) => a + p.ops, 0);
  }
  const { samples, perThreadNs } = timedSeries(pool, list, config.workerCounts, config.rounds, config.workerMs, totals);
  const byWorkers = {};
  const rows = [];
  for (const w of config.workerCounts) {
    byWorkers[w] = {};
    for (const c of list) {
      const s = summary(samples[w][c.id]);
      byWorkers[w][c.id] = {
        label: c.label,
        opsPerSec: s,
        nsPerOp: round4(1e9 / s.median),
        threadNsPerOp: round4(median(perThreadNs[w][c.id])),
      };
      rows.push([
        String(w),
        c.label,
        fmt(s.median / 1e6),
        fmt(s.min / 1e6),
        fmt(s.max / 1e6),
        fmt(1e9 / s.median),
        fmt(median(perThreadNs[w][c.id])),
        fmt(paired(samples[w][c.id], samples[w]['shared-int32']).median),
        fmt(paired(samples[w][c.id], samples[w]['shared-bigint64']).median),
        fmt(paired(samples[w]['padded-slot-int32'], samples[w][c.id]).median),
        fmt(paired(samples[w]['padded-slot'], samples[w][c.id]).median),
        fmt(paired(samples[w]['owned-f64'], samples[w][c.id]).median),
      ]);
    }
  }
  report.emit(['workers', 'contender', 'Mops/s median', 'min', 'max', 'ns/op (all)', 'ns/op (per worker)', 'x shared Int32', 'x shared BigInt64', 'padded Int32 / this', 'padded BigInt64 / this', 'padded plain / this'], rows);
  report.note('ns/op (all) = 1 s / throughput; ns/op (per worker) = wall time / that worker\'s adds (includes time descheduled when workers outnumber cores). "padded plain" = one padded Float64Array slot per worker, f[k] = f[k] + 1.');
  if (samples[1] && samples[2]) {
    const scale = paired(samples[2]['padded-slot'], samples[1]['padded-slot']);
    results.ratios.paddedScaling2over1 = scale;
    report.note(`Parallelism the machine gave: one padded slot per worker ran ${fmt(scale.median)}x faster with 2 workers than with 1 (2 = two free cores; near 1 = other work held a core, and no two adds really ran at once).`);
  }
  results.sections.workers = { unit: 'ops/s', durationMs: config.workerMs, workerCounts: config.workerCounts, defaultPath, contenders: Object.fromEntries(list.map((c) => [c.id, c.label])), byWorkers, samples };
  for (const w of config.workerCounts) {
    const s = samples[w];
    results.ratios[`workers${w}`] = {
      defaultOverSharedBigInt64: pairedIf(s['counter-default'], s['shared-bigint64']),
      defaultOverSharedInt32: pairedIf(s['counter-default'], s['shared-int32']),
      laneOverSharedBigInt64: pairedIf(s['counter-lane'], s['shared-bigint64']),
      laneOverSharedInt32: pairedIf(s['counter-lane'], s['shared-int32']),
      atomicsOverSharedBigInt64: paired(s['counter-atomics'], s['shared-bigint64']),
      atomicsOverSharedInt32: paired(s['counter-atomics'], s['shared-int32']),
      rseqOverSharedBigInt64: paired(s['counter-rseq'], s['shared-bigint64']),
      rseqOverSharedInt32: paired(s['counter-rseq'], s['shared-int32']),
      paddedOverAtomics: paired(s['padded-slot'], s['counter-atomics']),
      padded32OverAtomics: paired(s['padded-slot-int32'], s['counter-atomics']),
      padded32OverSharedInt32: paired(s['padded-slot-int32'], s['shared-int32']),
      paddedOverSharedBigInt64: paired(s['padded-slot'], s['shared-bigint64']),
      paddedOverRseq: paired(s['padded-slot'], s['counter-rseq']),
      rseqOverAtomics: paired(s['counter-rseq'], s['counter-atomics']),
      ownedOverLane: pairedIf(s['owned-f64'], s['counter-lane']),
      ownedOverDefault: paired(s['owned-f64'], s['counter-default']),
      ownedOverSharedInt32: paired(s['owned-f64'], s['shared-int32']),
    };
  }
};
