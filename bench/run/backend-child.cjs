'use strict';
// One sample of each per-CPU operation on the backend RSEQ_BACKEND selects
// (section 8 of bench/run.cjs, backends.cjs, starts this alternately with
// RSEQ_BACKEND=native and RSEQ_BACKEND=simulator). Prints one JSON line:
//   { backend, fallbackReason, results: { [id]: { label, iterations, nsPerOp } } }
//   node bench/run/backend-child.cjs <dist entry> <targetMs>
const { runAlternating } = require('../lib/micro.cjs');

const [entry, targetArg] = process.argv.slice(2);
const targetMs = Number(targetArg) || 30;
const pkg = require(entry);
const { rseq, PerCpuCounter, PerCpuBuffer, PerCpuPool } = pkg;

const ctx = {
  rseq,
  view: rseq.area(),
  atomics: new PerCpuCounter({ path: 'atomics' }),
  rseqPath: new PerCpuCounter({ path: 'rseq' }),
  buffer: new PerCpuBuffer({ recordSize: 16, capacity: 64 }),
  pool: new PerCpuPool({ size: 64 }),
  record: new Uint8Array(16).fill(7),
  sink: 0,
};

const OPS = [
  { id: 'area-view', label: 'view.cpuId', setup: 'const v = ctx.view;', body: 'sink += v.cpuId;' },
  { id: 'cpuId-call', label: 'rseq.cpuId()', setup: 'const r = ctx.rseq;', body: 'sink += r.cpuId();' },
  { id: 'counter-atomics', label: "PerCpuCounter.add, 'atomics'", setup: 'const c = ctx.atomics;', body: 'c.add();' },
  { id: 'counter-rseq', label: "PerCpuCounter.add, 'rseq'", setup: 'const c = ctx.rseqPath;', body: 'c.add();' },
  { id: 'buffer-push-pop', label: 'PerCpuBuffer push + pop', setup: 'const b = ctx.buffer; const rec = ctx.record;', body: 'b.push(rec); if (b.pop() !== null) sink++;' },
  { id: 'pool-take-give', label: 'PerCpuPool take + give', setup: 'const p = ctx.pool;', body: 'const k = p.take(); if (k !== null) { p.give(k); sink++; }' },
];

const results = runAlternating(OPS, ctx, { rounds: 1, targetMs, warmups: 1 });
const counts = rseq.opCounts();
process.stdout.write(`${JSON.stringify({ backend: rseq.backend, fallbackReason: rseq.fallbackReason, opCounts: counts, results })}\n`);
