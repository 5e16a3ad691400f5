/**
 * `rseq crosscheck --arch`: the simulated side on another architecture,
 * against this machine's kernel. `--kernel 6.19 --arch aarch64` must name
 * the cases the 6.19 arm64 defect breaks (sections not aborted on same-CPU
 * preemption: the selftest's same-CPU check, the table, and the abort cases
 * whose simulated attempts are preempted), and nothing that the same release
 * on x86_64 does not already differ in; the signature is compared as each
 * side's own RSEQ_SIG. Runs the compiled CLI (`npm run build:ts` first).
 */
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runNode, skipNative } from '../helpers/env.js';

const BIN = path.join(ROOT, 'bin', 'rseq.js');

interface Case {
  group: string;
  case: string;
  hardware: string;
  simulator: string;
  verdict: 'match' | 'mismatch';
  detail?: { hardware?: { status?: string } | string | null; simulator?: { status?: string } | string | null };
}

interface Report {
  ok: boolean;
  mismatches: number;
  host: { release: string; arch: string };
  simulator: { kernelProfile: string; arch: string; archFrom: string; kernelFrom: string };
  cases: Case[];
}

function crosscheck(...args: string[]): { status: number | null; report: Report } {
  const r = runNode([BIN, 'crosscheck', '--json', ...args]);
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`rseq crosscheck ${args.join(' ')}: exit ${r.status}, no JSON report\n${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, report };
}

const differing = (r: Report): string[] => r.cases.filter((c) => c.verdict === 'mismatch').map((c) => c.case);
const find = (r: Report, name: string): Case => {
  const c = r.cases.find((x) => x.case === name);
  if (!c) throw new Error(`no case ${name}: ${r.cases.map((x) => x.case).join(', ')}`);
  return c;
};

/** What 6.19's arm64 defect breaks, in the report's order. */
const DEFECT_CASES = [
  'abort: add',
  'abort: speculativeStoreCommit release',
  'abort: copyCommit 256 B',
  'abort: copyCommit 256 B release',
  'sections: same-CPU preemption aborts',
  'sections: known-broken table',
];

describe.skipIf(skipNative)('rseq crosscheck --arch', () => {
  let a64: { status: number | null; report: Report };
  let x64: { status: number | null; report: Report };
  beforeAll(() => {
    a64 = crosscheck('--kernel', '6.19', '--arch', 'aarch64');
    x64 = crosscheck('--kernel', '6.19', '--arch', 'x86_64');
  });

  it('--kernel 6.19 --arch aarch64 simulates that profile on aarch64 and exits 1', () => {
    expect(a64.report.simulator).toMatchObject({ kernelProfile: '6.19', arch: 'aarch64', archFrom: 'forced', kernelFrom: 'forced' });
    expect(a64.status).toBe(1);
    expect(a64.report.ok).toBe(false);
    expect(a64.report.mismatches).toBe(differing(a64.report).length);
  });

  it('names exactly the defect cases beyond what 6.19 on x86_64 differs in here', () => {
    const ref = differing(x64.report);
    expect(ref.filter((n) => DEFECT_CASES.includes(n))).toEqual([]);
    expect(differing(a64.report).filter((n) => !ref.includes(n))).toEqual(DEFECT_CASES);
  });

  it('same-CPU preemption: this kernel is not broken, the 6.19 aarch64 model is; migration, signals and ids agree', () => {
    const same = find(a64.report, 'sections: same-CPU preemption aborts');
    expect(same.simulator).toMatch(/^broken: 0 aborts, slot (\d+)\/(\d+)$/);
    expect(same.hardware).not.toMatch(/^broken/);
    for (const n of ['sections: migration aborts', 'sections: signals abort', 'sections: ids track the CPU']) {
      expect(find(a64.report, n).verdict).toBe('match');
      expect(find(a64.report, n).simulator).toMatch(/^ok: /);
    }
    expect(find(a64.report, 'sections: known-broken table').simulator).toBe('listed: 6.19.0-simulated aarch64');
    for (const n of DEFECT_CASES.filter((c) => c.startsWith('abort: '))) expect(find(a64.report, n).simulator).toMatch(/; 0\/\d+ preempted aborted$/);
    expect(find(a64.report, 'abort: signals abort sections, retries commit').verdict).toBe('match');
  });

  it("the signature is compared as each side's own RSEQ_SIG", () => {
    for (const n of ['probe: registration signature', 'errno (libc): signature']) {
      const c = find(a64.report, n);
      expect(c.simulator).toBe('0xd428bc00 (aarch64 RSEQ_SIG)');
      expect(c.verdict).toBe('match');
    }
  });

  it('the same release on x86_64 breaks none of the sections cases', () => {
    expect(x64.report.simulator).toMatchObject({ kernelProfile: '6.19', arch: 'x86_64', archFrom: 'forced' });
    const sections = x64.report.cases.filter((c) => c.group === 'sections');
    expect(sections.length).toBe(5);
    expect(sections.filter((c) => c.verdict === 'mismatch')).toEqual([]);
    if (x64.report.host.arch === 'x86_64' && /^6\.(1[89])\./.test(x64.report.host.release)) {
      // Here (6.18 or 6.19 on x86_64) the 6.19 profile matches the host in every case.
      expect(differing(x64.report)).toEqual([]);
      expect(x64.status).toBe(0);
    }
  });

  it('refuses an unknown architecture with exit 2', () => {
    const r = runNode([BIN, 'crosscheck', '--arch', 'sparc64']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--arch must be aarch64 or x86_64/);
  });
});
