#!/usr/bin/env node
'use strict';
// Writes the ES module entry points (dist/esm/*.mjs + .d.mts) as thin wrappers
// over the CommonJS build, so that `import` and `require` share one instance
// of the package's per-thread state.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const esmDir = path.join(root, 'dist', 'esm');
fs.mkdirSync(esmDir, { recursive: true });

/** An ESM wrapper named `name` over the CommonJS module at dist/cjs/`cjs` (no extension). */
function wrap(name, cjs, defaultExport) {
  const names = Object.keys(require(path.join(root, 'dist', 'cjs', `${cjs}.js`))).filter((n) => n !== 'default' && n !== '__esModule');
  const def = defaultExport ? `cjs.${defaultExport}` : 'cjs';
  fs.writeFileSync(path.join(esmDir, `${name}.mjs`), `import cjs from '../cjs/${cjs}.js';\nexport const { ${names.join(', ')} } = cjs;\nexport default ${def};\n`);
  const types = defaultExport
    ? `export * from '../cjs/${cjs}.js';\nimport { ${defaultExport} } from '../cjs/${cjs}.js';\nexport default ${defaultExport};\n`
    : `export * from '../cjs/${cjs}.js';\n`;
  fs.writeFileSync(path.join(esmDir, `${name}.d.mts`), types);
}

wrap('index', 'src/index', 'rseq');
wrap('simulator', 'fallback/index', null);
wrap('metrics', 'src/metrics/index', null);
wrap('metrics-prom-client', 'src/metrics/prom-client', null);
wrap('metrics-otel', 'src/metrics/otel', null);
fs.writeFileSync(path.join(root, 'dist', 'cjs', 'package.json'), '{ "type": "commonjs" }\n');
