#!/usr/bin/env node
'use strict';
// Where PerCpuCounter.add's time goes on one thread, path 'atomics': the real
// add beside prototypes that drop one piece at a time, on the same
// SharedArrayBuffer (alternating rounds, medians). Analysis for the bench
// README; nothing here is used by the package.
//
//   node bench/analysis/counter-add.cjs [--rounds N] [--ms N] [--wait-quiet]
//
//   counter.add()          PerCpuCounter.add, path 'atomics' (as shipped)
//   counter.add(1)         the same with the amount passed
//   fast path (subclass)   PerCpuCounter with add() overridden: add() with no
//                          amount on path 'atomics' goes straight to
//                          Atomics.add(words, HEADER + id() * stride, 1n), no
//                          amount check, no path test (a proposed change)
//   lean class, view       a class holding words + the area view: no amount
//                          check, no path test, id check kept
//   lean class, u32        the same reading the area's Uint32Array directly
//                          (no getter, no private field)
//   loop: u32 + Atomics    no class: the load and the add inline in the loop
//   Atomics.add BigInt64   fixed index (the target's reference)
//   Atomics.add Int32      fixed index
const { runAlternating } = require('../lib/micro.cjs');
const { fmt, table } = require('../lib/stats.cjs');
const { analysisSetup } = require('../lib/analysis.cjs');

const { pkg, addonPath, rounds, ms } = analysisSetup('counter-add', { rounds: 9, ms: 40 });
const { rseq, PerCpuCounter } = pkg;
const binding = require(addonPath);

const counter = new PerCpuCounter({ path: 'atomics' });
const words = new BigInt64Array(counter.buffer);
const area = binding.areaBuffer();
if (typeof area === 'string') throw new Error(`counter-add: ${area}`);
const u32 = new Uint32Array(area);
const view = rseq.area();
const slots = Math.max(...rseq.possibleCpus()) + 1;

class LeanView {
  #view;
  constructor() {
    this.words = words;
    this.slots = slots;
    this.#view = view;
  }
  add() {
    const id = this.#view.cpuId;
    if (id >= this.slots) throw new RangeError('id past the slots');
    Atomics.add(this.words, 8 + id * 8, 1n);
  }
}
class LeanU32 {
  constructor() {
    this.words = words;
    this.slots = slots;
    this.u32 = u32;
  }
  add() {
    const id = this.u32[1];
    if (id >= this.slots) throw new RangeError('id past the slots');
    Atomics.add(this.words, 8 + id * 8, 1n);
  }
}

// The proposed fast path, as a subclass (the real id(), words and stride).
class FastCounter extends PerCpuCounter {
  add(n) {
    if (n === undefined && this.path === 'atomics') {
      Atomics.add(this.words, 8 + this.id() * this.stride, 1n);
      return;
    }
    super.add(n);
  }
}
const fast = new FastCounter({ path: 'atomics' });

const ctx = { counter, fast, leanView: new LeanView(), leanU32: new LeanU32(), words, u32, i32: new Int32Array(64), b64: new BigInt64Array(64) };
const list = [
  { id: 'add', label: 'counter.add()', setup: 'const c = ctx.counter;', body: 'c.add();' },
  { id: 'add1', label: 'counter.add(1)', setup: 'const c = ctx.counter;', body: 'c.add(1);' },
  { id: 'fast', label: 'fast path (subclass), add()', setup: 'const c = ctx.fast;', body: 'c.add();' },
  { id: 'lean-view', label: 'lean class, view getter', setup: 'const c = ctx.leanView;', body: 'c.add();' },
  { id: 'lean-u32', label: 'lean class, Uint32Array', setup: 'const c = ctx.leanU32;', body: 'c.add();' },
  { id: 'inline', label: 'loop: u32 load + Atomics.add', setup: 'const w = ctx.words; const u = ctx.u32;', body: 'Atomics.add(w, 8 + u[1] * 8, 1n);' },
  { id: 'b64', label: 'Atomics.add BigInt64 (fixed index)', setup: 'const b = ctx.b64;', body: 'Atomics.add(b, 8, 1n);' },
  { id: 'i32', label: 'Atomics.add Int32 (fixed index)', setup: 'const a = ctx.i32;', body: 'Atomics.add(a, 16, 1);' },
];
const r = runAlternating(list, ctx, { rounds, targetMs: ms });
const b64 = r.b64.nsPerOp.samples;
const i32 = r.i32.nsPerOp.samples;
const ratio = (xs, ys) => {
  const q = xs.map((x, i) => x / ys[i]).sort((a, b) => a - b);
  return q[q.length >> 1];
};
console.log(`ns per add, median of ${rounds} rounds (min-max)`);
console.log(
  table(
    ['add', 'ns', 'min', 'max', 'x BigInt64', 'x Int32'],
    list.map((c) => [c.label, fmt(r[c.id].nsPerOp.median), fmt(r[c.id].nsPerOp.min), fmt(r[c.id].nsPerOp.max), fmt(ratio(r[c.id].nsPerOp.samples, b64)), fmt(ratio(r[c.id].nsPerOp.samples, i32))]),
  ),
);
if (process.argv.includes('--json')) console.log(JSON.stringify(r));
