/**
 * PerCpuCounter: an exact 64-bit counter that workers share through a
 * SharedArrayBuffer, with three ways to add, equally exact and safe to mix on
 * one buffer. Readers never wait for writers, and no add or reset holds
 * anything another thread could wait for.
 *
 * - 'lane' (the default, chosen by bench/): the thread's own lane, one
 *   64-byte line that only this thread writes, with a plain load and a plain
 *   store of a Float64 (exact for integers up to 2^53). Nothing is shared
 *   while adding. A thread takes a free lane the first time it makes a handle
 *   on the buffer and keeps it; a lane's amount stays counted after its
 *   thread ends. When every lane is taken, or an amount would take a lane past
 *   2^53, the add goes to the shared base word instead (compare-exchange).
 * - 'atomics': Atomics.add on the calling CPU's 64-bit word: bounded memory
 *   (one line per CPU, whatever the number of threads) and a per-CPU view.
 * - 'rseq': the calling CPU's section word, in a critical section that the
 *   kernel restarts when the thread is preempted or migrated (one crossing
 *   into the backend per add).
 *
 * Words (layout.ts), per slot: 0 section word (only sections write it),
 * 1 what reset took of it, 2 the atomics path's 64-bit word, 3 (low half) its
 * Int32 lane, used first while it holds less than 2^30 (an Int32 Atomics.add
 * makes no bigint; reset() empties it with one exchange, so nothing is ever
 * moved between two words). After the slots: a line whose
 * word 0 is the base, then one line per lane: 0 the lane's Float64, 1 what
 * reset took of it, 2 (low half) 1 when a thread owns the lane.
 *
 * reset() never writes a word another thread writes with plain stores or
 * sections: it records what it took of a lane or section word in that word's
 * "taken" word (compare-exchange), so a reader's value is word - taken.
 *
 * The signed 64-bit range: no word ever wraps, and the value is summed as a
 * bigint. The fast paths keep each word within bounds whose sum stays below
 * 2^62 (a lane below 2^53 and at most 256 lanes; per CPU, words below 2^44
 * and an Int32 lane below 2^30);
 * past them an add goes to the base, checked against the whole value. Once a
 * checked add leaves the value within 2^62 of either end, the counter raises
 * its edge flag (word 1 of the base line) and from then on every add is
 * checked: an add that would pass ±2^63 is a RangeError, never a wrap.
 */
import { REGION_BAD_ID, REGION_OVERFLOW, REGION_RETRY, type IndexMode } from '../contract/backend.js';
import { REGION_LAYOUT } from '../contract/abi.js';
import { backend } from '../thread.js';
import { PerCpuBase, adopt, adopted, checkMode, slotCount } from './core.js';
import { LINE_WORDS, MAX_LANES, makeLayout } from '../contract/layout.js';

export type CounterPath = 'lane' | 'atomics' | 'rseq';

export interface PerCpuCounterOptions {
  /** Index per-CPU slots by cpu_id (default) or by mm_cid. */
  mode?: IndexMode;
  /** How add() updates the counter (default 'lane'). */
  path?: CounterPath;
  /** Lanes for path 'lane' (default 128): threads past this many add through the base word. */
  lanes?: number;
}

const DEFAULT_LANES = 128;
/** A lane holds at most this much in magnitude (Float64 integers are exact to 2^53). */
const LANE_MAX = 2 ** 53 - 1;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
/** A per-CPU word past this (in magnitude) sends adds to the checked path (slots <= 2^16: below 2^61 in all). */
const WORD_GUARD = BigInt(REGION_LAYOUT.wordGuard);
const NEG_WORD_GUARD = -WORD_GUARD;
/** A value this close to either end of the range raises the edge flag. */
const EDGE = 2n ** 62n;
const TAKEN = 1;
const ATOMICS = 2;
/** Word 3's low half: the slot's Int32 lane, the 'atomics' path's fast word while it is within +-2^30. */
const LANE32 = 3;
const LANE32_MAX = 2 ** 30;
/** Amounts up to this go to the Int32 lane (the lane cannot overflow below 2^14 threads at its edge at once). */
const LANE32_ADD = 2 ** 16;
const OWNER_I32 = 4; // Int32 index of word 2's low half, within a line

/** This thread's lane of each counter buffer (a second handle on the same buffer shares it). */
const myLanes = new WeakMap<SharedArrayBuffer, number>();

function checkPath(path: unknown): CounterPath {
  if (path === undefined) return 'lane';
  if (path === 'lane' || path === 'atomics' || path === 'rseq') return path;
  throw new TypeError(`PerCpuCounter: path must be 'lane', 'atomics' or 'rseq', not ${JSON.stringify(path)}`);
}

function checkLanes(lanes: unknown): number {
  if (lanes === undefined) return DEFAULT_LANES;
  if (typeof lanes !== 'number' || !Number.isInteger(lanes) || lanes < 0 || lanes > MAX_LANES) {
    throw new RangeError(`PerCpuCounter: lanes must be an integer in [0, ${MAX_LANES}], not ${String(lanes)}`);
  }
  return lanes;
}

/** The amount as a bigint, or a TypeError/RangeError that says what is wrong. */
function amount(n: unknown): bigint {
  if (typeof n === 'bigint') {
    if (n > INT64_MAX || n < INT64_MIN) throw new RangeError(`PerCpuCounter.add: ${n} is outside the signed 64-bit range`);
    return n;
  }
  if (typeof n !== 'number') throw new TypeError(`PerCpuCounter.add: the amount must be a number or a bigint, not ${typeof n}`);
  if (!Number.isSafeInteger(n)) throw new RangeError(`PerCpuCounter.add: the amount must be a safe integer (or a bigint), not ${n}`);
  return BigInt(n);
}

export class PerCpuCounter extends PerCpuBase {
  /** The path add() takes. */
  readonly path: CounterPath;
  // The fields add() reads are properties assigned once, not #fields: V8 then
  // treats them as constants of the object's shape (bench/README.md).
  private readonly f64: Float64Array;
  /** Float64 index of this thread's lane value, or -1 (no lane: path not 'lane', or none free). */
  private readonly laneAt: number;
  private readonly i32: Int32Array;
  /** Int32 index of the edge flag (1: every add is checked). */
  private readonly edgeAt: number;
  readonly #base: number;
  readonly #lanes: number;
  readonly #bits = new BigInt64Array(1);
  readonly #bitsF64 = new Float64Array(this.#bits.buffer);

  constructor(options: PerCpuCounterOptions = {}) {
    const source = adopted();
    const path = checkPath(options.path);
    super('counter', source ?? makeLayout('counter', checkMode('counter', options.mode), slotCount(backend()), [checkLanes(options.lanes), 0, 0]));
    this.path = path;
    this.f64 = new Float64Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.#base = this.layout.tail;
    this.edgeAt = (this.#base + 1) * 2;
    this.#lanes = this.layout.params[0];
    this.laneAt = path === 'lane' ? this.#claimLane() : -1;
  }

  /**
   * This thread's handle on a counter made elsewhere: pass `counter.buffer` to
   * a worker and call this there. The mode and lanes come from the buffer.
   */
  static from(buffer: SharedArrayBuffer, options: Pick<PerCpuCounterOptions, 'path'> = {}): PerCpuCounter {
    return adopt('counter', buffer, () => new PerCpuCounter(options));
  }

  /** Adds n (default 1): a safe integer, or a bigint in the signed 64-bit range. */
  add(n: number | bigint = 1): void {
    // Kept small so that callers' hot loops inline it; every other case is #addOther.
    const k = this.laneAt;
    if (k >= 0 && typeof n === 'number' && (n | 0) === n && this.i32[this.edgeAt] === 0) {
      const v = this.f64[k]! + n;
      if (v <= LANE_MAX && v >= -LANE_MAX) {
        this.f64[k] = v;
        return;
      }
    }
    this.#addOther(n);
  }

  #addOther(n: unknown): void {
    if (typeof n === 'number' && (n | 0) === n && this.laneAt < 0 && this.i32[this.edgeAt] === 0) {
      // An int32 amount on the 'rseq' or 'atomics' path: no bigint unless the word is near its guard.
      if (this.path === 'rseq') {
        const r = this.region;
        r.args[0] = n;
        if (r.add() === undefined) return;
      } else {
        const id = this.id();
        if (id < this.slots) {
          // The CPU's Int32 lane while it stays within 2^30 (an Int32 compare-exchange makes no
          // bigint). Compare-exchange, not add then undo: an amount that a reader has seen in
          // the lane stays there, so the sum a reader sees never goes down while amounts are positive.
          const li = (this.slotWord(id) + LANE32) * 2;
          const i32 = this.i32;
          if (n <= LANE32_ADD && n >= -LANE32_ADD) {
            let cur = i32[li]!;
            for (;;) {
              const now = cur + n;
              if (now > LANE32_MAX || now < -LANE32_MAX) break; // past it: #addAny adds to the CPU's 64-bit word
              const seen = Atomics.compareExchange(i32, li, cur, now);
              if (seen === cur) return;
              cur = seen;
            }
          }
        }
      }
    }
    this.#addAny(n);
  }

  /** Any amount on any path (the checks, the guards, the base). */
  #addAny(n: unknown): void {
    const a = amount(n);
    if (Atomics.load(this.i32, this.edgeAt) !== 0) return this.#addChecked(a);
    const k = this.laneAt;
    if (k >= 0) {
      const v = this.f64[k]! + Number(a);
      if (typeof n === 'number' && v <= LANE_MAX && v >= -LANE_MAX) {
        this.f64[k] = v;
        return;
      }
    } else if (this.path === 'rseq' && typeof n === 'number' && a <= WORD_GUARD && a >= NEG_WORD_GUARD) {
      this.region.args[0] = n;
      for (;;) {
        const s = this.region.add();
        if (s === undefined) return;
        if (s === REGION_OVERFLOW) break; // past the word's guard: the checked path
        if (s !== REGION_RETRY) this.fail('add', s);
      }
    } else if (a <= WORD_GUARD && a >= NEG_WORD_GUARD) {
      // 'atomics', or 'lane' with every lane taken, past the Int32 lane: this CPU's 64-bit word.
      const id = this.id();
      if (id >= this.slots) this.fail('add', REGION_BAD_ID);
      const w = this.slotWord(id) + ATOMICS;
      const words = this.words;
      // Compare-exchange within the guard (as for the Int32 lane: nothing is added and then taken back).
      let cur = Atomics.load(words, w);
      while (cur <= WORD_GUARD && cur >= NEG_WORD_GUARD) {
        const seen = Atomics.compareExchange(words, w, cur, cur + a);
        if (seen === cur) return;
        cur = seen;
      }
      // past the guard: add where the range is checked
    }
    this.#addChecked(a);
  }

  /** base += a, refused when the whole value would leave the signed 64-bit range; raises the edge flag near it. */
  #addChecked(a: bigint): void {
    for (;;) {
      const old = Atomics.load(this.words, this.#base);
      const total = this.#others() + old + a;
      if (total > INT64_MAX || total < INT64_MIN) throw new RangeError(`PerCpuCounter.add: the counter would pass the signed 64-bit range (${total})`);
      if (total >= EDGE || total <= -EDGE) Atomics.store(this.i32, this.edgeAt, 1);
      if (Atomics.compareExchange(this.words, this.#base, old, old + a) === old) return;
    }
  }

  /** A lane no thread owns, now this thread's; -1 when none is free. */
  #claimLane(): number {
    const mine = myLanes.get(this.buffer);
    if (mine !== undefined) return mine;
    for (let k = 0; k < this.#lanes; k++) {
      const line = this.#base + LINE_WORDS * (k + 1);
      if (Atomics.compareExchange(this.i32, line * 2 + OWNER_I32, 0, 1) === 0) {
        myLanes.set(this.buffer, line);
        return line;
      }
    }
    return -1;
  }

  /** The Float64 in word w, read with one atomic 64-bit load. */
  #laneValue(w: number): bigint {
    this.#bits[0] = Atomics.load(this.words, w);
    return BigInt(this.#bitsF64[0]!);
  }

  /** word - taken of a word that only its writers change and reset() takes from through `taken`. */
  #net(w: number, read: (w: number) => bigint): bigint {
    for (;;) {
      const t = Atomics.load(this.words, w + TAKEN);
      const v = read(w);
      if (Atomics.load(this.words, w + TAKEN) === t) return v - t;
      // a reset took from this word meanwhile: read again
    }
  }

  readonly #word = (w: number): bigint => Atomics.load(this.words, w);
  readonly #lane = (w: number): bigint => this.#laneValue(w);

  #slotValue(i: number): bigint {
    const w = this.slotWord(i);
    return this.#net(w, this.#word) + Atomics.load(this.words, w + ATOMICS) + BigInt(Atomics.load(this.i32, (w + LANE32) * 2));
  }

  #laneOwned(k: number): boolean {
    return Atomics.load(this.i32, (this.#base + LINE_WORDS * (k + 1)) * 2 + OWNER_I32) !== 0;
  }

  /** The exact sum of everything added and not taken by reset(), as a bigint. */
  valueBigInt(): bigint {
    return Atomics.load(this.words, this.#base) + this.#others();
  }

  /** Everything but the base: the slots' words and the owned lanes. */
  #others(): bigint {
    let sum = 0n;
    for (let i = 0; i < this.slots; i++) sum += this.#slotValue(i);
    for (let k = 0; k < this.#lanes; k++) if (this.#laneOwned(k)) sum += this.#net(this.#base + LINE_WORDS * (k + 1), this.#lane);
    return sum;
  }

  /** The exact sum; a RangeError when it is past Number.MAX_SAFE_INTEGER (use valueBigInt()). */
  value(): number {
    const v = this.valueBigInt();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new RangeError(`PerCpuCounter.value: ${v} is not a safe integer; use valueBigInt()`);
    }
    return Number(v);
  }

  /** What each per-CPU slot holds (paths 'atomics' and 'rseq'), indexed by id; lanes and the base are not per CPU. */
  perCpu(): bigint[] {
    return Array.from({ length: this.slots }, (_, i) => this.#slotValue(i));
  }

  /**
   * Takes what the counter holds and returns it, leaving 0 plus whatever is
   * added meanwhile: an add that races with reset() is either in the returned
   * total or stays in the counter, never both, never neither.
   */
  reset(): bigint {
    let taken = Atomics.exchange(this.words, this.#base, 0n);
    for (let i = 0; i < this.slots; i++) {
      const w = this.slotWord(i);
      taken += Atomics.exchange(this.words, w + ATOMICS, 0n) + BigInt(Atomics.exchange(this.i32, (w + LANE32) * 2, 0));
      taken += this.#take(w, this.#word);
    }
    for (let k = 0; k < this.#lanes; k++) if (this.#laneOwned(k)) taken += this.#take(this.#base + LINE_WORDS * (k + 1), this.#lane);
    return taken;
  }

  /** Moves word w's net amount into its taken word; returns it. */
  #take(w: number, read: (w: number) => bigint): bigint {
    for (;;) {
      const t = Atomics.load(this.words, w + TAKEN);
      const v = read(w);
      if (Atomics.compareExchange(this.words, w + TAKEN, t, v) === t) return v - t;
    }
  }
}
