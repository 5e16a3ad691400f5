/**
 * Native-only, in child processes: glibc's registration turned off (the addon
 * registers its own area), seccomp filters that deny rseq, worker churn, and
 * a runtime that refuses external buffers.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ErrnoTable, ProbeReport } from '../../src/index.js';
import { DEV_ADDON, DIST_ENTRY, ROOT, compileC, lastJson, requireDevAddon, runNode, skipNative } from '../helpers/env.js';
import { expectedErrno } from '../helpers/errno-expected.js';

const CHILD = path.join(ROOT, 'test', 'helpers', 'child-report.cjs');
const CHURN = path.join(ROOT, 'test', 'helpers', 'worker-churn.cjs');
const CLI = path.join(ROOT, 'bin', 'rseq.js');
const NO_GLIBC_RSEQ = { GLIBC_TUNABLES: 'glibc.pthread.rseq=0' };

interface ChildReport {
  backend?: string;
  fallbackReason?: string | null;
  probe?: ProbeReport;
  schedGetcpu?: number;
  cpuId?: number;
  viewCpuId?: number;
  table?: ErrnoTable;
  countsBefore?: { registrations: number; areas: number; threads: number };
  error?: { name: string; code: string; message: string };
}

describe.skipIf(skipNative)("with glibc's registration turned off", () => {
  it('the addon registers its own area, with valid fields and the kernel errno table', () => {
    const r = lastJson<ChildReport>(runNode([CHILD, DIST_ENTRY, 'table'], { ...NO_GLIBC_RSEQ, RSEQ_BACKEND: 'native' }));
    expect(r.error).toBeUndefined();
    const p = r.probe!;
    expect(p.libc.rseqSize).toBe(0);
    expect(p.registration.owner).toBe('addon');
    expect(p.registration.error).toBeNull();
    const fs = p.kernel.featureSize ?? 20;
    expect(p.registration.length).toBe(fs <= 32 ? 32 : Math.ceil(fs / p.kernel.align!) * p.kernel.align!);
    expect(p.registration.signature).toBe(p.arch === 'x86_64' ? 0x53053053 : 0xd428bc00);
    expect(r.cpuId).toBe(r.viewCpuId);
    expect(p.thread.cpuId).toBeGreaterThanOrEqual(0);
    expect(r.countsBefore).toEqual({ registrations: 1, areas: 1, threads: 1 });

    const t = r.table!;
    expect(t.ownerAtStart).toBe('none');
    const got = Object.fromEntries(t.cases.map((c) => [c.case, c.errno]));
    // The simulator's profile of the running kernel, on a thread nobody registered.
    expect(got).toEqual(expectedErrno(p.kernel, 'none'));
  });

  it('200 workers started and ended one after another leave no registration behind', () => {
    const r = lastJson<{
      before: { registrations: number; areas: number; threads: number };
      after: { registrations: number; areas: number; threads: number };
      owners: Record<string, number>;
      maxThreads: number;
      mainOwner: string;
    }>(runNode([CHURN, DIST_ENTRY, '200'], { ...NO_GLIBC_RSEQ, RSEQ_BACKEND: 'native' }));
    expect(r.mainOwner).toBe('addon');
    expect(r.owners).toEqual({ addon: 200 });
    expect(r.before).toEqual({ registrations: 1, areas: 1, threads: 1 });
    // While a worker ran, it and the main thread each held an area.
    expect(r.maxThreads).toBe(2);
    expect(r.after).toEqual(r.before);
  });

  it('with glibc registering, workers use libc areas and the addon allocates none', () => {
    const r = lastJson<{ before: { registrations: number; areas: number }; after: unknown; owners: Record<string, number> }>(
      runNode([CHURN, DIST_ENTRY, '20'], { RSEQ_BACKEND: 'native' }),
    );
    expect(r.owners).toEqual({ libc: 20 });
    expect(r.before).toMatchObject({ registrations: 0, areas: 0 });
    expect(r.after).toEqual(r.before);
  });
});

describe.skipIf(skipNative)('when only worker threads load the addon', () => {
  for (const env of [{}, NO_GLIBC_RSEQ]) {
    it(`the process ends cleanly after the last of them exits${'GLIBC_TUNABLES' in env ? " (glibc's registration off)" : ''}`, () => {
      const r = runNode([path.join(ROOT, 'test', 'helpers', 'worker-only.cjs'), DIST_ENTRY], { ...env, RSEQ_BACKEND: 'native' });
      expect(r.signal).toBeNull();
      expect(lastJson<unknown[]>(r)).toEqual(Array(3).fill({ backend: 'native', sum: 1000 }));
    });
  }
});

describe.skipIf(skipNative)('under a seccomp filter that denies rseq', () => {
  const launcher = skipNative ? '' : compileC('seccomp-exec.c');

  for (const errno of ['ENOSYS', 'EPERM'] as const) {
    it(`${errno}: auto falls back to the simulator and says why`, () => {
      const res = spawnSync(launcher, [errno, process.execPath, CHILD, DIST_ENTRY], {
        env: { ...process.env, RSEQ_BACKEND: 'auto' },
        encoding: 'utf8',
      });
      const r = lastJson<ChildReport>(res);
      expect(r.error).toBeUndefined();
      expect(r.backend).toBe('simulator');
      expect(r.fallbackReason).toContain(`(${errno})`);
      expect(r.probe!.addon.loaded).toBe(true);
      expect(r.probe!.host!.kernel.syscall).toEqual({ available: false, probeErrno: errno });
      // glibc's own registration failed under the filter too.
      expect(r.probe!.host!.libc.rseqSize).toBe(0);
      // One RSEQ_SIMULATED warning, naming the errno.
      const warnings = res.stderr.match(/\[RSEQ_SIMULATED\] Warning: rseq runs on its simulator[^\n]*/g) ?? [];
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`(${errno})`);
    });

    it(`${errno}: forcing native raises that reason, without a crash`, () => {
      const res = spawnSync(launcher, [errno, process.execPath, CHILD, DIST_ENTRY], {
        env: { ...process.env, RSEQ_BACKEND: 'native' },
        encoding: 'utf8',
      });
      expect(res.status).toBe(0);
      const r = lastJson<ChildReport>(res);
      expect(r.error).toMatchObject({ name: 'RseqError', code: 'ERR_RSEQ_NATIVE_UNAVAILABLE' });
      expect(r.error!.message).toContain(`(${errno})`);
    });

    it(`${errno}: npx rseq probe --json exits 0 and reports it`, () => {
      const res = spawnSync(launcher, [errno, process.execPath, CLI, 'probe', '--json'], { encoding: 'utf8', env: { ...process.env, RSEQ_BACKEND: 'auto' } });
      expect(res.status, res.stderr).toBe(0);
      const p = JSON.parse(res.stdout) as ProbeReport;
      expect(p.backend).toBe('simulator');
      expect(p.fallbackReason).toContain(errno);
    });
  }
});

describe.skipIf(skipNative)('where the runtime refuses external buffers', () => {
  // The test hook RSEQ_NO_EXTERNAL_BUFFER=1 is only in the development addon
  // (build/Release/rseq_dev.node, npm run build:dev), never in the shipped one.
  it('area() falls back to native calls and the probe says so', () => {
    requireDevAddon();
    const r = lastJson<ChildReport>(runNode([CHILD, DIST_ENTRY], { RSEQ_NO_EXTERNAL_BUFFER: '1', RSEQ_BACKEND: 'native', RSEQ_ADDON: DEV_ADDON }));
    expect(r.error).toBeUndefined();
    expect(r.probe!.area.access).toBe('native-calls');
    expect(r.probe!.area.reason).toMatch(/external/i);
    expect(r.viewCpuId).toBe(r.cpuId);
  });
});
