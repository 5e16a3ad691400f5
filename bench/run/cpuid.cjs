'use strict';
// Section 1 of bench/run.cjs (--only cpuid): reading the CPU id on one
// thread, ns per read: the area's view, a native call, libc's
// sched_getcpu(), against a plain Int32Array read.
const { runAlternating } = require('../lib/micro.cjs');
const { fmt, paired } = require('../lib/stats.cjs');
const contenders = require('../lib/contenders.cjs');
const { nsRow } = require('./rows.cjs');

module.exports = function cpuidSection({ report, results, ctx, config }) {
  report.heading('1. Reading the CPU id (one thread, ns per read)');
  const r = runAlternating(contenders.CPU_ID, ctx, { rounds: config.rounds, targetMs: config.microMs });
  results.sections.cpuid = { unit: 'ns/op', contenders: r };
  const floor = r['int32-read'].nsPerOp;
  report.emit(
    ['read', 'ns median', 'min', 'max', 'x floor'],
    contenders.CPU_ID.map((c) => [...nsRow(c.label, r[c.id].nsPerOp), fmt(paired(r[c.id].nsPerOp.samples, floor.samples).median)]),
  );
  results.ratios.areaViewOverInt32 = paired(r['area-view'].nsPerOp.samples, floor.samples);
  results.ratios.areaCallOverInt32 = paired(r['area-call'].nsPerOp.samples, floor.samples);
  results.ratios.cpuIdCallOverAreaView = paired(r['cpuId-call'].nsPerOp.samples, r['area-view'].nsPerOp.samples);
  results.ratios.schedGetcpuOverAreaView = paired(r.schedGetcpu.nsPerOp.samples, r['area-view'].nsPerOp.samples);
};
