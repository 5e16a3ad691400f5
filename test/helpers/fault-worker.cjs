'use strict';
// A worker that runs operations on a PerCpuCounter, a PerCpuBuffer and a
// PerCpuPool until it is terminated (worker.terminate()) at a random point,
// its start-up included. It records what it did, and which operation it was
// inside, in slots of SharedArrayBuffers that the main thread of
// test/helpers/fault-run.cjs reads after the worker's 'exit': so that exactness
// bounds can be checked over everything the dead workers did.
//
// Required from a main thread, this file only exports the layout of those
// slots and the record format (fault-run.cjs uses them).
const { isMainThread, parentPort, workerData } = require('node:worker_threads');

/** Int32 slots per worker (written with Atomics.store, so no store is elided or moved). */
const I = { phase: 0, op: 1, arg: 2 };
const I_STRIDE = 4;
/** Float64 slots per worker: counts, all whole numbers. */
const F = {
  ops: 0,
  added: 1, // sum of the amounts of adds that returned
  taken: 2, // sum of what reset() returned
  resets: 3,
  reads: 4, // value(), valueBigInt(), perCpu()
  pushed: 5, // records pushed (also the sequence number of the next record)
  full: 6, // pushes refused with ERR_RSEQ_BUFFER_FULL
  popped: 7,
  drains: 8,
  drained: 9, // records drain() returned
  sizes: 10,
  takes: 11, // take() returned an index
  takeNull: 12, // take() returned null (every list scanned, the cross-CPU path)
  gives: 13,
  violations: 14, // an index taken that another holder already owned
  bad: 15, // malformed records seen
  dups: 16, // records seen twice
  // 17 + k: when phase k began (performance.timeOrigin + performance.now(), in ms), k = 1..READY (5)
  phaseAt: 17,
};
const F_STRIDE = 24;

/**
 * Start-up phases, each named for what the worker is inside: booting (no
 * script yet), require() of the package, each from() (the first one loads the
 * addon and registers the thread). A worker that dies below READY died in its start-up.
 */
const PHASES = ['boot', 'require', 'counter.from', 'buffer.from', 'pool.from', 'ready'];
const READY = PHASES.indexOf('ready');
/** The operation a worker is inside (from just before the call until what it returned is recorded). */
const OPS = ['none', 'add', 'reset', 'value', 'valueBigInt', 'perCpu', 'push', 'pop', 'drain', 'size', 'take', 'give', 'setAffinity'];
const OP = Object.fromEntries(OPS.map((name, i) => [name, i]));

const RECORD_SIZE = 16;
/** Records each worker may push (the size of its part of the `seen` array). */
const MAX_SEQ = 1 << 16;
const MAGIC = 0x5eed_f417;

function check32(wid, seq) {
  return (Math.imul(wid + 1, 0x9e3779b1) ^ Math.imul(seq + 7, 0x85ebca6b) ^ MAGIC) >>> 0;
}

/** Writes record (wid, seq) into a 16-byte view. */
function encode(dv, wid, seq) {
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, wid, true);
  dv.setUint32(8, seq, true);
  dv.setUint32(12, check32(wid, seq), true);
}

/** The (wid, seq) of a record as encode() wrote it, or null when it is malformed. */
function decode(rec, workers) {
  if (!(rec instanceof Uint8Array) || rec.byteLength !== RECORD_SIZE) return null;
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const wid = dv.getUint32(4, true);
  const seq = dv.getUint32(8, true);
  if (dv.getUint32(0, true) !== MAGIC || wid >= workers || seq >= MAX_SEQ || dv.getUint32(12, true) !== check32(wid, seq)) return null;
  return { wid, seq };
}

const { prng } = require('./prng.cjs');

module.exports = { I, I_STRIDE, F, F_STRIDE, PHASES, READY, OPS, OP, RECORD_SIZE, MAX_SEQ, encode, decode, prng };

if (!isMainThread && workerData && workerData.faultWorker === true) run();

function run() {
  const { wid, workers, mode } = workerData;
  const si = new Int32Array(workerData.stats32, wid * I_STRIDE * 4, I_STRIDE);
  const sf = new Float64Array(workerData.stats64, wid * F_STRIDE * 8, F_STRIDE);
  const phase = (name) => {
    const k = PHASES.indexOf(name);
    sf[F.phaseAt + k] = performance.timeOrigin + performance.now();
    Atomics.store(si, I.phase, k);
    Atomics.notify(si, I.phase); // the main thread may wait for this phase to terminate the worker inside it
  };
  phase('require');
  const { PerCpuCounter, PerCpuBuffer, PerCpuPool, rseq } = require(workerData.entry);
  // The first call that needs this thread's backend (loading the addon, registering the thread).
  phase('counter.from');
  // Every add path on the one buffer: the default, and 'atomics' and 'rseq'.
  const counters = [PerCpuCounter.from(workerData.counter), PerCpuCounter.from(workerData.counter, { path: 'atomics' }), PerCpuCounter.from(workerData.counter, { path: 'rseq' })];
  phase('buffer.from');
  const buffer = PerCpuBuffer.from(workerData.buffer);
  phase('pool.from');
  const pool = PerCpuPool.from(workerData.pool);
  const seen = new Uint8Array(workerData.seen);
  const owners = new Int32Array(workerData.owners);
  const rand = prng(workerData.seed);
  const rec = new Uint8Array(RECORD_SIZE);
  const dv = new DataView(rec.buffer);
  const held = [];

  // Each operation: mark it (and its argument) as in progress, call it, record
  // what it returned, then clear the mark. A worker that dies with op set died
  // inside that operation or before its result was recorded.
  const begin = (op, arg) => {
    Atomics.store(si, I.arg, arg);
    Atomics.store(si, I.op, op);
  };
  const end = () => Atomics.store(si, I.op, OP.none);

  const markSeen = (r) => {
    const id = decode(r, workers);
    if (id === null) {
      sf[F.bad]++;
      return;
    }
    if (Atomics.add(seen, id.wid * MAX_SEQ + id.seq, 1) !== 0) sf[F.dups]++;
  };

  const add = (amount) => {
    const c = counters[Math.floor(rand() * counters.length)];
    begin(OP.add, amount);
    c.add(amount);
    sf[F.added] += amount;
    end();
  };
  const reset = () => {
    begin(OP.reset, 0);
    const t = counters[0].reset();
    sf[F.taken] += Number(t);
    sf[F.resets]++;
    end();
  };
  const read = (r) => {
    const c = counters[0];
    if (r < 1 / 3) {
      begin(OP.value, 0);
      c.value();
    } else if (r < 2 / 3) {
      begin(OP.valueBigInt, 0);
      c.valueBigInt();
    } else {
      begin(OP.perCpu, 0);
      c.perCpu();
    }
    sf[F.reads]++;
    end();
  };
  const push = () => {
    const seq = sf[F.pushed];
    if (seq >= MAX_SEQ) return;
    encode(dv, wid, seq);
    begin(OP.push, seq);
    try {
      buffer.push(rec);
      sf[F.pushed] = seq + 1;
    } catch (err) {
      if (!err || err.code !== 'ERR_RSEQ_BUFFER_FULL') throw err;
      sf[F.full]++;
    }
    end();
  };
  const pop = () => {
    begin(OP.pop, 0);
    const r = buffer.pop();
    if (r !== null) {
      markSeen(r);
      sf[F.popped]++;
    }
    end();
  };
  const drain = () => {
    begin(OP.drain, 0);
    const all = buffer.drain();
    for (const r of all) markSeen(r);
    sf[F.drained] += all.length;
    sf[F.drains]++;
    end();
  };
  const size = () => {
    begin(OP.size, 0);
    buffer.size();
    sf[F.sizes]++;
    end();
  };
  // Owning an index is marked in `owners` (wid + 1): the main thread gives
  // back what a dead worker owned, and a second owner is a violation.
  const take = () => {
    begin(OP.take, 0);
    const i = pool.take();
    if (i === null) {
      sf[F.takeNull]++;
    } else {
      if (Atomics.compareExchange(owners, i, 0, wid + 1) !== 0) sf[F.violations]++;
      held.push(i);
      sf[F.takes]++;
    }
    end();
    return i;
  };
  const give = () => {
    const i = held.shift();
    begin(OP.give, i);
    Atomics.store(owners, i, 0);
    pool.give(i);
    sf[F.gives]++;
    end();
  };

  phase('ready');
  // The main thread starts the clock that ends this worker when it says 'ready':
  // in the tight loops, once it has been round its loop once.
  let saidReady = false;
  const looped = () => {
    if (saidReady) return;
    saidReady = true;
    parentPort.postMessage('ready');
  };
  if (mode === 'mixed') looped();

  if (mode === 'mixed') {
    // Every fourth worker is greedy: it takes until take() returns null (the
    // pool is then empty: that take scanned every list), then gives one back.
    // The others hold 8 to 15. Lists run empty, so takes steal.
    const hold = wid % 4 === 0 ? Infinity : 8 + (wid % 8);
    for (;;) {
      sf[F.ops]++;
      const r = rand();
      if (r < 0.16) add(1);
      else if (r < 0.2) add(65536);
      else if (r < 0.22) add(100003);
      else if (r < 0.25) reset();
      else if (r < 0.3) read((r - 0.25) / 0.05);
      else if (r < 0.52) push();
      else if (r < 0.59) pop();
      else if (r < 0.64) drain();
      else if (r < 0.66) size();
      else if (held.length >= hold || (held.length > 0 && r < 0.72)) give();
      else if (take() === null && held.length > 0) give();
    }
  } else if (mode === 'drain') {
    // drain() in a tight loop, over a stack that is never empty.
    for (;;) {
      sf[F.ops]++;
      push();
      push();
      drain();
      looped();
    }
  } else if (mode === 'steal') {
    // Take on one CPU what was given on another: every take after the first
    // round steals, and each round ends with a take that scans every list.
    const cpus = rseq.getAffinity();
    for (let k = 0; ; k++) {
      sf[F.ops]++;
      if (cpus.length > 1) {
        begin(OP.setAffinity, 0);
        rseq.setAffinity([cpus[k % 2 === 0 ? 0 : 1]]);
        end();
      }
      while (take() !== null);
      if (cpus.length > 1) {
        begin(OP.setAffinity, 1);
        rseq.setAffinity([cpus[k % 2 === 0 ? 1 : 0]]);
        end();
      }
      while (held.length > 0) give();
      looped();
    }
  } else if (mode === 'reset') {
    // reset() (the counter's writer) in a tight loop, with folding adds and readers.
    for (;;) {
      sf[F.ops]++;
      add(65536);
      add(1);
      reset();
      read(rand());
      looped();
    }
  } else {
    throw new Error(`fault-worker: unknown mode ${mode}`);
  }
}
