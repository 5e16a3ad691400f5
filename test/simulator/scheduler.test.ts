/**
 * The seeded scheduler: determinism (same seed, same trace), exact replay of
 * a recorded trace, and property tests over random programs and events: a
 * per-CPU counter, a list-based index pool and a record buffer with a
 * fencing drainer keep their invariants on every kernel profile, in both id
 * modes, with preemption, migration, signals, blocking and thread exits
 * anywhere.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OP_BAD_INDEX, OP_COMMITTED, type IndexMode } from '../../src/contract/backend.js';
import { Simulation, type SimArray, type SimulationOptions, type ThreadApi, type UserProgram, type Yielded } from '../../fallback/index.js';

const EMPTY = -1;
/** A drainer's mark on a record count: sections compare whole words, so none commits over it. */
const LOCKED = 2 ** 40;

// ---------------------------------------------------------------------------
// Programs

/** `reps` adds of 1 to the slot of the thread's id, each retried until it commits. */
function counterProgram(mode: IndexMode, words: SimArray, reps: number): UserProgram {
  return function* (api: ThreadApi): Generator<Yielded, void, void> {
    for (let i = 0; i < reps; ) {
      const id = yield* api.currentId(mode);
      if ((yield* api.add(mode, id, words, id, 1)) === OP_COMMITTED) i++;
    }
  };
}

interface Counter {
  sim: Simulation;
  words: SimArray;
}

function counterSetup(opts: SimulationOptions, mode: IndexMode, threads: number, reps: number): Counter {
  const sim = new Simulation(opts);
  const words = sim.words(sim.machine.nrCpus);
  for (let i = 0; i < threads; i++) sim.spawn(counterProgram(mode, words, reps), { cpu: i % sim.machine.nrCpus });
  return { sim, words };
}

/**
 * Index pool: per-id free lists (heads at words[0..slots), next[] after
 * them). A thread pops from its id's list (list pop), holds up to 2 indices
 * and pushes them back on its current id's list (speculative next store,
 * then head commit). `own` tracks each thread's indices at the commit store.
 */
function poolProgram(mode: IndexMode, words: SimArray, slots: number, size: number, reps: number, own: Set<number>): UserProgram {
  return function* (api) {
    const held: number[] = [];
    const give = function* (g: number): Generator<Yielded, void, void> {
      for (;;) {
        const id = yield* api.currentId(mode);
        const h = Number(yield* api.load(words, id));
        const st = yield* api.speculativeStoreCommit(mode, id, words, id, h, slots + g, h, g, true, { onCommit: () => own.delete(g) });
        if (st === OP_COMMITTED) return;
      }
    };
    for (let i = 0; i < reps; i++) {
      const id = yield* api.currentId(mode);
      const r = yield* api.listPop(mode, id, words, id, slots, size, EMPTY, { onCommit: (v) => own.add(v) });
      if (r === -OP_BAD_INDEX) throw new Error(`list ${id} is corrupt`);
      if (r >= 0) held.push(r);
      if (held.length > 2 || (r < 0 && held.length > 0)) yield* give(held.shift() as number);
    }
    while (held.length > 0) yield* give(held.shift() as number);
  };
}

/** Every index of every list, walking next[] (a cycle or a stray value fails). */
function listed(sim: Simulation, words: SimArray, slots: number, size: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < slots; s++) {
    let r = Number(sim.word(words, s));
    let n = 0;
    while (r !== EMPTY) {
      if (!(r >= 0 && r < size) || n++ > size) throw new Error(`list ${s} is corrupt at ${r}`);
      out.push(r);
      r = Number(sim.word(words, slots + r));
    }
  }
  return out;
}

const REC = 8;
const key = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, 8).getUint32(0, true) * 1_000_000 + new DataView(b.buffer, b.byteOffset, 8).getUint32(4, true);

/**
 * Record buffer: per-id stacks of 8-byte records (counts at words[0..slots),
 * records in `store`). Push copies the record into the next free record and
 * commits count + 1 (copy then commit); pop copies the top record out and
 * commits count - 1. A count at or above LOCKED belongs to a drainer.
 */
function bufferProgram(mode: IndexMode, words: SimArray, store: SimArray, cap: number, records: Uint8Array[], own: Set<number>): UserProgram {
  return function* (api) {
    const src = api.sim.bytes(REC);
    const dst = api.sim.bytes(REC);
    for (let i = 0; i < records.length; i++) {
      const rec = records[i] as Uint8Array;
      yield* api.writeBytes(src, 0, rec);
      for (let tries = 0; tries < 40; tries++) {
        const id = yield* api.currentId(mode);
        const off = Number(yield* api.load(words, id));
        if (off >= cap) continue; // full, or a drainer holds it
        const st = yield* api.copyCommit(mode, id, words, id, off, store, (id * cap + off) * REC, src, 0, REC, off + 1, true, { onCommit: () => own.delete(key(rec)) });
        if (st === OP_COMMITTED) break;
      }
      if (i % 2 === 1) {
        for (let tries = 0; tries < 40; tries++) {
          const id = yield* api.currentId(mode);
          const off = Number(yield* api.load(words, id));
          if (off === 0 || off >= LOCKED) break;
          const st = yield* api.copyCommit(mode, id, words, id, off, dst, 0, store, (id * cap + off - 1) * REC, REC, off - 1, false, {
            onCommit: () => own.add(key(api.sim.readBytes(dst))),
          });
          if (st === OP_COMMITTED) break;
        }
      }
    }
  };
}

/**
 * A drainer: locks a stack's count with a compare-and-exchange to
 * LOCKED + n, fences the CPU (or every CPU in mm_cid mode) so that no
 * section that read n can still commit, then takes the n records and
 * unlocks with 0 in one compare-and-exchange.
 */
function drainerProgram(mode: IndexMode, words: SimArray, store: SimArray, cap: number, slots: number, rounds: number, own: Set<number>): UserProgram {
  return function* (api) {
    for (let round = 0; round < rounds; round++) {
      for (let s = 0; s < slots; s++) {
        const n = Number(yield* api.load(words, s));
        if (n === 0 || n >= LOCKED) continue;
        if ((yield* api.compareExchange(words, s, BigInt(n), BigInt(n + LOCKED))) !== BigInt(n)) continue;
        const f = yield* api.fence(mode === 'cpu' ? s : -1);
        if (f.errno !== null) throw new Error(`membarrier: ${f.errno}`);
        if (Number(yield* api.load(words, s)) !== n + LOCKED) continue; // a section committed before the fence: its count stands
        const bytes = yield* api.readBytes(store, s * cap * REC, n * REC);
        yield* api.compareExchange(words, s, BigInt(n + LOCKED), 0n, () => {
          for (let k = 0; k < n; k++) own.add(key(bytes.subarray(k * REC, (k + 1) * REC)));
        });
      }
    }
  };
}

/** Records stored in the stacks (a count held by a dead drainer still counts its records). */
function stored(sim: Simulation, words: SimArray, store: SimArray, cap: number, slots: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < slots; s++) {
    let n = Number(sim.word(words, s));
    if (n >= LOCKED) n -= LOCKED;
    expect(n).toBeLessThanOrEqual(cap);
    for (let k = 0; k < n; k++) out.push(key(sim.readBytes(store, (s * cap + k) * REC, REC)));
  }
  return out;
}

// ---------------------------------------------------------------------------

const KERNELS = ['4.18', '6.3', '6.19', '7.0'] as const;

describe('determinism', () => {
  const opts = (seed: number): SimulationOptions => ({ seed, kernel: '6.19', cpus: 3, eventRate: 0.2, weights: { exit: 0 } });

  it('the same seed gives the same trace, log and memory; another seed another trace', () => {
    const a = counterSetup(opts(42), 'cpu', 5, 20);
    const b = counterSetup(opts(42), 'cpu', 5, 20);
    const ra = a.sim.run();
    const rb = b.sim.run();
    expect(ra.finished).toBe(true);
    expect(rb.events).toEqual(ra.events);
    expect(rb.log).toEqual(ra.log);
    expect(b.sim.readWords(b.words)).toEqual(a.sim.readWords(a.words));
    expect(ra.log.some((l) => /aborted at/.test(l))).toBe(true);
    expect(new Set(ra.events.map((e) => e.kind))).toEqual(new Set(['step', 'preempt', 'yield', 'migrate', 'signal', 'block', 'wake']));
    const c = counterSetup(opts(43), 'cpu', 5, 20);
    expect(c.sim.run().events).not.toEqual(ra.events);
  });

  it('a recorded trace replays exactly, whatever the replaying simulation\'s seed', () => {
    const a = counterSetup({ ...opts(7), weights: { exit: 1, block: 2 } }, 'mmcid', 4, 15);
    const ra = a.sim.run();
    expect(ra.events.some((e) => e.kind === 'exit')).toBe(true);
    const b = counterSetup({ ...opts(999), machineSeed: 7, replay: ra.events }, 'mmcid', 4, 15);
    const rb = b.sim.run();
    expect(rb.events).toEqual(ra.events);
    expect(rb.log).toEqual(ra.log);
    expect(rb.finished).toBe(ra.finished);
    expect(b.sim.readWords(b.words)).toEqual(a.sim.readWords(a.words));
    // A trace that does not fit the state is refused, not bent.
    const c = counterSetup({ ...opts(7), replay: [{ kind: 'exit', tid: 4242 }] }, 'mmcid', 4, 15);
    expect(() => c.sim.run()).toThrow(RangeError);
  });
});

describe('invariants over random programs and events', () => {
  const common = fc.record({
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    kernel: fc.constantFrom(...KERNELS),
    mode: fc.constantFrom<IndexMode>('cpu', 'mmcid'),
    cpus: fc.integer({ min: 1, max: 4 }),
    threads: fc.integer({ min: 1, max: 6 }),
    reps: fc.integer({ min: 1, max: 12 }),
    eventRate: fc.double({ min: 0, max: 0.25, noNaN: true }),
    exits: fc.boolean(),
  });
  const simOpts = (p: { seed: number; kernel: string; cpus: number; eventRate: number; exits: boolean }): SimulationOptions => ({
    seed: p.seed,
    kernel: p.kernel,
    cpus: p.cpus,
    eventRate: p.eventRate,
    weights: { exit: p.exits ? 1 : 0 },
    maxEvents: 400_000,
  });
  const modeFor = (kernel: string, mode: IndexMode): IndexMode => (kernel === '4.18' ? 'cpu' : mode); // no mm_cid before 6.3

  it('per-CPU counter: the sum is exactly the commits (all adds when no thread exits)', () => {
    fc.assert(
      fc.property(common, (p) => {
        const mode = modeFor(p.kernel, p.mode);
        const { sim, words } = counterSetup(simOpts(p), mode, p.threads, p.reps);
        const r = sim.run();
        expect(r.fatal).toBeNull();
        expect(r.finished).toBe(true);
        const sum = sim.readWords(words).reduce((a, b) => a + b, 0n);
        const commits = sim.allTasks().reduce((a, t) => a + t.counts.commits, 0);
        expect(sum).toBe(BigInt(commits));
        if (!sim.allTasks().some((t) => t.state === 'exited')) expect(commits).toBe(p.threads * p.reps);
        for (const t of sim.allTasks()) expect(t.counts.attempts).toBeGreaterThanOrEqual(t.counts.commits + t.counts.aborts + t.counts.moved);
      }),
      { numRuns: 80 },
    );
  });

  it('index pool: no index lost or duplicated (lists plus what each thread holds, dead ones included)', () => {
    fc.assert(
      fc.property(common, fc.integer({ min: 1, max: 12 }), (p, size) => {
        const mode = modeFor(p.kernel, p.mode);
        const sim = new Simulation(simOpts(p));
        const slots = sim.machine.nrCpus;
        const words = sim.words(slots + size, () => EMPTY);
        // Deal the indices over the lists.
        for (let i = size - 1; i >= 0; i--) {
          const s = i % slots;
          sim.setWord(words, slots + i, sim.word(words, s));
          sim.setWord(words, s, i);
        }
        const owns: Array<Set<number>> = [];
        for (let i = 0; i < p.threads; i++) {
          const own = new Set<number>();
          owns.push(own);
          sim.spawn(poolProgram(mode, words, slots, size, p.reps, own), { cpu: i % slots });
        }
        const r = sim.run();
        expect(r.fatal).toBeNull();
        expect(r.finished).toBe(true);
        const all = [...listed(sim, words, slots, size), ...owns.flatMap((o) => [...o])].sort((a, b) => a - b);
        expect(all).toEqual(Array.from({ length: size }, (_, i) => i));
        if (!sim.allTasks().some((t) => t.state === 'exited')) for (const o of owns) expect(o.size).toBe(0);
      }),
      { numRuns: 80 },
    );
  });

  it('record buffer with a fencing drainer: no record lost or duplicated', () => {
    fc.assert(
      fc.property(common, fc.integer({ min: 1, max: 4 }), fc.boolean(), (p, cap, drainer) => {
        const mode = modeFor(p.kernel, p.mode);
        const kernel = drainer && p.kernel === '4.18' ? '6.3' : p.kernel; // membarrier RSEQ needs 5.10
        const sim = new Simulation(simOpts({ ...p, kernel }));
        const slots = sim.machine.nrCpus;
        const words = sim.words(slots);
        const store = sim.bytes(slots * cap * REC);
        const owns: Array<Set<number>> = [];
        const every: number[] = [];
        for (let i = 0; i < p.threads; i++) {
          const records = Array.from({ length: p.reps }, (_, k) => {
            const b = new Uint8Array(REC);
            new DataView(b.buffer).setUint32(0, i + 1, true);
            new DataView(b.buffer).setUint32(4, k, true);
            return b;
          });
          const own = new Set(records.map(key));
          every.push(...own);
          owns.push(own);
          sim.spawn(bufferProgram(mode, words, store, cap, records, own), { cpu: i % slots });
        }
        if (drainer) {
          const own = new Set<number>();
          owns.push(own);
          sim.spawn(drainerProgram(mode, words, store, cap, slots, 3, own));
        }
        const r = sim.run();
        expect(r.fatal).toBeNull();
        expect(r.finished).toBe(true);
        const all = [...stored(sim, words, store, cap, slots), ...owns.flatMap((o) => [...o])].sort((a, b) => a - b);
        expect(all).toEqual([...every].sort((a, b) => a - b));
      }),
      { numRuns: 80 },
    );
  });
});
