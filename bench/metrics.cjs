#!/usr/bin/env node
'use strict';
// rseq/metrics against prom-client 15.1.3, side by side in one run.
//
//   node bench/metrics.cjs              full run (about 2 minutes), writes
//                                       bench/results/metrics-<date>.json, .md and .svg
//   node bench/metrics.cjs --quick      a short smoke run (writes metrics-<date>-quick.json, .md)
//   options: --rounds N  --only thread,scrape  --workers 1,4,8  --requests N
//            --out FILE (the JSON; .md and .svg beside it)  --no-write
//            --wait-quiet[=SECONDS]  (as bench/run.cjs)
//
// 1. thread   one thread, ns per request: one labelled counter inc + one
//             labelled histogram observe (and each alone), rseq/metrics
//             against prom-client; bound children (labels(...)) of both
//             against plain JavaScript (f[0] += 1 on a Float64Array, and a
//             linear search of the 6 bounds + three adds). Every contender
//             is its own compiled loop (lib/micro.cjs), alternating, rounds
//             rotating; ratios are medians of per-round ratios.
// 2. scrape   W = 1, 4, 8 workers each made --requests requests (the same
//             workload), then the main thread (the cluster primary) scrapes,
//             ms per scrape: rseq/metrics' registry.metrics() (reads the
//             shared memory), the same through a prom-client Registry
//             (rseq/metrics/prom-client, when built), prom-client in
//             worker_threads (one registry per thread: getMetricsAsJSON()
//             over postMessage, then AggregatorRegistry.aggregate, which is
//             what an application has to build: prom-client has no
//             worker_threads support), and prom-client's AggregatorRegistry
//             over `cluster` with W worker processes (clusterMetrics()).
//             Every scrape's text is checked once against the exact totals.
//
// Needs the built package (npm run build:ts) and prom-client (a devDependency).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const cluster = require('node:cluster');
const { Worker } = require('node:worker_threads');

const { summary, median, fmt, table, markdownTable, round4 } = require('./lib/stats.cjs');
const { runAlternating } = require('./lib/micro.cjs');
const { cpuSnapshot, otherLoad, waitQuiet } = require('./lib/machine.cjs');
const W = require('./lib/metrics-workload.cjs');
const { makeRseq } = require('./lib/metrics-rseq.cjs');

const ROOT = path.resolve(__dirname, '..');
const SECTIONS = ['thread', 'scrape'];

function usage(error) {
  const text = 'usage: node bench/metrics.cjs [--quick] [--rounds N] [--only thread,scrape] [--workers 1,4,8] [--requests N] [--out FILE] [--no-write] [--wait-quiet[=SECONDS]]';
  if (error) {
    console.error(`bench/metrics: ${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

function parseArgs(argv) {
  const o = { quick: false, rounds: null, only: null, out: null, write: true, waitQuiet: 0, workers: [1, 4, 8], requests: null };
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
    else if (a.startsWith('--requests')) o.requests = Number(value());
    else if (a.startsWith('--workers')) o.workers = value().split(',').map(Number);
    else if (a.startsWith('--only')) o.only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a.startsWith('--out')) o.out = path.resolve(value());
    else if (a === '--help' || a === '-h') usage(null);
    else usage(`unknown argument ${a}`);
  }
  if (o.rounds !== null && !(Number.isInteger(o.rounds) && o.rounds >= 1)) usage('--rounds takes a positive integer');
  if (o.requests !== null && !(Number.isInteger(o.requests) && o.requests >= 1)) usage('--requests takes a positive integer');
  if (!o.workers.every((w) => Number.isInteger(w) && w >= 1 && w <= 64)) usage('--workers takes counts from 1 to 64');
  for (const s of o.only || []) if (!SECTIONS.includes(s)) usage(`--only: unknown section ${s} (sections: ${SECTIONS.join(', ')})`);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const CONFIG = opts.quick
  ? { rounds: 2, microMs: 5, scrapeMs: 20, requests: 2000, workers: opts.workers }
  : { rounds: 7, microMs: 40, scrapeMs: 150, requests: 50000, workers: opts.workers };
if (opts.rounds !== null) CONFIG.rounds = opts.rounds;
if (opts.requests !== null) CONFIG.requests = opts.requests;
const want = (s) => !opts.only || opts.only.includes(s);

const prom = require('prom-client');
const promVersion = require('prom-client/package.json').version;
/** rseq/metrics/prom-client, or null before it is built. */
function loadPromAdapter() {
  try {
    return require('rseq/metrics/prom-client');
  } catch {
    return null;
  }
}

const results = {
  schema: 1,
  kind: 'metrics',
  date: new Date().toISOString(),
  quick: opts.quick,
  argv: process.argv.slice(2),
  machine: {
    cpus: os.cpus().length,
    model: os.cpus()[0] ? os.cpus()[0].model : 'unknown',
    kernel: os.release(),
    node: process.version,
    promClient: promVersion,
    loadavgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    otherLoadBySection: {},
    waitQuiet: opts.waitQuiet > 0 ? waitQuiet(opts.waitQuiet) : null,
  },
  config: CONFIG,
  sections: {},
  ratios: {},
  targets: [],
  checks: [],
  notes: [],
};
const md = [];

function log(s = '') {
  process.stdout.write(`${s}\n`);
}
function emit(header, rows) {
  log(table(header, rows));
  md.push(markdownTable(header, rows));
}
function note(s) {
  log(s);
  md.push(`\n${s}\n`);
  results.notes.push(s);
}
let sectionSnap = null;
let sectionName = null;
function closeSection() {
  if (sectionName !== null) results.machine.otherLoadBySection[sectionName] = otherLoad(sectionSnap, cpuSnapshot());
  sectionName = null;
}
function heading(title) {
  closeSection();
  sectionName = title.split(' ')[0].replace(/\.$/, '');
  if (opts.waitQuiet > 0 && sectionName !== 'Targets') waitQuiet(Math.min(300, opts.waitQuiet), 2000);
  sectionSnap = cpuSnapshot();
  log(`\n== ${title} ==`);
  md.push(`\n### ${title}\n`);
}
/** Median/min/max of per-round ratios a[i] / b[i]. */
function paired(a, b) {
  const r = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) r.push(a[i] / b[i]);
  const s = summary(r);
  return { median: round4(s.median), min: round4(s.min), max: round4(s.max) };
}
function check(name, ok, got, wantText) {
  results.checks.push({ name, ok, got, want: wantText });
  if (!ok) log(`CHECK FAILED: ${name}: got ${got}, want ${wantText}`);
}

log(`rseq/metrics against prom-client ${promVersion}${opts.quick ? ' (quick)' : ''}: ${results.machine.cpus} x ${results.machine.model}, Linux ${results.machine.kernel}, Node ${process.version}`);
log(`rounds ${CONFIG.rounds}; figures are the median of the rounds (min, max)`);

// ---------------------------------------------------------------------------
// 1. One thread
// ---------------------------------------------------------------------------

const LABELLED = 'const l = L[i & 7];';
const THREAD = [
  // Per request: one labelled inc + one labelled observe.
  { id: 'rseq-request', group: 'request', label: 'rseq/metrics: counter.inc(labels) + histogram.observe(labels, v)', setup: 'const c = ctx.rs.counter, h = ctx.rs.histogram, L = ctx.L, V = ctx.V;', body: `${LABELLED} c.inc(l); h.observe(l, V[i & 1023]);` },
  { id: 'prom-request', group: 'request', label: 'prom-client: counter.inc(labels) + histogram.observe(labels, v)', setup: 'const c = ctx.pc.counter, h = ctx.pc.histogram, L = ctx.L, V = ctx.V;', body: `${LABELLED} c.inc(l); h.observe(l, V[i & 1023]);` },
  { id: 'rseq-inc', group: 'inc', label: 'rseq/metrics: counter.inc(labels)', setup: 'const c = ctx.rs.counter, L = ctx.L;', body: `${LABELLED} c.inc(l);` },
  { id: 'prom-inc', group: 'inc', label: 'prom-client: counter.inc(labels)', setup: 'const c = ctx.pc.counter, L = ctx.L;', body: `${LABELLED} c.inc(l);` },
  { id: 'rseq-observe', group: 'observe', label: 'rseq/metrics: histogram.observe(labels, v)', setup: 'const h = ctx.rs.histogram, L = ctx.L, V = ctx.V;', body: `${LABELLED} h.observe(l, V[i & 1023]);` },
  { id: 'prom-observe', group: 'observe', label: 'prom-client: histogram.observe(labels, v)', setup: 'const h = ctx.pc.histogram, L = ctx.L, V = ctx.V;', body: `${LABELLED} h.observe(l, V[i & 1023]);` },
  // Bound children, against plain JavaScript.
  { id: 'rseq-bound-request', group: 'bound request', label: 'rseq/metrics: bound child inc() + bound child observe(v)', setup: 'const c = ctx.rs.cchild, h = ctx.rs.hchild, V = ctx.V;', body: 'c.inc(); h.observe(V[i & 1023]);' },
  { id: 'prom-bound-request', group: 'bound request', label: 'prom-client: bound child inc() + bound child observe(v)', setup: 'const c = ctx.pc.cchild, h = ctx.pc.hchild, V = ctx.V;', body: 'c.inc(); h.observe(V[i & 1023]);' },
  { id: 'plain-request', group: 'bound request', label: 'plain JS: f[0] += 1, then the bucket search + 3 adds', setup: 'const f = ctx.plain.counter, hc = ctx.plain.buckets, hs = ctx.plain.sumCount, B = ctx.plain.bounds, V = ctx.V;', body: 'f[0] += 1; const v = V[i & 1023]; let b = 0; while (b < 6 && v > B[b]) b++; hc[b] += 1; hs[0] += v; hs[1] += 1;' },
  { id: 'rseq-bound-inc', group: 'bound inc', label: 'rseq/metrics: bound child inc()', setup: 'const c = ctx.rs.cchild;', body: 'c.inc();' },
  { id: 'prom-bound-inc', group: 'bound inc', label: 'prom-client: bound child inc()', setup: 'const c = ctx.pc.cchild;', body: 'c.inc();' },
  { id: 'plain-inc', group: 'bound inc', label: 'plain JS: f[0] += 1 (Float64Array)', setup: 'const f = ctx.plain.counter;', body: 'f[0] += 1;' },
  { id: 'rseq-bound-observe', group: 'bound observe', label: 'rseq/metrics: bound child observe(v)', setup: 'const h = ctx.rs.hchild, V = ctx.V;', body: 'h.observe(V[i & 1023]);' },
  { id: 'prom-bound-observe', group: 'bound observe', label: 'prom-client: bound child observe(v)', setup: 'const h = ctx.pc.hchild, V = ctx.V;', body: 'h.observe(V[i & 1023]);' },
  { id: 'plain-observe', group: 'bound observe', label: 'plain JS: linear search of 6 bounds, counts[b] += 1, sum += v, count += 1', setup: 'const hc = ctx.plain.buckets, hs = ctx.plain.sumCount, B = ctx.plain.bounds, V = ctx.V;', body: 'const v = V[i & 1023]; let b = 0; while (b < 6 && v > B[b]) b++; hc[b] += 1; hs[0] += v; hs[1] += 1;' },
];

function threadSection() {
  heading('1. One thread (ns per operation)');
  const rs = makeRseq();
  const pr = new prom.Registry();
  const pc = { counter: new prom.Counter({ ...W.COUNTER, registers: [pr] }), histogram: new prom.Histogram({ ...W.HISTOGRAM, registers: [pr] }) };
  pc.cchild = pc.counter.labels('/a', '200');
  pc.hchild = pc.histogram.labels('/a', '200');
  const ctx = {
    rs: { counter: rs.counter, histogram: rs.histogram, cchild: rs.counter.labels('/a', '200'), hchild: rs.histogram.labels('/a', '200') },
    pc,
    L: W.labelSets(),
    V: W.durations(),
    plain: { counter: new Float64Array(8), buckets: new Float64Array(8), sumCount: new Float64Array(8), bounds: Float64Array.from(W.HISTOGRAM.buckets) },
  };
  const r = runAlternating(THREAD, ctx, { rounds: CONFIG.rounds, targetMs: CONFIG.microMs });
  const s = (id) => r[id].nsPerOp.samples;
  const rows = THREAD.map((c) => {
    const x = r[c.id].nsPerOp;
    const vsProm = c.id.startsWith('rseq-') ? fmt(paired(s(c.id.replace('rseq-', 'prom-')), s(c.id)).median) : '-';
    const plainId = { 'bound request': 'plain-request', 'bound inc': 'plain-inc', 'bound observe': 'plain-observe' }[c.group];
    const vsPlain = plainId && plainId !== c.id ? fmt(paired(s(c.id), s(plainId)).median) : '-';
    return [c.label, fmt(x.median), fmt(x.min), fmt(x.max), vsProm, vsPlain];
  });
  emit(['operation', 'ns median', 'min', 'max', 'prom-client / rseq', 'x plain JS'], rows);
  note('"prom-client / rseq": how many times faster rseq/metrics ran than prom-client\'s same call (median of per-round ratios). "x plain JS": this / the plain-JavaScript loop of the same work. Labelled calls rotate over 8 label objects made once (4 routes x 2 codes); bound children are labels(\'/a\', \'200\').');
  results.sections.thread = { unit: 'ns/op', contenders: r, groups: Object.fromEntries(THREAD.map((c) => [c.id, c.group])) };
  for (const k of ['request', 'inc', 'observe', 'bound-request', 'bound-inc', 'bound-observe']) results.ratios[`prom-${k}/rseq-${k}`] = paired(s(`prom-${k}`), s(`rseq-${k}`));
  for (const k of ['request', 'inc', 'observe']) results.ratios[`rseq-bound-${k}/plain-${k}`] = paired(s(`rseq-bound-${k}`), s(`plain-${k}`));
  // The recorded values are real: one check that both sides counted every labelled call.
  return { rs, pr };
}

// ---------------------------------------------------------------------------
// 2. Scrape
// ---------------------------------------------------------------------------

function onceMessage(target, what) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      cleanup();
      if (typeof m === 'string' && m.startsWith('error')) reject(new Error(`${what}: ${m}`));
      else resolve(m);
    };
    const onError = (e) => {
      cleanup();
      reject(e);
    };
    const onExit = (code) => {
      cleanup();
      reject(new Error(`${what} exited (${code}) before it was ready`));
    };
    const cleanup = () => {
      target.off('message', onMessage);
      target.off('error', onError);
      target.off('exit', onExit);
    };
    target.on('message', onMessage);
    target.on('error', onError);
    target.on('exit', onExit);
  });
}

async function startThreads(kind, n, extra) {
  const workers = [];
  for (let i = 0; i < n; i++) {
    workers.push(new Worker(path.join(__dirname, 'lib', 'metrics-thread.cjs'), { workerData: { kind, index: i, count: CONFIG.requests, ...extra } }));
  }
  await Promise.all(workers.map((w, i) => onceMessage(w, `${kind} worker ${i}`)));
  return workers;
}

/** prom-client in worker_threads: every worker's getMetricsAsJSON() over postMessage, aggregated as prom-client's cluster support does. */
function threadScraper(workers) {
  let next = 0;
  return async () => {
    const id = next++;
    const answers = await Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve) => {
            const on = (m) => {
              if (m && m.id === id) {
                w.off('message', on);
                resolve(m.metrics);
              }
            };
            w.on('message', on);
            w.postMessage({ scrape: id });
          }),
      ),
    );
    return prom.AggregatorRegistry.aggregate(answers).metrics();
  };
}

async function startCluster(n) {
  cluster.setupPrimary({ exec: path.join(__dirname, 'lib', 'metrics-cluster.cjs'), silent: false });
  const workers = [];
  for (let i = 0; i < n; i++) workers.push(cluster.fork({ RSEQ_BENCH_COUNT: String(CONFIG.requests), RSEQ_BENCH_INDEX: String(i) }));
  await Promise.all(workers.map((w, i) => onceMessage(w, `cluster worker ${i}`)));
  return workers;
}

async function stopCluster(workers) {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((resolve) => {
          if (w.isDead()) return resolve();
          w.once('exit', resolve);
          w.kill();
        }),
    ),
  );
}

/** One sample: scrapes for about ms (at least 3), the median ms of one. */
async function sample(fn, ms) {
  const times = [];
  const end = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
  while (times.length < 3 || process.hrtime.bigint() < end) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

async function scrapeSection() {
  heading(`2. Scrape (ms per scrape; each worker made ${CONFIG.requests} requests first)`);
  const adapter = loadPromAdapter();
  if (!adapter) note('rseq/metrics/prom-client is not built: its contender is left out.');
  const agg = new prom.AggregatorRegistry();
  const byWorkers = {};
  const contenderLabels = {};
  for (const w of CONFIG.workers) {
    const rs = makeRseq();
    const rsThreads = await startThreads('rseq', w, { buffer: rs.registry.buffer });
    const promThreads = await startThreads('prom', w, {});
    const procs = await startCluster(w);
    const list = [{ id: 'rseq', label: 'rseq/metrics: registry.metrics() (worker_threads, shared memory)', fn: () => rs.registry.metrics() }];
    if (adapter) {
      const pr = new prom.Registry();
      adapter.registerWithPromClient(rs.registry, pr);
      list.push({ id: 'rseq-prom', label: 'rseq/metrics through a prom-client Registry (rseq/metrics/prom-client)', fn: () => pr.metrics() });
    }
    list.push({ id: 'prom-threads', label: 'prom-client per worker_thread: getMetricsAsJSON() over postMessage + AggregatorRegistry.aggregate', fn: threadScraper(promThreads) });
    list.push({ id: 'prom-cluster', label: 'prom-client AggregatorRegistry.clusterMetrics(), cluster worker processes', fn: () => agg.clusterMetrics() });
    try {
      for (const c of list) {
        contenderLabels[c.id] = c.label;
        const diff = W.compareExposition(await c.fn(), w, CONFIG.requests);
        check(`scrape ${c.id}, ${w} workers: every sample exact`, diff === null, diff || 'exact', 'exact');
      }
      const samples = Object.fromEntries(list.map((c) => [c.id, []]));
      for (let r = 0; r < CONFIG.rounds; r++) {
        for (let k = 0; k < list.length; k++) {
          const c = list[(k + r) % list.length];
          samples[c.id].push(await sample(c.fn, CONFIG.scrapeMs));
        }
      }
      byWorkers[w] = Object.fromEntries(list.map((c) => [c.id, { label: c.label, msPerScrape: summary(samples[c.id]) }]));
      for (const c of list) if (c.id !== 'rseq') results.ratios[`scrape${w}-${c.id}/rseq`] = paired(samples[c.id], samples.rseq);
    } finally {
      await Promise.all([...rsThreads, ...promThreads].map((t) => t.terminate()));
      await stopCluster(procs);
    }
  }
  const ids = Object.keys(contenderLabels);
  const rows = [];
  for (const w of CONFIG.workers) {
    for (const id of ids) {
      const x = byWorkers[w][id];
      if (!x) continue;
      const ratio = id === 'rseq' ? '-' : fmt(results.ratios[`scrape${w}-${id}/rseq`].median);
      rows.push([String(w), x.label, fmt(x.msPerScrape.median), fmt(x.msPerScrape.min), fmt(x.msPerScrape.max), ratio]);
    }
  }
  emit(['workers', 'scrape', 'ms median', 'min', 'max', 'this / rseq'], rows);
  note(`One sample = the median scrape of a ${CONFIG.scrapeMs} ms burst (at least 3 scrapes); median (min, max) of ${CONFIG.rounds} rounds, contenders rotating. 8 counter series and 8 histogram series (6 buckets + +Inf), ${CONFIG.requests} requests per worker; every contender's text was checked once against the exact totals.`);
  results.sections.scrape = { unit: 'ms/scrape', requests: CONFIG.requests, workerCounts: CONFIG.workers, contenders: contenderLabels, byWorkers };
}

// ---------------------------------------------------------------------------
// Targets
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
  const t = results.sections.thread;
  const ns = (id) => (t ? fmt(t.contenders[id].nsPerOp.median) : '-');
  target('labelled-inc', 'labelled counter.inc(labels): prom-client ns / rseq/metrics ns', R['prom-inc/rseq-inc'], 3, 'min', t && `rseq ${ns('rseq-inc')} ns, prom-client ${ns('prom-inc')} ns`);
  target('labelled-observe', 'labelled histogram.observe(labels, v): prom-client ns / rseq/metrics ns', R['prom-observe/rseq-observe'], 3, 'min', t && `rseq ${ns('rseq-observe')} ns, prom-client ${ns('prom-observe')} ns`);
  target('labelled-request', 'one labelled inc + one labelled observe: prom-client ns / rseq/metrics ns', R['prom-request/rseq-request'], 3, 'min', t && `rseq ${ns('rseq-request')} ns, prom-client ${ns('prom-request')} ns`);
  target('bound-inc', 'bound child inc(): rseq/metrics ns / plain f[0] += 1 ns', R['rseq-bound-inc/plain-inc'], 2, 'max', t && `rseq ${ns('rseq-bound-inc')} ns, plain ${ns('plain-inc')} ns`);
  target('bound-observe', 'bound child observe(v): rseq/metrics ns / plain bucket search + adds ns', R['rseq-bound-observe/plain-observe'], 2, 'max', t && `rseq ${ns('rseq-bound-observe')} ns, plain ${ns('plain-observe')} ns`);
  target('bound-request', 'bound inc() + bound observe(v): rseq/metrics ns / plain JS ns', R['rseq-bound-request/plain-request'], 2, 'max', t && `rseq ${ns('rseq-bound-request')} ns, plain ${ns('plain-request')} ns`);
}

function stamp() {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

async function main() {
  if (want('thread')) threadSection();
  if (want('scrape')) await scrapeSection();
  targets();
  closeSection();
  const loads = Object.entries(results.machine.otherLoadBySection).filter(([, v]) => v !== null);
  if (loads.length) note(`Other work on the machine during each section, in CPUs of ${results.machine.cpus}: ${loads.map(([k, v]) => `${k} ${v}`).join(', ')} (section 2 counts its own worker processes).`);
  heading('Targets');
  emit(
    ['target', 'ratio (median of rounds)', 'min', 'max', 'limit', 'met'],
    results.targets.map((x) => [x.description, x.ratio ? fmt(x.ratio.median) : '-', x.ratio ? fmt(x.ratio.min) : '-', x.ratio ? fmt(x.ratio.max) : '-', `${x.comparison || ''} ${x.limit}`, x.met === null ? 'not run' : x.met ? 'met' : 'MISSED']),
  );
  const details = results.targets.filter((x) => x.detail).map((x) => `- ${x.id}: ${x.detail}`);
  if (details.length) note(details.join('\n'));
  const failed = results.checks.filter((c) => !c.ok);
  if (results.checks.length) note(`Checks: ${results.checks.length - failed.length} of ${results.checks.length} passed${failed.length ? `; FAILED: ${failed.map((c) => `${c.name} (${c.got})`).join(', ')}` : ''}.`);
  results.machine.loadavgAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
  if (opts.write) {
    const file = opts.out || path.join(__dirname, 'results', `metrics-${stamp()}${opts.quick ? '-quick' : ''}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    const m = results.machine;
    const mdFile = `${file.replace(/\.json$/, '')}.md`;
    fs.writeFileSync(mdFile, `## rseq/metrics against prom-client ${promVersion}, ${results.date}${opts.quick ? ' (quick)' : ''}\n\n${m.cpus} x ${m.model}, Linux ${m.kernel}, Node ${m.node}. ${CONFIG.rounds} rounds, median (min, max). Load average at start ${m.loadavgAtStart.join(' ')}, at end ${m.loadavgAtEnd.join(' ')}.\n${md.join('\n')}\n`);
    log(`\nresults: ${path.relative(process.cwd(), file)}`);
    log(`tables:  ${path.relative(process.cwd(), mdFile)}`);
    if (!opts.quick && results.sections.thread && results.sections.scrape) {
      const svg = `${file.replace(/\.json$/, '')}.svg`;
      require('./metrics-chart.cjs').writeMetricsChart(results, svg);
      log(`chart:   ${path.relative(process.cwd(), svg)}`);
    }
  }
  if (failed.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
