/**
 * The simulator backend's per-CPU critical sections on real memory: the
 * same results as the kernel model for the same arguments, argument checks,
 * ids, the abort policy and counts, fence, and real worker_threads sharing
 * a BigInt64Array (the compiled package: run `npm run build:ts` first).
 */
import fc from 'fast-check';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { OP_ABORTED, OP_BAD_INDEX, OP_COMMITTED, OP_COMPARE_FAILED, OP_MOVED, type IndexMode, type OpCounts } from '../../src/contract/backend.js';
import { RseqError } from '../../src/contract/errors.js';
import type { SectionArgs } from '../../src/contract/sections.js';
import {
  createSimulatorBackend,
  Machine,
  processSectionLocks,
  runSection,
  simulatedMemory,
  type SectionFields,
  type SectionName,
  type SimulatorBackend,
} from '../../fallback/index.js';
import { abortRateFromEnv } from '../../fallback/backend.js';
import { BACKEND_ENTRY, HOST_WORKER, requireFreshBuild } from './helpers/dist.js';

const WORDS = 12;
const BYTES = 24;

function backend(opts: Parameters<typeof createSimulatorBackend>[0] = {}): SimulatorBackend {
  return createSimulatorBackend({ kernel: '6.19', cpus: 4, shareMmCid: false, abortRate: 0, ...opts });
}

/** The same operation on the kernel model: simulated memory initialised from the arrays. */
function onModel<N extends SectionName>(name: N, args: SectionFields[N], words: BigInt64Array, dst: Uint8Array, src: Uint8Array, cpu: number): { value: number; words: BigInt64Array; dst: Uint8Array } {
  const m = new Machine({ kernel: '6.19', cpus: 4 });
  const t = m.createThread({ cpu });
  m.libcStart(t);
  m.returnToUser(t, 'syscall');
  const w = m.memory.map(words.length * 8, 64);
  words.forEach((v, i) => m.memory.writeU64(w + 8n * BigInt(i), v));
  const d = m.memory.map(dst.length, 64);
  dst.forEach((v, i) => m.memory.writeU8(d + BigInt(i), v));
  const s = m.memory.map(src.length, 64);
  src.forEach((v, i) => m.memory.writeU8(s + BigInt(i), v));
  const mem = simulatedMemory(m.memory, t.registration!.addr, {
    words: { addr: w, length: words.length },
    dst: { addr: d, length: dst.length },
    src: { addr: s, length: src.length },
  });
  const r = runSection(m, t, name, args, mem);
  return {
    value: r.value,
    words: BigInt64Array.from({ length: words.length }, (_, i) => BigInt.asIntN(64, m.memory.readU64(w + 8n * BigInt(i)))),
    dst: m.memory.readBytes(d, dst.length),
  };
}

function onHost<N extends SectionName>(b: SimulatorBackend, name: N, args: SectionFields[N], words: BigInt64Array, dst: Uint8Array, src: Uint8Array): number {
  const operands = name === 'copyCommit' ? { words, dst, src } : { words };
  return b.section(name, { ...args, ...operands } as unknown as SectionArgs[N]);
}

describe('host sections compute what the kernel model computes', () => {
  it('for random operations, arguments and memory (one program, two adapters)', () => {
    const b = backend();
    const cpu = b.schedGetcpu();
    const small = fc.integer({ min: -3, max: 8 });
    const idx = fc.integer({ min: 0, max: WORDS - 1 });
    const id = fc.oneof(fc.constant(cpu), fc.integer({ min: 0, max: 4 }));
    const anyOp = fc.oneof(
      fc.record({ name: fc.constant('add' as const), args: fc.record({ id, index: idx, count: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }) }) }),
      fc.record({ name: fc.constant('storeIfEqual' as const), args: fc.record({ id, index: idx, expect: small, newv: small }) }),
      fc.record({ name: fc.constant('doubleCompareStore' as const), args: fc.record({ id, index: idx, expect: small, index2: idx, expect2: small, newv: small }) }),
      fc.record({
        name: fc.constant('speculativeStoreCommit' as const),
        args: fc.record({ id, index: idx, expect: small, index2: idx, newv2: small, newv: small, release: fc.boolean() }),
      }),
      fc.record({
        name: fc.constant('copyCommit' as const),
        args: fc
          .record({ id, index: idx, expect: small, dstOffset: fc.nat(BYTES), srcOffset: fc.nat(BYTES), length: fc.nat(BYTES), newv: small, release: fc.boolean() })
          .filter((a) => a.dstOffset + a.length <= BYTES && a.srcOffset + a.length <= BYTES),
      }),
      fc.record({
        name: fc.constant('listPop' as const),
        args: fc
          .record({ id, head: idx, next: fc.nat(WORDS), count: fc.nat(WORDS), empty: small })
          .filter((a) => a.next + a.count <= WORDS),
      }),
    );
    fc.assert(
      fc.property(anyOp, fc.array(small, { minLength: WORDS, maxLength: WORDS }), fc.uint8Array({ minLength: 2 * BYTES, maxLength: 2 * BYTES }), (op, init, bytes) => {
        const args = { mode: 'cpu' as IndexMode, ...op.args } as SectionFields[SectionName];
        const words = BigInt64Array.from(init.map(BigInt));
        const dst = bytes.slice(0, BYTES);
        const src = bytes.slice(BYTES);
        const model = onModel(op.name, args, words, dst, src, cpu);
        const value = onHost(b, op.name, args, words, dst, src);
        expect(value).toBe(model.value);
        expect(words).toEqual(model.words);
        expect(dst).toEqual(model.dst);
      }),
      { numRuns: 300 },
    );
  });

  it('statuses: committed, compare failed, moved, bad index, and listPop\'s index', () => {
    const b = backend();
    const id = b.currentId('cpu');
    const w = new BigInt64Array(8);
    expect(b.section('add', { mode: 'cpu', id, words: w, index: 1, count: 5 })).toBe(OP_COMMITTED);
    expect(b.section('add', { mode: 'cpu', id: (id + 1) % 4, words: w, index: 1, count: 5 })).toBe(OP_MOVED);
    expect(b.section('storeIfEqual', { mode: 'cpu', id, words: w, index: 1, expect: 4, newv: 9 })).toBe(OP_COMPARE_FAILED);
    expect(b.section('storeIfEqual', { mode: 'cpu', id, words: w, index: 1, expect: 5, newv: 9 })).toBe(OP_COMMITTED);
    expect(w[1]).toBe(9n);
    // head word 0 -> 2 -> empty (-1); next[] at 3..
    w.set([2n, 9n, 0n, 0n, 0n, -1n, 0n, 0n]);
    expect(b.section('listPop', { mode: 'cpu', id, words: w, head: 0, next: 3, count: 4, empty: -1 })).toBe(2);
    expect(w[0]).toBe(-1n);
    expect(b.section('listPop', { mode: 'cpu', id, words: w, head: 0, next: 3, count: 4, empty: -1 })).toBe(-OP_COMPARE_FAILED);
    w[0] = 7n;
    expect(b.section('listPop', { mode: 'cpu', id, words: w, head: 0, next: 3, count: 4, empty: -1 })).toBe(-OP_BAD_INDEX);
    expect(b.section('listPop', { mode: 'cpu', id: id + 1, words: w, head: 0, next: 3, count: 4, empty: -1 })).toBe(-OP_MOVED);
    expect(b.opCounts()).toEqual({ attempts: 8, aborts: 0, moved: 2 });
  });

  it('works on memory that is not shared too, and a Buffer is a Uint8Array', () => {
    const b = backend();
    const id = b.currentId('cpu');
    const w = new BigInt64Array(new ArrayBuffer(32));
    const dst = Buffer.alloc(4);
    expect(b.section('copyCommit', { mode: 'cpu', id, words: w, index: 0, expect: 0, dst, dstOffset: 0, src: Buffer.from([1, 2, 3, 4]), srcOffset: 0, length: 4, newv: 1, release: true })).toBe(OP_COMMITTED);
    expect([...dst]).toEqual([1, 2, 3, 4]);
    expect(w[0]).toBe(1n);
  });
});

describe('argument checks', () => {
  it('throw TypeError or RangeError and write nothing', () => {
    const b = backend();
    const id = b.currentId('cpu');
    const w = new BigInt64Array(4);
    const bytes = new Uint8Array(8);
    const cases: Array<[() => unknown, ErrorConstructor]> = [
      [() => b.section('add', { mode: 'cpu', id, words: new Float64Array(4) as unknown as BigInt64Array, index: 0, count: 1 }), TypeError],
      [() => b.section('add', { mode: 'node' as IndexMode, id, words: w, index: 0, count: 1 }), RangeError],
      [() => b.section('add', { mode: 1 as unknown as IndexMode, id, words: w, index: 0, count: 1 }), TypeError],
      [() => b.section('add', { mode: 'cpu', id: -1, words: w, index: 0, count: 1 }), RangeError],
      [() => b.section('add', { mode: 'cpu', id: '0' as unknown as number, words: w, index: 0, count: 1 }), TypeError],
      [() => b.section('add', { mode: 'cpu', id, words: w, index: 4, count: 1 }), RangeError],
      [() => b.section('add', { mode: 'cpu', id, words: w, index: -1, count: 1 }), RangeError],
      [() => b.section('add', { mode: 'cpu', id, words: w, index: 1.5, count: 1 }), RangeError],
      [() => b.section('add', { mode: 'cpu', id, words: w, index: 0, count: 2 ** 53 }), RangeError],
      [() => b.section('add', { mode: 'cpu', id, words: w, index: 0, count: 1n as unknown as number }), TypeError],
      [() => b.section('doubleCompareStore', { mode: 'cpu', id, words: w, index: 0, expect: 0, index2: 9, expect2: 0, newv: 1 }), RangeError],
      [() => b.section('speculativeStoreCommit', { mode: 'cpu', id, words: w, index: 0, expect: 0, index2: 4, newv2: 1, newv: 1, release: true }), RangeError],
      [() => b.section('speculativeStoreCommit', { mode: 'cpu', id, words: w, index: 0, expect: 0, index2: 1, newv2: 1, newv: 1, release: 1 as unknown as boolean }), TypeError],
      [() => b.section('copyCommit', { mode: 'cpu', id, words: w, index: 0, expect: 0, dst: bytes, dstOffset: 4, src: bytes, srcOffset: 0, length: 5, newv: 1, release: false }), RangeError],
      [() => b.section('copyCommit', { mode: 'cpu', id, words: w, index: 0, expect: 0, dst: bytes, dstOffset: 0, src: bytes, srcOffset: 7, length: 2, newv: 1, release: false }), RangeError],
      [() => b.section('copyCommit', { mode: 'cpu', id, words: w, index: 0, expect: 0, dst: [] as unknown as Uint8Array, dstOffset: 0, src: bytes, srcOffset: 0, length: 0, newv: 1, release: false }), TypeError],
      [() => b.section('listPop', { mode: 'cpu', id, words: w, head: 0, next: 2, count: 3, empty: -1 }), RangeError],
      [() => b.section('listPop', { mode: 'cpu', id, words: w, head: 4, next: 0, count: 1, empty: -1 }), RangeError],
      [() => b.fence(0.5), RangeError],
      [() => b.fence('0' as unknown as number), TypeError],
    ];
    for (const [call, type] of cases) expect(call).toThrow(type);
    expect([...w]).toEqual([0n, 0n, 0n, 0n]);
    expect([...bytes]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(b.opCounts().attempts).toBe(0);
  });
});

describe('ids, counts, abort policy, fence', () => {
  it('currentId is the area\'s cpu_id or mm_cid; without mm_cid it is ERR_RSEQ_FIELD_UNAVAILABLE', () => {
    const b = backend();
    expect(b.currentId('cpu')).toBe(b.readField('cpuId'));
    expect(b.currentId('mmcid')).toBe(b.readField('mmCid'));
    expect(b.possibleCpus()).toEqual([0, 1, 2, 3]);
    const old = backend({ kernel: '4.18' });
    let err: unknown;
    try {
      old.currentId('mmcid');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RseqError);
    expect(err).toMatchObject({ code: 'ERR_RSEQ_FIELD_UNAVAILABLE' });
    expect(() => old.section('add', { mode: 'mmcid', id: 0, words: new BigInt64Array(1), index: 0, count: 1 })).toThrow(RseqError);
  });

  it('setAffinity changes the id: the old one is OP_MOVED', () => {
    const b = backend();
    const w = new BigInt64Array(4);
    const before = b.currentId('cpu');
    const other = (before + 1) % 4;
    expect(b.setAffinity([other])).toBeNull();
    expect(b.section('add', { mode: 'cpu', id: before, words: w, index: before, count: 1 })).toBe(OP_MOVED);
    expect(b.currentId('cpu')).toBe(other);
    expect(b.section('add', { mode: 'cpu', id: other, words: w, index: other, count: 1 })).toBe(OP_COMMITTED);
    expect(b.opCounts()).toEqual({ attempts: 2, aborts: 0, moved: 1 });
  });

  it('RSEQ_SIM_ABORT_RATE=N aborts every N-th attempt, at rotating boundaries, and never loses an add', () => {
    expect(abortRateFromEnv('7')).toBe(7);
    expect(abortRateFromEnv(' 12 ')).toBe(12);
    expect(abortRateFromEnv('x')).toBe(0);
    expect(abortRateFromEnv('')).toBe(0);
    expect(abortRateFromEnv('-3')).toBe(0);
    const b = backend({ abortRate: 3 });
    const w = new BigInt64Array(4);
    const statuses: number[] = [];
    let done = 0;
    while (done < 10) {
      const id = b.currentId('cpu');
      const s = b.section('add', { mode: 'cpu', id, words: w, index: id, count: 1 });
      statuses.push(s);
      if (s === OP_COMMITTED) done++;
    }
    expect(w[b.currentId('cpu')]).toBe(10n);
    expect(statuses.slice(0, 6)).toEqual([OP_COMMITTED, OP_COMMITTED, OP_ABORTED, OP_COMMITTED, OP_COMMITTED, OP_ABORTED]);
    expect(b.opCounts()).toEqual({ attempts: statuses.length, aborts: statuses.filter((s) => s === OP_ABORTED).length, moved: 0 });
    // An abort leaves only the documented speculative effects: copyCommit's copy.
    const c = backend({ abortRate: 1 });
    const id = c.currentId('cpu');
    const words = new BigInt64Array([5n]);
    const dst = new Uint8Array(4);
    expect(c.section('copyCommit', { mode: 'cpu', id, words, index: 0, expect: 5, dst, dstOffset: 0, src: Uint8Array.from([9, 9, 9, 9]), srcOffset: 0, length: 4, newv: 6, release: true })).toBe(OP_ABORTED);
    expect(words[0]).toBe(5n);
    expect(c.readField('cpuId')).toBe(id);
    expect(c.opCounts()).toEqual({ attempts: 1, aborts: 1, moved: 0 });
  });

  it('fence: EINVAL before 5.10, otherwise registers once and returns; in-flight sections cannot outlive it', () => {
    expect(backend({ kernel: '4.18' }).fence(-1)).toEqual({ errno: 'EINVAL', code: 22 });
    const b = backend();
    expect(b.fence(-1)).toBeNull();
    expect(b.fence(2)).toBeNull();
    expect(b.fence(999)).toBeNull(); // an offline CPU: nothing to do, as the kernel answers
    const locks = processSectionLocks(4, false);
    const g = locks.generation(1);
    locks.fence(1, 12345);
    expect(locks.generation(1)).toBe(g + 1);
    expect(locks.generation(0)).toBe(0);
    locks.fence(-1, 12345);
    expect([0, 1, 2, 3].map((c) => locks.generation(c))).toEqual([1, g + 2, 1, 1]);
    locks.acquire('cpu', 2, 7);
    expect(locks.holds('cpu', 2, 7)).toBe(true);
    expect(locks.holds('cpu', 2, 8)).toBe(false);
    locks.release('cpu', 2, 7);
    expect(locks.holds('cpu', 2, 7)).toBe(false);
  });
});

interface WorkerReport {
  committed: number;
  cpu: number;
  id: number;
  counts: OpCounts;
}

async function runWorkers(n: number, data: Record<string, unknown>, env: Record<string, string>, during?: (done: () => boolean) => Promise<void>): Promise<WorkerReport[]> {
  requireFreshBuild();
  let finished = 0;
  const reports = Array.from({ length: n }, () => {
    const w = new Worker(HOST_WORKER, { workerData: { ...data, backendEntry: BACKEND_ENTRY }, env: { ...process.env, ...env } });
    return new Promise<WorkerReport>((resolve, reject) => {
      w.once('message', (m: WorkerReport) => {
        finished++;
        resolve(m);
      });
      w.once('error', reject);
      w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
    });
  });
  await during?.(() => finished === n);
  return Promise.all(reports);
}

describe('real worker_threads on one shared BigInt64Array', () => {
  for (const mode of ['cpu', 'mmcid'] as const) {
    it(`4 workers x 2000 adds (mode ${mode}, 2 simulated CPUs, RSEQ_SIM_ABORT_RATE=5): the counter is exact and aborts happened`, async () => {
      const cpus = 2;
      // This thread creates the shared locks and mm_cid pool before the workers start, so they inherit them.
      createSimulatorBackend({ cpus });
      const buffer = new SharedArrayBuffer(8 * cpus);
      const reports = await runWorkers(4, { kind: 'counter', reps: 2000, cpus, mode, buffer }, { RSEQ_SIM_ABORT_RATE: '5' });
      const words = new BigInt64Array(buffer);
      expect(words.reduce((a, b) => a + b, 0n)).toBe(8000n);
      const sum = (f: (c: OpCounts) => number): number => reports.reduce((s, r) => s + f(r.counts), 0);
      expect(reports.every((r) => r.committed === 2000)).toBe(true);
      expect(sum((c) => c.aborts)).toBeGreaterThan(0);
      expect(sum((c) => c.aborts)).toBeGreaterThanOrEqual(Math.floor(8000 / 5) - 4);
      expect(sum((c) => c.attempts)).toBe(8000 + sum((c) => c.aborts) + sum((c) => c.moved));
      if (mode === 'cpu') {
        // Workers really shared CPUs: 4 threads on 2 simulated CPUs.
        expect(new Set(reports.map((r) => r.cpu)).size).toBeLessThanOrEqual(2);
        for (const r of reports) expect(words[r.cpu]).toBeGreaterThanOrEqual(2000n);
      }
    });
  }

  it('a fence from this thread: once it returns, the bank swapped out never changes', async () => {
    const cpus = 2;
    createSimulatorBackend({ cpus });
    const b = createSimulatorBackend({ cpus });
    const slots = cpus;
    const buffer = new SharedArrayBuffer((8 + 2 * slots) * 8);
    const words = new BigInt64Array(buffer);
    const bankSum = (bank: number): bigint => {
      let s = 0n;
      for (let id = 0; id < slots; id++) s += Atomics.load(words, 8 + bank * slots + id);
      return s;
    };
    let swaps = 0;
    let changed = 0;
    const reports = await runWorkers(3, { kind: 'swap', reps: 4000, cpus, mode: 'cpu', buffer, slots }, {}, async (done) => {
      while (!done()) {
        const old = Number(Atomics.load(words, 0));
        Atomics.store(words, 0, BigInt(1 - old));
        expect(b.fence(-1)).toBeNull();
        const frozen = bankSum(old);
        await new Promise((r) => setTimeout(r, 1));
        if (bankSum(old) !== frozen) changed++;
        swaps++;
      }
    });
    expect(swaps).toBeGreaterThan(0);
    expect(changed).toBe(0);
    expect(bankSum(0) + bankSum(1)).toBe(BigInt(3 * 4000));
    expect(reports.reduce((s, r) => s + r.committed, 0)).toBe(3 * 4000);
  });
});
