/**
 * Critical sections as step programs on the simulated kernel: an event at
 * every step boundary of every operation, on every kernel profile, leaves
 * memory as before the section or (after the commit) as after it, except
 * the documented speculative store or copy; moved and compare-failed
 * outcomes; the layout the kernel reads; and the cases where the kernel
 * kills the process.
 */
import { describe, expect, it } from 'vitest';
import { OP_ABORTED, OP_BAD_INDEX, OP_COMMITTED, OP_COMPARE_FAILED, OP_MOVED } from '../../src/contract/backend.js';
import {
  FatalSignalError,
  installSections,
  Machine,
  MEMBARRIER_CMD,
  PROGRAMS,
  RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT,
  RSEQ_CS_FLAG_NO_RESTART_ON_SIGNAL,
  RSEQ_FIELD,
  RSEQ_SIG,
  runSection,
  SECTION_NAMES,
  signatureBytes,
  simulatedMemory,
  type Boundary,
  type ReturnCause,
  type SectionFields,
  type SectionName,
  type SectionResult,
  type SimArray,
  type SimThread,
} from '../../fallback/index.js';

const KERNELS = ['4.18', '6.0', '6.3', '6.19', '7.0'] as const;
const WORDS = 8;
const BYTES = 16;
const EMPTY = -1;

interface Fixture {
  m: Machine;
  t: SimThread;
  other: SimThread;
  words: SimArray;
  src: SimArray;
  dst: SimArray;
  area: bigint;
}

/** A 4-CPU machine; the thread under test runs on CPU 1, another thread on CPU 0. */
function fixture(kernel: string, opts: { libc?: string; rseqDebug?: boolean } = {}): Fixture {
  const m = new Machine({ kernel, libc: opts.libc ?? 'glibc-2.41', cpus: 4, rseqDebug: opts.rseqDebug ?? false });
  const other = m.createThread({ cpu: 0 });
  const t = m.createThread({ cpu: 1 });
  for (const x of [other, t]) {
    m.libcStart(x);
    if (!x.registration) {
      const a = m.memory.map(32, 32, 'area');
      expect(m.sysRseq(x, a, 32, 0, RSEQ_SIG[m.arch]).errno).toBeNull();
    }
    m.returnToUser(x, 'syscall');
  }
  const words = { addr: m.memory.map(WORDS * 8, 64, 'words'), length: WORDS };
  const src = { addr: m.memory.map(BYTES, 64, 'src'), length: BYTES };
  const dst = { addr: m.memory.map(BYTES, 64, 'dst'), length: BYTES };
  for (let i = 0; i < BYTES; i++) {
    m.memory.writeU8(src.addr + BigInt(i), 0xa0 + i);
    m.memory.writeU8(dst.addr + BigInt(i), 0x10 + i);
  }
  return { m, t, other, words, src, dst, area: t.registration!.addr };
}

function setWords(f: Fixture, values: Record<number, number>): void {
  for (const [i, v] of Object.entries(values)) f.m.memory.writeU64(f.words.addr + 8n * BigInt(i), BigInt(v));
}

interface Snapshot {
  words: bigint[];
  dst: number[];
}

function snapshot(f: Fixture): Snapshot {
  return {
    words: Array.from({ length: WORDS }, (_, i) => BigInt.asIntN(64, f.m.memory.readU64(f.words.addr + 8n * BigInt(i)))),
    dst: [...f.m.memory.readBytes(f.dst.addr, BYTES)],
  };
}

interface Case<N extends SectionName> {
  name: N;
  /** Words before the section. */
  init: Record<number, number>;
  args: (id: number) => SectionFields[N];
  /** The result of a run without events. */
  expect: { status: number; value: number };
}

/** One committing case per operation. */
const CASES: { [N in SectionName]: Case<N> } = {
  add: { name: 'add', init: { 2: 40 }, args: (id) => ({ mode: 'cpu', id, index: 2, count: 2 }), expect: { status: OP_COMMITTED, value: 0 } },
  storeIfEqual: {
    name: 'storeIfEqual',
    init: { 2: 40 },
    args: (id) => ({ mode: 'cpu', id, index: 2, expect: 40, newv: 7 }),
    expect: { status: OP_COMMITTED, value: 0 },
  },
  doubleCompareStore: {
    name: 'doubleCompareStore',
    init: { 2: 40, 5: 9 },
    args: (id) => ({ mode: 'cpu', id, index: 2, expect: 40, index2: 5, expect2: 9, newv: 7 }),
    expect: { status: OP_COMMITTED, value: 0 },
  },
  speculativeStoreCommit: {
    name: 'speculativeStoreCommit',
    init: { 2: 40, 5: 9 },
    args: (id) => ({ mode: 'cpu', id, index: 2, expect: 40, index2: 5, newv2: 99, newv: 7, release: true }),
    expect: { status: OP_COMMITTED, value: 0 },
  },
  copyCommit: {
    name: 'copyCommit',
    init: { 2: 40 },
    args: (id) => ({ mode: 'cpu', id, index: 2, expect: 40, dstOffset: 3, srcOffset: 2, length: 5, newv: 41, release: false }),
    expect: { status: OP_COMMITTED, value: 0 },
  },
  // List: head (word 0) -> 3 -> 1 -> empty; next[] at words 1..6.
  listPop: {
    name: 'listPop',
    init: { 0: 3, 4: 1, 2: EMPTY },
    args: (id) => ({ mode: 'cpu', id, head: 0, next: 1, count: 6, empty: EMPTY }),
    expect: { status: OP_COMMITTED, value: 3 },
  },
};

type EventKind = 'preempt' | 'signal' | 'migrate' | 'membarrier';
const EVENTS: readonly EventKind[] = ['preempt', 'signal', 'migrate', 'membarrier'];

/** Delivers `kind` to f.t at the boundary; returns the return-to-user cause, or null (membarrier: pending). */
function deliver(f: Fixture, kind: EventKind): ReturnCause | null {
  switch (kind) {
    case 'preempt':
      f.m.preempt(f.t);
      return 'preempt';
    case 'signal':
      return 'signal';
    case 'migrate':
      f.m.migrate(f.t, f.t.cpu === 2 ? 3 : 2);
      return 'preempt';
    case 'membarrier':
      f.m.membarrier(f.other, MEMBARRIER_CMD.REGISTER_PRIVATE_EXPEDITED_RSEQ);
      expect(f.m.membarrier(f.other, MEMBARRIER_CMD.PRIVATE_EXPEDITED_RSEQ).errno).toBeNull();
      return null; // runSection delivers the pending IPI itself
  }
}

function run<N extends SectionName>(f: Fixture, c: Case<N>, args: SectionFields[N], at?: (b: Boundary) => ReturnCause | null | void, trace?: Boundary[]): SectionResult {
  const mem = simulatedMemory(f.m.memory, f.area, { words: f.words, src: f.src, dst: f.dst });
  return runSection(f.m, f.t, c.name, args, mem, { at, trace });
}

describe('layout in simulated memory', () => {
  it('puts a valid struct rseq_cs per program and the signature right before each abort handler', () => {
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const m = new Machine({ arch });
      const code = installSections(m);
      expect(installSections(m)).toBe(code);
      for (const name of SECTION_NAMES) {
        const p = code.programs[name];
        expect(p.descriptor % 32n).toBe(0n);
        expect(m.memory.readU32(p.descriptor)).toBe(0);
        expect(m.memory.readU32(p.descriptor + 4n)).toBe(0);
        expect(m.memory.readU64(p.descriptor + 8n)).toBe(p.startIp);
        expect(m.memory.readU64(p.descriptor + 16n)).toBe(p.postCommitIp - p.startIp);
        expect(m.memory.readU64(p.descriptor + 24n)).toBe(p.abortIp);
        // The commit is the last instruction inside; start_ip follows the descriptor store.
        expect(p.postCommitIp - p.commitIp).toBe(4n);
        expect(p.startIp - p.entryIp).toBe(4n);
        expect(p.abortIp >= p.postCommitIp).toBe(true);
        expect(m.memory.readU32(p.abortIp - 4n)).toBe(RSEQ_SIG[arch]);
        const sig = signatureBytes(arch);
        expect([...m.memory.readBytes(p.abortIp - BigInt(sig.length), sig.length)]).toEqual(sig);
        expect(PROGRAMS[name].steps.filter((s) => s.kind === 'commit')).toHaveLength(1);
      }
      if (arch === 'x86_64') expect(signatureBytes(arch).slice(1, 4)).toEqual([0x0f, 0xb9, 0x3d]);
    }
  });
});

describe('an event at every step boundary', () => {
  for (const kernel of KERNELS) {
    for (const name of SECTION_NAMES) {
      it(`${kernel} ${name}: aborts leave memory as before (but the speculative effects), events after the commit change nothing`, () => {
        const c = CASES[name] as Case<SectionName>;
        // The reference run, without events.
        const ref = fixture(kernel);
        setWords(ref, c.init);
        const before = snapshot(ref);
        const trace: Boundary[] = [];
        const r0 = run(ref, c, c.args(ref.t.cpu), undefined, trace);
        expect({ status: r0.status, value: r0.value }).toEqual(c.expect);
        const after = snapshot(ref);
        expect(after).not.toEqual(before);
        const spec = PROGRAMS[name].speculative(c.args(ref.t.cpu) as never);
        // Every boundary up to the commit is inside the section; the one after it is not.
        expect(trace.map((b) => b.inSection)).toEqual(trace.map((_, k) => k < trace.length - 1));
        expect(trace[trace.length - 2]!.beforeCommit).toBe(true);

        // 4.18 has no membarrier RSEQ commands (5.10).
        for (const kind of EVENTS.filter((e) => e !== 'membarrier' || kernel !== '4.18')) {
          for (let k = 0; k < trace.length; k++) {
            const f = fixture(kernel);
            setWords(f, c.init);
            const r = run(f, c, c.args(f.t.cpu), (b) => (b.steps === k + 1 ? deliver(f, kind) : null));
            const got = snapshot(f);
            const where = `${kind} after step ${k + 1} (${trace[k]!.text})`;
            expect(f.m.fatal, where).toBeNull();
            expect(f.m.readArea(f.area).rseqCs, where).toBe(0n);
            if (trace[k]!.inSection) {
              expect(r.status, where).toBe(OP_ABORTED);
              expect(r.value, where).toBe(name === 'listPop' ? -OP_ABORTED : OP_ABORTED);
              got.words.forEach((w, i) => {
                if (spec.words.includes(i)) expect([before.words[i], after.words[i]], `${where}: word ${i}`).toContain(w);
                else expect(w, `${where}: word ${i}`).toBe(before.words[i]);
              });
              got.dst.forEach((v, i) => {
                const inCopy = spec.dst !== null && i >= spec.dst.offset && i < spec.dst.offset + spec.dst.length;
                if (inCopy) expect([before.dst[i], after.dst[i]], `${where}: dst ${i}`).toContain(v);
                else expect(v, `${where}: dst ${i}`).toBe(before.dst[i]);
              });
            } else {
              expect({ status: r.status, value: r.value }, where).toEqual(c.expect);
              expect(got, where).toEqual(after);
            }
          }
        }
      });
    }
  }

  it('a speculative store and a partial copy really are left behind by an abort before the commit', () => {
    const f = fixture('6.19');
    setWords(f, CASES.speculativeStoreCommit.init);
    const r = run(f, CASES.speculativeStoreCommit, CASES.speculativeStoreCommit.args(1), (b) => (b.beforeCommit ? deliver(f, 'preempt') : null));
    expect(r.status).toBe(OP_ABORTED);
    expect(snapshot(f).words.slice(2, 6)).toEqual([40n, 0n, 0n, 99n]);

    const g = fixture('6.19');
    setWords(g, CASES.copyCommit.init);
    const stores: number[] = [];
    const r2 = run(g, CASES.copyCommit, CASES.copyCommit.args(1), (b) => {
      if (b.kind === 'copy-store') stores.push(b.steps);
      return stores.length === 3 && b.kind === 'copy-store' ? deliver(g, 'signal') : null;
    });
    expect(r2.status).toBe(OP_ABORTED);
    expect(snapshot(g).dst.slice(3, 8)).toEqual([0xa2, 0xa3, 0xa4, 0x16, 0x17]);
    expect(snapshot(g).words[2]).toBe(40n);
  });
});

describe('moved and compare-failed', () => {
  it('a wrong id is OP_MOVED and writes nothing; an event before the id check aborts instead', () => {
    for (const name of SECTION_NAMES) {
      const c = CASES[name] as Case<SectionName>;
      const f = fixture('6.19');
      setWords(f, c.init);
      const before = snapshot(f);
      const trace: Boundary[] = [];
      const r = run(f, c, c.args(3), undefined, trace);
      expect(r.status).toBe(OP_MOVED);
      expect(r.value).toBe(name === 'listPop' ? -OP_MOVED : OP_MOVED);
      expect(snapshot(f)).toEqual(before);
      expect(trace.map((b) => b.kind)).toEqual(['descriptor', 'load-id', 'check-id']);
      for (let k = 0; k < trace.length; k++) {
        const g = fixture('6.19');
        setWords(g, c.init);
        const rr = run(g, c, c.args(3), (b) => (b.steps === k + 1 ? deliver(g, 'preempt') : null));
        expect(rr.status).toBe(k < 2 ? OP_ABORTED : OP_MOVED);
        expect(snapshot(g)).toEqual(before);
      }
    }
  });

  it('a migration between reading the id and the section makes it OP_MOVED', () => {
    const f = fixture('7.0');
    setWords(f, { 2: 1 });
    const id = f.m.readArea(f.area).cpuId;
    f.m.migrate(f.t, 3);
    f.m.returnToUser(f.t, 'preempt');
    expect(run(f, CASES.add, CASES.add.args(id)).status).toBe(OP_MOVED);
    expect(run(f, CASES.add, CASES.add.args(3)).status).toBe(OP_COMMITTED);
    expect(snapshot(f).words[2]).toBe(3n);
  });

  it('mode mmcid compares mm_cid', () => {
    const f = fixture('6.19');
    const cid = f.m.mmCidOf(f.t);
    expect(f.m.readArea(f.area).mmCid).toBe(cid);
    expect(run(f, CASES.add, { mode: 'mmcid', id: cid, index: 1, count: 5 }).status).toBe(OP_COMMITTED);
    expect(run(f, CASES.add, { mode: 'mmcid', id: cid + 1, index: 1, count: 5 }).status).toBe(OP_MOVED);
    expect(snapshot(f).words[1]).toBe(5n);
  });

  it('comparisons that fail write nothing', () => {
    const f = fixture('6.19');
    setWords(f, { 0: 3, 4: 1, 2: EMPTY, 5: 9 });
    const before = snapshot(f);
    const id = f.t.cpu;
    const cases: Array<[SectionName, SectionFields[SectionName], number]> = [
      ['storeIfEqual', { mode: 'cpu', id, index: 0, expect: 4, newv: 1 }, OP_COMPARE_FAILED],
      ['doubleCompareStore', { mode: 'cpu', id, index: 0, expect: 4, index2: 5, expect2: 9, newv: 1 }, OP_COMPARE_FAILED],
      ['doubleCompareStore', { mode: 'cpu', id, index: 0, expect: 3, index2: 5, expect2: 8, newv: 1 }, OP_COMPARE_FAILED],
      ['speculativeStoreCommit', { mode: 'cpu', id, index: 0, expect: 4, index2: 7, newv2: 1, newv: 1, release: false }, OP_COMPARE_FAILED],
      ['copyCommit', { mode: 'cpu', id, index: 0, expect: 4, dstOffset: 0, srcOffset: 0, length: 8, newv: 1, release: true }, OP_COMPARE_FAILED],
    ];
    for (const [name, args, status] of cases) {
      const r = run(f, { name } as Case<SectionName>, args);
      expect(r.status, name).toBe(status);
      expect(snapshot(f), name).toEqual(before);
    }
    // listPop: an empty list, and an index outside [0, count) (negative ones too: an unsigned comparison).
    const pop = (head: number, count: number): number => run(f, CASES.listPop as Case<SectionName>, { mode: 'cpu', id, head, next: 1, count, empty: EMPTY }).value;
    expect(pop(2, 6)).toBe(-OP_COMPARE_FAILED);
    expect(pop(0, 3)).toBe(-OP_BAD_INDEX);
    setWords(f, { 6: -5 });
    expect(pop(6, 6)).toBe(-OP_BAD_INDEX);
    setWords(f, { 6: 0 });
    expect(pop(0, 0)).toBe(-OP_BAD_INDEX);
    expect(snapshot(f).words.slice(0, 6)).toEqual(before.words.slice(0, 6));
  });

  it('add wraps like 64-bit two\'s complement arithmetic', () => {
    const f = fixture('6.19');
    f.m.memory.writeU64(f.words.addr + 8n, 0x7fffffffffffffffn);
    expect(run(f, CASES.add, { mode: 'cpu', id: 1, index: 1, count: 1 }).status).toBe(OP_COMMITTED);
    expect(snapshot(f).words[1]).toBe(-(2n ** 63n));
  });

  it('index checks are the caller\'s: a word outside mapped memory is a fatal fault, never a silent write', () => {
    const f = fixture('6.19');
    expect(() => run(f, CASES.add, { mode: 'cpu', id: 1, index: 1 << 20, count: 1 })).toThrow(FatalSignalError);
    expect(f.m.fatal?.reason).toMatch(/segmentation fault/);
  });
});

describe('what the kernel kills the process for', () => {
  /** Runs add with an event at boundary `at` (2: inside, after the id load; last: after the commit). */
  function attempt(f: Fixture, at: number | 'after-commit', cause: ReturnCause = 'preempt'): SectionResult {
    setWords(f, { 2: 40 });
    return run(f, CASES.add, CASES.add.args(f.t.cpu), (b) => {
      const hit = at === 'after-commit' ? b.committed : b.steps === at;
      if (!hit) return null;
      if (cause === 'preempt') f.m.preempt(f.t);
      return cause;
    });
  }
  const desc = (f: Fixture): bigint => installSections(f.m).programs.add.descriptor;
  const abortIp = (f: Fixture): bigint => installSections(f.m).programs.add.abortIp;

  it('a signature before abort_ip that is not the registered one: every release, inside the section', () => {
    for (const kernel of KERNELS) {
      const f = fixture(kernel);
      installSections(f.m);
      f.m.memory.writeU32(abortIp(f) - 4n, RSEQ_SIG[f.m.arch] ^ 1);
      expect(() => attempt(f, 2), kernel).toThrow(FatalSignalError);
      expect(f.m.fatal, kernel).toMatchObject({ signal: 'SIGSEGV', tid: f.t.tid });
      expect(f.m.fatal?.reason, kernel).toMatch(/possible attack attempt: unexpected rseq signature/);
    }
  });

  it('a thread registered with another signature is killed the same way', () => {
    const m = new Machine({ kernel: '6.3', libc: 'musl', cpus: 2 });
    const t = m.createThread({ cpu: 0 });
    const area = m.memory.map(32, 32);
    m.sysRseq(t, area, 32, 0, 0x12345678);
    m.returnToUser(t, 'syscall');
    const words = { addr: m.memory.map(64, 64), length: 8 };
    const mem = simulatedMemory(m.memory, area, { words });
    expect(() => runSection(m, t, 'add', { mode: 'cpu', id: 0, index: 0, count: 1 }, mem, { at: (b) => (b.steps === 2 ? 'signal' : null) })).toThrow(
      /expecting 0x12345678/,
    );
  });

  it('4.18-6.18 validate the descriptor even after the commit; 6.19+ only clear it', () => {
    for (const [kernel, killed] of [
      ['6.3', true],
      ['6.19', false],
    ] as const) {
      const f = fixture(kernel);
      installSections(f.m);
      f.m.memory.writeU32(abortIp(f) - 4n, 0);
      if (killed) expect(() => attempt(f, 'after-commit')).toThrow(FatalSignalError);
      else expect(attempt(f, 'after-commit').status).toBe(OP_COMMITTED);
      expect(f.m.fatal !== null, kernel).toBe(killed);
    }
  });

  it('version != 0: fatal on 4.18-6.18 and with rseq_debug; the 6.19+ fast path does not look', () => {
    for (const [kernel, debug, killed] of [
      ['4.18', false, true],
      ['6.3', false, true],
      ['6.19', false, false],
      ['7.0', false, false],
      ['6.19', true, true],
    ] as const) {
      const f = fixture(kernel, { rseqDebug: debug });
      f.m.memory.writeU32(desc(f), 1);
      const where = `${kernel}${debug ? ' rseq_debug' : ''}`;
      if (killed) {
        expect(() => attempt(f, 2), where).toThrow(FatalSignalError);
        expect(f.m.fatal?.reason, where).toMatch(/version/);
      } else {
        expect(attempt(f, 2).status, where).toBe(OP_ABORTED);
      }
    }
  });

  it('abort_ip inside the section: fatal on 4.18-6.18 and with rseq_debug (on 6.19+ the signature check catches it)', () => {
    for (const [kernel, debug, reason] of [
      ['4.18', false, /is inside the critical section/],
      ['6.3', false, /is inside the critical section/],
      ['6.19', true, /is inside the critical section/],
      ['6.19', false, /possible attack attempt/],
    ] as const) {
      const f = fixture(kernel, { rseqDebug: debug });
      const p = installSections(f.m).programs.add;
      f.m.memory.writeU64(desc(f) + 24n, p.startIp + 4n);
      expect(() => attempt(f, 2), kernel).toThrow(FatalSignalError);
      expect(f.m.fatal?.reason, kernel).toMatch(reason);
    }
  });

  it('NO_RESTART flags: 4.18 honours them, 6.0-6.18 kill, 6.19+ ignore them unless rseq_debug', () => {
    // 4.18: NO_RESTART_ON_PREEMPT lets the section continue after a preemption, not after a signal.
    const f = fixture('4.18');
    f.m.memory.writeU32(desc(f) + 4n, RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT);
    const r = attempt(f, 2, 'preempt');
    expect(r.status).toBe(OP_COMMITTED);
    expect(snapshot(f).words[2]).toBe(42n);
    const g = fixture('4.18');
    g.m.memory.writeU32(desc(g) + 4n, RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT);
    expect(attempt(g, 2, 'signal').status).toBe(OP_ABORTED);
    // NO_RESTART_ON_SIGNAL without the other two is fatal on 4.18.
    const h = fixture('4.18');
    h.m.memory.writeU32(desc(h) + 4n, RSEQ_CS_FLAG_NO_RESTART_ON_SIGNAL);
    expect(() => attempt(h, 2)).toThrow(/NO_RESTART_ON_SIGNAL/);
    // Flags in struct rseq count too (4.18 and 6.0+).
    for (const [kernel, debug, outcome] of [
      ['6.0', false, 'kill'],
      ['6.3', false, 'kill'],
      ['6.19', false, 'abort'],
      ['7.0', false, 'abort'],
      ['6.19', true, 'kill'],
    ] as const) {
      const x = fixture(kernel, { rseqDebug: debug });
      x.m.memory.writeU32(desc(x) + 4n, RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT);
      if (outcome === 'kill') expect(() => attempt(x, 2), kernel).toThrow(FatalSignalError);
      else expect(attempt(x, 2).status, kernel).toBe(OP_ABORTED);
    }
    const y = fixture('6.0');
    y.m.memory.writeU32(y.area + BigInt(RSEQ_FIELD.flags), RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT);
    expect(() => attempt(y, 2)).toThrow(/struct rseq flags/);
    // Outside a section the flags are not looked at.
    const z = fixture('6.0');
    z.m.memory.writeU32(desc(z) + 4n, RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT);
    expect(attempt(z, 'after-commit').status).toBe(OP_COMMITTED);
    expect(z.m.fatal).toBeNull();
  });

  it('7.0 optimised (v2) registration: an ID field written by user space is fatal at the next ID update; legacy (len 32) is not', () => {
    const v2 = fixture('7.0', { libc: 'glibc-2.41' });
    expect(v2.t.registration).toMatchObject({ len: 33, mode: 'v2' });
    v2.m.memory.writeU32(v2.area + BigInt(RSEQ_FIELD.cpuIdStart), 3);
    setWords(v2, { 2: 40 });
    expect(() =>
      run(v2, CASES.add, CASES.add.args(1), (b) => {
        if (b.steps !== 3) return null;
        v2.m.migrate(v2.t, 2);
        return 'preempt';
      }),
    ).toThrow(/read-only rseq field \(7.0 optimised v2 mode\)/);

    const legacy = fixture('7.0', { libc: 'glibc-2.35' });
    expect(legacy.t.registration).toMatchObject({ len: 32, mode: 'legacy' });
    legacy.m.memory.writeU32(legacy.area + BigInt(RSEQ_FIELD.cpuIdStart), 3);
    setWords(legacy, { 2: 40 });
    const r = run(legacy, CASES.add, CASES.add.args(1), (b) => {
      if (b.steps !== 3) return null;
      legacy.m.migrate(legacy.t, 2);
      return 'preempt';
    });
    expect(r.status).toBe(OP_ABORTED);
    expect(legacy.m.readArea(legacy.area)).toMatchObject({ cpuIdStart: 2, cpuId: 2 });
  });

  it('rseq_cs pointing into the kernel half is fatal at the next event', () => {
    for (const kernel of KERNELS) {
      const f = fixture(kernel);
      f.m.memory.writeU64(f.area + BigInt(RSEQ_FIELD.rseqCs), 0xffff_ffff_ffff_0000n);
      f.m.preempt(f.t);
      const res = f.m.returnToUser(f.t, 'preempt');
      expect(res.signal, kernel).toBe('SIGSEGV');
      expect(res.reason, kernel).toMatch(/not a user-space address/);
    }
  });

  it('a plain system call return does not abort on 6.19+ (no interrupt from user space)', () => {
    const f = fixture('6.19');
    setWords(f, { 2: 40 });
    const r = run(f, CASES.add, CASES.add.args(1), (b) => (b.steps === 2 ? 'syscall' : null));
    expect(r.status).toBe(OP_COMMITTED);
  });
});
