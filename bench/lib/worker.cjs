'use strict';
// A benchmark worker (see worker-pool.cjs). It loads the package, builds its
// ctx over the shared state, and for each run: compiles (once) the
// contender's timed loop, says it is ready, waits on the GO word, runs,
// stores its figures and says it is done. A latency run (pool.latency) runs the contender's loop
// with every operation timed into this worker's histogram, pinned to the
// run's CPUs when it names some.
const { workerData, parentPort } = require('node:worker_threads');
const { compileTimed, compileLatency } = require('./micro.cjs');
const { BUCKETS } = require('./histogram.cjs');
const contenders = require('./contenders.cjs');
const { CTL } = require('./worker-pool.cjs');

const { entry, addonPath, wire, index, control, results, histograms, batch, extra } = workerData;
const pkg = require(entry);
if (pkg.rseq.backend !== 'native') throw new Error(`bench worker ${index}: backend is ${pkg.rseq.backend} (${pkg.rseq.fallbackReason})`);
const binding = require(addonPath);
const ctx = contenders.makeCtx(pkg, wire, index);
const ctl = new Int32Array(control);
const stop = new Int32Array(control, CTL.STOP * 4, 1);
const out = new Float64Array(results);
const hist = new Float64Array(histograms, index * BUCKETS * 8, BUCKETS);
const homeCpus = pkg.rseq.getAffinity();

const all = new Map();
for (const group of [contenders.WORKERS, contenders.BUFFER, contenders.POOL, contenders.LATENCY, extra || []]) for (const c of group) all.set(c.id, c);
const compiled = new Map();

parentPort.on('message', (msg) => {
  if (msg.op === 'exit') {
    process.exit(0);
  }
  let run;
  if (msg.op === 'timed') {
    let fn = compiled.get(msg.id);
    if (!fn) {
      // `<id>@held`: the same contender with its setup's objects held in closure constants.
      const [base, form] = msg.id.split('@');
      const c = all.get(base);
      if (!c || (form !== undefined && form !== 'held')) throw new Error(`bench worker: unknown contender ${msg.id}`);
      fn = compileTimed(c, batch, form === 'held' ? ctx : undefined);
      compiled.set(msg.id, fn);
    }
    run = () => [fn(ctx, stop), 0];
  } else if (msg.op === 'latency') {
    const key = `latency:${msg.id}`;
    let fn = compiled.get(key);
    if (!fn) {
      const c = all.get(msg.id);
      if (!c) throw new Error(`bench worker: unknown contender ${msg.id}`);
      fn = compileLatency(c, batch);
      compiled.set(key, fn);
    }
    if (msg.cpus) pkg.rseq.setAffinity(msg.cpus);
    run = () => {
      const ops = fn(ctx, stop, hist);
      if (msg.cpus) pkg.rseq.setAffinity(homeCpus);
      return [ops, 0];
    };
  } else if (msg.op === 'native') {
    run = () => [msg.iterations, binding.benchLoop(msg.kind, msg.iterations, ctx.nativeWords)];
  } else {
    throw new Error(`bench worker: unknown op ${msg.op}`);
  }
  const gen = Atomics.load(ctl, CTL.GO);
  Atomics.add(ctl, CTL.READY, 1);
  Atomics.notify(ctl, CTL.READY);
  while (Atomics.load(ctl, CTL.GO) === gen) Atomics.wait(ctl, CTL.GO, gen);
  const [ops, ns] = run();
  out[index * 2] = ops;
  out[index * 2 + 1] = ns;
  Atomics.add(ctl, CTL.DONE, 1);
  Atomics.notify(ctl, CTL.DONE);
});
parentPort.postMessage('ready');
