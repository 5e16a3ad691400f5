/**
 * PerCpuPool: per-CPU free lists of indices 0..size-1 in a SharedArrayBuffer.
 *
 * take() pops the calling CPU's list in one critical section (list pop); when
 * that list is empty it takes one index from another CPU's list under the
 * lock-then-fence protocol. give(i) pushes i onto the calling CPU's list:
 * next[i] = head is the speculative store, head = i the commit, when head is
 * still what was read (speculative store then commit).
 *
 * Per slot: word 0 is the list head (EMPTY when empty). After the slots, one
 * shared next[] word per index.
 */
import { OP_BAD_INDEX, OP_COMMITTED, OP_COMPARE_FAILED } from '../backend.js';
import type { IndexMode } from '../backend.js';
import { backend } from '../thread.js';
import { HEADER_WORDS, LINE_WORDS, LOCKED, PerCpuBase, type Layout, adopt, adopted, checkMode, checkPositiveInt, slotCount } from './core.js';

export interface PerCpuPoolOptions {
  /** Indices in the pool: 0 to size - 1. */
  size: number;
  /** Index free lists by cpu_id (default) or by mm_cid. */
  mode?: IndexMode;
}

/** An empty list's head. Above every index, below LOCKED. */
const EMPTY = 2 ** 51;
const MAX_SIZE = 2 ** 31 - 1;

/** The layout of a new pool, from checked options. */
function newLayout(options: PerCpuPoolOptions): Layout {
  if (typeof options !== 'object' || options === null) throw new TypeError('PerCpuPool: options { size } are required');
  const size = checkPositiveInt('pool', 'size', options.size, MAX_SIZE);
  return { mode: checkMode('pool', options.mode), slots: slotCount(backend()), stride: LINE_WORDS, tailWords: size, params: [size, 0, 0] };
}

export class PerCpuPool extends PerCpuBase {
  readonly size: number;
  readonly #next: number;

  constructor(options: PerCpuPoolOptions) {
    const source = adopted();
    super('pool', source ?? newLayout(options));
    this.size = this.params[0];
    this.#next = HEADER_WORDS + this.slots * this.stride;
    this.needWords(this.#next + this.size);
    if (source === undefined) this.#fill();
  }

  /** This thread's handle on a pool made elsewhere (pass `pool.buffer` to a worker). */
  static from(buffer: SharedArrayBuffer): PerCpuPool {
    return adopt('pool', buffer, () => new PerCpuPool(undefined as unknown as PerCpuPoolOptions));
  }

  /** Deals the indices round-robin over the ids the creating thread can have (its allowed CPUs). */
  #fill(): void {
    const ids = this.mode === 'cpu' ? this.backend.getAffinity().filter((c) => c < this.slots) : [...Array(this.backend.getAffinity().length).keys()];
    for (let s = 0; s < this.slots; s++) Atomics.store(this.words, this.slotWord(s), BigInt(EMPTY));
    // Build each list back to front so that it pops in ascending order.
    for (let i = this.size - 1; i >= 0; i--) {
      const head = this.slotWord(ids[i % ids.length]!);
      Atomics.store(this.words, this.#next + i, Atomics.load(this.words, head));
      Atomics.store(this.words, head, BigInt(i));
    }
  }

  /** An index from the calling CPU's list, else from another CPU's, else null when the pool is empty. */
  take(): number | null {
    for (;;) {
      const id = this.id();
      const head = this.slotWord(id);
      const r = this.backend.listPop(this.mode, id, this.words, head, this.#next, this.size, EMPTY);
      if (r >= 0) return r;
      if (r === -OP_COMPARE_FAILED) return this.#steal(id);
      if (r === -OP_BAD_INDEX && this.load(head) < LOCKED) {
        throw new RangeError(`PerCpuPool.take: the list of slot ${id} holds index ${this.load(head)}, outside [0, ${this.size}): an index was given twice or the buffer was overwritten`);
      }
      // aborted, moved, or another thread held the list for a moment: try again
    }
  }

  #steal(from: number): number | null {
    for (let k = 1; k <= this.slots; k++) {
      const s = (from + k) % this.slots;
      const head = this.slotWord(s);
      if (this.load(head) === EMPTY) continue;
      const r = this.lockSlotWord(head, s);
      if (r === EMPTY) {
        this.unlockSlotWord(head, EMPTY);
        continue;
      }
      this.unlockSlotWord(head, this.load(this.#next + r));
      return r;
    }
    return null;
  }

  /** Returns index i to the pool, on the calling CPU's list. */
  give(i: number): void {
    if (typeof i !== 'number') throw new TypeError(`PerCpuPool.give: the index must be a number, not ${typeof i}`);
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new RangeError(`PerCpuPool.give: index ${i} is not an integer in [0, ${this.size})`);
    for (;;) {
      const id = this.id();
      const head = this.slotWord(id);
      const h = this.load(head);
      if (h >= LOCKED) continue;
      if (this.backend.speculativeStoreCommit(this.mode, id, this.words, head, h, this.#next + i, h, i, true) === OP_COMMITTED) return;
    }
  }
}
