/** The simulator Backend: host policy, area buffer, reference counts, kernel/libc reports. */
import * as os from 'node:os';
import { threadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { FIELD_OFFSET } from '../../src/contract/backend.js';
import { createSimulatorBackend, DEFAULT_KERNEL, DEFAULT_LIBC, RSEQ_SIG } from '../../fallback/index.js';

function u32(source: ReturnType<ReturnType<typeof createSimulatorBackend>['areaSource']>): Uint32Array {
  if (source.kind !== 'buffer') throw new Error(`expected a buffer area, got ${source.kind}`);
  return new Uint32Array(source.buffer, source.byteOffset, 8);
}

describe('host defaults', () => {
  it('simulates a 6.19 kernel with glibc 2.41 on this host\'s CPU count and architecture', () => {
    const b = createSimulatorBackend({ shareMmCid: false });
    expect(DEFAULT_KERNEL).toBe('6.19');
    expect(DEFAULT_LIBC).toBe('glibc-2.41');
    expect(b.kind).toBe('simulator');
    expect(b.arch).toBe(process.arch === 'arm64' ? 'aarch64' : 'x86_64');
    expect(b.machine.nrCpus).toBe(os.availableParallelism());
    const k = b.kernel();
    expect(k).toEqual({
      release: '6.19.0-simulated',
      featureSize: 28,
      align: 32,
      syscall: { available: true, probeErrno: 'EINVAL' },
      membarrierRseq: true,
      membarrierCommands: 0x3ff,
    });
    expect(b.libc()).toMatchObject({ family: 'glibc', version: '2.41', rseqSize: 28, rseqFlags: 0 });
    expect(b.registration()).toEqual({ owner: 'libc', length: 32, signature: RSEQ_SIG[b.arch], error: null });
    // This JavaScript thread is one simulated thread: tid = pid + threadId, CPU = threadId % CPUs.
    const t = b.currentThread();
    expect(t.tid).toBe(process.pid + threadId);
    expect(b.schedGetcpu()).toBe(threadId % b.machine.nrCpus);
    expect(b.getAffinity()).toEqual(Array.from({ length: b.machine.nrCpus }, (_, i) => i));
  });

  it('reports what the model reports', () => {
    const b = createSimulatorBackend({ kernel: '7.0', libc: 'musl', cpus: 4, shareMmCid: false });
    expect(b.kernel()).toMatchObject({ release: '7.0.0-simulated', featureSize: 33, align: 64 });
    expect(b.fields()).toEqual({ cpuIdStart: true, cpuId: true, nodeId: true, mmCid: true, sliceCtrl: true });
    expect(b.auxv()).toEqual(b.machine.auxv());
    expect(b.libc()).toEqual({ family: 'musl', version: null, rseqOffset: null, rseqSize: null, rseqFlags: null });
    const old = createSimulatorBackend({ kernel: '4.18.0-553.el8', libc: 'glibc-2.35', cpus: 2, shareMmCid: false });
    expect(old.kernel()).toMatchObject({ release: '4.18.0-553.el8', featureSize: null, align: null, membarrierRseq: false, membarrierCommands: 0x7f });
    expect(old.fields()).toEqual({ cpuIdStart: true, cpuId: true, nodeId: false, mmCid: false, sliceCtrl: false });
    expect(old.auxv().some((e) => e.name === 'AT_RSEQ_FEATURE_SIZE' || e.name === 'AT_RSEQ_ALIGN')).toBe(false);
    expect(old.errnoTable().ownerAtStart).toBe('libc');
  });
});

describe('area source', () => {
  it('is the simulated struct rseq inside the simulated memory buffer and follows setAffinity', () => {
    const b = createSimulatorBackend({ kernel: '6.19', libc: 'glibc-2.41', cpus: 4, shareMmCid: false });
    const src = b.areaSource();
    expect(src).toMatchObject({ kind: 'buffer', access: 'simulated-memory', byteLength: 32 });
    if (src.kind !== 'buffer') throw new Error('unreachable');
    expect(src.buffer).toBe(b.machine.memory.buffer);
    const words = u32(src);
    const start = b.schedGetcpu();
    expect(words[1]).toBe(start);
    expect(words[0]).toBe(start);
    expect(b.readField('cpuId')).toBe(start);
    const other = (start + 1) % 4;
    expect(b.setAffinity([other])).toBeNull();
    expect(words[1]).toBe(other);
    expect(words[0]).toBe(other);
    expect(b.readField('cpuIdStart')).toBe(other);
    expect(b.schedGetcpu()).toBe(other);
    expect(words[FIELD_OFFSET.mmCid / 4]).toBe(b.readField('mmCid'));
    expect(words[FIELD_OFFSET.nodeId / 4]).toBe(0);
  });

  it('reports the kernel\'s EINVAL for CPUs that do not exist, without changing anything', () => {
    const b = createSimulatorBackend({ cpus: 2, shareMmCid: false });
    expect(b.setAffinity([7])).toEqual({ errno: 'EINVAL', code: 22 });
    expect(b.getAffinity()).toEqual([0, 1]);
  });
});

describe('reference counts', () => {
  it('stay balanced on libc\'s registration and never register the addon\'s own', () => {
    const b = createSimulatorBackend({ kernel: '6.19', libc: 'glibc-2.41', cpus: 2, shareMmCid: false });
    expect(b.debugCounts()).toEqual({ registrations: 0, areas: 0, threads: 1 });
    for (let i = 0; i < 5; i++) expect(b.acquire().owner).toBe('libc');
    for (let i = 5; i > 0; i--) expect(b.release()).toBe(i);
    expect(b.debugCounts()).toEqual({ registrations: 0, areas: 0, threads: 1 });
  });

  it('register the addon\'s area where libc did not, and free it at the last release', () => {
    for (const [kernel, length, align] of [
      ['6.19', 32, 32],
      ['7.0', 33, 64], // the feature size itself: v2 mode
      ['4.18', 32, 32],
    ] as const) {
      const b = createSimulatorBackend({ kernel, libc: 'musl', cpus: 2, shareMmCid: false });
      const reg = b.registration();
      expect(reg).toEqual({ owner: 'addon', length, signature: RSEQ_SIG[b.arch], error: null });
      const addr = b.currentThread().registration!.addr;
      expect(addr % BigInt(align)).toBe(0n);
      expect(b.debugCounts()).toEqual({ registrations: 1, areas: 1, threads: 1 });
      b.acquire();
      b.acquire();
      expect(b.debugCounts()).toEqual({ registrations: 1, areas: 1, threads: 1 });
      expect(b.release()).toBe(2);
      expect(b.release()).toBe(1);
      expect(b.readField('cpuId')).toBe(b.schedGetcpu());
      expect(b.release()).toBe(0);
      expect(b.debugCounts()).toEqual({ registrations: 0, areas: 0, threads: 0 });
      expect(b.currentThread().registration).toBeNull();
      expect(b.machine.memory.isMapped(addr, 4)).toBe(false);
      expect(b.registration().owner).toBe('none');
      expect(() => b.readField('cpuId')).toThrow(/no rseq registration/);
      expect(b.areaSource()).toMatchObject({ kind: 'calls', access: 'none' });
      expect(b.release()).toBe(0);
      // Taking a reference again registers a new area.
      expect(b.acquire().owner).toBe('addon');
      expect(b.debugCounts()).toEqual({ registrations: 1, areas: 1, threads: 1 });
      expect(b.release()).toBe(0);
      expect(b.debugCounts()).toEqual({ registrations: 0, areas: 0, threads: 0 });
    }
  });

  it('report the kernel\'s refusal when rseq cannot be registered', () => {
    const b = createSimulatorBackend({ kernel: '4.14', libc: 'musl', cpus: 2, shareMmCid: false });
    const reg = b.registration();
    expect(reg.owner).toBe('none');
    expect(reg.error).toMatchObject({ errno: 'ENOSYS', code: 38, op: 'register' });
    expect(reg.error?.message).toMatch(/ENOSYS/);
    expect(b.debugCounts()).toEqual({ registrations: 0, areas: 0, threads: 0 });
    expect(b.kernel().syscall).toEqual({ available: false, probeErrno: 'ENOSYS' });
  });
});

describe('errno table through the backend', () => {
  it('runs on a fresh simulated thread and leaves the caller\'s registration alone', () => {
    const b = createSimulatorBackend({ kernel: '6.19', libc: 'musl', cpus: 2, shareMmCid: false });
    const before = b.registration();
    const t = b.errnoTable();
    expect(t.ownerAtStart).toBe('none');
    expect(t.cases.find((c) => c.case === 'register')?.errno).toBeNull();
    expect(t.cases.find((c) => c.case === 'register-bad-address')?.errno).toBe('EFAULT');
    expect(b.registration()).toEqual(before);
    expect(b.machine.liveThreads().map((x) => x.tid)).toEqual([b.currentThread().tid]);
  });
});

describe('mm_cid shared between backends of one process', () => {
  it('gives this thread one slot however many backends it creates', () => {
    const cpus = 3;
    const a = createSimulatorBackend({ cpus });
    const b = createSimulatorBackend({ cpus });
    expect(a.readField('mmCid')).toBe(b.readField('mmCid'));
    expect(a.readField('mmCid')).toBeLessThan(cpus);
  });
});
