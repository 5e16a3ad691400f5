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
// Sections, each in bench/run/<name>.cjs (the name --only takes):
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
// Sections 3 to 7 share one pool of workers; after them, bench/run/checks.cjs
// checks that every operation landed. The targets (bench/run/targets.cjs)
// are checked at the end; each is a median of per-round ratios from one of
// these sections (the latency target: of the per-round p99.9s).

const fs = require('node:fs');
const path = require('node:path');

const { parseOptions } = require('./lib/options.cjs');
const { Report } = require('./lib/report.cjs');
const { WorkerPool } = require('./lib/worker-pool.cjs');
const contenders = require('./lib/contenders.cjs');

const ROOT = path.resolve(__dirname, '..');
const SECTIONS = ['cpuid', 'add', 'workers', 'native', 'buffer', 'pool', 'latency', 'backends', 'metrics'];
/** The sections that run on the worker pool, in their order. */
const POOL_SECTIONS = ['workers', 'native', 'buffer', 'pool', 'latency'];

const opts = parseOptions(process.argv.slice(2), {
  prefix: 'bench',
  usage: `usage: node bench/run.cjs [--quick] [--rounds N] [--only ${SECTIONS.join(',')}] [--out FILE] [--no-write] [--wait-quiet[=SECONDS]]`,
  sections: SECTIONS,
});
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
// Set-up: the package on the development addon
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

// How the structures cross into the addon: 'napi', or 'ffi' (RSEQ_FFI=1 under Node 26 with --no-concurrent-recompilation).
let crossing = null;
if (native) {
  const counter = new pkg.PerCpuCounter({ path: 'rseq' });
  counter.add(1); // binds the region
  crossing = counter.region.crossing;
}
const report = new Report({ opts, config: CONFIG, rseq, machineExtra: { crossing }, tail: { recommendation: null } });
const { results } = report;
const m = results.machine;
report.log(`rseq benchmarks${opts.quick ? ' (quick)' : ''}: ${m.cpus} x ${m.model}, Linux ${m.kernel}, Node ${m.node}`);
report.log(`backend ${m.rseq.backend}${m.rseq.fallbackReason ? ` (${m.rseq.fallbackReason})` : ''}${m.crossing ? `, structures through ${m.crossing}` : ''}${m.nodeFlags.length ? `, node ${m.nodeFlags.join(' ')}` : ''}, area ${m.rseq.areaAccess}, registration ${m.rseq.registrationOwner}, feature size ${m.rseq.featureSize}, libc ${m.rseq.libc}`);
report.log(`rounds ${CONFIG.rounds}; figures are the median of the rounds (min, max)`);

/**
 * What every section gets: the options and sizes, the report, the package
 * and the addon, and the shared state of the contenders (ctx on the main
 * thread, wire for the workers).
 */
const run = { opts, config: CONFIG, want, report, results, rseq, pkg, native, binding, entry, addonPath, root: ROOT };
if (!native) {
  report.note(`The native backend is not in use (${rseq.fallbackReason}); only the backend comparison (section ${require('./run/backends.cjs').NUMBER}, simulator side) runs.`);
}
run.wire = native ? contenders.makeShared(pkg, results.notes) : null;
run.ctx = native ? contenders.makeCtx(pkg, run.wire, 0, 8) : null;
for (const n of results.notes) report.note(n);
/** The default counter's path ('atomics' before path 'lane' exists). */
run.defaultPath = run.ctx ? run.ctx.counters.default.path : null;
/** The list's contenders whose counter exists, the default counter's label naming its path. */
run.present = (list) => contenders.available(list, run.ctx).map((c) => (c.id === 'counter-default' ? { ...c, label: `${c.label}, path '${run.defaultPath}'` } : c));
/** Adds the main thread made to the shared counters (section 2) before the workers ran. */
run.mainAdds = {};

const section = (name) => require(`./run/${name}.cjs`);

async function main() {
  // Sections 1 and 2 on the main thread, before any worker starts.
  if (native && want('cpuid')) section('cpuid')(run);
  if (native && want('add')) section('add')(run);
  if (native) {
    for (const [k, c] of Object.entries(run.ctx.counters)) if (c) run.mainAdds[k] = c.valueBigInt();
  }
  // Sections 3 to 7 on one pool of workers, then the checks of what they did.
  const pooled = POOL_SECTIONS.filter(want);
  if (native && pooled.length) {
    const size = Math.max(...CONFIG.workerCounts, CONFIG.bufferWorkers, ...CONFIG.nativeThreads, CONFIG.poolWorkers, CONFIG.latencyWorkers);
    const pool = new WorkerPool({ size, entry, addonPath, wire: run.wire, batch: 256 });
    await pool.start();
    try {
      const totals = {};
      for (const name of pooled) section(name)(run, pool, totals);
      require('./run/checks.cjs')(run, totals);
    } finally {
      await pool.close();
    }
  }
  if (want('backends')) section('backends')(run);
  const { targets, recommend } = require('./run/targets.cjs');
  targets(run);
  recommend(run);
  if (want('metrics')) section('metrics')(run);

  const backends = require('./run/backends.cjs').NUMBER;
  const loads = report.noteOtherLoad(`section ${backends} counts its own child processes`);
  m.noisySections = loads.filter(([k, v]) => k !== backends && v > 0.3).map(([k]) => k);
  if (m.noisySections.length) {
    report.note(`WARNING: other work took more than 0.3 CPU during section(s) ${m.noisySections.join(', ')}: their figures (and the targets built on them) are disturbed; run again on a quieter machine (--wait-quiet waits for one).`);
  }
  report.targetsTable();
  if (results.recommendation) {
    const rec = results.recommendation;
    const tally = Object.entries(rec.wins).map(([p, n]) => `'${p}' ${n}`).join(', ');
    report.note(`Counter path from these figures: '${rec.defaultPath}' (fastest in ${rec.wins[rec.defaultPath]} of ${rec.comparisons} comparisons: ${tally}; the default now is '${rec.currentDefault}'): ${rec.figures.join('; ')}.`);
  }
  const failedChecks = results.checks.filter((c) => !c.ok);
  if (results.checks.length) report.note(`Checks: ${results.checks.length - failedChecks.length} of ${results.checks.length} passed${failedChecks.length ? `; FAILED: ${failedChecks.map((c) => `${c.name} (got ${c.got}, want ${c.want})`).join(', ')}` : ''}.`);

  const file = report.write({
    head: (mm) =>
      `## rseq benchmarks, ${results.date}${opts.quick ? ' (quick)' : ''}\n\n${mm.cpus} x ${mm.model}, Linux ${mm.kernel}, Node ${mm.node}${mm.nodeFlags?.length ? ` (${mm.nodeFlags.join(' ')})` : ''}; backend ${mm.rseq.backend}${mm.crossing ? `, structures through ${mm.crossing}` : ''}, area ${mm.rseq.areaAccess}, registration ${mm.rseq.registrationOwner}, feature size ${mm.rseq.featureSize}, ${mm.rseq.libc}. ${CONFIG.rounds} rounds, median (min, max). Load average at start ${mm.loadavgAtStart.join(' ')}, at end ${mm.loadavgAtEnd.join(' ')}.\n`,
  });
  if (file && !opts.quick && results.sections.workers) {
    const { writeChart } = require('./chart.cjs');
    const svg = `${file.replace(/\.json$/, '')}.svg`;
    writeChart(results, svg);
    report.log(`chart:   ${path.relative(process.cwd(), svg)}`);
  }
  if (failedChecks.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
