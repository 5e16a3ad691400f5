/**
 * Public types of the rseq package. Both backends (the native addon and the
 * simulator in `fallback/`) produce exactly these shapes.
 */
import { ERRNO_CASES as ABI_ERRNO_CASES } from './abi.js';

export type BackendKind = 'native' | 'simulator';

/** The fields of `struct rseq` the package reads. */
export type RseqField = 'cpuIdStart' | 'cpuId' | 'nodeId' | 'mmCid' | 'sliceCtrl';

/** Which `struct rseq` fields the kernel keeps up to date (from AT_RSEQ_FEATURE_SIZE). */
export interface FieldAvailability {
  cpuIdStart: boolean;
  cpuId: boolean;
  nodeId: boolean;
  mmCid: boolean;
  sliceCtrl: boolean;
}

/** An errno as the kernel returned it, with a sentence for people. */
export interface ErrnoInfo {
  /** The errno's name, for example `EINVAL`. */
  errno: string;
  /** The errno's number on this platform (Linux numbering). */
  code: number;
  /** What was being done: `rseq-probe`, `register`, `unregister`, `membarrier`. */
  op: string;
  /** A sentence a user understands. */
  message: string;
}

export interface KernelInfo {
  /** `uname -r`. */
  release: string;
  /** AT_RSEQ_FEATURE_SIZE, or null when the kernel does not publish it (before 6.3). */
  featureSize: number | null;
  /** AT_RSEQ_ALIGN, or null when the kernel does not publish it (before 6.3). */
  align: number | null;
  /** What `rseq(NULL, 0, 0, 0)` answered: EINVAL means the syscall exists. */
  syscall: {
    available: boolean;
    /** errno name returned by the probe call, for example `EINVAL`, `ENOSYS`, `EPERM`. */
    probeErrno: string;
  };
  /** membarrier supports MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ (and its registration). */
  membarrierRseq: boolean;
  /** The MEMBARRIER_CMD_QUERY mask, or null when membarrier is unavailable. */
  membarrierCommands: number | null;
}

export type LibcFamily = 'glibc' | 'musl' | 'unknown';

export interface LibcInfo {
  family: LibcFamily;
  /** `gnu_get_libc_version()` for glibc; null where the libc does not tell. */
  version: string | null;
  /** glibc's `__rseq_offset`, or null where libc exports no such symbol. */
  rseqOffset: number | null;
  /** glibc's `__rseq_size`, or null where libc exports no such symbol. */
  rseqSize: number | null;
  /** glibc's `__rseq_flags`, or null where libc exports no such symbol. */
  rseqFlags: number | null;
}

export type RegistrationOwner = 'libc' | 'addon' | 'none';

export interface RegistrationInfo {
  /** Who registered the calling thread's area. `addon` means this package (or the simulator acting as it). */
  owner: RegistrationOwner;
  /** The registered length in bytes, as the kernel accepted it; null when not registered or unknown. */
  length: number | null;
  /** The registered signature; null when not registered or unknown. */
  signature: number | null;
  /** Why registration failed, or null. */
  error: ErrnoInfo | null;
}

export interface ThreadFields {
  cpuIdStart: number | null;
  cpuId: number | null;
  nodeId: number | null;
  mmCid: number | null;
}

/**
 * The time-slice extension of Linux 7.0 for the calling thread, as
 * prctl(PR_RSEQ_SLICE_EXTENSION, GET) and rseq_slice_yield() answer.
 */
export interface SliceExtensionInfo {
  /** The prctl answered: the kernel offers the extension to this thread. */
  available: boolean;
  /** Enabled for this thread (`rseq.sliceExtension.enable()`). */
  enabled: boolean;
  /** Why it is not available: the prctl's errno with a sentence (EINVAL before 7.0); null when available. */
  error: ErrnoInfo | null;
  /** What rseq_slice_yield() (syscall 471) answered: `none` when it exists, `ENOSYS` before 7.0. */
  yieldErrno: string;
}

/** How `rseq.area()` reads the thread's `struct rseq`. */
export type AreaAccess = 'external-buffer' | 'native-calls' | 'simulated-memory' | 'none';

export interface ProbeReport {
  backend: BackendKind;
  fallbackReason: string | null;
  /** True when the figures come from the simulator's model, not from this machine's kernel. */
  simulated: boolean;
  arch: string;
  platform: string;
  kernel: KernelInfo;
  libc: LibcInfo;
  registration: RegistrationInfo;
  fields: FieldAvailability;
  thread: ThreadFields;
  area: { access: AreaAccess; byteLength: number | null; reason: string | null };
  /** The time-slice extension (Linux 7.0) as the kernel offers it to this thread (`rseq.sliceExtension`). */
  sliceExtension: SliceExtensionInfo;
  /** `file`: the addon that loaded, relative to the package (`prebuilds/linux-x64/node.napi.glibc.node`, `build/Release/rseq.node`) or the RSEQ_ADDON path; null when none did. */
  addon: { loaded: boolean; error: string | null; file: string | null };
  /**
   * The real kernel and libc as the addon saw them when the simulator was
   * chosen although the addon loaded (for example rseq denied by seccomp); null otherwise.
   */
  host: { kernel: KernelInfo; libc: LibcInfo } | null;
  /** Whether the package runs critical sections here (see SectionSafety and `rseq.selftest()`). */
  criticalSections: SectionSafety;
}

export interface AuxvEntry {
  /** The AT_* number. */
  type: number;
  /** The AT_* name, for example `AT_RSEQ_FEATURE_SIZE`; null for a type this package does not name. */
  name: string | null;
  value: bigint;
}

/** One row of the rseq syscall's errno table, run on a fresh thread. */
export interface ErrnoCase {
  /** One of ERRNO_CASES. */
  case: ErrnoCaseName;
  /** The syscall's return value: 0 or -1. */
  ret: number;
  /** errno name, or null on success. */
  errno: string | null;
}

export interface ErrnoTable {
  /** Who had registered the scratch thread before the cases ran. */
  ownerAtStart: 'libc' | 'none';
  /** The signature used for the cases (the architecture's, as glibc uses). */
  signature: number;
  cases: ErrnoCase[];
}

/** The registration cases run by `errnoTable()`, in this order, on one fresh thread (the table in abi.ts). */
export const ERRNO_CASES = ABI_ERRNO_CASES;

export type ErrnoCaseName = (typeof ERRNO_CASES)[number];

/** Registration bookkeeping of the whole process, for leak checks. */
export interface DebugCounts {
  /** Areas this package registered with the kernel and has not unregistered yet. */
  registrations: number;
  /** Areas this package allocated and has not freed yet. */
  areas: number;
  /** Threads currently holding a reference to a registration (libc's or the package's). */
  threads: number;
}

/** What one check of `rseq.selftest()` found. */
export type SelftestStatus = 'ok' | 'broken' | 'skipped' | 'inconclusive';

/**
 * One check of `rseq.selftest()` and its evidence. Counts are summed over the
 * check's threads: section attempts, commits, kernel aborts, attempts whose id
 * had changed (moved); `expected` is what the slots must hold and `sum` what
 * they hold. `events`: sameCpu, involuntary context switches of its threads
 * (simulator: preemptions); migration, CPU changes seen; signal, signals
 * handled; ids, CPUs checked. `attributed`: migration, aborts after which the
 * thread's cpu_id had changed; signal, aborts during which a signal arrived;
 * ids, mismatches; sameCpu, 0.
 */
export interface SelftestCheck {
  status: SelftestStatus;
  /** Why it is not ok (broken, skipped, inconclusive); null when ok. */
  reason: string | null;
  attempts: number;
  commits: number;
  aborts: number;
  moved: number;
  expected: number;
  sum: number;
  events: number;
  attributed: number;
  /** The CPUs it used. */
  cpus: number[];
  ms: number;
}

export interface SelftestChecks {
  /** Two threads pinned to one CPU, each adding to one shared slot in critical sections. */
  sameCpu: SelftestCheck;
  /** Two threads moved between two CPUs while they add to their CPU's slot. */
  migration: SelftestCheck;
  /** One thread adding to a slot that its signal handler also writes, under a signal storm. */
  signal: SelftestCheck;
  /** cpu_id and cpu_id_start against sched_getcpu() on each allowed CPU. */
  ids: SelftestCheck;
}

/** `rseq.selftest()`: does this kernel keep the guarantees the critical sections rely on? */
export interface SelftestReport {
  /**
   * `broken`: a check found sections or ids that the kernel does not protect
   * (the package then runs no critical section: see `probe().criticalSections`);
   * `ok`: the same-CPU check saw aborts and every check that ran was ok;
   * `unknown`: the same-CPU check could not run or saw no abort in time.
   */
  criticalSections: 'ok' | 'broken' | 'unknown';
  /** Why it is not ok; null when ok. */
  reason: string | null;
  /** What the table of known-broken releases says of this kernel and architecture, or null. */
  knownBroken: string | null;
  backend: BackendKind;
  simulated: boolean;
  release: string;
  arch: string;
  budgetMs: number;
  /** Time taken, in milliseconds. */
  ms: number;
  checks: SelftestChecks;
}

export interface SelftestOptions {
  /** Time allowed, in milliseconds: an integer in [50, 10000] (default 2000); a healthy kernel usually needs far less. */
  budgetMs?: number;
}

/** Whether the package runs critical sections on this kernel (`probe().criticalSections`). */
export interface SectionSafety {
  /** False: structures take their non-section paths and `fence()` throws ERR_RSEQ_SECTIONS_UNSAFE. */
  safe: boolean;
  /** What decided it unsafe: the table of known-broken releases, or a selftest run in this process. */
  source: 'table' | 'selftest' | null;
  reason: string | null;
}
