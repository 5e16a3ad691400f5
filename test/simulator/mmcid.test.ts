/** mm_cid range and uniqueness as threads come and go (property test), plus CPUs, nodes and affinity. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalMmCid, Machine, SharedMmCidPool, type SimThread } from '../../fallback/index.js';

type Op =
  | { kind: 'create'; mask: number; cpuPick: number }
  | { kind: 'exit'; pick: number }
  | { kind: 'migrate'; pick: number; cpuPick: number }
  | { kind: 'affinity'; pick: number; mask: number };

const op = (cpus: number): fc.Arbitrary<Op> => {
  const mask = fc.integer({ min: 1, max: (1 << cpus) - 1 });
  const pick = fc.nat({ max: 1000 });
  return fc.oneof(
    fc.record({ kind: fc.constant('create' as const), mask, cpuPick: pick }),
    fc.record({ kind: fc.constant('exit' as const), pick }),
    fc.record({ kind: fc.constant('migrate' as const), pick, cpuPick: pick }),
    fc.record({ kind: fc.constant('affinity' as const), pick, mask }),
  );
};

function cpusOf(mask: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => i).filter((i) => mask & (1 << i));
}

describe('mm_cid', () => {
  it('stays in [0, min(allowed CPUs of the process, live threads)) and is unique among threads on different CPUs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).chain((cpus) => fc.tuple(fc.constant(cpus), fc.array(op(cpus), { minLength: 1, maxLength: 60 }))),
        fc.constantFrom('6.3', '6.19', '7.0'),
        ([cpus, ops], kernel) => {
          const m = new Machine({ kernel, libc: 'glibc-2.41', cpus });
          const everAllowed = new Set<number>();
          const live = (): SimThread[] => m.liveThreads();
          for (const o of ops) {
            const threads = live();
            switch (o.kind) {
              case 'create': {
                const allowed = cpusOf(o.mask, cpus);
                const t = m.createThread({ affinity: allowed, cpu: allowed[o.cpuPick % allowed.length]! });
                m.libcStart(t);
                allowed.forEach((c) => everAllowed.add(c));
                break;
              }
              case 'exit':
                if (threads.length > 0) m.exitThread(threads[o.pick % threads.length]!);
                break;
              case 'migrate':
                if (threads.length > 0) {
                  const t = threads[o.pick % threads.length]!;
                  m.migrate(t, t.affinity[o.cpuPick % t.affinity.length]!);
                }
                break;
              case 'affinity':
                if (threads.length > 0) {
                  const t = threads[o.pick % threads.length]!;
                  const allowed = cpusOf(o.mask, cpus);
                  expect(m.setAffinity(t, allowed).errno).toBeNull();
                  allowed.forEach((c) => everAllowed.add(c));
                  expect(allowed).toContain(t.cpu);
                }
                break;
            }
            const now = live();
            if (now.length === 0) continue;
            // The kernel's rule: nr_cpus_allowed is the union of the threads' masks, which only grows.
            const bound = Math.min(everAllowed.size, now.length);
            expect(m.mmCidBound()).toBe(bound);
            expect(bound).toBeLessThanOrEqual(Math.min(cpus, now.length));
            const byCpu = new Map<number, number>();
            const ids: number[] = [];
            for (const t of now) {
              // What the kernel writes on the next return to user space.
              m.returnToUser(t, 'preempt');
              const cid = m.readArea(t.registration!.addr).mmCid;
              expect(cid).toBe(m.mmCidOf(t));
              expect(cid).toBeGreaterThanOrEqual(0);
              expect(cid).toBeLessThan(bound);
              ids.push(cid);
              const other = byCpu.get(cid);
              if (other !== undefined) expect(other).toBe(t.cpu); // only threads on one CPU share an id
              byCpu.set(cid, t.cpu);
            }
            if (now.length <= everAllowed.size) expect(new Set(ids).size).toBe(ids.length);
          }
          expect(m.fatal).toBeNull();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('compacts when a thread exits: the survivor moves down to 0', () => {
    const m = new Machine({ kernel: '6.19', libc: 'glibc-2.41', cpus: 4 });
    const a = m.createThread();
    const b = m.createThread();
    m.libcStart(a);
    m.libcStart(b);
    expect([m.mmCidOf(a), m.mmCidOf(b)]).toEqual([0, 1]);
    m.exitThread(a);
    expect(m.mmCidOf(b)).toBe(0);
    expect(m.returnToUser(b, 'preempt').wrote).toBe(true); // the id changed, so even 6.19 writes it
    expect(m.readArea(b.registration!.addr).mmCid).toBe(0);
  });

  it('with more threads than allowed CPUs, ids are owned per CPU', () => {
    const cid = new LocalMmCid();
    cid.attach(1, [0, 1]);
    cid.attach(2, [0, 1]);
    cid.attach(3, [0, 1]);
    expect(cid.perCpuMode).toBe(true);
    expect([cid.cidFor(1, 0), cid.cidFor(2, 1), cid.cidFor(3, 1)]).toEqual([0, 1, 1]);
    cid.detach(3);
    expect(cid.perCpuMode).toBe(false);
    expect(new Set([cid.cidFor(1, 0), cid.cidFor(2, 0)])).toEqual(new Set([0, 1]));
  });

  it('the shared pool gives isolates distinct ids below min(CPUs, threads) and converges after exits', () => {
    const first = new SharedMmCidPool(freshPoolBuffer(4));
    const second = new SharedMmCidPool(first.buffer); // another isolate's view of the same memory
    first.attach(100);
    second.attach(101);
    second.attach(102);
    expect([first.cidFor(100, 0), second.cidFor(101, 0), second.cidFor(102, 0)]).toEqual([0, 1, 2]);
    expect(first.users).toBe(3);
    first.detach(100);
    second.detach(101);
    expect(second.users).toBe(1);
    expect(second.cidFor(102, 3)).toBe(0);
    // More threads than CPUs: the ones without a slot use their CPU number.
    const pool = new SharedMmCidPool(freshPoolBuffer(2));
    pool.attach(1);
    pool.attach(2);
    pool.attach(3);
    expect([pool.cidFor(1, 1), pool.cidFor(2, 1), pool.cidFor(3, 1)]).toEqual([0, 1, 1]);
  });
});

function freshPoolBuffer(cpus: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer((3 + 2 * cpus) * 4);
  new Int32Array(sab)[2] = cpus;
  return sab;
}

describe('CPUs, nodes and affinity', () => {
  it('splits CPUs into contiguous node blocks and writes node_id accordingly', () => {
    const m = new Machine({ kernel: '6.19', libc: 'glibc-2.41', cpus: 8, nodes: 2 });
    expect(Array.from({ length: 8 }, (_, c) => m.nodeOf(c))).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    const t = m.createThread({ cpu: 5 });
    m.libcStart(t);
    expect(m.readArea(t.registration!.addr).nodeId).toBe(1);
  });

  it('setAffinity keeps an allowed CPU, otherwise moves to the lowest allowed; EINVAL for no online CPU', () => {
    const m = new Machine({ kernel: '6.19', cpus: 4 });
    const t = m.createThread({ cpu: 2 });
    expect(m.setAffinity(t, [1, 2])).toEqual({ ret: 0, errno: null });
    expect(t.cpu).toBe(2);
    expect(m.setAffinity(t, [3, 1])).toEqual({ ret: 0, errno: null });
    expect(t.cpu).toBe(1);
    expect(t.affinity).toEqual([1, 3]);
    expect(m.setAffinity(t, [9, 1023])).toEqual({ ret: -1, errno: 'EINVAL' });
    expect(t.affinity).toEqual([1, 3]);
    expect(() => m.migrate(t, 0)).toThrow(RangeError);
  });

  it('spreads new threads over the allowed CPUs', () => {
    const m = new Machine({ kernel: '6.19', cpus: 3 });
    expect([m.createThread(), m.createThread(), m.createThread(), m.createThread()].map((t) => t.cpu)).toEqual([0, 1, 2, 0]);
    expect(m.liveThreads()[0]!.tid).toBe(m.pid);
  });
});
