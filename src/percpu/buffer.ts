/**
 * PerCpuBuffer: per-CPU stacks of fixed-size byte records in a SharedArrayBuffer.
 *
 * push() copies the record into the region's record buffer, and the bound
 * region copies it onto the calling CPU's stack and commits the new count in
 * one critical section; pop() is the same the other way. drain() takes every
 * CPU's records under a claim on each stack's count (core.ts): no lock that a
 * terminated thread could leave held.
 *
 * Per slot: word 0 is the record count; the records follow, packed.
 */
import { REGION_CORRUPT, REGION_EMPTY, REGION_LOCKED, REGION_RETRY, type IndexMode } from '../contract/backend.js';
import { RseqError } from '../contract/errors.js';
import { backend } from '../thread.js';
import { PerCpuBase, adopt, adopted, checkMode, checkPositiveInt, claimedValue, newWait, slotCount } from './core.js';
import { LOCKED, MAX_CAPACITY, MAX_RECORD, makeLayout, type Layout } from '../contract/layout.js';

export interface PerCpuBufferOptions {
  /** Bytes in each record. */
  recordSize: number;
  /** Records each CPU's stack holds. */
  capacity: number;
  /** Index stacks by cpu_id (default) or by mm_cid. */
  mode?: IndexMode;
}

/** The layout of a new buffer, from checked options. */
function newLayout(options: PerCpuBufferOptions): Layout {
  if (typeof options !== 'object' || options === null) throw new TypeError('PerCpuBuffer: options { recordSize, capacity } are required');
  const recordSize = checkPositiveInt('buffer', 'recordSize', options.recordSize, MAX_RECORD);
  const capacity = checkPositiveInt('buffer', 'capacity', options.capacity, MAX_CAPACITY);
  return makeLayout('buffer', checkMode('buffer', options.mode), slotCount(backend()), [recordSize, capacity, 0]);
}

/** V8 keeps a typed array of up to 64 bytes on its heap (V8_TYPED_ARRAY_MAX_SIZE_IN_HEAP). */
const SMALL_RECORD = 64;

/** True where an Int32 keeps its lowest byte first (x64 and arm64 do). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The region's own record as Int32 words, so that a small record is copied
 * through it four bytes at a time (less than half the time of a byte loop
 * here); null where that cannot keep the bytes in order (a big-endian host),
 * the size is not a whole number of words, or the record is not word-aligned.
 */
function wordsOf(record: Uint8Array, size: number): Int32Array | null {
  if (!LITTLE_ENDIAN || size > SMALL_RECORD || size % 4 !== 0 || record.length !== size || record.byteOffset % 4 !== 0) return null;
  return new Int32Array(record.buffer, record.byteOffset, size / 4);
}

export class PerCpuBuffer extends PerCpuBase {
  readonly recordSize: number;
  readonly capacity: number;
  readonly #bytes: Uint8Array;
  /** wordsOf(the region's record), or null. */
  private readonly recordWords: Int32Array | null;

  constructor(options: PerCpuBufferOptions) {
    const source = adopted();
    super('buffer', source ?? newLayout(options));
    this.recordSize = this.layout.params[0];
    this.capacity = this.layout.params[1];
    this.#bytes = new Uint8Array(this.buffer);
    this.recordWords = wordsOf(this.region.record, this.recordSize);
  }

  /** This thread's handle on a buffer made elsewhere (pass `buffer.buffer` to a worker). */
  static from(buffer: SharedArrayBuffer): PerCpuBuffer {
    return adopt('buffer', buffer, () => new PerCpuBuffer(undefined as unknown as PerCpuBufferOptions));
  }

  /** Throws what is wrong with a record that is not a Uint8Array of recordSize bytes. */
  #checkRecord(record: unknown): void {
    if (!(record instanceof Uint8Array)) throw new TypeError(`PerCpuBuffer.push: the record must be a Uint8Array, not ${record === null ? 'null' : typeof record}`);
    if (record.byteLength !== this.recordSize) {
      if (record.buffer.byteLength === 0) throw new TypeError("PerCpuBuffer.push: the record's ArrayBuffer is detached or empty");
      throw new RangeError(`PerCpuBuffer.push: the record has ${record.byteLength} bytes; this buffer's records have ${this.recordSize}`);
    }
  }

  /**
   * Copies the record onto the calling CPU's stack. When that stack is full,
   * throws ERR_RSEQ_BUFFER_FULL and stores nothing: the record stays the caller's.
   */
  push(record: Uint8Array): void {
    const size = this.recordSize;
    if (!(record instanceof Uint8Array) || record.length !== size) this.#checkRecord(record);
    const r = this.region;
    // A record of up to 64 bytes may live on V8's heap, which a native call
    // would first move off it (costly, and again for every new record): copy
    // it into the region's own record instead. A larger one is read in place.
    const small = size <= SMALL_RECORD;
    if (small) {
      const w = this.recordWords;
      if (w !== null) {
        const m = w.length;
        for (let j = 0, k = 0; j < m; j++, k += 4) w[j] = record[k]! | (record[k + 1]! << 8) | (record[k + 2]! << 16) | (record[k + 3]! << 24);
      } else {
        const dst = r.record;
        for (let i = 0; i < size; i++) dst[i] = record[i]!;
      }
    }
    let s = small ? r.push() : r.push(record);
    if (s === undefined) return;
    const wait = newWait();
    for (;;) {
      if (s === REGION_EMPTY) {
        throw new RseqError('ERR_RSEQ_BUFFER_FULL', `PerCpuBuffer.push: the stack of ${this.mode === 'cpu' ? 'CPU' : 'concurrency id'} ${this.id()} is full (${this.capacity} records); the record was not stored`);
      }
      if (s === REGION_LOCKED) this.waitOwnSlot(0, wait);
      else if (s !== REGION_RETRY) this.fail('push', s);
      s = small ? r.push() : r.push(record);
      if (s === undefined) return;
    }
  }

  /**
   * Takes the top record of the calling CPU's stack, or null when that stack
   * is empty. With `into` (a Uint8Array of recordSize bytes) the record is
   * copied there and `into` is returned; otherwise into a new Uint8Array.
   */
  pop(into?: Uint8Array): Uint8Array | null {
    const size = this.recordSize;
    if (into !== undefined && (!(into instanceof Uint8Array) || into.length !== size)) {
      throw new TypeError(`PerCpuBuffer.pop: into must be a Uint8Array of ${size} bytes`);
    }
    const r = this.region;
    // As in push: a small record comes through the region's own record.
    const direct = size <= SMALL_RECORD ? null : (into ?? new Uint8Array(size));
    let s = direct === null ? r.pop() : r.pop(direct);
    if (s !== undefined) {
      const wait = newWait();
      do {
        if (s === REGION_EMPTY) return null;
        if (s === REGION_LOCKED) this.waitOwnSlot(0, wait);
        else if (s !== REGION_RETRY) this.fail('pop', s);
        s = direct === null ? r.pop() : r.pop(direct);
      } while (s !== undefined);
    }
    if (direct !== null) return direct;
    // A new record is made as a copy of the region's (one builtin call that
    // allocates and copies): faster here than allocating and copying words in
    // JS, on Node 20, 22 and 26 alike (bench/analysis/crossing.cjs).
    if (into === undefined) return new Uint8Array(r.record);
    const w = this.recordWords;
    if (w !== null) {
      const m = w.length;
      for (let j = 0, k = 0; j < m; j++, k += 4) {
        const v = w[j]!;
        into[k] = v;
        into[k + 1] = v >> 8;
        into[k + 2] = v >> 16;
        into[k + 3] = v >> 24;
      }
    } else {
      const src = r.record;
      for (let i = 0; i < size; i++) into[i] = src[i]!;
    }
    return into;
  }

  /**
   * Pushes the records packed back to back in `records` (a whole number of
   * records) onto the calling CPU's stack in one critical section, as many as
   * fit, and returns how many were stored: the rest did not fit (0 when the
   * stack is full).
   */
  pushMany(records: Uint8Array): number {
    return this.#batch('pushMany', records);
  }

  /**
   * Takes up to into.length / recordSize records off the top of the calling
   * CPU's stack in one critical section, into `into` in stack order (the top
   * record last), and returns how many it took (0 when the stack is empty).
   */
  popMany(into: Uint8Array): number {
    return this.#batch('popMany', into);
  }

  #batch(op: 'pushMany' | 'popMany', bytes: Uint8Array): number {
    this.#checkBatch(op, bytes);
    const wait = newWait();
    for (;;) {
      const n = this.region[op](bytes);
      if (n >= 0) return n;
      if (n === -REGION_LOCKED) this.waitOwnSlot(0, wait);
      else if (n !== -REGION_RETRY) this.fail(op, -n);
    }
  }

  #checkBatch(op: string, bytes: unknown): void {
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`PerCpuBuffer.${op}: the records must be a Uint8Array, not ${bytes === null ? 'null' : typeof bytes}`);
    if (bytes.length % this.recordSize !== 0) {
      throw new RangeError(`PerCpuBuffer.${op}: ${bytes.length} bytes is not a whole number of ${this.recordSize}-byte records`);
    }
  }

  /** Takes every record of every CPU's stack (each stack bottom to top, stacks in id order). */
  drain(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let s = 0; s < this.slots; s++) {
      const count = this.slotWord(s);
      const first = (count + 1) * 8;
      const got = this.claimed(
        count,
        s,
        (v) => v !== 0,
        (v) => {
          if (v > this.capacity) this.fail('drain', REGION_CORRUPT);
          const records: Uint8Array[] = [];
          for (let k = 0; k < v; k++) records.push(this.#bytes.slice(first + k * this.recordSize, first + (k + 1) * this.recordSize));
          return { next: 0, result: records };
        },
      );
      if (got !== null) for (const r of got) out.push(r);
    }
    return out;
  }

  /** Records held now, over all stacks. */
  size(): number {
    let n = 0;
    for (let s = 0; s < this.slots; s++) {
      const v = this.load(this.slotWord(s));
      n += v >= LOCKED ? claimedValue(v) : v;
    }
    return n;
  }
}
