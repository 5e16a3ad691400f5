/**
 * What users get: the shipped addon carries no test or bench hook (those are
 * in the development addon, build/Release/rseq_dev.node), the tarball ships
 * no tests, and `rseq errno-check` holds the running kernel against the
 * simulator's profile of it (the entry point the kernel-package guests run).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectation, expectedErrnoTables, simulatedErrnoTable, type ErrnoCheckReport } from '../../src/errno-check.js';
import { rseq } from '../../src/index.js';
import { DEV_ADDON, DIST_ENTRY, ROOT, SHIPPED_ADDON, lastJson, requireDevAddon, runNode, skipNative } from '../helpers/env.js';

const CHILD = path.join(ROOT, 'test', 'helpers', 'child-report.cjs');
const CLI = path.join(ROOT, 'bin', 'rseq.js');

/** What only the development addon exports (bench/native/bench.cc). */
const BENCH_FUNCTIONS = ['benchCall', 'benchCallData', 'benchCallInt', 'benchLoop'];

interface Exports {
  /** typeof each of BENCH_FUNCTIONS, in that order. */
  bench: string[];
  exports: string[];
}

function exportsOf(file: string): Exports {
  return lastJson<Exports>(
    runNode(
      ['-e', 'const a = require(process.argv[1]); const names = JSON.parse(process.argv[2]); console.log(JSON.stringify({ bench: names.map((n) => typeof a[n]), exports: Object.keys(a).sort() }))', file, JSON.stringify(BENCH_FUNCTIONS)],
    ),
  );
}

describe.skipIf(skipNative)('the shipped addon and the development addon', () => {
  it('the shipped addon has no bench functions; the development addon is the same API plus them', () => {
    requireDevAddon();
    const shipped = exportsOf(SHIPPED_ADDON);
    const dev = exportsOf(DEV_ADDON);
    expect(shipped.bench).toEqual(BENCH_FUNCTIONS.map(() => 'undefined'));
    expect(dev.bench).toEqual(BENCH_FUNCTIONS.map(() => 'function'));
    expect(dev.exports.filter((k) => !BENCH_FUNCTIONS.includes(k))).toEqual(shipped.exports);
  });

  it('the shipped addon ignores the test hook RSEQ_NO_EXTERNAL_BUFFER', () => {
    const r = lastJson<{ probe?: { area: { access: string } }; error?: unknown }>(
      runNode([CHILD, DIST_ENTRY], { RSEQ_NO_EXTERNAL_BUFFER: '1', RSEQ_BACKEND: 'native', RSEQ_ADDON: SHIPPED_ADDON }),
    );
    expect(r.error).toBeUndefined();
    expect(r.probe!.area.access).toBe('external-buffer');
  });
});

describe('the tarball', () => {
  it('ships no tests, no bench code and no development build files, and every source the addon build needs', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--loglevel=error'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    expect(files.filter((f) => /^(native\/test|test|bench)\//.test(f) || /(^|\/)bench\.(cc|h)$/.test(f))).toEqual([]);
    expect(files).not.toContain('CMakeLists.txt');
    for (const f of ['binding.gyp', 'scripts/install.cjs', 'scripts/node-gyp.cjs', 'native/addon.cc', 'native/arch/x86_64.h', 'native/arch/aarch64.h', 'dist/cjs/src/index.js', 'bin/rseq.js']) {
      expect(files).toContain(f);
    }
  });
});

describe.skipIf(skipNative)('rseq errno-check', () => {
  it('this kernel answers as the simulator\'s profile of it says, in this process and with glibc\'s registration off', () => {
    const r = spawnSync(process.execPath, [CLI, 'errno-check', '--json'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, RSEQ_BACKEND: 'native' }, timeout: 120_000 });
    const report = JSON.parse(r.stdout) as ErrnoCheckReport;
    expect(report.rows.filter((x) => x.verdict !== 'match')).toEqual([]);
    expect(r.status).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.profile.from).toBe('host');
    expect(report.kernel.release).toBe(rseq.probe().kernel.release);
    // 2 rows (owner, signature) + 18 cases, for each of the two runs.
    expect(report.rows.length).toBe(40);
    expect(new Set(report.rows.map((x) => x.run))).toEqual(new Set(['libc', 'rseq=0']));
  });

  it('fails, naming the cases, when forced to the profile of a kernel with other rules', () => {
    const k = rseq.probe().kernel;
    const here = JSON.stringify(expectedErrnoTables(k).none);
    // A profile whose table for an unregistered thread differs from this kernel's.
    const other = ['6.0', '6.3', '4.18'].find((rel) => JSON.stringify(expectation(simulatedErrnoTable(rel, 'glibc-tunable-off'))) !== here)!;
    expect(other).toBeDefined();
    const r = spawnSync(process.execPath, [CLI, 'errno-check', '--json', '--kernel', other], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, RSEQ_BACKEND: 'native' }, timeout: 120_000 });
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as ErrnoCheckReport;
    expect(report.ok).toBe(false);
    expect(report.profile.from).toBe('forced');
    const differing = report.rows.filter((x) => x.verdict === 'mismatch');
    expect(differing.length).toBeGreaterThan(0);
    expect(differing.every((x) => x.run === 'rseq=0')).toBe(true);
  });
});
