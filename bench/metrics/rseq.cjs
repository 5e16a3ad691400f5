'use strict';
// The workload's metrics on rseq/metrics (the package's dist build, by its
// own name: a package can require itself through its "exports"): made on the
// main thread (makeRseq) and bound in a worker from the registry's buffer
// (attachRseq: the same definitions find the same shared series).

const W = require('./workload.cjs');

function load() {
  try {
    return require('rseq/metrics');
  } catch (err) {
    throw new Error(`bench: rseq/metrics cannot be loaded (run \`npm run build:ts\`): ${err.message}`);
  }
}

function define(M, registry) {
  const counter = new M.Counter({ ...W.COUNTER, registers: [registry] });
  const histogram = new M.Histogram({ ...W.HISTOGRAM, registers: [registry] });
  return { M, registry, counter, histogram };
}

function makeRseq() {
  const M = load();
  return define(M, new M.Registry());
}

function attachRseq(buffer) {
  const M = load();
  return define(M, M.Registry.from(buffer));
}

module.exports = { makeRseq, attachRseq };
