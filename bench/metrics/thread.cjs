'use strict';
// Section 1 of bench/metrics.cjs (--only thread): one thread, ns per
// operation: a labelled counter inc and a labelled histogram observe (and
// both: one request), rseq/metrics against prom-client; bound children
// (labels(...)) of both against plain JavaScript (f[0] += 1 on a
// Float64Array, and a linear search of the 6 bounds + three adds). Every
// contender is its own compiled loop (bench/lib/micro.cjs), alternating,
// rounds rotating; ratios are medians of per-round ratios.
const { runAlternating } = require('../lib/micro.cjs');
const { fmt, paired } = require('../lib/stats.cjs');
const W = require('./workload.cjs');
const { makeRseq } = require('./rseq.cjs');

const LABELLED = 'const l = L[i & 7];';
const THREAD = [
  // Per request: one labelled inc + one labelled observe.
  { id: 'rseq-request', group: 'request', label: 'rseq/metrics: counter.inc(labels) + histogram.observe(labels, v)', setup: 'const c = ctx.rs.counter, h = ctx.rs.histogram, L = ctx.L, V = ctx.V;', body: `${LABELLED} c.inc(l); h.observe(l, V[i & 1023]);` },
  { id: 'prom-request', group: 'request', label: 'prom-client: counter.inc(labels) + histogram.observe(labels, v)', setup: 'const c = ctx.pc.counter, h = ctx.pc.histogram, L = ctx.L, V = ctx.V;', body: `${LABELLED} c.inc(l); h.observe(l, V[i & 1023]);` },
  { id: 'rseq-inc', group: 'inc', label: 'rseq/metrics: counter.inc(labels)', setup: 'const c = ctx.rs.counter, L = ctx.L;', body: `${LABELLED} c.inc(l);` },
  { id: 'prom-inc', group: 'inc', label: 'prom-client: counter.inc(labels)', setup: 'const c = ctx.pc.counter, L = ctx.L;', body: `${LABELLED} c.inc(l);` },
  { id: 'rseq-observe', group: 'observe', label: 'rseq/metrics: histogram.observe(labels, v)', setup: 'const h = ctx.rs.histogram, L = ctx.L, V = ctx.V;', body: `${LABELLED} h.observe(l, V[i & 1023]);` },
  { id: 'prom-observe', group: 'observe', label: 'prom-client: histogram.observe(labels, v)', setup: 'const h = ctx.pc.histogram, L = ctx.L, V = ctx.V;', body: `${LABELLED} h.observe(l, V[i & 1023]);` },
  // Bound children, against plain JavaScript.
  { id: 'rseq-bound-request', group: 'bound request', label: 'rseq/metrics: bound child inc() + bound child observe(v)', setup: 'const c = ctx.rs.cchild, h = ctx.rs.hchild, V = ctx.V;', body: 'c.inc(); h.observe(V[i & 1023]);' },
  { id: 'prom-bound-request', group: 'bound request', label: 'prom-client: bound child inc() + bound child observe(v)', setup: 'const c = ctx.pc.cchild, h = ctx.pc.hchild, V = ctx.V;', body: 'c.inc(); h.observe(V[i & 1023]);' },
  { id: 'plain-request', group: 'bound request', label: 'plain JS: f[0] += 1, then the bucket search + 3 adds', setup: 'const f = ctx.plain.counter, hc = ctx.plain.buckets, hs = ctx.plain.sumCount, B = ctx.plain.bounds, V = ctx.V;', body: 'f[0] += 1; const v = V[i & 1023]; let b = 0; while (b < 6 && v > B[b]) b++; hc[b] += 1; hs[0] += v; hs[1] += 1;' },
  { id: 'rseq-bound-inc', group: 'bound inc', label: 'rseq/metrics: bound child inc()', setup: 'const c = ctx.rs.cchild;', body: 'c.inc();' },
  { id: 'prom-bound-inc', group: 'bound inc', label: 'prom-client: bound child inc()', setup: 'const c = ctx.pc.cchild;', body: 'c.inc();' },
  { id: 'plain-inc', group: 'bound inc', label: 'plain JS: f[0] += 1 (Float64Array)', setup: 'const f = ctx.plain.counter;', body: 'f[0] += 1;' },
  { id: 'rseq-bound-observe', group: 'bound observe', label: 'rseq/metrics: bound child observe(v)', setup: 'const h = ctx.rs.hchild, V = ctx.V;', body: 'h.observe(V[i & 1023]);' },
  { id: 'prom-bound-observe', group: 'bound observe', label: 'prom-client: bound child observe(v)', setup: 'const h = ctx.pc.hchild, V = ctx.V;', body: 'h.observe(V[i & 1023]);' },
  { id: 'plain-observe', group: 'bound observe', label: 'plain JS: linear search of 6 bounds, counts[b] += 1, sum += v, count += 1', setup: 'const hc = ctx.plain.buckets, hs = ctx.plain.sumCount, B = ctx.plain.bounds, V = ctx.V;', body: 'const v = V[i & 1023]; let b = 0; while (b < 6 && v > B[b]) b++; hc[b] += 1; hs[0] += v; hs[1] += 1;' },
];

module.exports = function threadSection({ report, results, config, prom }) {
  report.heading('1. One thread (ns per operation)');
  const rs = makeRseq();
  const pr = new prom.Registry();
  const pc = { counter: new prom.Counter({ ...W.COUNTER, registers: [pr] }), histogram: new prom.Histogram({ ...W.HISTOGRAM, registers: [pr] }) };
  pc.cchild = pc.counter.labels('/a', '200');
  pc.hchild = pc.histogram.labels('/a', '200');
  const ctx = {
    rs: { counter: rs.counter, histogram: rs.histogram, cchild: rs.counter.labels('/a', '200'), hchild: rs.histogram.labels('/a', '200') },
    pc,
    L: W.labelSets(),
    V: W.durations(),
    plain: { counter: new Float64Array(8), buckets: new Float64Array(8), sumCount: new Float64Array(8), bounds: Float64Array.from(W.HISTOGRAM.buckets) },
  };
  const r = runAlternating(THREAD, ctx, { rounds: config.rounds, targetMs: config.microMs });
  const s = (id) => r[id].nsPerOp.samples;
  const rows = THREAD.map((c) => {
    const x = r[c.id].nsPerOp;
    const vsProm = c.id.startsWith('rseq-') ? fmt(paired(s(c.id.replace('rseq-', 'prom-')), s(c.id)).median) : '-';
    const plainId = { 'bound request': 'plain-request', 'bound inc': 'plain-inc', 'bound observe': 'plain-observe' }[c.group];
    const vsPlain = plainId && plainId !== c.id ? fmt(paired(s(c.id), s(plainId)).median) : '-';
    return [c.label, fmt(x.median), fmt(x.min), fmt(x.max), vsProm, vsPlain];
  });
  report.emit(['operation', 'ns median', 'min', 'max', 'prom-client / rseq', 'x plain JS'], rows);
  report.note('"prom-client / rseq": how many times faster rseq/metrics ran than prom-client\'s same call (median of per-round ratios). "x plain JS": this / the plain-JavaScript loop of the same work. Labelled calls rotate over 8 label objects made once (4 routes x 2 codes); bound children are labels(\'/a\', \'200\').');
  results.sections.thread = { unit: 'ns/op', contenders: r, groups: Object.fromEntries(THREAD.map((c) => [c.id, c.group])) };
  for (const k of ['request', 'inc', 'observe', 'bound-request', 'bound-inc', 'bound-observe']) results.ratios[`prom-${k}/rseq-${k}`] = paired(s(`prom-${k}`), s(`rseq-${k}`));
  for (const k of ['request', 'inc', 'observe']) results.ratios[`rseq-bound-${k}/plain-${k}`] = paired(s(`rseq-bound-${k}`), s(`plain-${k}`));
};
