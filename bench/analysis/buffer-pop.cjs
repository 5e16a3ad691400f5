#!/usr/bin/env node
'use strict';
// Where PerCpuBuffer's push + pop time goes on one thread, and what a pop
// into a reused off-heap scratch record would save (alternating rounds,
// medians). Analysis for the bench README; nothing here is used by the package.
//
//   node bench/analysis/buffer-pop.cjs [--rounds N] [--ms N] [--wait-quiet]
//
//   push + pop                PerCpuBuffer as shipped: pop() copies into a
//                             new Uint8Array(recordSize), a small on-heap array
//                             that N-API's napi_get_typedarray_info must move
//                             off the heap (malloc + a BackingStore) every pop
//   push + pop (scratch)      a subclass whose pop() copies into one reused
//                             Uint8Array over its own ArrayBuffer (off-heap
//                             from the start) and returns scratch.slice()
//   lock stack push + pop     bench/lib/lockstack.cjs
const path = require('node:path');
const { runAlternating } = require('../lib/micro.cjs');
const { fmt, table } = require('../lib/stats.cjs');
const { waitQuiet } = require('../lib/machine.cjs');
const { LockedStack } = require('../lib/lockstack.cjs');

const ROOT = path.resolve(__dirname, '..', '..');
const { rseq, PerCpuBuffer } = require(path.join(ROOT, 'dist', 'cjs', 'src', 'index.js'));
if (rseq.backend !== 'native') throw new Error(`buffer-pop: needs the native backend (${rseq.fallbackReason})`);
if (process.argv.includes('--wait-quiet')) console.log(JSON.stringify(waitQuiet(1800)));
const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const rounds = arg('--rounds', 7);
const ms = arg('--ms', 40);

const LOCKED = 2 ** 52;
class ScratchPop extends PerCpuBuffer {
  constructor(options) {
    super(options);
    this.scratch = new Uint8Array(new ArrayBuffer(this.recordSize));
  }
  pop() {
    for (;;) {
      const id = this.id();
      const count = this.slotWord(id);
      const e = this.load(count);
      if (e >= LOCKED) continue;
      if (e === 0) return null;
      const src = (count + 1) * 8 + (e - 1) * this.recordSize;
      if (this.backend.copyCommit(this.mode, id, this.words, count, e, this.scratch, 0, this.bytes, src, this.recordSize, e - 1, false) === 0) {
        return this.scratch.slice();
      }
    }
  }
}

const ctx = {
  shipped: new PerCpuBuffer({ recordSize: 16, capacity: 256 }),
  scratch: new ScratchPop({ recordSize: 16, capacity: 256 }),
  locked: LockedStack.create(16, 256),
  rec: new Uint8Array(16).fill(7),
};
const list = [
  { id: 'shipped', label: 'PerCpuBuffer push + pop', setup: 'const b = ctx.shipped; const r = ctx.rec;', body: 'b.push(r); if (b.pop() !== null) sink++;' },
  { id: 'scratch', label: 'push + pop into a reused scratch record', setup: 'const b = ctx.scratch; const r = ctx.rec;', body: 'b.push(r); if (b.pop() !== null) sink++;' },
  { id: 'locked', label: 'lock stack push + pop', setup: 'const b = ctx.locked; const r = ctx.rec;', body: 'b.push(r); if (b.pop() !== null) sink++;' },
];
const r = runAlternating(list, ctx, { rounds, targetMs: ms });
console.log(`ns per iteration, median of ${rounds} rounds (min-max)`);
console.log(table(['operation', 'ns', 'min', 'max'], list.map((c) => [c.label, fmt(r[c.id].nsPerOp.median), fmt(r[c.id].nsPerOp.min), fmt(r[c.id].nsPerOp.max)])));
