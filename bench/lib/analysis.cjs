'use strict';
// What every script in bench/analysis/ starts with: the package (native
// backend required), the addon's path, --wait-quiet, and --rounds / --ms.
const path = require('node:path');
const { distEntry, useBenchAddon } = require('./contenders.cjs');
const { waitQuiet } = require('./machine.cjs');

const ROOT = path.resolve(__dirname, '..', '..');

/** Loads the package for analysis `name`; `defaults` are { rounds, ms }. */
function analysisSetup(name, defaults) {
  const entry = distEntry(ROOT);
  // The development addon (benchLoop), loaded by the package too: one copy.
  const addonPath = useBenchAddon(ROOT);
  const pkg = require(entry);
  if (pkg.rseq.backend !== 'native') throw new Error(`${name}: needs the native backend (${pkg.rseq.fallbackReason})`);
  if (process.argv.includes('--wait-quiet')) console.log(JSON.stringify(waitQuiet(1800)));
  const arg = (flag, d) => {
    const i = process.argv.indexOf(flag);
    return i >= 0 ? Number(process.argv[i + 1]) : d;
  };
  return { ROOT, entry, pkg, addonPath, rounds: arg('--rounds', defaults.rounds), ms: arg('--ms', defaults.ms) };
}

module.exports = { analysisSetup };
