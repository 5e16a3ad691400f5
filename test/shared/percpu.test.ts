/**
 * The per-CPU data structures on one thread, on both backends: results, errors
 * for bad input (each leaving the structure unchanged), and sharing by buffer.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PerCpuBuffer, PerCpuCounter, PerCpuPool, RseqError, rseq } from '../../src/index.js';
import { project, skipShared } from '../helpers/env.js';

describe.skipIf(skipShared)(`per-CPU structures on the ${project} backend`, () => {
  let allowed: number[];
  beforeAll(() => {
    allowed = rseq.getAffinity();
  });
  afterEach(() => rseq.setAffinity(allowed));

  describe('PerCpuCounter', () => {
    for (const path of ['atomics', 'rseq'] as const) {
      it(`${path}: adds exactly, per CPU, and reset hands back what it held`, () => {
        const c = new PerCpuCounter({ path });
        expect(c.path).toBe(path);
        for (const cpu of allowed) {
          rseq.setAffinity([cpu]);
          for (let i = 0; i < 1000; i++) c.add();
          c.add(cpu + 10);
        }
        const expected = allowed.reduce((sum, cpu) => sum + 1000 + cpu + 10, 0);
        expect(c.value()).toBe(expected);
        expect(c.valueBigInt()).toBe(BigInt(expected));
        const per = c.perCpu();
        expect(per.length).toBe(Math.max(...rseq.possibleCpus()) + 1);
        for (const cpu of allowed) expect(per[cpu]).toBe(BigInt(1000 + cpu + 10));
        c.add(-7);
        expect(c.value()).toBe(expected - 7);
        expect(c.reset()).toBe(BigInt(expected - 7));
        expect(c.value()).toBe(0);
      });
    }

    it('a counter made from its buffer shares the slots', () => {
      const a = new PerCpuCounter();
      const b = PerCpuCounter.from(a.buffer, { path: 'rseq' });
      a.add(5);
      b.add(6);
      expect(a.value()).toBe(11);
      expect(b.value()).toBe(11);
      expect(b.path).toBe('rseq');
    });

    for (const path of ['atomics', 'rseq'] as const) {
      it(`${path}: stays exact past what 32 bits hold on one CPU, up and down, with amounts of every size`, () => {
        const c = new PerCpuCounter({ path });
        rseq.setAffinity([allowed[0]!]);
        // 2^16 is the largest amount the 'atomics' path puts in its Int32 lane; 2^16 + 1 goes to the 64-bit base.
        for (let i = 0; i < 40_000; i++) c.add(65536);
        expect(c.value()).toBe(40_000 * 65536);
        for (let i = 0; i < 80_000; i++) c.add(-65536);
        expect(c.value()).toBe(-40_000 * 65536);
        c.add(65537);
        c.add(2 ** 40);
        expect(c.value()).toBe(-40_000 * 65536 + 65537 + 2 ** 40);
        expect(c.perCpu()[allowed[0]!]).toBe(BigInt(-40_000 * 65536 + 65537 + 2 ** 40));
        expect(c.reset()).toBe(BigInt(-40_000 * 65536 + 65537 + 2 ** 40));
        expect(c.valueBigInt()).toBe(0n);
      });
    }

    it('atomics and rseq handles on one buffer, with resets between, add up exactly', () => {
      const a = new PerCpuCounter({ path: 'atomics' });
      const r = PerCpuCounter.from(a.buffer, { path: 'rseq' });
      let taken = 0n;
      for (let i = 0; i < 3000; i++) {
        a.add(i);
        r.add(i + 1);
        if (i % 1000 === 999) taken += (Math.floor(i / 1000) % 2 === 0 ? a : r).reset();
      }
      const expected = BigInt((2999 * 3000) / 2 + (3000 * 3001) / 2);
      expect(taken + a.valueBigInt()).toBe(expected);
      expect(r.valueBigInt()).toBe(a.valueBigInt());
    });

    it('past the safe integers value() refuses and valueBigInt() is exact', () => {
      const c = new PerCpuCounter();
      c.add(Number.MAX_SAFE_INTEGER);
      c.add(Number.MAX_SAFE_INTEGER);
      expect(() => c.value()).toThrow(RangeError);
      expect(c.valueBigInt()).toBe(2n * BigInt(Number.MAX_SAFE_INTEGER));
    });

    it('mm_cid mode counts too, where the kernel publishes mm_cid', () => {
      if (!rseq.fields().mmCid) {
        expect(() => new PerCpuCounter({ mode: 'mmcid' })).toThrow(RseqError);
        return;
      }
      for (const path of ['atomics', 'rseq'] as const) {
        const c = new PerCpuCounter({ mode: 'mmcid', path });
        for (let i = 0; i < 500; i++) c.add(2);
        expect(c.value()).toBe(1000);
        expect(c.perCpu()[rseq.mmCid()]).toBe(1000n);
      }
    });

    it('rejects bad input without changing the counter', () => {
      const c = new PerCpuCounter();
      c.add(3);
      expect(() => c.add('1' as unknown as number)).toThrow(new TypeError('PerCpuCounter.add: the amount must be a number or a bigint, not string'));
      expect(() => c.add(1.5)).toThrow(new RangeError('PerCpuCounter.add: the amount must be a safe integer (or a bigint), not 1.5'));
      expect(() => c.add(2n ** 63n)).toThrow(RangeError);
      expect(() => c.add(2 ** 53)).toThrow(RangeError);
      expect(() => c.add(Number.NaN)).toThrow(RangeError);
      expect(c.value()).toBe(3);
      expect(() => new PerCpuCounter({ mode: 'node' as never })).toThrow(TypeError);
      expect(() => new PerCpuCounter({ path: 'fast' as never })).toThrow(TypeError);
      expect(() => PerCpuCounter.from(new ArrayBuffer(1024) as unknown as SharedArrayBuffer)).toThrow(
        /PerCpuCounter.from needs the SharedArrayBuffer of a PerCpuCounter \(its .buffer\), not (an ArrayBuffer \(not shared\)|object)/,
      );
      expect(() => PerCpuCounter.from(new PerCpuPool({ size: 4 }).buffer)).toThrow(/does not hold a PerCpuCounter/);
      expect(() => PerCpuCounter.from(new SharedArrayBuffer(16))).toThrow(RangeError);
      expect(() => PerCpuCounter.from(c.buffer.slice(0, 128))).toThrow(RangeError);
      // A header from another layout version, or with another slot stride, is refused.
      const copy = (word: number, value: bigint): SharedArrayBuffer => {
        const b = new SharedArrayBuffer(c.buffer.byteLength);
        new Uint8Array(b).set(new Uint8Array(c.buffer));
        new BigInt64Array(b)[word] = value;
        return b;
      };
      expect(() => PerCpuCounter.from(copy(1, 1n))).toThrow(new TypeError("PerCpuCounter.from: the buffer's layout version (word 1) is 1, this package writes 3"));
      expect(() => PerCpuCounter.from(copy(4, 16n))).toThrow(new TypeError("PerCpuCounter.from: word 4 (stride) is 16 words per slot; this structure's slots take 8"));
    });
  });

  describe('PerCpuBuffer', () => {
    const rec = (n: number, size = 12): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (n * 7 + i) & 0xff);

    it('pushes and pops records last in, first out on the calling CPU', () => {
      rseq.setAffinity([allowed[0]!]);
      const b = new PerCpuBuffer({ recordSize: 12, capacity: 8 });
      for (let n = 0; n < 5; n++) b.push(rec(n));
      expect(b.size()).toBe(5);
      for (let n = 4; n >= 0; n--) expect(b.pop()).toEqual(rec(n));
      expect(b.pop()).toBeNull();
      expect(b.size()).toBe(0);
    });

    it('records of every size up to past the small-record bound come back byte for byte, every byte value, through pop, pop(into) and drain', () => {
      rseq.setAffinity([allowed[0]!]);
      for (const size of [1, 3, 4, 5, 8, 12, 15, 16, 60, 63, 64, 65, 68, 200]) {
        const b = new PerCpuBuffer({ recordSize: size, capacity: 8 });
        // Byte values 0..255 in turn, so that bytes >= 0x80 (a negative Int32 when they are the top byte) come through.
        const r = (n: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (n * 61 + i * 37 + 0x80) & 0xff);
        for (let n = 0; n < 6; n++) b.push(r(n));
        const popped = b.pop()!;
        expect(popped, `size ${size}`).toEqual(r(5));
        const into = new Uint8Array(size).fill(0xee);
        expect(b.pop(into), `size ${size}`).toBe(into);
        expect(into, `size ${size}`).toEqual(r(4));
        // Records on their own ArrayBuffer at an odd offset, pushed and popped.
        const odd = new Uint8Array(new ArrayBuffer(size + 3), 3, size);
        odd.set(r(9));
        b.push(odd);
        const intoOdd = new Uint8Array(new ArrayBuffer(size + 1), 1, size);
        expect(b.pop(intoOdd), `size ${size}`).toEqual(r(9));
        expect(b.drain(), `size ${size}`).toEqual([r(0), r(1), r(2), r(3)]);
        // The record pop() returned is the caller's own: the pushes and pops since left it as it was.
        expect(popped, `size ${size}`).toEqual(r(5));
      }
      // Every byte value in every position of a 16-byte record.
      const b = new PerCpuBuffer({ recordSize: 16, capacity: 4 });
      for (let v = 0; v < 256; v++) {
        const one = new Uint8Array(16).fill(v);
        one[v & 15] = 255 - v;
        b.push(one);
        expect(b.pop()).toEqual(one);
      }
    });

    it('a full stack refuses the record and loses nothing', () => {
      rseq.setAffinity([allowed[0]!]);
      const b = new PerCpuBuffer({ recordSize: 12, capacity: 3 });
      for (let n = 0; n < 3; n++) b.push(rec(n));
      const before = new Uint8Array(b.buffer).slice();
      let caught: unknown;
      try {
        b.push(rec(9));
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(RseqError);
      expect(caught).toMatchObject({ code: 'ERR_RSEQ_BUFFER_FULL' });
      expect(new Uint8Array(b.buffer)).toEqual(before);
      expect(b.drain()).toEqual([rec(0), rec(1), rec(2)]);
    });

    it('drain takes every CPU\'s records, and a buffer made from its buffer sees them', () => {
      const b = new PerCpuBuffer({ recordSize: 5, capacity: 16 });
      const other = PerCpuBuffer.from(b.buffer);
      let n = 0;
      for (const cpu of allowed) {
        rseq.setAffinity([cpu]);
        for (let k = 0; k < 3; k++) other.push(rec(n++, 5));
      }
      expect(b.size()).toBe(n);
      const got = b.drain();
      expect(got.length).toBe(n);
      expect(new Set(got.map((r) => r.join(',')))).toEqual(new Set(Array.from({ length: n }, (_, i) => rec(i, 5).join(','))));
      expect(b.size()).toBe(0);
      expect(b.drain()).toEqual([]);
    });

    it('rejects bad records and options without changing the buffer', () => {
      const b = new PerCpuBuffer({ recordSize: 8, capacity: 4 });
      b.push(rec(1, 8));
      const before = new Uint8Array(b.buffer).slice();
      expect(() => b.push(rec(1, 7))).toThrow(new RangeError("PerCpuBuffer.push: the record has 7 bytes; this buffer's records have 8"));
      expect(() => b.push([1, 2, 3, 4, 5, 6, 7, 8] as unknown as Uint8Array)).toThrow(TypeError);
      const detached = new Uint8Array(8);
      structuredClone(detached.buffer, { transfer: [detached.buffer] });
      expect(() => b.push(detached)).toThrow(/detached/);
      expect(new Uint8Array(b.buffer)).toEqual(before);
      expect(() => new PerCpuBuffer({ recordSize: 0, capacity: 4 })).toThrow(RangeError);
      expect(() => new PerCpuBuffer({ recordSize: 8, capacity: -1 })).toThrow(RangeError);
      expect(() => new PerCpuBuffer({ recordSize: 8, capacity: 2.5 })).toThrow(RangeError);
      expect(() => new PerCpuBuffer({ recordSize: '8', capacity: 2 } as never)).toThrow(TypeError);
      expect(() => PerCpuBuffer.from(new ArrayBuffer(4096) as unknown as SharedArrayBuffer)).toThrow(TypeError);
    });
  });

  describe('PerCpuPool', () => {
    it('hands out every index exactly once, stealing from other CPUs when its own list is empty', () => {
      const p = new PerCpuPool({ size: 40 });
      rseq.setAffinity([allowed[0]!]);
      const taken: number[] = [];
      for (;;) {
        const i = p.take();
        if (i === null) break;
        taken.push(i);
      }
      expect(taken.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      for (const i of taken) p.give(i);
      const again = new Set<number>();
      for (let k = 0; k < 40; k++) again.add(p.take()!);
      expect(again.size).toBe(40);
      expect(p.take()).toBeNull();
    });

    it('is shared through its buffer and rejects bad indices without a write', () => {
      const p = new PerCpuPool({ size: 4 });
      const q = PerCpuPool.from(p.buffer);
      const i = q.take()!;
      expect(i).toBeGreaterThanOrEqual(0);
      const before = new Uint8Array(p.buffer).slice();
      expect(() => p.give(4)).toThrow(new RangeError('PerCpuPool.give: index 4 is not an integer in [0, 4)'));
      expect(() => p.give(-1)).toThrow(RangeError);
      expect(() => p.give(0.5)).toThrow(RangeError);
      expect(() => p.give('1' as unknown as number)).toThrow(TypeError);
      expect(new Uint8Array(p.buffer)).toEqual(before);
      p.give(i);
      const all = new Set([p.take(), p.take(), p.take(), p.take()]);
      expect(all).toEqual(new Set([0, 1, 2, 3]));
      expect(() => new PerCpuPool({ size: 0 })).toThrow(RangeError);
    });
  });

  it('fence() returns for all CPUs and for each one, and rejects a bad CPU', () => {
    expect(rseq.fence()).toBeUndefined();
    for (const cpu of allowed) expect(rseq.fence(cpu)).toBeUndefined();
    expect(() => rseq.fence(-1)).toThrow(new RangeError('fence: CPU -1 is not an integer in [0, 1024)'));
  });

  it('counts the critical sections this thread ran', () => {
    const before = rseq.opCounts();
    const c = new PerCpuCounter({ path: 'rseq' });
    for (let i = 0; i < 100; i++) c.add();
    const after = rseq.opCounts();
    expect(after.attempts - before.attempts).toBeGreaterThanOrEqual(100);
    expect(after.attempts - before.attempts).toBe(100 + (after.aborts - before.aborts) + (after.moved - before.moved));
  });
});
