/**
 * rseq.selftest() on every project (native here: Linux 6.18 on x86_64, where
 * it must pass; simulator and fallback: the model with its default profile):
 * the shape, the verdict against the table of known-broken releases, and the
 * argument checks, identical on both backends.
 */
import { describe, expect, it } from 'vitest';
import { knownBroken, rseq, type SelftestCheck } from '../../src/index.js';
import { expectedBackend, skipShared } from '../helpers/env.js';

const NAMES = ['sameCpu', 'migration', 'signal', 'ids'] as const;

function wellFormed(c: SelftestCheck): void {
  expect(['ok', 'broken', 'skipped', 'inconclusive']).toContain(c.status);
  expect(c.status === 'ok' ? c.reason : 'any').toBe(c.status === 'ok' ? null : 'any');
  for (const k of ['attempts', 'commits', 'aborts', 'moved', 'expected', 'sum', 'events', 'attributed', 'ms'] as const) {
    expect(Number.isFinite(c[k]) && c[k] >= 0, k).toBe(true);
  }
  expect(c.commits).toBeLessThanOrEqual(c.attempts);
}

describe.skipIf(skipShared)('rseq.selftest()', () => {
  it('checks the sections of this (real or simulated) kernel and agrees with the table', () => {
    const r = rseq.selftest();
    expect(r.backend).toBe(expectedBackend);
    expect(r.simulated).toBe(expectedBackend === 'simulator');
    expect(r.knownBroken).toBe(knownBroken(r.release, r.arch));
    for (const n of NAMES) wellFormed(r.checks[n]);
    // A hang detector, not a timing assertion: the budget is 2000 ms.
    expect(r.ms).toBeLessThan(30_000);
    expect(r.budgetMs).toBe(2000);
    if (r.knownBroken === null) {
      expect(r.criticalSections, r.reason ?? '').toBe('ok');
      const s = r.checks.sameCpu;
      expect(s.status).toBe('ok');
      expect(s.sum).toBe(s.expected);
      expect(s.expected).toBe(s.commits);
      expect(s.aborts).toBeGreaterThan(0);
      const g = r.checks.signal;
      if (g.status !== 'skipped') expect(g.sum).toBe(g.expected);
      expect(rseq.probe().criticalSections).toEqual({ safe: true, source: null, reason: null });
    } else {
      expect(r.criticalSections).toBe('broken');
      expect(rseq.probe().criticalSections.safe).toBe(false);
    }
  });

  it('checks its options before running anything (same errors on both backends)', () => {
    expect(() => rseq.selftest({ budgetMs: 49 })).toThrow(RangeError);
    expect(() => rseq.selftest({ budgetMs: 10_001 })).toThrow(RangeError);
    expect(() => rseq.selftest({ budgetMs: 100.5 })).toThrow(RangeError);
    expect(() => rseq.selftest({ budgetMs: Number.NaN })).toThrow(RangeError);
    expect(() => rseq.selftest({ budgetMs: '100' as unknown as number })).toThrow(TypeError);
    expect(() => rseq.selftest(null as unknown as undefined)).toThrow(TypeError);
    expect(() => rseq.selftest({ budgetMs: '100' as unknown as number })).toThrow('rseq.selftest: budgetMs must be a number, not string');
  });

  it('the smallest budget still reports every check', () => {
    const r = rseq.selftest({ budgetMs: 50 });
    expect(r.budgetMs).toBe(50);
    for (const n of NAMES) wellFormed(r.checks[n]);
    expect(['ok', 'broken', 'unknown']).toContain(r.criticalSections);
    // Whatever it saw in 50 ms, it never reports a wrong sum as ok.
    for (const n of ['sameCpu', 'migration', 'signal'] as const) {
      const c = r.checks[n];
      if (c.status === 'ok') expect(c.sum).toBe(c.expected);
    }
  });
});
