/**
 * Each section of the PerCpuOps contract (src/contract/backend.ts) written
 * once, as the sequence of steps its assembly performs (librseq's per-CPU
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
 * section-layout.ts places the programs in simulated memory and
 * section-exec.ts runs them.
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
import { RSEQ_FIELD } from './profiles.js';
import type { AddFields, CommonArgs, CopyCommitFields, DoubleCompareStoreFields, ListPopFields, SectionFields, SectionName, SpeculativeStoreCommitFields, StoreIfEqualFields } from './section-args.js';
import type { SectionMemory } from './section-memory.js';

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

export const ADD: Program<AddFields> = {
  name: 'add',
  steps: [
    ...head<AddFields>(),
    loadWord<AddFields>(0, 'index', (a) => a.index),
    {
      kind: 'alu',
      text: 'r0 = r0 + count (64-bit, wrapping)',
      run: (c) => {
        c.r[0] = BigInt.asIntN(64, (c.r[0] as bigint) + BigInt(c.args.count));
      },
    },
    { ...commitStore<AddFields>('index', (a) => a.index, (c) => c.r[0] as bigint), text: 'words[index] = r0' },
    ...tail<AddFields>(),
  ],
  value: status,
  speculative: () => NONE,
};

export const STORE_IF_EQUAL: Program<StoreIfEqualFields> = {
  name: 'storeIfEqual',
  steps: [
    ...head<StoreIfEqualFields>(),
    loadWord<StoreIfEqualFields>(0, 'index', (a) => a.index),
    branchNe<StoreIfEqualFields>(0, 'expect', (a) => a.expect),
    { ...commitStore<StoreIfEqualFields>('index', (a) => a.index, (c) => BigInt(c.args.newv)), text: 'words[index] = newv' },
    ...tail<StoreIfEqualFields>(),
  ],
  value: status,
  speculative: () => NONE,
};

export const DOUBLE_COMPARE_STORE: Program<DoubleCompareStoreFields> = {
  name: 'doubleCompareStore',
  steps: [
    ...head<DoubleCompareStoreFields>(),
    loadWord<DoubleCompareStoreFields>(0, 'index', (a) => a.index),
    branchNe<DoubleCompareStoreFields>(0, 'expect', (a) => a.expect),
    loadWord<DoubleCompareStoreFields>(1, 'index2', (a) => a.index2),
    branchNe<DoubleCompareStoreFields>(1, 'expect2', (a) => a.expect2),
    { ...commitStore<DoubleCompareStoreFields>('index', (a) => a.index, (c) => BigInt(c.args.newv)), text: 'words[index] = newv' },
    ...tail<DoubleCompareStoreFields>(),
  ],
  value: status,
  speculative: () => NONE,
};

export const SPECULATIVE_STORE_COMMIT: Program<SpeculativeStoreCommitFields> = {
  name: 'speculativeStoreCommit',
  steps: [
    ...head<SpeculativeStoreCommitFields>(),
    loadWord<SpeculativeStoreCommitFields>(0, 'index', (a) => a.index),
    branchNe<SpeculativeStoreCommitFields>(0, 'expect', (a) => a.expect),
    {
      kind: 'speculative-store',
      text: 'words[index2] = newv2 (speculative)',
      run: (c) => c.mem.storeWord(c.args.index2, BigInt(c.args.newv2), 'speculative'),
    },
    {
      ...commitStore<SpeculativeStoreCommitFields>('index', (a) => a.index, (c) => BigInt(c.args.newv), (a) => a.release),
      text: 'words[index] = newv (store-release when release)',
    },
    ...tail<SpeculativeStoreCommitFields>(),
  ],
  value: status,
  speculative: (a) => ({ words: [a.index2], dst: null }),
};

export const COPY_COMMIT: Program<CopyCommitFields> = {
  name: 'copyCommit',
  steps: [
    ...head<CopyCommitFields>(),
    loadWord<CopyCommitFields>(0, 'index', (a) => a.index),
    branchNe<CopyCommitFields>(0, 'expect', (a) => a.expect),
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
    { ...commitStore<CopyCommitFields>('index', (a) => a.index, (c) => BigInt(c.args.newv), (a) => a.release), text: 'words[index] = newv (store-release when release)' },
    ...tail<CopyCommitFields>(),
  ],
  value: status,
  speculative: (a) => ({ words: [], dst: { offset: a.dstOffset, length: a.length } }),
};

export const LIST_POP: Program<ListPopFields> = {
  name: 'listPop',
  steps: [
    ...head<ListPopFields>(),
    loadWord<ListPopFields>(0, 'head', (a) => a.head),
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
    { ...commitStore<ListPopFields>('head', (a) => a.head, (c) => c.r[1] as bigint), text: 'words[head] = r1' },
    ...tail<ListPopFields>([{ label: 'badindex', kind: 'return', text: 'badindex: return OP_BAD_INDEX', status: OP_BAD_INDEX }]),
  ],
  value: (s, c) => (s === OP_COMMITTED ? Number(c.r[0]) : -s),
  speculative: () => NONE,
};

export const PROGRAMS: { readonly [N in SectionName]: Program<SectionFields[N]> } = {
  add: ADD,
  storeIfEqual: STORE_IF_EQUAL,
  doubleCompareStore: DOUBLE_COMPARE_STORE,
  speculativeStoreCommit: SPECULATIVE_STORE_COMMIT,
  copyCommit: COPY_COMMIT,
  listPop: LIST_POP,
};
