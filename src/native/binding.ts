import type { BoundRegion } from '../contract/backend.js';
import type { SelftestCheck } from '../contract/types.js';
/**
 * The exact shape of what `build/Release/rseq.node` exports (native/addon.cc).
 * Errno values are Linux errno numbers with their names; sentences for users
 * are made in `src/contract/errors.ts`, shared by both backends.
 */
export interface NativeErrno {
  /** 0 on success. */
  errno: number;
  /** `EINVAL` etc.; empty string when errno is 0. */
  errnoName: string;
  /** `register`, `unregister`, `rseq-probe`, `membarrier`, `alloc`. */
  op: string;
}

export interface NativeRegistration extends NativeErrno {
  owner: 'libc' | 'addon' | 'none';
  /** Registered length; 0 when not registered or unknown. */
  length: number;
  /** Registered signature; 0 when unknown. */
  signature: number;
  /** References this thread holds after the call. */
  refs: number;
}

export interface NativeKernel {
  /** uname().release */
  release: string;
  /** getauxval(AT_RSEQ_FEATURE_SIZE); 0 when absent. */
  featureSize: number;
  /** getauxval(AT_RSEQ_ALIGN); 0 when absent. */
  align: number;
  /** errno of rseq(NULL, 0, 0, 0): EINVAL (22) means present. */
  probeErrno: number;
  probeErrnoName: string;
  /** MEMBARRIER_CMD_QUERY mask, or -errno when membarrier failed. */
  membarrierMask: number;
}

export interface NativeLibc {
  family: 'glibc' | 'musl' | 'unknown';
  version: string | null;
  rseqOffset: number | null;
  rseqSize: number | null;
  rseqFlags: number | null;
}

export interface NativeBinding {
  /** 'x86_64' or 'aarch64'. */
  readonly arch: string;
  /** The signature this addon registers with (glibc's for the architecture). */
  readonly signature: number;
  /** Take a reference on the calling thread's registration (finds libc's or registers the addon's). */
  acquire(): NativeRegistration;
  /** Drop one of this environment's references; returns the thread's remaining references. */
  release(): number;
  /** The calling thread's registration, without changing references. */
  registration(): NativeRegistration;
  kernel(): NativeKernel;
  libc(): NativeLibc;
  /** /proc/self/auxv (getauxval for the rseq entries when it cannot be read). */
  auxv(): Array<{ type: number; name: string | null; value: bigint }>;
  /** Raw u32 fields of the calling thread's area; throws when the thread holds no registration. */
  cpuIdStart(): number;
  cpuId(): number;
  nodeId(): number;
  mmCid(): number;
  /**
   * An external ArrayBuffer over the calling thread's struct rseq (registration
   * length bytes), or a string saying why none can be made.
   */
  areaBuffer(): ArrayBuffer | string;
  /** ERRNO_CASES on a fresh pthread; errno numbers with names. */
  errnoTable(): {
    ownerAtStart: 'libc' | 'none';
    signature: number;
    cases: Array<{ case: string; ret: number; errno: number; errnoName: string }>;
  };
  /** sched_setaffinity(0, ...) of the calling thread; throws an Error with `.code` = errno name and `.errno` = number. */
  setAffinity(cpus: number[]): void;
  getAffinity(): number[];
  schedGetcpu(): number;
  debugCounts(): { registrations: number; areas: number; threads: number };

  // Per-CPU critical sections (native/percpu.*, native/arch/*). `mode`: 0 = cpu_id,
  // 1 = mm_cid. Each is one attempt and returns an OpStatus of src/contract/backend.ts
  // (opListPop: the popped index, or minus an OpStatus). Every argument is checked
  // before the section starts: a wrong type is a TypeError, an index, offset or
  // length out of range a RangeError, and nothing is written.
  opAdd(mode: number, id: number, words: BigInt64Array, index: number, count: number): number;
  opStoreIfEqual(mode: number, id: number, words: BigInt64Array, index: number, expect: number, newv: number): number;
  opDoubleCompareStore(mode: number, id: number, words: BigInt64Array, index: number, expect: number, index2: number, expect2: number, newv: number): number;
  opSpeculativeStoreCommit(
    mode: number,
    id: number,
    words: BigInt64Array,
    index: number,
    expect: number,
    index2: number,
    newv2: number,
    newv: number,
    release: boolean,
  ): number;
  opCopyCommit(
    mode: number,
    id: number,
    words: BigInt64Array,
    index: number,
    expect: number,
    dst: Uint8Array,
    dstOffset: number,
    src: Uint8Array,
    srcOffset: number,
    length: number,
    newv: number,
    release: boolean,
  ): number;
  opListPop(mode: number, id: number, words: BigInt64Array, head: number, next: number, count: number, empty: number): number;
  /** cpu_id (mode 0) or mm_cid (mode 1) of the calling thread. */
  currentId(mode: number): number;
  /** membarrier PRIVATE_EXPEDITED_RSEQ (cpu -1: all CPUs); registers once; throws Error with .code/.errno on failure. */
  fence(cpu: number): void;
  opCounts(): { aborts: number; moved: number; attempts: number };
  /** /sys/devices/system/cpu/possible */
  possibleCpus(): number[];
  /**
   * native/region_binding.cc: kind 1 counter, 2 buffer, 3 pool. Throws (code
   * ERR_RSEQ_BAD_HEADER, ...) when it cannot bind. `handle`: the region's
   * handle for the rseq_ffi_* functions (native/region_ffi.h), -1 when the
   * table is full (absent in builds before them).
   */
  bindRegion(words: BigInt64Array, kind: number): Omit<BoundRegion, 'fence' | 'crossing'> & { readonly handle?: number };
  /** True for the first call in the process (src/native/ffi.ts warns once); absent in builds before it. */
  ffiWarnOnce?(): boolean;
  // The time-slice extension (native/slice_binding.cc). A failed call throws an
  // Error with `.code` = errno name (ENOTSUPP for 524) and `.errno` = number.
  /** prctl(PR_RSEQ_SLICE_EXTENSION, GET): 1 enabled, 0 not. */
  sliceGet(): number;
  /** prctl(PR_RSEQ_SLICE_EXTENSION, SET, enable ? ENABLE : 0). */
  sliceSet(enable: boolean): void;
  /** rseq_slice_yield() (syscall 471): 1 when a grant was still active. */
  sliceYield(): number;
  /** slice_ctrl.request = 1 in the calling thread's area (ENXIO without a registration). */
  sliceRequest(): void;
  /** slice_ctrl.request = 0, then rseq_slice_yield() when granted: 1 when it yielded. */
  sliceEnd(): number;
  /** The calling thread's slice_ctrl word. */
  sliceCtrl(): number;
  /**
   * native/selftest.h on the core's own threads, within about budgetMs (an
   * integer in [50, 10000], else a TypeError/RangeError); reasons are '' when ok.
   */
  selftest(budgetMs: number): { ms: number; checks: Record<'sameCpu' | 'migration' | 'signal' | 'ids', NativeSelftestCheck> };
  /** 0 no selftest has completed in this process, 1 ok, 2 broken. */
  selftestVerdict(): number;
}

/** One check of native/selftest.h: src/contract/types.ts SelftestCheck, with '' for no reason. */
export type NativeSelftestCheck = Omit<SelftestCheck, 'reason'> & { reason: string };

// ---------------------------------------------------------------------------
// Benchmarks only (bench/native/bench.cc, used by bench/run.cjs; not part of
// the API): only the development addon (build/Release/rseq_dev.node, npm run
// build:dev) has it; the shipped addon does not.
// ---------------------------------------------------------------------------

/**
 * The C loops of native/bench.h: `rseq-add` (the add section through
 * native/percpu.h, as opAdd runs it, retried until it commits),
 * `rseq-add-inline` (the same section inlined), `area-atomic` (cpu_id from the
 * area + atomic add), `getcpu-atomic` (sched_getcpu() + atomic add),
 * `vdso-getcpu-atomic` (getcpu() + atomic add), `shared-atomic` (one shared
 * word).
 */
export type NativeBenchKind = 'rseq-add' | 'rseq-add-inline' | 'area-atomic' | 'getcpu-atomic' | 'vdso-getcpu-atomic' | 'shared-atomic';

export interface NativeBenchBinding {
  /**
   * Runs `iterations` adds of `kind` on the calling thread and returns the
   * elapsed nanoseconds, measured in C (CLOCK_MONOTONIC). `words`: 8 words per
   * possible CPU plus 8 (slot s at s * 8, the shared word after the slots);
   * without it, a process-wide block that every thread shares. Throws a
   * TypeError/RangeError for a bad argument, an Error when the loop cannot run.
   */
  benchLoop(kind: NativeBenchKind, iterations: number, words?: BigInt64Array): number;
  /** Does nothing: the floor of one N-API call. */
  benchCall(): undefined;
  /** Reads its data pointer and does nothing: the floor of a bound-region operation's call. */
  benchCallData(): undefined;
  /** benchCallData() returning a number: what a call that makes its result costs. */
  benchCallInt(): number;
}
