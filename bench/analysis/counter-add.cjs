#!/usr/bin/env node
'use strict';
// Where PerCpuCounter.add's time goes on one thread, path 'atomics': the real
// add beside classes that do the same work with less around it, on lanes of
// the same kind (alternating rounds, medians). Analysis for the bench README;
// nothing here is used by the package.
//
//   node bench/analysis/counter-add.cjs [--rounds N] [--ms N] [--wait-quiet]
//
//   counter.add()            PerCpuCounter.add, path 'atomics' (as shipped)
//   counter.add(1)           the same with the amount passed
//   with other paths around  the same call while counters on path 'rseq' and
//                            in mode 'mmcid' also run add() (as in bench/run.cjs,
//                            where every kind of counter shares the code)
//   class, fields assigned   a class with the same checks over its own Int32
//                            lane (amount, path, id range, fold test), reading
//                            the id through the view's getter
//   class, fields declared   the same class with its fields declared in the
//                            class body ([[Define]] semantics, what TypeScript
//                            emits with useDefineForClassFields)
//   class, #fields           the same class with private #fields (always
//                            declared; what the counter used before it kept
//                            its hot fields as properties assigned once)
//   loop: view + Atomics     no class: the id load and the add in the loop
//   loop: Atomics, fixed     no class, no id: the lane of CPU 0
//   Atomics.add Int32        fixed index (the target's reference)
//   Atomics.add BigInt64     fixed index
const { runAlternating } = require('../lib/micro.cjs');
const { fmt, table } = require('../lib/stats.cjs');
const { analysisSetup } = require('../lib/analysis.cjs');

const { pkg, rounds, ms } = analysisSetup('counter-add', { rounds: 9, ms: 40 });
const { rseq, PerCpuCounter } = pkg;

const view = rseq.area();
const slots = Math.max(...rseq.possibleCpus()) + 1;
const lanes = () => new Int32Array(new SharedArrayBuffer(64 * (slots + 2)));

// The counter's fast path without the package around it, compiled three
// times (each class its own code and type feedback): fields assigned in the
// constructor, also declared in the class body, or private #fields (which are
// always declared, so always first defined as undefined).
function fastPathClass(kind) {
  const src = `"use strict";
  return class {
    ${kind === 'declared' ? 'path; mode; slots; view; i32;' : kind === 'private' ? '#path; #mode; #slots; #view; #i32;' : ''}
    constructor() {
      this.path = 'atomics';
      this.mode = 'cpu';
      this.slots = slots;
      this.view = view;
      this.i32 = lanes();
    }
    id() {
      const id = this.mode === 'cpu' ? this.view.cpuId : this.view.mmCid;
      if (id >= this.slots) throw new RangeError('id past the slots');
      return id;
    }
    add(n = 1) {
      if (this.path === 'atomics' && (n | 0) === n && n <= 65536 && n >= -65536) {
        const now = Atomics.add(this.i32, 20 + this.id() * 16, n) + n;
        if (now >= 2 ** 30 || now <= -(2 ** 30)) this.i32.fill(0);
        return;
      }
      throw new Error('not measured');
    }
  };`;
  return new Function('view', 'slots', 'lanes', kind === 'private' ? src.replace(/this\.(path|mode|slots|view|i32)\b/g, 'this.#$1') : src)(view, slots, lanes);
}
const Assigned = fastPathClass('assigned');
const Declared = fastPathClass('declared');
const Private = fastPathClass('private');

const mmcid = rseq.fields().mmCid;
const ctx = {
  counter: new PerCpuCounter({ path: 'atomics' }),
  mixed: new PerCpuCounter({ path: 'atomics' }),
  others: [new PerCpuCounter({ path: 'rseq' }), ...(mmcid ? [new PerCpuCounter({ path: 'atomics', mode: 'mmcid' })] : [])],
  assigned: new Assigned(),
  declared: new Declared(),
  private: new Private(),
  view,
  lane: lanes(),
  fixed: lanes(),
  i32: new Int32Array(64),
  b64: new BigInt64Array(64),
};
const list = [
  { id: 'add', label: 'counter.add()', setup: 'const c = ctx.counter;', body: 'c.add();' },
  { id: 'add1', label: 'counter.add(1)', setup: 'const c = ctx.counter;', body: 'c.add(1);' },
  { id: 'mixed', label: 'counter.add(), other paths around', setup: 'const c = ctx.mixed; const o = ctx.others;', body: 'c.add(); if ((i & 1023) === 0) for (const x of o) x.add();' },
  { id: 'assigned', label: 'class, fields assigned', setup: 'const c = ctx.assigned;', body: 'c.add();' },
  { id: 'declared', label: 'class, fields declared', setup: 'const c = ctx.declared;', body: 'c.add();' },
  { id: 'private', label: 'class, #fields', setup: 'const c = ctx.private;', body: 'c.add();' },
  { id: 'inline', label: 'loop: view.cpuId + Atomics.add', setup: 'const w = ctx.lane; const v = ctx.view;', body: 'if (Atomics.add(w, 20 + v.cpuId * 16, 1) > 1e9) w.fill(0);' },
  { id: 'fixed', label: 'loop: Atomics.add on a lane, fixed', setup: 'const w = ctx.fixed;', body: 'if (Atomics.add(w, 20, 1) > 1e9) w.fill(0);' },
  { id: 'i32', label: 'Atomics.add Int32 (fixed index)', setup: 'const a = ctx.i32;', body: 'Atomics.add(a, 16, 1);' },
  { id: 'b64', label: 'Atomics.add BigInt64 (fixed index)', setup: 'const b = ctx.b64;', body: 'Atomics.add(b, 8, 1n);' },
];
// The same adds on objects a loop holds in a closure's const, as a module's
// top-level `const counter = new PerCpuCounter()` is held: V8 may then treat
// the object as a constant and fold the loads of fields that never change
// after construction.
function heldLoop(obj) {
  return new Function('obj', `"use strict";
  const c = obj;
  return (ctx, n) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) c.add();
    return Number(process.hrtime.bigint() - t0);
  };`)(obj);
}
list.push(
  { id: 'held-counter', label: 'held in a const: counter.add()', loop: heldLoop(new PerCpuCounter({ path: 'atomics' })) },
  { id: 'held-assigned', label: 'held in a const: fields assigned', loop: heldLoop(new Assigned()) },
  { id: 'held-declared', label: 'held in a const: fields declared', loop: heldLoop(new Declared()) },
  { id: 'held-private', label: 'held in a const: #fields', loop: heldLoop(new Private()) },
);
const r = runAlternating(list, ctx, { rounds, targetMs: ms });
const b64 = r.b64.nsPerOp.samples;
const i32 = r.i32.nsPerOp.samples;
const ratio = (xs, ys) => {
  const q = xs.map((x, i) => x / ys[i]).sort((a, b) => a - b);
  return q[q.length >> 1];
};
console.log(`ns per add, median of ${rounds} rounds (min-max); Node ${process.version}`);
console.log(
  table(
    ['add', 'ns', 'min', 'max', 'x Int32', 'x BigInt64'],
    list.map((c) => [c.label, fmt(r[c.id].nsPerOp.median), fmt(r[c.id].nsPerOp.min), fmt(r[c.id].nsPerOp.max), fmt(ratio(r[c.id].nsPerOp.samples, i32)), fmt(ratio(r[c.id].nsPerOp.samples, b64))]),
  ),
);
if (process.argv.includes('--json')) console.log(JSON.stringify(r));
