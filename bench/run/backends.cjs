'use strict';
// Section 8 of bench/run.cjs (--only backends): the same operations on the
// native backend and on the simulator, each in child processes
// (backend-child.cjs) started alternately with RSEQ_BACKEND=native and
// RSEQ_BACKEND=simulator, one child per backend and round.
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { summary, fmt, paired } = require('../lib/stats.cjs');

/** The section's number: its other-load figure counts its own child processes. */
const NUMBER = '8';

function backendsSection({ report, results, config, native, entry }) {
  report.heading(`${NUMBER}. The same operations on each backend (ns per operation; child processes, alternating)`);
  const child = path.join(__dirname, 'backend-child.cjs');
  const backends = native ? ['native', 'simulator'] : ['simulator'];
  const samples = {};
  const info = {};
  for (let r = 0; r < config.backendRounds; r++) {
    const order = r % 2 ? [...backends].reverse() : backends;
    for (const b of order) {
      const env = { ...process.env, RSEQ_BACKEND: b };
      const p = spawnSync(process.execPath, [child, entry, String(config.backendMs)], { env, encoding: 'utf8', maxBuffer: 16 << 20 });
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
  report.emit(
    header,
    ids.map((id) => {
      const row = [samples[backends[0]][id].label];
      for (const b of backends) row.push(fmt(byBackend[b][id].nsPerOp.median), fmt(byBackend[b][id].nsPerOp.min), fmt(byBackend[b][id].nsPerOp.max));
      if (native) row.push(fmt(paired(samples.simulator[id].values, samples.native[id].values).median));
      return row;
    }),
  );
  results.sections.backends = { unit: 'ns/op', rounds: config.backendRounds, byBackend, children: info };
  if (native) {
    results.ratios.simulatorOverNative = Object.fromEntries(ids.map((id) => [id, paired(samples.simulator[id].values, samples.native[id].values)]));
  }
}

module.exports = backendsSection;
module.exports.NUMBER = NUMBER;
