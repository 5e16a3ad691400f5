'use strict';
// The JavaScript alternative to PerCpuPool with the same guarantees: one free
// list of the indices 0..size-1 in a SharedArrayBuffer that every worker
// shares, each take and give atomic with respect to all threads, take()
// returning an index no other taker holds (or null when every index is out),
// give(i) putting it back.
//
// The lock is the same three-state futex mutex as lockstack.cjs's (Drepper,
// "Futexes Are Tricky", mutex 2): 0 free, 1 held, 2 held with waiters; a
// compareExchange, a short spin, then Atomics.wait; unlock notifies only when
// someone may be waiting.
//
// Layout: Int32 words 0 (lock) and 1 (head: the first free index, EMPTY when
// none) in the first 64-byte line, then next[0..size-1]: the free index after
// i on the list (EMPTY at the end). An index that is out has a stale next[].

const HEADER_BYTES = 64;
const SPINS = 64;
const EMPTY = -1;

class LockedPool {
  constructor(buffer, size) {
    this.buffer = buffer;
    this.size = size;
    this.ctl = new Int32Array(buffer, 0, 16);
    this.next = new Int32Array(buffer, HEADER_BYTES, size);
  }

  /** A new pool holding every index, taken in ascending order. */
  static create(size) {
    const pool = new LockedPool(new SharedArrayBuffer(HEADER_BYTES + 4 * size), size);
    for (let i = 0; i < size; i++) pool.next[i] = i + 1 < size ? i + 1 : EMPTY;
    Atomics.store(pool.ctl, 1, size > 0 ? 0 : EMPTY);
    return pool;
  }

  lock() {
    const ctl = this.ctl;
    let c = Atomics.compareExchange(ctl, 0, 0, 1);
    if (c === 0) return;
    for (let i = 0; i < SPINS; i++) {
      if (Atomics.load(ctl, 0) === 0) {
        c = Atomics.compareExchange(ctl, 0, 0, 1);
        if (c === 0) return;
      }
    }
    if (c !== 2) c = Atomics.exchange(ctl, 0, 2);
    while (c !== 0) {
      Atomics.wait(ctl, 0, 2);
      c = Atomics.exchange(ctl, 0, 2);
    }
  }

  unlock() {
    const ctl = this.ctl;
    if (Atomics.sub(ctl, 0, 1) !== 1) {
      Atomics.store(ctl, 0, 0);
      Atomics.notify(ctl, 0, 1);
    }
  }

  /** A free index, or null when every index is out. */
  take() {
    this.lock();
    const h = this.ctl[1];
    if (h === EMPTY) {
      this.unlock();
      return null;
    }
    this.ctl[1] = this.next[h];
    this.unlock();
    return h;
  }

  /** Puts index i back on the list. */
  give(i) {
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= this.size) {
      throw new RangeError(`LockedPool.give: index ${i} is not an integer in [0, ${this.size})`);
    }
    this.lock();
    this.next[i] = this.ctl[1];
    this.ctl[1] = i;
    this.unlock();
  }
}

module.exports = { LockedPool };
