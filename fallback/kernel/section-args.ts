/**
 * The arguments of each critical section (SectionArgs) and their checks,
 * made as the native addon makes them before a section starts.
 */
import type { IndexMode } from '../../src/contract/backend.js';

/** What every section takes: the id mode and the id the caller read. */
export interface CommonArgs {
  mode: IndexMode;
  /** The id the caller read (cpu_id or mm_cid); the section checks it. */
  id: number;
}
export interface AddArgs extends CommonArgs {
  index: number;
  count: number;
}
export interface StoreIfEqualArgs extends CommonArgs {
  index: number;
  expect: number;
  newv: number;
}
export interface DoubleCompareStoreArgs extends CommonArgs {
  index: number;
  expect: number;
  index2: number;
  expect2: number;
  newv: number;
}
export interface SpeculativeStoreCommitArgs extends CommonArgs {
  index: number;
  expect: number;
  index2: number;
  newv2: number;
  newv: number;
  release: boolean;
}
export interface CopyCommitArgs extends CommonArgs {
  index: number;
  expect: number;
  dstOffset: number;
  srcOffset: number;
  length: number;
  newv: number;
  release: boolean;
}
export interface ListPopArgs extends CommonArgs {
  head: number;
  next: number;
  count: number;
  empty: number;
}

export interface SectionArgs {
  add: AddArgs;
  storeIfEqual: StoreIfEqualArgs;
  doubleCompareStore: DoubleCompareStoreArgs;
  speculativeStoreCommit: SpeculativeStoreCommitArgs;
  copyCommit: CopyCommitArgs;
  listPop: ListPopArgs;
}
export type SectionName = keyof SectionArgs;
export const SECTION_NAMES: readonly SectionName[] = ['add', 'storeIfEqual', 'doubleCompareStore', 'speculativeStoreCommit', 'copyCommit', 'listPop'];

/** Element counts of the operand arrays, for argument checks. */
export interface OperandLengths {
  words: number;
  dst?: number;
  src?: number;
}

function checkNumber(what: string, v: unknown): number {
  if (typeof v !== 'number') throw new TypeError(`rseq: ${what} must be a number, not ${typeof v}`);
  return v;
}

function checkIndex(what: string, v: unknown, length: number): void {
  const n = checkNumber(what, v);
  if (!Number.isInteger(n) || n < 0 || n >= length) throw new RangeError(`rseq: ${what} ${n} is outside the array (length ${length})`);
}

function checkCount(what: string, v: unknown): number {
  const n = checkNumber(what, v);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 32) throw new RangeError(`rseq: ${what} ${n} is not a non-negative integer`);
  return n;
}

function checkValue(what: string, v: unknown): void {
  const n = checkNumber(what, v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`rseq: ${what} ${n} is not a safe integer`);
}

function checkBool(what: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new TypeError(`rseq: ${what} must be a boolean, not ${typeof v}`);
}

export function checkMode(mode: unknown): asserts mode is IndexMode {
  if (mode !== 'cpu' && mode !== 'mmcid') {
    if (typeof mode !== 'string') throw new TypeError(`rseq: mode must be 'cpu' or 'mmcid', not ${typeof mode}`);
    throw new RangeError(`rseq: mode must be 'cpu' or 'mmcid', not ${JSON.stringify(mode)}`);
  }
}

function checkCommon(a: CommonArgs): void {
  checkMode(a.mode);
  const id = checkNumber('id', a.id);
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`rseq: id ${id} is not a u32`);
}

/**
 * Checks a section's arguments as the native addon does before a section
 * starts: a wrong type is a TypeError, an index, offset or length out of
 * range a RangeError; nothing is read or written then.
 */
export function checkSectionArgs<N extends SectionName>(name: N, args: SectionArgs[N], lengths: OperandLengths): void {
  checkCommon(args);
  const w = lengths.words;
  switch (name) {
    case 'add': {
      const a = args as AddArgs;
      checkIndex('index', a.index, w);
      checkValue('count', a.count);
      return;
    }
    case 'storeIfEqual': {
      const a = args as StoreIfEqualArgs;
      checkIndex('index', a.index, w);
      checkValue('expect', a.expect);
      checkValue('newv', a.newv);
      return;
    }
    case 'doubleCompareStore': {
      const a = args as DoubleCompareStoreArgs;
      checkIndex('index', a.index, w);
      checkValue('expect', a.expect);
      checkIndex('index2', a.index2, w);
      checkValue('expect2', a.expect2);
      checkValue('newv', a.newv);
      return;
    }
    case 'speculativeStoreCommit': {
      const a = args as SpeculativeStoreCommitArgs;
      checkIndex('index', a.index, w);
      checkValue('expect', a.expect);
      checkIndex('index2', a.index2, w);
      checkValue('newv2', a.newv2);
      checkValue('newv', a.newv);
      checkBool('release', a.release);
      return;
    }
    case 'copyCommit': {
      const a = args as CopyCommitArgs;
      checkIndex('index', a.index, w);
      checkValue('expect', a.expect);
      checkValue('newv', a.newv);
      checkBool('release', a.release);
      const length = checkCount('length', a.length);
      const dstOffset = checkCount('dstOffset', a.dstOffset);
      const srcOffset = checkCount('srcOffset', a.srcOffset);
      const dst = lengths.dst ?? 0;
      const src = lengths.src ?? 0;
      if (dstOffset + length > dst) throw new RangeError(`rseq: dst bytes [${dstOffset}, ${dstOffset + length}) are outside dst (length ${dst})`);
      if (srcOffset + length > src) throw new RangeError(`rseq: src bytes [${srcOffset}, ${srcOffset + length}) are outside src (length ${src})`);
      return;
    }
    case 'listPop': {
      const a = args as ListPopArgs;
      checkIndex('head', a.head, w);
      const next = checkCount('next', a.next);
      const count = checkCount('count', a.count);
      if (next + count > w) throw new RangeError(`rseq: next[] words [${next}, ${next + count}) are outside the array (length ${w})`);
      checkValue('empty', a.empty);
      return;
    }
    default:
      throw new TypeError(`rseq: no critical section named ${String(name)}`);
  }
}
