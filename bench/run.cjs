#!/usr/bin/env node
'use strict';
// `npm run bench`: the package's benchmarks. Every comparison runs its
// contenders side by side in one process, alternating, for several rounds,
// and quotes the median (and min/max) of the rounds: the machines this runs on
// are noisy. Ratios are medians of per-round ratios (each round's contenders
// ran back to back, so a slow moment hits both sides of a ratio).
//
//   node bench/run.cjs              full run (about 2 minutes), writes
//                                   bench/results/<date>.json, .md and .svg
//   node bench/run.cjs --quick      a short smoke run (seconds), writes
//                                   bench/results/<date>-quick.json (git-ignored)
//   options: --rounds N  --only cpuid,add,workers,native,buffer,pool,latency,backends,metrics
//            --out FILE (the JSON; .md and .svg beside it)  --no-write
//            --wait-quiet[=SECONDS]  first wait (up to SECONDS, default 600) until
//                                    other work uses less than 0.25 CPU for 5 s, and
//                                    before each section for 2 s (up to 300 s each)
//
// Needs the built package (npm run build:ts) and the development addon
// (build/Release/rseq_dev.node, npm run build:dev; `npm run bench` builds it):
// the shipped addon's code plus benchLoop, which the shipped addon does not
// have. The package is loaded on that same file (RSEQ_ADDON is set to it), so
// everything measured runs one copy of the addon. RSEQ_ADDON names another
// build of it.
//
// Sections:
//   1 cpuid     reading the CPU id
//   2 add       one thread: PerCpuCounter.add (default, 'lane', 'atomics', 'rseq') against
//               Atomics.add and a plain increment of a slot the thread owns
//   3 workers   1, 2, 4, 8 workers adding to one counter
//   4 native    C loops inside one native call (benchLoop), 1 thread and 1/2/4 workers
//   5 buffer    PerCpuBuffer push/pop against a locked SharedArrayBuffer stack, 1 thread and 4 workers
//   6 pool      PerCpuPool take/give against a locked SharedArrayBuffer free list, 1 thread and 4 workers
//   7 latency   the distribution of one push + pop's duration (p50, p99, p99.9), 8 workers on 2 CPUs,
//               PerCpuBuffer against the locked stack
//   8 backends  the same operations on the native backend and on the simulator (child processes)
//   9 metrics   rseq/metrics against prom-client: bench/metrics.cjs in a child process (its own
//               results file, bench/results/metrics-<date>.*; its targets join this run's)
//
// The targets of the issue are checked at the end; each is a median of
// per-round ratios from one of these sections (the latency target: of the
// per-round p99.9s).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const { summary, median, fmt, table, markdownTable, round4 } = require('./lib/stats.cjs');
const { runAlternating } = require('./lib/micro.cjs');
const contenders = require('./lib/contenders.cjs');
const { machine, cpuSnapshot, otherLoad, waitQuiet } = require('./lib/machine.cjs');
const { Pool } = require('./lib/pool.cjs');
const latency = require('./lib/latency.cjs');

const ROOT = path.resolve(__dirname, '..');
const SECTIONS = ['cpuid', 'add', 'workers', 'native', 'buffer', 'pool', 'latency', 'backends', 'metrics'];
/** The backends section's number: its other-load figure counts its own child processes. */
const BACKENDS_SECTION = '8';

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

function parseArgs(argv) {
  const o = { quick: false, rounds: null, only: null, out: null, write: true, waitQuiet: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--no-write') o.write = false;
    else if (a === '--wait-quiet') o.waitQuiet = 600;
    else if (a.startsWith('--wait-quiet=')) o.waitQuiet = Number(a.slice('--wait-quiet='.length));
    else if (a.startsWith('--rounds')) o.rounds = Number(value());
    else if (a.startsWith('--only')) o.only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a.startsWith('--out')) o.out = path.resolve(value());
    else if (a === '--help' || a === '-h') usage(null);
    else usage(`unknown argument ${a}`);
  }
  if (o.rounds !== null && !(Number.isInteger(o.rounds) && o.rounds >= 1)) usage('--rounds takes a positive integer');
  if (!(o.waitQuiet >= 0)) usage('--wait-quiet takes a number of seconds');
  for (const s of o.only || []) if (!SECTIONS.includes(s)) usage(`--only: unknown section ${s} (sections: ${SECTIONS.join(', ')})`);
  return o;
}

function usage(error) {
  const text = 'usage: node bench/run.cjs [--quick] [--rounds N] [--only ' + SECTIONS.join(',') + '] [--out FILE] [--no-write] [--wait-quiet[=SECONDS]]';
  if (error) {
    console.error(`bench: ${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

const opts = parseArgs(process.argv.slice(2));
// latencyWorkers workers pinned to latencyCpus CPUs (when the process may use
// more; else on the CPUs it has): more runnable threads than CPUs, so that
// threads are preempted in the middle of operations.
const SHAPE = { workerCounts: [1, 2, 4, 8], nativeThreads: [1, 2, 4], bufferWorkers: 4, poolWorkers: 4, latencyWorkers: 8, latencyCpus: 2 };
const CONFIG = opts.quick
  ? { rounds: 2, microMs: 5, workerMs: 25, warmMs: 20, nativeMs: 5, threadMs: 10, backendRounds: 1, backendMs: 5, latencyMs: 50, ...SHAPE }
  : { rounds: 7, microMs: 40, workerMs: 200, warmMs: 150, nativeMs: 50, threadMs: 60, backendRounds: 7, backendMs: 30, latencyMs: 400, ...SHAPE };
if (opts.rounds !== null) CONFIG.rounds = opts.rounds;
if (opts.rounds !== null && !opts.quick) CONFIG.backendRounds = opts.rounds;
const want = (s) => !opts.only || opts.only.includes(s);

// ---------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------

const entry = contenders.distEntry(ROOT);
if (!fs.existsSync(entry)) {
  console.error(`bench: ${path.relative(ROOT, entry)} is missing; run \`npm run build:ts\` first`);
  process.exit(1);
}
const addonPath = contenders.useBenchAddon(ROOT);
const nativePlatform = process.platform === 'linux' && ['x64', 'arm64'].includes(process.arch);
if (nativePlatform && !fs.existsSync(addonPath)) {
  console.error(`bench: ${path.relative(ROOT, addonPath)} is missing; build the development addon with \`npm run build:dev\` (\`npm run bench\` does)`);
  process.exit(1);
}
const pkg = require(entry);
const { rseq } = pkg;
const native = rseq.backend === 'native';
let binding = null;
if (native) {
  binding = require(addonPath);
  if (typeof binding.benchLoop !== 'function') {
    console.error(`bench: ${addonPath} has no benchLoop: it is not the development addon (npm run build:dev)`);
    process.exit(1);
  }
}

const quiet = opts.waitQuiet > 0 ? waitQuiet(opts.waitQuiet) : null;

const results = {
  schema: 1,
  date: new Date().toISOString(),
  quick: opts.quick,
  argv: process.argv.slice(2),
  machine: { ...machine(rseq), otherLoadBySection: {}, waitQuiet: quiet, sectionWaits: {} },
  config: CONFIG,
  sections: {},
  ratios: {},
  targets: [],
  checks: [],
  recommendation: null,
  notes: [],
};
const md = [];

function log(s = '') {
  process.stdout.write(`${s}\n`);
}

// Other work on the machine while each section ran (in CPUs; see otherLoad).
let sectionSnap = null;
let sectionName = null;
function closeSection() {
  if (sectionName !== null) results.machine.otherLoadBySection[sectionName] = otherLoad(sectionSnap, cpuSnapshot());
  sectionName = null;
}

function heading(title) {
  closeSection();
  sectionName = title.split(' ')[0].replace(/\.$/, '');
  if (opts.waitQuiet > 0 && sectionName !== 'Targets') results.machine.sectionWaits[sectionName] = waitQuiet(Math.min(300, opts.waitQuiet), 2000);
  sectionSnap = cpuSnapshot();
  log(`\n== ${title} ==`);
  md.push(`\n### ${title}\n`);
}

function emit(header, rows) {
  log(table(header, rows));
  md.push(markdownTable(header, rows));
}

function note(s) {
  log(s);
  md.push(`\n${s}\n`);
}

/** Median/min/max of per-round ratios a[i] / b[i]. */
function paired(a, b) {
  const n = Math.min(a.length, b.length);
  const r = [];
  for (let i = 0; i < n; i++) r.push(a[i] / b[i]);
  const s = summary(r);
  return { median: round4(s.median), min: round4(s.min), max: round4(s.max) };
}

function nsRow(label, s) {
  return [label, fmt(s.median), fmt(s.min), fmt(s.max)];
}

const m = results.machine;
log(`rseq benchmarks${opts.quick ? ' (quick)' : ''}: ${m.cpus} x ${m.model}, Linux ${m.kernel}, Node ${m.node}`);
log(`backend ${m.rseq.backend}${m.rseq.fallbackReason ? ` (${m.rseq.fallbackReason})` : ''}, area ${m.rseq.areaAccess}, registration ${m.rseq.registrationOwner}, feature size ${m.rseq.featureSize}, libc ${m.rseq.libc}`);
log(`rounds ${CONFIG.rounds}; figures are the median of the rounds (min, max)`);
if (!native) {
  note(`The native backend is not in use (${rseq.fallbackReason}); only the backend comparison (section ${BACKENDS_SECTION}, simulator side) runs.`);
}

// ---------------------------------------------------------------------------
// 1. Reading the CPU id
// ---------------------------------------------------------------------------

const wire = native ? contenders.makeShared(pkg, results.notes) : null;
const ctx = native ? contenders.makeCtx(pkg, wire, 0, 8) : null;
for (const n of results.notes) note(n);
/** The default counter's path ('atomics' before path 'lane' exists). */
const defaultPath = ctx ? ctx.counters.default.path : null;
/** The list's contenders whose counter exists, the default counter's label naming its path. */
function present(list) {
  return contenders.available(list, ctx).map((c) => (c.id === 'counter-default' ? { ...c, label: `${c.label}, path '${defaultPath}'` } : c));
}

if (native && want('cpuid')) {
  heading('1. Reading the CPU id (one thread, ns per read)');
  const r = runAlternating(contenders.CPU_ID, ctx, { rounds: CONFIG.rounds, targetMs: CONFIG.microMs });
  results.sections.cpuid = { unit: 'ns/op', contenders: r };
  const floor = r['int32-read'].nsPerOp;
  emit(
    ['read', 'ns median', 'min', 'max', 'x floor'],
    contenders.CPU_ID.map((c) => [...nsRow(c.label, r[c.id].nsPerOp), fmt(paired(r[c.id].nsPerOp.samples, floor.samples).median)]),
  );
  results.ratios.areaViewOverInt32 = paired(r['area-view'].nsPerOp.samples, floor.samples);
  results.ratios.areaCallOverInt32 = paired(r['area-call'].nsPerOp.samples, floor.samples);
  results.ratios.cpuIdCallOverAreaView = paired(r['cpuId-call'].nsPerOp.samples, r['area-view'].nsPerOp.samples);
  results.ratios.schedGetcpuOverAreaView = paired(r.schedGetcpu.nsPerOp.samples, r['area-view'].nsPerOp.samples);
}

// ---------------------------------------------------------------------------
// 2. One thread: adding 1
// ---------------------------------------------------------------------------

if (native && want('add')) {
  heading('2. One thread: add 1 (ns per add)');
  const list = present(contenders.ADD);
  const before = rseq.opCounts();
  const r = runAlternating(list, ctx, { rounds: CONFIG.rounds, targetMs: CONFIG.microMs });
  const after = rseq.opCounts();
  results.sections.add = { unit: 'ns/op', defaultPath, contenders: r, opCounts: { aborts: after.aborts - before.aborts, moved: after.moved - before.moved, attempts: after.attempts - before.attempts } };
  const floors = {
    AtomicsInt32: r['atomics-int32'].nsPerOp.samples,
    AtomicsBigInt64: r['atomics-bigint64'].nsPerOp.samples,
    OwnedF64: r['owned-f64'].nsPerOp.samples,
    OwnedI32: r['owned-i32'].nsPerOp.samples,
  };
  emit(
    ['add', 'ns median', 'min', 'max', 'x Atomics Int32', 'x Atomics BigInt64', 'x owned Float64 slot', 'x owned Int32 slot'],
    list.map((c) => [...nsRow(c.label, r[c.id].nsPerOp), ...Object.values(floors).map((f) => fmt(paired(r[c.id].nsPerOp.samples, f).median))]),
  );
  note(`rseq path sections in this section: ${after.attempts - before.attempts} attempts, ${after.aborts - before.aborts} aborted, ${after.moved - before.moved} moved.`);
  for (const id of ['counter-default', 'counter-lane', 'counter-atomics', 'counter-rseq', 'counter-atomics-mmcid', 'counter-rseq-mmcid']) {
    if (!r[id]) continue;
    for (const [name, f] of Object.entries(floors)) results.ratios[`${id}Over${name}`] = paired(r[id].nsPerOp.samples, f);
  }
}

// ---------------------------------------------------------------------------
// 3, 4 (threads) and 5 (workers) share one pool of workers
// ---------------------------------------------------------------------------

async function withPool(size, fn) {
  const pool = new Pool({ size, entry, addonPath, wire, batch: 256 });
  await pool.start();
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

function timedSeries(pool, list, counts, rounds, durationMs, totals) {
  // samples[W][id] = ops/s per round
  const samples = {};
  const perThreadNs = {};
  for (const w of counts) {
    samples[w] = {};
    perThreadNs[w] = {};
    for (const c of list) {
      samples[w][c.id] = [];
      perThreadNs[w][c.id] = [];
    }
  }
  for (let r = 0; r < rounds; r++) {
    for (const w of counts) {
      for (let k = 0; k < list.length; k++) {
        const c = list[(k + r) % list.length];
        const run = pool.timed(c.id, w, durationMs);
        const ops = run.per.reduce((a, p) => a + p.ops, 0);
        totals[c.id] = (totals[c.id] || 0) + ops;
        samples[w][c.id].push((ops * 1e9) / run.wallNs);
        perThreadNs[w][c.id].push(median(run.per.map((p) => run.wallNs / p.ops)));
      }
    }
  }
  return { samples, perThreadNs };
}

async function workerSections() {
  const needPool = (want('workers') || want('buffer') || want('native') || want('pool') || want('latency')) && native;
  if (!needPool) return;
  const maxWorkers = Math.max(...CONFIG.workerCounts, CONFIG.bufferWorkers, ...CONFIG.nativeThreads, CONFIG.poolWorkers, CONFIG.latencyWorkers);
  await withPool(maxWorkers, async (pool) => {
    const totals = {};
    if (want('workers')) workersSection(pool, totals);
    if (want('native')) nativeSection(pool);
    if (want('buffer')) bufferSection(pool, totals);
    if (want('pool')) poolSection(pool, totals);
    if (want('latency')) latencySection(pool);
    checks(totals);
  });
}

/** paired(), or null when a side was not measured (a contender skipped). */
function pairedIf(a, b) {
  return a && b ? paired(a, b) : null;
}

function workersSection(pool, totals) {
  heading(`3. Workers adding to one counter (millions of adds per second; ${CONFIG.workerMs} ms per run)`);
  const list = present(contenders.WORKERS);
  // Warm-up: every worker compiles and optimises every contender's loop.
  for (const c of list) {
    const run = pool.timed(c.id, Math.max(...CONFIG.workerCounts), CONFIG.warmMs);
    totals[c.id] = (totals[c.id] || 0) + run.per.reduce((a, p) => a + p.ops, 0);
  }
  const { samples, perThreadNs } = timedSeries(pool, list, CONFIG.workerCounts, CONFIG.rounds, CONFIG.workerMs, totals);
  const byWorkers = {};
  const rows = [];
  for (const w of CONFIG.workerCounts) {
    byWorkers[w] = {};
    for (const c of list) {
      const s = summary(samples[w][c.id]);
      byWorkers[w][c.id] = {
        label: c.label,
        opsPerSec: s,
        nsPerOp: round4(1e9 / s.median),
        threadNsPerOp: round4(median(perThreadNs[w][c.id])),
      };
      rows.push([
        String(w),
        c.label,
        fmt(s.median / 1e6),
        fmt(s.min / 1e6),
        fmt(s.max / 1e6),
        fmt(1e9 / s.median),
        fmt(median(perThreadNs[w][c.id])),
        fmt(paired(samples[w][c.id], samples[w]['shared-int32']).median),
        fmt(paired(samples[w][c.id], samples[w]['shared-bigint64']).median),
        fmt(paired(samples[w]['padded-slot-int32'], samples[w][c.id]).median),
        fmt(paired(samples[w]['padded-slot'], samples[w][c.id]).median),
        fmt(paired(samples[w]['owned-f64'], samples[w][c.id]).median),
      ]);
    }
  }
  emit(['workers', 'contender', 'Mops/s median', 'min', 'max', 'ns/op (all)', 'ns/op (per worker)', 'x shared Int32', 'x shared BigInt64', 'padded Int32 / this', 'padded BigInt64 / this', 'padded plain / this'], rows);
  note('ns/op (all) = 1 s / throughput; ns/op (per worker) = wall time / that worker\'s adds (includes time descheduled when workers outnumber cores). "padded plain" = one padded Float64Array slot per worker, f[k] = f[k] + 1.');
  if (samples[1] && samples[2]) {
    const scale = paired(samples[2]['padded-slot'], samples[1]['padded-slot']);
    results.ratios.paddedScaling2over1 = scale;
    note(`Parallelism the machine gave: one padded slot per worker ran ${fmt(scale.median)}x faster with 2 workers than with 1 (2 = two free cores; near 1 = other work held a core, and no two adds really ran at once).`);
  }
  results.sections.workers = { unit: 'ops/s', durationMs: CONFIG.workerMs, workerCounts: CONFIG.workerCounts, defaultPath, contenders: Object.fromEntries(list.map((c) => [c.id, c.label])), byWorkers, samples };
  for (const w of CONFIG.workerCounts) {
    const s = samples[w];
    results.ratios[`workers${w}`] = {
      defaultOverSharedBigInt64: pairedIf(s['counter-default'], s['shared-bigint64']),
      defaultOverSharedInt32: pairedIf(s['counter-default'], s['shared-int32']),
      laneOverSharedBigInt64: pairedIf(s['counter-lane'], s['shared-bigint64']),
      laneOverSharedInt32: pairedIf(s['counter-lane'], s['shared-int32']),
      atomicsOverSharedBigInt64: paired(s['counter-atomics'], s['shared-bigint64']),
      atomicsOverSharedInt32: paired(s['counter-atomics'], s['shared-int32']),
      rseqOverSharedBigInt64: paired(s['counter-rseq'], s['shared-bigint64']),
      rseqOverSharedInt32: paired(s['counter-rseq'], s['shared-int32']),
      paddedOverAtomics: paired(s['padded-slot'], s['counter-atomics']),
      padded32OverAtomics: paired(s['padded-slot-int32'], s['counter-atomics']),
      padded32OverSharedInt32: paired(s['padded-slot-int32'], s['shared-int32']),
      paddedOverSharedBigInt64: paired(s['padded-slot'], s['shared-bigint64']),
      paddedOverRseq: paired(s['padded-slot'], s['counter-rseq']),
      rseqOverAtomics: paired(s['counter-rseq'], s['counter-atomics']),
      ownedOverLane: pairedIf(s['owned-f64'], s['counter-lane']),
      ownedOverDefault: paired(s['owned-f64'], s['counter-default']),
      ownedOverSharedInt32: paired(s['owned-f64'], s['shared-int32']),
    };
  }
}

const NATIVE_KINDS = [
  { id: 'rseq-add', label: 'rseq add section via percpu.h (the addon\'s path)' },
  { id: 'rseq-add-inline', label: 'rseq add section inlined (arch header)' },
  { id: 'area-atomic', label: 'cpu_id from the area + atomic add' },
  { id: 'getcpu-atomic', label: 'sched_getcpu() + atomic add' },
  { id: 'vdso-getcpu-atomic', label: 'getcpu() (vDSO) + atomic add' },
  { id: 'shared-atomic', label: 'one shared atomic add' },
];
const NATIVE_THREAD_KINDS = ['rseq-add', 'rseq-add-inline', 'area-atomic', 'getcpu-atomic', 'shared-atomic'];

function nativeSection(pool) {
  heading('4. Inside one native call: C loops (benchLoop), ns per add');
  const words = ctx.nativeWords;
  const kinds = NATIVE_KINDS.filter((k) => {
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
      if (ns > CONFIG.nativeMs * 1e6 * 0.25) {
        iters[k.id] = Math.max(1000, Math.round((n * CONFIG.nativeMs * 1e6) / ns));
        break;
      }
      n *= 4;
    }
  }
  const samples = Object.fromEntries(kinds.map((k) => [k.id, []]));
  const before = rseq.opCounts();
  for (let r = 0; r < CONFIG.rounds; r++) {
    for (let j = 0; j < kinds.length; j++) {
      const k = kinds[(j + r) % kinds.length];
      samples[k.id].push(binding.benchLoop(k.id, iters[k.id], words) / iters[k.id]);
    }
  }
  const after = rseq.opCounts();
  const single = {};
  for (const k of kinds) single[k.id] = { label: k.label, iterations: iters[k.id], nsPerOp: summary(samples[k.id]) };
  const getcpu = samples['getcpu-atomic'];
  emit(
    ['C loop (1 thread)', 'ns median', 'min', 'max', 'x sched_getcpu+atomic'],
    kinds.map((k) => [...nsRow(k.label, single[k.id].nsPerOp), getcpu ? fmt(paired(samples[k.id], getcpu).median) : '-']),
  );
  note(`rseq-add sections on this thread: ${after.attempts - before.attempts} attempts, ${after.aborts - before.aborts} aborted, ${after.moved - before.moved} moved.`);
  if (getcpu) {
    results.ratios.nativeRseqAddOverGetcpuAtomic = paired(samples['rseq-add'], getcpu);
    results.ratios.nativeRseqAddInlineOverGetcpuAtomic = paired(samples['rseq-add-inline'], getcpu);
    if (samples['area-atomic']) results.ratios.nativeAreaAtomicOverGetcpuAtomic = paired(samples['area-atomic'], getcpu);
  }

  // The same loops from W workers at once (fixed iterations per worker).
  heading(`4b. The C loops from ${CONFIG.nativeThreads.join(', ')} workers at once (millions of adds per second, all workers)`);
  const threadKinds = NATIVE_THREAD_KINDS.filter((id) => iters[id]);
  const perWorker = Object.fromEntries(threadKinds.map((id) => [id, Math.max(1000, Math.round((iters[id] * CONFIG.threadMs) / CONFIG.nativeMs))]));
  for (const id of threadKinds) pool.native(id, Math.max(...CONFIG.nativeThreads), Math.min(perWorker[id], 100000)); // warm
  const tsamples = {};
  for (const w of CONFIG.nativeThreads) tsamples[w] = Object.fromEntries(threadKinds.map((id) => [id, []]));
  for (let r = 0; r < CONFIG.rounds; r++) {
    for (const w of CONFIG.nativeThreads) {
      for (let j = 0; j < threadKinds.length; j++) {
        const id = threadKinds[(j + r) % threadKinds.length];
        const run = pool.native(id, w, perWorker[id]);
        tsamples[w][id].push((w * perWorker[id] * 1e9) / run.wallNs);
      }
    }
  }
  const threads = {};
  const rows = [];
  for (const w of CONFIG.nativeThreads) {
    threads[w] = {};
    for (const id of threadKinds) {
      const s = summary(tsamples[w][id]);
      threads[w][id] = { opsPerSec: s, nsPerOp: round4(1e9 / s.median) };
      rows.push([String(w), NATIVE_KINDS.find((k) => k.id === id).label, fmt(s.median / 1e6), fmt(s.min / 1e6), fmt(s.max / 1e6), fmt(1e9 / s.median), fmt(paired(tsamples[w][id], tsamples[w]['getcpu-atomic']).median)]);
    }
  }
  emit(['workers', 'C loop', 'Mops/s median', 'min', 'max', 'ns/op (all)', 'x sched_getcpu+atomic'], rows);
  results.sections.native = { unit: 'ns/op', single, threads: { unit: 'ops/s', perWorkerIterations: perWorker, byWorkers: threads, samples: tsamples }, opCounts: { attempts: after.attempts - before.attempts, aborts: after.aborts - before.aborts, moved: after.moved - before.moved } };
  for (const w of CONFIG.nativeThreads) {
    results.ratios[`nativeThreads${w}`] = {
      rseqAddOverSharedAtomic: paired(tsamples[w]['rseq-add'], tsamples[w]['shared-atomic']),
      rseqAddOverGetcpuAtomic: paired(tsamples[w]['rseq-add'], tsamples[w]['getcpu-atomic']),
    };
  }
}

/**
 * A per-CPU structure against its locked SharedArrayBuffer alternative: one
 * thread (ns per operation pair), then `w` workers (throughput). Returns the
 * section's results; `mine` and `theirs` are the two contenders' ids.
 */
function structureSection(pool, totals, { list, w, mine, theirs, theirsShort, unitLabel }) {
  const one = runAlternating(list, ctx, { rounds: CONFIG.rounds, targetMs: CONFIG.microMs });
  const lockSamples = one[theirs].nsPerOp.samples;
  emit(
    ['1 thread', `ns per ${unitLabel} median`, 'min', 'max', `x ${theirsShort}`],
    list.map((c) => [...nsRow(c.label, one[c.id].nsPerOp), fmt(paired(one[c.id].nsPerOp.samples, lockSamples).median)]),
  );
  for (const c of list) pool.timed(c.id, w, CONFIG.warmMs);
  const { samples, perThreadNs } = timedSeries(pool, list, [w], CONFIG.rounds, CONFIG.workerMs, totals);
  const workers = {};
  const rows = [];
  for (const c of list) {
    const s = summary(samples[w][c.id]);
    workers[c.id] = { label: c.label, opsPerSec: s, nsPerOp: round4(1e9 / s.median), threadNsPerOp: round4(median(perThreadNs[w][c.id])) };
    rows.push([c.label, fmt(s.median / 1e6), fmt(s.min / 1e6), fmt(s.max / 1e6), fmt(1e9 / s.median), fmt(paired(samples[w][c.id], samples[w][theirs]).median)]);
  }
  log(`${w} workers:`);
  md.push(`\n${w} workers:\n`);
  emit([`${w} workers`, `M ${unitLabel}/s median`, 'min', 'max', 'ns/op (all)', `x ${theirsShort}`], rows);
  return {
    section: { oneThread: { unit: 'ns/op', contenders: one }, workers: { count: w, unit: 'ops/s', contenders: workers, samples: samples[w] } },
    oneThreadLockOverPercpu: paired(lockSamples, one[mine].nsPerOp.samples),
    workersPercpuOverLock: paired(samples[w][mine], samples[w][theirs]),
  };
}

function bufferSection(pool, totals) {
  heading('5. PerCpuBuffer against a locked SharedArrayBuffer stack (one push + one pop)');
  const w = CONFIG.bufferWorkers;
  const r = structureSection(pool, totals, { list: contenders.BUFFER, w, mine: 'percpu-buffer', theirs: 'lock-stack', theirsShort: 'lock stack', unitLabel: 'push+pop' });
  results.sections.buffer = r.section;
  results.ratios.bufferOneThreadLockOverPercpu = r.oneThreadLockOverPercpu;
  results.ratios[`buffer${w}WorkersPercpuOverLock`] = r.workersPercpuOverLock;
}

function poolSection(pool, totals) {
  heading(`6. PerCpuPool against a locked SharedArrayBuffer free list (one take + one give; ${contenders.POOL_SIZE} indices)`);
  const w = CONFIG.poolWorkers;
  const r = structureSection(pool, totals, { list: contenders.POOL, w, mine: 'percpu-pool', theirs: 'lock-pool', theirsShort: 'lock free list', unitLabel: 'take+give' });
  results.sections.pool = { size: contenders.POOL_SIZE, ...r.section };
  results.ratios.poolOneThreadLockOverPercpu = r.oneThreadLockOverPercpu;
  results.ratios[`pool${w}WorkersPercpuOverLock`] = r.workersPercpuOverLock;
}

function latencySection(pool) {
  const w = CONFIG.latencyWorkers;
  const own = rseq.getAffinity();
  // Pin the run's workers to the first latencyCpus CPUs the process may use, when it may use more.
  const cpus = own.length > CONFIG.latencyCpus ? own.slice(0, CONFIG.latencyCpus) : null;
  const on = cpus || own;
  heading(`7. Latency of one push + pop, ${w} workers on ${on.length} CPU${on.length === 1 ? '' : 's'} (${on.join(',')}) (microseconds; ${CONFIG.latencyMs} ms per run)`);
  if (on.length !== CONFIG.latencyCpus) note(`The process may use ${own.length} CPU(s), not ${CONFIG.latencyCpus}: the workers ran on all of them.`);
  const list = contenders.LATENCY;
  for (const c of list) pool.latency(c.id, w, CONFIG.warmMs, cpus); // warm-up: the timed loops are compiled apart from section 5's
  const perRound = Object.fromEntries(list.map((c) => [c.id, { p50: [], p99: [], p999: [], p9999: [], opsPerSec: [] }]));
  const pooled = Object.fromEntries(list.map((c) => [c.id, new Float64Array(latency.BUCKETS)]));
  for (let r = 0; r < CONFIG.rounds; r++) {
    for (let k = 0; k < list.length; k++) {
      const c = list[(k + r) % list.length];
      const run = pool.latency(c.id, w, CONFIG.latencyMs, cpus);
      const d = latency.describe(run.hist);
      const pr = perRound[c.id];
      pr.p50.push(d.p50);
      pr.p99.push(d.p99);
      pr.p999.push(d.p999);
      pr.p9999.push(d.p9999);
      pr.opsPerSec.push((run.per.reduce((a, p) => a + p.ops, 0) * 1e9) / run.wallNs);
      latency.addInto(pooled[c.id], run.hist);
    }
  }
  const us = (ns) => fmt(ns / 1000);
  const out = {};
  const rows = [];
  for (const c of list) {
    const all = latency.describe(pooled[c.id]);
    const pr = perRound[c.id];
    const p999 = summary(pr.p999);
    out[c.id] = {
      label: c.label,
      unit: 'ns',
      pooled: all,
      perRound: { p50: summary(pr.p50), p99: summary(pr.p99), p999, p9999: summary(pr.p9999), opsPerSec: summary(pr.opsPerSec) },
      // The pooled histogram's non-empty buckets: [low ns, high ns, count].
      histogram: [...pooled[c.id]].map((n, b) => [...latency.bucketRange(b), n]).filter((x) => x[2] > 0),
    };
    rows.push([c.label, fmt(summary(pr.opsPerSec).median / 1e6), String(all.count), us(all.p50), us(all.p99), us(all.p999), us(all.p9999), us(all.max), us(p999.median), us(p999.min), us(p999.max)]);
  }
  emit(['contender', 'M ops/s', 'operations timed', 'p50', 'p99', 'p99.9', 'p99.99', 'max', 'p99.9 per run median', 'min', 'max'], rows);
  results.ratios.latencyP999LockOverPercpu = paired(perRound['lock-stack'].p999, perRound['percpu-buffer'].p999);
  results.ratios.latencyP99LockOverPercpu = paired(perRound['lock-stack'].p99, perRound['percpu-buffer'].p99);
  results.ratios.latencyP50LockOverPercpu = paired(perRound['lock-stack'].p50, perRound['percpu-buffer'].p50);
  note(
    `p50 to max: of every operation of every run (${CONFIG.rounds} runs each), in microseconds, to the histogram's 3 %; per run: the p99.9 of each run. ` +
      `Lock stack / PerCpuBuffer, medians of per-run ratios: p50 x${fmt(results.ratios.latencyP50LockOverPercpu.median)}, p99 x${fmt(results.ratios.latencyP99LockOverPercpu.median)}, p99.9 x${fmt(results.ratios.latencyP999LockOverPercpu.median)}. ` +
      'Every figure includes the two clock reads (the last row: their own distribution, preemption included).',
  );
  results.sections.latency = { workers: w, cpus: on, pinned: cpus !== null, durationMs: CONFIG.latencyMs, rounds: CONFIG.rounds, contenders: out };
}

function checks(totals) {
  const c = ctx.counters;
  const add = (name, got, want) => results.checks.push({ name, got: String(got), want: String(want), ok: String(got) === String(want) });
  // Main-thread adds (section 2) and worker adds both land in these counters:
  // compare the worker totals with what the main thread did not add.
  if (totals['counter-atomics'] !== undefined) {
    add('shared BigInt64 slot = adds made', Atomics.load(ctx.shared.b64, 0), BigInt(totals['shared-bigint64']));
    add('shared Int32 slot = adds made (mod 2^32)', Atomics.load(ctx.shared.i32, 0), (totals['shared-int32'] | 0));
    const padded = ctx.shared.padded;
    let sum = 0n;
    for (let i = 0; i < 9; i++) sum += Atomics.load(padded, i * 8);
    add('padded slots = adds made', sum, BigInt(totals['padded-slot']));
    let sum32 = 0;
    for (let i = 0; i < 9; i++) sum32 += Atomics.load(ctx.shared.padded32, i * 16);
    add('padded Int32 slots = adds made (mod 2^32)', BigInt.asUintN(32, BigInt(sum32)), BigInt.asUintN(32, BigInt(totals['padded-slot-int32'])));
    // Lines 0-7 only: line 8 is the main thread's (section 2).
    let plain = 0;
    for (let i = 0; i < 8; i++) plain += ctx.shared.plainF64[i * 8];
    add('padded plain Float64 slots of the workers = adds made', plain, totals['owned-f64']);
    add(`PerCpuCounter default (path '${defaultPath}') = adds made`, c.default.valueBigInt() - (mainAdds.default ?? 0n), BigInt(totals['counter-default']));
    if (c.lane) add("PerCpuCounter 'lane' = adds made", c.lane.valueBigInt() - (mainAdds.lane ?? 0n), BigInt(totals['counter-lane']));
    add("PerCpuCounter 'atomics' = adds made", c.atomics.valueBigInt() - (mainAdds.atomics ?? 0n), BigInt(totals['counter-atomics']));
    add("PerCpuCounter 'rseq' = adds made", c.rseq.valueBigInt() - (mainAdds.rseq ?? 0n), BigInt(totals['counter-rseq']));
  }
  if (totals['lock-stack'] !== undefined || want('latency')) {
    add('lock stack empty after push/pop pairs', ctx.buffers.locked.size(), 0);
    // Not a check: a thread moved between its push and its pop pops another CPU's stack, and finds it empty at times.
    const left = ctx.buffers.percpu.size();
    (results.sections.buffer || results.sections.latency).recordsLeft = left;
    note(`PerCpuBuffer records left after the push + pop pairs (a push whose pop ran on another CPU and found that CPU's stack empty): ${left} of ${contenders.BUFFER_CAPACITY} per CPU.`);
  }
  if (totals['lock-pool'] !== undefined) {
    add('PerCpuPool: after the runs every index can be taken exactly once', poolExact(ctx.pools.percpu, contenders.POOL_SIZE), poolExact.want(contenders.POOL_SIZE));
    add('lock free list: after the runs every index can be taken exactly once', poolExact(ctx.pools.locked, contenders.POOL_SIZE), poolExact.want(contenders.POOL_SIZE));
  }
}

/**
 * Takes from the pool until it is empty (or past size + 1 takes), gives every
 * index back once, and says what it took: all of 0..size-1 exactly once is
 * `${size} taken, 0 twice, 0 out of range, then null`.
 */
function poolExact(p, size) {
  const seen = new Uint8Array(size);
  const first = [];
  let taken = 0;
  let twice = 0;
  let outside = 0;
  let last = null;
  while (taken <= size) {
    last = p.take();
    if (last === null) break;
    taken++;
    if (!(Number.isInteger(last) && last >= 0 && last < size)) outside++;
    else if (seen[last]++) twice++;
    else first.push(last);
  }
  for (const i of first) p.give(i);
  return `${taken} taken, ${twice} twice, ${outside} out of range, then ${last === null ? 'null' : 'more'}`;
}
poolExact.want = (size) => `${size} taken, 0 twice, 0 out of range, then null`;

// Adds the main thread made to the shared counters (section 2) before the workers ran.
const mainAdds = {};

// ---------------------------------------------------------------------------
// 8. Native backend against the simulator (child processes)
// ---------------------------------------------------------------------------

function backendsSection() {
  heading(`${BACKENDS_SECTION}. The same operations on each backend (ns per operation; child processes, alternating)`);
  const child = path.join(__dirname, 'lib', 'backend-child.cjs');
  const backends = native ? ['native', 'simulator'] : ['simulator'];
  const samples = {};
  const info = {};
  for (let r = 0; r < CONFIG.backendRounds; r++) {
    const order = r % 2 ? [...backends].reverse() : backends;
    for (const b of order) {
      const env = { ...process.env, RSEQ_BACKEND: b };
      const p = spawnSync(process.execPath, [child, entry, String(CONFIG.backendMs)], { env, encoding: 'utf8', maxBuffer: 16 << 20 });
      if (p.status !== 0) throw new Error(`bench: the ${b} child failed (${p.status}): ${p.stderr}`);
      const out = JSON.parse(p.stdout.trim().split('\n').pop());
      info[b] = { backend: out.backend, fallbackReason: out.fallbackReason, opCounts: out.opCounts };
      samples[b] = samples[b] || {};
      for (const [id, v] of Object.entries(out.results)) {
        samples[b][id] = samples[b][id] || { label: v.label, values: [] };
        samples[b][id].values.push(v.nsPerOp.median);
      }
    }
  }
  const ids = Object.keys(samples[backends[0]]);
  const byBackend = {};
  for (const b of backends) {
    byBackend[b] = {};
    for (const id of ids) byBackend[b][id] = { label: samples[b][id].label, nsPerOp: summary(samples[b][id].values) };
  }
  const header = ['operation'];
  for (const b of backends) header.push(`${b} ns median`, `${b} min`, `${b} max`);
  if (native) header.push('simulator / native');
  emit(
    header,
    ids.map((id) => {
      const row = [samples[backends[0]][id].label];
      for (const b of backends) row.push(fmt(byBackend[b][id].nsPerOp.median), fmt(byBackend[b][id].nsPerOp.min), fmt(byBackend[b][id].nsPerOp.max));
      if (native) row.push(fmt(paired(samples.simulator[id].values, samples.native[id].values).median));
      return row;
    }),
  );
  results.sections.backends = { unit: 'ns/op', rounds: CONFIG.backendRounds, byBackend, children: info };
  if (native) {
    results.ratios.simulatorOverNative = Object.fromEntries(ids.map((id) => [id, paired(samples.simulator[id].values, samples.native[id].values)]));
  }
}

// ---------------------------------------------------------------------------
// 9. rseq/metrics against prom-client (bench/metrics.cjs, a child process: its
// scrape section is a cluster primary)
// ---------------------------------------------------------------------------

function metricsSection() {
  heading('9. rseq/metrics against prom-client (bench/metrics.cjs)');
  const out = opts.write ? path.join(__dirname, 'results', `metrics-${stamp()}${opts.quick ? '-quick' : ''}.json`) : path.join(os.tmpdir(), `rseq-bench-metrics-${process.pid}.json`);
  const args = [path.join(__dirname, 'metrics.cjs'), '--out', out];
  if (opts.quick) args.push('--quick');
  if (opts.rounds !== null) args.push('--rounds', String(opts.rounds));
  const p = spawnSync(process.execPath, args, { stdio: 'inherit', env: process.env });
  if (p.status !== 0 && !fs.existsSync(out)) throw new Error(`bench: bench/metrics.cjs failed (${p.status})`);
  const r = JSON.parse(fs.readFileSync(out, 'utf8'));
  results.sections.metrics = { file: opts.write ? path.relative(ROOT, out) : null, targets: r.targets, ratios: r.ratios };
  for (const t of r.targets) results.targets.push({ ...t, id: `metrics-${t.id}`, description: `rseq/metrics: ${t.description}` });
  for (const c of r.checks) results.checks.push({ ...c, name: `metrics: ${c.name}` });
  if (!opts.write) fs.rmSync(out, { force: true });
}

// ---------------------------------------------------------------------------
// Targets and the default-path recommendation
// ---------------------------------------------------------------------------

function target(id, description, ratio, limit, kind, detail) {
  if (!ratio) {
    results.targets.push({ id, description, ratio: null, limit, met: null, detail: 'not measured in this run' });
    return;
  }
  const met = kind === 'max' ? ratio.median <= limit : ratio.median >= limit;
  results.targets.push({ id, description, ratio, limit, comparison: kind === 'max' ? '<=' : '>=', met, detail });
}

function targets() {
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
  const bw = CONFIG.bufferWorkers;
  const pw = CONFIG.poolWorkers;
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
  target('latency-p999', `p99.9 latency of one push + pop, ${CONFIG.latencyWorkers} workers on ${lat ? lat.cpus.length : CONFIG.latencyCpus} CPUs: PerCpuBuffer's at least 10x lower than the lock stack's (lock p99.9 / PerCpuBuffer p99.9, per run)`, R.latencyP999LockOverPercpu, 10, 'min',
    lat && `p50 / p99 / p99.9 us, all runs: PerCpuBuffer ${q('percpu-buffer', 'p50')} / ${q('percpu-buffer', 'p99')} / ${q('percpu-buffer', 'p999')}, lock stack ${q('lock-stack', 'p50')} / ${q('lock-stack', 'p99')} / ${q('lock-stack', 'p999')}, the clock reads alone ${q('clock-only', 'p50')} / ${q('clock-only', 'p99')} / ${q('clock-only', 'p999')}`);
}

/** The counter path that wins most comparisons (one thread: ns per add; each worker count: throughput). */
function recommend() {
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

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

function stamp() {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

async function main() {
  // Sections 1 and 2 ran above, on the main thread, before any worker started.
  if (native) {
    for (const [k, c] of Object.entries(ctx.counters)) if (c) mainAdds[k] = c.valueBigInt();
  }
  await workerSections();
  if (want('backends')) backendsSection();
  targets();
  recommend();
  if (want('metrics')) metricsSection();

  closeSection();
  const loads = Object.entries(results.machine.otherLoadBySection).filter(([, v]) => v !== null);
  if (loads.length) note(`Other work on the machine during each section, in CPUs of ${m.cpus}: ${loads.map(([k, v]) => `${k} ${v}`).join(', ')} (section ${BACKENDS_SECTION} counts its own child processes).`);
  results.machine.noisySections = loads.filter(([k, v]) => k !== BACKENDS_SECTION && v > 0.3).map(([k]) => k);
  if (results.machine.noisySections.length) {
    note(`WARNING: other work took more than 0.3 CPU during section(s) ${results.machine.noisySections.join(', ')}: their figures (and the targets built on them) are disturbed; run again on a quieter machine (--wait-quiet waits for one).`);
  }
  heading('Targets');
  emit(
    ['target', 'ratio (median of rounds)', 'min', 'max', 'limit', 'met'],
    results.targets.map((t) => [t.description, t.ratio ? fmt(t.ratio.median) : '-', t.ratio ? fmt(t.ratio.min) : '-', t.ratio ? fmt(t.ratio.max) : '-', `${t.comparison || ''} ${t.limit}`, t.met === null ? 'not run' : t.met ? 'met' : 'MISSED']),
  );
  const details = results.targets.filter((t) => t.detail).map((t) => `- ${t.id}: ${t.detail}`);
  if (details.length) note(details.join('\n'));
  if (results.recommendation) {
    const rec = results.recommendation;
    const tally = Object.entries(rec.wins).map(([p, n]) => `'${p}' ${n}`).join(', ');
    note(`Counter path from these figures: '${rec.defaultPath}' (fastest in ${rec.wins[rec.defaultPath]} of ${rec.comparisons} comparisons: ${tally}; the default now is '${rec.currentDefault}'): ${rec.figures.join('; ')}.`);
  }
  const failedChecks = results.checks.filter((c) => !c.ok);
  if (results.checks.length) note(`Checks: ${results.checks.length - failedChecks.length} of ${results.checks.length} passed${failedChecks.length ? `; FAILED: ${failedChecks.map((c) => `${c.name} (got ${c.got}, want ${c.want})`).join(', ')}` : ''}.`);
  results.machine.loadavgAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));

  if (opts.write) {
    const file = opts.out || path.join(__dirname, 'results', `${stamp()}${opts.quick ? '-quick' : ''}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    const mdFile = file.replace(/\.json$/, '') + '.md';
    const head = `## rseq benchmarks, ${results.date}${opts.quick ? ' (quick)' : ''}\n\n${m.cpus} x ${m.model}, Linux ${m.kernel}, Node ${m.node}; backend ${m.rseq.backend}, area ${m.rseq.areaAccess}, registration ${m.rseq.registrationOwner}, feature size ${m.rseq.featureSize}, ${m.rseq.libc}. ${CONFIG.rounds} rounds, median (min, max). Load average at start ${m.loadavgAtStart.join(' ')}, at end ${results.machine.loadavgAtEnd.join(' ')}.\n`;
    fs.writeFileSync(mdFile, `${head}${md.join('\n')}\n`);
    log(`\nresults: ${path.relative(process.cwd(), file)}`);
    log(`tables:  ${path.relative(process.cwd(), mdFile)}`);
    if (!opts.quick && results.sections.workers) {
      const { writeChart } = require('./chart.cjs');
      const svg = file.replace(/\.json$/, '') + '.svg';
      writeChart(results, svg);
      log(`chart:   ${path.relative(process.cwd(), svg)}`);
    }
  }
  if (failedChecks.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
