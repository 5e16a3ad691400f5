/**
 * The crosscheck's cases that the 6.19 arm64 defect breaks, simulator
 * against simulator: each profile on each architecture is held, with the
 * crosscheck's own case functions, against the same release on x86_64 in the
 * place of the hardware. The differing cases are exactly the defect's (same-
 * CPU preemption, the table, and the abort cases whose simulated attempts
 * are preempted) on 6.19 aarch64, and none anywhere else.
 */
import { describe, expect, it } from 'vitest';
import { createSimulatorBackend, KERNEL_PROFILES, type Arch, type KernelProfileId } from '../../fallback/index.js';
import { abortCases, simulatorAborts, type ModelConfig } from '../../src/crosscheck/abort.js';
import { abortSpecs, tallyAttempts } from '../../src/crosscheck/abort-spec.js';
import { SECTION_CASES, SECTION_TABLE_CASE, sectionCases } from '../../src/crosscheck/sections.js';
import type { CrosscheckCase } from '../../src/crosscheck/report.js';

const IDS = Object.keys(KERNEL_PROFILES).filter((id) => id !== 'none') as KernelProfileId[];
const ARCHES: Arch[] = ['x86_64', 'aarch64'];
const CPUS = 2;
const LIBC = 'glibc-2.41';

const sim = (kernel: string, arch: Arch) =>
  createSimulatorBackend({ kernel, libc: LIBC, arch, cpus: CPUS, nodes: 1, abortRate: 0, shareMmCid: false, shareLocks: false });

const differing = (cases: CrosscheckCase[]): string[] => cases.filter((c) => c.verdict === 'mismatch').map((c) => c.case);

/** The sections group with the same release on x86_64 as the reference side. */
function sectionsAgainstX86(kernel: string, arch: Arch): CrosscheckCase[] {
  return sectionCases({ backend: sim(kernel, 'x86_64'), arch: 'x86_64' }, { backend: sim(kernel, arch), arch }, 200);
}

/**
 * The abort group with the same release on x86_64 as the reference side: its
 * simulator backend with every other attempt preempted gives the tallies the
 * hardware's SIGPROF worker gives (aborts and commits).
 */
function abortsAgainstX86(kernel: string, arch: Arch, attempts = 16): CrosscheckCase[] {
  const specs = abortSpecs(64);
  const ref = createSimulatorBackend({ kernel, libc: LIBC, arch: 'x86_64', cpus: CPUS, nodes: 1, abortRate: 2, shareMmCid: false, shareLocks: false });
  const tallies = specs.map((s) => tallyAttempts(ref, s, (t) => t.attempts >= attempts));
  const model: ModelConfig = { kernel, libc: LIBC, arch, cpus: CPUS, nodes: 1 };
  return abortCases(specs, tallies, model, attempts);
}

const DEFECT_SECTIONS = ['sections: same-CPU preemption aborts', SECTION_TABLE_CASE];

describe('crosscheck cases the 6.19 arm64 defect breaks (simulator against simulator)', () => {
  it('the sections group has one case per selftest check and the table', () => {
    const cases = sectionsAgainstX86('6.3', 'x86_64');
    expect(cases.map((c) => c.case)).toEqual([...SECTION_CASES.map(([, n]) => n), SECTION_TABLE_CASE]);
    expect(cases.every((c) => c.group === 'sections')).toBe(true);
  });

  it('6.19 aarch64 against 6.19 x86_64: exactly same-CPU preemption and the table differ', () => {
    const cases = sectionsAgainstX86('6.19', 'aarch64');
    expect(differing(cases)).toEqual(DEFECT_SECTIONS);
    const same = cases.find((c) => c.case === 'sections: same-CPU preemption aborts') as CrosscheckCase;
    expect(same.hardware).toMatch(/^ok: [1-9]\d* aborts, slot (\d+)\/\1$/);
    expect(same.simulator).toMatch(/^broken: 0 aborts, slot \d+\/\d+$/);
    const table = cases.find((c) => c.case === SECTION_TABLE_CASE) as CrosscheckCase;
    expect(table.hardware).toBe('not listed: 6.19.0-simulated x86_64');
    expect(table.simulator).toBe('listed: 6.19.0-simulated aarch64');
    for (const n of ['sections: migration aborts', 'sections: signals abort', 'sections: ids track the CPU']) {
      expect((cases.find((c) => c.case === n) as CrosscheckCase).simulator).toMatch(/^ok: /);
    }
  });

  it('6.19 aarch64 against 6.19 x86_64: the abort group differs where the simulated attempts are preempted, not where signals abort', () => {
    const cases = abortsAgainstX86('6.19', 'aarch64');
    const specNames = abortSpecs(64).map((s) => `abort: ${s.name}`);
    expect(differing(cases)).toEqual(specNames);
    for (const n of specNames) expect((cases.find((c) => c.case === n) as CrosscheckCase).simulator).toMatch(/; 0\/16 preempted aborted$/);
    expect((cases.find((c) => c.case === 'abort: signals abort sections, retries commit') as CrosscheckCase).verdict).toBe('match');
    // The cause: every attempt preempted inside the section, none aborted on aarch64.
    const spec = abortSpecs(64)[0]!;
    const cfg: ModelConfig = { kernel: '6.19', libc: LIBC, arch: 'aarch64', cpus: CPUS, nodes: 1 };
    expect(simulatorAborts(cfg, spec, 16)).toMatchObject({ attempts: 16, aborts: 0 });
    expect(simulatorAborts({ ...cfg, arch: 'x86_64' }, spec, 16)).toMatchObject({ attempts: 16, aborts: 16 });
  });

  for (const id of IDS) {
    for (const arch of ARCHES) {
      const broken = KERNEL_PROFILES[id].noPreemptAbort?.includes(arch) === true;
      it(`${id} ${arch} against ${id} x86_64: ${broken ? 'the defect cases' : 'no case'} differ`, () => {
        expect(differing(sectionsAgainstX86(id, arch))).toEqual(broken ? DEFECT_SECTIONS : []);
        expect(differing(abortsAgainstX86(id, arch, 8)).length).toBe(broken ? abortSpecs(64).length : 0);
      });
    }
  }
});
