/**
 * The arguments of each critical section and their checks, from the contract:
 * src/contract/sections.ts (SectionFields: what a step program reads; the
 * operand arrays come apart) and src/contract/op-args.ts (the checks and
 * messages the native addon has too).
 */
import type { IndexMode, OpName } from '../../src/contract/sections.js';
import { checkIndexMode, checkSectionArgs, type OperandLengths } from '../../src/contract/op-args.js';

export type {
  AddFields,
  CommonArgs,
  CopyCommitFields,
  DoubleCompareStoreFields,
  ListPopFields,
  SectionFields,
  SpeculativeStoreCommitFields,
  StoreIfEqualFields,
} from '../../src/contract/sections.js';
export { OP_NAMES as SECTION_NAMES } from '../../src/contract/sections.js';
export type SectionName = OpName;

/** Element counts of the operand arrays, for argument checks. */
export type { OperandLengths };

/**
 * Checks a section's arguments as the native addon does before a section
 * starts (src/contract/op-args.ts): a wrong type is a TypeError, an index,
 * offset or length out of range a RangeError; nothing is read or written then.
 * The operand arrays are the caller's to check; `lengths` gives their lengths.
 */
export { checkSectionArgs };

export function checkMode(mode: unknown, op = 'currentId'): asserts mode is IndexMode {
  checkIndexMode(op, mode);
}
