#!/usr/bin/env node
'use strict';
// The import graph of the TypeScript sources (src/ and fallback/), by layer:
//   contract   src/contract/   the backend interface, types, errors, fields, layout
//   native     src/native/     the native backend (the addon's TypeScript side)
//   simulator  fallback/       the simulator backend and its kernel model
//   api        the rest of src/ (the public API, structures, selection, tools)
// The rules below keep the contract a leaf and the two backends peers above it.
// `node scripts/import-graph.cjs` prints the layer graph and exits 1 on a broken rule.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

function layerOf(file) {
  if (file.startsWith('src/contract/')) return 'contract';
  if (file.startsWith('src/native/')) return 'native';
  if (file.startsWith('fallback/')) return 'simulator';
  if (file.startsWith('src/')) return 'api';
  return 'other';
}

/** Which layers each layer may import statically. */
const ALLOWED = {
  contract: ['contract'],
  native: ['contract', 'native'],
  simulator: ['contract', 'simulator'],
  api: ['contract', 'native', 'simulator', 'api'],
};

function listSources(dir) {
  const out = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...listSources(rel));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Static imports and re-exports (`import type` included: a type is a dependency too). */
function importsOf(file, text) {
  const deps = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|(?:^|\n)\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/g;
  let m;
  while ((m = re.exec(text))) {
    const spec = m[1] ?? m[2];
    deps.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts'));
  }
  return deps;
}

/** { file: [imported files] } for every source under src/ and fallback/. */
function graph(files = [...listSources('src'), ...listSources('fallback')], read = (f) => fs.readFileSync(path.join(ROOT, f), 'utf8')) {
  const g = {};
  for (const f of files) g[f] = importsOf(f, read(f));
  return g;
}

/** Every file reachable from `start` by static imports. */
function closure(g, start) {
  const seen = new Set();
  const stack = [start];
  while (stack.length) {
    const f = stack.pop();
    if (seen.has(f)) continue;
    seen.add(f);
    for (const d of g[f] ?? []) stack.push(d);
  }
  return seen;
}

/** Broken rules, one sentence each. `entry`: the package entry, which must not reach the simulator. */
function check(g, entry = 'src/index.ts') {
  const problems = [];
  for (const [f, deps] of Object.entries(g)) {
    const from = layerOf(f);
    for (const d of deps) {
      const to = layerOf(d);
      if (!(ALLOWED[from] ?? []).includes(to)) problems.push(`${f} (${from}) imports ${d} (${to})`);
    }
  }
  if (g[entry]) {
    for (const f of closure(g, entry)) {
      if (layerOf(f) === 'simulator') problems.push(`${entry} reaches ${f} by static imports: the simulator must load only when used`);
    }
  }
  return problems;
}

/** Edges between layers with their counts. */
function layerEdges(g) {
  const edges = new Map();
  for (const [f, deps] of Object.entries(g)) {
    for (const d of deps) {
      const key = `${layerOf(f)} -> ${layerOf(d)}`;
      if (layerOf(f) !== layerOf(d)) edges.set(key, (edges.get(key) ?? 0) + 1);
    }
  }
  return [...edges.entries()].sort();
}

module.exports = { graph, check, closure, layerOf, layerEdges };

if (require.main === module) {
  const g = graph();
  for (const [edge, n] of layerEdges(g)) console.log(`${edge}  (${n} imports)`);
  const problems = check(g);
  for (const p of problems) console.log(`BROKEN: ${p}`);
  console.log(problems.length === 0 ? 'layers: ok' : `layers: ${problems.length} broken`);
  process.exit(problems.length === 0 ? 0 : 1);
}
