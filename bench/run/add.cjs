'use strict';
// Section 2 of bench/run.cjs (--only add): one thread adding 1, ns per add:
// PerCpuCounter.add on the default counter and on every path and mode,
// against Atomics.add and a plain increment of a slot only this thread
// writes.
const { runAlternating } = require('../lib/micro.cjs');
const { fmt, paired } = require('../lib/stats.cjs');
const contenders = require('../lib/contenders.cjs');
const { nsRow } = require('./rows.cjs');

module.exports = function addSection({ report, results, ctx, config, rseq, present, defaultPath }) {
  report.heading('2. One thread: add 1 (ns per add)');
  const list = present(contenders.ADD);
  const before = rseq.opCounts();
  const r = runAlternating(list, ctx, { rounds: config.rounds, targetMs: config.microMs });
  const after = rseq.opCounts();
  results.sections.add = { unit: 'ns/op', defaultPath, contenders: r, opCounts: { aborts: after.aborts - before.aborts, moved: after.moved - before.moved, attempts: after.attempts - before.attempts } };
  const floors = {
    AtomicsInt32: r['atomics-int32'].nsPerOp.samples,
    AtomicsBigInt64: r['atomics-bigint64'].nsPerOp.samples,
    OwnedF64: r['owned-f64'].nsPerOp.samples,
    OwnedI32: r['owned-i32'].nsPerOp.samples,
  };
  report.emit(
    ['add', 'ns median', 'min', 'max', 'x Atomics Int32', 'x Atomics BigInt64', 'x owned Float64 slot', 'x owned Int32 slot'],
    list.map((c) => [...nsRow(c.label, r[c.id].nsPerOp), ...Object.values(floors).map((f) => fmt(paired(r[c.id].nsPerOp.samples, f).median))]),
  );
  report.note(`rseq path sections in this section: ${after.attempts - before.attempts} attempts, ${after.aborts - before.aborts} aborted, ${after.moved - before.moved} moved.`);
  for (const id of ['counter-default', 'counter-lane', 'counter-atomics', 'counter-rseq', 'counter-atomics-mmcid', 'counter-rseq-mmcid']) {
    if (!r[id]) continue;
    for (const [name, f] of Object.entries(floors)) results.ratios[`${id}Over${name}`] = paired(r[id].nsPerOp.samples, f);
  }
};
