/**
 * A structure's bound operations (BoundRegion: add, push, pop, pushMany,
 * popMany, take, give) written over single-attempt sections, with the
 * statuses, checks and retries of native/region.cc, so every implementation
 * gives the same results. Two callers supply the sections: the simulator
 * backend (its step programs, fallback/host-sections.ts) and the slot-locked path of
 * kernels where critical sections are unsafe (src/percpu/locked.ts). Both
 * serialise a structure's sections on the locks in the structure's own buffer
 * (section-locks.ts), so every thread that uses the structure shares them,
 * whatever the order in which threads loaded the package.
 */
import {
  OP_BAD_INDEX,
  OP_COMMITTED,
  OP_COMPARE_FAILED,
  REGION_BAD_ARG,
  REGION_BAD_ID,
  REGION_CORRUPT,
  REGION_EMPTY,
  REGION_LOCKED,
  REGION_NOT_TAKEN,
  REGION_OVERFLOW,
  REGION_RETRY,
  type BoundRegion,
} from './backend.js';
import { REGION_LAYOUT } from './abi.js';
import { EMPTY, HEADER_WORDS, LOCKED, TAKEN, type Layout } from './layout.js';
import type { SectionArgs } from './sections.js';

/** The sections a structure's operations are made of. */
export type RegionOp = 'storeIfEqual' | 'speculativeStoreCommit' | 'copyCommit' | 'listPop';

/** A section's named arguments (sections.ts) but its mode and words: the region's. */
export type RegionSectionArgs<N extends RegionOp> = Omit<SectionArgs[N], 'mode' | 'words'>;

/** One attempt of each section, in the region's mode, on its words. */
export interface RegionSections {
  currentId(): number;
  /** As Backend.section: an OpStatus, or for listPop the popped index or minus an OpStatus. */
  section<N extends RegionOp>(op: N, args: RegionSectionArgs<N>): number;
}

const MAX_ATTEMPTS = 2 ** 16;
/** A counter's word stays within +-WORD_GUARD (the table's; native/region.h has it from there too). */
const WORD_GUARD = REGION_LAYOUT.wordGuard;

export function sectionRegion(words: BigInt64Array, layout: Layout, s: RegionSections): Omit<BoundRegion, 'fence'> {
  const bytes = new Uint8Array(words.buffer);
  const [recordSize, capacity] = layout.params;
  const size = layout.params[0];
  const record = new Uint8Array(layout.kind === 'buffer' ? recordSize : 0);
  const args = new Float64Array(4);
  const load = (i: number): number => Number(Atomics.load(words, i));
  const slotWord = (id: number): number => HEADER_WORDS + id * layout.stride;
  /** The thread's id, or -1 past the slots. */
  const slotId = (): number => {
    const id = s.currentId();
    return id < layout.slots ? id : -1;
  };
  const integerArg = (lo: number, hi: number): number | null => {
    const v = args[0]!;
    return Number.isInteger(v) && v >= lo && v <= hi ? v : null;
  };

  /**
   * Moves up to `limit` records (default: as many as `records` holds) between
   * `records` and this CPU's stack in one copy-then-commit section: onto its
   * top (push) or off it (pop). The number moved, or minus a status.
   */
  const stackMove = (records: Uint8Array, push: boolean, limit = Infinity): number => {
    if (!(records instanceof Uint8Array) || records.length % recordSize !== 0 || (limit === 1 && records.length !== recordSize)) return -REGION_BAD_ARG;
    const count = Math.min(limit, records.length / recordSize);
    for (let a = 0; a < MAX_ATTEMPTS; a++) {
      const id = slotId();
      if (id < 0) return -REGION_BAD_ID;
      const word = slotWord(id);
      const e = load(word);
      if (e >= LOCKED) return -REGION_LOCKED;
      if (!(e >= 0 && e <= capacity)) return -REGION_CORRUPT;
      const k = Math.min(count, push ? capacity - e : e);
      if (k === 0) return 0;
      const stack = (word + 1) * 8 + (push ? e : e - k) * recordSize;
      const status = push
        ? s.section('copyCommit', { id, index: word, expect: e, dst: bytes, dstOffset: stack, src: records, srcOffset: 0, length: k * recordSize, newv: e + k, release: true })
        : s.section('copyCommit', { id, index: word, expect: e, dst: records, dstOffset: 0, src: bytes, srcOffset: stack, length: k * recordSize, newv: e - k, release: false });
      if (status === OP_COMMITTED) return k;
    }
    return -REGION_RETRY;
  };
  /** One record: undefined when it moved, else a status (REGION_EMPTY: nothing moved). */
  const oneRecord = (moved: number): number | undefined => (moved === 1 ? undefined : moved === 0 ? REGION_EMPTY : -moved);

  return {
    args,
    record,
    add(): number | undefined {
      const n = integerArg(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      if (n === null) return REGION_BAD_ARG;
      for (let a = 0; a < MAX_ATTEMPTS; a++) {
        const id = slotId();
        if (id < 0) return REGION_BAD_ID;
        const w = slotWord(id);
        const v = load(w);
        const sum = v + n;
        if (sum > WORD_GUARD || sum < -WORD_GUARD || !(v <= WORD_GUARD && v >= -WORD_GUARD)) return REGION_OVERFLOW;
        if (s.section('storeIfEqual', { id, index: w, expect: v, newv: sum }) === OP_COMMITTED) return undefined;
      }
      return REGION_RETRY;
    },
    push(from: Uint8Array = record): number | undefined {
      return oneRecord(stackMove(from, true, 1));
    },
    pop(into: Uint8Array = record): number | undefined {
      return oneRecord(stackMove(into, false, 1));
    },
    pushMany(records: Uint8Array): number {
      return stackMove(records, true);
    },
    popMany(into: Uint8Array): number {
      return stackMove(into, false);
    },
    take(): number | undefined {
      for (let a = 0; a < MAX_ATTEMPTS; a++) {
        const id = slotId();
        if (id < 0) return REGION_BAD_ID;
        const head = slotWord(id);
        const got = s.section('listPop', { id, head, next: layout.tail, count: size, empty: EMPTY });
        if (got >= 0) {
          Atomics.store(words, layout.tail + got, BigInt(TAKEN));
          args[0] = got;
          return undefined;
        }
        if (got === -OP_COMPARE_FAILED) return REGION_EMPTY;
        if (got === -OP_BAD_INDEX) {
          const h = load(head);
          if (h >= LOCKED) return REGION_LOCKED;
          if (h !== EMPTY && !(h >= 0 && h < size)) return REGION_CORRUPT;
        }
      }
      return REGION_RETRY;
    },
    give(): number | undefined {
      const i = integerArg(0, Number.MAX_SAFE_INTEGER);
      if (i === null || i >= size) return REGION_BAD_ARG;
      const link = layout.tail + i;
      if (Atomics.compareExchange(words, link, BigInt(TAKEN), BigInt(TAKEN + 1)) !== BigInt(TAKEN)) return REGION_NOT_TAKEN;
      let status = REGION_RETRY;
      for (let a = 0; a < MAX_ATTEMPTS; a++) {
        const id = slotId();
        if (id < 0) {
          status = REGION_BAD_ID;
          break;
        }
        const head = slotWord(id);
        const h = load(head);
        if (h >= LOCKED) {
          status = REGION_LOCKED;
          break;
        }
        if (h !== EMPTY && !(h >= 0 && h < size)) {
          status = REGION_CORRUPT;
          break;
        }
        if (s.section('speculativeStoreCommit', { id, index: head, expect: h, index2: link, newv2: h, newv: i, release: true }) === OP_COMMITTED) return undefined;
      }
      Atomics.store(words, link, BigInt(TAKEN));
      return status;
    },
  };
}
