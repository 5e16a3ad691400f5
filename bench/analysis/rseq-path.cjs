#!/usr/bin/env node
'use strict';
// Where PerCpuCounter.add's time goes on path 'rseq': the N-API calls it is
// made of, from the cheapest call upwards (alternating rounds, medians).
// Analysis for the bench README; nothing here is used by the package.
//
//   node bench/analysis/rseq-path.cjs [--rounds N] [--ms N] [--wait-quiet]
//
//   binding.schedGetcpu()         a call with no arguments (Napi::CallbackInfo)
//   binding.currentId(0)          one Number argument, op_prepare, the area load
//   binding.opAdd(0, id, ...)     the add section: 5 arguments, one a BigInt64Array
//   binding.benchLoop(1 add)      one call that runs one add through percpu.h
//   counter.add()                 PerCpuCounter.add, path 'rseq' (id from the view + opAdd)
const { runAlternating } = require('../lib/micro.cjs');
const { fmt, table } = require('../lib/stats.cjs');
const { analysisSetup } = require('../lib/analysis.cjs');

const { pkg, addonPath, rounds, ms } = analysisSetup('rseq-path', { rounds: 7, ms: 40 });
const { rseq, PerCpuCounter } = pkg;
const binding = require(addonPath);

const counter = new PerCpuCounter({ path: 'rseq' });
const slots = Math.max(...rseq.possibleCpus()) + 1;
const ctx = { binding, counter, view: rseq.area(), words: new BigInt64Array(counter.buffer), nativeWords: new BigInt64Array(new SharedArrayBuffer(64 * (slots + 1))) };
const list = [
  { id: 'schedGetcpu', label: 'binding.schedGetcpu() (no arguments)', setup: 'const b = ctx.binding;', body: 'sink += b.schedGetcpu();' },
  { id: 'currentId', label: 'binding.currentId(0) (1 argument)', setup: 'const b = ctx.binding;', body: 'sink += b.currentId(0);' },
  {
    id: 'opAdd',
    label: 'binding.opAdd(0, id, words, i, 1) (5 arguments)',
    setup: 'const b = ctx.binding; const v = ctx.view; const w = ctx.words;',
    body: 'const id = v.cpuId; sink += b.opAdd(0, id, w, 8 + id * 8, 1);',
  },
  { id: 'benchLoop1', label: "binding.benchLoop('rseq-add', 1, words)", setup: 'const b = ctx.binding; const w = ctx.nativeWords;', body: "sink += b.benchLoop('rseq-add', 1, w);" },
  { id: 'counter', label: "counter.add() (path 'rseq')", setup: 'const c = ctx.counter;', body: 'c.add();' },
];
const r = runAlternating(list, ctx, { rounds, targetMs: ms });
console.log(`ns per call, median of ${rounds} rounds (min-max)`);
console.log(table(['call', 'ns', 'min', 'max'], list.map((c) => [c.label, fmt(r[c.id].nsPerOp.median), fmt(r[c.id].nsPerOp.min), fmt(r[c.id].nsPerOp.max)])));
if (process.argv.includes('--json')) console.log(JSON.stringify(r));
