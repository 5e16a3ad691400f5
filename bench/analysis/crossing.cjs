#!/usr/bin/env node
'use strict';
// What one crossing into the addon costs on one thread, beside what it buys
// (alternating rounds, medians). Analysis for the bench README: the floor
// under the structures' one-thread targets and path 'rseq'; nothing here is
// used by the package.
//
//   node bench/analysis/crossing.cjs [--rounds N] [--ms N] [--wait-quiet]
//
//   benchCall()              an N-API call that does nothing (development addon)
//   benchCallData()          the same, reading its data pointer, as every
//                            bound-region operation does
//   benchCallInt()           benchCallData() returning a number (what take()
//                            saves by leaving its index in the region's args)
//   region.add()             the counter's bound region, one add section, args[0] set by JS
//   counter.add(1)           PerCpuCounter.add, path 'rseq' (the region call and its checks)
//   region push + pop        the buffer's bound region, a 16-byte record each way, no JS copy
//   region take + give       the pool's bound region
//   Atomics.add Int32        fixed index (path 'rseq''s target's reference)
//   16-byte record, bytes    a record copied in and out byte by byte (JS)
//   16-byte record, words    the same through Int32 words, as PerCpuBuffer copies a small record
//   16-byte record in        the words loop alone, as push() copies a record in
//   new Uint8Array(16)       a new record, empty (the lock stack's slice() makes one too)
//   new Uint8Array(record)   a new record copied from the region's, as pop() makes the one it returns
//   PerCpuBuffer push + pop  and the lock stack's, and PerCpuPool take + give and the lock free
//   ...                      list's (bench/lib/lockstack.cjs, lockpool.cjs): the one-thread targets
//   thread cache take + give what a pool with a thread-private cache of free
//                            indices would cost (no crossing; a sketch, not in
//                            the package). give checks the index,
//                            compare-exchanges its word from taken to cached
//                            and pushes it on a JS array; take pops the array
//                            and marks the index taken:
//     owner only             with a plain store. Nobody else may take a cached
//                            index, so a terminated worker strands its cache
//     revocable              with a compare-exchange from cached, so another
//                            thread may take cached indices back (from a dead
//                            worker, or when the lists are empty); on Int32
//                            state words, and on BigInt64 words like the
//                            pool's next[] (2^50 taken, 2^50 + 1 cached)
//
// After the table, the floor of each one-thread target from this run's rows:
// what PerCpuBuffer push + pop and PerCpuPool take + give cannot go below
// through N-API, against half of the lock contender's time (the 2x target).
const { runAlternating } = require('../lib/micro.cjs');
const { fmt, table } = require('../lib/stats.cjs');
const { analysisSetup } = require('../lib/analysis.cjs');
const contenders = require('../lib/contenders.cjs');
const { LockedStack } = require('../lib/lockstack.cjs');
const { LockedPool } = require('../lib/lockpool.cjs');

const { pkg, addonPath, rounds, ms } = analysisSetup('crossing', { rounds: 9, ms: 40 });
const { PerCpuCounter, PerCpuBuffer, PerCpuPool } = pkg;
const addon = require(addonPath);

const counter = new PerCpuCounter({ path: 'rseq' });
const buffer = new PerCpuBuffer({ recordSize: 16, capacity: 64 });
const pool = new PerCpuPool({ size: 64 });
// Each structure binds its region on first use.
counter.add(1);
buffer.push(new Uint8Array(16));
buffer.pop();
pool.give(pool.take());

const ctx = {
  call: addon.benchCall,
  callData: addon.benchCallData,
  callInt: addon.benchCallInt,
  buffers: { percpu: buffer, locked: LockedStack.create(16, 64) },
  pools: { percpu: pool, locked: LockedPool.create(64) },
  counter,
  counterRegion: counter.region,
  bufferRegion: buffer.region,
  poolRegion: pool.region,
  i32: new Int32Array(new SharedArrayBuffer(64)),
  record: new Uint8Array(16).fill(0xa5),
  out: new Uint8Array(16),
  staging: new Uint8Array(new ArrayBuffer(16)),
  staging32: null,
  // The thread cache sketch: one state word per index (1 taken, 2 cached), the cache a JS array.
  cache: { state: new Int32Array(new SharedArrayBuffer(4 * 64)).fill(2), held: Array.from({ length: 64 }, (_, i) => i) },
  cache64: { state: new BigInt64Array(new SharedArrayBuffer(8 * 64)).fill(2n ** 50n + 1n), held: Array.from({ length: 64 }, (_, i) => i), taken: 2n ** 50n, cached: 2n ** 50n + 1n },
  sink: 0,
};
ctx.staging32 = new Int32Array(ctx.staging.buffer);

// PerCpuBuffer's copies of a 16-byte record through Int32 words (src/percpu/buffer.ts).
const COPY_IN = 'for (let j = 0, k = 0; j < 4; j++, k += 4) w[j] = s[k] | (s[k + 1] << 8) | (s[k + 2] << 16) | (s[k + 3] << 24);';
const COPY_OUT = 'for (let j = 0, k = 0; j < 4; j++, k += 4) { const v = w[j]; o[k] = v; o[k + 1] = v >> 8; o[k + 2] = v >> 16; o[k + 3] = v >> 24; }';

// The thread cache sketch's give (state words: 1 taken, 2 cached).
const CACHE_GIVE = "if (!(i >= 0 && i < 64 && Number.isInteger(i)) || Atomics.compareExchange(st, i, 1, 2) !== 1) throw new Error('cache: not taken'); held.push(i);";

const list = [
  { id: 'call', label: 'benchCall()', setup: 'const f = ctx.call;', body: 'f();' },
  { id: 'call-data', label: 'benchCallData()', setup: 'const f = ctx.callData;', body: 'f();' },
  { id: 'call-int', label: 'benchCallInt()', setup: 'const f = ctx.callInt;', body: 'sink += f();' },
  { id: 'region-add', label: 'region.add()', setup: 'const r = ctx.counterRegion; const a = r.args; a[0] = 1;', body: 'if (r.add() !== undefined) sink++;' },
  { id: 'counter-add', label: "counter.add(1), path 'rseq'", setup: 'const c = ctx.counter;', body: 'c.add(1);' },
  { id: 'push-pop', label: 'region push + pop', setup: 'const r = ctx.bufferRegion;', body: 'if (r.push() === undefined && r.pop() === undefined) sink++;' },
  { id: 'take-give', label: 'region take + give', setup: 'const r = ctx.poolRegion; const a = r.args;', body: 'if (r.take() === undefined && r.give() === undefined) sink++;' },
  { id: 'i32', label: 'Atomics.add Int32 (fixed index)', setup: 'const a = ctx.i32;', body: 'Atomics.add(a, 0, 1);' },
  {
    id: 'copy-bytes',
    label: '16-byte record in and out, bytes',
    setup: 'const s = ctx.record, d = ctx.staging, o = ctx.out;',
    body: 'for (let k = 0; k < 16; k++) d[k] = s[k]; for (let k = 0; k < 16; k++) o[k] = d[k];',
  },
  { id: 'copy-words', label: '16-byte record in and out, Int32 words', setup: 'const s = ctx.record, w = ctx.staging32, o = ctx.out;', body: `${COPY_IN} ${COPY_OUT}` },
  { id: 'copy-in', label: '16-byte record in, Int32 words (push)', setup: 'const s = ctx.record, w = ctx.staging32;', body: `${COPY_IN} sink += w[1];` },
  { id: 'alloc16', label: 'new Uint8Array(16)', setup: '', body: 'sink += new Uint8Array(16).length;' },
  { id: 'copy-of', label: 'new Uint8Array(record) (pop)', setup: 'const d = ctx.staging;', body: 'sink += new Uint8Array(d)[1];' },
  {
    id: 'cache-owner',
    label: 'thread cache take + give, owner only (sketch)',
    setup: 'const st = ctx.cache.state, held = ctx.cache.held;',
    body: `const i = held.pop(); st[i] = 1; ${CACHE_GIVE}`,
  },
  {
    id: 'cache-revocable',
    label: 'thread cache take + give, revocable (sketch)',
    setup: 'const st = ctx.cache.state, held = ctx.cache.held;',
    body: `const i = held.pop(); if (Atomics.compareExchange(st, i, 2, 1) !== 2) throw new Error('cache: revoked'); ${CACHE_GIVE}`,
  },
  {
    id: 'cache-revocable-64',
    label: 'thread cache take + give, revocable, BigInt64 (sketch)',
    setup: 'const { state: st, held, taken: T, cached: C } = ctx.cache64;',
    body:
      "const i = held.pop(); if (Atomics.compareExchange(st, i, C, T) !== C) throw new Error('cache: revoked'); " +
      "if (!(i >= 0 && i < 64 && Number.isInteger(i)) || Atomics.compareExchange(st, i, T, C) !== T) throw new Error('cache: not taken'); held.push(i);",
  },
  // The one-thread contenders of bench/run.cjs sections 5 and 6, as they are there.
  ...contenders.BUFFER,
  ...contenders.POOL,
];

const res = runAlternating(list, ctx, { rounds, targetMs: ms });
const base = res.call.nsPerOp.median;
const i32 = res.i32.nsPerOp.median;
console.log(
  table(
    ['contender', 'ns median', 'min', 'max', 'x benchCall()', 'x Atomics.add Int32'],
    list.map((c) => {
      const s = res[c.id].nsPerOp;
      return [c.label, fmt(s.median), fmt(s.min), fmt(s.max), fmt(s.median / base), fmt(s.median / i32)];
    }),
  ),
);
// Two crossings that each read their data pointer are the least either
// operation pair can cost through N-API; a push + pop also copies the record
// in and makes the record pop() returns.
const m = (id) => res[id].nsPerOp.median;
const floors = [
  ['PerCpuBuffer push + pop', 2 * m('call-data') + m('copy-in') + m('copy-of'), '2 x benchCallData + record in (words) + new Uint8Array(record)', m('percpu-buffer'), m('lock-stack')],
  ['PerCpuPool take + give', 2 * m('call-data'), '2 x benchCallData', m('percpu-pool'), m('lock-pool')],
];
console.log('');
// Under RSEQ_FFI=1 (Node 26) the structures cross through node:ffi, and the
// N-API floor is not theirs: the region rows above are what their calls cost.
if (pool.region.crossing !== 'napi') console.log(`the structures cross through ${pool.region.crossing}: the floors below are N-API's, for comparison`);
console.log(
  table(
    ['one thread', 'floor ns', 'floor made of', 'now ns', 'lock ns', 'lock / 2 (the 2x target)', 'floor under the target'],
    floors.map(([name, floor, made, now, lock]) => [name, fmt(floor), made, fmt(now), fmt(lock), fmt(lock / 2), floor > lock / 2 ? 'above: 2x cannot be met through N-API' : 'below']),
  ),
);
if (counter.value() < 1n) throw new Error('crossing: the counter lost its adds');
