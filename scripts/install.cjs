#!/usr/bin/env node
'use strict';
// `npm install` step. The package ships prebuilt addons for Linux x64 and
// arm64 (prebuilds/linux-<arch>/node.napi.glibc.node, scripts/prebuild.cjs),
// which src/native/backend.ts finds at run time: with install scripts off
// (`--ignore-scripts`, pnpm) the package still runs natively. This script
// builds the addon from source (node-gyp, into build/Release/rseq.node, which
// is then loaded before the prebuild) only:
//   - when asked: RSEQ_BUILD_FROM_SOURCE=1, `npm install --build-from-source`,
//     or `npm rebuild rseq`;
//   - in a checkout of the repository (a .git directory: development);
//   - or when no prebuild loads here (another architecture, musl).
// Where the build cannot work or fails, the install still succeeds and the
// package runs on the prebuild or the simulator; the reason is written to
// build/addon-build-error.txt and reported in `rseq.fallbackReason` and the
// RSEQ_SIMULATED warning. With RSEQ_REQUIRE=1 a failed build fails the install.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const buildDir = path.join(root, 'build');
const errorFile = path.join(buildDir, 'addon-build-error.txt');
const required = process.env.RSEQ_REQUIRE === '1';

function record(reason) {
  fs.mkdirSync(buildDir, { recursive: true });
  fs.writeFileSync(errorFile, reason + '\n');
  const log = required ? console.error : console.warn;
  const next = process.platform === 'linux' && prebuildLoads() ? 'the prebuilt addon will be used' : 'the simulator backend will be used';
  log(`rseq: the native addon was not built from source; ${next}.\nrseq: ${reason.split('\n')[0]}`);
  if (required) {
    console.error('rseq: RSEQ_REQUIRE=1 is set, so a missing addon is an error.');
    process.exit(1);
  }
  process.exit(0);
}

fs.rmSync(errorFile, { force: true });

const supported = { x64: 'x86_64', arm64: 'aarch64' };
const prebuild = path.join(root, 'prebuilds', `linux-${process.arch}`, 'node.napi.glibc.node');

function buildAsked() {
  return (
    process.env.RSEQ_BUILD_FROM_SOURCE === '1' ||
    process.env.npm_config_build_from_source === 'true' ||
    process.env.npm_command === 'rebuild' ||
    // a checkout of the repository: development builds from source
    fs.existsSync(path.join(root, '.git'))
  );
}

/** Whether the shipped prebuild loads into this node. */
function prebuildLoads() {
  if (!fs.existsSync(prebuild)) return false;
  try {
    require(prebuild);
    return true;
  } catch {
    return false;
  }
}

/** True when `cmd --version` runs and exits 0. */
function runs(cmd) {
  const r = spawnSync(cmd, ['--version'], { stdio: 'ignore', shell: false });
  return !r.error && r.status === 0;
}

/** What a node-gyp build needs and this machine lacks, in words. */
function missingTools() {
  const missing = [];
  const cxx = process.env.CXX && process.env.CXX.trim();
  if (cxx) {
    if (!runs(cxx.split(/\s+/)[0])) missing.push(`the C++ compiler CXX=${cxx} does not run`);
  } else if (!runs('g++') && !runs('c++')) {
    missing.push('no C++ compiler (g++ was not found)');
  }
  if (!runs('make')) missing.push('no make');
  if (!runs('python3') && !runs('python')) missing.push('no python3 (node-gyp needs it)');
  return missing;
}
if (process.platform !== 'linux') {
  record(`rseq is a Linux system call; this platform is ${process.platform}`);
}
if (!(process.arch in supported)) {
  record(`the addon has critical sections for x86_64 and aarch64 only; this architecture is ${process.arch}`);
}

const { nodeGypCommand } = require('./node-gyp.cjs');

if (!buildAsked() && prebuildLoads()) {
  // The prebuild serves this machine; nothing to build.
  process.exit(0);
}

const missing = missingTools();
if (missing.length > 0) {
  record(`the addon could not be built from source: ${missing.join(', ')} (on Debian or Ubuntu: apt-get install g++ make python3; the node:*-slim images have none)`);
}

const [cmd, ...pre] = nodeGypCommand();
const result = spawnSync(cmd, [...pre, 'rebuild'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
process.stdout.write(result.stdout ?? '');
process.stderr.write(result.stderr ?? '');
if (result.error) {
  record(`node-gyp could not be started: ${result.error.message}`);
}
if (result.status !== 0) {
  const lines = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.split('\n').filter((l) => l.trim() !== '');
  const firstError = lines.find((l) => /error/i.test(l) && !/^gyp ERR! (cwd|node -v|node-gyp -v|System|command|not ok)/.test(l));
  record(`the addon build failed (node-gyp exit ${result.status}): ${firstError ?? 'see the install log'}\n${lines.slice(-40).join('\n')}`);
}
