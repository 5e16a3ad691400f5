/**
 * PerCpuCounter: one 64-byte slot per possible CPU (or concurrency id), in a
 * SharedArrayBuffer that workers share.
 *
 * Two ways to add, equally exact, and safe to mix on one buffer:
 * - 'atomics': read the id from the rseq area (one load) and Atomics.add on
 *   that slot's 32-bit lane. Exact because the add is atomic; per-CPU because
 *   threads on different CPUs touch different lines. No call into the backend.
 *   An Int32 Atomics.add returns a number where a BigInt64 one allocates a
 *   bigint, which is most of the difference in the benchmark. A lane that
 *   reaches ±2^30 is folded into the slot's 64-bit base; amounts past ±2^16
 *   go to the base directly.
 * - 'rseq': the add critical section, retried until it commits: a plain add
 *   on this CPU's 64-bit rseq word that the kernel aborts if the thread is
 *   preempted or migrated. One call into the backend per attempt.
 *
 * Slot layout (64-bit words):
 *   word 0  rseq word: written only by critical sections on that CPU (never
 *           by Atomics, never by reset, so no plain store can undo another
 *           thread's atomic write)
 *   word 1  base: written only with Atomics (folds, large amounts, reset)
 *   word 2  low half: the Int32 lane of the 'atomics' path
 * The value of a slot is word0 + word1 + lane. Folding moves an amount from
 * the lane to the base in two steps; a sequence lock in the line after the
 * slots makes readers retry across a fold or a reset, so a reader never sees
 * an amount in both places or in neither.
 */
import { OP_COMMITTED } from '../backend.js';
import type { IndexMode } from '../backend.js';
import { HEADER_WORDS, LINE_WORDS, PerCpuBase, adopt, adopted, checkMode, slotCount } from './core.js';
import { backend } from '../thread.js';

export type CounterPath = 'atomics' | 'rseq';

export interface PerCpuCounterOptions {
  /** Index slots by cpu_id (default) or by mm_cid. */
  mode?: IndexMode;
  /** How add() updates the slot (default 'atomics'). */
  path?: CounterPath;
}

/** Largest amount (in magnitude) the 'atomics' path adds to the Int32 lane. */
const LANE_MAX_ADD = 2 ** 16;
/**
 * A lane at or past ±FOLD_AT is folded into the base. Each thread folds before
 * its add returns, so at most one lane-sized amount per thread is ever past
 * FOLD_AT: the lane cannot overflow below 2^14 threads on one buffer.
 */
const FOLD_AT = 2 ** 30;
const BASE_WORD = 1;
/** Int32 index of slot 0's lane (the low half of the slot's word 2), and Int32 elements per slot. */
const LANE0 = HEADER_WORDS * 2 + 4;
const LANE_STRIDE = LINE_WORDS * 2;

/** Int32 index of slot id's lane. */
function lane(id: number): number {
  return LANE0 + id * LANE_STRIDE;
}

function checkPath(path: unknown): CounterPath {
  if (path === undefined || path === 'atomics' || path === 'rseq') return path ?? 'atomics';
  throw new TypeError(`PerCpuCounter: path must be 'atomics' or 'rseq', not ${JSON.stringify(path)}`);
}

function checkCount(n: unknown): number {
  if (typeof n !== 'number') throw new TypeError(`PerCpuCounter.add: the amount must be a number, not ${typeof n}`);
  if (!Number.isSafeInteger(n)) throw new RangeError(`PerCpuCounter.add: the amount must be a safe integer, not ${n}`);
  return n;
}

export class PerCpuCounter extends PerCpuBase {
  /** The path add() takes. */
  readonly path: CounterPath;
  // The two fields add() reads are properties assigned once, not #fields (see PerCpuBase.idField).
  /**
   * 1 when path === 'atomics', else 0. A small integer, not a boolean: V8
   * keeps the field's type as an integer, so the test is one load and one
   * compare, where a boolean field is tested as any value (its map loaded).
   */
  private readonly atomics: 0 | 1;
  private readonly i32: Int32Array;
  /** Int32 index of the sequence lock (even: quiet, odd: a fold or reset is moving amounts). */
  readonly #seq: number;

  constructor(options: PerCpuCounterOptions = {}) {
    const source = adopted();
    const path = checkPath(options.path);
    super('counter', source ?? { mode: checkMode('counter', options.mode), slots: slotCount(backend()), stride: LINE_WORDS, tailWords: LINE_WORDS, params: [0, 0, 0] });
    if (this.stride !== LINE_WORDS) throw new TypeError(`PerCpuCounter.from: the buffer's header gives ${this.stride} words per slot, not ${LINE_WORDS}`);
    this.needWords(HEADER_WORDS + this.slots * this.stride + LINE_WORDS);
    this.path = path;
    this.atomics = path === 'atomics' ? 1 : 0;
    this.i32 = new Int32Array(this.buffer);
    this.#seq = (HEADER_WORDS + this.slots * this.stride) * 2;
  }

  /**
   * This thread's handle on a counter made elsewhere: pass `counter.buffer` to
   * a worker and call this there. The mode comes from the buffer.
   */
  static from(buffer: SharedArrayBuffer, options: Pick<PerCpuCounterOptions, 'path'> = {}): PerCpuCounter {
    return adopt('counter', buffer, () => new PerCpuCounter(options));
  }

  /** Adds n (default 1) to the calling CPU's slot. */
  add(n: number = 1): void {
    // Kept small so that callers' hot loops inline it; every other case is #addOther.
    if (this.atomics === 1 && (n | 0) === n && n <= LANE_MAX_ADD && n >= -LANE_MAX_ADD) {
      const id = this.id();
      const now = Atomics.add(this.i32, lane(id), n) + n;
      if (now >= FOLD_AT || now <= -FOLD_AT) this.#fold(id);
      return;
    }
    this.#addOther(n);
  }

  /** add() for the 'rseq' path, amounts past the lane's limit, and bad input. */
  #addOther(n: unknown): void {
    const count = checkCount(n);
    if (this.atomics === 1) {
      Atomics.add(this.words, this.slotWord(this.id()) + BASE_WORD, BigInt(count));
      return;
    }
    for (;;) {
      const id = this.id();
      if (this.backend.add(this.mode, id, this.words, this.slotWord(id), count) === OP_COMMITTED) return;
    }
  }

  /** The exact sum of all slots, as a bigint. */
  valueBigInt(): bigint {
    return this.#read(() => {
      let sum = 0n;
      for (let i = 0; i < this.slots; i++) sum += this.#slotValue(i);
      return sum;
    });
  }

  /** The exact sum of all slots; a RangeError when it is past Number.MAX_SAFE_INTEGER (use valueBigInt()). */
  value(): number {
    const v = this.valueBigInt();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new RangeError(`PerCpuCounter.value: ${v} is not a safe integer; use valueBigInt()`);
    }
    return Number(v);
  }

  /** Each slot's value, indexed by id. */
  perCpu(): bigint[] {
    return this.#read(() => Array.from({ length: this.slots }, (_, i) => this.#slotValue(i)));
  }

  /**
   * Takes what every slot holds and returns it, leaving the counter at 0 plus
   * whatever was added meanwhile: an add that races with reset() is either in
   * the returned total or stays in the counter, never both, never neither.
   * The rseq word is only read (sections own it); the base takes its negation.
   */
  reset(): bigint {
    return this.#write(() => {
      let taken = 0n;
      for (let i = 0; i < this.slots; i++) {
        const w = this.slotWord(i);
        const r = Atomics.load(this.words, w);
        const inLane = Atomics.exchange(this.i32, lane(i), 0);
        const base = Atomics.exchange(this.words, w + BASE_WORD, -r);
        taken += r + base + BigInt(inLane);
      }
      return taken;
    });
  }

  #slotValue(i: number): bigint {
    const w = this.slotWord(i);
    return Atomics.load(this.words, w) + Atomics.load(this.words, w + BASE_WORD) + BigInt(Atomics.load(this.i32, lane(i)));
  }

  /** Moves slot id's lane into its base. */
  #fold(id: number): void {
    this.#write(() => {
      const inLane = Atomics.exchange(this.i32, lane(id), 0);
      Atomics.add(this.words, this.slotWord(id) + BASE_WORD, BigInt(inLane));
    });
  }

  /** Runs f with the sequence lock held (odd); folds and resets are rare, so waiting is a spin. */
  #write<T>(f: () => T): T {
    for (;;) {
      const s = Atomics.load(this.i32, this.#seq);
      if ((s & 1) === 0 && Atomics.compareExchange(this.i32, this.#seq, s, s + 1) === s) break;
    }
    try {
      return f();
    } finally {
      Atomics.add(this.i32, this.#seq, 1);
    }
  }

  /** Runs f until no fold or reset overlapped it. */
  #read<T>(f: () => T): T {
    for (;;) {
      const s = Atomics.load(this.i32, this.#seq);
      if ((s & 1) !== 0) continue;
      const v = f();
      if (Atomics.load(this.i32, this.#seq) === s) return v;
    }
  }
}
