/**
 * PerCpuPool: per-CPU free lists of indices 0..size-1 in a SharedArrayBuffer.
 *
 * take() pops the calling CPU's list in one critical section through the bound
 * region; when that list is empty it takes one index from another CPU's list
 * under a claim on that list's head (core.ts). give(i) pushes i onto the
 * calling CPU's list (next[i] = head speculatively, head = i the commit).
 *
 * Ownership: next[i] of an index a thread holds is TAKEN. give(i) first moves
 * it from TAKEN (compare-exchange), so a second give of i, or a give of an
 * index never taken, throws ERR_RSEQ_POOL_NOT_TAKEN and changes nothing.
 *
 * Per slot: word 0 is the list head (EMPTY when empty). After the slots, one
 * next[] word per index.
 */
import { REGION_BAD_ARG, REGION_CORRUPT, REGION_EMPTY, REGION_LOCKED, REGION_NOT_TAKEN, REGION_RETRY, type IndexMode } from '../contract/backend.js';
import { RseqError } from '../contract/errors.js';
import { backend } from '../thread.js';
import { PerCpuBase, adopt, adopted, checkMode, checkPositiveInt, newWait, slotCount } from './core.js';
import { EMPTY, MAX_POOL_SIZE, TAKEN, makeLayout, type Layout } from '../contract/layout.js';

export interface PerCpuPoolOptions {
  /** Indices in the pool: 0 to size - 1. */
  size: number;
  /** Index free lists by cpu_id (default) or by mm_cid. */
  mode?: IndexMode;
}

/** The layout of a new pool, from checked options. */
function newLayout(options: PerCpuPoolOptions): Layout {
  if (typeof options !== 'object' || options === null) throw new TypeError('PerCpuPool: options { size } are required');
  const size = checkPositiveInt('pool', 'size', options.size, MAX_POOL_SIZE);
  return makeLayout('pool', checkMode('pool', options.mode), slotCount(backend()), [size, 0, 0]);
}

export class PerCpuPool extends PerCpuBase {
  readonly size: number;
  readonly #next: number;

  constructor(options: PerCpuPoolOptions) {
    const source = adopted();
    super('pool', source ?? newLayout(options));
    this.size = this.layout.params[0];
    this.#next = this.layout.tail;
    if (source === undefined) this.#fill();
  }

  /** This thread's handle on a pool made elsewhere (pass `pool.buffer` to a worker). */
  static from(buffer: SharedArrayBuffer): PerCpuPool {
    return adopt('pool', buffer, () => new PerCpuPool(undefined as unknown as PerCpuPoolOptions));
  }

  /**
   * Deals the indices over the ids the creating thread can have (its allowed
   * CPUs) in contiguous blocks: each id's indices are neighbours, so take and
   * give on one CPU write next[] words that another CPU's rarely share a
   * cache line with (dealt round-robin, every line of next[] was written from
   * every CPU).
   */
  #fill(): void {
    const allowed = backend().getAffinity();
    const ids = this.mode === 'cpu' ? allowed.filter((c) => c < this.slots) : [...Array(Math.min(allowed.length, this.slots)).keys()];
    for (let s = 0; s < this.slots; s++) Atomics.store(this.words, this.slotWord(s), BigInt(EMPTY));
    // Build each list back to front so that it pops in ascending order.
    for (let i = this.size - 1; i >= 0; i--) {
      const head = this.slotWord(ids[Math.floor((i * ids.length) / this.size)]!);
      Atomics.store(this.words, this.#next + i, Atomics.load(this.words, head));
      Atomics.store(this.words, head, BigInt(i));
    }
  }

  /** An index from the calling CPU's list, else from another CPU's, else null when the pool is empty. */
  take(): number | null {
    const r = this.region;
    const s = r.take();
    return s === undefined ? r.args[0]! : this.#takeSlow(s);
  }

  /** take() after its first attempt gave status s. */
  #takeSlow(s: number): number | null {
    const r = this.region;
    const wait = newWait();
    for (;;) {
      if (s === REGION_EMPTY) {
        const stolen = this.#steal();
        if (stolen !== undefined) return stolen;
        // an index came back to this CPU's list meanwhile: look again
      } else if (s === REGION_LOCKED) this.waitOwnSlot(0, wait);
      else if (s !== REGION_RETRY) this.fail('take', s);
      const next = r.take();
      if (next === undefined) return r.args[0]!;
      s = next;
    }
  }

  /** An index from another CPU's list, null when every list is empty, undefined to look at this CPU's list again. */
  #steal(): number | null | undefined {
    const own = this.id();
    let sawAny = false;
    for (let k = 1; k <= this.slots; k++) {
      const s = (own + k) % this.slots;
      const head = this.slotWord(s);
      if (this.load(head) === EMPTY) continue;
      sawAny = true;
      const r = this.claimed(
        head,
        s,
        (v) => v !== EMPTY,
        (v) => {
          if (v >= this.size) this.fail('take', REGION_CORRUPT);
          const n = this.load(this.#next + v);
          if (n !== EMPTY && !(n >= 0 && n < this.size)) this.fail('take', REGION_CORRUPT);
          return { next: n, result: v };
        },
      );
      if (r !== null) {
        Atomics.store(this.words, this.#next + r, BigInt(TAKEN));
        return r;
      }
    }
    return sawAny ? undefined : null;
  }

  /** Returns index i, which this thread took, to the pool, on the calling CPU's list. */
  give(i: number): void {
    if (typeof i !== 'number') throw new TypeError(`PerCpuPool.give: the index must be a number, not ${typeof i}`);
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new RangeError(`PerCpuPool.give: index ${i} is not an integer in [0, ${this.size})`);
    const r = this.region;
    r.args[0] = i;
    let s = r.give();
    if (s === undefined) return;
    const wait = newWait();
    for (;;) {
      if (s === REGION_NOT_TAKEN) {
        throw new RseqError('ERR_RSEQ_POOL_NOT_TAKEN', `PerCpuPool.give: index ${i} is not taken (it was given back already, or never taken); nothing changed`);
      }
      if (s === REGION_LOCKED) this.waitOwnSlot(0, wait);
      else if (s === REGION_BAD_ARG) throw new RangeError(`PerCpuPool.give: index ${i} is not an integer in [0, ${this.size})`);
      else if (s !== REGION_RETRY) this.fail('give', s);
      r.args[0] = i;
      s = r.give();
      if (s === undefined) return;
    }
  }
}

