#!/usr/bin/env node
'use strict';
// Writes the ES module entry point, dist/esm/index.mjs (+ index.d.mts), as a
// thin wrapper over the CommonJS build, so that `import` and `require` share
// one instance of the package's per-thread state.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const cjsEntry = path.join(root, 'dist', 'cjs', 'src', 'index.js');
const esmDir = path.join(root, 'dist', 'esm');
const names = Object.keys(require(cjsEntry)).filter((n) => n !== 'default' && n !== '__esModule');
fs.mkdirSync(esmDir, { recursive: true });
fs.writeFileSync(
  path.join(esmDir, 'index.mjs'),
  `import cjs from '../cjs/src/index.js';\nexport const { ${names.join(', ')} } = cjs;\nexport default cjs.rseq;\n`,
);
fs.writeFileSync(
  path.join(esmDir, 'index.d.mts'),
  `export * from '../cjs/src/index.js';\nimport { rseq } from '../cjs/src/index.js';\nexport default rseq;\n`,
);
fs.writeFileSync(path.join(root, 'dist', 'cjs', 'package.json'), '{ "type": "commonjs" }\n');
