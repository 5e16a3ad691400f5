#!/usr/bin/env node
'use strict';
// Section 3 of bench/run.cjs with the leanest possible per-CPU add beside the
// real one: what PerCpuCounter.add could reach against the shared slot and the
// padded slots if its own cost (id(), checks, the method call) were nothing,
// and what reading the CPU id costs (the lean add against a padded slot).
// Analysis for the bench README; nothing here is used by the package.
//
//   node bench/analysis/workers-lean.cjs [--rounds N] [--ms N] [--held] [--wait-quiet]
//
//   lean per-CPU add   Atomics.add(lanes, 20 + view.cpuId * 16, 1) written in
//                      the loop, on the same Int32 lanes as the counter's
//   padded + id read   the padded Int32 slot, then view.cpuId read (no use)
//   padded + read      the padded Int32 slot, then a private array read: what
//                      any load after a locked add costs (see contenders.cjs)
const contenders = require('../lib/contenders.cjs');
const { WorkerPool } = require('../lib/worker-pool.cjs');
const { summary, fmt, table } = require('../lib/stats.cjs');
const { analysisSetup } = require('../lib/analysis.cjs');

const { entry, pkg, addonPath, rounds, ms } = analysisSetup('workers-lean', { rounds: 7, ms: 200 });
const counts = [1, 2, 4, 8];

const LEAN = contenders.LEAN_PERCPU;
const byId = Object.fromEntries(contenders.WORKERS.map((c) => [c.id, c]));
const base = [byId['counter-atomics'], LEAN, ...contenders.PADDED_PLUS, byId['padded-slot-int32'], byId['padded-slot'], byId['shared-int32'], byId['shared-bigint64']];
// --held: every contender also with its objects held in closure constants (ids `<id>@held`, see micro.cjs).
const held = process.argv.includes('--held');
const list = base.map((c) => ({ ...c, of: '' }));
if (held) list.push(...base.map((c) => ({ ...c, id: `${c.id}@held`, label: `${c.label}, held`, of: '@held' })));

(async () => {
  const wire = contenders.makeShared(pkg);
  const pool = new WorkerPool({ size: 8, entry, addonPath, wire, extra: [LEAN, ...contenders.PADDED_PLUS] });
  await pool.start();
  for (const c of list) pool.timed(c.id, 8, 150);
  const samples = {};
  for (const w of counts) samples[w] = Object.fromEntries(list.map((c) => [c.id, []]));
  for (let r = 0; r < rounds; r++) {
    for (const w of counts) {
      for (let k = 0; k < list.length; k++) {
        const c = list[(k + r) % list.length];
        const run = pool.timed(c.id, w, ms);
        samples[w][c.id].push((run.per.reduce((a, p) => a + p.ops, 0) * 1e9) / run.wallNs);
      }
    }
  }
  await pool.close();
  const med = (xs) => summary(xs).median;
  const pr = (a, b) => med(a.map((x, i) => x / b[i]));
  const rows = [];
  for (const w of counts) {
    for (const c of list) {
      const s = samples[w];
      rows.push([String(w), c.label, fmt(med(s[c.id]) / 1e6), fmt(pr(s[c.id], s[`shared-int32${c.of}`])), fmt(pr(s[c.id], s[`shared-bigint64${c.of}`])), fmt(pr(s[`padded-slot-int32${c.of}`], s[c.id]))]);
    }
  }
  console.log(`millions of adds per second, median of ${rounds} rounds of ${ms} ms; ratios within each form (locals, held); Node ${process.version}`);
  console.log(table(['workers', 'contender', 'Mops/s', 'x shared Int32', 'x shared BigInt64', 'padded Int32 / this'], rows));
  if (process.argv.includes('--json')) console.log(JSON.stringify(samples));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
