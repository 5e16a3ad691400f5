'use strict';
// Debian kernels for the matrix: resolve a series ("6.1", "6.12") to the
// newest bookworm linux-image-*-unsigned package with apt, download it with
// `apt-get download`, pull /boot/vmlinuz-* (and the config) out of the .deb,
// and keep the result in a cache so reruns need no network.
//
// Cache layout: $RSEQ_KERNEL_CACHE or ~/.cache/rseq-kernels/<package>/
//   version     the Debian package version that was extracted
//   vmlinuz     /boot/vmlinuz-* as shipped
//   config      /boot/config-* (handy to check CONFIG_RSEQ and friends)
//   Image       arm64 only: the uncompressed kernel Image qemu boots

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { log, run, aptUpdate, ensureForeignArch } = require('./host.cjs');

const DEB_ARCH = { x86_64: 'amd64', aarch64: 'arm64' };

function cacheRoot() {
  return process.env.RSEQ_KERNEL_CACHE || path.join(os.homedir(), '.cache', 'rseq-kernels');
}

/**
 * Package names of a series for one architecture, e.g. for 6.1/amd64
 * linux-image-6.1.0-56-amd64-unsigned, for 6.12/arm64
 * linux-image-6.12.117+deb12-arm64-unsigned. Flavours (rt, cloud) are skipped.
 */
function seriesRegex(series, debArch) {
  const s = series.replace(/\./g, '\\.');
  return new RegExp(`^linux-image-${s}(?:\\.\\d+)*(?:-\\d+)?(?:\\+deb\\d+)?-${debArch}-unsigned$`);
}

/** Compare package names by their numbers ("6.1.0-9" < "6.1.0-56"). */
function naturalCompare(a, b) {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Every linux-image-* package name apt knows (one apt-cache call). */
function aptImageNames() {
  const out = run('apt-cache', ['search', '--names-only', '^linux-image-'], { allowFail: true });
  return String(out.stdout || '')
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
}

/** Newest package of a series for an architecture among `names`, or undefined. */
function pickNewest(names, series, debArch) {
  const re = seriesRegex(series, debArch);
  return names.filter((n) => re.test(n)).sort(naturalCompare).pop();
}

/** Candidate versions of "pkg:arch" specs, with one apt-cache call. */
function aptVersions(specs) {
  const versions = new Map();
  if (specs.length === 0) return versions;
  const out = run('apt-cache', ['show', '--no-all-versions', ...specs]);
  for (const stanza of out.split(/\n\n+/)) {
    const field = (f) => (new RegExp(`^${f}: (.+)$`, 'm').exec(stanza) || [])[1];
    if (field('Package')) versions.set(`${field('Package')}:${field('Architecture')}`, field('Version').trim());
  }
  return versions;
}

/** Newest cached package of a series, used when apt cannot resolve (offline, no lists). */
function newestCached(series, debArch) {
  const re = seriesRegex(series, debArch);
  let names = [];
  try {
    names = fs.readdirSync(cacheRoot()).filter((n) => re.test(n) && fs.existsSync(path.join(cacheRoot(), n, 'vmlinuz')));
  } catch {}
  names.sort(naturalCompare);
  const pkg = names.pop();
  if (!pkg) return null;
  return { pkg, version: fs.readFileSync(path.join(cacheRoot(), pkg, 'version'), 'utf8').trim() };
}

/**
 * Resolve every series x arch to { series, arch, debArch, pkg, version }, in
 * that order. Adds the arm64 dpkg architecture and refreshes apt's lists only
 * when needed; falls back to the newest cached kernel when apt has none
 * (offline machine, no lists).
 */
function resolveKernels(seriesList, arches) {
  for (const arch of arches) {
    if (!DEB_ARCH[arch]) throw new Error(`unknown arch ${arch}`);
    ensureForeignArch(DEB_ARCH[arch]);
  }
  const cells = [];
  for (const series of seriesList) for (const arch of arches) cells.push({ series, arch, debArch: DEB_ARCH[arch] });

  let names = aptImageNames();
  if (cells.some((c) => !pickNewest(names, c.series, c.debArch))) {
    try {
      aptUpdate();
      names = aptImageNames();
    } catch (e) {
      log(`apt-get update failed: ${e.message.split('\n')[0]}`);
    }
  }
  for (const c of cells) {
    c.pkg = pickNewest(names, c.series, c.debArch);
    if (c.pkg) continue;
    const cached = newestCached(c.series, c.debArch);
    if (!cached) {
      throw new Error(`no Debian package linux-image-${c.series}*-${c.debArch}-unsigned found by apt-cache search`);
    }
    log(`apt has no ${c.series}/${c.debArch} kernel; using cached ${cached.pkg}`);
    Object.assign(c, cached);
  }
  const versions = aptVersions(cells.filter((c) => !c.version).map((c) => `${c.pkg}:${c.debArch}`));
  for (const c of cells) {
    c.version = c.version || versions.get(`${c.pkg}:${c.debArch}`);
    if (!c.version) throw new Error(`apt-cache show gave no version for ${c.pkg}`);
  }
  return cells;
}

function cacheDir(k) {
  return path.join(cacheRoot(), k.pkg);
}

function isCached(k) {
  const dir = cacheDir(k);
  try {
    const v = fs.readFileSync(path.join(dir, 'version'), 'utf8').trim();
    return v === k.version && fs.existsSync(path.join(dir, bootImageName(k)));
  } catch {
    return false;
  }
}

function bootImageName(k) {
  return k.arch === 'aarch64' ? 'Image' : 'vmlinuz';
}

/**
 * arm64 vmlinuz from Debian is a gzip-compressed Image; qemu's -kernel wants
 * (or at least handles best) the raw Image. Also understands the EFI "zboot"
 * wrapper (an MZ header with "zimg" and an embedded gzip payload) in case a
 * later kernel ships that.
 */
function arm64Image(vmlinuz) {
  if (vmlinuz[0] === 0x1f && vmlinuz[1] === 0x8b) return zlib.gunzipSync(vmlinuz);
  if (vmlinuz.toString('latin1', 0, 2) === 'MZ' && vmlinuz.toString('latin1', 4, 8) === 'zimg') {
    const off = vmlinuz.readUInt32LE(8);
    const size = vmlinuz.readUInt32LE(12);
    const type = vmlinuz.toString('latin1', 24, 56).replace(/\0.*$/s, '');
    if (type !== 'gzip') throw new Error(`zboot kernel compressed with ${type}: not supported`);
    return zlib.gunzipSync(vmlinuz.subarray(off, off + size));
  }
  // "ARMd" magic at offset 56: already an uncompressed Image.
  if (vmlinuz.toString('latin1', 56, 60) === 'ARM\x64') return vmlinuz;
  throw new Error('arm64 vmlinuz: unknown format');
}

/**
 * Make sure every kernel is in the cache: one `apt-get download` call for all
 * missing packages, then extract ./boot/vmlinuz-* and ./boot/config-* from each
 * .deb (the modules are not needed: the initramfs has none). Entries are
 * written into a temporary directory and renamed into place, so a run that
 * is interrupted leaves no half-filled cache entry.
 * Returns the kernels with `image` (the file qemu boots) and `cached` set.
 */
function ensureKernels(kernels) {
  fs.mkdirSync(cacheRoot(), { recursive: true });
  const missing = kernels.filter((k) => !isCached(k));
  for (const k of kernels) k.cached = !missing.includes(k);
  if (missing.length > 0) {
    const work = fs.mkdtempSync(path.join(cacheRoot(), '.download-'));
    try {
      const specs = [...new Set(missing.map((k) => `${k.pkg}:${k.debArch}=${k.version}`))];
      log(`apt-get download ${specs.join(' ')}`);
      const t0 = Date.now();
      run('apt-get', ['download', '-qq', ...specs], { cwd: work });
      log(`downloaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      for (const k of missing) extract(k, work);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  for (const k of kernels) k.image = path.join(cacheDir(k), bootImageName(k));
  return kernels;
}

function extract(k, work) {
  const deb = fs.readdirSync(work).find((f) => f.startsWith(`${k.pkg}_`) && f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download left no .deb for ${k.pkg}`);
  const root = path.join(work, `${k.pkg}.root`);
  fs.mkdirSync(root);
  // Same as `dpkg-deb -x`, but only the two files we need from ./boot.
  run('sh', [
    '-c',
    'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards "./boot/vmlinuz-*" "./boot/config-*"',
    'sh',
    path.join(work, deb),
    root,
  ]);
  const boot = path.join(root, 'boot');
  const files = fs.readdirSync(boot);
  const vmlinuz = files.find((f) => f.startsWith('vmlinuz-'));
  const config = files.find((f) => f.startsWith('config-'));
  if (!vmlinuz) throw new Error(`${deb} has no /boot/vmlinuz-*`);

  const stage = path.join(work, `${k.pkg}.cache`);
  fs.mkdirSync(stage);
  fs.renameSync(path.join(boot, vmlinuz), path.join(stage, 'vmlinuz'));
  if (config) fs.renameSync(path.join(boot, config), path.join(stage, 'config'));
  if (k.arch === 'aarch64') {
    fs.writeFileSync(path.join(stage, 'Image'), arm64Image(fs.readFileSync(path.join(stage, 'vmlinuz'))));
  }
  fs.writeFileSync(path.join(stage, 'version'), `${k.version}\n`);

  const dest = cacheDir(k);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.renameSync(stage, dest);
  log(`cached ${k.pkg} ${k.version} (${vmlinuz}) in ${dest}`);
}

module.exports = { DEB_ARCH, cacheRoot, resolveKernels, ensureKernels };
