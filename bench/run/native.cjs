'use strict';
// Section 4 of bench/run.cjs (--only native): C loops inside one native call
// (benchLoop, bench/native/bench.cc), ns per add, so that no JavaScript or
// N-API cost is in the figure; then (4b) the same loops from 1, 2 and 4
// workers at once.
const { summary, fmt, paired, round4 } = require('../lib/stats.cjs');
const { nsRow } = require('./rows.cjs');

const KINDS = [
  { id: 'rseq-add', label: 'rseq add section via percpu.h (the addon\'s path)' },
  { id: 'rseq-add-inline', label: 'rseq add section inlined (arch header)' },
  { id: 'area-atomic', label: 'cpu_id from the area + atomic add' },
  { id: 'getcpu-atomic', label: 'sched_getcpu() + atomic add' },
  { id: 'vdso-getcpu-atomic', label: 'getcpu() (vDSO) + atomic add' },
  { id: 'shared-atomic', label: 'one shared atomic add' },
];
const THREAD_KINDS = ['rseq-add', 'rseq-add-inline', 'area-atomic', 'getcpu-atomic', 'shared-atomic'];

module.exports = function nativeSection({ report, results, ctx, config, rseq, binding }, pool) {
  report.heading('4. Inside one native call: C loops (benchLoop), ns per add');
  const words = ctx.nativeWords;
  const kinds = KINDS.filter((k) => {
    try {
      binding.benchLoop(k.id, 1000, words);
      return true;
    } catch (e) {
      results.notes.push(`benchLoop ${k.id}: ${e.message}`);
      return false;
    }
  });
  // Iterations per kind for about nativeMs.
  const iters = {};
  for (const k of kinds) {
    let n = 100000;
    for (;;) {
      const ns = binding.benchLoop(k.id, n, words);
      if (ns > config.nativeMs * 1e6 * 0.25) {
        iters[k.id] = Math.max(1000, Math.round((n * config.nativeMs * 1e6) / ns));
        break;
      }
      n *= 4;
    }
  }
  const samples = Object.fromEntries(kinds.map((k) => [k.id, []]));
  const before = rseq.opCounts();
  for (let r = 0; r < config.rounds; r++) {
    for (let j = 0; j < kinds.length; j++) {
      const k = kinds[(j + r) % kinds.length];
      samples[k.id].push(binding.benchLoop(k.id, iters[k.id], words) / iters[k.id]);
    }
  }
  const after = rseq.opCounts();
  const single = {};
  for (const k of kinds) single[k.id] = { label: k.label, iterations: iters[k.id], nsPerOp: summary(samples[k.id]) };
  const getcpu = samples['getcpu-atomic'];
  report.emit(
    ['C loop (1 thread)', 'ns median', 'min', 'max', 'x sched_getcpu+atomic'],
    kinds.map((k) => [...nsRow(k.label, single[k.id].nsPerOp), getcpu ? fmt(paired(samples[k.id], getcpu).median) : '-']),
  );
  report.note(`rseq-add sections on this thread: ${after.attempts - before.attempts} attempts, ${after.aborts - before.aborts} aborted, ${after.moved - before.moved} moved.`);
  if (getcpu) {
    results.ratios.nativeRseqAddOverGetcpuAtomic = paired(samples['rseq-add'], getcpu);
    results.ratios.nativeRseqAddInlineOverGetcpuAtomic = paired(samples['rseq-add-inline'], getcpu);
    if (samples['area-atomic']) results.ratios.nativeAreaAtomicOverGetcpuAtomic = paired(samples['area-atomic'], getcpu);
  }

  // The same loops from W workers at once (fixed iterations per worker).
  report.heading(`4b. The C loops from ${config.nativeThreads.join(', ')} workers at once (millions of adds per second, all workers)`);
  const threadKinds = THREAD_KINDS.filter((id) => iters[id]);
  const perWorker = Object.fromEntries(threadKinds.map((id) => [id, Math.max(1000, Math.round((iters[id] * config.threadMs) / config.nativeMs))]));
  for (const id of threadKinds) pool.native(id, Math.max(...config.nativeThreads), Math.min(perWorker[id], 100000)); // warm
  const tsamples = {};
  for (const w of config.nativeThreads) tsamples[w] = Object.fromEntries(threadKinds.map((id) => [id, []]));
  for (let r = 0; r < config.rounds; r++) {
    for (const w of config.nativeThreads) {
      for (let j = 0; j < threadKinds.length; j++) {
        const id = threadKinds[(j + r) % threadKinds.length];
        const run = pool.native(id, w, perWorker[id]);
        tsamples[w][id].push((w * perWorker[id] * 1e9) / run.wallNs);
      }
    }
  }
  const threads = {};
  const rows = [];
  for (const w of config.nativeThreads) {
    threads[w] = {};
    for (const id of threadKinds) {
      const s = summary(tsamples[w][id]);
      threads[w][id] = { opsPerSec: s, nsPerOp: round4(1e9 / s.median) };
      rows.push([String(w), KINDS.find((k) => k.id === id).label, fmt(s.median / 1e6), fmt(s.min / 1e6), fmt(s.max / 1e6), fmt(1e9 / s.median), fmt(paired(tsamples[w][id], tsamples[w]['getcpu-atomic']).median)]);
    }
  }
  report.emit(['workers', 'C loop', 'Mops/s median', 'min', 'max', 'ns/op (all)', 'x sched_getcpu+atomic'], rows);
  results.sections.native = { unit: 'ns/op', single, threads: { unit: 'ops/s', perWorkerIterations: perWorker, byWorkers: threads, samples: tsamples }, opCounts: { attempts: after.attempts - before.attempts, aborts: after.aborts - before.aborts, moved: after.moved - before.moved } };
  for (const w of config.nativeThreads) {
    results.ratios[`nativeThreads${w}`] = {
      rseqAddOverSharedAtomic: paired(tsamples[w]['rseq-add'], tsamples[w]['shared-atomic']),
      rseqAddOverGetcpuAtomic: paired(tsamples[w]['rseq-add'], tsamples[w]['getcpu-atomic']),
    };
  }
};
