#!/usr/bin/env node
'use strict';
// Where the time of one add goes with 4 workers: section 3's contenders (and
// the analysis ones of bench/lib/contenders.cjs), each run alone in the worker
// pool under `perf record` (software cpu-clock samples; Node started with
// --perf-prof so that its JIT code can be annotated). The samples are split
// into V8's `Builtins_AtomicsAdd` (the builtin every `Atomics.add` calls:
// neither Node 20 nor 24 inlines it), the optimised loop itself (JIT code: the
// add's inlined JavaScript, the id read, the loop) and everything else; then
// the hottest instructions of three loops are listed. Analysis for the bench
// README; nothing here is used by the package. Needs `perf` (linux-perf).
//
//   node bench/analysis/profile-add.cjs [--workers N] [--ms N] [--wait-quiet]
//
// The child run (`--child ID`) is the same pool as bench/run.cjs section 3.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const IDS = ['counter-atomics', 'lean-percpu', 'padded-plus-id', 'padded-plus-read', 'padded-slot-int32', 'shared-int32'];
const ANNOTATE = ['counter-atomics', 'lean-percpu', 'padded-slot-int32'];
const arg = (flag, d) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : d;
};
const workers = Number(arg('--workers', 4));
const ms = Number(arg('--ms', 3000));

async function child(id) {
  const contenders = require('../lib/contenders.cjs');
  const { Pool } = require('../lib/pool.cjs');
  const { entry, pkg, addonPath } = require('../lib/analysis.cjs').analysisSetup('profile-add', { rounds: 1, ms });
  const pool = new Pool({ size: workers, entry, addonPath, wire: contenders.makeShared(pkg), extra: [contenders.LEAN_PERCPU, ...contenders.PADDED_PLUS] });
  await pool.start();
  pool.timed(id, workers, 300);
  const run = pool.timed(id, workers, ms);
  await pool.close();
  const ops = run.per.reduce((a, p) => a + p.ops, 0);
  process.stdout.write(JSON.stringify({ mops: (ops * 1e3) / run.wallNs }));
}

/** Runs perf with its build-id cache in `dir`, so nothing is left in ~/.debug. */
function perf(dir, args) {
  const r = spawnSync('perf', args, { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, PERF_BUILDID_DIR: path.join(dir, 'buildid') } });
  if (r.status !== 0) throw new Error(`perf ${args[0]}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** perf report's flat profile as [{ share, sym }]. */
function flat(dir, data) {
  const rows = [];
  for (const line of perf(dir, ['report', '-i', data, '--no-children', '--sort', 'sym', '--stdio', '-g', 'none']).split('\n')) {
    const m = /^\s*([\d.]+)%\s+\[(.)\]\s+(.*)$/.exec(line);
    if (m) rows.push({ share: Number(m[1]), sym: m[3].trim() });
  }
  return rows;
}

/**
 * The hottest JIT function's instructions that took at least 1 % of its
 * samples, each with the instruction before it: with timer samples, an
 * instruction is charged while it waits for the one before it (a load).
 */
function hotInstructions(dir, data, sym) {
  const lines = perf(dir, ['annotate', '-i', data, '--stdio', '-s', sym]).split('\n');
  const end = lines.findIndex((l, i) => i > 0 && l.includes('Source code & Disassembly'));
  const insns = [];
  for (const l of lines.slice(0, end < 0 ? lines.length : end)) {
    const m = /^\s*([\d.]+)\s*:\s+([0-9a-f]+):\s+(.*)$/.exec(l);
    if (m) insns.push({ share: Number(m[1]), at: m[2], text: m[3].replace(/\s+/g, ' ').replace(/ <JS:.*>| # .*/, '') });
  }
  const out = [];
  insns.forEach((x, i) => {
    if (x.share < 1) return;
    const before = insns[i - 1];
    if (before && !out.includes(before)) out.push(before);
    out.push(x);
  });
  return out;
}

function main() {
  const { table, fmt } = require('../lib/stats.cjs');
  if (spawnSync('perf', ['--version']).status !== 0) throw new Error('profile-add: needs perf (apt-get install linux-perf)');
  if (process.argv.includes('--wait-quiet')) console.log(JSON.stringify(require('../lib/machine.cjs').waitQuiet(1800)));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rseq-profile-'));
  const rows = [];
  const annotated = [];
  try {
    for (const id of IDS) {
      const raw = path.join(dir, `${id}.raw`);
      const data = path.join(dir, `${id}.data`);
      // --perf-prof writes jit-<pid>.dump (the JIT code itself) into the cwd; perf inject turns it into symbols.
      const out = perf(dir, ['record', '-q', '-k', '1', '-e', 'cpu-clock', '-F', '2000', '-o', raw, '--', process.execPath, '--perf-prof', __filename, '--child', id, '--workers', String(workers), '--ms', String(ms)]);
      const { mops } = JSON.parse(out.trim().split('\n').pop());
      perf(dir, ['inject', '--jit', '-i', raw, '-o', data]);
      const syms = flat(dir, data);
      const sum = (pred) => syms.filter(pred).reduce((a, s) => a + s.share, 0);
      // Node 20 names the builtin from its own symbol table; Node 24 logs it into the JIT dump.
      const builtin = sum((s) => s.sym === 'Builtins_AtomicsAdd' || s.sym === 'Builtin:AtomicsAdd');
      const jitSyms = syms.filter((s) => s.sym.startsWith('JS:'));
      const jit = sum((s) => s.sym.startsWith('JS:'));
      rows.push([id, fmt(mops), `${builtin.toFixed(1)} %`, `${jit.toFixed(1)} %`, `${(100 - builtin - jit).toFixed(1)} %`]);
      if (ANNOTATE.includes(id) && jitSyms.length > 0) annotated.push({ id, sym: jitSyms[0].sym, insns: hotInstructions(dir, data, jitSyms[0].sym) });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${workers} workers, ${ms} ms each, perf cpu-clock samples; Node ${process.version}`);
  console.log(table(['contender', 'Mops/s (under perf)', 'Builtins_AtomicsAdd', 'JIT code (the loop)', 'other'], rows));
  for (const a of annotated) {
    console.log(`\n${a.id}: ${a.sym} (one worker's copy), instructions with 1 % of its samples or more, each after the one before it`);
    for (const x of a.insns) console.log(`  ${x.share.toFixed(1).padStart(5)} %  ${x.at}: ${x.text}`);
  }
}

if (process.argv.includes('--child')) {
  child(arg('--child')).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main();
}
