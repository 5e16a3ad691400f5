#!/usr/bin/env node
'use strict';
// Build the rseq stress test (every .cc of native/test/stress/, as CMake's
// rseq_stress targets, with the Node-free core) as statically linked
// binaries, for running anywhere without Node or shared libraries: on a bare
// machine, or as the task of a kernel-matrix guest
// (scripts/kernel-matrix.cjs --payload ARCH=FILE --task '/payload --guest').
//
//   node scripts/build-stress.cjs [--arch x86_64|aarch64|all] [--out DIR]
//                                 [--variant plain|inject|both] [--dynamic]
//
// Writes DIR/rseq-stress-ARCH (plain) and DIR/rseq-stress-inject-ARCH (delay,
// yield and signal injection: -DRSEQ_INJECT), compiled with the project's
// flags (-Wall -Wextra -Werror -fno-exceptions) and -static. Defaults: the
// host's architecture, build-cmake/stress, both variants.
//
// Compilers: g++ for the host's own architecture, otherwise the Debian cross
// compiler (aarch64-linux-gnu-g++ / x86_64-linux-gnu-g++). A missing cross
// compiler is installed with apt-get when running as root (g++-aarch64-linux-gnu
// brings its static glibc, libc6-dev-arm64-cross); otherwise the script says
// what to install.
//
// glibc warns at link time that dlsym in a static binary needs the shared
// libraries at run time: the core looks up glibc's __rseq_* symbols with dlsym
// (for the dlopen'd addon). In a static binary that lookup finds nothing and
// the core falls back to weak references to the same symbols, which resolve to
// the static glibc's own. The warning is expected and harmless.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { which } = require('./kernel-matrix/host.cjs');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..');
const ARCHES = ['x86_64', 'aarch64'];
const HOST_ARCH = { x64: 'x86_64', arm64: 'aarch64' }[process.arch];
const CROSS = {
  x86_64: { cxx: 'x86_64-linux-gnu-g++', pkgs: ['g++-x86-64-linux-gnu'] },
  aarch64: { cxx: 'aarch64-linux-gnu-g++', pkgs: ['g++-aarch64-linux-gnu'] },
};
const CORE_SOURCES = ['auxv.cc', 'errno_names.cc', 'errno_table.cc', 'percpu.cc', 'probe.cc', 'registration.cc'];
const FLAGS = ['-std=c++17', '-O2', '-g0', '-Wall', '-Wextra', '-Werror', '-fno-exceptions', '-pthread'];
const ELF_MACHINE = { x86_64: 62, aarch64: 183 };

function die(message) {
  console.error(`build-stress: ${message}`);
  process.exit(1);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) die(`could not run ${cmd}: ${r.error.message}`);
  return r;
}

function compilerFor(arch) {
  if (arch === HOST_ARCH) {
    const cxx = process.env.CXX || 'g++';
    if (!which(cxx.split(' ')[0])) die(`no ${cxx} on PATH (Debian/Ubuntu: apt-get install g++)`);
    return cxx;
  }
  const { cxx, pkgs } = CROSS[arch];
  if (which(cxx)) return cxx;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) die(`${cxx} is missing: install ${pkgs.join(' ')} (apt-get install ${pkgs.join(' ')})`);
  console.error(`build-stress: installing ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  let r = install();
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
    r = install();
  }
  if (r.status !== 0 || !which(cxx)) die(`could not install ${pkgs.join(' ')}`);
  return cxx;
}

// The ELF header must name the architecture; a static binary has no PT_INTERP.
function checkElf(file, arch, wantStatic) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 4) !== '\x7fELF' || buf[4] !== 2) die(`${file}: not a 64-bit ELF file`);
  const machine = buf.readUInt16LE(18);
  if (machine !== ELF_MACHINE[arch]) die(`${file}: ELF machine ${machine}, expected ${arch}`);
  const phoff = Number(buf.readBigUInt64LE(32));
  const phentsize = buf.readUInt16LE(54);
  const phnum = buf.readUInt16LE(56);
  let interp = false;
  for (let i = 0; i < phnum; i++) if (buf.readUInt32LE(phoff + i * phentsize) === 3) interp = true;
  if (wantStatic && interp) die(`${file}: dynamically linked although -static was given`);
}

function main() {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: HOST_ARCH || 'x86_64' },
      out: { type: 'string', default: path.join(root, 'build-cmake', 'stress') },
      variant: { type: 'string', default: 'both' },
      dynamic: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node scripts/build-stress.cjs [--arch x86_64|aarch64|all] [--out DIR] [--variant plain|inject|both] [--dynamic]');
    return;
  }
  if (os.platform() !== 'linux') die('the stress test is Linux-only');
  const arches = values.arch === 'all' ? ARCHES : values.arch.split(',');
  for (const a of arches) if (!ARCHES.includes(a)) die(`--arch ${a}: expected x86_64, aarch64 or all`);
  const variants = values.variant === 'both' ? ['plain', 'inject'] : [values.variant];
  for (const v of variants) if (!['plain', 'inject'].includes(v)) die(`--variant ${v}: expected plain, inject or both`);
  const out = path.resolve(values.out);
  fs.mkdirSync(out, { recursive: true });

  const stressDir = path.join(root, 'native', 'test', 'stress');
  const sources = [
    ...fs.readdirSync(stressDir).filter((f) => f.endsWith('.cc')).sort().map((f) => path.join(stressDir, f)),
    ...CORE_SOURCES.map((s) => path.join(root, 'native', s)),
  ];
  for (const arch of arches) {
    const cxx = compilerFor(arch);
    for (const variant of variants) {
      const file = path.join(out, variant === 'inject' ? `rseq-stress-inject-${arch}` : `rseq-stress-${arch}`);
      const args = [
        ...FLAGS,
        ...(variant === 'inject' ? ['-DRSEQ_INJECT'] : []),
        ...(values.dynamic ? [] : ['-static']),
        `-I${path.join(root, 'native')}`,
        ...sources,
        '-o',
        file,
      ];
      const [bin, ...pre] = cxx.split(' ');
      const r = run(bin, [...pre, ...args]);
      // Only the expected static-dlsym notes may appear; anything else is shown.
      const noise = /statically linked applications requires at runtime the shared libraries|in function `rseq_native::/;
      const other = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() && !noise.test(l));
      if (r.status !== 0) {
        process.stderr.write(`${r.stdout}${r.stderr}`);
        die(`${bin} failed for ${arch} ${variant} (exit ${r.status})`);
      }
      if (other.length) process.stderr.write(`${other.join('\n')}\n`);
      checkElf(file, arch, !values.dynamic);
      const kib = (fs.statSync(file).size / 1024).toFixed(0);
      console.log(`${file} (${arch}, ${variant}, ${values.dynamic ? 'dynamic' : 'static'}, ${kib} KiB, ${bin})`);
    }
  }
}

main();
