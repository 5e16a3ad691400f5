/**
 * The named arguments of the per-CPU critical sections (Backend.section in
 * backend.ts), one definition for every implementation: the native backend
 * hands them to the addon's positional op* functions, the simulator's step
 * programs (fallback/kernel/section-programs.ts) read the scalar fields
 * (SectionFields) and get the operand arrays apart. op-args.ts checks them.
 *
 * Words are 64-bit elements of a BigInt64Array; every word index is an element
 * index into `words`. Values are safe integers.
 */
/** Which id a section checks: cpu_id (`cpu`) or mm_cid (`mmcid`). */
export type IndexMode = 'cpu' | 'mmcid';

/** What every section takes: the id mode and the id the caller read. */
export interface CommonArgs {
  mode: IndexMode;
  /** The id the caller read (cpu_id in mode `cpu`, mm_cid in mode `mmcid`); the section checks it. */
  id: number;
}

/** `words[index] += count` */
export interface AddFields extends CommonArgs {
  index: number;
  count: number;
}
/** `if (words[index] == expect) words[index] = newv` */
export interface StoreIfEqualFields extends CommonArgs {
  index: number;
  expect: number;
  newv: number;
}
/** `if (words[index] == expect && words[index2] == expect2) words[index] = newv` */
export interface DoubleCompareStoreFields extends CommonArgs {
  index: number;
  expect: number;
  index2: number;
  expect2: number;
  newv: number;
}
/**
 * `if (words[index] == expect) { words[index2] = newv2; words[index] = newv }`;
 * the store to index2 is speculative (it may happen even when the section aborts).
 * `release`: the commit is a store-release (orders the speculative store before it).
 */
export interface SpeculativeStoreCommitFields extends CommonArgs {
  index: number;
  expect: number;
  index2: number;
  newv2: number;
  newv: number;
  release: boolean;
}
/**
 * `if (words[index] == expect) { copy length bytes src[srcOffset..] to dst[dstOffset..]; words[index] = newv }`;
 * the copy is speculative. `release` as above.
 */
export interface CopyCommitFields extends CommonArgs {
  index: number;
  expect: number;
  dstOffset: number;
  srcOffset: number;
  length: number;
  newv: number;
  release: boolean;
}
/**
 * `r = words[head]; if (r == empty) fail; if (r >= count) bad index; words[head] = words[next + r]`:
 * the popped index r (>= 0), or minus an OpStatus (-OP_COMPARE_FAILED when empty).
 */
export interface ListPopFields extends CommonArgs {
  head: number;
  next: number;
  count: number;
  empty: number;
}

/** The scalar arguments of each section: everything but its operand arrays. */
export interface SectionFields {
  add: AddFields;
  storeIfEqual: StoreIfEqualFields;
  doubleCompareStore: DoubleCompareStoreFields;
  speculativeStoreCommit: SpeculativeStoreCommitFields;
  copyCommit: CopyCommitFields;
  listPop: ListPopFields;
}

/** The operand array of every section. */
export interface WordsOperand {
  words: BigInt64Array;
}
/** copyCommit's operand arrays. */
export interface CopyOperands extends WordsOperand {
  dst: Uint8Array;
  src: Uint8Array;
}

export interface AddArgs extends AddFields, WordsOperand {}
export interface StoreIfEqualArgs extends StoreIfEqualFields, WordsOperand {}
export interface DoubleCompareStoreArgs extends DoubleCompareStoreFields, WordsOperand {}
export interface SpeculativeStoreCommitArgs extends SpeculativeStoreCommitFields, WordsOperand {}
export interface CopyCommitArgs extends CopyCommitFields, CopyOperands {}
export interface ListPopArgs extends ListPopFields, WordsOperand {}

/** The arguments of each section, by name: what Backend.section takes. */
export interface SectionArgs {
  add: AddArgs;
  storeIfEqual: StoreIfEqualArgs;
  doubleCompareStore: DoubleCompareStoreArgs;
  speculativeStoreCommit: SpeculativeStoreCommitArgs;
  copyCommit: CopyCommitArgs;
  listPop: ListPopArgs;
}

/** The operations, by name. */
export type OpName = keyof SectionArgs;
export const OP_NAMES: readonly OpName[] = ['add', 'storeIfEqual', 'doubleCompareStore', 'speculativeStoreCommit', 'copyCommit', 'listPop'];
