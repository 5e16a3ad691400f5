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
// Sections, each in bench/metrics/<name>.cjs (the name --only takes):
//   1 thread   one thread, ns per request: labelled calls against
//              prom-client's, bound children against plain JavaScript
//   2 scrape   1, 4, 8 workers made requests; ms per scrape from the main
//              thread, against prom-client in worker_threads and in cluster
// The workload (bench/metrics/workload.cjs) is the same for every contender;
// the targets are in bench/metrics/targets.cjs.
//
// Needs the built package (npm run build:ts) and prom-client (a devDependency).

const path = require('node:path');

const { parseOptions } = require('./lib/options.cjs');
const { Report } = require('./lib/report.cjs');

const SECTIONS = ['thread', 'scrape'];

const opts = parseOptions(process.argv.slice(2), {
  prefix: 'bench/metrics',
  usage: 'usage: node bench/metrics.cjs [--quick] [--rounds N] [--only thread,scrape] [--workers 1,4,8] [--requests N] [--out FILE] [--no-write] [--wait-quiet[=SECONDS]]',
  sections: SECTIONS,
  defaults: { workers: [1, 4, 8], requests: null },
  extra: {
    '--requests': (o, value) => (o.requests = Number(value())),
    '--workers': (o, value) => (o.workers = value().split(',').map(Number)),
  },
  check: (o, fail) => {
    if (o.requests !== null && !(Number.isInteger(o.requests) && o.requests >= 1)) fail('--requests takes a positive integer');
    if (!o.workers.every((w) => Number.isInteger(w) && w >= 1 && w <= 64)) fail('--workers takes counts from 1 to 64');
  },
});
const CONFIG = opts.quick
  ? { rounds: 2, microMs: 5, scrapeMs: 20, requests: 2000, workers: opts.workers }
  : { rounds: 7, microMs: 40, scrapeMs: 150, requests: 50000, workers: opts.workers };
if (opts.rounds !== null) CONFIG.rounds = opts.rounds;
if (opts.requests !== null) CONFIG.requests = opts.requests;
const want = (s) => !opts.only || opts.only.includes(s);

const prom = require('prom-client');
const promVersion = require('prom-client/package.json').version;

const report = new Report({ opts, config: CONFIG, machineExtra: { promClient: promVersion }, head: { kind: 'metrics' }, notesInResults: true });
const { results } = report;

/** What every section gets: the sizes, the report, prom-client, and check(). */
const run = {
  opts,
  config: CONFIG,
  report,
  results,
  prom,
  check(name, ok, got, wantText) {
    results.checks.push({ name, ok, got, want: wantText });
    if (!ok) report.log(`CHECK FAILED: ${name}: got ${got}, want ${wantText}`);
  },
};

report.log(`rseq/metrics against prom-client ${promVersion}${opts.quick ? ' (quick)' : ''}: ${results.machine.cpus} x ${results.machine.model}, Linux ${results.machine.kernel}, Node ${process.version}`);
report.log(`rounds ${CONFIG.rounds}; figures are the median of the rounds (min, max)`);

async function main() {
  if (want('thread')) require('./metrics/thread.cjs')(run);
  if (want('scrape')) await require('./metrics/scrape.cjs')(run);
  require('./metrics/targets.cjs')(run);
  report.noteOtherLoad('section 2 counts its own worker processes');
  report.targetsTable();
  const failed = results.checks.filter((c) => !c.ok);
  if (results.checks.length) report.note(`Checks: ${results.checks.length - failed.length} of ${results.checks.length} passed${failed.length ? `; FAILED: ${failed.map((c) => `${c.name} (${c.got})`).join(', ')}` : ''}.`);
  const file = report.write({
    prefix: 'metrics-',
    head: (m) => `## rseq/metrics against prom-client ${promVersion}, ${results.date}${opts.quick ? ' (quick)' : ''}\n\n${m.cpus} x ${m.model}, Linux ${m.kernel}, Node ${m.node}. ${CONFIG.rounds} rounds, median (min, max). Load average at start ${m.loadavgAtStart.join(' ')}, at end ${m.loadavgAtEnd.join(' ')}.\n`,
  });
  if (file && !opts.quick && results.sections.thread && results.sections.scrape) {
    const svg = `${file.replace(/\.json$/, '')}.svg`;
    require('./metrics-chart.cjs').writeMetricsChart(results, svg);
    report.log(`chart:   ${path.relative(process.cwd(), svg)}`);
  }
  if (failed.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
