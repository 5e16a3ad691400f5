/**
 * The arguments of each critical section (SectionArgs) and their checks:
 * src/contract/op-args.ts, the checks and messages the native addon has too.
 */
import type { IndexMode } from '../../src/contract/backend.js';
import { OP_ARGS, checkIndexMode, checkOpArgs, type OperandLengths } from '../../src/contract/op-args.js';

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
export type { OperandLengths };

export function checkMode(mode: unknown, op = 'currentId'): asserts mode is IndexMode {
  checkIndexMode(op, mode);
}

/**
 * Checks a section's arguments as the native addon does before a section
 * starts (src/contract/op-args.ts): a wrong type is a TypeError, an index,
 * offset or length out of range a RangeError; nothing is read or written then.
 * The operand arrays are the caller's to check; `lengths` gives their lengths.
 */
export function checkSectionArgs<N extends SectionName>(name: N, args: SectionArgs[N], lengths: OperandLengths): void {
  const spec = OP_ARGS[name];
  if (spec === undefined) throw new TypeError(`rseq: no critical section named ${String(name)}`);
  const named = args as unknown as Record<string, unknown>;
  checkOpArgs(name, spec.map((a) => named[a.name]), lengths);
}
