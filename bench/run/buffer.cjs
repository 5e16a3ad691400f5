'use strict';
// Section 5 of bench/run.cjs (--only buffer): PerCpuBuffer push + pop of a
// 16-byte record against a SharedArrayBuffer stack behind one Atomics lock
// (bench/lib/lockstack.cjs), one thread and 4 workers.
const contenders = require('../lib/contenders.cjs');
const { versusLock } = require('./versus-lock.cjs');

module.exports = function bufferSection(run, pool, totals) {
  const { report, results, config } = run;
  report.heading('5. PerCpuBuffer against a locked SharedArrayBuffer stack (one push + one pop)');
  const w = config.bufferWorkers;
  const r = versusLock(run, pool, totals, { list: contenders.BUFFER, w, mine: 'percpu-buffer', theirs: 'lock-stack', theirsShort: 'lock stack', unitLabel: 'push+pop' });
  results.sections.buffer = r.section;
  results.ratios.bufferOneThreadLockOverPercpu = r.oneThreadLockOverPercpu;
  results.ratios[`buffer${w}WorkersPercpuOverLock`] = r.workersPercpuOverLock;
};
