/**
 * What the simulated kernel writes into a registered area on the way back
 * to user space, per release, and how faults become EFAULT or SIGSEGV.
 */
import { describe, expect, it } from 'vitest';
import {
  Machine,
  RSEQ_CPU_ID_UNINITIALIZED,
  RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE,
  RSEQ_CS_FLAG_SLICE_EXT_ENABLED,
  RSEQ_EVENT,
  RSEQ_FIELD,
  RSEQ_FLAG_SLICE_EXT_DEFAULT_ON,
  RSEQ_FLAG_UNREGISTER,
  type SimThread,
} from '../../fallback/index.js';

const SIG = 0x53053053;
const JUNK = 0x12345678;

/**
 * A machine with 4 CPUs on 2 nodes and one thread (on CPU 2) registered by
 * hand with `len`. The area is filled with 0xee to show what the kernel
 * writes, except rseq_cs, which must be 0 (or a valid descriptor) or the
 * kernel kills the thread when it evaluates it.
 */
function setup(kernel: string, len = 32): { m: Machine; t: SimThread; area: bigint } {
  const m = new Machine({ kernel, libc: 'musl', cpus: 4, nodes: 2 });
  m.createThread({ cpu: 0 });
  const t = m.createThread({ cpu: 2 });
  const area = m.memory.map(64, 64, 'test-area');
  m.memory.fill(area, 64, 0xee);
  m.memory.writeU64(area + BigInt(RSEQ_FIELD.rseqCs), 0n);
  expect(m.sysRseq(t, area, len, 0, SIG)).toEqual({ ret: 0, errno: null });
  return { m, t, area };
}

function poke(m: Machine, area: bigint, field: keyof typeof RSEQ_FIELD, value: number): void {
  m.memory.writeU32(area + BigInt(RSEQ_FIELD[field]), value);
}

describe('IDs written on return to user space', () => {
  it('4.18/6.0 write cpu_id_start and cpu_id only', () => {
    for (const kernel of ['4.18', '6.0']) {
      const { m, t, area } = setup(kernel);
      // Registration itself does not touch the area on these releases.
      expect(m.readArea(area).cpuId).toBe(0xeeeeeeee);
      expect(m.returnToUser(t, 'syscall')).toEqual({ wrote: true, cs: 'none', signal: null, reason: null });
      const a = m.readArea(area);
      expect(a.cpuIdStart).toBe(2);
      expect(a.cpuId).toBe(2);
      expect(a.nodeId).toBe(0xeeeeeeee);
      expect(a.mmCid).toBe(0xeeeeeeee);
    }
  });

  it('6.3+ also write node_id and mm_cid', () => {
    for (const kernel of ['6.3', '6.19', '7.0']) {
      const { m, t, area } = setup(kernel);
      m.returnToUser(t, 'syscall');
      const a = m.readArea(area);
      expect([a.cpuIdStart, a.cpuId, a.nodeId]).toEqual([2, 2, 1]);
      expect(a.mmCid).toBe(m.mmCidOf(t));
      expect(a.mmCid).toBeLessThan(m.mmCidBound());
    }
  });

  it('6.19/7.0 initialise the area at registration (cpu_id_start = cpu_id = -1, node_id = mm_cid = rseq_cs = 0)', () => {
    for (const kernel of ['6.19', '7.0']) {
      const { m, area } = setup(kernel);
      const a = m.readArea(area);
      expect(a).toMatchObject({ cpuIdStart: RSEQ_CPU_ID_UNINITIALIZED, cpuId: RSEQ_CPU_ID_UNINITIALIZED, nodeId: 0, mmCid: 0, rseqCs: 0n });
    }
  });

  it('4.18-6.18 rewrite the IDs after every preemption and before signals', () => {
    for (const kernel of ['4.18', '6.3', '6.18.3']) {
      const { m, t, area } = setup(kernel);
      m.returnToUser(t, 'syscall');
      poke(m, area, 'cpuIdStart', JUNK);
      expect(m.returnToUser(t, 'syscall').wrote).toBe(false); // nothing happened
      expect(m.readArea(area).cpuIdStart).toBe(JUNK);
      expect(m.returnToUser(t, 'preempt').wrote).toBe(true);
      expect(m.readArea(area).cpuIdStart).toBe(2);
      poke(m, area, 'cpuIdStart', JUNK);
      expect(m.returnToUser(t, 'signal').wrote).toBe(true);
      expect(m.readArea(area).cpuIdStart).toBe(2);
    }
  });

  it('6.19 writes the IDs only when they change: junk in cpu_id_start survives a return without migration', () => {
    const { m, t, area } = setup('6.19');
    expect(m.returnToUser(t, 'syscall').wrote).toBe(true); // forced once after registration
    poke(m, area, 'cpuIdStart', JUNK);
    expect(m.returnToUser(t, 'preempt')).toEqual({ wrote: false, cs: 'none', signal: null, reason: null });
    expect(m.returnToUser(t, 'signal').wrote).toBe(false);
    expect(m.readArea(area).cpuIdStart).toBe(JUNK);
    m.migrate(t, 3);
    expect(m.returnToUser(t, 'preempt').wrote).toBe(true);
    expect(m.readArea(area)).toMatchObject({ cpuIdStart: 3, cpuId: 3, nodeId: 1 });
    expect(m.fatal).toBeNull();
  });

  it('7.0 legacy (len 32) rewrites like 4.18; 7.0 v2 (len > 32) writes on change and kills a process that wrote the IDs', () => {
    const legacy = setup('7.0', 32);
    expect(legacy.t.registration?.mode).toBe('legacy');
    legacy.m.returnToUser(legacy.t, 'syscall');
    poke(legacy.m, legacy.area, 'cpuIdStart', JUNK);
    expect(legacy.m.returnToUser(legacy.t, 'preempt').wrote).toBe(true);
    expect(legacy.m.readArea(legacy.area).cpuIdStart).toBe(2);
    expect(legacy.m.fatal).toBeNull();

    const v2 = setup('7.0', 64);
    expect(v2.t.registration?.mode).toBe('v2');
    expect(v2.m.returnToUser(v2.t, 'syscall').wrote).toBe(true);
    poke(v2.m, v2.area, 'cpuIdStart', JUNK);
    expect(v2.m.returnToUser(v2.t, 'preempt').wrote).toBe(false);
    expect(v2.m.readArea(v2.area).cpuIdStart).toBe(JUNK);
    v2.m.migrate(v2.t, 1);
    const r = v2.m.returnToUser(v2.t, 'preempt');
    expect(r.signal).toBe('SIGSEGV');
    expect(r.reason).toMatch(/read-only/);
    expect(v2.m.fatal).toMatchObject({ signal: 'SIGSEGV', tid: v2.t.tid });
  });

  it('7.0 v2 without user writes just follows migrations', () => {
    const { m, t, area } = setup('7.0', 64);
    m.returnToUser(t, 'syscall');
    for (const cpu of [1, 3, 0]) {
      m.migrate(t, cpu);
      expect(m.returnToUser(t, 'preempt').wrote).toBe(true);
      expect(m.readArea(area).cpuId).toBe(cpu);
    }
    expect(m.fatal).toBeNull();
  });

  it('7.0 writes the slice bits into struct rseq::flags for v2 registrations only', () => {
    const v2 = setup('7.0', 64);
    expect(v2.m.readArea(v2.area).flags).toBe(RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE);
    expect(v2.m.memory.readU32(v2.area + BigInt(RSEQ_FIELD.sliceCtrl))).toBe(0);
    const legacy = setup('7.0', 32);
    expect(legacy.m.readArea(legacy.area).flags).toBe(0);
    const m = new Machine({ kernel: '7.0', libc: 'musl' });
    const t = m.createThread();
    const a = m.memory.map(64, 64);
    m.sysRseq(t, a, 64, RSEQ_FLAG_SLICE_EXT_DEFAULT_ON, SIG);
    expect(m.readArea(a).flags).toBe(RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE | RSEQ_CS_FLAG_SLICE_EXT_ENABLED);
  });

  it('membarrier(PRIVATE_EXPEDITED_RSEQ) is EPERM until registered, then makes the other threads rewrite their IDs (legacy)', () => {
    const { m, t, area } = setup('6.3');
    m.returnToUser(t, 'syscall');
    const caller = m.liveThreads()[0]!;
    expect(m.membarrier(caller, 1 << 7)).toEqual({ ret: -1, errno: 'EPERM' });
    expect(m.membarrier(caller, 1 << 7, 2)).toEqual({ ret: -1, errno: 'EINVAL' });
    expect(m.membarrier(caller, 1 << 8)).toEqual({ ret: 0, errno: null });
    expect(m.membarrier(caller, 1 << 9)).toEqual({ ret: 1 << 8, errno: null });
    poke(m, area, 'cpuIdStart', JUNK);
    expect(m.membarrier(caller, 1 << 7)).toEqual({ ret: 0, errno: null });
    expect(m.returnToUser(t, 'syscall').wrote).toBe(true);
    expect(m.readArea(area).cpuIdStart).toBe(2);
    // 4.18 has no RSEQ membarrier commands at all.
    const old = new Machine({ kernel: '4.18' });
    const o = old.createThread();
    expect(old.membarrier(o, 1 << 8).errno).toBe('EINVAL');
    expect(old.membarrier(o, 1 << 7, 1).errno).toBe('EINVAL');
  });
});

describe('unregistration resets the area', () => {
  it.each([
    ['4.18', 0, false],
    ['6.3', 0, true],
    ['6.19', RSEQ_CPU_ID_UNINITIALIZED, true],
    ['7.0', 0, true],
  ] as const)('%s writes cpu_id_start = %i, cpu_id = -1', (kernel, cpuIdStart, nodeAndCid) => {
    const { m, t, area } = setup(kernel);
    m.returnToUser(t, 'syscall');
    poke(m, area, 'nodeId', JUNK);
    poke(m, area, 'mmCid', JUNK);
    expect(m.sysRseq(t, area, 32, RSEQ_FLAG_UNREGISTER, SIG).errno).toBeNull();
    const a = m.readArea(area);
    expect(a.cpuIdStart).toBe(cpuIdStart);
    expect(a.cpuId).toBe(RSEQ_CPU_ID_UNINITIALIZED);
    expect(a.nodeId).toBe(nodeAndCid ? 0 : JUNK);
    expect(a.mmCid).toBe(nodeAndCid ? 0 : JUNK);
    expect(t.registration).toBeNull();
    expect(m.returnToUser(t, 'preempt').wrote).toBe(false);
  });
});

describe('faults', () => {
  /** A user-range address that is not mapped. */
  const HOLE = 0x0000_1000_0000n;

  it('an unmapped user address is accepted by access_ok before 6.15 and kills the thread on return to user space', () => {
    for (const kernel of ['4.18', '6.0', '6.3', '6.14.2']) {
      const m = new Machine({ kernel, libc: 'musl' });
      const t = m.createThread();
      expect(m.sysRseq(t, HOLE, 32, 0, SIG).errno).toBeNull();
      const r = m.returnToUser(t, 'syscall');
      expect(r.signal).toBe('SIGSEGV');
      // rseq_ip_fixup() reads rseq_cs before the IDs are written: that read faults first.
      expect(m.fatal?.reason).toMatch(/fault reading rseq_cs in the rseq area/);
    }
  });

  it('from 6.15 registration reads (6.15-6.18) or writes (6.19+) the area and answers EFAULT', () => {
    for (const kernel of ['6.15.1', '6.18.44-foo', '6.19', '7.0']) {
      const m = new Machine({ kernel, libc: 'musl' });
      const t = m.createThread();
      expect(m.sysRseq(t, HOLE, 32, 0, SIG)).toEqual({ ret: -1, errno: 'EFAULT' });
      expect(t.registration).toBeNull();
      expect(m.fatal).toBeNull();
    }
  });

  it('6.15-6.18 clear a stale rseq_cs at registration; 6.14 leaves it', () => {
    for (const [kernel, after] of [
      ['6.14', 0xdeadbeefn],
      ['6.18', 0n],
    ] as const) {
      const m = new Machine({ kernel, libc: 'musl' });
      const t = m.createThread();
      const a = m.memory.map(32, 32);
      m.memory.writeU64(a + 8n, 0xdeadbeefn);
      expect(m.sysRseq(t, a, 32, 0, SIG).errno).toBeNull();
      expect(m.readArea(a).rseqCs).toBe(after);
    }
  });

  it('an area unmapped while registered: EFAULT at unregistration, plus SIGSEGV on 6.19+', () => {
    for (const [kernel, killed] of [
      ['6.3', false],
      ['6.19', true],
    ] as const) {
      const m = new Machine({ kernel, libc: 'musl' });
      const t = m.createThread();
      const a = m.memory.map(32, 32);
      m.sysRseq(t, a, 32, 0, SIG);
      m.memory.unmap(a);
      expect(m.sysRseq(t, a, 32, RSEQ_FLAG_UNREGISTER, SIG).errno).toBe('EFAULT');
      expect(t.registration).not.toBeNull();
      expect(m.fatal !== null).toBe(killed);
      expect(m.returnToUser(t, 'preempt').signal).toBe('SIGSEGV');
    }
  });

  it('thread exit drops the registration and never touches the area', () => {
    const { m, t, area } = setup('6.19');
    m.returnToUser(t, 'syscall');
    const before = m.readArea(area);
    m.exitThread(t);
    expect(t.alive).toBe(false);
    expect(m.readArea(area)).toEqual(before);
    expect(() => m.returnToUser(t, 'preempt')).toThrow(RangeError);
  });
});

describe('mm_cid reassigned by the model', () => {
  it('counts as a reschedule: the thread gets a preemption event and its new mm_cid on the next return', () => {
    const m = new Machine({ kernel: '6.19', libc: 'glibc-2.41', cpus: 4 });
    const [a, b, c] = [0, 1, 2].map((cpu) => m.createThread({ cpu }));
    for (const t of [a, b, c]) {
      m.libcStart(t!);
      m.returnToUser(t!, 'syscall');
    }
    expect([a, b, c].map((t) => m.mmCidOf(t!))).toEqual([0, 1, 2]);
    m.exitThread(a!);
    // Two users left: c's id 2 is past the bound and moves to the free 0; b keeps 1.
    expect(m.mmCidOf(c!)).toBe(0);
    expect(m.pendingEvents(c!)).toBe(RSEQ_EVENT.PREEMPT);
    expect(m.pendingEvents(b!)).toBe(0);
    expect(m.returnToUser(c!, 'syscall')).toMatchObject({ wrote: true, signal: null });
    expect(m.readArea(c!.registration!.addr).mmCid).toBe(0);
  });
});
