/**
 * The argument checks of the per-CPU operations (Backend.section in
 * backend.ts, their named arguments in sections.ts),
 * with the messages of ARG_MESSAGE (abi.ts): the simulator checks with these
 * functions, the addon with native/op_args.cc, which formats the same
 * messages from native/abi_table.h. Both check the arguments in order, the
 * first wrong one throws: a TypeError (code ERR_INVALID_ARG_TYPE) for a wrong
 * type or a detached buffer, a RangeError (code ERR_OUT_OF_RANGE) for a number
 * out of range; then nothing is read or written.
 * test/native/op-args.test.ts hands both backends the same bad arguments.
 */
import { ARG_BOUND, ARG_MESSAGE, ERROR_CODE, ID_MODE } from './abi.js';
import type { IndexMode, OpName, SectionArgs, SectionFields } from './sections.js';

export type { OpName } from './sections.js';

/** What one argument is (native/sections_binding.cc has the same kinds). */
type ArgKind =
  | 'mode' // IndexMode
  | 'id' // a u32
  | 'words' // BigInt64Array
  | 'index' // an element index into words
  | 'value' // a safe integer
  | 'release' // boolean
  | 'bytes' // Uint8Array
  | 'bytesOffset' // a byte offset into the bytes argument before it: [0, its length]
  | 'copyLength' // what both bytes arguments have room for past their offsets
  | 'next' // listPop's next[]: [0, words.length]
  | 'count'; // listPop's count: next[0..count) lies in words

interface ArgSpec {
  readonly kind: ArgKind;
  readonly name: string;
}

const mode: ArgSpec = { kind: 'mode', name: 'mode' };
const id: ArgSpec = { kind: 'id', name: 'id' };
const words: ArgSpec = { kind: 'words', name: 'words' };
const arg = (kind: ArgKind, name: string): ArgSpec => ({ kind, name });

/**
 * Each operation's arguments by name (sections.ts), in the order they are
 * checked: the order the addon's op* function takes them.
 */
export const OP_ARGS: Readonly<Record<OpName, readonly ArgSpec[]>> = {
  add: [mode, id, words, arg('index', 'index'), arg('value', 'count')],
  storeIfEqual: [mode, id, words, arg('index', 'index'), arg('value', 'expect'), arg('value', 'newv')],
  doubleCompareStore: [mode, id, words, arg('index', 'index'), arg('value', 'expect'), arg('index', 'index2'), arg('value', 'expect2'), arg('value', 'newv')],
  speculativeStoreCommit: [
    mode,
    id,
    words,
    arg('index', 'index'),
    arg('value', 'expect'),
    arg('index', 'index2'),
    arg('value', 'newv2'),
    arg('value', 'newv'),
    arg('release', 'release'),
  ],
  copyCommit: [
    mode,
    id,
    words,
    arg('index', 'index'),
    arg('value', 'expect'),
    arg('bytes', 'dst'),
    arg('bytesOffset', 'dstOffset'),
    arg('bytes', 'src'),
    arg('bytesOffset', 'srcOffset'),
    arg('copyLength', 'length'),
    arg('value', 'newv'),
    arg('release', 'release'),
  ],
  listPop: [mode, id, words, arg('index', 'head'), arg('next', 'next'), arg('count', 'count'), arg('value', 'empty')],
};

/** Element counts of the operand arrays, when the caller has checked the arrays themselves. */
export interface OperandLengths {
  words: number;
  dst?: number;
  src?: number;
}

/** `template` with every {name} of `fields` filled in. */
function format(template: string, fields: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in fields ? String(fields[name]) : whole));
}

function typeError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: ERROR_CODE.invalidArgType });
}

function rangeError(message: string): RangeError {
  return Object.assign(new RangeError(message), { code: ERROR_CODE.outOfRange });
}

/** What was passed, for {type}: typeof ('null' for null); for a typed-array check, which typed array or DataView. */
function describe(v: unknown, typed: boolean): string {
  if (typed && ArrayBuffer.isView(v)) {
    const name = v instanceof DataView ? 'DataView' : Object.prototype.toString.call(v).slice(8, -1);
    return `${name.startsWith('Int') ? 'an' : 'a'} ${name}`;
  }
  return v === null ? 'null' : typeof v;
}

function isDetached(buffer: ArrayBufferLike): boolean {
  const flag = (buffer as { detached?: boolean }).detached;
  if (typeof flag === 'boolean') return flag;
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/** A typed array of `kind` (by its intrinsic name, as the addon tells them apart), not detached: its length. */
function typedArray(op: string, name: string, v: unknown, kind: 'BigInt64Array' | 'Uint8Array'): number {
  const want = `a ${kind}`;
  if (!ArrayBuffer.isView(v) || Object.prototype.toString.call(v) !== `[object ${kind}]`) {
    throw typeError(format(ARG_MESSAGE.notTypedArray, { op, arg: name, want, type: describe(v, true) }));
  }
  const length = (v as Uint8Array).length;
  if (length === 0 && isDetached(v.buffer)) throw typeError(format(ARG_MESSAGE.detached, { op, arg: name, want }));
  return length;
}

function number(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number') throw typeError(format(ARG_MESSAGE.notNumber, { op, arg: name, type: describe(v, false) }));
  return v;
}

/** An integer in [lo, hi]; `why` says what bounds the range. */
function integer(op: string, name: string, v: unknown, lo: number, hi: number, why: string): number {
  const n = number(op, name, v);
  if (Number.isInteger(n) && n >= lo && n <= hi) return n;
  const value = String(n);
  throw rangeError(hi < lo ? format(ARG_MESSAGE.noInteger, { op, arg: name, why, value }) : format(ARG_MESSAGE.integer, { op, arg: name, lo, hi, why, value }));
}

/** The Backend's id mode ('cpu' or 'mmcid'): its number for the addon (ID_MODE). */
export function checkIndexMode(op: string, v: unknown): (typeof ID_MODE)[IndexMode] {
  if (v === 'cpu' || v === 'mmcid') return ID_MODE[v];
  if (typeof v !== 'string') throw typeError(format(ARG_MESSAGE.mode, { op, value: describe(v, false) }));
  throw rangeError(format(ARG_MESSAGE.mode, { op, value: JSON.stringify(v) }));
}

/** fence(cpu): a CPU, or -1 for every CPU. */
export function checkFenceCpu(v: unknown): number {
  return integer('fence', 'cpu', v, -1, 2 ** 31 - 1, ARG_BOUND.cpu);
}

/**
 * Checks `args`, the arguments of `op` in its order. With `lengths`, the
 * caller has checked the operand arrays and gives their lengths (the arrays'
 * places in `args` are not read); without, the arrays are checked here.
 */
export function checkOpArgs(op: OpName, args: readonly unknown[], lengths?: OperandLengths): void {
  const spec = OP_ARGS[op];
  let wordCount = lengths?.words ?? 0;
  const bytes: Array<{ length: number; offset: number }> = [];
  let next = 0;
  for (let i = 0; i < spec.length; i++) {
    const { kind, name } = spec[i]!;
    const v = args[i];
    switch (kind) {
      case 'mode':
        checkIndexMode(op, v);
        break;
      case 'id':
        integer(op, name, v, 0, 0xffffffff, ARG_BOUND.id);
        break;
      case 'words':
        if (lengths === undefined) wordCount = typedArray(op, name, v, 'BigInt64Array');
        break;
      case 'index':
        integer(op, name, v, 0, wordCount - 1, wordCount === 0 ? ARG_BOUND.emptyWords : ARG_BOUND.index);
        break;
      case 'value': {
        const n = number(op, name, v);
        if (!Number.isSafeInteger(n)) throw rangeError(format(ARG_MESSAGE.safeInteger, { op, arg: name, value: String(n) }));
        break;
      }
      case 'release':
        if (typeof v !== 'boolean') throw typeError(format(ARG_MESSAGE.notBoolean, { op, arg: name, type: describe(v, false) }));
        break;
      case 'bytes':
        bytes.push({ length: lengths === undefined ? typedArray(op, name, v, 'Uint8Array') : ((bytes.length === 0 ? lengths.dst : lengths.src) ?? 0), offset: 0 });
        break;
      case 'bytesOffset': {
        const b = bytes[bytes.length - 1]!;
        b.offset = integer(op, name, v, 0, b.length, bytes.length === 1 ? ARG_BOUND.dstOffset : ARG_BOUND.srcOffset);
        break;
      }
      case 'copyLength': {
        const dstRoom = bytes[0]!.length - bytes[0]!.offset;
        const srcRoom = bytes[1]!.length - bytes[1]!.offset;
        integer(op, name, v, 0, Math.min(dstRoom, srcRoom), format(ARG_BOUND.copyLength, { dstRoom, srcRoom }));
        break;
      }
      case 'next':
        next = integer(op, name, v, 0, wordCount, ARG_BOUND.next);
        break;
      case 'count':
        integer(op, name, v, 0, wordCount - next, ARG_BOUND.count);
        break;
    }
  }
}

/**
 * Checks `args`, the named arguments of `op` (SectionArgs, or SectionFields
 * with `lengths`), in the order of OP_ARGS, with the messages of checkOpArgs.
 */
export function checkSectionArgs<N extends OpName>(op: N, args: SectionArgs[N] | SectionFields[N], lengths?: OperandLengths): void {
  const spec = Object.hasOwn(OP_ARGS, op) ? OP_ARGS[op] : undefined;
  if (spec === undefined) throw typeError(`section: no critical section named ${JSON.stringify(String(op))}`);
  if (typeof args !== 'object' || args === null) throw typeError(`${op}: the arguments must be an object, not ${describe(args, false)}`);
  const named = args as unknown as Readonly<Record<string, unknown>>;
  checkOpArgs(op, spec.map((a) => named[a.name]), lengths);
}
