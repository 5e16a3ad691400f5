/**
 * The time-slice extension model (fallback/kernel/slice.ts) on the 7.0
 * profile: the prctl's errnos, grants on an interrupt that would reschedule,
 * the timer, revocation by any system call, rseq_slice_yield, and SIGSEGV on
 * inconsistent slice_ctrl; then the same through the simulator backend.
 */
import { describe, expect, it } from 'vitest';
import { createSimulatorBackend } from '../../fallback/backend.js';
import { Machine } from '../../fallback/kernel/kernel.js';
import type { SimThread } from '../../fallback/kernel/thread.js';
import { MEMBARRIER_CMD, RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE, RSEQ_CS_FLAG_SLICE_EXT_ENABLED, RSEQ_FIELD, RSEQ_FLAG_SLICE_EXT_DEFAULT_ON, RSEQ_SIG } from '../../fallback/kernel/profiles.js';
import {
  PR_RSEQ_SLICE_EXT_ENABLE,
  PR_RSEQ_SLICE_EXTENSION,
  PR_RSEQ_SLICE_EXTENSION_GET,
  PR_RSEQ_SLICE_EXTENSION_SET,
  SLICE_GRANTED,
  SLICE_REQUEST,
} from '../../fallback/kernel/slice.js';

const GET = (m: Machine, t: SimThread) => m.slice.prctl(t, PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_GET);
const SET = (m: Machine, t: SimThread, on: boolean) =>
  m.slice.prctl(t, PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_SET, on ? PR_RSEQ_SLICE_EXT_ENABLE : 0);

/** A machine whose thread glibc registered (33 bytes on 7.0: v2), or with the given libc. */
function setup(kernel = '7.0', libc = 'glibc-2.41', opts: { sliceExtDisabled?: boolean } = {}) {
  const m = new Machine({ kernel, libc, cpus: 2, ...opts });
  const t = m.createThread({ cpu: 0 });
  m.libcStart(t);
  const ctrl = (): number => m.memory.readU32((t.registration?.addr ?? 0n) + BigInt(RSEQ_FIELD.sliceCtrl));
  const setCtrl = (v: number): void => m.memory.writeU32((t.registration?.addr ?? 0n) + BigInt(RSEQ_FIELD.sliceCtrl), v);
  const flags = (): number => m.memory.readU32((t.registration?.addr ?? 0n) + BigInt(RSEQ_FIELD.flags));
  return { m, t, ctrl, setCtrl, flags };
}

describe('prctl(PR_RSEQ_SLICE_EXTENSION)', () => {
  it('EINVAL before 7.0, and rseq_slice_yield ENOSYS', () => {
    for (const k of ['4.18', '6.3', '6.19']) {
      const { m, t } = setup(k);
      expect(GET(m, t)).toEqual({ ret: -1, errno: 'EINVAL' });
      expect(SET(m, t, true)).toEqual({ ret: -1, errno: 'EINVAL' });
      expect(m.slice.sliceYield(t)).toEqual({ ret: -1, errno: 'ENOSYS' });
    }
  });

  it('7.0: ENOTSUPP when rseq_slice_ext= turned it off, ENXIO without a v2 area, EINVAL for bad arguments', () => {
    const off = setup('7.0', 'glibc-2.41', { sliceExtDisabled: true });
    expect(GET(off.m, off.t)).toEqual({ ret: -1, errno: 'ENOTSUPP' });
    const legacy = setup('7.0', 'glibc-2.39'); // registers 32 bytes: legacy mode
    expect(legacy.t.registration?.mode).toBe('legacy');
    expect(GET(legacy.m, legacy.t)).toEqual({ ret: -1, errno: 'ENXIO' });
    const none = setup('7.0', 'musl'); // nobody registered the thread
    expect(GET(none.m, none.t)).toEqual({ ret: -1, errno: 'ENXIO' });
    const { m, t } = setup();
    expect(t.registration?.mode).toBe('v2');
    expect(m.slice.prctl(t, 78, PR_RSEQ_SLICE_EXTENSION_GET)).toEqual({ ret: -1, errno: 'EINVAL' });
    expect(m.slice.prctl(t, PR_RSEQ_SLICE_EXTENSION, 3)).toEqual({ ret: -1, errno: 'EINVAL' });
    expect(m.slice.prctl(t, PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_SET, 2)).toEqual({ ret: -1, errno: 'EINVAL' });
    expect(m.slice.prctl(t, PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_GET, 1)).toEqual({ ret: -1, errno: 'EINVAL' });
    expect(m.slice.prctl(t, PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_SET, 1, 1)).toEqual({ ret: -1, errno: 'EINVAL' });
  });

  it('SET enables and disables per thread and keeps struct rseq::flags bit 5 in step', () => {
    const { m, t, flags } = setup();
    expect(flags() & RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE).toBe(RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE);
    expect(GET(m, t)).toEqual({ ret: 0, errno: null });
    expect(SET(m, t, true)).toEqual({ ret: 0, errno: null });
    expect(GET(m, t)).toEqual({ ret: 1, errno: null });
    expect(flags() & RSEQ_CS_FLAG_SLICE_EXT_ENABLED).toBe(RSEQ_CS_FLAG_SLICE_EXT_ENABLED);
    const other = m.createThread({ cpu: 1 });
    m.libcStart(other);
    expect(GET(m, other)).toEqual({ ret: 0, errno: null });
    expect(SET(m, t, false)).toEqual({ ret: 0, errno: null });
    expect(GET(m, t)).toEqual({ ret: 0, errno: null });
    expect(flags() & RSEQ_CS_FLAG_SLICE_EXT_ENABLED).toBe(0);
  });

  it('RSEQ_FLAG_SLICE_EXT_DEFAULT_ON enables it at a v2 registration', () => {
    const m = new Machine({ kernel: '7.0', libc: 'musl', cpus: 2 });
    const t = m.createThread({ cpu: 0 });
    const area = m.memory.map(64, 64, 'area');
    expect(m.sysRseq(t, area, 33, RSEQ_FLAG_SLICE_EXT_DEFAULT_ON, RSEQ_SIG.x86_64).errno).toBeNull();
    expect(GET(m, t)).toEqual({ ret: 1, errno: null });
  });
});

describe('grants', () => {
  it('an interrupt that would reschedule grants a requested extension instead of preempting', () => {
    const { m, t, ctrl, setCtrl } = setup();
    SET(m, t, true);
    setCtrl(SLICE_REQUEST);
    expect(m.slice.interrupt(t)).toBe('granted');
    expect(ctrl()).toBe(SLICE_GRANTED); // request cleared, granted set
    expect(m.pendingEvents(t)).toBe(0); // not preempted
    expect(m.slice.state(t)).toEqual({ enabled: true, granted: true });
    expect(m.slice.interrupt(t)).toBe('granted'); // the timer bounds it, not the next tick
    // user space leaves the region: clears request (already 0) and yields
    expect(m.slice.sliceYield(t)).toEqual({ ret: 1, errno: null });
    expect(ctrl()).toBe(0);
    expect(m.slice.state(t).granted).toBe(false);
    expect(m.pendingEvents(t)).not.toBe(0); // rescheduled on the way out of the yield
    expect(m.slice.sliceYield(t)).toEqual({ ret: 0, errno: null });
    expect(m.fatal).toBeNull();
  });

  it('without a request, or without enabling it, the interrupt preempts', () => {
    const { m, t, setCtrl } = setup();
    expect(m.slice.interrupt(t)).toBe('preempted'); // not enabled
    setCtrl(SLICE_REQUEST);
    expect(m.slice.interrupt(t)).toBe('preempted'); // requested, but not enabled: ignored
    setCtrl(0);
    SET(m, t, true);
    expect(m.slice.interrupt(t)).toBe('preempted'); // enabled, no request
    expect(m.slice.state(t).granted).toBe(false);
  });

  it('the timer revokes a grant and preempts', () => {
    const { m, t, ctrl, setCtrl } = setup();
    SET(m, t, true);
    expect(m.slice.timerExpire(t)).toBe('none');
    setCtrl(SLICE_REQUEST);
    expect(m.slice.interrupt(t)).toBe('granted');
    expect(m.slice.timerExpire(t)).toBe('preempted');
    expect(ctrl()).toBe(0);
    expect(m.slice.state(t).granted).toBe(false);
    expect(m.slice.sliceYield(t)).toEqual({ ret: 0, errno: null }); // too late: nothing left to yield
  });

  it('any system call during a grant revokes it (membarrier, sched_setaffinity, rseq, prctl)', () => {
    const calls: Array<[string, (m: Machine, t: SimThread) => unknown]> = [
      ['membarrier', (m, t) => m.membarrier(t, MEMBARRIER_CMD.QUERY)],
      ['sched_setaffinity', (m, t) => m.setAffinity(t, [0, 1])],
      ['rseq', (m, t) => m.sysRseq(t, 0n, 0, 0, 0)],
      ['prctl', (m, t) => GET(m, t)],
    ];
    for (const [name, call] of calls) {
      const { m, t, ctrl, setCtrl } = setup();
      SET(m, t, true);
      setCtrl(SLICE_REQUEST);
      expect(m.slice.interrupt(t), name).toBe('granted');
      call(m, t);
      expect(m.slice.state(t).granted, name).toBe(false);
      expect(ctrl(), name).toBe(0);
      expect(m.pendingEvents(t), name).not.toBe(0);
      expect(m.slice.sliceYield(t), name).toEqual({ ret: 0, errno: null });
      expect(m.fatal, name).toBeNull();
    }
  });
});

describe('inconsistent slice_ctrl is SIGSEGV', () => {
  it('granted set by user space, or a reserved bit, when the kernel looks on an interrupt', () => {
    for (const word of [SLICE_GRANTED, SLICE_GRANTED | SLICE_REQUEST, 0x10000, 0x2]) {
      const { m, t, setCtrl } = setup();
      SET(m, t, true);
      setCtrl(word);
      expect(m.slice.interrupt(t)).toBe('killed');
      expect(m.fatal?.signal).toBe('SIGSEGV');
      expect(m.fatal?.reason).toMatch(/inconsistent rseq slice_ctrl/);
    }
  });

  it('request set again, or granted cleared by user space, at the system call that ends a grant', () => {
    for (const word of [SLICE_GRANTED | SLICE_REQUEST, 0, SLICE_REQUEST]) {
      const { m, t, setCtrl } = setup();
      SET(m, t, true);
      setCtrl(SLICE_REQUEST);
      expect(m.slice.interrupt(t)).toBe('granted');
      setCtrl(word);
      m.slice.sliceYield(t);
      expect(m.fatal?.signal).toBe('SIGSEGV');
    }
  });
});

describe('through the simulator backend', () => {
  it('6.19 (the default): EINVAL and ENOSYS, as this machine answers natively', () => {
    const b = createSimulatorBackend({ shareMmCid: false, shareLocks: false });
    expect(b.slice.prctl('get')).toEqual({ value: 0, failure: { errno: 'EINVAL', code: 22 } });
    expect(b.slice.prctl('enable')).toEqual({ value: 0, failure: { errno: 'EINVAL', code: 22 } });
    expect(b.slice.yield()).toEqual({ value: 0, failure: { errno: 'ENOSYS', code: 38 } });
  });

  it('7.0: a region granted by an interrupt ends in a yield; a plain region does not', () => {
    const b = createSimulatorBackend({ kernel: '7.0', shareMmCid: false, shareLocks: false });
    expect(b.registration().length).toBe(33);
    expect(b.slice.prctl('enable').failure).toBeNull();
    expect(b.slice.prctl('get').value).toBe(1);
    expect(b.slice.request()).toBeNull();
    expect(b.slice.ctrl()).toBe(SLICE_REQUEST);
    expect(b.slice.end()).toEqual({ value: 0, failure: null });
    expect(b.slice.request()).toBeNull();
    expect(b.machine.slice.interrupt(b.currentThread())).toBe('granted');
    expect(b.slice.ctrl()).toBe(SLICE_GRANTED);
    expect(b.slice.end()).toEqual({ value: 1, failure: null });
    expect(b.slice.ctrl()).toBe(0);
    expect(b.slice.prctl('disable').failure).toBeNull();
  });

  it('a user write of granted kills the simulated process, surfaced as FatalSignalError', () => {
    const b = createSimulatorBackend({ kernel: '7.0', shareMmCid: false, shareLocks: false });
    b.slice.prctl('enable');
    const t = b.currentThread();
    b.machine.memory.writeU32((t.registration?.addr ?? 0n) + BigInt(RSEQ_FIELD.sliceCtrl), SLICE_GRANTED);
    expect(b.machine.slice.interrupt(t)).toBe('killed');
    expect(() => b.slice.ctrl()).toThrow(/simulated SIGSEGV/);
    expect(() => b.setAffinity([0])).toThrow(expect.objectContaining({ name: 'FatalSignalError' }));
  });
});
