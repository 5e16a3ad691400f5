#!/usr/bin/env node
'use strict';
// `npm run test:native`: the C++ tests of native/ (no Node involved), built with
// plain CMake and run with ctest, twice:
//   plain  build-cmake/tests       RSEQ_BUILD_ADDON=OFF RSEQ_BUILD_TESTS=ON
//   asan   build-cmake/tests-asan  the same with RSEQ_SANITIZE=address, run with
//                                  ASAN_OPTIONS=detect_leaks=1 (LeakSanitizer)
// Warnings are errors here (RSEQ_WERROR=ON), as in every development build.
// The errno table's expectations come from the simulator's profile of the
// running kernel (src/errno-check.ts, from dist/: npm run build:ts first),
// passed to the tests as RSEQ_TEST_ERRNO_{LIBC,NONE,PROFILE}.
// Then, when build/Release/rseq.node exists, native/test/addon-smoke.cjs checks
// the addon's per-CPU bindings, and the shipped addon is checked to carry no
// development hook (benchLoop, RSEQ_NO_EXTERNAL_BUFFER: build/Release/rseq_dev.node
// has them, npm run build:dev).
// Prints one summary line per configuration and exits non-zero on any failure.
// Needs cmake, ctest and a C++ compiler (CI installs them; see .ci/run).

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { which } = require('./kernel-matrix/host.cjs');

const root = path.resolve(__dirname, '..');

function fail(message) {
  console.error(`native-tests: ${message}`);
  process.exit(1);
}

if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) {
  fail(`the native tests need Linux on x86_64 or aarch64; this is ${process.platform}/${process.arch}`);
}
for (const tool of ['cmake', 'ctest']) {
  if (!which(tool)) {
    fail(`\`${tool}\` was not found on PATH. Install CMake (Debian/Ubuntu: apt-get install cmake) to run the native tests.`);
  }
}
// CMake picks the compiler itself ($CXX, then c++ / g++ / clang++); this check
// only turns a missing compiler into a clear message.
const compiler = process.env.CXX ? process.env.CXX.split(' ')[0] : ['c++', 'g++', 'clang++'].find((c) => which(c));
if (!compiler || !(path.isAbsolute(compiler) ? fs.existsSync(compiler) : which(compiler))) {
  fail('no C++ compiler was found (c++, g++ or clang++, or $CXX). Install one (Debian/Ubuntu: apt-get install g++) to run the native tests.');
}

// The expected errno tables for this kernel, from the simulator's profile of
// its release and its auxv (AT_RSEQ_FEATURE_SIZE 27, AT_RSEQ_ALIGN 28).
function auxvRseq() {
  const out = { featureSize: null, align: null };
  let buf;
  try {
    buf = fs.readFileSync('/proc/self/auxv');
  } catch {
    return out;
  }
  for (let off = 0; off + 16 <= buf.length; off += 16) {
    const type = buf.readBigUInt64LE(off);
    const value = Number(buf.readBigUInt64LE(off + 8));
    if (type === 0n) break;
    if (type === 27n) out.featureSize = value;
    if (type === 28n) out.align = value;
  }
  return out;
}

function errnoExpectations() {
  const mod = path.join(root, 'dist', 'cjs', 'src', 'errno-check.js');
  if (!fs.existsSync(mod)) fail(`${path.relative(root, mod)} is missing: run \`npm run build:ts\` first (the errno table's expectations come from the simulator)`);
  const { expectedErrnoTables } = require(mod);
  // The cases in their order: the package's own export (its entry point).
  const { ERRNO_CASES } = require(path.join(root, 'dist', 'cjs', 'src', 'index.js'));
  const t = expectedErrnoTables({ release: require('node:os').release(), ...auxvRseq() });
  const list = (table) => ERRNO_CASES.map((c) => table[c] ?? '0').join(',');
  return {
    RSEQ_TEST_ERRNO_LIBC: list(t.libc),
    RSEQ_TEST_ERRNO_NONE: list(t.none),
    RSEQ_TEST_ERRNO_PROFILE: `simulator profile ${t.profile} for ${require('node:os').release()}${t.adjusted ? ` (${t.adjusted})` : ''}`,
  };
}
const errnoEnv = errnoExpectations();
console.log(`native-tests: errno expectations from the ${errnoEnv.RSEQ_TEST_ERRNO_PROFILE}`);

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (r.error) fail(`could not run ${cmd}: ${r.error.message}`);
  return r;
}

// LeakSanitizer stops the process's threads with ptrace-like machinery and
// refuses to run where that is impossible (under a tracer such as strace or
// gdb, or where the sandbox forbids it). Find out with one small test binary,
// so a machine without it gets a clear note instead of a confusing failure.
function leakSanitizerWorks(buildDir) {
  const bin = path.join(buildDir, 'rseq_test_abi_probe');
  const r = run(bin, [], { env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' } });
  const out = `${r.stdout}\n${r.stderr}`;
  if (/LeakSanitizer has encountered a fatal error|LeakSanitizer does not work under ptrace/.test(out)) {
    return { ok: false, why: out.split('\n').find((l) => /LeakSanitizer/.test(l)) || 'LeakSanitizer failed to start' };
  }
  return { ok: true };
}

const configs = [
  { name: 'plain', dir: 'build-cmake/tests', cmake: ['-DCMAKE_BUILD_TYPE=RelWithDebInfo'], env: {} },
  {
    name: 'asan',
    dir: 'build-cmake/tests-asan',
    cmake: ['-DCMAKE_BUILD_TYPE=Debug', '-DRSEQ_SANITIZE=address'],
    env: { ASAN_OPTIONS: 'detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_init_order=1' },
  },
];

const summaries = [];
let failed = false;
for (const cfg of configs) {
  const buildDir = path.join(root, cfg.dir);
  const configure = run('cmake', [
    '-S', root,
    '-B', buildDir,
    '-DRSEQ_BUILD_ADDON=OFF',
    '-DRSEQ_BUILD_TESTS=ON',
    '-DRSEQ_WERROR=ON',
    ...cfg.cmake,
  ]);
  if (configure.status !== 0) {
    process.stdout.write(configure.stdout);
    process.stderr.write(configure.stderr);
    summaries.push(`native tests [${cfg.name}]: cmake configure failed (exit ${configure.status})`);
    failed = true;
    continue;
  }
  const build = run('cmake', ['--build', buildDir, '--parallel', '2']);
  if (build.status !== 0) {
    process.stdout.write(build.stdout);
    process.stderr.write(build.stderr);
    summaries.push(`native tests [${cfg.name}]: build failed (exit ${build.status})`);
    failed = true;
    continue;
  }

  const env = { ...process.env, ...errnoEnv, ...cfg.env };
  let note = '';
  if (cfg.name === 'asan') {
    const lsan = leakSanitizerWorks(buildDir);
    if (!lsan.ok) {
      env.ASAN_OPTIONS = env.ASAN_OPTIONS.replace('detect_leaks=1', 'detect_leaks=0');
      note = ` (LeakSanitizer unavailable here, leak checks off: ${lsan.why.trim()})`;
      console.warn(`native-tests: ${note.trim()}`);
    } else {
      note = ' (LeakSanitizer on)';
    }
  }

  // Run ctest from the build directory (works with every ctest version).
  const test = run('ctest', ['--output-on-failure', '--timeout', '300'], { cwd: buildDir, env });
  process.stdout.write(test.stdout);
  process.stderr.write(test.stderr);
  const tally = /(\d+)% tests passed, (\d+) tests? failed out of (\d+)/.exec(test.stdout);
  const asanReport = /ERROR: (AddressSanitizer|LeakSanitizer)/.test(`${test.stdout}\n${test.stderr}`);
  if (test.status !== 0 || !tally || asanReport) {
    failed = true;
    const detail = tally ? `${tally[2]} of ${tally[3]} failed` : `ctest exit ${test.status}`;
    summaries.push(`native tests [${cfg.name}]: FAILED, ${detail}${asanReport ? ', sanitizer report' : ''}${note}`);
  } else {
    const total = Number(tally[3]);
    if (total === 0) {
      failed = true;
      summaries.push(`native tests [${cfg.name}]: FAILED, ctest ran no test`);
    } else {
      summaries.push(`native tests [${cfg.name}]: all ${total} ctest tests passed${note}`);
    }
  }
}

// The addon's per-CPU bindings (native/test/addon-smoke.cjs), when the addon
// has been built (npm install or npm run build:native): every new export on
// its success and error paths, in this plain node.
const addon = path.join(root, 'build', 'Release', 'rseq.node');
if (fs.existsSync(addon)) {
  const smoke = run(process.execPath, [path.join(root, 'native', 'test', 'addon-smoke.cjs'), addon]);
  process.stdout.write(smoke.stdout);
  process.stderr.write(smoke.stderr);
  const tally = /addon-smoke: (\d+) passed, (\d+) failed/.exec(smoke.stdout);
  if (smoke.status !== 0 || !tally) {
    failed = true;
    summaries.push(`native tests [addon]: FAILED (${tally ? `${tally[2]} failed` : `exit ${smoke.status}`})`);
  } else {
    summaries.push(`native tests [addon]: all ${tally[1]} addon smoke checks passed`);
  }
} else {
  summaries.push('native tests [addon]: skipped, build/Release/rseq.node is not built (npm run build:native)');
}

// The shipped addon carries no development hook; the development addon has
// the shipped addon's sources plus the bench's (binding.gyp).
{
  const stripped = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
  const gyp = JSON.parse(stripped);
  const shipped = gyp.targets.find((t) => t.target_name === 'rseq');
  const dev = (gyp.conditions || []).flatMap((c) => (c[1] && c[1].targets) || []).find((t) => t.target_name === 'rseq_dev');
  const problems = [];
  if (!shipped || !dev) problems.push('binding.gyp must have the targets rseq and rseq_dev');
  else {
    const extra = dev.sources.filter((f) => !shipped.sources.includes(f));
    const missing = shipped.sources.filter((f) => !dev.sources.includes(f));
    if (missing.length) problems.push(`rseq_dev lacks ${missing.join(', ')}`);
    if (extra.join(',') !== 'bench/native/bench.cc') problems.push(`rseq_dev adds ${extra.join(', ') || 'nothing'} (expected bench/native/bench.cc only)`);
    if (shipped.sources.some((f) => !f.startsWith('native/') || f.startsWith('native/test/'))) problems.push('the shipped target compiles files outside native/ (or in native/test/)');
    if ((shipped.defines || []).includes('RSEQ_DEV_HOOKS')) problems.push('the shipped target defines RSEQ_DEV_HOOKS');
  }
  if (fs.existsSync(addon)) {
    const probe = run(process.execPath, ['-e', `
      const a = require(process.argv[1]);
      process.env.RSEQ_NO_EXTERNAL_BUFFER = '1';
      a.acquire();
      const view = a.areaBuffer();
      console.log(JSON.stringify({ bench: typeof a.benchLoop, hook: typeof view === 'string' && view.includes('RSEQ_NO_EXTERNAL_BUFFER') }));
    `, addon]);
    let o = null;
    try {
      o = JSON.parse(probe.stdout.trim());
    } catch {
      problems.push(`could not load the shipped addon: ${probe.stderr.trim().split('\n')[0]}`);
    }
    if (o && o.bench !== 'undefined') problems.push('the shipped addon exports benchLoop');
    if (o && o.hook) problems.push('the shipped addon honours RSEQ_NO_EXTERNAL_BUFFER');
  }
  if (problems.length) {
    failed = true;
    summaries.push(`native tests [product]: FAILED: ${problems.join('; ')}`);
  } else {
    summaries.push(`native tests [product]: the shipped target has no development hook${fs.existsSync(addon) ? ' (source lists and build/Release/rseq.node checked)' : ' (source lists checked)'}`);
  }
}

console.log('');
for (const line of summaries) console.log(line);
process.exit(failed ? 1 : 0);
