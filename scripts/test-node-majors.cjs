#!/usr/bin/env node
'use strict';
// The whole `npm test` (TypeScript build, native tests, vitest) once under each
// Node.js major, one after the other:
//
//   node scripts/test-node-majors.cjs [major...]      default: 20 22 24 26
//
// A major that is this process's own runs on it (CI: the system Node 20); any
// other is the newest release of that major from the npm registry's official
// binary package (scripts/node-release.cjs, kept in bench/.node/). The suite
// runs with that release's directory first on PATH, so npm (started by
// `#!/usr/bin/env node`), the TypeScript build, the native tests and vitest all
// run under it; vitest.config.mts checks that through RSEQ_NODE_MAJOR. The
// addon is built once (N-API 8, the same binary in every release).
//
// Each major's vitest report goes to test-results/vitest-<major>.json and its
// output to test-results/node-<major>.log; test-results/node-majors.json holds
// every major's counts. A test file that fails outside its tests (import, hook)
// counts one failed test. A major whose release cannot be installed, whose build
// or native tests fail (vitest never runs), whose run exits non-zero without a
// failed test, or that passes its deadline counts one failed test more: none
// is ever skipped. Prints `ci: node <version>: N passed, N failed in S s` per
// major and exits 1 when anything failed.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { nodeBinary } = require('./node-release.cjs');

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(ROOT, 'test-results');
// One suite takes 5-6 minutes here; a run past this is taken for a hang.
const DEADLINE_MS = Number(process.env.RSEQ_MAJOR_DEADLINE_S || 25 * 60) * 1000;

const majors = process.argv.slice(2);
if (majors.length === 0) majors.push('20', '22', '24', '26');
for (const m of majors) {
  if (!/^\d+$/.test(m)) {
    console.error(`usage: node scripts/test-node-majors.cjs [major...] (e.g. 20 22 24 26), not ${JSON.stringify(m)}`);
    process.exit(2);
  }
}

/** The node binary for `major`: this process's own when it is that major. */
function binaryFor(major) {
  if (process.versions.node.split('.')[0] === major) return process.execPath;
  return nodeBinary(major, { log: (line) => console.log(`ci: ${line}`) });
}

/** Runs `npm test` under `node`, teeing its output to `log`; resolves { status, signal, timedOut }. */
function runSuite(node, major, report, log) {
  const out = fs.createWriteStream(log);
  const env = {
    ...process.env,
    PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}`,
    RSEQ_NODE_MAJOR: major,
    RSEQ_VITEST_JSON: report,
  };
  // npm's own variables from an outer npm would point its scripts at that npm's node.
  for (const k of Object.keys(env)) if (/^npm_/i.test(k)) delete env[k];
  return new Promise((resolve) => {
    // Its own process group, so a deadline ends npm, vitest and their children together.
    const child = spawn('npm', ['test'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, DEADLINE_MS);
    child.stdout.on('data', (d) => (process.stdout.write(d), out.write(d)));
    child.stderr.on('data', (d) => (process.stderr.write(d), out.write(d)));
    child.on('error', (err) => {
      clearTimeout(timer);
      out.end(`\nci: could not start npm: ${err.message}\n`);
      resolve({ status: null, signal: null, timedOut, error: err.message });
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      // Whatever of the group outlived npm (a worker of a killed vitest).
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      out.end();
      resolve({ status, signal, timedOut, error: null });
    });
  });
}

/** The `node -v` a shell with `node`'s directory first on PATH gets. */
function versionOnPath(node) {
  const r = spawnSync('node', ['-v'], { encoding: 'utf8', env: { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}` } });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function main() {
  fs.mkdirSync(RESULTS, { recursive: true });
  const rows = [];
  for (const major of majors) {
    const report = path.join(RESULTS, `vitest-${major}.json`);
    const log = path.join(RESULTS, `node-${major}.log`);
    fs.rmSync(report, { force: true });
    const row = { major, version: null, node: null, passed: 0, failed: 0, skipped: 0, seconds: 0, status: null, problem: null, brokenFiles: [], failedTests: [] };
    rows.push(row);
    const t0 = process.hrtime.bigint();
    let node;
    try {
      node = binaryFor(major);
    } catch (err) {
      row.failed = 1;
      row.seconds = Math.round(Number(process.hrtime.bigint() - t0) / 1e9);
      const lines = err.message.split('\n').map((l) => l.trim()).filter(Boolean);
      row.problem = `no Node ${major}: ${[lines[0], ...lines.filter((l) => /error/i.test(l)).slice(-2)].join(' / ').slice(0, 400)}`;
      console.log(`ci: node ${major}: ${row.problem}`);
      console.log(`ci: node ${major}: 0 passed, 1 failed in ${row.seconds} s`);
      continue;
    }
    row.node = node;
    row.version = versionOnPath(node);
    if (row.version === null || row.version.slice(1).split('.')[0] !== major) {
      row.failed = 1;
      row.problem = `\`node -v\` with ${path.dirname(node)} first on PATH gives ${row.version}, not ${major}.x`;
      console.log(`ci: node ${major}: ${row.problem}`);
      console.log(`ci: node ${major}: 0 passed, 1 failed in 0 s`);
      continue;
    }
    console.log(`ci: node ${row.version} (${node}): npm test`);
    const r = await runSuite(node, major, report, log);
    row.seconds = Math.round(Number(process.hrtime.bigint() - t0) / 1e9);
    row.status = r.status;
    let vitest = null;
    if (fs.existsSync(report)) {
      try {
        vitest = JSON.parse(fs.readFileSync(report, 'utf8'));
      } catch (err) {
        row.problem = `unreadable ${path.relative(ROOT, report)}: ${err.message}`;
      }
    }
    if (vitest) {
      row.passed = vitest.numPassedTests;
      // A file that failed outside its tests (its import, a beforeAll) leaves them skipped:
      // each such file counts one failed test.
      const brokenFiles = (vitest.testResults || []).filter((f) => f.status === 'failed' && !(f.assertionResults || []).some((a) => a.status === 'failed'));
      row.failed = vitest.numFailedTests + brokenFiles.length;
      row.skipped = vitest.numPendingTests + vitest.numTodoTests;
      row.brokenFiles = brokenFiles.map((f) => path.relative(ROOT, f.name));
      // Each failed test by file and name, with its message's first line, so that
      // the end of CI's output says which test failed and why.
      for (const f of vitest.testResults || []) {
        for (const a of f.assertionResults || []) {
          if (a.status !== 'failed') continue;
          const why = String((a.failureMessages || [])[0] ?? '').split('\n')[0].slice(0, 300);
          row.failedTests.push(`${path.relative(ROOT, f.name)} > ${a.fullName ?? a.title}: ${why}`);
        }
      }
    }
    if (r.timedOut) row.problem = `killed after the ${DEADLINE_MS / 1000} s deadline`;
    else if (r.error) row.problem = `npm did not start: ${r.error}`;
    else if (!vitest && !row.problem) row.problem = `vitest wrote no report (the build or the native tests failed; npm exit ${r.status ?? r.signal})`;
    else if (r.status !== 0 && row.failed === 0) row.problem = `npm test exited ${r.status ?? r.signal} with no failed test (a suite that did not load, or an error outside a test)`;
    if (row.problem && (r.timedOut || row.failed === 0)) row.failed += 1;
    if (row.brokenFiles && row.brokenFiles.length) console.log(`ci: node ${row.version}: failed outside its tests: ${row.brokenFiles.join(', ')}`);
    if (row.problem) console.log(`ci: node ${row.version}: ${row.problem}`);
    for (const t of row.failedTests) console.log(`ci: node ${row.version}: failed ${t}`);
    console.log(`ci: node ${row.version}: ${row.passed} passed, ${row.failed} failed${row.skipped ? `, ${row.skipped} skipped` : ''} in ${row.seconds} s`);
  }
  fs.writeFileSync(path.join(RESULTS, 'node-majors.json'), `${JSON.stringify(rows, null, 2)}\n`);
  console.log('');
  for (const row of rows) {
    console.log(`ci: node ${row.version ?? row.major}: ${row.passed} passed, ${row.failed} failed${row.skipped ? `, ${row.skipped} skipped` : ''} in ${row.seconds} s${row.problem ? ` (${row.problem})` : ''}`);
  }
  const sum = (k) => rows.reduce((s, row) => s + row[k], 0);
  console.log(`ci: every major: ${sum('passed')} passed, ${sum('failed')} failed${sum('skipped') ? `, ${sum('skipped')} skipped` : ''}`);
  process.exit(sum('failed') > 0 ? 1 : 0);
}

main().catch((err) => {
  console.error(`test-node-majors: ${err.stack || err}`);
  process.exit(1);
});
