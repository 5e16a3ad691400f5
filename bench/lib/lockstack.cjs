'use strict';
// The JavaScript alternative to PerCpuBuffer with the same guarantees: one
// stack of fixed-size byte records in a SharedArrayBuffer that every worker
// shares, each push and pop atomic with respect to all threads, a full stack
// refused, pop returning a copy the caller owns.
//
// The lock is the classic three-state futex mutex (Drepper, "Futexes Are
// Tricky", mutex 2) on Atomics: 0 free, 1 held, 2 held with waiters. Lock
// takes it with compareExchange, spins briefly while it is held (the holder is
// usually running on the other core), then marks it contended and sleeps in
// Atomics.wait; unlock wakes one sleeper with Atomics.notify only when the
// word says someone may be waiting.
//
// Layout: Int32 words 0 (lock) and 1 (count) in the first 64-byte line, the
// records after it.

const HEADER_BYTES = 64;
const SPINS = 64;

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
