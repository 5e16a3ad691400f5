'use strict';
// Loads the package in a fresh process and prints one JSON line describing
// what it found: the backend (or the error that forcing it raised), the probe,
// the errno table, and reference counts around an extra acquire/release.
// Usage: node child-report.cjs ENTRY [table]
const entry = process.argv[2];
const wantTable = process.argv.includes('table');
const out = {};
try {
  const { rseq } = require(entry);
  out.backend = rseq.backend;
  out.fallbackReason = rseq.fallbackReason;
  out.probe = rseq.probe();
  out.schedGetcpu = rseq.schedGetcpu();
  out.cpuId = rseq.cpuId();
  out.viewCpuId = rseq.area().cpuId;
  if (wantTable) out.table = rseq.errnoTable();
  out.countsBefore = rseq.debugCounts();
} catch (err) {
  out.error = { name: err.name, code: err.code, message: err.message };
}
process.stdout.write(JSON.stringify(out, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
