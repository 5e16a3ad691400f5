/**
 * The errno table (ERRNO_CASES) per kernel and libc profile, against the
 * answers derived from kernel/rseq.c of each release.
 */
import { describe, expect, it } from 'vitest';
import { ERRNO_CASES, type ErrnoCaseName } from '../../src/contract/types.js';
import { ERRNO_CASE_KADDR, Machine, RSEQ_FLAG_SLICE_EXT_DEFAULT_ON, RSEQ_FLAG_UNREGISTER } from '../../fallback/index.js';

type Table = Record<ErrnoCaseName, string | null>;

/**
 * 6.3+ on a thread nobody registered, from kernel/rseq.c: the registration
 * checks run in the order flags, "already registered", length/alignment,
 * then access_ok() on the address.
 */
const UNREGISTERED_6_3: Table = {
  'probe-null': 'EINVAL',
  'register-bad-flags': 'EINVAL',
  'register-len-31': 'EINVAL',
  'register-misaligned': 'EINVAL',
  'register-bad-address': 'EFAULT',
  'unregister-not-registered': 'EINVAL',
  register: null,
  'register-again-same': 'EBUSY',
  'register-again-other-signature': 'EPERM',
  'register-again-other-area': 'EINVAL',
  'register-again-other-length': 'EINVAL',
  'unregister-extra-flags': 'EINVAL',
  'unregister-other-area': 'EINVAL',
  'unregister-other-length': 'EINVAL',
  'unregister-wrong-signature': 'EPERM',
  unregister: null,
  'register-len-64': null,
  'unregister-len-64': null,
};

/** 4.18–6.2: len must be 32, so the 64-byte registration fails and nothing is left to unregister. */
const UNREGISTERED_6_0: Table = { ...UNREGISTERED_6_3, 'register-len-64': 'EINVAL', 'unregister-len-64': 'EINVAL' };

/**
 * 4.18: UNREGISTER ignored other flag bits (fixed by commit 66528a4575ee in
 * 5.4), so `unregister-extra-flags` unregisters A and every later
 * unregistration finds nothing registered.
 */
const UNREGISTERED_4_18: Table = {
  ...UNREGISTERED_6_0,
  'unregister-extra-flags': null,
  'unregister-other-area': 'EINVAL',
  'unregister-other-length': 'EINVAL',
  'unregister-wrong-signature': 'EINVAL',
  unregister: 'EINVAL',
};

/** A thread libc registered: every case names another area or length. */
const LIBC: Table = Object.fromEntries(ERRNO_CASES.map((c) => [c, 'EINVAL'])) as Table;
const NO_RSEQ: Table = Object.fromEntries(ERRNO_CASES.map((c) => [c, 'ENOSYS'])) as Table;

function run(kernel: string, libc: string, extra: { rseqFilter?: 'ENOSYS' | 'EPERM' } = {}): { owner: string; got: Table; rets: number[] } {
  const m = new Machine({ kernel, libc, ...extra });
  const t = m.errnoTable();
  expect(t.cases.map((c) => c.case)).toEqual([...ERRNO_CASES]);
  for (const c of t.cases) expect(c.ret).toBe(c.errno === null ? 0 : -1);
  expect(t.signature).toBe(0x53053053);
  // The scratch thread is gone and its areas are unmapped again.
  expect(m.liveThreads()).toEqual([]);
  expect(m.memory.regions()).toEqual([]);
  return { owner: t.ownerAtStart, got: Object.fromEntries(t.cases.map((c) => [c.case, c.errno])) as Table, rets: t.cases.map((c) => c.ret) };
}

describe('errno table per kernel profile, thread not registered by libc', () => {
  it.each([
    ['4.18', UNREGISTERED_4_18],
    ['6.0', UNREGISTERED_6_0],
    ['6.2.16', UNREGISTERED_6_0],
    ['6.3', UNREGISTERED_6_3],
    ['6.18.44-foo', UNREGISTERED_6_3],
    ['6.19', UNREGISTERED_6_3],
    ['7.0', UNREGISTERED_6_3],
  ] as const)('%s', (kernel, expected) => {
    for (const libc of ['musl', 'glibc-tunable-off', 'glibc-2.31']) {
      const r = run(kernel, libc);
      expect(r.owner).toBe('none');
      expect(r.got).toEqual(expected);
    }
  });

  it('a kernel without rseq answers ENOSYS to everything', () => {
    const r = run('4.17', 'musl');
    expect(r.got).toEqual(NO_RSEQ);
  });

  it('a seccomp filter answers its errno to everything', () => {
    expect(run('6.19', 'musl', { rseqFilter: 'EPERM' }).got).toEqual(Object.fromEntries(ERRNO_CASES.map((c) => [c, 'EPERM'])));
    expect(run('6.19', 'glibc-2.41', { rseqFilter: 'ENOSYS' }).owner).toBe('none');
  });
});

describe('errno table per libc profile', () => {
  it.each(['glibc-2.35', 'glibc-2.39', 'glibc-2.36-debian', 'glibc-2.40', 'glibc-2.41'])('%s registers first: EINVAL throughout', (libc) => {
    for (const kernel of ['4.18', '6.0', '6.3', '6.19', '7.0']) {
      const r = run(kernel, libc);
      expect(r.owner).toBe('libc');
      expect(r.got).toEqual(LIBC);
    }
  });

  it('musl and the tunable off leave the thread to the table', () => {
    expect(run('6.19', 'musl').owner).toBe('none');
    expect(run('6.19', 'glibc-tunable-off').owner).toBe('none');
  });
});

describe('length and alignment rules beyond the table', () => {
  function fresh(kernel: string): { m: Machine; tid: number } {
    const m = new Machine({ kernel, libc: 'musl' });
    return { m, tid: m.createThread().tid };
  }
  const SIG = 0x53053053;

  it('6.3-6.19 accept len > 32 at 32-byte alignment once len >= 28; 7.0 wants 64-byte alignment', () => {
    for (const kernel of ['6.3', '6.19']) {
      const { m, tid } = fresh(kernel);
      const a = m.memory.map(128, 64) + 32n; // 32-aligned, not 64-aligned
      expect(m.sysRseq(tid, a, 64, 0, SIG).errno).toBeNull();
    }
    const { m, tid } = fresh('7.0');
    const a = m.memory.map(128, 64);
    expect(m.sysRseq(tid, a + 32n, 64, 0, SIG).errno).toBe('EINVAL');
    expect(m.sysRseq(tid, a + 32n, 32, 0, SIG).errno).toBeNull();
  });

  it('7.0 requires len >= 33 for extended registrations and accepts 33', () => {
    const { m, tid } = fresh('7.0');
    const a = m.memory.map(64, 64);
    for (const len of [31, 0]) expect(m.sysRseq(tid, a, len, 0, SIG).errno).toBe('EINVAL');
    expect(m.sysRseq(tid, a, 33, 0, SIG).errno).toBeNull();
    expect(m.sysRseq(tid, a, 33, RSEQ_FLAG_UNREGISTER, SIG).errno).toBeNull();
  });

  it('6.0 rejects any len but 32; 6.3 takes 40 at 32-byte alignment', () => {
    const old = fresh('6.0');
    const a = old.m.memory.map(64, 64);
    expect(old.m.sysRseq(old.tid, a, 40, 0, SIG).errno).toBe('EINVAL');
    const neu = fresh('6.3');
    const b = neu.m.memory.map(64, 64);
    expect(neu.m.sysRseq(neu.tid, b, 40, 0, SIG).errno).toBeNull();
  });

  it('only 7.0 accepts RSEQ_FLAG_SLICE_EXT_DEFAULT_ON', () => {
    for (const [kernel, errno] of [
      ['6.19', 'EINVAL'],
      ['7.0', null],
    ] as const) {
      const { m, tid } = fresh(kernel);
      const a = m.memory.map(64, 64);
      expect(m.sysRseq(tid, a, 64, RSEQ_FLAG_SLICE_EXT_DEFAULT_ON, SIG).errno).toBe(errno);
    }
  });

  it('kernel addresses are EFAULT on every release, however they are aligned', () => {
    for (const kernel of ['4.18', '6.0', '6.3', '6.19', '7.0']) {
      const { m, tid } = fresh(kernel);
      expect(m.sysRseq(tid, ERRNO_CASE_KADDR, 32, 0, SIG).errno).toBe('EFAULT');
      expect(m.sysRseq(tid, 0x0000_7fff_ffff_ffc0n, 128, 0, SIG).errno).toBe(kernel === '4.18' || kernel === '6.0' ? 'EINVAL' : 'EFAULT'); // would cross into the kernel half
      expect(m.sysRseq(tid, 0xffff_8000_0000_0000n, 32, 0, SIG).errno).toBe('EFAULT');
    }
  });
});
