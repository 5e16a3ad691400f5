/**
 * The one table of the values the TypeScript side and the addon share: the
 * kernel's rseq ABI as the package uses it (struct rseq and struct rseq_cs,
 * flags, signatures, system call numbers), and the package's own contract
 * with its addon (the addon's area-size rule, id modes, operation and region
 * statuses, the region header, error codes, the errno cases).
 *
 * Every other TypeScript file takes these values from here. The C++ side
 * takes them from native/abi_table.h, which `node scripts/gen-abi.cjs`
 * writes from this file (it is committed; never edit it by hand);
 * native/abi.h, where a reader finds the kernel ABI, checks its own
 * definitions against the generated ones at compile time.
 * test/native/abi-table.test.ts fails when the header is out of date, when a
 * C++ definition differs from the table, or when the addon answers with a
 * status that is not the table's.
 *
 * Plain data and pure functions only, and no imports: the generator
 * evaluates this file on its own.
 */

export type AbiArch = 'x86_64' | 'aarch64';

/** One field of a kernel struct: its C name, byte offset and size. */
export interface AbiField {
  readonly c: string;
  readonly offset: number;
  readonly size: number;
}

/**
 * struct rseq, the per-thread area (include/uapi/linux/rseq.h). `size` and
 * `align` are the original allocation (ORIG_RSEQ_SIZE, 32) and its
 * alignment; `origFeatureSize` the feature size of 4.18-6.2 (through flags).
 */
export const RSEQ_AREA = {
  size: 32,
  align: 32,
  origFeatureSize: 20,
  fields: {
    cpuIdStart: { c: 'cpu_id_start', offset: 0, size: 4 },
    cpuId: { c: 'cpu_id', offset: 4, size: 4 },
    rseqCs: { c: 'rseq_cs', offset: 8, size: 8 },
    flags: { c: 'flags', offset: 16, size: 4 },
    nodeId: { c: 'node_id', offset: 20, size: 4 },
    mmCid: { c: 'mm_cid', offset: 24, size: 4 },
    sliceCtrl: { c: 'slice_ctrl', offset: 28, size: 4 },
  },
} as const;

export type RseqAreaField = keyof typeof RSEQ_AREA.fields;

/** struct rseq_cs, the critical-section descriptor: 32 bytes, 32-byte aligned. */
export const RSEQ_CS = {
  size: 32,
  align: 32,
  fields: {
    version: { c: 'version', offset: 0, size: 4 },
    flags: { c: 'flags', offset: 4, size: 4 },
    startIp: { c: 'start_ip', offset: 8, size: 8 },
    postCommitOffset: { c: 'post_commit_offset', offset: 16, size: 8 },
    abortIp: { c: 'abort_ip', offset: 24, size: 8 },
  },
} as const;

/** rseq() flags. */
export const RSEQ_FLAG = {
  UNREGISTER: 1 << 0,
  /** Linux 7.0: time-slice extension on from registration. */
  SLICE_EXT_DEFAULT_ON: 1 << 1,
} as const;

/** struct rseq_cs::flags and struct rseq::flags bits. 0-2: the deprecated NO_RESTART bits (fatal since 6.0). */
export const RSEQ_CS_FLAG = {
  NO_RESTART_ON_PREEMPT: 1 << 0,
  NO_RESTART_ON_SIGNAL: 1 << 1,
  NO_RESTART_ON_MIGRATE: 1 << 2,
  /** Linux 7.0, read-only in struct rseq::flags. */
  SLICE_EXT_AVAILABLE: 1 << 4,
  SLICE_EXT_ENABLED: 1 << 5,
} as const;

/** cpu_id values that are not CPU numbers (u32 views of -1 and -2). */
export const RSEQ_CPU_ID = {
  UNINITIALIZED: 0xffffffff,
  /** A libc convention: libc's registration failed or was turned off. */
  REGISTRATION_FAILED: 0xfffffffe,
} as const;

/** Per architecture: the signature before every abort handler, and the system call numbers. */
export const RSEQ_ARCH: Readonly<Record<AbiArch, { readonly sig: number; readonly nrRseq: number; readonly nrMembarrier: number }>> = {
  x86_64: { sig: 0x53053053, nrRseq: 334, nrMembarrier: 324 },
  aarch64: { sig: 0xd428bc00, nrRseq: 293, nrMembarrier: 283 },
};

/** rseq_slice_yield() (Linux 7.0), the same number on both architectures. */
export const NR_RSEQ_SLICE_YIELD = 471;

/** Auxiliary vector entries (Linux 6.3+). */
export const AT_RSEQ = { FEATURE_SIZE: 27, ALIGN: 28 } as const;

/** membarrier(2) commands (include/uapi/linux/membarrier.h). */
export const MEMBARRIER_CMD = {
  QUERY: 0,
  GLOBAL: 1 << 0,
  GLOBAL_EXPEDITED: 1 << 1,
  REGISTER_GLOBAL_EXPEDITED: 1 << 2,
  PRIVATE_EXPEDITED: 1 << 3,
  REGISTER_PRIVATE_EXPEDITED: 1 << 4,
  PRIVATE_EXPEDITED_SYNC_CORE: 1 << 5,
  REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: 1 << 6,
  PRIVATE_EXPEDITED_RSEQ: 1 << 7,
  REGISTER_PRIVATE_EXPEDITED_RSEQ: 1 << 8,
  GET_REGISTRATIONS: 1 << 9,
} as const;
export const MEMBARRIER_CMD_FLAG_CPU = 1 << 0;

/** The time-slice extension's prctl (Linux 7.0), and ENOTSUPP, which it leaks to user space. */
export const PR_RSEQ_SLICE = { EXTENSION: 79, GET: 1, SET: 2, ENABLE: 1 } as const;
export const ENOTSUPP = 524;

// ---------------------------------------------------------------------------
// The package's own contract with its addon.
// ---------------------------------------------------------------------------

/** How the package lays out an area it registers itself (native/registration.h area_layout). */
export interface AreaLayout {
  /** The length registered. */
  length: number;
  /** The allocation's alignment. */
  align: number;
  /** The allocation's size: length rounded up to align. */
  allocSize: number;
}

/**
 * The area the package registers when libc did not register the thread, for
 * a kernel with this AT_RSEQ_FEATURE_SIZE and AT_RSEQ_ALIGN (null or 0:
 * absent). The original 32 bytes when the feature size is <= 32 (4.18-6.19,
 * and 7.0's legacy mode); otherwise exactly the feature size (33 on 7.0: the
 * optimised v2 mode, as glibc 2.41+ registers), in an allocation rounded up
 * to the alignment. The alignment is AT_RSEQ_ALIGN, at least 32.
 */
export function addonAreaLayout(featureSize: number | null, atAlign: number | null): AreaLayout {
  const align = Math.max(atAlign ?? 0, RSEQ_AREA.align);
  const fs = featureSize ?? 0;
  const length = fs <= RSEQ_AREA.size ? RSEQ_AREA.size : fs;
  return { length, align, allocSize: Math.ceil(length / align) * align };
}

/** Kernels the generator writes addonAreaLayout's answers for, [feature size, AT_RSEQ_ALIGN]: the C++ rule is checked against them. */
export const AREA_LAYOUT_CASES: ReadonlyArray<readonly [number, number]> = [
  [0, 0], // before 6.3: nothing published
  [20, 0],
  [28, 32], // 6.3-6.19
  [32, 32],
  [33, 64], // 7.0
  [40, 64],
  [64, 64],
  [65, 128],
];

/** Which id an operation reads: the addon's numbers for IndexMode ('cpu': cpu_id, 'mmcid': mm_cid). */
export const ID_MODE = { cpu: 0, mmcid: 1 } as const;

// Statuses of one per-CPU operation (Backend.section in backend.ts). Single
// constants, not an object, so that each keeps its literal type; the
// generator takes every number exported as OP_* and REGION_*, in this order.

/** The section committed. */
export const OP_COMMITTED = 0;
/** A comparison failed (or the list was empty): nothing was written. */
export const OP_COMPARE_FAILED = 1;
/** The kernel aborted the section (preemption, migration, signal): nothing was committed. */
export const OP_ABORTED = 2;
/** The thread's id was not `id` when the section started: nothing was written. */
export const OP_MOVED = 3;
/** List pop found an index outside the list (a corrupted list): nothing was written. */
export const OP_BAD_INDEX = 4;

// Statuses of a bound region's operations (BoundRegion in backend.ts).

export const REGION_OK = 0;
/** pop/take: nothing there; push: this CPU's stack is full. */
export const REGION_EMPTY = 1;
/** Another thread holds this CPU's slot for a moment (a claim word): the caller waits, then calls again. */
export const REGION_LOCKED = 2;
/** A count, head or link read from the slot is out of range: the shared memory was overwritten. */
export const REGION_CORRUPT = 3;
/** The counter's word would leave the signed 64-bit range. */
export const REGION_OVERFLOW = 4;
/** give(i): i is not taken (given twice, or never taken). Nothing changed. */
export const REGION_NOT_TAKEN = 5;
/** The thread's id is past the region's slots. */
export const REGION_BAD_ID = 6;
/** Many sections in a row were aborted: call again. */
export const REGION_RETRY = 7;
/** args[0] is not an integer in the operation's range. */
export const REGION_BAD_ARG = 8;
/** Through node:ffi (src/native/ffi.ts): the handle names no live region of this thread and kind. */
export const REGION_BAD_HANDLE = 9;

/** Header word 0 of a region is REGION_LAYOUT.magicBase + its kind's code. */
export const REGION_KIND = { counter: 1, buffer: 2, pool: 3 } as const;

/** The per-CPU structures' shared memory (src/contract/layout.ts). */
export const REGION_LAYOUT = {
  headerWords: 8,
  /** Words in one 64-byte cache line. */
  lineWords: 8,
  version: 3,
  magicBase: 0x72736571_00,
  /** A claim word (another thread holds the slot) is at least this. */
  locked: 2 ** 52,
  /** An empty pool list's head. */
  empty: 2 ** 51,
  /** next[i] of a pool index that a thread holds. */
  taken: 2 ** 50,
  maxSlots: 2 ** 16,
  maxRecord: 2 ** 16,
  maxCapacity: 2 ** 20,
  maxPoolSize: 2 ** 31 - 1,
  maxLanes: 256,
  /** A counter's section word stays within +-wordGuard. */
  wordGuard: 2 ** 44,
} as const;

/** The `.code` of the errors the addon throws. */
export const ERROR_CODE = {
  invalidArgType: 'ERR_INVALID_ARG_TYPE',
  outOfRange: 'ERR_OUT_OF_RANGE',
  notRegistered: 'ERR_RSEQ_NOT_REGISTERED',
  fieldUnavailable: 'ERR_RSEQ_FIELD_UNAVAILABLE',
  badHeader: 'ERR_RSEQ_BAD_HEADER',
  noMemory: 'ERR_RSEQ_NO_MEMORY',
  bind: 'ERR_RSEQ_BIND',
} as const;

/**
 * The registration cases run by `errnoTable()`, in this order, on one fresh
 * thread. A and B are two zeroed 64-byte areas aligned to 64; SIG is the
 * architecture's signature; UNREG is RSEQ_FLAG_UNREGISTER; BAD is 1 << 8, a
 * flag no kernel defines; KADDR is a 64-byte aligned kernel address.
 */
export const ERRNO_CASES = [
  'probe-null', //                     rseq(NULL, 0, 0, 0)
  'register-bad-flags', //             rseq(A, 32, BAD, SIG)
  'register-len-31', //                rseq(A, 31, 0, SIG)
  'register-misaligned', //            rseq(A + 16, 32, 0, SIG)
  'register-bad-address', //           rseq(KADDR, 32, 0, SIG)
  'unregister-not-registered', //      rseq(A, 32, UNREG, SIG)
  'register', //                       rseq(A, 32, 0, SIG)
  'register-again-same', //            rseq(A, 32, 0, SIG)
  'register-again-other-signature', // rseq(A, 32, 0, SIG ^ 1)
  'register-again-other-area', //      rseq(B, 32, 0, SIG)
  'register-again-other-length', //    rseq(A, 64, 0, SIG)
  'unregister-extra-flags', //         rseq(A, 32, UNREG | BAD, SIG)
  'unregister-other-area', //          rseq(B, 32, UNREG, SIG)
  'unregister-other-length', //        rseq(A, 64, UNREG, SIG)
  'unregister-wrong-signature', //     rseq(A, 32, UNREG, SIG ^ 1)
  'unregister', //                     rseq(A, 32, UNREG, SIG)
  'register-len-64', //                rseq(B, 64, 0, SIG)
  'unregister-len-64', //              rseq(B, 64, UNREG, SIG)
] as const;

/**
 * The messages of the per-CPU operations' argument checks, the same on both
 * backends: src/contract/op-args.ts formats them for the simulator (and for
 * the native backend's mode), native/op_args.cc for the addon. `{op}` is the
 * operation (its name for Backend.section: add, storeIfEqual, ...), `{arg}`
 * the argument's name (src/contract/sections.ts), `{type}` what was passed instead (typeof, 'null', or 'a
 * Float64Array' for a typed array of another kind), `{value}` the number as
 * String(value) writes it; `{lo}`, `{hi}` and `{why}` the range and what
 * bounds it (ARG_BOUND). TypeErrors have the code ERROR_CODE.invalidArgType,
 * RangeErrors ERROR_CODE.outOfRange.
 */
export const ARG_MESSAGE = {
  /** TypeError */
  notNumber: '{op}: {arg} must be a number, not {type}',
  /** TypeError */
  notBoolean: '{op}: {arg} must be a boolean, not {type}',
  /** TypeError */
  notTypedArray: '{op}: {arg} must be {want}, not {type}',
  /** TypeError */
  detached: '{op}: {arg} must be {want} whose buffer is not detached (it was transferred)',
  /** RangeError: the Backend's mode. */
  mode: "{op}: mode must be 'cpu' or 'mmcid', not {value}",
  /** RangeError: the addon's numeric mode (ID_MODE). */
  modeNumber: '{op}: mode must be 0 (cpu_id) or 1 (mm_cid), got {value}',
  /** RangeError */
  integer: '{op}: {arg} must be an integer in [{lo}, {hi}] ({why}), got {value}',
  /** RangeError: the range is empty. */
  noInteger: '{op}: {arg} must be an integer, but no value is valid ({why}), got {value}',
  /** RangeError */
  safeInteger: '{op}: {arg} must be a safe integer (-(2^53 - 1) to 2^53 - 1), got {value}',
} as const;

/** What bounds an argument's range: the `{why}` of ARG_MESSAGE.integer. */
export const ARG_BOUND = {
  id: 'a u32',
  index: 'an index into words',
  emptyWords: 'words is empty',
  next: 'words.length',
  count: 'words.length - next: next[0..count) must lie in words',
  dstOffset: 'dst.length',
  srcOffset: 'src.length',
  copyLength: 'dst.length - dstOffset = {dstRoom}, src.length - srcOffset = {srcRoom}',
  cpu: '-1 for every CPU',
} as const;
