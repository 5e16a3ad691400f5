'use strict';
// test/native/ffi.test.ts runs this under Node 26 (and older releases) with
// and without RSEQ_FFI=1; it prints one JSON line.
//
//   node ffi-child.cjs ENTRY ADDON MODE
//
// MODE:
//   transcript  the structures on one CPU, every result and error in order
//               (the same through node:ffi as through N-API)
//   workers     4 workers on a counter (path 'rseq'), a buffer and a pool: exact
//               totals, no record or index lost or handed out twice
//   forged      the addon's rseq_ffi_* functions called with handles that are
//               not the caller's (needs --expose-gc): statuses, no writes
//   full        more regions than the addon's table holds (4096): the rest
//               stay on N-API, and slots come back when regions are collected
//               (needs --expose-gc)
//   fallback    what a counter's region crosses with, and the package's
//               warnings (2 workers too: the warning comes once per process)
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');

const warnings = [];
process.on('warning', (w) => {
  if (w.code === 'RSEQ_FFI_UNAVAILABLE') warnings.push({ code: w.code, message: w.message });
});

const [entry, addon, mode] = isMainThread ? process.argv.slice(2) : [workerData.entry, workerData.addon, workerData.mode];
const pkg = require(entry);
const { rseq, PerCpuCounter, PerCpuBuffer, PerCpuPool } = pkg;

const REGION_BAD_HANDLE = 9;
const SLOTS = 4096;

/** The addon's functions through node:ffi, as src/native/ffi.ts binds them. */
function ffiCalls() {
  const ffi = require('node:ffi');
  const sig = { arguments: ['f64'], return: 'i32' };
  const names = ['add', 'push', 'pop', 'take', 'give', 'valid'];
  const { functions } = ffi.dlopen(addon, Object.fromEntries(names.map((n) => [`rseq_ffi_${n}`, sig])));
  return Object.fromEntries(names.map((n) => [n, functions[`rseq_ffi_${n}`]]));
}

/** Every rseq_ffi_* function on handle h, as one object. */
function allCalls(f, h) {
  return { valid: f.valid(h), add: f.add(h), push: f.push(h), pop: f.pop(h), take: f.take(h), give: f.give(h) };
}
const REFUSED = { valid: 0, add: REGION_BAD_HANDLE, push: REGION_BAD_HANDLE, pop: REGION_BAD_HANDLE, take: -REGION_BAD_HANDLE, give: REGION_BAD_HANDLE };

function step(t, name, fn) {
  let r;
  try {
    r = fn();
    if (r instanceof Uint8Array) r = Array.from(r);
    if (typeof r === 'bigint') r = `${r}n`;
  } catch (e) {
    r = { error: e.code ?? e.name };
  }
  t.push([name, r === undefined ? null : r]);
}

function transcript() {
  const cpu = rseq.getAffinity()[0];
  rseq.setAffinity([cpu]);
  const t = [];
  const c = new PerCpuCounter({ path: 'rseq' });
  // int32 amounts (the fast path), a word past its guard (REGION_OVERFLOW: the base), bigints, bad amounts
  for (const n of [1, 7, -3, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, 2 ** 44 - 5, 2n ** 50n, -5n]) step(t, `counter.add(${n})`, () => (c.add(n), c.valueBigInt()));
  step(t, 'counter.add(0.5)', () => c.add(0.5));
  step(t, "counter.add('1')", () => c.add('1'));
  step(t, '100000 x counter.add()', () => {
    for (let i = 0; i < 100000; i++) c.add();
    return c.valueBigInt();
  });
  step(t, 'counter.perCpu()[cpu]', () => c.perCpu()[cpu]);
  step(t, 'counter.reset()', () => c.reset());
  step(t, 'counter.value()', () => c.value());

  const b = new PerCpuBuffer({ recordSize: 16, capacity: 4 });
  const rec = (k) => new Uint8Array(16).map((_, i) => k * 16 + i);
  for (let k = 0; k < 5; k++) step(t, `buffer.push(${k})`, () => b.push(rec(k)));
  step(t, 'buffer.size()', () => b.size());
  step(t, 'buffer.push(15 bytes)', () => b.push(new Uint8Array(15)));
  const into = new Uint8Array(16);
  step(t, 'buffer.pop(into)', () => b.pop(into));
  for (let k = 0; k < 4; k++) step(t, 'buffer.pop()', () => b.pop());
  step(t, 'buffer.pushMany(3)', () => b.pushMany(new Uint8Array(48).map((_, i) => 100 + i)));
  const three = new Uint8Array(32);
  step(t, 'buffer.popMany(2)', () => [b.popMany(three), Array.from(three)]);
  step(t, 'buffer.drain()', () => b.drain().map((r) => Array.from(r)));

  const big = new PerCpuBuffer({ recordSize: 100, capacity: 2 });
  for (let k = 0; k < 3; k++) step(t, `big.push(${k})`, () => big.push(new Uint8Array(100).fill(k + 1)));
  for (let k = 0; k < 3; k++) step(t, 'big.pop()', () => big.pop());

  const p = new PerCpuPool({ size: 8 });
  const held = [];
  for (let k = 0; k < 9; k++) step(t, 'pool.take()', () => {
    const i = p.take();
    if (i !== null) held.push(i);
    return i;
  });
  step(t, 'pool.give(3)', () => p.give(3));
  step(t, 'pool.give(3) again', () => p.give(3));
  step(t, 'pool.give(8)', () => p.give(8));
  step(t, 'pool.give(1.5)', () => p.give(1.5));
  step(t, 'pool.take()', () => p.take());
  for (const i of held) step(t, `pool.give(${i})`, () => p.give(i));
  for (let k = 0; k < 3; k++) step(t, 'pool.take()', () => p.take());

  return { crossing: { counter: c.region.crossing, buffer: b.region.crossing, big: big.region.crossing, pool: p.region.crossing }, transcript: t };
}

const ADDS = 100000;
const ROUNDS = 20000;

function workerBody() {
  const d = workerData;
  const c = PerCpuCounter.from(d.counter, { path: 'rseq' });
  for (let i = 0; i < ADDS; i++) c.add();
  for (let i = 0; i < 1000; i++) c.add(3);
  const b = PerCpuBuffer.from(d.buffer);
  const popped = [];
  let notPushed = 0;
  const r = new Uint8Array(16);
  const v = new DataView(r.buffer);
  for (let s = 0; s < ROUNDS; s++) {
    v.setUint32(0, d.id);
    v.setUint32(4, s);
    try {
      b.push(r);
    } catch (e) {
      if (e.code !== 'ERR_RSEQ_BUFFER_FULL') throw e;
      notPushed++;
    }
    const got = b.pop();
    if (got !== null) popped.push(`${new DataView(got.buffer).getUint32(0)}:${new DataView(got.buffer).getUint32(4)}`);
  }
  const p = PerCpuPool.from(d.pool);
  const owners = new Int32Array(d.owners);
  let twice = 0;
  let taken = 0;
  for (let s = 0; s < ROUNDS; s++) {
    const i = p.take();
    if (i === null) continue;
    taken++;
    if (Atomics.compareExchange(owners, i, 0, d.id + 1) !== 0) twice++;
    Atomics.store(owners, i, 0);
    p.give(i);
  }
  // Ownership: an index given back cannot be given again.
  let notTaken = null;
  const i = p.take();
  p.give(i);
  try {
    p.give(i);
  } catch (e) {
    notTaken = e.code;
  }
  return { crossing: [c.region.crossing, b.region.crossing, p.region.crossing], popped, notPushed, twice, taken, notTaken };
}

function runWorkers(n, data) {
  return Promise.all(
    Array.from({ length: n }, (_, id) => {
      const w = new Worker(__filename, { workerData: { entry, addon, mode, id, ...data } });
      return new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
    }),
  );
}

async function workers() {
  const c = new PerCpuCounter({ path: 'rseq' });
  const b = new PerCpuBuffer({ recordSize: 16, capacity: 1024 });
  const p = new PerCpuPool({ size: 64 });
  const owners = new SharedArrayBuffer(64 * 4);
  const reports = await runWorkers(4, { counter: c.buffer, buffer: b.buffer, pool: p.buffer, owners });
  const popped = reports.flatMap((r) => r.popped);
  const left = b.drain().map((r) => `${new DataView(r.buffer, r.byteOffset).getUint32(0)}:${new DataView(r.buffer, r.byteOffset).getUint32(4)}`);
  const all = [...popped, ...left];
  const indices = [];
  for (let i = p.take(); i !== null; i = p.take()) indices.push(i);
  return {
    crossing: { main: [c.region.crossing, b.region.crossing, p.region.crossing], workers: reports.map((r) => r.crossing) },
    counter: { value: c.value(), expected: 4 * (ADDS + 3000) },
    buffer: { records: all.length, unique: new Set(all).size, expected: 4 * ROUNDS - reports.reduce((s, r) => s + r.notPushed, 0), notPushed: reports.map((r) => r.notPushed) },
    pool: { indices: indices.sort((x, y) => x - y), twice: reports.map((r) => r.twice), taken: reports.map((r) => r.taken), notTaken: reports.map((r) => r.notTaken) },
  };
}

function forgedWorker() {
  // This thread's own structure (and registration), then the main thread's handles.
  const own = new PerCpuCounter({ path: 'rseq' });
  const handles = new Float64Array(workerData.handles);
  handles[3] = own.region.handle;
  const f = ffiCalls();
  own.region.args[0] = 1;
  return {
    ownCrossing: own.region.crossing,
    own: f.add(own.region.handle),
    ownValue: own.value(),
    mainCounter: allCalls(f, handles[0]),
    mainBuffer: allCalls(f, handles[1]),
    mainPool: allCalls(f, handles[2]),
  };
}

async function forged() {
  const f = ffiCalls();
  const c = new PerCpuCounter({ path: 'rseq' });
  const b = new PerCpuBuffer({ recordSize: 16, capacity: 4 });
  const p = new PerCpuPool({ size: 8 });
  const h = c.region.handle;
  const out = { crossing: [c.region.crossing, b.region.crossing, p.region.crossing], handles: [h, b.region.handle, p.region.handle] };
  c.region.args[0] = 1;
  out.direct = f.add(h); // the caller's own handle: committed
  out.forged = {};
  const list = {
    'next generation': h + SLOTS,
    'previous generation': h - SLOTS,
    'generation 0': h % SLOTS,
    'not an integer': h + 0.5,
    negative: -h,
    '-1': -1,
    0: 0,
    '2^53': 2 ** 53,
    '1e300': 1e300,
    Infinity: Infinity,
    '-Infinity': -Infinity,
    NaN: NaN,
  };
  for (const [name, x] of Object.entries(list)) out.forged[name] = allCalls(f, x);
  // Another kind's operation on a live handle of this thread.
  out.kinds = { pushCounter: f.push(h), popPool: f.pop(p.region.handle), takeBuffer: f.take(b.region.handle), addPool: f.add(p.region.handle), giveBuffer: f.give(b.region.handle) };
  // Handles through a SharedArrayBuffer: the main thread's in a worker, and the worker's here.
  const shared = new Float64Array(new SharedArrayBuffer(32));
  shared.set([h, b.region.handle, p.region.handle]);
  out.worker = await new Promise((resolve, reject) => {
    const w = new Worker(__filename, { workerData: { entry, addon, mode: 'forged-worker', handles: shared.buffer } });
    w.once('message', resolve);
    w.once('error', reject);
  });
  out.workerHandleHere = allCalls(f, shared[3]);
  // A region that was collected: its handle is refused once its finalizers ran.
  let gone = (() => new PerCpuCounter({ path: 'rseq' }).region.handle)();
  out.collected = { before: f.valid(gone) };
  for (let k = 0; k < 100 && f.valid(gone) === 1; k++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  out.collected.after = allCalls(f, gone);
  // Nothing above wrote to the main thread's structures but the one direct add.
  out.value = c.value();
  out.bufferSize = b.size();
  const idx = [];
  for (let i = p.take(); i !== null; i = p.take()) idx.push(i);
  out.poolIndices = idx.length;
  return out;
}

async function full() {
  let counters = Array.from({ length: SLOTS + 4 }, () => new PerCpuCounter({ path: 'rseq' }));
  for (const c of counters) c.add(2);
  const out = {
    ffi: counters.filter((c) => c.region.crossing === 'ffi').length,
    napi: counters.filter((c) => c.region.crossing === 'napi').length,
    exact: counters.every((c) => c.value() === 2),
  };
  counters = null;
  // Collected regions give their slots back (their finalizers run after a GC).
  let again = null;
  for (let k = 0; k < 100; k++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
    again = new PerCpuCounter({ path: 'rseq' });
    if (again.region.crossing === 'ffi') break;
  }
  again.add(5);
  out.after = { crossing: again.region.crossing, value: again.value() };
  return out;
}

async function fallback() {
  const c = new PerCpuCounter({ path: 'rseq' });
  for (let i = 0; i < 1000; i++) c.add();
  const out = { node: process.version, crossing: c.region.crossing, value: c.value() };
  if (isMainThread && !process.argv.includes('--no-workers')) {
    const reports = await runWorkers(2, {});
    out.workers = reports.map((r) => r.crossing);
  }
  out.warnings = warnings;
  return out;
}

async function main() {
  if (!isMainThread) {
    const r = mode === 'workers' ? workerBody() : mode === 'forged-worker' ? forgedWorker() : await fallback();
    parentPort.postMessage(r);
    return;
  }
  const run = { transcript, workers, forged, full, fallback }[mode];
  if (!run) throw new Error(`ffi-child: unknown mode ${mode}`);
  const out = await run();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
