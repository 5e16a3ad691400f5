/**
 * The backend interface. `src/` is written once against it; the native addon
 * (`src/native/backend.ts` over `native/`) and the simulator (`fallback/`) implement it.
 * Everything a backend returns must be identical in shape, and in value where
 * the simulated profile matches the host.
 */
import type {
  AreaAccess,
  AuxvEntry,
  BackendKind,
  DebugCounts,
  ErrnoTable,
  FieldAvailability,
  KernelInfo,
  LibcInfo,
  RegistrationInfo,
  SelftestChecks,
} from './types.js';
import type { IndexMode, OpName, SectionArgs } from './sections.js';
import { OP_ABORTED, OP_BAD_INDEX, OP_COMMITTED, OP_COMPARE_FAILED, OP_MOVED, REGION_KIND, RSEQ_AREA } from './abi.js';

/** The four thread fields read through `readField`. */
export type ThreadField = 'cpuIdStart' | 'cpuId' | 'nodeId' | 'mmCid';

/** Byte offsets of the fields in `struct rseq` (include/uapi/linux/rseq.h; the table in abi.ts). */
export const FIELD_OFFSET: Readonly<Record<ThreadField | 'sliceCtrl', number>> = {
  cpuIdStart: RSEQ_AREA.fields.cpuIdStart.offset,
  cpuId: RSEQ_AREA.fields.cpuId.offset,
  nodeId: RSEQ_AREA.fields.nodeId.offset,
  mmCid: RSEQ_AREA.fields.mmCid.offset,
  sliceCtrl: RSEQ_AREA.fields.sliceCtrl.offset,
};

/**
 * Where the calling thread's `struct rseq` can be read from JavaScript.
 * `buffer`: memory the kernel (or the simulated kernel) writes, read with plain
 * loads. `calls`: no such memory can be handed out (the runtime forbids external
 * buffers), so each read is a call.
 */
export type AreaSource =
  | { kind: 'buffer'; access: AreaAccess; buffer: ArrayBuffer | SharedArrayBuffer; byteOffset: number; byteLength: number }
  | { kind: 'calls'; access: AreaAccess; byteLength: number; reason: string; read(field: ThreadField): number };

/** A failed system call: errno name and Linux errno number. */
export interface SyscallFailure {
  errno: string;
  code: number;
}

/** What one slice call answered: `value` when `failure` is null. */
export interface SliceCallResult {
  value: number;
  failure: SyscallFailure | null;
}

/** The time-slice extension's calls on the calling thread (Backend.slice). */
export interface SliceCalls {
  /** prctl(PR_RSEQ_SLICE_EXTENSION, GET) (1 enabled, 0 not), or SET with ENABLE ('enable') or 0 ('disable'). */
  prctl(op: 'get' | 'enable' | 'disable'): SliceCallResult;
  /** rseq_slice_yield() (syscall 471): 1 when a grant was still active, else 0. */
  yield(): SliceCallResult;
  /** slice_ctrl.request = 1 in the calling thread's area. */
  request(): SyscallFailure | null;
  /** slice_ctrl.request = 0, then rseq_slice_yield() when granted: 1 when it yielded a grant, else 0. */
  end(): SliceCallResult;
  /** The calling thread's slice_ctrl word (request: bit 0, granted: bit 8). */
  ctrl(): number;
}

export interface Backend extends PerCpuOps {
  /**
   * Binds a per-CPU structure's memory to the calling thread (see BoundRegion).
   * `words` is a BigInt64Array over the whole structure; its header has been
   * checked by src/contract/layout.ts, and the backend checks it again and keeps
   * its own copy. Throws when the thread cannot run sections.
   */
  bindRegion(words: BigInt64Array, kind: RegionKind): BoundRegion;
  readonly kind: BackendKind;
  readonly arch: string;
  kernel(): KernelInfo;
  libc(): LibcInfo;
  /** The calling thread's registration (acquired when the backend was created on this thread). */
  registration(): RegistrationInfo;
  /** Field liveness, from the (real or simulated) AT_RSEQ_FEATURE_SIZE. */
  fields(): FieldAvailability;
  auxv(): AuxvEntry[];
  /** The raw u32 value of a field of the calling thread's area; liveness is checked by the caller. */
  readField(field: ThreadField): number;
  areaSource(): AreaSource;
  /** Run ERRNO_CASES on a fresh thread and report what the (real or simulated) kernel answered. */
  errnoTable(): ErrnoTable;
  /**
   * Pin the calling thread to these CPUs (sched_setaffinity on the calling
   * thread). Input is already checked by the caller. Returns null on success or
   * the errno the (real or simulated) kernel gave; the caller raises the error.
   */
  setAffinity(cpus: readonly number[]): SyscallFailure | null;
  getAffinity(): number[];
  /** sched_getcpu(): the libc's (or simulated) view of the current CPU, independent of the rseq area. */
  schedGetcpu(): number;
  debugCounts(): DebugCounts;
  /**
   * The time-slice extension (Linux 7.0) of the calling thread: the raw
   * calls, each answering what the (real or simulated) kernel answered.
   * src/slice.ts makes the public API of them.
   */
  readonly slice: SliceCalls;
  /**
   * The selftest's checks (src/selftest.ts), within about `budgetMs`
   * milliseconds (already checked: an integer in [50, 10000]).
   */
  selftest(budgetMs: number): { ms: number; checks: SelftestChecks };
  /** The verdict of the last selftest that completed in this process, or null. */
  selftestVerdict(): 'ok' | 'broken' | null;
}

export type { IndexMode, OpName, SectionArgs } from './sections.js';

// The statuses are defined in abi.ts, the table native/abi_table.h is generated from.
export { OP_ABORTED, OP_BAD_INDEX, OP_COMMITTED, OP_COMPARE_FAILED, OP_MOVED } from './abi.js';

export type OpStatus = typeof OP_COMMITTED | typeof OP_COMPARE_FAILED | typeof OP_ABORTED | typeof OP_MOVED | typeof OP_BAD_INDEX;

export interface OpCounts {
  /** Sections the kernel aborted, on this thread. */
  aborts: number;
  /** Sections that found the thread's id changed before they started, on this thread. */
  moved: number;
  /** Sections attempted, on this thread. */
  attempts: number;
}

/**
 * Per-CPU critical sections: the operations of librseq's per-CPU set, each a
 * single attempt, through one method with named arguments. The caller reads
 * the thread's id (cpu_id in mode `cpu`, mm_cid in mode `mmcid`), picks its
 * slots from it, and passes it in; the section stores its descriptor in
 * rseq_cs, checks that the thread's id still equals `id`, and ends in one
 * commit store. Words are 64-bit elements of a BigInt64Array (usually over a
 * SharedArrayBuffer); every word index (sections.ts) is an element index into
 * `words`. Values are safe integers.
 *
 * The caller (src/) validates every argument before calling; backends check
 * again and never write out of bounds.
 */
export interface PerCpuOps {
  /**
   * One attempt of the critical section `op` with its named arguments
   * (sections.ts: what each section does and which arguments it takes), e.g.
   * `section('add', { mode, id, words, index, count })`. Returns an OpStatus;
   * listPop returns the popped index (>= 0), or minus an OpStatus.
   * A wrong argument throws (op-args.ts) before anything is read or written.
   */
  section<N extends OpName>(op: N, args: SectionArgs[N]): number;
  /** The calling thread's id in this mode (cpu_id or mm_cid), read from its area. */
  currentId(mode: IndexMode): number;
  /**
   * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ): every thread of the
   * process inside a critical section aborts it before this returns; `cpu` >= 0
   * limits it to that CPU (MEMBARRIER_CMD_FLAG_CPU). Registers the process once.
   */
  fence(cpu: number): SyscallFailure | null;
  /** This thread's section counts. */
  opCounts(): OpCounts;
  /** CPU ids the kernel may ever use: /sys/devices/system/cpu/possible (ids can exceed the online count). */
  possibleCpus(): number[];
}

/** Which structure a region holds (header word 0 is REGION_MAGIC_BASE + this code). */
export type RegionKind = 'counter' | 'buffer' | 'pool';
export const REGION_KIND_CODE: Readonly<Record<RegionKind, number>> = REGION_KIND;

/** Statuses of a bound operation (abi.ts). */
export {
  REGION_BAD_ARG,
  REGION_BAD_HANDLE,
  REGION_BAD_ID,
  REGION_CORRUPT,
  REGION_EMPTY,
  REGION_LOCKED,
  REGION_NOT_TAKEN,
  REGION_OK,
  REGION_OVERFLOW,
  REGION_RETRY,
} from './abi.js';

/**
 * A per-CPU structure's memory bound to the calling thread: the backend
 * interface of the structures. Each operation reads the thread's id from its
 * rseq area, picks the slot, and retries its critical section until it
 * commits, in one crossing that converts no argument but a record: amounts
 * and indices go in `args[0]`. None of them waits for another
 * thread: a slot that another thread holds is REGION_LOCKED, and the caller
 * waits and recovers (src/percpu/claim.ts).
 */
export interface BoundRegion {
  /**
   * How the native backend crosses into the addon for add(), push(), pop(),
   * take() and give(): 'napi', or 'ffi' (RSEQ_FFI=1, src/native/ffi.ts). Absent on the simulator.
   */
  readonly crossing?: 'napi' | 'ffi';
  /** 'ffi': the region's handle in the addon's table (native/region_ffi.h). */
  readonly handle?: number;
  /** Arguments and results: args[0] is add's amount, give's index and the index take() took. */
  readonly args: Float64Array;
  /** One record (buffer regions): push and pop use it when they are given none. */
  readonly record: Uint8Array;
  /** Counter: this CPU's section word += args[0]. Undefined when it committed, else a status. */
  add(): number | undefined;
  /**
   * Buffer: `record` (default: the region's `record`; a Uint8Array of the
   * record size, else REGION_BAD_ARG) onto this CPU's stack. Undefined when it
   * committed, else a status (REGION_EMPTY: full).
   */
  push(record?: Uint8Array): number | undefined;
  /** Buffer: this CPU's top record into `into` (default: the region's `record`). Undefined when it committed, else a status (REGION_EMPTY: empty). */
  pop(into?: Uint8Array): number | undefined;
  /**
   * Buffer, a batch in one section: the records packed in `records` (whole
   * records) onto this CPU's stack, as many as fit. The number stored, or minus a status.
   */
  pushMany(records: Uint8Array): number;
  /** Buffer, a batch in one section: up to into.length / recordSize records off this CPU's stack top into `into`, bottom first. The number taken, or minus a status. */
  popMany(into: Uint8Array): number;
  /**
   * Pool: an index from this CPU's list into args[0]. Undefined when it took
   * one, else a status (REGION_EMPTY: the list is empty). The index comes back
   * through args, not as the return value: a number made by the addon costs a
   * native call 7-9 ns more here (bench/analysis/crossing.cjs).
   */
  take(): number | undefined;
  /** Pool: index args[0], which this thread took, onto this CPU's list. Undefined when it committed, else a status. */
  give(): number | undefined;
  /**
   * membarrier for this structure: every section on it in flight on `cpu`
   * (every CPU when cpu < 0) has aborted or committed when this returns.
   */
  fence(cpu: number): SyscallFailure | null;
}
