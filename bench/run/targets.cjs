'use strict';
// The targets of bench/run.cjs, each a median of per-round ratios from one
// section (bench/README.md lists them), and the counter path that wins most
// comparisons (one thread and each worker count), beside the current default.
const { fmt, paired } = require('../lib/stats.cjs');

function targets({ report, results, config, defaultPath }) {
  const target = report.target.bind(report);
  const R = results.ratios;
  const s = results.sections;
  const ns = (sec, id) => (s[sec] && s[sec].contenders[id] ? fmt(s[sec].contenders[id].nsPerOp.median) : '-');
  const x = (r) => (r ? `x${fmt(r.median)}` : '-');
  // Against each of two contenders; the stricter ratio decides.
  const worse = (kind, a, b) => (a && b ? ((kind === 'min' ? a.median <= b.median : a.median >= b.median) ? a : b) : a || b || null);
  const dflt = `default counter (path '${defaultPath}')`;

  // Reading the id, the counter on one thread.
  target('area-read', 'rseq.area() read within 2x of the plain Int32Array read', R.areaViewOverInt32, 2, 'max',
    s.cpuid && `view.cpuId ${ns('cpuid', 'area-view')} ns, Int32Array read ${ns('cpuid', 'int32-read')} ns (rseq.area().cpuId each time: ${ns('cpuid', 'area-call')} ns)`);
  // Judged against the Float64Array slot: a counter of 2^53 and more needs a
  // 64-bit slot, and a Float64 is the one plain store that holds it (an Int32
  // slot is shown beside it; it wraps at 2^31).
  target('add-default-owned', `PerCpuCounter.add, ${dflt}, one thread, within 1.5x of f[k] = f[k] + 1 on a 64-bit (Float64Array) slot only this thread writes`,
    R['counter-defaultOverOwnedF64'], 1.5, 'max',
    s.add && `default counter ${ns('add', 'counter-default')} ns, owned Float64Array slot ${ns('add', 'owned-f64')} ns (counter ${x(R['counter-defaultOverOwnedF64'])}), owned Int32Array slot ${ns('add', 'owned-i32')} ns (counter ${x(R['counter-defaultOverOwnedI32'])})${R['counter-laneOverOwnedF64'] ? `; path 'lane' ${ns('add', 'counter-lane')} ns (${x(R['counter-laneOverOwnedF64'])} the Float64Array slot)` : ''}`);
  target('add-rseq-int32', "PerCpuCounter.add, path 'rseq', one thread, within 1.5x of Atomics.add on an Int32Array", R['counter-rseqOverAtomicsInt32'], 1.5, 'max',
    s.add && `path 'rseq' ${ns('add', 'counter-rseq')} ns, Atomics.add Int32 ${ns('add', 'atomics-int32')} ns`);
  target('add-int32', "PerCpuCounter.add, path 'atomics', one thread, within 1.5x of Atomics.add on an Int32Array", R['counter-atomicsOverAtomicsInt32'], 1.5, 'max',
    s.add && `path 'atomics' ${ns('add', 'counter-atomics')} ns, Atomics.add Int32 ${ns('add', 'atomics-int32')} ns`);
  target('add-bigint64', "PerCpuCounter.add, path 'atomics', one thread, within 1.5x of Atomics.add on a BigInt64Array", R['counter-atomicsOverAtomicsBigInt64'], 1.5, 'max',
    s.add && `path 'atomics' ${ns('add', 'counter-atomics')} ns, Atomics.add BigInt64 ${ns('add', 'atomics-bigint64')} ns`);

  // The counter from 4 workers.
  const w4 = R.workers4;
  const thr = (id) => (s.workers && s.workers.byWorkers[4] && s.workers.byWorkers[4][id] ? fmt(s.workers.byWorkers[4][id].opsPerSec.median / 1e6) : '-');
  const w4s = s.workers && s.workers.samples[4];
  target('workers4-shared', `4 workers: PerCpuCounter.add, ${dflt}, at least 3x the shared Atomics.add slot (the faster of Int32Array and BigInt64Array)`, w4 && worse('min', w4.defaultOverSharedInt32, w4.defaultOverSharedBigInt64), 3, 'min',
    w4 && `default counter ${thr('counter-default')} Mops/s; shared Int32 slot ${thr('shared-int32')} (counter ${x(w4.defaultOverSharedInt32)}), shared BigInt64 slot ${thr('shared-bigint64')} (counter ${x(w4.defaultOverSharedBigInt64)}); ${w4.laneOverSharedInt32 ? `path 'lane' ${thr('counter-lane')} (${x(w4.laneOverSharedInt32)} the Int32 slot), ` : ''}'atomics' ${thr('counter-atomics')} (${x(w4.atomicsOverSharedInt32)}), 'rseq' ${thr('counter-rseq')} (${x(w4.rseqOverSharedInt32)}); the ideals: padded plain Float64 slots ${thr('owned-f64')} (${x(w4.ownedOverSharedInt32)}), padded Int32 slots ${thr('padded-slot-int32')} (${x(w4.padded32OverSharedInt32)} the shared Int32 slot), padded BigInt64 ${thr('padded-slot')} (${x(w4s && paired(w4s['padded-slot'], w4s['shared-bigint64']))} the shared BigInt64 slot)`);
  target('workers4-padded', "4 workers: PerCpuCounter.add, path 'atomics', within 1.3x of one padded Atomics.add slot per worker (the faster of Int32Array and BigInt64Array)", w4 && worse('max', w4.padded32OverAtomics, w4.paddedOverAtomics), 1.3, 'max',
    w4 && `padded Int32 ${thr('padded-slot-int32')} Mops/s (${x(w4.padded32OverAtomics)} the counter), padded BigInt64 ${thr('padded-slot')} (${x(w4.paddedOverAtomics)}), counter ${thr('counter-atomics')} Mops/s; path 'rseq' padded BigInt64/rseq ${x(w4.paddedOverRseq)}; padded plain Float64 / default counter ${x(w4.ownedOverDefault)}${w4.ownedOverLane ? `, / path 'lane' ${x(w4.ownedOverLane)}` : ''}`);

  // The C section.
  const nat = s.native && s.native.single;
  target('native-section', 'critical-section add inside one native call within 1.5x of sched_getcpu() + atomic add, or better', R.nativeRseqAddOverGetcpuAtomic, 1.5, 'max',
    nat && `rseq-add ${fmt(nat['rseq-add'].nsPerOp.median)} ns, sched_getcpu+atomic ${fmt(nat['getcpu-atomic'].nsPerOp.median)} ns, inlined section ${fmt(nat['rseq-add-inline'].nsPerOp.median)} ns (x${fmt(R.nativeRseqAddInlineOverGetcpuAtomic.median)})`);

  // Buffer and pool against their locked alternatives.
  const one = (sec, id) => (s[sec] ? fmt(s[sec].oneThread.contenders[id].nsPerOp.median) : '-');
  const many = (sec, id) => (s[sec] ? fmt(s[sec].workers.contenders[id].opsPerSec.median / 1e6) : '-');
  const bw = config.bufferWorkers;
  const pw = config.poolWorkers;
  target('buffer-1thread', 'PerCpuBuffer push + pop, one thread: at least 2x as fast as a SharedArrayBuffer stack behind one Atomics lock (lock ns / PerCpuBuffer ns)', R.bufferOneThreadLockOverPercpu, 2, 'min',
    s.buffer && `PerCpuBuffer ${one('buffer', 'percpu-buffer')} ns, lock stack ${one('buffer', 'lock-stack')} ns per push + pop`);
  target(`buffer-workers${bw}`, `PerCpuBuffer push + pop, ${bw} workers: at least 4x the lock stack's throughput`, R[`buffer${bw}WorkersPercpuOverLock`], 4, 'min',
    s.buffer && `PerCpuBuffer ${many('buffer', 'percpu-buffer')}, lock stack ${many('buffer', 'lock-stack')} M push+pop/s`);
  target('pool-1thread', 'PerCpuPool take + give, one thread: at least 2x as fast as a SharedArrayBuffer free list behind one Atomics lock (lock ns / PerCpuPool ns)', R.poolOneThreadLockOverPercpu, 2, 'min',
    s.pool && `PerCpuPool ${one('pool', 'percpu-pool')} ns, lock free list ${one('pool', 'lock-pool')} ns per take + give`);
  target(`pool-workers${pw}`, `PerCpuPool take + give, ${pw} workers: at least 4x the lock free list's throughput`, R[`pool${pw}WorkersPercpuOverLock`], 4, 'min',
    s.pool && `PerCpuPool ${many('pool', 'percpu-pool')}, lock free list ${many('pool', 'lock-pool')} M take+give/s`);
  const lat = s.latency;
  const q = (id, k) => (lat ? fmt(lat.contenders[id].pooled[k] / 1000) : '-');
  target('latency-p999', `p99.9 latency of one push + pop, ${config.latencyWorkers} workers on ${lat ? lat.cpus.length : config.latencyCpus} CPUs: PerCpuBuffer's at least 10x lower than the lock stack's (lock p99.9 / PerCpuBuffer p99.9, per run)`, R.latencyP999LockOverPercpu, 10, 'min',
    lat && `p50 / p99 / p99.9 us, all runs: PerCpuBuffer ${q('percpu-buffer', 'p50')} / ${q('percpu-buffer', 'p99')} / ${q('percpu-buffer', 'p999')}, lock stack ${q('lock-stack', 'p50')} / ${q('lock-stack', 'p99')} / ${q('lock-stack', 'p999')}, the clock reads alone ${q('clock-only', 'p50')} / ${q('clock-only', 'p99')} / ${q('clock-only', 'p999')}`);
}

/** The counter path that wins most comparisons (one thread: ns per add; each worker count: throughput). */
function recommend({ results, defaultPath }) {
  const s = results.sections;
  if (!s.add || !s.workers) return;
  const paths = ['lane', 'atomics', 'rseq'].filter((p) => s.add.contenders[`counter-${p}`] && s.workers.byWorkers[s.workers.workerCounts[0]][`counter-${p}`]);
  const wins = Object.fromEntries(paths.map((p) => [p, 0]));
  const one = Object.fromEntries(paths.map((p) => [p, s.add.contenders[`counter-${p}`].nsPerOp.median]));
  const parts = [`1 thread: ${paths.map((p) => `'${p}' ${fmt(one[p])}`).join(', ')} ns per add`];
  wins[paths.reduce((a, b) => (one[b] < one[a] ? b : a))]++;
  let total = 1;
  for (const w of s.workers.workerCounts) {
    const t = Object.fromEntries(paths.map((p) => [p, s.workers.byWorkers[w][`counter-${p}`].opsPerSec.median]));
    parts.push(`${w} worker${w === 1 ? '' : 's'}: ${paths.map((p) => `'${p}' ${fmt(t[p] / 1e6)}`).join(', ')} Mops/s`);
    wins[paths.reduce((a, b) => (t[b] > t[a] ? b : a))]++;
    total++;
  }
  const best = paths.reduce((a, b) => (wins[b] > wins[a] ? b : a));
  results.recommendation = { defaultPath: best, currentDefault: defaultPath, wins, comparisons: total, figures: parts };
}

module.exports = { targets, recommend };
