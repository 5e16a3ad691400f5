/**
 * PerCpuCounter: one 64-bit slot per possible CPU (or concurrency id), each on
 * its own cache line, in a SharedArrayBuffer that workers share.
 *
 * Two ways to add, equally exact:
 * - 'atomics': read the id from the rseq area (one load) and Atomics.add on
 *   that slot. Exact because the add is atomic; per-CPU because threads on
 *   different CPUs touch different lines. No call into the backend.
 * - 'rseq': the add critical section, retried until it commits: a plain add
 *   on this CPU's slot that the kernel aborts if the thread is preempted or
 *   migrated. One call into the backend per attempt.
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

  constructor(options: PerCpuCounterOptions = {}) {
    const source = adopted();
    const path = checkPath(options.path);
    super('counter', source ?? { mode: checkMode('counter', options.mode), slots: slotCount(backend()), stride: LINE_WORDS, tailWords: 0, params: [0, 0, 0] });
    this.needWords(HEADER_WORDS + this.slots * this.stride);
    this.path = path;
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
    const count = checkCount(n);
    if (this.path === 'atomics') {
      Atomics.add(this.words, HEADER_WORDS + this.id() * this.stride, count === 1 ? 1n : BigInt(count));
      return;
    }
    for (;;) {
      const id = this.id();
      if (this.backend.add(this.mode, id, this.words, HEADER_WORDS + id * this.stride, count) === OP_COMMITTED) return;
    }
  }

  /** The exact sum of all slots, as a bigint. */
  valueBigInt(): bigint {
    let sum = 0n;
    for (let i = 0; i < this.slots; i++) sum += Atomics.load(this.words, HEADER_WORDS + i * this.stride);
    return sum;
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
    return Array.from({ length: this.slots }, (_, i) => Atomics.load(this.words, HEADER_WORDS + i * this.stride));
  }

  /**
   * Sets every slot to 0 and returns what they held. Each slot is exchanged
   * atomically, so an add that races with reset() is either in the returned
   * total or stays in the counter: nothing is lost.
   */
  reset(): bigint {
    let taken = 0n;
    for (let i = 0; i < this.slots; i++) taken += Atomics.exchange(this.words, HEADER_WORDS + i * this.stride, 0n);
    return taken;
  }
}
