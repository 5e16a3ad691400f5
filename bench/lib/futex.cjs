'use strict';
// The lock of the plain-JavaScript contenders (lockstack.cjs, lockpool.cjs):
// the classic three-state futex mutex (Drepper, "Futexes Are Tricky", mutex 2)
// on word 0 of an Int32Array: 0 free, 1 held, 2 held with waiters. lock()
// takes it with compareExchange, spins briefly while it is held (the holder is
// usually running on the other core), then marks it contended and sleeps in
// Atomics.wait; unlock() wakes one sleeper with Atomics.notify only when the
// word says someone may be waiting.

const SPINS = 64;

function lock(ctl) {
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

function unlock(ctl) {
  if (Atomics.sub(ctl, 0, 1) !== 1) {
    Atomics.store(ctl, 0, 0);
    Atomics.notify(ctl, 0, 1);
  }
}

module.exports = { lock, unlock };
