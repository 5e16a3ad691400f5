/**
 * Per-CPU critical sections as step programs, run on a simulated thread.
 *
 * Each operation of the PerCpuOps contract (src/contract/backend.ts) is written once
 * here, as the sequence of steps its assembly performs (librseq's per-CPU
 * sections, as the native addon implements them):
 *
 *   descriptor    rseq->rseq_cs = &descriptor      (before start_ip)
 *   start:        r3 = rseq->cpu_id (or mm_cid)
 *                 if (r3 != id) goto moved
 *                 loads and compares               (goto cmpfail / badindex)
 *                 speculative stores / byte copy   (may be left behind by an abort)
 *   commit:       the single commit store          (the last instruction inside)
 *   post_commit:  return
 *                 [signature]                      (the u32 before abort_ip)
 *   abort:        return OP_ABORTED
 *   moved, cmpfail, badindex: return their status
 *
 * `installSections(machine)` lays the programs out in the machine's
 * simulated memory: a text region where every step has an address (4 bytes
 * each, like fixed-width instructions), the architecture's signature bytes
 * right before each abort handler (x86_64: `0f b9 3d` + signature, the
 * `ud1` glibc and librseq emit; aarch64: the `brk #0x45e0` word), and one
 * 32-byte struct rseq_cs per program {version 0, flags 0, start_ip,
 * post_commit_offset, abort_ip} in a data region. The simulated kernel
 * (kernel.ts returnToUser) reads exactly those bytes.
 *
 * `execute()` runs a program as a generator: every `next()` executes one
 * step against a `SectionMemory` and yields a `Boundary` (where the thread
 * will resume). Between two steps the driver may deliver an event to the
 * thread (preemption, migration, signal, membarrier IPI): the kernel's
 * return-to-user logic then clears rseq_cs and moves the thread's IP to
 * abort_ip if the IP is inside [start_ip, start_ip + post_commit_offset),
 * and the program continues from wherever the IP now is. The same programs
 * run against simulated memory (`simulatedMemory`, for the kernel model,
 * the scheduler and the tests) and against real typed arrays (the host
 * backend, fallback/backend.ts).
 */
import {
  OP_ABORTED,
  OP_BAD_INDEX,
  OP_COMMITTED,
  OP_COMPARE_FAILED,
  OP_MOVED,
  type IndexMode,
  type OpStatus,
} from '../../src/contract/backend.js';
import type { Machine } from './kernel.js';
import { MemoryFault, type SimMemory } from './memory.js';
import { RSEQ_FIELD, RSEQ_SIG, type Arch } from './profiles.js';
import type { ReturnCause } from './return-to-user.js';
import { FatalSignalError, type SimThread, type UserRegs } from './thread.js';

// ---------------------------------------------------------------------------
// Operands

/** How a store is ordered: speculative stores, the commit, or a store-release commit. */
export type StoreKind = 'speculative' | 'commit' | 'commit-release';

/**
 * What a section reads and writes. The rseq area is the calling thread's
 * struct rseq; words, src and dst are the operation's arrays, indexed by
 * element (64-bit words, bytes). Indices were validated before the section
 * started.
 */
export interface SectionMemory {
  /** A u32 of the thread's struct rseq (cpu_id, mm_cid). */
  loadArea32(offset: number): number;
  /** A u64 store into the thread's struct rseq (rseq_cs). */
  storeArea64(offset: number, value: bigint): void;
  /** words[index] as a signed 64-bit value. */
  loadWord(index: number): bigint;
  storeWord(index: number, value: bigint, kind: StoreKind): void;
  loadSrcByte(index: number): number;
  storeDstByte(index: number, value: number): void;
}

/** An array in simulated memory: `length` elements (words or bytes) from `addr`. */
export interface SimArray {
  readonly addr: bigint;
  readonly length: number;
}

/**
 * Operands in simulated memory: element i of `words` is the little-endian
 * u64 at words.addr + 8 * i, byte i of src/dst at addr + i. Address
 * arithmetic as the assembly does it; an access outside mapped memory is a
 * MemoryFault (the process gets SIGSEGV).
 */
export function simulatedMemory(memory: SimMemory, area: bigint, operands: { words?: SimArray; src?: SimArray; dst?: SimArray }): SectionMemory {
  const need = (a: SimArray | undefined, what: string): SimArray => {
    if (!a) throw new Error(`this section has no ${what} operand`);
    return a;
  };
  return {
    loadArea32: (offset) => memory.readU32(area + BigInt(offset)),
    storeArea64: (offset, value) => memory.writeU64(area + BigInt(offset), value),
    loadWord: (index) => BigInt.asIntN(64, memory.readU64(need(operands.words, 'words').addr + 8n * BigInt(index))),
    storeWord: (index, value) => memory.writeU64(need(operands.words, 'words').addr + 8n * BigInt(index), value),
    loadSrcByte: (index) => memory.readU8(need(operands.src, 'src').addr + BigInt(index)),
    storeDstByte: (index, value) => memory.writeU8(need(operands.dst, 'dst').addr + BigInt(index), value),
  };
}

// ---------------------------------------------------------------------------
// Arguments

interface CommonArgs {
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

// ---------------------------------------------------------------------------
// Programs

export type Label = 'start' | 'commit' | 'post_commit' | 'abort' | 'moved' | 'cmpfail' | 'badindex' | 'copy_loop';

export type StepKind =
  /** The store of the descriptor's address into rseq->rseq_cs. */
  | 'descriptor'
  /** The load of cpu_id or mm_cid. */
  | 'load-id'
  /** The comparison with the caller's id (branch to moved). */
  | 'check-id'
  | 'load'
  /** A comparison and conditional branch. */
  | 'compare'
  | 'alu'
  /** A store that may stay behind when the section aborts. */
  | 'speculative-store'
  | 'copy-load'
  /** A byte of the copy: speculative too. */
  | 'copy-store'
  /** The single commit store: the last instruction of the section. */
  | 'commit'
  /** Leaves the program with a status. */
  | 'return';

/** The simulated CPU state of one run of a program. */
export interface Cpu<A> {
  readonly args: A;
  readonly mem: SectionMemory;
  /** The address of the program's struct rseq_cs. */
  readonly descriptor: bigint;
  /** 64-bit registers. */
  readonly r: bigint[];
  /** A byte register (the copy). */
  byte: number;
  /** The copy's loop counter. */
  i: number;
}

export interface Step<A> {
  /** A label other steps branch to, and the landmarks of the layout. */
  readonly label?: Label;
  readonly kind: StepKind;
  /** What the step does, for traces. */
  readonly text: string;
  /** Runs the step; returns a label to branch to, or nothing to fall through. */
  readonly run?: (c: Cpu<A>) => Label | undefined | void;
  /** `return` steps: the status they return. */
  readonly status?: OpStatus;
}

/** Where an aborted section may have left stores behind (the documented speculative effects). */
export interface SpeculativeEffects {
  words: number[];
  dst: { offset: number; length: number } | null;
}

export interface Program<A> {
  readonly name: SectionName;
  readonly steps: readonly Step<A>[];
  /** What the operation returns for a status: the status, or for listPop the index popped / minus the status. */
  value(status: OpStatus, c: Cpu<A>): number;
  /** What an abort may leave changed. */
  speculative(args: A): SpeculativeEffects;
}

const NONE: SpeculativeEffects = { words: [], dst: null };

function idOffset(mode: IndexMode): number {
  return mode === 'cpu' ? RSEQ_FIELD.cpuId : RSEQ_FIELD.mmCid;
}

function head<A extends CommonArgs>(): Step<A>[] {
  return [
    { kind: 'descriptor', text: 'rseq->rseq_cs = &rseq_cs', run: (c) => c.mem.storeArea64(RSEQ_FIELD.rseqCs, c.descriptor) },
    {
      label: 'start',
      kind: 'load-id',
      text: 'r3 = rseq->cpu_id (mode cpu) or rseq->mm_cid (mode mmcid)',
      run: (c) => {
        c.r[3] = BigInt(c.mem.loadArea32(idOffset(c.args.mode)));
      },
    },
    { kind: 'check-id', text: 'if (r3 != id) goto moved', run: (c) => (c.r[3] !== BigInt(c.args.id >>> 0) ? 'moved' : undefined) },
  ];
}

function tail<A>(extra: Step<A>[] = []): Step<A>[] {
  return [
    { label: 'post_commit', kind: 'return', text: 'return OP_COMMITTED', status: OP_COMMITTED },
    { label: 'abort', kind: 'return', text: 'abort: return OP_ABORTED', status: OP_ABORTED },
    { label: 'moved', kind: 'return', text: 'moved: return OP_MOVED', status: OP_MOVED },
    { label: 'cmpfail', kind: 'return', text: 'cmpfail: return OP_COMPARE_FAILED', status: OP_COMPARE_FAILED },
    ...extra,
  ];
}

function loadWord<A>(reg: number, what: string, index: (a: A) => number): Step<A> {
  return {
    kind: 'load',
    text: `r${reg} = words[${what}]`,
    run: (c) => {
      c.r[reg] = c.mem.loadWord(index(c.args));
    },
  };
}

function branchNe<A>(reg: number, what: string, value: (a: A) => number): Step<A> {
  return { kind: 'compare', text: `if (r${reg} != ${what}) goto cmpfail`, run: (c) => (c.r[reg] !== BigInt(value(c.args)) ? 'cmpfail' : undefined) };
}

function commitStore<A>(what: string, index: (a: A) => number, value: (c: Cpu<A>) => bigint, release: (a: A) => boolean = () => false): Step<A> {
  return {
    label: 'commit',
    kind: 'commit',
    text: `words[${what}] = the committed value`,
    run: (c) => c.mem.storeWord(index(c.args), value(c), release(c.args) ? 'commit-release' : 'commit'),
  };
}

const status = <A>(s: OpStatus, _c: Cpu<A>): number => s;

export const ADD: Program<AddArgs> = {
  name: 'add',
  steps: [
    ...head<AddArgs>(),
    loadWord<AddArgs>(0, 'index', (a) => a.index),
    {
      kind: 'alu',
      text: 'r0 = r0 + count (64-bit, wrapping)',
      run: (c) => {
        c.r[0] = BigInt.asIntN(64, (c.r[0] as bigint) + BigInt(c.args.count));
      },
    },
    { ...commitStore<AddArgs>('index', (a) => a.index, (c) => c.r[0] as bigint), text: 'words[index] = r0' },
    ...tail<AddArgs>(),
  ],
  value: status,
  speculative: () => NONE,
};

export const STORE_IF_EQUAL: Program<StoreIfEqualArgs> = {
  name: 'storeIfEqual',
  steps: [
    ...head<StoreIfEqualArgs>(),
    loadWord<StoreIfEqualArgs>(0, 'index', (a) => a.index),
    branchNe<StoreIfEqualArgs>(0, 'expect', (a) => a.expect),
    { ...commitStore<StoreIfEqualArgs>('index', (a) => a.index, (c) => BigInt(c.args.newv)), text: 'words[index] = newv' },
    ...tail<StoreIfEqualArgs>(),
  ],
  value: status,
  speculative: () => NONE,
};

export const DOUBLE_COMPARE_STORE: Program<DoubleCompareStoreArgs> = {
  name: 'doubleCompareStore',
  steps: [
    ...head<DoubleCompareStoreArgs>(),
    loadWord<DoubleCompareStoreArgs>(0, 'index', (a) => a.index),
    branchNe<DoubleCompareStoreArgs>(0, 'expect', (a) => a.expect),
    loadWord<DoubleCompareStoreArgs>(1, 'index2', (a) => a.index2),
    branchNe<DoubleCompareStoreArgs>(1, 'expect2', (a) => a.expect2),
    { ...commitStore<DoubleCompareStoreArgs>('index', (a) => a.index, (c) => BigInt(c.args.newv)), text: 'words[index] = newv' },
    ...tail<DoubleCompareStoreArgs>(),
  ],
  value: status,
  speculative: () => NONE,
};

export const SPECULATIVE_STORE_COMMIT: Program<SpeculativeStoreCommitArgs> = {
  name: 'speculativeStoreCommit',
  steps: [
    ...head<SpeculativeStoreCommitArgs>(),
    loadWord<SpeculativeStoreCommitArgs>(0, 'index', (a) => a.index),
    branchNe<SpeculativeStoreCommitArgs>(0, 'expect', (a) => a.expect),
    {
      kind: 'speculative-store',
      text: 'words[index2] = newv2 (speculative)',
      run: (c) => c.mem.storeWord(c.args.index2, BigInt(c.args.newv2), 'speculative'),
    },
    {
      ...commitStore<SpeculativeStoreCommitArgs>('index', (a) => a.index, (c) => BigInt(c.args.newv), (a) => a.release),
      text: 'words[index] = newv (store-release when release)',
    },
    ...tail<SpeculativeStoreCommitArgs>(),
  ],
  value: status,
  speculative: (a) => ({ words: [a.index2], dst: null }),
};

export const COPY_COMMIT: Program<CopyCommitArgs> = {
  name: 'copyCommit',
  steps: [
    ...head<CopyCommitArgs>(),
    loadWord<CopyCommitArgs>(0, 'index', (a) => a.index),
    branchNe<CopyCommitArgs>(0, 'expect', (a) => a.expect),
    {
      kind: 'alu',
      text: 'i = 0',
      run: (c) => {
        c.i = 0;
      },
    },
    { label: 'copy_loop', kind: 'compare', text: 'if (i == length) goto commit', run: (c) => (c.i >= c.args.length ? 'commit' : undefined) },
    {
      kind: 'copy-load',
      text: 'byte = src[srcOffset + i]',
      run: (c) => {
        c.byte = c.mem.loadSrcByte(c.args.srcOffset + c.i);
      },
    },
    { kind: 'copy-store', text: 'dst[dstOffset + i] = byte (speculative)', run: (c) => c.mem.storeDstByte(c.args.dstOffset + c.i, c.byte) },
    {
      kind: 'alu',
      text: 'i = i + 1; goto copy_loop',
      run: (c) => {
        c.i++;
        return 'copy_loop';
      },
    },
    { ...commitStore<CopyCommitArgs>('index', (a) => a.index, (c) => BigInt(c.args.newv), (a) => a.release), text: 'words[index] = newv (store-release when release)' },
    ...tail<CopyCommitArgs>(),
  ],
  value: status,
  speculative: (a) => ({ words: [], dst: { offset: a.dstOffset, length: a.length } }),
};

export const LIST_POP: Program<ListPopArgs> = {
  name: 'listPop',
  steps: [
    ...head<ListPopArgs>(),
    loadWord<ListPopArgs>(0, 'head', (a) => a.head),
    { kind: 'compare', text: 'if (r0 == empty) goto cmpfail', run: (c) => (c.r[0] === BigInt(c.args.empty) ? 'cmpfail' : undefined) },
    {
      kind: 'compare',
      text: 'if ((u64)r0 >= count) goto badindex',
      run: (c) => (BigInt.asUintN(64, c.r[0] as bigint) >= BigInt(c.args.count) ? 'badindex' : undefined),
    },
    {
      kind: 'load',
      text: 'r1 = words[next + r0]',
      run: (c) => {
        c.r[1] = c.mem.loadWord(c.args.next + Number(c.r[0]));
      },
    },
    { ...commitStore<ListPopArgs>('head', (a) => a.head, (c) => c.r[1] as bigint), text: 'words[head] = r1' },
    ...tail<ListPopArgs>([{ label: 'badindex', kind: 'return', text: 'badindex: return OP_BAD_INDEX', status: OP_BAD_INDEX }]),
  ],
  value: (s, c) => (s === OP_COMMITTED ? Number(c.r[0]) : -s),
  speculative: () => NONE,
};

export const PROGRAMS: { readonly [N in SectionName]: Program<SectionArgs[N]> } = {
  add: ADD,
  storeIfEqual: STORE_IF_EQUAL,
  doubleCompareStore: DOUBLE_COMPARE_STORE,
  speculativeStoreCommit: SPECULATIVE_STORE_COMMIT,
  copyCommit: COPY_COMMIT,
  listPop: LIST_POP,
};

// ---------------------------------------------------------------------------
// Layout in simulated memory

/** Bytes of one simulated instruction. */
export const STEP_BYTES = 4;
const PROGRAM_ALIGN = 64;

/** A program placed in a machine's memory. */
export interface InstalledProgram<A> {
  readonly program: Program<A>;
  /** The struct rseq_cs. */
  readonly descriptor: bigint;
  /** The first instruction (the store of the descriptor, before start_ip). */
  readonly entryIp: bigint;
  readonly startIp: bigint;
  readonly commitIp: bigint;
  /** start_ip + post_commit_offset: the instruction after the commit. */
  readonly postCommitIp: bigint;
  readonly abortIp: bigint;
  /** Address of each step. */
  readonly addresses: readonly bigint[];
  /** The step at an address, or undefined when the address is not one of this program's instructions. */
  indexOf(ip: bigint): number | undefined;
  addressOf(label: Label): bigint;
}

/** The text and descriptors of every program in one machine. */
export interface InstalledCode {
  readonly arch: Arch;
  /** The text region (programs and the caller stub). */
  readonly text: bigint;
  readonly textBytes: number;
  /** Where user code outside the sections runs (the IP between sections). */
  readonly callerIp: bigint;
  readonly programs: { readonly [N in SectionName]: InstalledProgram<SectionArgs[N]> };
}

/** The bytes placed right before every abort handler: the signature instruction. */
export function signatureBytes(arch: Arch, sig: number = RSEQ_SIG[arch]): number[] {
  const le = [sig & 0xff, (sig >>> 8) & 0xff, (sig >>> 16) & 0xff, (sig >>> 24) & 0xff];
  // x86_64: `ud1 <sig>(%rip), %edi` = 0f b9 3d + the 32-bit signature, after a nop to keep 4-byte slots.
  return arch === 'x86_64' ? [0x90, 0x0f, 0xb9, 0x3d, ...le] : le;
}

const installed = new WeakMap<Machine, InstalledCode>();

function layout<A>(program: Program<A>, base: bigint, sig: number[]): { addresses: bigint[]; bytes: Array<[bigint, number[]]>; end: bigint } {
  const addresses: bigint[] = [];
  const bytes: Array<[bigint, number[]]> = [];
  let at = base;
  for (const step of program.steps) {
    if (step.label === 'abort') {
      bytes.push([at, sig]);
      at += BigInt(sig.length);
    }
    addresses.push(at);
    // Filler instruction bytes: the step's index, so that dumps are readable.
    bytes.push([at, [0xcc, addresses.length & 0xff, 0xcc, 0xcc]]);
    at += BigInt(STEP_BYTES);
  }
  return { addresses, bytes, end: at };
}

function place<A>(machine: Machine, program: Program<A>, addresses: bigint[], descriptor: bigint): InstalledProgram<A> {
  const labelAt = new Map<Label, number>();
  program.steps.forEach((s, i) => {
    if (s.label) {
      if (labelAt.has(s.label)) throw new Error(`${program.name}: label ${s.label} twice`);
      labelAt.set(s.label, i);
    }
  });
  const need = (l: Label): number => {
    const i = labelAt.get(l);
    if (i === undefined) throw new Error(`${program.name}: no ${l} label`);
    return i;
  };
  const start = need('start');
  const commit = need('commit');
  const post = need('post_commit');
  const abort = need('abort');
  if (start !== 1 || program.steps[0]?.kind !== 'descriptor') throw new Error(`${program.name}: the descriptor store must come right before start`);
  if (post !== commit + 1) throw new Error(`${program.name}: the commit must be the last instruction of the section`);
  if (abort <= commit) throw new Error(`${program.name}: the abort handler must be outside the section`);
  program.steps.forEach((s, i) => {
    if ((s.kind === 'commit') !== (i === commit)) throw new Error(`${program.name}: exactly one commit, at the commit label`);
    if (s.kind === 'return' ? s.status === undefined || s.run !== undefined : s.run === undefined) {
      throw new Error(`${program.name}: step ${i} must either run or return a status`);
    }
  });
  const byIp = new Map<bigint, number>(addresses.map((a, i) => [a, i]));
  const startIp = addresses[start] as bigint;
  const postCommitIp = addresses[post] as bigint;
  const abortIp = addresses[abort] as bigint;
  const m = machine.memory;
  m.writeU32(descriptor, 0); // version
  m.writeU32(descriptor + 4n, 0); // flags
  m.writeU64(descriptor + 8n, startIp);
  m.writeU64(descriptor + 16n, postCommitIp - startIp);
  m.writeU64(descriptor + 24n, abortIp);
  return {
    program,
    descriptor,
    entryIp: addresses[0] as bigint,
    startIp,
    commitIp: addresses[commit] as bigint,
    postCommitIp,
    abortIp,
    addresses,
    indexOf: (ip) => byIp.get(ip),
    addressOf: (l) => addresses[need(l)] as bigint,
  };
}

/**
 * The programs of this machine, laid out in its simulated memory on first
 * use (one text region and one descriptor region per machine).
 */
export function installSections(machine: Machine): InstalledCode {
  const done = installed.get(machine);
  if (done) return done;
  const sig = signatureBytes(machine.arch);
  const align = BigInt(PROGRAM_ALIGN);
  const alignUp = (v: bigint): bigint => ((v + align - 1n) / align) * align;
  // First pass at base 0 for the size; the caller stub takes the first 64 bytes.
  let size = align;
  for (const name of SECTION_NAMES) size = alignUp(layout(PROGRAMS[name] as Program<unknown>, size, sig).end);
  const text = machine.memory.map(Number(size), PROGRAM_ALIGN, 'text:rseq-sections');
  const data = machine.memory.map(32 * SECTION_NAMES.length, 32, '__rseq_cs');
  // The caller stub: `call <op>; ...` at text + 0.
  machine.memory.writeU32(text, 0xe8e8e8e8);
  let at = text + align;
  const programs: Record<string, InstalledProgram<unknown>> = {};
  SECTION_NAMES.forEach((name, i) => {
    const program = PROGRAMS[name] as Program<unknown>;
    const l = layout(program, at, sig);
    for (const [addr, b] of l.bytes) b.forEach((v, k) => machine.memory.writeU8(addr + BigInt(k), v));
    programs[name] = place(machine, program, l.addresses, data + BigInt(32 * i));
    at = alignUp(l.end);
  });
  const code: InstalledCode = {
    arch: machine.arch,
    text,
    textBytes: Number(size),
    callerIp: text,
    programs: programs as unknown as InstalledCode['programs'],
  };
  installed.set(machine, code);
  return code;
}

// ---------------------------------------------------------------------------
// Execution

/** The point between two steps: where the thread resumes if something happens now. */
export interface Boundary {
  readonly program: SectionName;
  /** Steps run so far in this attempt (1 after the descriptor store). */
  readonly steps: number;
  /** The step that just ran. */
  readonly kind: StepKind;
  readonly text: string;
  /** The next instruction: the IP the kernel sees if the thread is interrupted now. */
  readonly ip: bigint;
  /** ip is inside [start_ip, post_commit_ip): an interrupt now aborts the section. */
  readonly inSection: boolean;
  /** The next instruction is the commit store. */
  readonly beforeCommit: boolean;
  /** The commit store has run. */
  readonly committed: boolean;
}

export interface SectionResult {
  status: OpStatus;
  /** What the operation returns (listPop: the index, or minus the status). */
  value: number;
  /** The commit store ran. */
  committed: boolean;
  /** Steps run, the final return included. */
  steps: number;
}

export interface ExecuteHooks {
  /** Called right after the commit store, with the value the operation returns. */
  onCommit?: (value: number) => void;
}

/**
 * Runs one attempt of a program on `thread`: each `next()` runs one step
 * and yields the boundary after it; the return value is the result. The
 * IP lives in the machine's user registers of the thread, so a
 * `machine.returnToUser()` between two `next()` calls can abort the
 * section. A fault on user memory or a jump outside the program text kills
 * the process (FatalSignalError).
 */
export function* execute<N extends SectionName>(
  machine: Machine,
  thread: SimThread,
  name: N,
  args: SectionArgs[N],
  mem: SectionMemory,
  hooks: ExecuteHooks = {},
): Generator<Boundary, SectionResult, void> {
  const code = installSections(machine);
  const inst = code.programs[name] as InstalledProgram<SectionArgs[N]>;
  const program = inst.program;
  const regs: UserRegs = machine.userRegs(thread);
  const c: Cpu<SectionArgs[N]> = { args, mem, descriptor: inst.descriptor, r: [0n, 0n, 0n, 0n], byte: 0, i: 0 };
  let committed = false;
  let steps = 0;
  regs.ip = inst.entryIp;
  for (;;) {
    const k = inst.indexOf(regs.ip);
    if (k === undefined) {
      const fatal = machine.userFault(thread, `execution at 0x${regs.ip.toString(16)}, which is not an instruction of ${name}`);
      throw new FatalSignalError(fatal);
    }
    const step = program.steps[k] as Step<SectionArgs[N]>;
    steps++;
    if (step.status !== undefined) {
      regs.ip = code.callerIp;
      return { status: step.status, value: program.value(step.status, c), committed, steps };
    }
    let target: Label | undefined | void;
    try {
      target = (step.run as NonNullable<typeof step.run>)(c);
    } catch (e) {
      if (!(e instanceof MemoryFault)) throw e;
      throw new FatalSignalError(machine.userFault(thread, `segmentation fault: ${e.message} in ${name} (${step.text})`));
    }
    if (step.kind === 'commit') {
      committed = true;
      hooks.onCommit?.(program.value(OP_COMMITTED, c));
    }
    regs.ip = target ? inst.addressOf(target) : (inst.addresses[k + 1] as bigint);
    yield {
      program: name,
      steps,
      kind: step.kind,
      text: step.text,
      ip: regs.ip,
      inSection: regs.ip >= inst.startIp && regs.ip < inst.postCommitIp,
      beforeCommit: regs.ip === inst.commitIp,
      committed,
    };
  }
}

/**
 * The kernel's return to user space on `thread` (an interrupt between two
 * steps). Throws FatalSignalError when the kernel kills the process.
 */
export function interrupt(machine: Machine, thread: SimThread, cause: ReturnCause = 'preempt'): void {
  const r = machine.returnToUser(thread, cause);
  if (r.signal) throw new FatalSignalError(machine.fatal ?? { signal: r.signal, tid: thread.tid, reason: r.reason ?? '' });
}

export interface RunOptions extends ExecuteHooks {
  /**
   * Called at every boundary; may change the machine (preempt, migrate, a
   * membarrier from another thread) and returns the cause of a return to
   * user space to deliver now, or null. Pending events of the thread (a
   * membarrier IPI, a migration) are delivered as a preemption as well.
   */
  at?: (b: Boundary) => ReturnCause | null | void;
  /** Every boundary passed, in order (for traces). */
  trace?: Boundary[];
}

/** Runs one attempt to completion on `thread`, delivering the events `at` asks for. */
export function runSection<N extends SectionName>(
  machine: Machine,
  thread: SimThread,
  name: N,
  args: SectionArgs[N],
  mem: SectionMemory,
  options: RunOptions = {},
): SectionResult {
  const gen = execute(machine, thread, name, args, mem, options);
  for (;;) {
    const it = gen.next();
    if (it.done) return it.value;
    options.trace?.push(it.value);
    const cause = options.at?.(it.value) ?? (machine.pendingEvents(thread) !== 0 ? 'preempt' : null);
    if (cause) interrupt(machine, thread, cause);
  }
}
