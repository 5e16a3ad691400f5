/**
 * `rseq.selftest()`: does this kernel keep the guarantees the critical
 * sections rely on? The checks run in the backend (native/selftest.h on the
 * real kernel, fallback/kernel/selftest.ts on the model); this module turns
 * them into one verdict, holds the table of known-broken releases, and
 * decides whether the package runs critical sections at all (point 3 of the
 * 6.19 arm64 issue): where the table or a selftest run in this process says
 * they are unsafe, structures take their non-section paths
 * (src/percpu/locked.ts) and `rseq.fence()` throws ERR_RSEQ_SECTIONS_UNSAFE.
 */
import type { Backend } from './contract/backend.js';
import type { SectionSafety, SelftestCheck, SelftestChecks, SelftestOptions, SelftestReport } from './contract/types.js';

/** A release range on one architecture whose critical sections are not protected. */
export interface KnownBrokenRelease {
  arch: 'x86_64' | 'aarch64';
  /** First broken release, [major, minor, patch]. */
  from: readonly [number, number, number];
  /** First release past the range (exclusive). */
  before: readonly [number, number, number];
  what: string;
  sources: readonly string[];
}

/**
 * Releases known to break the sections. 7.0 before its 7.0.y backport of the
 * fix is affected too, but which 7.0.y carries it is not recorded here: on
 * 7.0 the selftest is the check (the simulator's 7.0 profile models the fixed kernel).
 */
export const KNOWN_BROKEN_RELEASES: readonly KnownBrokenRelease[] = Object.freeze([
  Object.freeze({
    arch: 'aarch64',
    from: [6, 19, 0],
    before: [7, 0, 0],
    what: 'Linux 6.19 on arm64 does not abort a critical section on same-CPU preemption, only on migration',
    sources: [
      'LKML "[REGRESSION] rseq: refactoring in v6.19 broke everyone on arm64 and tcmalloc everywhere" (Mathias Stearn, 22 Apr 2026)',
      'fixed in 7.1-rc and backported to 7.0.y (Thomas Gleixner, same thread, 23 Apr 2026)',
    ],
  } as const),
]);

function parseVersion(release: string): [number, number, number] | null {
  const m = /^\s*(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** What the table says of a kernel release on an architecture ('x86_64', 'aarch64', or Node's 'x64', 'arm64'), or null. */
export function knownBroken(release: string, arch: string): string | null {
  const v = parseVersion(release);
  if (v === null) return null;
  const a = arch === 'arm64' ? 'aarch64' : arch === 'x64' ? 'x86_64' : arch;
  for (const r of KNOWN_BROKEN_RELEASES) {
    if (r.arch === a && compare(v, r.from) >= 0 && compare(v, r.before) < 0) return `${r.what} (${release}, ${r.arch})`;
  }
  return null;
}

export const DEFAULT_SELFTEST_BUDGET_MS = 2000;
export const MIN_SELFTEST_BUDGET_MS = 50;
export const MAX_SELFTEST_BUDGET_MS = 10000;

function checkBudget(options: unknown): number {
  if (options === undefined) return DEFAULT_SELFTEST_BUDGET_MS;
  if (typeof options !== 'object' || options === null) throw new TypeError('rseq.selftest: options must be an object');
  const b = (options as { budgetMs?: unknown }).budgetMs;
  if (b === undefined) return DEFAULT_SELFTEST_BUDGET_MS;
  if (typeof b !== 'number') throw new TypeError(`rseq.selftest: budgetMs must be a number, not ${typeof b}`);
  if (!Number.isInteger(b) || b < MIN_SELFTEST_BUDGET_MS || b > MAX_SELFTEST_BUDGET_MS) {
    throw new RangeError(`rseq.selftest: budgetMs must be an integer in [${MIN_SELFTEST_BUDGET_MS}, ${MAX_SELFTEST_BUDGET_MS}], got ${b}`);
  }
  return b;
}

const NAMES: ReadonlyArray<keyof SelftestChecks> = ['sameCpu', 'migration', 'signal', 'ids'];

/** The verdict of a set of checks (see SelftestReport.criticalSections). */
export function verdictOf(checks: SelftestChecks): { criticalSections: SelftestReport['criticalSections']; reason: string | null } {
  const broken = NAMES.filter((n) => checks[n].status === 'broken');
  if (broken.length > 0) return { criticalSections: 'broken', reason: broken.map((n) => `${n}: ${checks[n].reason ?? 'broken'}`).join('; ') };
  const same = checks.sameCpu;
  if (same.status !== 'ok') return { criticalSections: 'unknown', reason: `sameCpu ${same.status}: ${same.reason ?? ''}`.trim() };
  return { criticalSections: 'ok', reason: null };
}

/** A check as the backend gave it, with an empty reason as null. */
function tidy(c: SelftestCheck): SelftestCheck {
  return { ...c, reason: c.reason === '' ? null : c.reason, cpus: [...c.cpus] };
}

/** Per isolate: the verdict of the last selftest this thread ran (the native addon keeps one for the process too). */
let lastVerdict: 'ok' | 'broken' | null = null;

/** Runs the backend's selftest and reports. */
export function runSelftest(b: Backend, options?: SelftestOptions): SelftestReport {
  const budgetMs = checkBudget(options);
  const k = b.kernel();
  const run = b.selftest(budgetMs);
  const checks: SelftestChecks = { sameCpu: tidy(run.checks.sameCpu), migration: tidy(run.checks.migration), signal: tidy(run.checks.signal), ids: tidy(run.checks.ids) };
  const v = verdictOf(checks);
  if (v.criticalSections !== 'unknown') lastVerdict = v.criticalSections;
  return {
    criticalSections: v.criticalSections,
    reason: v.reason,
    knownBroken: knownBroken(k.release, b.arch),
    backend: b.kind,
    simulated: b.kind === 'simulator',
    release: k.release,
    arch: b.arch,
    budgetMs,
    ms: run.ms,
    checks,
  };
}

/**
 * Whether the package runs critical sections with this backend: not where
 * the table lists the kernel, nor after a selftest in this process (any
 * thread, on the native backend) found them broken.
 */
export function sectionSafety(b: Backend): SectionSafety {
  const table = knownBroken(b.kernel().release, b.arch);
  if (table !== null) return { safe: false, source: 'table', reason: table };
  if (lastVerdict === 'broken' || b.selftestVerdict() === 'broken') {
    return { safe: false, source: 'selftest', reason: 'rseq.selftest() found that this kernel does not protect critical sections' };
  }
  return { safe: true, source: null, reason: null };
}
