#!/usr/bin/env node
'use strict';
let cli;
try {
  cli = require('../dist/cjs/src/cli.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && /dist[\\/]cjs[\\/]src[\\/]cli\.js/.test(err.message)) {
    console.error('rseq: the package is not built yet; run `npm run build:ts` (npm install does it).');
    process.exit(1);
  }
  throw err;
}
process.exitCode = cli.main(process.argv.slice(2));
