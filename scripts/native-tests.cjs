#!/usr/bin/env node
'use strict';
// `npm run test:native`: the C++ tests of native/ (no Node involved), built with
// plain CMake and run with ctest, twice:
//   plain  build-cmake/tests       RSEQ_BUILD_ADDON=OFF RSEQ_BUILD_TESTS=ON
//   asan   build-cmake/tests-asan  the same with RSEQ_SANITIZE=address, run with
//                                  ASAN_OPTIONS=detect_leaks=1 (LeakSanitizer)
// Then, when build/Release/rseq.node exists, native/test/addon-smoke.cjs checks
// the addon's per-CPU bindings.
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

  const env = { ...process.env, ...cfg.env };
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

console.log('');
for (const line of summaries) console.log(line);
process.exit(failed ? 1 : 0);
