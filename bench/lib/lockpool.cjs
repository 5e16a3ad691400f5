'use strict';
// The JavaScript alternative to PerCpuPool with the same guarantees: one free
// list of the indices 0..size-1 in a SharedArrayBuffer that every worker
// shares, each take and give atomic with respect to all threads, take()
// returning an index no other taker holds (or null when every index is out),
// give(i) putting it back.
//
// The lock is futex.cjs's three-state futex mutex, as lockstack.cjs's.
//
// Layout: Int32 words 0 (lock) and 1 (head: the first free index, EMPTY when
// none) in the first 64-byte line, then next[0..size-1]: the free index after
// i on the list (EMPTY at the end). An index that is out has a stale next[].

const { lock, unlock } = require('./futex.cjs');

const HEADER_BYTES = 64;
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
    lock(this.ctl);
  }

  unlock() {
    unlock(this.ctl);
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
