'use strict';
// The targets of bench/metrics.cjs: rseq/metrics' labelled calls at least 3x
// as fast as prom-client's, its bound children within 2x of the plain
// JavaScript that does the same work.
const { fmt } = require('../lib/stats.cjs');

module.exports = function targets({ report, results }) {
  const target = report.target.bind(report);
  const R = results.ratios;
  const t = results.sections.thread;
  const ns = (id) => (t ? fmt(t.contenders[id].nsPerOp.median) : '-');
  target('labelled-inc', 'labelled counter.inc(labels): prom-client ns / rseq/metrics ns', R['prom-inc/rseq-inc'], 3, 'min', t && `rseq ${ns('rseq-inc')} ns, prom-client ${ns('prom-inc')} ns`);
  target('labelled-observe', 'labelled histogram.observe(labels, v): prom-client ns / rseq/metrics ns', R['prom-observe/rseq-observe'], 3, 'min', t && `rseq ${ns('rseq-observe')} ns, prom-client ${ns('prom-observe')} ns`);
  target('labelled-request', 'one labelled inc + one labelled observe: prom-client ns / rseq/metrics ns', R['prom-request/rseq-request'], 3, 'min', t && `rseq ${ns('rseq-request')} ns, prom-client ${ns('prom-request')} ns`);
  target('bound-inc', 'bound child inc(): rseq/metrics ns / plain f[0] += 1 ns', R['rseq-bound-inc/plain-inc'], 2, 'max', t && `rseq ${ns('rseq-bound-inc')} ns, plain ${ns('plain-inc')} ns`);
  target('bound-observe', 'bound child observe(v): rseq/metrics ns / plain bucket search + adds ns', R['rseq-bound-observe/plain-observe'], 2, 'max', t && `rseq ${ns('rseq-bound-observe')} ns, plain ${ns('plain-observe')} ns`);
  target('bound-request', 'bound inc() + bound observe(v): rseq/metrics ns / plain JS ns', R['rseq-bound-request/plain-request'], 2, 'max', t && `rseq ${ns('rseq-bound-request')} ns, plain ${ns('plain-request')} ns`);
};
