'use strict';
// Section 6 of bench/run.cjs (--only pool): PerCpuPool take + give (256
// indices) against a free list in a SharedArrayBuffer behind one Atomics lock
// (bench/lib/lockpool.cjs), one thread and 4 workers.
const contenders = require('../lib/contenders.cjs');
const { versusLock } = require('./versus-lock.cjs');

module.exports = function poolSection(run, pool, totals) {
  const { report, results, config } = run;
  report.heading(`6. PerCpuPool against a locked SharedArrayBuffer free list (one take + one give; ${contenders.POOL_SIZE} indices)`);
  const w = config.poolWorkers;
  const r = versusLock(run, pool, totals, { list: contenders.POOL, w, mine: 'percpu-pool', theirs: 'lock-pool', theirsShort: 'lock free list', unitLabel: 'take+give' });
  results.sections.pool = { size: contenders.POOL_SIZE, ...r.section };
  results.ratios.poolOneThreadLockOverPercpu = r.oneThreadLockOverPercpu;
  results.ratios[`pool${w}WorkersPercpuOverLock`] = r.workersPercpuOverLock;
};
