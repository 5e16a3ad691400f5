/**
 * `rseq crosscheck`: the real kernel against the simulator configured as
 * this host. Here every case must match; forcing a wrong kernel or libc
 * profile must make the check fail and name what differs. Runs the compiled
 * CLI (`node bin/rseq.js`: run `npm run build:ts` first).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runNode, skipNative } from '../helpers/env.js';

const BIN = path.join(ROOT, 'bin', 'rseq.js');

interface Case {
  group: string;
  case: string;
  hardware: string;
  simulator: string;
  verdict: 'match' | 'mismatch';
  detail?: unknown;
}

interface Report {
  ok: boolean;
  mismatches: number;
  seed: number;
  host: { release: string; arch: string; featureSize: number | null; possibleCpus: number[]; allowedCpus: number[]; nodes: number; libc: { family: string } };
  simulator: { kernelProfile: string; release: string; libc: string; libcTunableOff: string; cpus: number; nodes: number; arch: string; kernelFrom: string; libcFrom: string; archFrom: string };
  cases: Case[];
  skipped: Array<{ case: string; reason: string }>;
  seconds: Record<string, number>;
}

function crosscheck(...args: string[]): { status: number | null; report: Report | null; stdout: string; stderr: string } {
  const r = runNode([BIN, 'crosscheck', '--json', ...args]);
  let report: Report | null = null;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    // left null: the assertions below show stdout and stderr
  }
  return { status: r.status, report, stdout: r.stdout, stderr: r.stderr };
}

const differing = (r: Report): string[] => r.cases.filter((c) => c.verdict === 'mismatch').map((c) => c.case);

describe.skipIf(skipNative)('rseq crosscheck', () => {
  it('passes on this host: exit 0, a table of cases whose verdicts are all match', () => {
    const r = runNode([BIN, 'crosscheck']);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => / \| (match|mismatch)$/.test(l));
    expect(rows.length).toBeGreaterThan(50);
    expect(rows.filter((l) => l.endsWith('| mismatch'))).toEqual([]);
    expect(r.stdout).toMatch(/^seed: \d+$/m);
    expect(r.stdout).toMatch(/all \d+ cases match/);
  });

  it('--json prints the documented report, every group present and matching', () => {
    const { status, report, stdout, stderr } = crosscheck('--seed', '42');
    expect(report, `${stdout}\n${stderr}`).not.toBeNull();
    const rep = report as Report;
    expect(differing(rep)).toEqual([]);
    expect(status).toBe(0);
    expect(rep.ok).toBe(true);
    expect(rep.mismatches).toBe(0);
    expect(rep.seed).toBe(42);
    expect(rep.host.release).toMatch(/^\d+\.\d+/);
    expect(rep.host.possibleCpus.length).toBeGreaterThan(0);
    expect(rep.simulator.kernelFrom).toBe('host');
    expect(rep.simulator.libcFrom).toBe('host');
    expect(rep.simulator.cpus).toBe(Math.max(...rep.host.possibleCpus) + 1);
    for (const c of rep.cases) {
      expect(Object.keys(c).sort()).toEqual(expect.arrayContaining(['case', 'group', 'hardware', 'simulator', 'verdict']));
      expect(typeof c.hardware).toBe('string');
      expect(typeof c.simulator).toBe('string');
    }
    const groups = new Set(rep.cases.map((c) => c.group));
    expect([...groups].sort()).toEqual(['abort', 'concurrency', 'errno', 'invariants', 'ops', 'probe', 'sections']);
    const names = rep.cases.map((c) => c.case);
    for (const n of [
      'probe: feature size',
      'probe: live fields',
      'probe: registration owner',
      'probe: registration length',
      'probe: __rseq_size',
      'errno (rseq=0): register-len-64',
      'errno (libc): register',
      'ops cpu: wrong id',
      'ops cpu: final memory',
      'abort: signals abort sections, retries commit',
      'sections: same-CPU preemption aborts',
      'sections: migration aborts',
      'sections: signals abort',
      'sections: ids track the CPU',
      'sections: known-broken table',
    ]) {
      expect(names).toContain(n);
    }
    expect(names.some((n) => n.startsWith('concurrency: PerCpuCounter'))).toBe(true);
    expect(names.some((n) => n.startsWith('invariants: main thread on CPU'))).toBe(true);
    for (const g of ['probe', 'errno', 'ops', 'concurrency', 'invariants', 'abort', 'sections']) expect(typeof rep.seconds[g]).toBe('number');
    expect(rep.simulator.arch).toBe(rep.host.arch);
    expect(rep.simulator.archFrom).toBe('host');
  });

  it('--kernel 4.18 (a wrong profile here) exits 1 and names the differences', () => {
    const { status, report, stdout, stderr } = crosscheck('--kernel', '4.18');
    expect(report, `${stdout}\n${stderr}`).not.toBeNull();
    const rep = report as Report;
    if (rep.host.featureSize === null) {
      // A kernel before 6.3 looks like 4.18 in most respects; 4.18 still lacks
      // the RSEQ membarrier commands (5.10) and rejects nothing extra on unregister.
      expect(status).toBe(1);
      expect(differing(rep)).toEqual(expect.arrayContaining(['probe: membarrier commands', 'errno (rseq=0): unregister-extra-flags']));
      return;
    }
    expect(status).toBe(1);
    expect(rep.ok).toBe(false);
    expect(rep.simulator.kernelFrom).toBe('forced');
    expect(rep.simulator.kernelProfile).toBe('4.18');
    expect(differing(rep)).toEqual(
      expect.arrayContaining(['probe: feature size', 'probe: live fields', 'errno (rseq=0): register-len-64', 'errno (rseq=0): unregister-extra-flags']),
    );
    expect(rep.mismatches).toBe(differing(rep).length);
  });

  it('--libc musl (a wrong profile here) exits 1', () => {
    const { status, report, stdout, stderr } = crosscheck('--libc', 'musl');
    expect(report, `${stdout}\n${stderr}`).not.toBeNull();
    const rep = report as Report;
    if (rep.host.libc.family === 'musl') return; // then musl is right, not wrong
    expect(status).toBe(1);
    expect(rep.simulator.libc).toBe('musl');
    expect(differing(rep)).toEqual(expect.arrayContaining(['probe: registration owner', 'probe: libc family']));
  });

  it('refuses bad options with exit 2', () => {
    expect(runNode([BIN, 'crosscheck', '--libc', 'no-such-libc']).status).toBe(2);
    expect(runNode([BIN, 'crosscheck', '--seed', 'x']).status).toBe(2);
    expect(runNode([BIN, 'crosscheck', '--nope']).status).toBe(2);
  });

  it('exits 2 with the reason where the native backend cannot work', () => {
    const r = runNode([BIN, 'crosscheck'], { RSEQ_ADDON: '/nonexistent/rseq.node' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/needs the native backend.*could not be loaded/);
  });
});
