#!/usr/bin/env node
'use strict';
// Section 3 of bench/run.cjs with the leanest possible per-CPU add beside the
// real one: what PerCpuCounter.add could reach against the shared slot and the
// padded slots if its own cost (id(), checks, the method call) were nothing,
// and what reading the CPU id costs (the lean add against a padded slot).
// Analysis for the bench README; nothing here is used by the package.
//
//   node bench/analysis/workers-lean.cjs [--rounds N] [--ms N] [--wait-quiet]
//
//   lean per-CPU add   Atomics.add(lanes, 20 + view.cpuId * 16, 1) written in
//                      the loop, on the same Int32 lanes as the counter's
const contenders = require('../lib/contenders.cjs');
const { Pool } = require('../lib/pool.cjs');
const { summary, fmt, table } = require('../lib/stats.cjs');
const { analysisSetup } = require('../lib/analysis.cjs');

const { entry, pkg, addonPath, rounds, ms } = analysisSetup('workers-lean', { rounds: 7, ms: 200 });
const counts = [1, 2, 4, 8];

const LEAN = {
  id: 'lean-percpu',
  label: 'lean per-CPU add (no class)',
  setup: 'const w = new Int32Array(ctx.counters.atomics.buffer); const v = ctx.view;',
  // The counter's own fold at 2^30 keeps its lanes in range; this loop has none, so it starts a lane over.
  body: 'if (Atomics.add(w, 20 + v.cpuId * 16, 1) >= 2 ** 30) Atomics.sub(w, 20 + v.cpuId * 16, 2 ** 30);',
};
const byId = Object.fromEntries(contenders.WORKERS.map((c) => [c.id, c]));
const list = [byId['counter-atomics'], LEAN, byId['padded-slot-int32'], byId['padded-slot'], byId['shared-int32'], byId['shared-bigint64']];

(async () => {
  const wire = contenders.makeShared(pkg);
  const pool = new Pool({ size: 8, entry, addonPath, wire, extra: [LEAN] });
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
      rows.push([String(w), c.label, fmt(med(s[c.id]) / 1e6), fmt(pr(s[c.id], s['shared-int32'])), fmt(pr(s[c.id], s['shared-bigint64'])), fmt(pr(s['padded-slot-int32'], s[c.id]))]);
    }
  }
  console.log(`millions of adds per second, median of ${rounds} rounds of ${ms} ms; Node ${process.version}`);
  console.log(table(['workers', 'contender', 'Mops/s', 'x shared Int32', 'x shared BigInt64', 'padded Int32 / this'], rows));
  if (process.argv.includes('--json')) console.log(JSON.stringify(samples));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
