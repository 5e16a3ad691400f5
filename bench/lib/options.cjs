'use strict';
// The command line every benchmark run shares (bench/run.cjs, bench/metrics.cjs):
//   --quick                 a short smoke run
//   --rounds N              rounds of every comparison
//   --only a,b              these sections only (names from `sections`)
//   --out FILE              the results JSON (.md and .svg beside it)
//   --no-write              print only
//   --wait-quiet[=SECONDS]  wait for a quiet machine first (default 600 s)
// and the run's own options (`extra`: flag -> (options, value) => void, where
// value() reads the flag's argument, `--flag=V` or `--flag V`).
const path = require('node:path');

/**
 * Parses argv; on an error prints `${prefix}: error` and the usage line and
 * exits 2; --help prints the usage and exits 0. `check(options, fail)` may
 * refuse the run's own values.
 */
function parseOptions(argv, { prefix, usage, sections, defaults = {}, extra = {}, check = () => {} }) {
  const fail = (error) => {
    if (error) {
      console.error(`${prefix}: ${error}\n${usage}`);
      process.exit(2);
    }
    console.log(usage);
    process.exit(0);
  };
  const o = { quick: false, rounds: null, only: null, out: null, write: true, waitQuiet: 0, ...defaults };
  const own = {
    '--rounds': (value) => (o.rounds = Number(value())),
    '--only': (value) => (o.only = value().split(',').map((s) => s.trim()).filter(Boolean)),
    '--out': (value) => (o.out = path.resolve(value())),
  };
  for (const [flag, set] of Object.entries(extra)) own[flag] = (value) => set(o, value);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    const flag = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (a === '--quick') o.quick = true;
    else if (a === '--no-write') o.write = false;
    else if (a === '--wait-quiet') o.waitQuiet = 600;
    else if (a.startsWith('--wait-quiet=')) o.waitQuiet = Number(a.slice('--wait-quiet='.length));
    else if (own[flag]) own[flag](value);
    else if (a === '--help' || a === '-h') fail(null);
    else fail(`unknown argument ${a}`);
  }
  if (o.rounds !== null && !(Number.isInteger(o.rounds) && o.rounds >= 1)) fail('--rounds takes a positive integer');
  if (!(o.waitQuiet >= 0)) fail('--wait-quiet takes a number of seconds');
  for (const s of o.only || []) if (!sections.includes(s)) fail(`--only: unknown section ${s} (sections: ${sections.join(', ')})`);
  check(o, fail);
  return o;
}

module.exports = { parseOptions };
