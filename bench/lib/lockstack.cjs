'use strict';
// The JavaScript alternative to PerCpuBuffer with the same guarantees: one
// stack of fixed-size byte records in a SharedArrayBuffer that every worker
// shares, each push and pop atomic with respect to all threads, a full stack
// refused, pop returning a copy the caller owns.
//
// The lock is futex.cjs's three-state futex mutex.
//
// Layout: Int32 words 0 (lock) and 1 (count) in the first 64-byte line, the
// records after it.

const { lock, unlock } = require('./futex.cjs');

const HEADER_BYTES = 64;

class LockedStack {
  constructor(buffer, recordSize, capacity) {
    this.buffer = buffer;
    this.recordSize = recordSize;
    this.capacity = capacity;
    this.ctl = new Int32Array(buffer, 0, 16);
    this.bytes = new Uint8Array(buffer, HEADER_BYTES, recordSize * capacity);
  }

  static create(recordSize, capacity) {
    return new LockedStack(new SharedArrayBuffer(HEADER_BYTES + recordSize * capacity), recordSize, capacity);
  }

  lock() {
    lock(this.ctl);
  }

  unlock() {
    unlock(this.ctl);
  }

  push(record) {
    if (!(record instanceof Uint8Array) || record.byteLength !== this.recordSize) {
      throw new TypeError(`LockedStack.push: the record must be a Uint8Array of ${this.recordSize} bytes`);
    }
    this.lock();
    const n = this.ctl[1];
    if (n >= this.capacity) {
      this.unlock();
      throw new RangeError('LockedStack.push: the stack is full');
    }
    this.bytes.set(record, n * this.recordSize);
    this.ctl[1] = n + 1;
    this.unlock();
  }

  pop() {
    this.lock();
    const n = this.ctl[1];
    if (n === 0) {
      this.unlock();
      return null;
    }
    const off = (n - 1) * this.recordSize;
    const out = this.bytes.slice(off, off + this.recordSize);
    this.ctl[1] = n - 1;
    this.unlock();
    return out;
  }

  size() {
    return Atomics.load(this.ctl, 1);
  }
}

module.exports = { LockedStack };
