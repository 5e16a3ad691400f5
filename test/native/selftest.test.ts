/**
 * The native selftest on this machine's kernel (6.18 x86_64 here: it must
 * pass), through the CLI and the addon: `rseq probe --selftest --json`, a
 * one-CPU affinity mask (the migration check says why it did not run), and
 * the addon's own checks of its argument. With RSEQ_REQUIRE=1 these fail
 * instead of skipping where rseq cannot run.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rseq } from '../../src/index.js';
import type { NativeBinding } from '../../src/native/binding.js';
import type { ProbeReport, SelftestReport } from '../../src/contract/types.js';
import { allowedCpus, ROOT, runNode, SHIPPED_ADDON, skipNative } from '../helpers/env.js';

const CLI = path.join(ROOT, 'bin', 'rseq.js');

describe.skipIf(skipNative)('native selftest', () => {
  it('rseq probe --selftest --json: criticalSections ok with its evidence, exit 0', () => {
    const r = runNode([CLI, 'probe', '--selftest', '--json'], { RSEQ_BACKEND: 'native' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as ProbeReport & { selftest: SelftestReport };
    const t = out.selftest;
    expect(out.backend).toBe('native');
    expect(t.criticalSections, t.reason ?? '').toBe('ok');
    expect(t.knownBroken).toBeNull();
    expect(t.checks.sameCpu.status).toBe('ok');
    expect(t.checks.sameCpu.aborts).toBeGreaterThan(0);
    expect(t.checks.sameCpu.sum).toBe(t.checks.sameCpu.commits);
    expect(t.checks.sameCpu.cpus).toHaveLength(1);
    expect(t.checks.ids.status).toBe('ok');
    expect(t.checks.ids.events).toBe(Math.min(allowedCpus().length, 256));
    expect(['ok', 'skipped']).toContain(t.checks.signal.status);
    if (t.checks.signal.status === 'ok') expect(t.checks.signal.sum).toBe(t.checks.signal.expected);
    if (allowedCpus().length >= 2) expect(['ok', 'inconclusive']).toContain(t.checks.migration.status);
    expect(out.criticalSections).toEqual({ safe: true, source: null, reason: null });
    expect(r.status).toBe(0);
  });

  it('rseq probe --selftest prints the checks as a table', () => {
    const r = runNode([CLI, 'probe', '--selftest'], { RSEQ_BACKEND: 'native' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^selftest \(.*\)$/m);
    expect(r.stdout).toMatch(/^ {2}critical sections +ok$/m);
    expect(r.stdout).toMatch(/^ {2}same CPU +ok on CPU \d+: \d+ commits, [1-9]\d* aborts/m);
  });

  it('on a one-CPU affinity mask the migration check says why it did not run', () => {
    const before = rseq.getAffinity();
    const cpu = before[0]!;
    rseq.setAffinity([cpu]);
    try {
      const t = rseq.selftest({ budgetMs: 1000 });
      expect(t.checks.migration.status).toBe('skipped');
      expect(t.checks.migration.reason).toMatch(/one CPU only/);
      expect(t.checks.sameCpu.cpus).toEqual([cpu]);
      expect(t.checks.ids.events).toBe(1);
      expect(t.criticalSections, t.reason ?? '').toBe('ok');
    } finally {
      rseq.setAffinity(before);
    }
    expect(rseq.getAffinity()).toEqual(before);
  });

  it('the addon checks budgetMs itself: a TypeError or RangeError, and nothing runs', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const b = require(SHIPPED_ADDON) as NativeBinding;
    const call = (v: unknown) => () => (b.selftest as (x: unknown) => unknown)(v);
    expect(call(undefined)).toThrow(TypeError);
    expect(call('100')).toThrow(TypeError);
    expect(call(10n)).toThrow(TypeError);
    for (const v of [49, 10_001, 100.5, Number.NaN, Infinity, -1]) expect(call(v), String(v)).toThrow(RangeError);
    expect(b.selftestVerdict()).toBeGreaterThanOrEqual(0);
  });
});
