'use strict';
// The pool of benchmark workers (worker.cjs) driven from the main thread:
// sections 3 to 7 of bench/run.cjs and the analysis scripts run on it.
//
// One run: the main thread posts the run to the first W workers, waits until
// all W are READY (each parked in Atomics.wait on GO), stamps t0 and bumps GO
// with Atomics.notify, and then either sleeps for the run's duration and sets
// STOP (timed runs: each worker counts its operations) or just waits (native
// runs: each worker makes one benchLoop call of fixed iterations). It stamps
// t1 when DONE reaches W. Throughput = all workers' operations / (t1 - t0).
// Latency runs are timed runs in which each worker also counts the duration
// of every operation in its own histogram (histogram.cjs); the run returns the
// sum of the W histograms.

const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { BUCKETS } = require('./histogram.cjs');
const { median } = require('./stats.cjs');

// Int32 word indices in the control buffer, each on its own 64-byte line
// (STOP is read by every worker every batch).
const CTL = { GO: 0, READY: 16, DONE: 32, STOP: 48 };
const CONTROL_BYTES = 64 * 4;
const WAIT_LIMIT_MS = 120000;

class WorkerPool {
  /** `extra`: more contenders ({ id, label, setup, body }) the workers can run (analysis scripts). */
  constructor({ size, entry, addonPath, wire, batch = 256, extra = [] }) {
    this.size = size;
    this.control = new SharedArrayBuffer(CONTROL_BYTES);
    this.ctl = new Int32Array(this.control);
    this.results = new SharedArrayBuffer(8 * 2 * size);
    this.out = new Float64Array(this.results);
    this.histograms = new SharedArrayBuffer(8 * BUCKETS * size);
    this.hist = new Float64Array(this.histograms);
    this.sleeper = new Int32Array(new SharedArrayBuffer(4));
    this.workers = [];
    for (let i = 0; i < size; i++) {
      this.workers.push(
        new Worker(path.join(__dirname, 'worker.cjs'), {
          workerData: { entry, addonPath, wire, index: i, control: this.control, results: this.results, histograms: this.histograms, batch, extra },
        }),
      );
    }
  }

  /** Resolves when every worker has loaded the package and built its ctx. */
  start() {
    return Promise.all(
      this.workers.map(
        (w, i) =>
          new Promise((resolve, reject) => {
            w.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(`worker ${i}: ${m}`))));
            w.once('error', reject);
            w.once('exit', (code) => reject(new Error(`worker ${i} exited with code ${code} before it was ready`)));
          }),
      ),
    ).then(() => {
      for (const w of this.workers) w.removeAllListeners('exit');
    });
  }

  #waitFor(index, count, what) {
    const deadline = Date.now() + WAIT_LIMIT_MS;
    for (;;) {
      const v = Atomics.load(this.ctl, index);
      if (v >= count) return;
      if (Date.now() > deadline) throw new Error(`bench: workers did not answer (${what}: ${v} of ${count}); a worker probably threw`);
      Atomics.wait(this.ctl, index, v, 1000);
    }
  }

  #sleep(ms) {
    Atomics.wait(this.sleeper, 0, 0, ms);
  }

  #run(workers, message, durationMs) {
    if (workers > this.size) throw new RangeError(`bench: ${workers} workers asked of a pool of ${this.size}`);
    Atomics.store(this.ctl, CTL.READY, 0);
    Atomics.store(this.ctl, CTL.DONE, 0);
    Atomics.store(this.ctl, CTL.STOP, 0);
    this.out.fill(0);
    for (let i = 0; i < workers; i++) this.workers[i].postMessage(message);
    this.#waitFor(CTL.READY, workers, 'ready');
    const t0 = process.hrtime.bigint();
    Atomics.add(this.ctl, CTL.GO, 1);
    Atomics.notify(this.ctl, CTL.GO);
    if (durationMs !== undefined) {
      this.#sleep(durationMs);
      Atomics.store(this.ctl, CTL.STOP, 1);
    }
    this.#waitFor(CTL.DONE, workers, 'done');
    const t1 = process.hrtime.bigint();
    const per = [];
    for (let i = 0; i < workers; i++) per.push({ ops: this.out[i * 2], ns: this.out[i * 2 + 1] });
    return { wallNs: Number(t1 - t0), per };
  }

  /** W workers run contender `id` for durationMs. */
  timed(id, workers, durationMs) {
    return this.#run(workers, { op: 'timed', id }, durationMs);
  }

  /**
   * W workers run contender `id` for durationMs, timing every operation.
   * With `cpus`, each worker pins itself to those CPUs for the run (and goes
   * back to its own affinity after). Adds { hist }: the W histograms summed.
   */
  latency(id, workers, durationMs, cpus = null) {
    this.hist.fill(0);
    const run = this.#run(workers, { op: 'latency', id, cpus }, durationMs);
    const hist = new Float64Array(BUCKETS);
    for (let i = 0; i < workers; i++) {
      const h = this.hist.subarray(i * BUCKETS, (i + 1) * BUCKETS);
      for (let b = 0; b < BUCKETS; b++) hist[b] += h[b];
    }
    return { ...run, hist };
  }

  /** W workers each make one benchLoop(kind, iterations) call. */
  native(kind, workers, iterations) {
    return this.#run(workers, { op: 'native', kind, iterations }, undefined);
  }

  async close() {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise((resolve) => {
            w.once('exit', resolve);
            w.postMessage({ op: 'exit' });
          }),
      ),
    );
  }
}

/**
 * Timed runs of every contender of `list` with each worker count of
 * `counts`, `rounds` times, the order rotating every round; adds each run's
 * operations to totals[id]. Returns { samples, perThreadNs }: samples[W][id]
 * the throughput of each round (ops/s), perThreadNs[W][id] the median over
 * the workers of wall time / that worker's operations.
 */
function timedSeries(pool, list, counts, rounds, durationMs, totals) {
  const samples = {};
  const perThreadNs = {};
  for (const w of counts) {
    samples[w] = {};
    perThreadNs[w] = {};
    for (const c of list) {
      samples[w][c.id] = [];
      perThreadNs[w][c.id] = [];
    }
  }
  for (let r = 0; r < rounds; r++) {
    for (const w of counts) {
      for (let k = 0; k < list.length; k++) {
        const c = list[(k + r) % list.length];
        const run = pool.timed(c.id, w, durationMs);
        const ops = run.per.reduce((a, p) => a + p.ops, 0);
        totals[c.id] = (totals[c.id] || 0) + ops;
        samples[w][c.id].push((ops * 1e9) / run.wallNs);
        perThreadNs[w][c.id].push(median(run.per.map((p) => run.wallNs / p.ops)));
      }
    }
  }
  return { samples, perThreadNs };
}

module.exports = { WorkerPool, CTL, timedSeries };
