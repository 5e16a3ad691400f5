/**
 * PerCpuBuffer: per-CPU stacks of fixed-size byte records in a SharedArrayBuffer.
 *
 * push() copies the record into the calling CPU's stack and commits the new
 * count in one critical section (copy then commit); pop() copies the top
 * record out and commits the smaller count the same way. drain() takes every
 * CPU's records: it locks each non-empty stack's count word and fences, so no
 * section can commit into it while it is read (see PerCpuBase.lockSlotWord).
 *
 * Per slot: word 0 is the record count; the records follow, packed.
 */
import { OP_COMMITTED } from '../backend.js';
import type { IndexMode } from '../backend.js';
import { RseqError } from '../errors.js';
import { backend } from '../thread.js';
import { HEADER_WORDS, LOCKED, PerCpuBase, type Layout, adopt, adopted, checkMode, checkPositiveInt, lines, slotCount } from './core.js';

export interface PerCpuBufferOptions {
  /** Bytes in each record. */
  recordSize: number;
  /** Records each CPU's stack holds. */
  capacity: number;
  /** Index stacks by cpu_id (default) or by mm_cid. */
  mode?: IndexMode;
}

const MAX_RECORD = 1 << 16;
const MAX_CAPACITY = 1 << 20;

/** The layout of a new buffer, from checked options. */
function newLayout(options: PerCpuBufferOptions): Layout {
  if (typeof options !== 'object' || options === null) throw new TypeError('PerCpuBuffer: options { recordSize, capacity } are required');
  const recordSize = checkPositiveInt('buffer', 'recordSize', options.recordSize, MAX_RECORD);
  const capacity = checkPositiveInt('buffer', 'capacity', options.capacity, MAX_CAPACITY);
  const stride = lines(1 + Math.ceil((recordSize * capacity) / 8));
  return { mode: checkMode('buffer', options.mode), slots: slotCount(backend()), stride, tailWords: 0, params: [recordSize, capacity, 0] };
}

export class PerCpuBuffer extends PerCpuBase {
  readonly recordSize: number;
  readonly capacity: number;
  /**
   * pop() copies into this record, then returns a copy of it. Backed by its own
   * ArrayBuffer, so it lives off V8's heap and the native call need not move it
   * there on every pop (a small `new Uint8Array(n)` lives on the heap).
   */
  readonly #scratch: Uint8Array;

  constructor(options: PerCpuBufferOptions) {
    const source = adopted();
    super('buffer', source ?? newLayout(options));
    this.recordSize = this.params[0];
    this.capacity = this.params[1];
    this.needWords(HEADER_WORDS + this.slots * this.stride);
    this.#scratch = new Uint8Array(new ArrayBuffer(this.recordSize));
  }

  /** This thread's handle on a buffer made elsewhere (pass `buffer.buffer` to a worker). */
  static from(buffer: SharedArrayBuffer): PerCpuBuffer {
    return adopt('buffer', buffer, () => new PerCpuBuffer(undefined as unknown as PerCpuBufferOptions));
  }

  /** Byte offset of record k of slot id. */
  #recordOffset(id: number, k: number): number {
    return (this.slotWord(id) + 1) * 8 + k * this.recordSize;
  }

  #checkRecord(record: unknown): Uint8Array {
    if (!(record instanceof Uint8Array)) throw new TypeError(`PerCpuBuffer.push: the record must be a Uint8Array, not ${record === null ? 'null' : typeof record}`);
    if (record.buffer.byteLength === 0) throw new TypeError('PerCpuBuffer.push: the record\'s ArrayBuffer is detached or empty');
    if (record.byteLength !== this.recordSize) {
      throw new RangeError(`PerCpuBuffer.push: the record has ${record.byteLength} bytes; this buffer's records have ${this.recordSize}`);
    }
    return record;
  }

  /**
   * Copies the record onto the calling CPU's stack. When that stack is full,
   * throws ERR_RSEQ_BUFFER_FULL and stores nothing: the record stays the caller's.
   */
  push(record: Uint8Array): void {
    const rec = this.#checkRecord(record);
    for (;;) {
      const id = this.id();
      const count = this.slotWord(id);
      const e = this.load(count);
      if (e >= LOCKED) continue; // drain() holds this stack for a moment
      if (e >= this.capacity) {
        throw new RseqError('ERR_RSEQ_BUFFER_FULL', `PerCpuBuffer.push: the stack of ${this.mode === 'cpu' ? 'CPU' : 'concurrency id'} ${id} is full (${this.capacity} records); the record was not stored`);
      }
      if (this.backend.copyCommit(this.mode, id, this.words, count, e, this.bytes, this.#recordOffset(id, e), rec, 0, this.recordSize, e + 1, true) === OP_COMMITTED) return;
    }
  }

  /** Takes the top record of the calling CPU's stack, or null when that stack is empty. */
  pop(): Uint8Array | null {
    for (;;) {
      const id = this.id();
      const count = this.slotWord(id);
      const e = this.load(count);
      if (e >= LOCKED) continue;
      if (e === 0) return null;
      const out = this.#scratch;
      if (this.backend.copyCommit(this.mode, id, this.words, count, e, out, 0, this.bytes, this.#recordOffset(id, e - 1), this.recordSize, e - 1, false) === OP_COMMITTED) {
        return out.slice();
      }
    }
  }

  /** Takes every record of every CPU's stack (each stack bottom to top, stacks in id order). */
  drain(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let s = 0; s < this.slots; s++) {
      const count = this.slotWord(s);
      if (this.load(count) === 0) continue;
      const n = this.lockSlotWord(count, s);
      for (let k = 0; k < n; k++) out.push(this.bytes.slice(this.#recordOffset(s, k), this.#recordOffset(s, k + 1)));
      this.unlockSlotWord(count, 0);
    }
    return out;
  }

  /** Records held now, over all stacks. */
  size(): number {
    let n = 0;
    for (let s = 0; s < this.slots; s++) n += this.load(this.slotWord(s)) % LOCKED;
    return n;
  }
}
