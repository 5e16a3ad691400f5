/**
 * Linux 7.0's optimised "v2" mode on the simulator: the registration length
 * that selects it (the package's own area registers the feature size, 33,
 * 64-byte aligned), and the rule that user space writing cpu_id_start, cpu_id,
 * node_id or mm_cid is killed at the kernel's next ID update, surfaced as
 * FatalSignalError. test/shared/v2-readonly.test.ts relies on this detector.
 */
import { describe, expect, it } from 'vitest';
import { createSimulatorBackend } from '../../fallback/backend.js';
import { FIELD_OFFSET } from '../../src/contract/backend.js';

const FIELDS = ['cpuIdStart', 'cpuId', 'nodeId', 'mmCid'] as const;

describe('the registration length of 7.0', () => {
  it('the backend\'s own area: exactly the feature size (33) at 64-byte alignment, in v2 mode', () => {
    const b = createSimulatorBackend({ kernel: '7.0', libc: 'glibc-tunable-off', cpus: 2, shareMmCid: false, shareLocks: false });
    const r = b.registration();
    expect(r).toMatchObject({ owner: 'addon', length: 33, error: null });
    const reg = b.currentThread().registration;
    expect(reg?.mode).toBe('v2');
    expect(Number((reg?.addr ?? 1n) % 64n)).toBe(0);
    expect(b.areaSource()).toMatchObject({ kind: 'buffer', byteLength: 33 });
    expect(b.release()).toBe(0); // unregisters with the same length
    expect(b.debugCounts()).toMatchObject({ registrations: 0, areas: 0 });
  });

  it('kernels with feature size <= 32 keep the legacy 32 bytes', () => {
    for (const kernel of ['4.18', '6.3', '6.19']) {
      const b = createSimulatorBackend({ kernel, libc: 'glibc-tunable-off', cpus: 2, shareMmCid: false, shareLocks: false });
      expect(b.registration()).toMatchObject({ owner: 'addon', length: 32 });
    }
  });

  it('glibc 2.41 on 7.0 registers 33 bytes (v2); glibc 2.39 registers 32 (legacy)', () => {
    const v2 = createSimulatorBackend({ kernel: '7.0', libc: 'glibc-2.41', cpus: 2, shareMmCid: false, shareLocks: false });
    expect(v2.registration()).toMatchObject({ owner: 'libc', length: 33 });
    expect(v2.currentThread().registration?.mode).toBe('v2');
    const legacy = createSimulatorBackend({ kernel: '7.0', libc: 'glibc-2.39', cpus: 2, shareMmCid: false, shareLocks: false });
    expect(legacy.currentThread().registration?.mode).toBe('legacy');
  });
});

describe('a user write to an ID field in v2 mode', () => {
  for (const libc of ['glibc-2.41', 'glibc-tunable-off']) {
    for (const field of FIELDS) {
      it(`${field} (${libc === 'glibc-2.41' ? "glibc's" : "the package's own"} area): killed at the next update`, () => {
        const b = createSimulatorBackend({ kernel: '7.0', libc, cpus: 2, shareMmCid: false, shareLocks: false });
        const reg = b.currentThread().registration;
        if (!reg) throw new Error('no registration');
        const cpu = b.schedGetcpu();
        b.setAffinity([cpu]); // fine: nothing written
        const addr = reg.addr + BigInt(FIELD_OFFSET[field]);
        b.machine.memory.writeU32(addr, b.machine.memory.readU32(addr) + 7);
        let err: unknown;
        try {
          b.setAffinity([1 - cpu]); // migration: the kernel checks, then writes the IDs
        } catch (e) {
          err = e;
        }
        expect(err).toMatchObject({ name: 'FatalSignalError', signal: 'SIGSEGV' });
        expect((err as Error).message).toMatch(/modified a read-only rseq field \(7\.0 optimised v2 mode\)/);
        expect(() => b.section('add', { mode: 'cpu', id: 0, words: new BigInt64Array(8), index: 0, count: 1 })).toThrow(/simulated SIGSEGV/);
      });
    }
  }

  it('the same write on a 7.0 legacy (32-byte) registration is simply overwritten', () => {
    const b = createSimulatorBackend({ kernel: '7.0', libc: 'glibc-2.39', cpus: 2, shareMmCid: false, shareLocks: false });
    const reg = b.currentThread().registration;
    if (!reg) throw new Error('no registration');
    const cpu = b.schedGetcpu();
    b.machine.memory.writeU32(reg.addr + BigInt(FIELD_OFFSET.cpuId), 99);
    b.setAffinity([1 - cpu]);
    expect(b.readField('cpuId')).toBe(1 - cpu);
    expect(b.machine.fatal).toBeNull();
  });
});
