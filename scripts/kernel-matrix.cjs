#!/usr/bin/env node
'use strict';
// kernel-matrix: boot real Debian kernels under qemu, on x86_64 and aarch64,
// each with an initramfs whose /init is the matrix's own (kernel-matrix/init.c,
// built here for each architecture) and a task for it to run: a static
// payload (/payload), or any command the initramfs holds (node and a script:
// scripts/kernel-package.cjs). Prints a kernel x architecture table of what
// the task reported.
//
//   node scripts/kernel-matrix.cjs --smoke
//   node scripts/kernel-matrix.cjs --payload x86_64=/path/bin --payload aarch64=/path/bin-arm64 \
//        [--task '/payload --flag'] [--kernels 6.1,6.12] [--arches x86_64,aarch64] [--timeout 120] \
//        [--json out.json] [--smp 2] [--mem 1024] [--extra-file [arch:]/host/path=/initramfs/path ...]
//   node scripts/kernel-matrix.cjs --arches x86_64 --task '/usr/bin/node /pkg/guest.cjs' --extra-file ...
//
// See scripts/kernel-matrix/README.md for the task protocol and details.
// Only Node built-ins are used; qemu, compilers and kernels come from Debian
// packages that the script installs or downloads itself (run as root).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const dir = path.join(__dirname, 'kernel-matrix');
const { log, run, ensureCommands } = require(path.join(dir, 'host.cjs'));
const { probeKvm } = require(path.join(dir, 'kvm-probe.cjs'));
const { resolveKernels, ensureKernels, cacheRoot } = require(path.join(dir, 'kernels.cjs'));
const { buildInitramfs } = require(path.join(dir, 'initramfs.cjs'));
const { QEMU_BIN, bootCell, killAll } = require(path.join(dir, 'qemu.cjs'));

const ARCHES = ['x86_64', 'aarch64'];
const ELF_MACHINE = { x86_64: 62, aarch64: 183 };
const QEMU_PKG = { x86_64: 'qemu-system-x86', aarch64: 'qemu-system-arm' };

const USAGE = `usage: node scripts/kernel-matrix.cjs (--smoke | --payload ARCH=FILE ... | --task CMD) [options]

  --payload ARCH=FILE     static binary for ARCH (x86_64, aarch64), staged as /payload; repeatable
  --task CMD              what /init runs: a program in the initramfs and its arguments,
                          separated by spaces (default /payload)
  --smoke                 build scripts/kernel-matrix/smoke.c for each arch as the payload
  --kernels LIST          Debian kernel series, comma separated (default 6.1,6.12)
  --arches LIST           architectures (default: those with a payload, or both with --smoke;
                          required with --task and no payload)
  --timeout S             seconds per boot before qemu is killed (default 120)
  --smp N / --mem MB      guest CPUs (default 2) and memory (default 1024)
  --extra-file [ARCH:]HOST=DEST
                          add a host file or directory tree to the initramfs at DEST
                          (only for ARCH when given); repeatable
  --append ARGS           extra kernel command line (e.g. GLIBC_TUNABLES=glibc.pthread.rseq=0,
                          which the kernel hands to /init's environment)
  --jobs N                boots run at the same time (default 2, or 1 on a one-core host):
                          ~25% less wall time than 1 on 2 cores, but per-cell times grow
  --retries N             reboot a cell up to N more times when it failed before /init ran
                          (flaky emulated boots; default 1)
  --no-kvm                use TCG on x86_64 even where KVM works
  --aarch64-cpu MODEL     qemu -cpu for aarch64 (default max,pauth-impdef=on: all features,
                          cheap pointer auth; cortex-a57 boots ~1 s faster)
  --json FILE             write every cell and its results as JSON
  --log-dir DIR           keep the serial logs there (default: a temp dir, removed when all pass)
  --verbose               no "quiet" on the kernel command line; stream the consoles to stderr
Kernels are cached in $RSEQ_KERNEL_CACHE or ~/.cache/rseq-kernels. Exit status 1 if any cell failed.`;

function parseCli(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      payload: { type: 'string', multiple: true, default: [] },
      smoke: { type: 'boolean', default: false },
      task: { type: 'string' },
      kernels: { type: 'string', default: '6.1,6.12' },
      arches: { type: 'string' },
      timeout: { type: 'string', default: '120' },
      json: { type: 'string' },
      smp: { type: 'string', default: '2' },
      mem: { type: 'string', default: '1024' },
      'extra-file': { type: 'string', multiple: true, default: [] },
      append: { type: 'string', default: '' },
      retries: { type: 'string', default: '1' },
      jobs: { type: 'string', default: String(Math.min(2, os.availableParallelism())) },
      'no-kvm': { type: 'boolean', default: false },
      'aarch64-cpu': { type: 'string', default: 'max,pauth-impdef=on' },
      'log-dir': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name, min) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} needs an integer >= ${min}`);
    return n;
  };
  const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

  const payloads = {};
  for (const p of values.payload) {
    const m = /^([^=]+)=(.+)$/.exec(p);
    if (!m || !ARCHES.includes(m[1])) throw new Error(`--payload ${p}: expected ARCH=FILE with ARCH in ${ARCHES}`);
    payloads[m[1]] = path.resolve(m[2]);
  }
  const extras = values['extra-file'].map((spec) => {
    const m = /^(?:(x86_64|aarch64):)?([^=]+)=(.+)$/.exec(spec);
    if (!m || !m[3].startsWith('/')) throw new Error(`--extra-file ${spec}: expected [ARCH:]HOST=/DEST`);
    if (!fs.existsSync(m[2])) throw new Error(`--extra-file ${spec}: ${m[2]} does not exist`);
    return { arch: m[1] || null, host: path.resolve(m[2]), dest: m[3] };
  });

  let arches = values.arches ? list(values.arches) : values.smoke ? ARCHES : Object.keys(payloads);
  for (const a of arches) if (!ARCHES.includes(a)) throw new Error(`unknown arch ${a} (know ${ARCHES})`);
  arches = ARCHES.filter((a) => arches.includes(a)); // canonical order
  if (arches.length === 0) throw new Error(`no payload given (with --task alone, name the --arches)\n\n${USAGE}`);
  // The task: /payload unless --task names another program; /payload needs a payload for every arch.
  const task = (values.task ?? '/payload').split(/\s+/).filter(Boolean);
  if (task.length === 0 || !task[0].startsWith('/')) throw new Error(`--task ${values.task}: the first word must be an absolute path in the initramfs`);
  const needPayload = task[0] === '/payload';
  if (!values.smoke && needPayload) {
    for (const a of arches) if (!payloads[a]) throw new Error(`no --payload for ${a}`);
  }
  if (values.smoke && !needPayload) throw new Error('--smoke runs the smoke payload: no --task with it');
  const kernels = list(values.kernels);
  for (const k of kernels) if (!/^\d+\.\d+$/.test(k)) throw new Error(`--kernels: ${k} is not a series like 6.12`);

  return {
    payloads,
    task,
    smoke: values.smoke,
    kernels,
    arches,
    timeout: int('timeout', 1),
    json: values.json,
    smp: int('smp', 1),
    mem: int('mem', 128),
    extras,
    append: values.append,
    jobs: int('jobs', 1),
    retries: int('retries', 0),
    kvm: !values['no-kvm'],
    aarch64Cpu: values['aarch64-cpu'],
    logDir: values['log-dir'],
    verbose: values.verbose,
  };
}

/**
 * Compile the C programs of the guests statically for each arch into
 * `outDir`: init.c (every guest's /init) and, for --smoke, smoke.c. Returns
 * { init: { arch: file }, smoke: { arch: file } | null }.
 */
function buildGuestPrograms(arches, outDir, smoke) {
  const cc = { x86_64: 'gcc', aarch64: 'aarch64-linux-gnu-gcc' };
  const needs = {};
  if (arches.includes('x86_64')) needs.gcc = ['gcc', 'libc6-dev'];
  if (arches.includes('aarch64')) needs['aarch64-linux-gnu-gcc'] = ['gcc-aarch64-linux-gnu', 'libc6-dev-arm64-cross'];
  ensureCommands(needs);
  const build = (name, arch) => {
    const out = path.join(outDir, `${name}-${arch}`);
    run(cc[arch], ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', out, path.join(dir, `${name}.c`)]);
    log(`built ${out} with ${cc[arch]} -static`);
    return out;
  };
  return {
    init: Object.fromEntries(arches.map((a) => [a, build('init', a)])),
    smoke: smoke ? Object.fromEntries(arches.map((a) => [a, build('smoke', a)])) : null,
  };
}

/** Refuse payloads for the wrong CPU; warn about dynamic ones (no libs in the initramfs). */
function checkPayload(arch, file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 64 || buf.toString('latin1', 0, 4) !== '\x7fELF' || buf[4] !== 2) {
    throw new Error(`${file}: not a 64-bit ELF file`);
  }
  const machine = buf.readUInt16LE(18);
  if (machine !== ELF_MACHINE[arch]) throw new Error(`${file}: ELF machine ${machine} is not ${arch}`);
  // Look for a PT_INTERP program header (type 3): a dynamically linked binary.
  const phoff = Number(buf.readBigUInt64LE(32));
  const phentsize = buf.readUInt16LE(54);
  const phnum = buf.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 <= buf.length && buf.readUInt32LE(off) === 3) {
      log(`warning: ${file} is dynamically linked; its interpreter and libraries must be added with --extra-file`);
    }
  }
}

/** Run `tasks` (functions returning promises) with at most `n` at once. */
async function pool(tasks, n) {
  const results = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
  return results;
}

/** Plain-text table: kernel | arch | boot s | total s | result | <RESULT keys>. */
function renderTable(cells) {
  const keys = [];
  for (const c of cells) for (const r of c.results) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  const fmt = (v) => {
    if (v === undefined) return '';
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    return s.length > 40 ? `${s.slice(0, 37)}...` : s;
  };
  const header = ['kernel', 'arch', 'boot s', 'total s', 'result', ...keys];
  const rows = [];
  for (const c of cells) {
    const base = [
      `${c.kernel.series} (${c.kernel.version})`,
      `${c.arch} (${c.accel})`,
      c.bootSeconds === null ? '-' : c.bootSeconds.toFixed(1),
      c.totalSeconds.toFixed(1),
      (c.ok ? 'PASS' : `FAIL: ${c.reason}`) + (c.attempts.length > 1 ? ` (attempt ${c.attempts.length})` : ''),
    ];
    const results = c.results.length ? c.results : [{}];
    results.forEach((r, i) => rows.push([...(i === 0 ? base : base.map(() => '"')), ...keys.map((k) => fmt(r[k]))]));
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((v, i) => v.padEnd(widths[i])).join(' | ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

async function main() {
  const opts = parseCli(process.argv.slice(2));
  const t0 = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rseq-kernel-matrix-'));
  const logDir = opts.logDir ? path.resolve(opts.logDir) : path.join(work, 'logs');
  fs.mkdirSync(logDir, { recursive: true });

  // 1. /init for each architecture, and the payloads.
  const programs = buildGuestPrograms(opts.arches, work, opts.smoke);
  const payloads = opts.smoke ? programs.smoke : opts.payloads;
  for (const arch of opts.arches) if (payloads[arch]) checkPayload(arch, payloads[arch]);

  // 2. qemu for each architecture (cpio is not needed: the initramfs is built in Node).
  ensureCommands(Object.fromEntries(opts.arches.map((a) => [QEMU_BIN[a], QEMU_PKG[a]])));

  // 3. Kernels: resolve with apt, download what the cache lacks.
  const kernels = ensureKernels(resolveKernels(opts.kernels, opts.arches));
  for (const k of kernels) log(`kernel ${k.series}/${k.arch}: ${k.pkg} ${k.version}${k.cached ? ' (cached)' : ''}`);
  const tKernels = Date.now();

  // 4. x86_64 uses KVM where a probe boot of that very kernel works under it
  //    (see kvm-probe.cjs), TCG otherwise; aarch64 is always TCG.
  const accel = new Map(); // kernel -> 'kvm' | 'tcg'
  const kvm = {};
  for (const k of kernels.filter((k) => k.arch === 'x86_64')) {
    const p = opts.kvm ? await probeKvm(k.image, work, programs.init.x86_64) : { ok: false, why: 'disabled by --no-kvm' };
    kvm[k.pkg] = p;
    accel.set(k, p.ok ? 'kvm' : 'tcg');
    log(`x86_64 ${k.series}: ${p.ok ? 'KVM' : 'TCG'} (KVM probe: ${p.why})`);
  }

  // 5. One initramfs per architecture, shared by all kernels.
  const initrds = {};
  for (const arch of opts.arches) {
    const extras = opts.extras.filter((e) => !e.arch || e.arch === arch);
    initrds[arch] = path.join(work, `initrd-${arch}.cpio.gz`);
    fs.writeFileSync(initrds[arch], buildInitramfs({ init: programs.init[arch], task: opts.task, payload: payloads[arch] || null, extras }));
    log(`initramfs ${arch}: ${(fs.statSync(initrds[arch]).size / 1024).toFixed(0)} KiB`);
  }

  // 6. Boot every cell. Slow (TCG) cells first so parallel runs pack well.
  const cells = kernels.map((k) => ({
    kernel: k,
    arch: k.arch,
    accel: accel.get(k) || 'tcg',
  }));
  const weight = (c) => (c.accel === 'kvm' ? 0 : c.arch === 'aarch64' ? 2 : 1);
  const order = [...cells].sort((a, b) => weight(b) - weight(a));
  const tBoot = Date.now();
  let retried = false;
  await pool(
    order.map((c) => async () => {
      const name = `${c.kernel.series}-${c.arch}`;
      c.attempts = [];
      for (;;) {
        const attempt = c.attempts.length + 1;
        log(`boot ${name} (${c.accel})${attempt > 1 ? ` attempt ${attempt}` : ''}`);
        const r = await bootCell({
          arch: c.arch,
          accel: c.accel,
          cpu: opts.aarch64Cpu,
          smp: opts.smp,
          mem: opts.mem,
          kernelImage: c.kernel.image,
          initrd: initrds[c.arch],
          append: opts.append,
          timeout: opts.timeout,
          verbose: opts.verbose,
          logFile: path.join(logDir, `${name}${attempt > 1 ? `.${attempt}` : ''}.log`),
        });
        c.attempts.push({ ok: r.ok, reason: r.reason, totalSeconds: r.totalSeconds, log: r.log });
        Object.assign(c, r);
        log(`${name}: ${r.ok ? 'PASS' : `FAIL (${r.reason})`} boot ${r.bootSeconds?.toFixed(1) ?? '-'} s, total ${r.totalSeconds.toFixed(1)} s`);
        if (!r.ok) for (const l of r.consoleTail) log(`  | ${l}`);
        // Only a failure before /init ran (no marker, no "attempted to kill
        // init" panic) is retried; whatever the payload does is final.
        if (r.ok || r.reachedInit || attempt > opts.retries) break;
        retried = true;
      }
    }),
    opts.jobs,
  );
  const tEnd = Date.now();

  // 7. Report.
  console.log(renderTable(cells));
  const failed = cells.filter((c) => !c.ok);
  console.log(
    `\n${cells.length - failed.length}/${cells.length} cells passed; ` +
      `kernels ready in ${((tKernels - t0) / 1000).toFixed(1)} s, boots ${((tEnd - tBoot) / 1000).toFixed(1)} s ` +
      `(--jobs ${opts.jobs}), total ${((tEnd - t0) / 1000).toFixed(1)} s`,
  );
  if (opts.json) {
    const doc = {
      date: new Date().toISOString(),
      options: { ...opts, payloads },
      kvm,
      kernelCache: cacheRoot(),
      seconds: { kernels: (tKernels - t0) / 1000, boots: (tEnd - tBoot) / 1000, total: (tEnd - t0) / 1000 },
      cells: cells.map((c) => ({
        kernel: { series: c.kernel.series, package: c.kernel.pkg, version: c.kernel.version, cached: c.kernel.cached },
        arch: c.arch,
        accel: c.accel,
        ok: c.ok,
        reason: c.reason,
        bootSeconds: c.bootSeconds,
        totalSeconds: c.totalSeconds,
        doneCode: c.doneCode,
        attempts: c.attempts.map((a) => ({ ...a, log: opts.logDir || failed.length || retried ? a.log : null })),
        results: c.results,
        command: c.command,
        log: opts.logDir || failed.length || retried ? c.log : null,
      })),
    };
    fs.writeFileSync(opts.json, `${JSON.stringify(doc, null, 2)}\n`);
    log(`wrote ${opts.json}`);
  }

  // Keep the temp dir (logs, initrds) when something failed, for a look.
  if (failed.length || retried) log(`serial logs kept in ${logDir}`);
  else fs.rmSync(work, { recursive: true, force: true });
  return failed.length ? 1 : 0;
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    killAll();
    process.stderr.write(`kernel-matrix: ${err.message}\n`);
    process.exit(2);
  },
);
