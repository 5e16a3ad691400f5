#!/usr/bin/env node
'use strict';
// The prebuilt addons shipped in the npm tarball, for Linux x64 and arm64
// (glibc), in the layout node-gyp-build reads:
//
//   prebuilds/linux-x64/node.napi.glibc.node
//   prebuilds/linux-arm64/node.napi.glibc.node
//
// The package loads (src/native/backend.ts) RSEQ_ADDON when set, else a local source
// build (build/Release/rseq.node) when present, else the prebuild for this
// platform, else runs on the simulator and says why.
//
// A prebuild must load wherever the official Node binaries run: those need at
// most GLIBC_2.28 and GLIBCXX_3.4.21 (and link libstdc++ and libgcc_s, which
// the addon shares). So it is compiled from binding.gyp's sources with
// native/glibc_compat.h forced in (older symbol versions for the few libc
// calls glibc 2.34 moved) and native/prebuild_compat.cc added, and checked:
// the script fails when the result needs a newer version.
// Node-API (NAPI_VERSION 8) makes one build serve every Node major.
//
// Reproducible: fixed flags, sources in binding.gyp's order, paths relative
// to the package (-ffile-prefix-map), a build id hashed from the content; the
// same compiler gives the same bytes (the script prints each file's sha256).
// The arm64 prebuild is made with Debian's cross compiler
// (aarch64-linux-gnu-g++, installed with apt-get when missing and root).
//
//   node scripts/prebuild.cjs [--arch x64|arm64|all] [--out DIR] [--check-only]
//
// `npm pack` runs it first (package.json "prepack").
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..');
const PREBUILD_NAME = 'node.napi.glibc.node';

/** The highest symbol versions a prebuild may need (the official Node binaries' own needs). */
const LIMITS = { GLIBC: [2, 28], GLIBCXX: [3, 4, 21], CXXABI: [1, 3, 9] };

const TARGETS = {
  x64: { machine: 'x86_64', cross: 'x86_64-linux-gnu-g++', apt: 'g++-x86-64-linux-gnu', elfMachine: 62 },
  arm64: { machine: 'aarch64', cross: 'aarch64-linux-gnu-g++', apt: 'g++-aarch64-linux-gnu', elfMachine: 183 },
};

const log = (s) => process.stderr.write(`[prebuild] ${s}\n`);

/** binding.gyp's shipped target ("rseq"): its sources and defines. */
function gypTarget() {
  const text = fs
    .readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8')
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');
  const gyp = JSON.parse(text);
  const t = gyp.targets.find((x) => x.target_name === 'rseq');
  if (!t) throw new Error('binding.gyp has no target "rseq"');
  return { sources: t.sources, defines: t.defines ?? [] };
}

function hostArch() {
  return { x64: 'x64', arm64: 'arm64' }[process.arch] ?? null;
}

/** The C++ compiler for `arch`: the host's g++ for its own arch, else the Debian cross compiler. */
function compilerFor(arch) {
  const t = TARGETS[arch];
  const candidates = hostArch() === arch ? [process.env.CXX || 'g++', t.cross] : [t.cross];
  for (const c of candidates) {
    if (spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0) return c;
  }
  if (process.getuid && process.getuid() === 0) {
    log(`installing ${t.apt} (Debian's cross compiler for ${t.machine})`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
    const r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', t.apt], { stdio: 'inherit', env });
    if (r.status === 0 && spawnSync(t.cross, ['--version'], { stdio: 'ignore' }).status === 0) return t.cross;
  }
  throw new Error(`no C++ compiler for ${t.machine}: install ${t.apt} (apt-get install ${t.apt})`);
}

function includeDirs() {
  const napiHeaders = path.dirname(require.resolve('node-api-headers/include/node_api.h', { paths: [ROOT] }));
  const addonApi = path.dirname(require.resolve('node-addon-api/napi.h', { paths: [ROOT] }));
  return [path.join(ROOT, 'native'), addonApi, napiHeaders];
}

/** Compiles and links one prebuild; returns its path. */
function build(arch, outDir) {
  const cxx = compilerFor(arch);
  const { sources, defines } = gypTarget();
  const dir = path.join(outDir, `linux-${arch}`);
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, PREBUILD_NAME);
  const rel = (p) => path.relative(ROOT, p) || '.';
  const args = [
    '-std=c++17',
    '-O2',
    '-fPIC',
    '-shared',
    '-fno-exceptions',
    '-fvisibility=hidden',
    '-fvisibility-inlines-hidden',
    '-Wall',
    '-Wextra',
    `-ffile-prefix-map=${ROOT}=.`,
    '-include',
    'native/glibc_compat.h',
    ...defines.map((d) => `-D${d}`),
    '-DBUILDING_NODE_EXTENSION',
    ...includeDirs().map((d) => `-I${rel(d)}`),
    ...sources,
    'native/prebuild_compat.cc',
    '-o',
    rel(out),
    '-Wl,--as-needed',
    '-Wl,-z,nodelete',
    '-Wl,--build-id=sha1',
    '-Wl,-z,noexecstack',
    '-ldl',
    '-lpthread',
  ];
  log(`${arch}: ${cxx} ${args.join(' ')}`);
  const r = spawnSync(cxx, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${arch}: the compiler exited ${r.status ?? r.signal}`);
  return out;
}

/** `readelf` output for a file, or throws. */
function readelf(args, file) {
  const r = spawnSync('readelf', ['-W', ...args, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`readelf ${args.join(' ')} ${file}: ${r.stderr || r.error}`);
  return r.stdout;
}

function compare(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * What a built addon needs from the system: its ELF machine number, the
 * libraries it names (DT_NEEDED) and every symbol version it requires, with
 * the versions past LIMITS. Reads the file with readelf (binutils).
 */
function inspect(file) {
  const header = readelf(['-h'], file);
  const m = /Machine:\s+(.+)/.exec(header);
  const dynamic = readelf(['-d'], file);
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((x) => x[1]);
  const versions = [...readelf(['-V'], file).matchAll(/Name: ((GLIBC|GLIBCXX|CXXABI)_([0-9.]+))/g)].map((x) => ({
    name: x[1],
    family: x[2],
    number: x[3].split('.').map(Number),
  }));
  const unique = [...new Map(versions.map((v) => [v.name, v])).values()];
  const tooNew = unique.filter((v) => compare(v.number, LIMITS[v.family]) > 0).map((v) => v.name);
  return { machine: m ? m[1].trim() : 'unknown', needed, versions: unique.map((v) => v.name).sort(), tooNew };
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function main() {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: 'all' },
      out: { type: 'string', default: path.join(ROOT, 'prebuilds') },
      'check-only': { type: 'boolean', default: false },
    },
  });
  const arches = values.arch === 'all' ? Object.keys(TARGETS) : values.arch.split(',');
  for (const a of arches) {
    if (!TARGETS[a]) throw new Error(`--arch must be x64, arm64 or all, not ${a}`);
  }
  let bad = 0;
  for (const arch of arches) {
    const file = values['check-only'] ? path.join(path.resolve(values.out), `linux-${arch}`, PREBUILD_NAME) : build(arch, path.resolve(values.out));
    const info = inspect(file);
    const size = fs.statSync(file).size;
    log(`${path.relative(ROOT, file)}: ${info.machine}, ${size} bytes, sha256 ${sha256(file)}`);
    log(`  needs ${info.needed.join(', ')}; versions ${info.versions.join(' ')}`);
    if (info.tooNew.length > 0) {
      log(`  NEEDS TOO NEW: ${info.tooNew.join(' ')} (limits GLIBC_2.28, GLIBCXX_3.4.21, CXXABI_1.3.9)`);
      bad++;
    }
  }
  process.exit(bad === 0 ? 0 : 1);
}

module.exports = { PREBUILD_NAME, LIMITS, TARGETS, inspect };

if (require.main === module) {
  try {
    main();
  } catch (err) {
    log(err instanceof Error ? err.message : String(err));
    process.exit(2);
  }
}
