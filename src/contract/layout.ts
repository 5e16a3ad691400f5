/**
 * The SharedArrayBuffer layout of the per-CPU structures, and the one check of
 * a header that both `new X()` and `X.from(buffer)` go through. native/region.h
 * checks the same header again with the same numbers (abi.ts) (test/shared/hardening.test.ts
 * hands both checks the same bad headers).
 *
 * 64-bit words: an 8-word header, then one slot per possible id, each a whole
 * number of 64-byte lines so that two CPUs never share a line, then the
 * structure's tail, then the section locks of the slots (used where sections run
 * under locks: the simulator, and the slot-locked path on a kernel known broken).
 *
 *   word 0  magic (REGION_MAGIC_BASE + kind code)   word 4  words per slot (stride)
 *   word 1  layout version                          word 5..7  the structure's parameters
 *   word 2  mode (0 cpu_id, 1 mm_cid)                  counter [lanes], buffer
 *   word 3  slots                                       [recordSize, capacity], pool [size]
 */
import { REGION_LAYOUT } from './abi.js';
import { REGION_KIND_CODE, type IndexMode, type RegionKind } from './backend.js';

// The numbers are REGION_LAYOUT of abi.ts, which native/region.h takes too.
export const HEADER_WORDS = REGION_LAYOUT.headerWords;
/** Words in one 64-byte cache line. */
export const LINE_WORDS = REGION_LAYOUT.lineWords;
/** 3: counter lanes, pool ownership marks, section locks in the structure. */
export const LAYOUT_VERSION = REGION_LAYOUT.version;
export const REGION_MAGIC_BASE = REGION_LAYOUT.magicBase;

/** A claim word (another thread holds the slot) is at least this. */
export const LOCKED = REGION_LAYOUT.locked;
/** An empty pool list's head. */
export const EMPTY = REGION_LAYOUT.empty;
/** next[i] of a pool index that a thread holds. */
export const TAKEN = REGION_LAYOUT.taken;

export const MAX_SLOTS = REGION_LAYOUT.maxSlots;
export const MAX_RECORD = REGION_LAYOUT.maxRecord;
export const MAX_CAPACITY = REGION_LAYOUT.maxCapacity;
export const MAX_POOL_SIZE = REGION_LAYOUT.maxPoolSize;
/** A counter's lanes: at most 256, so that they hold less than 2^61 in all (counter.ts). */
export const MAX_LANES = REGION_LAYOUT.maxLanes;

export const KIND_NAME: Readonly<Record<RegionKind, string>> = { counter: 'PerCpuCounter', buffer: 'PerCpuBuffer', pool: 'PerCpuPool' };

export interface Layout {
  kind: RegionKind;
  mode: IndexMode;
  slots: number;
  /** Words per slot, a whole number of lines. */
  stride: number;
  /** counter: lanes; buffer: record size; pool: size. */
  params: [number, number, number];
  /** First word after the slots. */
  tail: number;
  /** First word of the simulator's section locks (after the tail, line-aligned). */
  locks: number;
  /** Words in all. */
  words: number;
}

/** Rounds words up to whole cache lines. */
export function lines(words: number): number {
  return Math.ceil(words / LINE_WORDS) * LINE_WORDS;
}

/** Int32 words the section locks of `slots` slots take (src/contract/section-locks.ts). */
export function lockInt32s(slots: number): number {
  return 4 + 7 * slots;
}

function strideFor(kind: RegionKind, params: readonly number[]): number {
  if (kind !== 'buffer') return LINE_WORDS;
  return lines(1 + Math.ceil((params[0]! * params[1]!) / 8));
}

function tailWords(kind: RegionKind, params: readonly number[]): number {
  if (kind === 'counter') return LINE_WORDS + params[0]! * LINE_WORDS; // base line, lanes
  if (kind === 'pool') return params[0]!; // next[]
  return 0;
}

/** The layout of a structure with these (checked) figures. */
export function makeLayout(kind: RegionKind, mode: IndexMode, slots: number, params: [number, number, number]): Layout {
  const stride = strideFor(kind, params);
  const tail = HEADER_WORDS + slots * stride;
  const locks = lines(tail + tailWords(kind, params));
  return { kind, mode, slots, stride, params, tail, locks, words: locks + lines(Math.ceil(lockInt32s(slots) / 2)) };
}

/** A new SharedArrayBuffer with this layout's header written. */
export function allocate(layout: Layout): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(layout.words * 8);
  const w = new BigInt64Array(buffer);
  const header = [REGION_MAGIC_BASE + REGION_KIND_CODE[layout.kind], LAYOUT_VERSION, layout.mode === 'cpu' ? 0 : 1, layout.slots, layout.stride, ...layout.params];
  header.forEach((v, i) => Atomics.store(w, i, BigInt(v)));
  return buffer;
}

function bad(kind: RegionKind, what: string): TypeError {
  return new TypeError(`${KIND_NAME[kind]}.from: ${what}`);
}

/** Header word i as a number, or NaN when it is not a safe integer. */
function word(w: BigInt64Array, i: number): number {
  const v = Atomics.load(w, i);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : Number.NaN;
}

function inRange(v: number, lo: number, hi: number): boolean {
  return Number.isInteger(v) && v >= lo && v <= hi;
}

/** The error for X.from(something that is not a SharedArrayBuffer). */
export function notShared(kind: RegionKind, buffer: unknown): TypeError {
  const what = buffer instanceof ArrayBuffer ? 'an ArrayBuffer (not shared)' : buffer === null ? 'null' : typeof buffer;
  return new TypeError(`${KIND_NAME[kind]}.from needs the SharedArrayBuffer of a ${KIND_NAME[kind]} (its .buffer), not ${what}`);
}

/**
 * Reads and checks a buffer's header: every word against its range and the
 * buffer's length. Throws a TypeError naming the word at fault.
 */
export function readLayout(kind: RegionKind, buffer: unknown): Layout {
  const name = KIND_NAME[kind];
  if (!(buffer instanceof SharedArrayBuffer)) throw notShared(kind, buffer);
  if (buffer.byteLength < HEADER_WORDS * 8 || buffer.byteLength % 8 !== 0) throw new RangeError(`${name}.from: the buffer is too small to hold a header`);
  const w = new BigInt64Array(buffer);
  if (word(w, 0) !== REGION_MAGIC_BASE + REGION_KIND_CODE[kind]) throw bad(kind, `this SharedArrayBuffer does not hold a ${name} (wrong header: word 0, magic)`);
  if (word(w, 1) !== LAYOUT_VERSION) throw bad(kind, `the buffer's layout version (word 1) is ${word(w, 1)}, this package writes ${LAYOUT_VERSION}`);
  const mode = word(w, 2);
  if (mode !== 0 && mode !== 1) throw bad(kind, `word 2 (mode) is ${mode}, neither 0 (cpu_id) nor 1 (mm_cid)`);
  const slots = word(w, 3);
  if (!inRange(slots, 1, MAX_SLOTS)) throw bad(kind, `word 3 (slots) is ${slots}, outside [1, ${MAX_SLOTS}]`);
  const params: [number, number, number] = [word(w, 5), word(w, 6), word(w, 7)];
  if (kind === 'counter' && !inRange(params[0], 0, MAX_LANES)) throw bad(kind, `word 5 (lanes) is ${params[0]}, outside [0, ${MAX_LANES}]`);
  if (kind === 'buffer') {
    if (!inRange(params[0], 1, MAX_RECORD)) throw bad(kind, `word 5 (record size) is ${params[0]}, outside [1, ${MAX_RECORD}]`);
    if (!inRange(params[1], 1, MAX_CAPACITY)) throw bad(kind, `word 6 (capacity) is ${params[1]}, outside [1, ${MAX_CAPACITY}]`);
  }
  if (kind === 'pool' && !inRange(params[0], 1, MAX_POOL_SIZE)) throw bad(kind, `word 5 (size) is ${params[0]}, outside [1, ${MAX_POOL_SIZE}]`);
  const stride = word(w, 4);
  if (stride !== strideFor(kind, params)) throw bad(kind, `word 4 (stride) is ${stride} words per slot; this structure's slots take ${strideFor(kind, params)}`);
  const layout = makeLayout(kind, mode === 0 ? 'cpu' : 'mmcid', slots, params);
  if (buffer.byteLength < layout.words * 8) {
    throw new RangeError(`${name}.from: the buffer holds ${buffer.byteLength} bytes, fewer than its header needs (${layout.words * 8})`);
  }
  return layout;
}
