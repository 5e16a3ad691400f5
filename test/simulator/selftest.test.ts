/**
 * The 6.19 arm64 defect in the model, the selftest on every simulated
 * profile against the table of known-broken releases, and what the package
 * does where sections are unsafe (structures on their non-section path,
 * fence() and probe() saying why).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSimulatorBackend, KERNEL_PROFILES, Machine, RSEQ_FIELD, type Arch, type KernelProfileId } from '../../fallback/index.js';
import { installSections, execute, simulatedMemory } from '../../fallback/kernel/sections.js';
import { knownBroken, runSelftest } from '../../src/selftest.js';
import { DIST_ENTRY, lastJson, ROOT, runNode } from '../helpers/env.js';

const IDS = Object.keys(KERNEL_PROFILES) as KernelProfileId[];
const ARCHES: Arch[] = ['x86_64', 'aarch64'];

describe('the 6.19 arm64 defect in the kernel model', () => {
  it('cites its sources and applies to aarch64 only', () => {
    const p = KERNEL_PROFILES['6.19'];
    expect(p.noPreemptAbort).toEqual(['aarch64']);
    expect(p.sources.some((s) => s.includes('broke everyone on arm64'))).toBe(true);
    expect(KERNEL_PROFILES['7.0'].noPreemptAbort).toBeUndefined();
  });

  /** One add section stopped after its load, then the event; what the kernel did with it. */
  function interruptAdd(kernel: string, arch: Arch, event: 'preempt' | 'migrate' | 'signal'): string {
    const m = new Machine({ kernel, arch, cpus: 2, libc: 'glibc-2.41' });
    installSections(m);
    const t = m.createThread({ cpu: 0, affinity: [0, 1] });
    m.libcStart(t);
    m.returnToUser(t, 'syscall');
    const reg = t.registration!;
    const words = { addr: m.memory.map(64, 64, 'w'), length: 8 };
    const id = m.memory.readU32(reg.addr + BigInt(RSEQ_FIELD.cpuId));
    const run = execute(m, t, 'add', { mode: 'cpu', id, index: 0, count: 1 }, simulatedMemory(m.memory, reg.addr, { words }));
    for (let i = 0; i < 4; i++) run.next(); // descriptor, load id, check id, load word: now inside
    if (event === 'migrate') m.migrate(t, 1);
    else m.preempt(t);
    return m.returnToUser(t, event === 'signal' ? 'signal' : 'preempt').cs;
  }

  it.each(ARCHES)('%s: preemption, migration and signals on 6.18 (6.3 rules) and 7.0 abort', (arch) => {
    for (const k of ['6.18', '7.0']) for (const e of ['preempt', 'migrate', 'signal'] as const) expect(interruptAdd(k, arch, e), `${k} ${e}`).toBe('aborted');
  });

  it('6.19: aarch64 leaves a preempted section running; migration and signals still abort it; x86_64 aborts all', () => {
    expect(interruptAdd('6.19', 'aarch64', 'preempt')).toBe('none');
    expect(interruptAdd('6.19', 'aarch64', 'migrate')).toBe('aborted');
    expect(interruptAdd('6.19', 'aarch64', 'signal')).toBe('aborted');
    for (const e of ['preempt', 'migrate', 'signal'] as const) expect(interruptAdd('6.19', 'x86_64', e)).toBe('aborted');
  });
});

describe('the selftest on every simulated profile', () => {
  const cases = IDS.flatMap((id) => ARCHES.map((arch) => [id, arch] as const));
  it.each(cases)('kernel %s on %s: the selftest and the table agree', (id, arch) => {
    const b = createSimulatorBackend({ kernel: KERNEL_PROFILES[id].release, arch, cpus: 2, shareMmCid: false, shareLocks: false });
    const r = runSelftest(b, { budgetMs: 50 });
    const table = knownBroken(b.kernel().release, arch);
    expect(r.knownBroken).toBe(table);
    expect(r.criticalSections === 'broken', `${r.criticalSections}: ${r.reason}`).toBe(table !== null);
    if (KERNEL_PROFILES[id].hasRseq) {
      expect(r.criticalSections).toBe(table === null ? 'ok' : 'broken');
    } else {
      expect(r.criticalSections).toBe('unknown');
      expect(r.checks.sameCpu.status).toBe('skipped');
    }
  });

  it('6.19 on aarch64: same-CPU preemption loses updates (broken); migration, signals and ids are ok', () => {
    const b = createSimulatorBackend({ kernel: '6.19', arch: 'aarch64', cpus: 2, shareMmCid: false, shareLocks: false });
    const r = runSelftest(b);
    expect(r.criticalSections).toBe('broken');
    const s = r.checks.sameCpu;
    expect(s.status).toBe('broken');
    expect(s.aborts).toBe(0);
    expect(s.events).toBeGreaterThan(0);
    expect(s.sum).toBeLessThan(s.expected);
    expect(s.reason).toMatch(/not aborted when the other thread ran on its CPU/);
    expect(r.checks.migration.status).toBe('ok');
    expect(r.checks.signal.status).toBe('ok');
    expect(r.checks.ids.status).toBe('ok');
    expect(b.selftestVerdict()).toBe('broken');
  });

  it('is deterministic', () => {
    const run = () => runSelftest(createSimulatorBackend({ kernel: '6.19', arch: 'aarch64', cpus: 2, shareMmCid: false, shareLocks: false })).checks.sameCpu;
    const a = run();
    const b = run();
    expect({ ...a, ms: 0 }).toEqual({ ...b, ms: 0 });
  });

  it('one simulated CPU: the migration check says why it did not run', () => {
    const r = runSelftest(createSimulatorBackend({ kernel: '6.3', arch: 'x86_64', cpus: 1, shareMmCid: false, shareLocks: false }));
    expect(r.checks.migration.status).toBe('skipped');
    expect(r.checks.migration.reason).toMatch(/one CPU/);
    expect(r.criticalSections).toBe('ok');
  });
});

describe('where sections are unsafe the package runs none', () => {
  it('RSEQ_SIM_KERNEL=6.19 RSEQ_SIM_ARCH=aarch64: exact structures from 4 workers, no section attempted, fence() and probe() say why', () => {
    const r = runNode([path.join(ROOT, 'test', 'helpers', 'sections-unsafe.cjs'), DIST_ENTRY], {
      RSEQ_BACKEND: 'simulator',
      RSEQ_SIM_KERNEL: '6.19',
      RSEQ_SIM_ARCH: 'aarch64',
      RSEQ_SIM_ABORT_RATE: '',
    });
    const out = lastJson<{
      backend: string;
      arch: string;
      criticalSections: { safe: boolean; source: string; reason: string };
      counter: number;
      expected: number;
      popped: number;
      poolBack: number;
      sectionAttempts: number;
      fence: { code: string; message: string };
    }>(r);
    expect(out.backend).toBe('simulator');
    expect(out.arch).toBe('aarch64');
    expect(out.criticalSections.safe).toBe(false);
    expect(out.criticalSections.source).toBe('table');
    expect(out.criticalSections.reason).toMatch(/6\.19 on arm64/);
    expect(out.fence.code).toBe('ERR_RSEQ_SECTIONS_UNSAFE');
    expect(out.fence.message).toMatch(/6\.19 on arm64/);
    expect(out.counter).toBe(out.expected);
    expect(out.popped).toBe(out.expected);
    expect(out.poolBack).toBe(16);
    expect(out.sectionAttempts).toBe(0);
  });

  it('the same structures on 6.19 x86_64 run sections', () => {
    const r = runNode([path.join(ROOT, 'test', 'helpers', 'sections-unsafe.cjs'), DIST_ENTRY], { RSEQ_BACKEND: 'simulator', RSEQ_SIM_KERNEL: '6.19', RSEQ_SIM_ARCH: 'x86_64' });
    const out = lastJson<{ criticalSections: { safe: boolean }; counter: number; expected: number; sectionAttempts: number; fence: string }>(r);
    expect(out.criticalSections.safe).toBe(true);
    expect(out.fence).toBe('no error');
    expect(out.counter).toBe(out.expected);
    expect(out.sectionAttempts).toBeGreaterThan(0);
  });
});
