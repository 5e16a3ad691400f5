#!/usr/bin/env node
'use strict';
// What a crossing into C costs through Node's node:ffi (Node >= 26.1) beside
// the addon's N-API calls, in one process (alternating rounds, medians, ratios
// paired by round): whether a section op called through ffi with the region's
// address would beat the bound region op (an N-API call with no arguments);
// then the structures as the package runs them with RSEQ_FFI=1 (src/native/ffi.ts)
// and without, side by side. Analysis for the bench README.
//
//   node bench/with-node.cjs 26 --no-concurrent-recompilation bench/analysis/ffi-crossing.cjs
//        [--rounds N] [--ms N] [--wait-quiet] [--json] [--structures-only | --no-structures]
//
// (The package honours RSEQ_FFI=1 only with V8's concurrent recompilation off,
// src/native/ffi.ts; the workers of the last table inherit node's flags.)
//
// (node:ffi is on by default in 26.12; where a release gates it behind
// --experimental-ffi, the script runs itself again with the flag.)
//
// The C side is bench/analysis/ffi-crossing.c, compiled here with
// `cc -O2 -shared -fPIC` into a directory under os.tmpdir() that is removed at
// exit. Contenders (W: node:ffi calls it through its JavaScript wrapper, which
// validates integer and pointer arguments; the others are bound as V8 Fast
// API calls straight to a trampoline):
//
//   ffi: sched_getcpu() (libc)             dlopen(null): the process's libc
//   addon: schedGetcpu()                   the same libc call through N-API
//   addon: cpuId()                         N-API, no arguments (CallbackInfo): the area's cpu_id
//   ffi: C cpu_id from the rseq area       the same read through ffi (glibc's area)
//   ffi: int f(void)                       the floor of an ffi crossing
//   ffi: int f(int64_t *), BigInt        W one pointer argument, a BigInt address
//   ffi: int f(int64_t *), BigInt64Array W the same, passed as the typed array
//   ffi: int f(uint64_t), BigInt         W the address as a u64
//   ffi: section(int64_t *), BigInt      W a real per-CPU add section (x86_64) taking the region's address
//   ffi: section(int64_t *), BigInt64Array W the same, passed as the BigInt64Array
//   ffi: section(double)                   the address as an f64 argument (no wrapper)
//   ffi: section(void), address in TLS     no argument: the address stored first into a
//                                          thread-local block viewed from JavaScript
//   addon: region.add()                    PerCpuCounter path 'rseq': the bound region op, one
//                                          N-API call with no arguments that runs the add section
//   ffi: rseq_ffi_add(handle)              the addon's own function for RSEQ_FFI=1 (native/region_ffi.h)
//                                          on the same region: f64 handle, looked up and checked per call
//   RSEQ_FFI=1: region.add()               the same through the package's region (src/native/ffi.ts)
//   JS: plain function call                the loop's floor (V8 inlines it)
//
// The structures (last table): PerCpuCounter.add() on path 'rseq', PerCpuBuffer
// push + pop of a 16-byte record and PerCpuPool take + give, in two workers
// of this process pinned to the same CPU, one with RSEQ_FFI=1 and one
// without, alternating sample by sample (the package reads RSEQ_FFI once per
// thread; a worker gets its own environment). This thread runs without it.
//
// node:ffi's wrappers come from one function literal (every one-argument
// signature here gets the same `invoke(a0)`), and V8 shares a closure site's
// feedback and optimised code among its closures: once several wrapped
// functions (or argument kinds) run, each call is polymorphic (100+ ns). The first table has them all in one process, as a package with
// several section ops would; the second runs each wrapped call alone in a
// child process (next to f(void), cpuId() and region.add() for the ratios).
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

// A worker of the structures section: nothing below is for it (a top-level
// return: CommonJS runs this file as a function).
if (!isMainThread) return void structuresWorker();
// This thread's region is the N-API one whatever the caller's environment says.
delete process.env.RSEQ_FFI;

let ffi;
try {
  ffi = require('node:ffi');
} catch (err) {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 26 && !process.execArgv.some((a) => /^--(no-)?experimental-ffi$/.test(a))) {
    const r = spawnSync(process.execPath, ['--experimental-ffi', ...process.execArgv, __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
  console.error(`ffi-crossing: node:ffi is not available in Node ${process.version} (${err.code || err.message}); run it under Node >= 26.1:`);
  console.error('  node bench/with-node.cjs 26 --no-concurrent-recompilation bench/analysis/ffi-crossing.cjs');
  process.exit(2);
}

const { runAlternating } = require('../lib/micro.cjs');
const { fmt, summary, table } = require('../lib/stats.cjs');
const { analysisSetup } = require('../lib/analysis.cjs');

const argOf = (flag) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const child = process.argv.includes('--child');
const only = argOf('--only');
const { pkg, entry: pkgEntry, addonPath, rounds, ms } = analysisSetup('ffi-crossing', { rounds: 11, ms: 40 });
const { rseq, PerCpuCounter } = pkg;
const binding = require(addonPath);
binding.acquire(); // this thread's registration for cpuId() (the package holds one too)

// The C library, built for this run (the children get its path) and removed at exit.
let so = argOf('--so');
if (!so) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rseq-ffi-'));
  process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
  so = path.join(tmp, `ffi-crossing.${ffi.suffix}`);
  execFileSync(process.env.CC || 'cc', ['-O2', '-shared', '-fPIC', '-o', so, path.join(__dirname, 'ffi-crossing.c')], { stdio: 'inherit' });
}

const i32 = { arguments: [], return: 'i32' };
const ptrArg = { arguments: ['pointer'], return: 'i32' };
const mine = ffi.dlopen(so, {
  ffi_zero: i32,
  ffi_cpu_id: i32,
  ffi_ptr: ptrArg,
  ffi_u64: { arguments: ['u64'], return: 'i32' },
  ffi_section_add: ptrArg,
  ffi_section_add_f64: { arguments: ['f64'], return: 'i32' },
  ffi_section_add_args: i32,
  ffi_args_address: { arguments: [], return: 'u64' },
});
const libc = ffi.dlopen(null, { sched_getcpu: i32 });
const f = { ...mine.functions, sched_getcpu: libc.functions.sched_getcpu };

// Memory the C side writes: off the V8 heap (a SharedArrayBuffer never moves;
// a small non-shared typed array may live on the heap and move with the GC).
const slots = Math.max(...rseq.possibleCpus()) + 1;
const cell = new BigInt64Array(new SharedArrayBuffer(64));
const region = new BigInt64Array(new SharedArrayBuffer(64 * (slots + 1)));
region[0] = 1n; // the amount
region[1] = BigInt(slots);
const regionAddr = ffi.getRawPointer(region);
// This thread's argument block in the library (thread-local), viewed in place.
const args = new BigInt64Array(ffi.toArrayBuffer(f.ffi_args_address(), 64, false));
const sumSlots = () => {
  let s = 0n;
  for (let c = 0; c < slots; c++) s += region[8 + 8 * c];
  return s;
};

// The section variants, by contender id (a section returns 0 when it added).
const SECTION_CALLS = {
  'ffi-sec-big': () => f.ffi_section_add(regionAddr),
  'ffi-sec-ta': () => f.ffi_section_add(region),
  'ffi-sec-f64': () => f.ffi_section_add_f64(Number(regionAddr)),
  'ffi-sec-args': () => {
    args[0] = regionAddr;
    return f.ffi_section_add_args();
  },
};
// Adds exactly once per call? `calls` calls in a loop of its own.
function checkSection(id, calls) {
  const call = SECTION_CALLS[id];
  const before = sumSlots();
  for (let i = 0; i < calls; i++) {
    const s = call();
    if (s !== 0) throw new Error(`${id}: the section returned ${s}`);
  }
  const added = sumSlots() - before;
  if (added !== BigInt(calls)) throw new Error(`${id}: ${added} adds for ${calls} calls`);
}
const hasSection = process.arch === 'x64'; // the C section is x86_64 only
const selected = (id) => !only || only.split(',').includes(id);
// Checks before timing (only for what runs, so that a child's wrapper sees
// nothing else): each C section adds once per call, the C area read agrees
// with the addon's, and the addon's region op runs.
if (hasSection) for (const id of Object.keys(SECTION_CALLS)) if (selected(id)) checkSection(id, 20000);
{
  if (f.ffi_cpu_id() < 0) throw new Error('ffi_cpu_id: this thread has no glibc rseq area');
  let agree = 0;
  for (let i = 0; i < 1000; i++) if (f.ffi_cpu_id() === binding.cpuId()) agree++;
  if (agree < 900) throw new Error(`ffi_cpu_id and cpuId() agree ${agree} times in 1000`);
}
const counter = new PerCpuCounter({ path: 'rseq' });
const reg = counter.region; // TypeScript-private; there at run time
reg.args[0] = 1;
if (reg.add() !== undefined) throw new Error('region.add() did not commit');
if (reg.crossing !== 'napi') throw new Error(`this thread's region crosses by ${reg.crossing}, not N-API`);
// The addon's RSEQ_FFI=1 functions on the same region (absent from builds before them).
let regionFfi = null;
try {
  const { rseq_ffi_add } = ffi.dlopen(addonPath, { rseq_ffi_add: { arguments: ['f64'], return: 'i32' } }).functions;
  const { ffiRegion } = require(path.join(path.dirname(pkgEntry), 'ffi.js'));
  const calls = { add: rseq_ffi_add, push: null, pop: null, take: null, give: null, valid: null };
  regionFfi = { add: rseq_ffi_add, handle: reg.handle, bound: ffiRegion(reg, calls, () => null) };
  const before = counter.value();
  for (let i = 0; i < 20000; i++) if (rseq_ffi_add(reg.handle) !== 0 || regionFfi.bound.add() !== undefined) throw new Error('rseq_ffi_add did not commit');
  if (counter.value() - before !== 40000) throw new Error(`rseq_ffi_add: ${counter.value() - before} adds for 40000 calls`);
} catch (err) {
  if (/rseq_ffi_add did not/.test(err.message)) throw err;
  console.error(`ffi-crossing: no rseq_ffi_add in ${addonPath} (${err.message.split('\n')[0]}): its rows are left out`);
}

function plain() {
  return 0;
}
const ctx = { f, binding, reg, regionFfi, cell, cellAddr: ffi.getRawPointer(cell), region, regionAddr, regionF64: Number(regionAddr), args, plain };
const ALL = [
  { id: 'ffi-getcpu', label: 'ffi: sched_getcpu() (libc)', setup: 'const g = ctx.f.sched_getcpu;', body: 'sink += g();' },
  { id: 'napi-getcpu', label: 'addon: schedGetcpu() (N-API, libc)', setup: 'const b = ctx.binding;', body: 'sink += b.schedGetcpu();' },
  { id: 'napi-cpuid', label: 'addon: cpuId() (N-API, no args)', setup: 'const b = ctx.binding;', body: 'sink += b.cpuId();' },
  { id: 'ffi-cpuid', label: 'ffi: C cpu_id from the rseq area', setup: 'const g = ctx.f.ffi_cpu_id;', body: 'sink += g();' },
  { id: 'ffi-zero', label: 'ffi: int f(void)', setup: 'const g = ctx.f.ffi_zero;', body: 'sink += g();' },
  { id: 'ffi-ptr-big', wrapped: true, label: 'ffi: int f(int64_t *), BigInt', setup: 'const g = ctx.f.ffi_ptr; const p = ctx.cellAddr;', body: 'sink += g(p);' },
  { id: 'ffi-ptr-ta', wrapped: true, label: 'ffi: int f(int64_t *), BigInt64Array', setup: 'const g = ctx.f.ffi_ptr; const p = ctx.cell;', body: 'sink += g(p);' },
  { id: 'ffi-u64', wrapped: true, label: 'ffi: int f(uint64_t), BigInt', setup: 'const g = ctx.f.ffi_u64; const p = ctx.cellAddr;', body: 'sink += g(p);' },
  ...(hasSection
    ? [
        { id: 'ffi-sec-big', wrapped: true, label: 'ffi: section(int64_t *), BigInt', setup: 'const g = ctx.f.ffi_section_add; const p = ctx.regionAddr;', body: 'sink += g(p);' },
        { id: 'ffi-sec-ta', wrapped: true, label: 'ffi: section(int64_t *), BigInt64Array', setup: 'const g = ctx.f.ffi_section_add; const p = ctx.region;', body: 'sink += g(p);' },
        { id: 'ffi-sec-f64', label: 'ffi: section(double)', setup: 'const g = ctx.f.ffi_section_add_f64; const p = ctx.regionF64;', body: 'sink += g(p);' },
        { id: 'ffi-sec-args', label: 'ffi: section(void), address in TLS', setup: 'const g = ctx.f.ffi_section_add_args; const a = ctx.args; const p = ctx.regionAddr;', body: 'a[0] = p; sink += g();' },
      ]
    : []),
  { id: 'napi-region', label: 'addon: region.add() (N-API, section)', setup: 'const r = ctx.reg;', body: 'if (r.add() !== undefined) sink++;' },
  ...(regionFfi
    ? [
        { id: 'ffi-region', label: 'ffi: rseq_ffi_add(handle) (addon, section)', setup: 'const g = ctx.regionFfi.add; const h = ctx.regionFfi.handle;', body: 'sink += g(h);' },
        { id: 'ffi-bound', label: 'RSEQ_FFI=1: region.add() (src/native/ffi.ts)', setup: 'const r = ctx.regionFfi.bound;', body: 'if (r.add() !== undefined) sink++;' },
      ]
    : []),
  { id: 'js', label: 'JS: plain function call (floor)', setup: 'const g = ctx.plain;', body: 'sink += g();' },
];
const list = ALL.filter((c) => selected(c.id));

const structuresOnly = process.argv.includes('--structures-only');
const report = { node: process.version, rounds, ms };
if (!structuresOnly) Object.assign(report, crossings());
(structuresOnly || !process.argv.includes('--no-structures') ? structures() : Promise.resolve(null))
  .then((st) => {
    if (st) report.structures = st;
    if (process.argv.includes('--json')) console.log(JSON.stringify({ ...report, load: os.loadavg() }));
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });

// The median of per-round ratios (rounds alternate, so each pair ran close together).
function ratioIn(res) {
  return (a, b) => {
    if (!res[a] || !res[b]) return NaN;
    const xs = res[a].nsPerOp.samples;
    const ys = res[b].nsPerOp.samples;
    const q = xs.map((x, i) => x / ys[i]).sort((p, s) => p - s);
    return q[q.length >> 1];
  };
}

function load() {
  return os.loadavg().map((x) => x.toFixed(2)).join(' ');
}

/** The crossings, all in one process, then each wrapped call alone in a child. */
function crossings() {
  const sectionsBefore = hasSection ? sumSlots() : 0n;
  const r = runAlternating(list, ctx, { rounds, targetMs: ms });
  if (r['ffi-ptr-big'] && ctx.cell[0] <= 0n) throw new Error('ffi_ptr never stored');
  if (hasSection && list.some((c) => SECTION_CALLS[c.id]) && sumSlots() <= sectionsBefore) throw new Error('the ffi sections never added');
  // Once more after the timed loops, now that the calls are optimised (V8 Fast
  // API calls from TurboFan code): still exactly one add per call.
  if (hasSection) for (const id of Object.keys(SECTION_CALLS)) if (selected(id)) checkSection(id, 2000000);
  // No lib.close(): this thread's rseq area keeps the address of the last
  // section's descriptor (rseq_cs) in the library's data, and the kernel reads
  // it at the next preemption or signal; unmapped, that is a SIGSEGV.
  if (child) {
    console.log(`RESULT ${JSON.stringify(r)}`);
    process.exit(0);
  }

  const ratio = ratioIn(r);
  const byId = Object.fromEntries(ALL.map((c) => [c.id, c]));
  const mark = (c) => (c.wrapped ? ' W' : '');
  console.log(`ns per call, median of ${rounds} rounds of ~${ms} ms (min-max); Node ${process.version}, ${process.arch}, ${os.cpus().length} CPUs, load ${load()}`);
  console.log('W: through node:ffi\'s JavaScript wrapper (integer/pointer arguments)\n');
  console.log('all in one process:');
  console.log(
    table(
      ['call', 'ns', 'min', 'max', 'x f(void)', 'x cpuId()', 'x region.add()'],
      list.map((c) => [c.label + mark(c), fmt(r[c.id].nsPerOp.median), fmt(r[c.id].nsPerOp.min), fmt(r[c.id].nsPerOp.max), fmt(ratio(c.id, 'ffi-zero')), fmt(ratio(c.id, 'napi-cpuid')), fmt(ratio(c.id, 'napi-region'))]),
    ),
  );
  console.log('\nratios (median of per-round ratios):');
  const RATIOS = [
    ['ffi int f(void) / addon cpuId()', 'ffi-zero', 'napi-cpuid'],
    ['ffi sched_getcpu / addon cpuId()', 'ffi-getcpu', 'napi-cpuid'],
    ['ffi sched_getcpu / addon schedGetcpu()', 'ffi-getcpu', 'napi-getcpu'],
    ['ffi C cpu_id / addon cpuId()', 'ffi-cpuid', 'napi-cpuid'],
    ['ffi section(int64_t *) BigInt / region.add()', 'ffi-sec-big', 'napi-region'],
    ['ffi section(double) / region.add()', 'ffi-sec-f64', 'napi-region'],
    ['ffi section(void), TLS address / region.add()', 'ffi-sec-args', 'napi-region'],
    ['region.add() / addon cpuId()', 'napi-region', 'napi-cpuid'],
    ['ffi rseq_ffi_add(handle) / region.add()', 'ffi-region', 'napi-region'],
    ['RSEQ_FFI=1 region.add() / region.add()', 'ffi-bound', 'napi-region'],
    ['ffi rseq_ffi_add(handle) / ffi section(double)', 'ffi-region', 'ffi-sec-f64'],
  ].filter(([, a, b]) => r[a] && r[b]);
  console.log(table(['ratio', 'x'], RATIOS.map(([label, a, b]) => [label, fmt(ratio(a, b))])));

  // Each wrapped call alone in a child process: its wrapper sees one function
  // and one argument kind (the best case for it).
  const alone = {};
  if (!only && !process.argv.includes('--no-alone')) {
    for (const c of list.filter((x) => x.wrapped)) {
      const ids = [c.id, 'ffi-zero', 'napi-cpuid', 'napi-region'].join(',');
      const out = execFileSync(process.execPath, [...process.execArgv, __filename, '--child', '--only', ids, '--so', so, '--rounds', String(rounds), '--ms', String(ms)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      alone[c.id] = JSON.parse(line.slice(7));
    }
    console.log(`\neach wrapped call alone in a child process (load ${load()}):`);
    console.log(
      table(
        ['call', 'ns', 'min', 'max', 'f(void)', 'region.add()', 'x f(void)', 'x cpuId()', 'x region.add()'],
        Object.entries(alone).map(([id, res]) => {
          const q = ratioIn(res);
          return [byId[id].label, fmt(res[id].nsPerOp.median), fmt(res[id].nsPerOp.min), fmt(res[id].nsPerOp.max), fmt(res['ffi-zero'].nsPerOp.median), fmt(res['napi-region'].nsPerOp.median), fmt(q(id, 'ffi-zero')), fmt(q(id, 'napi-cpuid')), fmt(q(id, 'napi-region'))];
        }),
      ),
    );
  }
  return { results: r, alone };
}

// ---------------------------------------------------------------------------
// The structures with RSEQ_FFI=1 and without, in two workers pinned to one CPU.
// ---------------------------------------------------------------------------

// A function, not a constant: a worker runs it before this file's constants exist.
function structureLoops() {
  return [
    { id: 'counter', label: "PerCpuCounter.add(), path 'rseq'", setup: 'const c = ctx.counter;', body: 'c.add();' },
    { id: 'buffer', label: 'PerCpuBuffer push + pop (16 bytes)', setup: 'const b = ctx.buffer; const rec = ctx.rec; const into = ctx.into;', body: 'b.push(rec); if (b.pop(into) === null) ctx.nulls++;' },
    { id: 'pool', label: 'PerCpuPool take + give (256)', setup: 'const p = ctx.pool;', body: 'p.give(p.take());' },
  ];
}

/**
 * Two workers of this process, one with RSEQ_FFI=1, both pinned to the same
 * CPU; each calibrates the three loops, then runs one sample at a time when
 * told, in an order that rotates every round over the six (worker, loop)
 * pairs. Ratios are the median of N-API / ffi per round.
 */
async function structures() {
  const { cpuSnapshot, otherLoad, waitQuiet } = require('../lib/machine.cjs');
  const STRUCTURES = structureLoops();
  const cpu = rseq.getAffinity()[0];
  const plainEnv = { ...process.env };
  delete plainEnv.RSEQ_FFI;
  const sides = [
    { id: 'napi', label: 'N-API', env: plainEnv },
    { id: 'ffi', label: 'RSEQ_FFI=1', env: { ...plainEnv, RSEQ_FFI: '1' } },
  ];
  for (const side of sides) {
    side.worker = new Worker(__filename, { env: side.env, stderr: true, workerData: { structures: true, entry: pkgEntry, cpu, targetMs: ms } });
    side.worker.stderr.on('data', () => {}); // node:ffi's ExperimentalWarning
    // One reply per request, in order; an error fails the waiting request.
    const waiting = [];
    side.worker.on('message', (m) => waiting.shift().resolve(m));
    side.worker.on('error', (err) => {
      for (const w of waiting.splice(0)) w.reject(err);
    });
    side.next = () => new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    side.ready = await side.next();
    const want = side.id === 'ffi' ? 'ffi' : 'napi';
    if (side.ready.crossing.some((c) => c !== want)) throw new Error(`the ${side.label} worker's structures cross by ${side.ready.crossing.join(', ')}`);
  }
  if (process.argv.includes('--wait-quiet')) console.log(JSON.stringify(waitQuiet(1800, 2000)));
  const before = cpuSnapshot();
  const pairs = sides.flatMap((side) => STRUCTURES.map((c, i) => ({ side, i, key: `${side.id}-${c.id}` })));
  const samples = Object.fromEntries(pairs.map((p) => [p.key, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < pairs.length; k++) {
      const p = pairs[(k + r) % pairs.length];
      p.side.worker.postMessage(p.i);
      samples[p.key].push(await p.side.next());
    }
  }
  const other = otherLoad(before, cpuSnapshot());
  const checks = [];
  for (const side of sides) {
    side.worker.postMessage('end');
    const end = await side.next();
    if (!end.ok) throw new Error(`the ${side.label} worker's structures do not add up: ${JSON.stringify(end)}`);
    checks.push({ side: side.id, ...end });
    await side.worker.terminate();
  }
  const out = { cpu, otherLoad: other, checks, rows: {} };
  const rows = STRUCTURES.map((c) => {
    const a = summary(samples[`napi-${c.id}`]);
    const b = summary(samples[`ffi-${c.id}`]);
    const q = a.samples.map((x, i) => x / b.samples[i]).sort((x, y) => x - y);
    const ratio = q[q.length >> 1];
    out.rows[c.id] = { label: c.label, napi: a, ffi: b, ratio, ratioMin: q[0], ratioMax: q[q.length - 1] };
    return [c.label, fmt(a.median), `${fmt(a.min)}-${fmt(a.max)}`, fmt(b.median), `${fmt(b.min)}-${fmt(b.max)}`, fmt(ratio), `${fmt(q[0])}-${fmt(q[q.length - 1])}`];
  });
  console.log(`\nthe structures, N-API against RSEQ_FFI=1: ns per operation, median of ${rounds} rounds of ~${ms} ms, two workers pinned to CPU ${cpu} (other work meanwhile: ${other} CPUs):`);
  console.log(table(['operation', 'N-API', 'min-max', 'RSEQ_FFI=1', 'min-max', 'N-API / ffi', 'min-max'], rows));
  return out;
}

/** A worker of structures(): the package with the environment it was given. */
function structuresWorker() {
  const { compileLoop, calibrate } = require('../lib/micro.cjs');
  const { entry, cpu, targetMs } = workerData;
  const STRUCTURES = structureLoops();
  const { rseq: r, PerCpuCounter: Counter, PerCpuBuffer: Buffer, PerCpuPool: Pool } = require(entry);
  r.setAffinity([cpu]);
  const ctx = {
    counter: new Counter({ path: 'rseq' }),
    buffer: new Buffer({ recordSize: 16, capacity: 1024 }),
    pool: new Pool({ size: 256 }),
    rec: new Uint8Array(16).fill(7),
    into: new Uint8Array(16),
    nulls: 0,
  };
  const done = STRUCTURES.map(() => 0);
  const loops = STRUCTURES.map((c, i) => {
    const fn = compileLoop(c);
    return (cx, n) => {
      const ns = fn(cx, n);
      done[i] += n;
      return ns;
    };
  });
  const iterations = loops.map((fn) => {
    const n = calibrate(fn, ctx, targetMs);
    fn(ctx, n); // warm-up
    return n;
  });
  const crossing = [ctx.counter, ctx.buffer, ctx.pool].map((s) => s.region.crossing);
  parentPort.postMessage({ crossing, iterations });
  parentPort.on('message', (m) => {
    if (m !== 'end') {
      parentPort.postMessage(loops[m](ctx, iterations[m]) / iterations[m]);
      return;
    }
    // Every add counted, every push popped (one CPU), every index back.
    const indices = new Set();
    for (let i = ctx.pool.take(); i !== null; i = ctx.pool.take()) indices.add(i);
    const value = ctx.counter.value();
    const size = ctx.buffer.size();
    parentPort.postMessage({ ok: value === done[0] && size === 0 && ctx.nulls === 0 && indices.size === 256, adds: done[0], value, size, nulls: ctx.nulls, indices: indices.size });
  });
}
