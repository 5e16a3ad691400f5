/**
 * The sections group: does each side keep the guarantee the critical
 * sections rely on? The selftest's checks (native/selftest.h on the real
 * kernel, fallback/kernel/selftest.ts on the model of the chosen profile and
 * architecture), one case each, and the table of known-broken releases:
 *
 * - same-CPU preemption: two threads pinned to one CPU add to one slot in
 *   sections; a section the other thread interrupted must abort (the 6.19
 *   arm64 defect breaks this one: KernelProfile.noPreemptAbort);
 * - migration: two threads moved between two CPUs add to their CPU's slot;
 * - signals: a signal handler writes the slot a section is updating;
 * - ids: cpu_id and cpu_id_start equal the CPU the thread is pinned to;
 * - the table: whether the release and architecture are listed as breaking
 *   the sections (src/selftest.ts), which makes the package skip them.
 *
 * A case differs when exactly one side is `broken` (or listed). A check that
 * shows nothing on one side (`skipped`: one CPU, no rseq; `inconclusive`: no
 * interrupt landed inside a section in the time given) is not a difference:
 * it proves nothing either way, and its text says so.
 *
 * The backends' `selftest()` is called directly, not `runSelftest()`, so a
 * broken simulated profile does not mark this process's sections unsafe.
 */
import type { Backend } from '../contract/backend.js';
import { knownBroken } from '../selftest.js';
import type { SelftestCheck, SelftestChecks } from '../contract/types.js';
import type { CrosscheckCase } from './report.js';

/** The cases of the group, in order: [check, case name]. */
export const SECTION_CASES: ReadonlyArray<readonly [keyof SelftestChecks, string]> = [
  ['sameCpu', 'sections: same-CPU preemption aborts'],
  ['migration', 'sections: migration aborts'],
  ['signal', 'sections: signals abort'],
  ['ids', 'sections: ids track the CPU'],
];
export const SECTION_TABLE_CASE = 'sections: known-broken table';

/** One check in words: status, then the evidence (aborts seen; what the slot holds of what it must). */
export function describeCheck(name: keyof SelftestChecks, c: SelftestCheck): string {
  if (c.status === 'skipped') return `skipped: ${c.reason ?? ''}`.trim();
  if (name === 'ids') return `${c.status}: ${c.events} CPUs checked, ${c.attributed} wrong`;
  const handler = name === 'signal' ? ` (${c.expected - c.commits} by handler)` : '';
  return `${c.status}: ${c.aborts} aborts, slot ${c.sum}/${c.expected}${handler}`;
}

export interface SectionSide {
  backend: Backend;
  /** The architecture the backend runs (its kernel's entry in the table). */
  arch: string;
}

/** The group's cases: `hardware` is the reference side (the real kernel), `simulator` the model. */
export function sectionCases(hardware: SectionSide, simulator: SectionSide, budgetMs: number): CrosscheckCase[] {
  const run = (b: Backend): SelftestChecks | { error: string } => {
    try {
      return b.selftest(budgetMs).checks;
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  };
  const hw = run(hardware.backend);
  const sim = run(simulator.backend);
  const cases: CrosscheckCase[] = [];
  for (const [name, title] of SECTION_CASES) {
    if ('error' in hw || 'error' in sim) {
      cases.push({
        group: 'sections',
        case: title,
        hardware: 'error' in hw ? `selftest failed: ${hw.error}` : describeCheck(name, hw[name]),
        simulator: 'error' in sim ? `selftest failed: ${sim.error}` : describeCheck(name, sim[name]),
        verdict: 'mismatch',
      });
      continue;
    }
    const h = hw[name];
    const s = sim[name];
    cases.push({
      group: 'sections',
      case: title,
      hardware: describeCheck(name, h),
      simulator: describeCheck(name, s),
      verdict: (h.status === 'broken') === (s.status === 'broken') ? 'match' : 'mismatch',
      detail: { hardware: { status: h.status, reason: h.reason }, simulator: { status: s.status, reason: s.reason } },
    });
  }
  const listed = (side: SectionSide): string | null => knownBroken(side.backend.kernel().release, side.arch);
  const ht = listed(hardware);
  const st = listed(simulator);
  const text = (t: string | null, side: SectionSide): string => `${t === null ? 'not listed' : 'listed'}: ${side.backend.kernel().release} ${side.arch}`;
  cases.push({
    group: 'sections',
    case: SECTION_TABLE_CASE,
    hardware: text(ht, hardware),
    simulator: text(st, simulator),
    verdict: (ht === null) === (st === null) ? 'match' : 'mismatch',
    detail: { hardware: ht, simulator: st },
  });
  return cases;
}
