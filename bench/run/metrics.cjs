'use strict';
// Section 9 of bench/run.cjs (--only metrics): rseq/metrics against
// prom-client, bench/metrics.cjs in a child process (its scrape section is a
// cluster primary). It writes its own results file
// (bench/results/metrics-<date>.*); its targets and checks join this run's.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { stamp, RESULTS_DIR } = require('../lib/report.cjs');

module.exports = function metricsSection({ report, results, opts, root }) {
  report.heading('9. rseq/metrics against prom-client (bench/metrics.cjs)');
  const out = opts.write ? path.join(RESULTS_DIR, `metrics-${stamp()}${opts.quick ? '-quick' : ''}.json`) : path.join(os.tmpdir(), `rseq-bench-metrics-${process.pid}.json`);
  const args = [path.join(root, 'bench', 'metrics.cjs'), '--out', out];
  if (opts.quick) args.push('--quick');
  if (opts.rounds !== null) args.push('--rounds', String(opts.rounds));
  const p = spawnSync(process.execPath, args, { stdio: 'inherit', env: process.env });
  if (p.status !== 0 && !fs.existsSync(out)) throw new Error(`bench: bench/metrics.cjs failed (${p.status})`);
  const r = JSON.parse(fs.readFileSync(out, 'utf8'));
  results.sections.metrics = { file: opts.write ? path.relative(root, out) : null, targets: r.targets, ratios: r.ratios };
  for (const t of r.targets) results.targets.push({ ...t, id: `metrics-${t.id}`, description: `rseq/metrics: ${t.description}` });
  for (const c of r.checks) results.checks.push({ ...c, name: `metrics: ${c.name}` });
  if (!opts.write) fs.rmSync(out, { force: true });
};
