/**
 * What a per-CPU structure refuses, on both backends: headers that do not fit
 * their buffer (from() and the backend's own bind check), pool indices given
 * twice or never taken, counts past the signed 64-bit range, and the lane
 * path's exactness across handles, reset and threads that are gone.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PerCpuBuffer, PerCpuCounter, PerCpuPool, RseqError, rseq } from '../../src/index.js';
import { backend } from '../../src/thread.js';
import { DIST_ENTRY, ROOT, expectedBackend, project, skipShared } from '../helpers/env.js';

/** A copy of `buffer` with 64-bit word `word` set to `value`. */
function patched(buffer: SharedArrayBuffer, word: number, value: bigint): SharedArrayBuffer {
  const b = new SharedArrayBuffer(buffer.byteLength);
  new Uint8Array(b).set(new Uint8Array(buffer));
  new BigInt64Array(b)[word] = value;
  return b;
}

describe.skipIf(skipShared)(`hardening on the ${project} backend`, () => {
  let allowed: number[];
  beforeAll(() => {
    allowed = rseq.getAffinity();
  });
  afterEach(() => rseq.setAffinity(allowed));

  describe('headers', () => {
    it('from() refuses a stride of 0, a bad mode word, an oversized record or count, and a short buffer', () => {
      const pool = new PerCpuPool({ size: 8 });
      expect(() => PerCpuPool.from(patched(pool.buffer, 4, 0n))).toThrow(/word 4 \(stride\) is 0/);
      expect(() => PerCpuPool.from(patched(pool.buffer, 2, 7n))).toThrow(/word 2 \(mode\) is 7/);
      expect(() => PerCpuPool.from(patched(pool.buffer, 5, 2n ** 52n))).toThrow(/word 5 \(size\)/);
      expect(() => PerCpuPool.from(patched(pool.buffer, 3, 0n))).toThrow(/word 3 \(slots\) is 0/);
      const buf = new PerCpuBuffer({ recordSize: 16, capacity: 4 });
      // A record size of 256 MiB: refused before anything is allocated for it.
      expect(() => PerCpuBuffer.from(patched(buf.buffer, 5, 2n ** 28n))).toThrow(/word 5 \(record size\)/);
      expect(() => PerCpuBuffer.from(patched(buf.buffer, 6, 2n ** 52n))).toThrow(/word 6 \(capacity\)/);
      // A capacity that fits the range but not the buffer's length.
      expect(() => PerCpuBuffer.from(patched(buf.buffer, 6, 1024n))).toThrow(/word 4 \(stride\)|fewer than its header needs/);
      expect(() => PerCpuBuffer.from(buf.buffer.slice(0, 256))).toThrow(RangeError);
      const counter = new PerCpuCounter();
      expect(() => PerCpuCounter.from(patched(counter.buffer, 5, 2n ** 40n))).toThrow(/word 5 \(lanes\)/);
    });

    it("the backend's bind refuses the same headers when handed them directly", () => {
      const b = backend();
      const pool = new PerCpuPool({ size: 8 });
      for (const [word, value] of [
        [0, 1n],
        [1, 2n],
        [2, 7n],
        [3, 0n],
        [4, 0n],
        [5, 2n ** 40n],
      ] as const) {
        const words = new BigInt64Array(patched(pool.buffer, word, value));
        expect(() => b.bindRegion(words, 'pool'), `word ${word} = ${value}`).toThrow();
      }
      expect(() => b.bindRegion(new BigInt64Array(pool.buffer.slice(0, 200)), 'pool')).toThrow();
      expect(() => b.bindRegion(new BigInt64Array(pool.buffer), 'counter')).toThrow();
    });

    it('a count word past capacity in shared memory is refused, not used (drain, pop, push)', () => {
      rseq.setAffinity([allowed[0]!]);
      const buf = new PerCpuBuffer({ recordSize: 8, capacity: 4 });
      buf.push(new Uint8Array(8).fill(1));
      const words = new BigInt64Array(buf.buffer);
      // The calling CPU's count: header 8 words, stride 8 for this size.
      const count = 8 + allowed[0]! * 8;
      expect(words[count]).toBe(1n);
      words[count] = 2n ** 40n; // corrupted: neither a count nor a claim
      expect(() => buf.pop()).toThrow(expect.objectContaining({ code: 'ERR_RSEQ_CORRUPT' }));
      expect(() => buf.push(new Uint8Array(8))).toThrow(expect.objectContaining({ code: 'ERR_RSEQ_CORRUPT' }));
      expect(() => buf.drain()).toThrow(expect.objectContaining({ code: 'ERR_RSEQ_CORRUPT' }));
      // A word past every claim the package writes is refused too, not waited for.
      for (const bad of [2n ** 60n, 2n ** 53n + 1n, -(2n ** 62n)]) {
        words[count] = bad;
        expect(() => buf.pop(), String(bad)).toThrow(expect.objectContaining({ code: 'ERR_RSEQ_CORRUPT' }));
        expect(() => buf.drain(), String(bad)).toThrow(expect.objectContaining({ code: 'ERR_RSEQ_CORRUPT' }));
      }
      words[count] = 1n;
      expect(buf.drain()).toEqual([new Uint8Array(8).fill(1)]);
    });
  });

  describe('PerCpuPool ownership', () => {
    it('a second give of an index, or a give of one never taken, throws and changes nothing', () => {
      const pool = new PerCpuPool({ size: 4 });
      const i = pool.take()!;
      expect(i).not.toBeNull();
      pool.give(i);
      const e = (() => {
        try {
          pool.give(i);
        } catch (err) {
          return err;
        }
        return null;
      })();
      expect(e).toBeInstanceOf(RseqError);
      expect((e as RseqError).code).toBe('ERR_RSEQ_POOL_NOT_TAKEN');
      const never = [0, 1, 2, 3].find((k) => k !== i)!;
      expect(() => pool.give(never)).toThrow(expect.objectContaining({ code: 'ERR_RSEQ_POOL_NOT_TAKEN' }));
      // Still every index exactly once.
      const got: number[] = [];
      for (let k = pool.take(); k !== null; k = pool.take()) got.push(k);
      expect(got.sort()).toEqual([0, 1, 2, 3]);
      for (const k of got) pool.give(k);
      expect(() => pool.give(got[0]!)).toThrow(RseqError);
    });

    it('an index taken by stealing from another CPU is owned too', () => {
      if (allowed.length < 2) return expect(allowed.length).toBe(1);
      rseq.setAffinity([allowed[0]!]);
      const pool = new PerCpuPool({ size: 2 });
      rseq.setAffinity([allowed[1]!]);
      const got = [pool.take(), pool.take()];
      expect(got.sort()).toEqual([0, 1]);
      expect(pool.take()).toBeNull();
      pool.give(got[0]!);
      expect(() => pool.give(got[0]!)).toThrow(RseqError);
      pool.give(got[1]!);
    });
  });

  describe('PerCpuCounter range and paths', () => {
    for (const p of ['lane', 'atomics', 'rseq'] as const) {
      it(`${p}: past the signed 64-bit range is a RangeError, never a wrap; bigint amounts add`, () => {
        const c = new PerCpuCounter({ path: p });
        c.add(2n ** 62n);
        c.add(2n ** 62n - 1n);
        expect(c.valueBigInt()).toBe(2n ** 63n - 1n);
        expect(() => c.add(1)).toThrow(RangeError);
        expect(() => c.add(1n)).toThrow(RangeError);
        expect(c.valueBigInt()).toBe(2n ** 63n - 1n);
        c.add(-(2n ** 63n) + 1n);
        expect(c.value()).toBe(0);
        c.add(5n);
        c.add(-2);
        expect(c.value()).toBe(3);
        expect(c.reset()).toBe(3n);
        expect(c.valueBigInt()).toBe(0n);
      });
    }

    it("atomics: past 2^30 on a CPU's Int32 lane the adds go on in its 64-bit word, exactly; reset empties both", () => {
      rseq.setAffinity([allowed[0]!]);
      const c = new PerCpuCounter({ path: 'atomics' });
      const n = 2 ** 14 + 10; // 2^14 adds of 2^16 fill the lane to 2^30
      for (let i = 0; i < n; i++) c.add(2 ** 16);
      c.add(-3);
      expect(c.valueBigInt()).toBe(BigInt(n) * 2n ** 16n - 3n);
      expect(c.perCpu()[allowed[0]!]).toBe(BigInt(n) * 2n ** 16n - 3n);
      expect(c.reset()).toBe(BigInt(n) * 2n ** 16n - 3n);
      c.add(5);
      expect(c.value()).toBe(5);
    });

    it('no public property of a structure is a view of the rseq area', () => {
      const c = new PerCpuCounter();
      for (const v of Object.values(c)) expect(v instanceof Uint32Array).toBe(false);
      expect((c as unknown as Record<string, unknown>).idField).toBeUndefined();
    });

    it('lane: handles on one buffer share the thread lane; reset and value stay exact', () => {
      const a = new PerCpuCounter();
      expect(a.path).toBe('lane');
      const b = PerCpuCounter.from(a.buffer);
      for (let i = 0; i < 1000; i++) {
        a.add();
        b.add(2);
      }
      expect(a.value()).toBe(3000);
      expect(b.reset()).toBe(3000n);
      a.add(7);
      expect(b.value()).toBe(7);
    });

    it("lane: amounts added by workers that ended stay counted, and reset takes them once", async () => {
      const a = new PerCpuCounter({ lanes: 2 });
      const run = (adds: number): Promise<void> =>
        new Promise((resolve, reject) => {
          const w = new Worker(path.join(ROOT, 'test', 'helpers', 'counter-adder.cjs'), { workerData: { entry: DIST_ENTRY, buffer: a.buffer, adds } });
          w.once('error', reject);
          w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exit ${code}`))));
        });
      // 2 lanes, 4 workers: two take the lanes, the others add through the per-CPU words.
      await Promise.all([run(1000), run(2000), run(3000), run(4000)]);
      a.add(5);
      expect(a.value()).toBe(10_005);
      expect(a.reset()).toBe(10_005n);
      expect(a.value()).toBe(0);
    });
  });
});

describe.skipIf(skipShared)(`load order on the ${project} backend`, () => {
  it('workers started before the main thread loads the package share exact structures with it', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'test', 'helpers', 'load-order.cjs'), DIST_ENTRY], { encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { backend: string; value: number; expected: number; poolTaken: number; poolDistinct: number };
    expect(out.backend).toBe(expectedBackend);
    expect(out.value).toBe(out.expected);
    expect(out.poolTaken).toBe(64);
    expect(out.poolDistinct).toBe(64);
  });
});

describe.skipIf(skipShared)(`batches on the ${project} backend`, () => {
  let allowed: number[];
  beforeAll(() => {
    allowed = rseq.getAffinity();
  });
  afterEach(() => rseq.setAffinity(allowed));

  it('pushMany stores as many records as fit in one section; popMany takes the top block in stack order', () => {
    rseq.setAffinity([allowed[0]!]);
    const b = new PerCpuBuffer({ recordSize: 4, capacity: 6 });
    const records = Uint8Array.from({ length: 4 * 5 }, (_, i) => i);
    expect(b.pushMany(records)).toBe(5);
    expect(b.pushMany(records)).toBe(1); // room for one more
    expect(b.pushMany(records)).toBe(0); // full
    expect(b.size()).toBe(6);
    const into = new Uint8Array(4 * 4);
    expect(b.popMany(into)).toBe(4);
    // The stack held records 0,1,2,3,4 then 0: the top four are 2,3,4,0, bottom first.
    expect([...into]).toEqual([8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 0, 1, 2, 3]);
    expect(b.pop()).toEqual(Uint8Array.from([4, 5, 6, 7]));
    expect(b.popMany(into)).toBe(1);
    expect([...into.subarray(0, 4)]).toEqual([0, 1, 2, 3]);
    expect(b.popMany(into)).toBe(0);
    expect(() => b.pushMany(new Uint8Array(6))).toThrow(RangeError);
    expect(() => b.popMany(new Uint8Array(3))).toThrow(RangeError);
    expect(() => b.pushMany([1, 2, 3, 4] as unknown as Uint8Array)).toThrow(TypeError);
    expect(b.size()).toBe(0);
  });

  it('pop(into) fills the caller\'s array; a wrong into throws before anything is taken', () => {
    rseq.setAffinity([allowed[0]!]);
    for (const size of [8, 100]) {
      const b = new PerCpuBuffer({ recordSize: size, capacity: 2 });
      const rec = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
      b.push(rec);
      expect(() => b.pop(new Uint8Array(size + 1))).toThrow(TypeError);
      const into = new Uint8Array(size);
      expect(b.pop(into)).toBe(into);
      expect(into).toEqual(rec);
      expect(b.pop(into)).toBeNull();
    }
  });
});
