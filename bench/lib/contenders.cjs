'use strict';
// The contenders of every JavaScript comparison, as { id, label, setup, body }
// for micro.cjs (setup reads what it needs from the thread's ctx, body is one
// operation). The same definitions run on the main thread and in the workers,
// whose ctx holds the same shared objects (see makeCtx).

const path = require('node:path');
const { LockedStack } = require('./lockstack.cjs');
const { LockedPool } = require('./lockpool.cjs');

/** 1. Reading the CPU id. */
const CPU_ID = [
  { id: 'area-view', label: 'view.cpuId (view = rseq.area())', setup: 'const v = ctx.view;', body: 'sink += v.cpuId;' },
  { id: 'area-call', label: 'rseq.area().cpuId', setup: 'const r = ctx.rseq;', body: 'sink += r.area().cpuId;' },
  { id: 'cpuId-call', label: 'rseq.cpuId() (native call)', setup: 'const r = ctx.rseq;', body: 'sink += r.cpuId();' },
  { id: 'schedGetcpu', label: 'rseq.schedGetcpu() (libc)', setup: 'const r = ctx.rseq;', body: 'sink += r.schedGetcpu();' },
  { id: 'int32-read', label: 'Int32Array element read (floor)', setup: 'const a = ctx.i32;', body: 'sink += a[1];' },
];

/**
 * A plain increment of a Float64Array / Int32Array element that only the
 * running thread writes: one padded line per thread (workers 0-7 by index,
 * the main thread line 8), in a SharedArrayBuffer like the counter's lanes.
 * What path 'lane' (one lane per thread, plain stores by its owner) is the
 * class-wrapped form of.
 */
const OWNED_F64 = { setup: 'const f = ctx.shared.plainF64; const k = ctx.ownSlot * 8;', body: 'f[k] = f[k] + 1;' };
const OWNED_I32 = { setup: 'const f = ctx.shared.plainI32; const k = ctx.ownSlot * 16;', body: 'f[k] = f[k] + 1;' };

/**
 * Counter contenders name the counter they add to (`counter`: a key of
 * ctx.counters); `available` drops those whose counter this build or kernel
 * does not have (path 'lane' before it exists, mode 'mmcid' without mm_cid).
 */
const counterAdd = (id, key, label) => ({ id, counter: key, label, setup: `const c = ctx.counters.${key};`, body: 'c.add();' });

/** 2. One thread: adding 1. */
const ADD = [
  counterAdd('counter-default', 'default', 'PerCpuCounter.add, default (new PerCpuCounter())'),
  counterAdd('counter-lane', 'lane', "PerCpuCounter.add, path 'lane'"),
  counterAdd('counter-atomics', 'atomics', "PerCpuCounter.add, path 'atomics'"),
  counterAdd('counter-rseq', 'rseq', "PerCpuCounter.add, path 'rseq'"),
  counterAdd('counter-atomics-mmcid', 'atomicsMmcid', "PerCpuCounter.add, 'atomics', mode 'mmcid'"),
  counterAdd('counter-rseq-mmcid', 'rseqMmcid', "PerCpuCounter.add, 'rseq', mode 'mmcid'"),
  { id: 'atomics-int32', label: 'Atomics.add(Int32Array)', setup: 'const a = ctx.i32;', body: 'Atomics.add(a, 16, 1);' },
  { id: 'atomics-bigint64', label: 'Atomics.add(BigInt64Array)', setup: 'const b = ctx.b64;', body: 'Atomics.add(b, 8, 1n);' },
  { id: 'owned-f64', label: 'f[k] = f[k] + 1, a Float64Array slot this thread owns', ...OWNED_F64 },
  { id: 'owned-i32', label: 'f[k] = f[k] + 1, an Int32Array slot this thread owns', ...OWNED_I32 },
  { id: 'plain-increment', label: 'sink += 1 (floor)', setup: '', body: 'sink += 1;' },
];

/** 3. Workers: one shared counter. */
const WORKERS = [
  counterAdd('counter-default', 'default', 'PerCpuCounter.add, default'),
  counterAdd('counter-lane', 'lane', "PerCpuCounter.add, 'lane'"),
  counterAdd('counter-atomics', 'atomics', "PerCpuCounter.add, 'atomics'"),
  counterAdd('counter-rseq', 'rseq', "PerCpuCounter.add, 'rseq'"),
  { id: 'shared-bigint64', label: 'one shared Atomics.add slot (BigInt64Array)', setup: 'const s = ctx.shared.b64;', body: 'Atomics.add(s, 0, 1n);' },
  { id: 'shared-int32', label: 'one shared Atomics.add slot (Int32Array)', setup: 'const s = ctx.shared.i32;', body: 'Atomics.add(s, 0, 1);' },
  {
    id: 'padded-slot',
    label: 'one padded slot per worker, BigInt64Array (ideal)',
    setup: 'const p = ctx.shared.padded; const k = ctx.workerIndex * 8;',
    body: 'Atomics.add(p, k, 1n);',
  },
  {
    id: 'padded-slot-int32',
    label: 'one padded slot per worker, Int32Array (ideal)',
    setup: 'const p = ctx.shared.padded32; const k = ctx.workerIndex * 16;',
    body: 'Atomics.add(p, k, 1);',
  },
  // The ideal of path 'lane': f[k] = f[k] + 1 on the worker's own line.
  { id: 'owned-f64', label: 'plain add per worker, padded Float64Array (ideal)', ...OWNED_F64 },
];
const PADDED_INT32 = WORKERS.find((c) => c.id === 'padded-slot-int32');

/**
 * Analysis only (bench/analysis/): the per-CPU add written bare in the loop,
 * on the same Int32 lanes as the counter's: what PerCpuCounter.add would cost
 * if its own checks and the method call were nothing. The counter's fold at
 * 2^30 keeps its lanes in range; this loop has none, so it starts a lane over.
 */
const LEAN_PERCPU = {
  id: 'lean-percpu',
  label: 'lean per-CPU add (no class)',
  setup: 'const w = new Int32Array(ctx.counters.atomics.buffer); const v = ctx.view;',
  body: 'if (Atomics.add(w, 20 + v.cpuId * 16, 1) >= 2 ** 30) Atomics.sub(w, 20 + v.cpuId * 16, 2 ** 30);',
};

/**
 * Analysis only: the padded slot per worker with one more load after each add,
 * of the CPU id or of a private Int32Array element. On x86 every Atomics.add
 * is a locked instruction, and a load after it waits for it to complete; these
 * two show that the wait, not the rseq area, is what the id read costs.
 */
const PADDED_PLUS = [
  {
    id: 'padded-plus-id',
    label: 'padded Int32 slot + view.cpuId read',
    setup: `${PADDED_INT32.setup} const v = ctx.view;`,
    body: `${PADDED_INT32.body} sink += v.cpuId;`,
  },
  {
    id: 'padded-plus-read',
    label: 'padded Int32 slot + private Int32Array read',
    setup: `${PADDED_INT32.setup} const q = new Int32Array(16).fill(1);`,
    body: `${PADDED_INT32.body} sink += q[1];`,
  },
];

/** 5. Buffers: one push and one pop. */
const BUFFER = [
  { id: 'percpu-buffer', label: 'PerCpuBuffer push + pop', setup: 'const b = ctx.buffers.percpu; const rec = ctx.record;', body: 'b.push(rec); if (b.pop() !== null) sink++;' },
  { id: 'lock-stack', label: 'SharedArrayBuffer stack + Atomics lock, push + pop', setup: 'const b = ctx.buffers.locked; const rec = ctx.record;', body: 'b.push(rec); if (b.pop() !== null) sink++;' },
];

/** 6. Pools: one take and one give. */
const POOL = [
  { id: 'percpu-pool', label: 'PerCpuPool take + give', setup: 'const p = ctx.pools.percpu;', body: 'const x = p.take(); if (x !== null) { p.give(x); sink++; }' },
  { id: 'lock-pool', label: 'SharedArrayBuffer free list + Atomics lock, take + give', setup: 'const p = ctx.pools.locked;', body: 'const x = p.take(); if (x !== null) { p.give(x); sink++; }' },
];

/**
 * 7. Latency of one push + pop (each timed; micro.cjs compileLatency), and
 * the two clock reads alone (the floor of every figure).
 */
const LATENCY = [
  ...BUFFER,
  { id: 'clock-only', label: 'the two hrtime.bigint() reads alone (floor)', setup: '', body: '' },
];

/** Contenders whose counter exists in this ctx (see counterAdd). */
function available(list, ctx) {
  return list.filter((c) => !c.counter || ctx.counters[c.counter]);
}

const RECORD_SIZE = 16;
const BUFFER_CAPACITY = 256;
const POOL_SIZE = 256;

/** The package's CommonJS entry (the built dist/). */
function distEntry(root) {
  return path.join(root, 'dist', 'cjs', 'src', 'index.js');
}

/**
 * The development addon (binding.gyp's rseq_dev target, made by `npm run
 * build:dev`, which `npm run bench` runs first): the shipped addon's sources
 * and flags plus benchLoop (bench/native/bench.cc). The shipped addon has no
 * benchLoop.
 */
function devAddonPath(root) {
  return path.join(root, 'build', 'Release', 'rseq_dev.node');
}

/** The addon the bench uses: RSEQ_ADDON when set (as in src/native/backend.ts), else the development addon. */
function addonPath(root) {
  const chosen = process.env.RSEQ_ADDON && process.env.RSEQ_ADDON.trim();
  return chosen ? path.resolve(chosen) : devAddonPath(root);
}

/**
 * Points RSEQ_ADDON at the bench's addon before the package is loaded, so
 * that the package, benchLoop, the workers and the child processes all use
 * one copy of the addon (one registration table, one set of per-thread
 * counts). Returns its path.
 */
function useBenchAddon(root) {
  const file = addonPath(root);
  process.env.RSEQ_ADDON = file;
  return file;
}

/**
 * Shared state made once in the main thread; `wire` is what goes to workers
 * (SharedArrayBuffers only).
 */
function makeShared(pkg, notes = []) {
  const { PerCpuCounter, PerCpuBuffer, PerCpuPool } = pkg;
  const hasMmcid = pkg.rseq.fields().mmCid;
  // Path 'lane' is new: without it (a TypeError for an unknown path), its contenders are skipped.
  let lane = null;
  try {
    lane = new PerCpuCounter({ path: 'lane' });
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    notes.push(`PerCpuCounter path 'lane' is not available (${e.message}): its contenders are skipped.`);
  }
  const counters = {
    default: new PerCpuCounter(),
    lane,
    atomics: new PerCpuCounter({ path: 'atomics' }),
    rseq: new PerCpuCounter({ path: 'rseq' }),
    atomicsMmcid: hasMmcid ? new PerCpuCounter({ path: 'atomics', mode: 'mmcid' }) : null,
    rseqMmcid: hasMmcid ? new PerCpuCounter({ path: 'rseq', mode: 'mmcid' }) : null,
  };
  const slots = Math.max(...pkg.rseq.possibleCpus()) + 1;
  const wire = {
    counters: Object.fromEntries(Object.entries(counters).map(([k, c]) => [k, c ? c.buffer : null])),
    sharedB64: new SharedArrayBuffer(64),
    sharedI32: new SharedArrayBuffer(64),
    padded: new SharedArrayBuffer(64 * 9),
    padded32: new SharedArrayBuffer(64 * 9),
    plainF64: new SharedArrayBuffer(64 * 9),
    plainI32: new SharedArrayBuffer(64 * 9),
    percpuPool: new PerCpuPool({ size: POOL_SIZE }).buffer,
    lockedPool: LockedPool.create(POOL_SIZE).buffer,
    percpuBuffer: new PerCpuBuffer({ recordSize: RECORD_SIZE, capacity: BUFFER_CAPACITY }).buffer,
    lockedStack: LockedStack.create(RECORD_SIZE, BUFFER_CAPACITY).buffer,
    // benchLoop's words: one line per possible CPU and one shared line.
    nativeWords: new SharedArrayBuffer(64 * (slots + 1)),
  };
  return wire;
}

/**
 * A thread's ctx over the shared state (main thread: workerIndex 0, ownSlot 8;
 * ownSlot is the line of the plain arrays only this thread writes).
 */
function makeCtx(pkg, wire, workerIndex, ownSlot = workerIndex) {
  const { rseq, PerCpuCounter, PerCpuBuffer, PerCpuPool } = pkg;
  const counter = (buf, path) => (buf ? PerCpuCounter.from(buf, { path }) : null);
  return {
    rseq,
    view: rseq.area(),
    i32: new Int32Array(64),
    b64: new BigInt64Array(64),
    counters: {
      // The default counter's handle takes the default path too.
      default: PerCpuCounter.from(wire.counters.default),
      lane: counter(wire.counters.lane, 'lane'),
      atomics: counter(wire.counters.atomics, 'atomics'),
      rseq: counter(wire.counters.rseq, 'rseq'),
      atomicsMmcid: counter(wire.counters.atomicsMmcid, 'atomics'),
      rseqMmcid: counter(wire.counters.rseqMmcid, 'rseq'),
    },
    shared: {
      b64: new BigInt64Array(wire.sharedB64),
      i32: new Int32Array(wire.sharedI32),
      padded: new BigInt64Array(wire.padded),
      padded32: new Int32Array(wire.padded32),
      plainF64: new Float64Array(wire.plainF64),
      plainI32: new Int32Array(wire.plainI32),
    },
    pools: {
      percpu: PerCpuPool.from(wire.percpuPool),
      locked: new LockedPool(wire.lockedPool, POOL_SIZE),
    },
    buffers: {
      percpu: PerCpuBuffer.from(wire.percpuBuffer),
      locked: new LockedStack(wire.lockedStack, RECORD_SIZE, BUFFER_CAPACITY),
    },
    record: new Uint8Array(RECORD_SIZE).fill(7),
    nativeWords: new BigInt64Array(wire.nativeWords),
    workerIndex,
    ownSlot,
    sink: 0,
  };
}

module.exports = { devAddonPath, useBenchAddon, CPU_ID, ADD, WORKERS, LEAN_PERCPU, PADDED_PLUS, BUFFER, POOL, LATENCY, RECORD_SIZE, BUFFER_CAPACITY, POOL_SIZE, available, distEntry, addonPath, makeShared, makeCtx };
