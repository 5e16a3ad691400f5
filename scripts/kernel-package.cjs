#!/usr/bin/env node
'use strict';
// kernel-package: the whole package on other kernels. Boots Debian's amd64
// kernels (6.1: no AT_RSEQ_FEATURE_SIZE; 6.12: feature size 28) under
// qemu-system-x86_64 through scripts/kernel-matrix.cjs, with an initramfs
// holding this machine's node binary and the libraries it needs (ldd, with
// their host paths, plus the dynamic loader), the built package (dist/, bin/,
// build/Release/rseq.node, package.json), test/helpers/stress-worker.cjs and
// scripts/kernel-package/guest.cjs, and a static launcher
// (scripts/kernel-package/init.c) as /init. The guest runs the probe, the
// crosscheck and the stress part of the shared suite and prints one
// RSEQ-MATRIX-RESULT line; this script prints the kernel x architecture
// table from them.
//
//   node scripts/kernel-package.cjs [--kernels 6.1,6.12] [--mem 2048] [--smp 2]
//        [--timeout 300] [--jobs 1] [--scale 1] [--json out.json] [--log-dir DIR]
//        [--keep] [--verbose]
//
// Needs: npm run build:ts and the addon (build/Release/rseq.node), gcc with a
// static libc (libc6-dev), and what kernel-matrix.cjs needs (qemu, apt for
// the kernels; run as root). Exit status: 0 every cell passed, 1 a cell
// failed (including a kernel that did not boot), 2 this script could not run.
// See scripts/kernel-package/README.md.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..');
const HERE = path.join(__dirname, 'kernel-package');
const HARNESS = path.join(__dirname, 'kernel-matrix.cjs');

const USAGE = `usage: node scripts/kernel-package.cjs [options]

  --kernels LIST    Debian kernel series (default 6.1,6.12)
  --arches LIST     x86_64 only for now (aarch64: see README)
  --mem MB          guest memory (default 2048)
  --smp N           guest CPUs (default 2)
  --timeout S       seconds per boot (default 300)
  --jobs N          boots at once (default 1: two TCG guests at once are no faster on 2 cores)
  --scale N         multiply the guest's stress repetitions (default 1)
  --append ARGS     extra kernel command line (KEY=value reaches node's environment)
  --json FILE       write the cells (harness JSON plus this table) to FILE
  --log-dir DIR     keep the serial consoles there
  --keep            keep the staging directory (initramfs tree) and print its path
  --verbose         stream the guests' consoles to stderr`;

const log = (s) => process.stderr.write(`[kernel-package] ${s}\n`);

function parseCli(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      kernels: { type: 'string', default: '6.1,6.12' },
      arches: { type: 'string', default: 'x86_64' },
      mem: { type: 'string', default: '2048' },
      smp: { type: 'string', default: '2' },
      timeout: { type: 'string', default: '300' },
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
  for (const a of arches) {
    if (a !== 'x86_64') throw new Error(`--arches ${a}: only x86_64 is supported (the guest runs this machine's node binary); see README`);
  }
  if (process.arch !== 'x64') throw new Error(`this machine is ${process.arch}: the x86_64 guest needs an x86_64 node binary and addon`);
  for (const k of ['mem', 'smp', 'timeout', 'jobs', 'scale']) {
    if (!/^\d+$/.test(values[k]) || Number(values[k]) < 1) throw new Error(`--${k} needs a positive integer`);
  }
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

/** The initramfs tree: /usr/bin/node, its libraries, /pkg (the package). Returns the top-level directories. */
function stage(work) {
  const need = [
    [path.join(ROOT, 'dist', 'cjs', 'src', 'crosscheck.js'), 'npm run build:ts'],
    [path.join(ROOT, 'build', 'Release', 'rseq.node'), 'npm run build:native'],
  ];
  for (const [f, how] of need) if (!fs.existsSync(f)) throw new Error(`${path.relative(ROOT, f)} is missing: run ${how}`);
  const dir = path.join(work, 'root');
  const node = fs.realpathSync(process.execPath);
  put(dir, node, '/usr/bin/node');
  const libs = new Set([...lddPaths(node), ...lddPaths(path.join(ROOT, 'build', 'Release', 'rseq.node'))]);
  for (const lib of libs) put(dir, lib);
  const pkg = '/pkg';
  putTree(dir, path.join(ROOT, 'dist'), `${pkg}/dist`);
  putTree(dir, path.join(ROOT, 'bin'), `${pkg}/bin`);
  put(dir, path.join(ROOT, 'build', 'Release', 'rseq.node'), `${pkg}/build/Release/rseq.node`);
  put(dir, path.join(ROOT, 'package.json'), `${pkg}/package.json`);
  put(dir, path.join(ROOT, 'test', 'helpers', 'stress-worker.cjs'), `${pkg}/test/helpers/stress-worker.cjs`);
  put(dir, path.join(HERE, 'guest.cjs'), `${pkg}/scripts/kernel-package/guest.cjs`);
  log(`staged node ${process.version} (${node}), ${libs.size} libraries (${[...libs].map((l) => path.basename(l)).join(', ')}), the package: ${(bytesIn(dir) / 2 ** 20).toFixed(1)} MiB`);
  return { dir, tops: fs.readdirSync(dir) };
}

function buildInit(work) {
  const out = path.join(work, 'init-x86_64');
  const r = spawnSync('gcc', ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', out, path.join(HERE, 'init.c')], { encoding: 'utf8' });
  if (r.error) throw new Error(`gcc: ${r.error.message} (install gcc and libc6-dev)`);
  if (r.status !== 0) throw new Error(`gcc -static init.c failed:\n${r.stderr}`);
  return out;
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
  const header = ['kernel', 'arch', 'feature size', 'owner', 'crosscheck', 'stress', 'boot s', 'guest s', 'total s', 'cell'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((v, i) => String(v).padEnd(widths[i])).join(' | ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

async function main() {
  const opts = parseCli(process.argv.slice(2));
  const t0 = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rseq-kernel-package-'));
  const init = buildInit(work);
  const { dir, tops } = stage(work);
  const tStaged = Date.now();
  const json = path.join(work, 'matrix.json');
  const args = [
    '--payload', `x86_64=${init}`,
    '--kernels', opts.kernels,
    '--arches', 'x86_64',
    '--mem', opts.mem,
    '--smp', opts.smp,
    '--timeout', opts.timeout,
    '--jobs', opts.jobs,
    '--json', json,
    ...tops.flatMap((t) => ['--extra-file', `${path.join(dir, t)}=/${t}`]),
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
    const c = doc.cells.find((x) => x.kernel.series === series && x.arch === 'x86_64');
    if (!c) {
      failed++;
      rows.push([series, 'x86_64', '-', '-', '-', '-', '-', '-', '-', 'FAIL: no cell (kernel not found)']);
      continue;
    }
    const r = c.results[0] || {};
    const good = c.ok && r.crosscheck === 'match' && r.stress === 'ok';
    if (!good) failed++;
    rows.push([
      `${series} (${r.kernel || c.kernel.version})`,
      `x86_64 (${c.accel})`,
      r.featureSize === undefined ? '-' : r.featureSize === null ? 'absent' : String(r.featureSize),
      r.owner || '-',
      r.crosscheck || '-',
      r.stress === undefined ? '-' : r.stress.length > 40 ? `${r.stress.slice(0, 37)}...` : r.stress,
      c.bootSeconds === null ? '-' : c.bootSeconds.toFixed(1),
      r.guestSeconds === undefined ? '-' : `${r.guestSeconds} (crosscheck ${r.crosscheckSeconds}, stress ${r.stressSeconds})`,
      c.totalSeconds.toFixed(1),
      good ? 'PASS' : `FAIL: ${c.ok ? 'guest reported a failure' : c.reason}`,
    ]);
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
