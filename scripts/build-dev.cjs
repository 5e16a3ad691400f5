#!/usr/bin/env node
'use strict';
// `npm run build:dev` (run by `npm test` and `npm run bench`): the project's
// own build of the addon, with RSEQ_DEV_BUILD=1 (binding.gyp):
//   build/Release/rseq.node      the shipped addon, warnings as errors
//   build/Release/rseq_dev.node  the development addon: the same sources plus
//                                benchLoop (bench/native/bench.cc) and the test
//                                hooks (RSEQ_DEV_HOOKS); bench/ and the tests
//                                load it with RSEQ_ADDON
// node-gyp configure + build (incremental: nothing is recompiled when nothing
// changed). A user's install (scripts/install.cjs) never sets RSEQ_DEV_BUILD,
// so it builds the shipped addon only, without -Werror.
// Run it through npm (`npm run build:dev`): npm tells node-gyp where the Node
// headers are.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) {
  console.log(`build:dev: nothing to build on ${process.platform}/${process.arch} (the addon is for Linux on x86_64 and aarch64)`);
  process.exit(0);
}

const { nodeGypCommand } = require('./node-gyp.cjs');

const [cmd, ...pre] = nodeGypCommand();
const env = { ...process.env, RSEQ_DEV_BUILD: '1' };
for (const step of [['configure'], ['build', '--jobs', '2']]) {
  const r = spawnSync(cmd, [...pre, ...step], { cwd: root, env, stdio: 'inherit' });
  if (r.error) {
    console.error(`build:dev: could not run node-gyp: ${r.error.message}`);
    process.exit(1);
  }
  if (r.status !== 0) {
    console.error(`build:dev: node-gyp ${step[0]} failed (exit ${r.status})`);
    process.exit(1);
  }
}
for (const name of ['rseq.node', 'rseq_dev.node']) {
  if (!fs.existsSync(path.join(root, 'build', 'Release', name))) {
    console.error(`build:dev: build/Release/${name} was not made`);
    process.exit(1);
  }
}
console.log('build:dev: build/Release/rseq.node and build/Release/rseq_dev.node (warnings as errors)');
