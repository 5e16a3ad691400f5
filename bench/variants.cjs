#!/usr/bin/env node
'use strict';
// Why the critical-section add via native/percpu.h costs more than the same
// section inlined: builds the addon with other compiler and linker flags into
// bench/.build/<variant>/rseq.node and times benchLoop's C loops in each,
// alternating variants (one child process per variant and round), medians.
//
//   node bench/variants.cjs [--rounds N] [--iterations N] [--variants a,b] [--wait-quiet] [--json]
//
// Variants:
//   gyp         node-gyp's Release flags (-O3 -fPIC -fno-omit-frame-pointer),
//               without binding.gyp's -fvisibility=hidden (the development
//               addon's sources: the shipped addon's plus benchLoop)
//   hidden      + -fvisibility=hidden: calls between the addon's own files
//               are direct instead of through the PLT (only the module's
//               init, marked NAPI_MODULE_EXPORT, stays exported)
//   bsymbolic   + -Wl,-Bsymbolic-functions: the same, decided at link time
//   lto-hidden  + -fvisibility=hidden -flto: op_add and op_current_id are
//               inlined into the caller across files
// Needs a C++ compiler and the Node headers (as node-gyp does).

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { summary, fmt, table } = require('./lib/stats.cjs');
const { waitQuiet } = require('./lib/machine.cjs');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(__dirname, '.build');
// The development addon's sources (binding.gyp's rseq_dev target: the
// shipped addon's plus bench/native/bench.cc, where benchLoop lives).
function devSources() {
  const gyp = JSON.parse(fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n'));
  const dev = (gyp.conditions || []).flatMap((c) => (c[1] && c[1].targets) || []).find((t) => t.target_name === 'rseq_dev');
  if (!dev) throw new Error('variants: binding.gyp has no rseq_dev target');
  return dev.sources.map((f) => path.join(ROOT, f));
}
const SOURCES = devSources();
const BASE = ['-std=c++17', '-O3', '-fPIC', '-pthread', '-m64', '-fno-omit-frame-pointer', '-fno-rtti', '-fno-exceptions', '-Wall', '-Wextra', '-Werror'];
const DEFINES = ['-DNAPI_VERSION=8', '-DNODE_ADDON_API_DISABLE_DEPRECATED', '-DNAPI_DISABLE_CPP_EXCEPTIONS', '-DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS', '-DRSEQ_DEV_HOOKS', '-DBUILDING_NODE_EXTENSION', '-D_GLIBCXX_USE_CXX11_ABI=1'];
const VARIANTS = {
  gyp: { cflags: [], ldflags: [] },
  hidden: { cflags: ['-fvisibility=hidden'], ldflags: [] },
  bsymbolic: { cflags: [], ldflags: ['-Wl,-Bsymbolic-functions'] },
  'lto-hidden': { cflags: ['-fvisibility=hidden', '-flto'], ldflags: ['-flto', '-O3'] },
};
const KINDS = ['rseq-add', 'rseq-add-inline', 'area-atomic', 'getcpu-atomic'];

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const rounds = Number(arg('--rounds', 7));
const iterations = Number(arg('--iterations', 20000000));
const chosen = (arg('--variants', Object.keys(VARIANTS).join(','))).split(',');

function nodeIncludes() {
  const candidates = [path.join(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
  const dir = candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
  if (!dir) throw new Error('variants: cannot find the Node headers (node_api.h)');
  const napi = path.resolve(ROOT, require(path.join(ROOT, 'node_modules', 'node-addon-api')).include_dir.replace(/^"|"$/g, ''));
  return [`-I${dir}`, `-I${napi}`, `-I${path.join(ROOT, 'native')}`, `-I${path.join(ROOT, 'bench', 'native')}`];
}

function build(name) {
  const v = VARIANTS[name];
  const dir = path.join(OUT, name);
  fs.mkdirSync(dir, { recursive: true });
  const cxx = process.env.CXX || 'c++';
  const inc = nodeIncludes();
  const objs = [];
  for (const src of SOURCES) {
    const obj = path.join(dir, path.basename(src, '.cc') + '.o');
    const r = spawnSync(cxx, [...BASE, ...v.cflags, ...DEFINES, ...inc, '-c', src, '-o', obj], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`variants: ${name}: compiling ${path.basename(src)} failed:\n${r.stderr}`);
    objs.push(obj);
  }
  const out = path.join(dir, 'rseq.node');
  const r = spawnSync(cxx, ['-shared', '-pthread', '-m64', '-rdynamic', ...v.ldflags, ...objs, '-o', out, '-ldl', '-lpthread'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`variants: ${name}: linking failed:\n${r.stderr}`);
  return out;
}

const CHILD = `
const b = require(process.argv[1]);
const kinds = JSON.parse(process.argv[2]);
const n = Number(process.argv[3]);
for (const k of kinds) b.benchLoop(k, Math.min(n, 1000000));
const out = {};
for (const k of kinds) out[k] = b.benchLoop(k, n) / n;
console.log(JSON.stringify(out));
`;

function main() {
  const built = {};
  for (const name of chosen) {
    if (!VARIANTS[name]) throw new Error(`variants: unknown variant ${name}`);
    built[name] = build(name);
    const plt = spawnSync('objdump', ['-d', '--no-show-raw-insn', '-C', built[name]], { encoding: 'utf8', maxBuffer: 256 << 20 });
    const calls = plt.status === 0 ? (plt.stdout.match(/call\s+\S+\s+<rseq_native::op_add\(.*\)@plt>/g) || []).length : null;
    console.log(`built ${name}: ${path.relative(process.cwd(), built[name])}${calls !== null ? ` (calls to op_add through the PLT: ${calls})` : ''}`);
  }
  if (process.argv.includes('--wait-quiet')) console.log(JSON.stringify(waitQuiet(1800)));
  const samples = {};
  for (const name of chosen) samples[name] = Object.fromEntries(KINDS.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    const order = chosen.map((_, i) => chosen[(i + r) % chosen.length]);
    for (const name of order) {
      const p = spawnSync(process.execPath, ['-e', CHILD, built[name], JSON.stringify(KINDS), String(iterations)], { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`variants: ${name}: ${p.stderr}`);
      const res = JSON.parse(p.stdout.trim());
      for (const k of KINDS) samples[name][k].push(res[k]);
    }
  }
  const rows = [];
  const result = {};
  for (const name of chosen) {
    result[name] = {};
    const ratios = samples[name]['rseq-add'].map((x, i) => x / samples[name]['getcpu-atomic'][i]);
    for (const k of KINDS) result[name][k] = summary(samples[name][k]);
    result[name].rseqAddOverGetcpu = summary(ratios);
    rows.push([name, ...KINDS.map((k) => `${fmt(result[name][k].median)} (${fmt(result[name][k].min)}-${fmt(result[name][k].max)})`), fmt(result[name].rseqAddOverGetcpu.median)]);
  }
  console.log(`\nns per add, median of ${rounds} rounds (min-max), ${iterations} iterations per loop`);
  console.log(table(['variant', ...KINDS, 'rseq-add / getcpu-atomic'], rows));
  if (process.argv.includes('--json')) console.log(JSON.stringify(result));
}

main();
