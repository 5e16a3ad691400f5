/**
 * The simulated machine: one process (one mm) on a set of CPUs, its threads,
 * their rseq registrations, and the system calls the package uses (rseq,
 * membarrier, sched_setaffinity), following the rules of a kernel release
 * profile (profiles.ts). The host-fallback policy (which real JavaScript
 * thread is which simulated thread) lives in fallback/backend.ts, not here.
 *
 * Every state change goes through a method of `Machine`, and `returnToUser`
 * is the single place where the kernel works on the area on the way back to
 * user space: it writes the IDs and evaluates rseq_cs against the thread's
 * instruction pointer (`userRegs`), aborting a critical section by moving
 * the IP to abort_ip. Critical sections themselves (step programs run on a
 * simulated thread) are in sections.ts; the seeded scheduler that delivers
 * events between their steps is in scheduler.ts.
 */
import { fieldsFromFeatureSize } from '../../src/contract/fields.js';
import type { AuxvEntry, ErrnoCase, ErrnoCaseName, ErrnoTable, FieldAvailability, KernelInfo, LibcInfo } from '../../src/contract/types.js';
import { ERRNO_CASES } from '../../src/contract/types.js';
import { fail, ok, type ErrnoName, type SyscallResult } from '../errno.js';
import { MemoryFault, SimMemory, USER_SPACE_END } from './memory.js';
import { LocalMmCid, type MmCidSource } from './mmcid.js';
import { SliceModel } from './slice.js';
import {
  kernelProfileFor,
  libcProfileFor,
  MEMBARRIER_CMD,
  MEMBARRIER_CMD_FLAG_CPU,
  ORIG_RSEQ_SIZE,
  RSEQ_CPU_ID_REGISTRATION_FAILED,
  RSEQ_CPU_ID_UNINITIALIZED,
  RSEQ_CS_FLAG_NO_RESTART_ON_MIGRATE,
  RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT,
  RSEQ_CS_FLAG_NO_RESTART_ON_SIGNAL,
  RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE,
  RSEQ_CS_FLAG_SLICE_EXT_ENABLED,
  RSEQ_FIELD,
  RSEQ_FLAG_SLICE_EXT_DEFAULT_ON,
  RSEQ_FLAG_UNREGISTER,
  RSEQ_SIG,
  type Arch,
  type KernelProfile,
  type LibcProfile,
} from './profiles.js';

// ---------------------------------------------------------------------------
// Auxiliary vector

/** AT_* numbers (include/uapi/linux/auxvec.h and asm/auxvec.h). */
export const AT = {
  AT_NULL: 0,
  AT_IGNORE: 1,
  AT_EXECFD: 2,
  AT_PHDR: 3,
  AT_PHENT: 4,
  AT_PHNUM: 5,
  AT_PAGESZ: 6,
  AT_BASE: 7,
  AT_FLAGS: 8,
  AT_ENTRY: 9,
  AT_NOTELF: 10,
  AT_UID: 11,
  AT_EUID: 12,
  AT_GID: 13,
  AT_EGID: 14,
  AT_PLATFORM: 15,
  AT_HWCAP: 16,
  AT_CLKTCK: 17,
  AT_SECURE: 23,
  AT_BASE_PLATFORM: 24,
  AT_RANDOM: 25,
  AT_HWCAP2: 26,
  AT_RSEQ_FEATURE_SIZE: 27,
  AT_RSEQ_ALIGN: 28,
  AT_HWCAP3: 29,
  AT_HWCAP4: 30,
  AT_EXECFN: 31,
  AT_SYSINFO_EHDR: 33,
  AT_MINSIGSTKSZ: 51,
} as const;

const AT_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(AT).map(([k, v]) => [v, k] as const));

/** The AT_* name of an auxv type, or null. */
export function auxvName(type: number): string | null {
  return AT_NAMES.get(type) ?? null;
}

// ---------------------------------------------------------------------------
// Threads

/**
 * How the kernel treats a registration's IDs (see IdUpdatePolicy):
 * `every-switch` (4.18–6.18), `on-change` (6.19), `legacy` and `v2` (7.0).
 */
export type RegistrationMode = 'every-switch' | 'on-change' | 'legacy' | 'v2';

export interface RseqRegistration {
  addr: bigint;
  len: number;
  sig: number;
  mode: RegistrationMode;
}

/** Who registered a thread, as far as the model knows. */
export type RegistrationOwner = 'libc' | 'other';

/** What libc start did on one thread. */
export interface LibcThreadStart {
  /** glibc registered the thread's area. */
  registered: boolean;
  /** The area glibc uses (registered or not); null for musl and glibc < 2.35. */
  area: bigint | null;
  /** The registration length glibc passed, or null when it did not try. */
  length: number | null;
  /** The errno of glibc's registration attempt, or null. */
  errno: ErrnoName | null;
}

/** A simulated thread as callers see it. The Machine owns the state. */
export interface SimThread {
  readonly tid: number;
  readonly alive: boolean;
  /** The CPU the thread runs (or last ran) on. */
  readonly cpu: number;
  /** sched_getaffinity(). */
  readonly affinity: readonly number[];
  /** The simulated thread pointer (FS base / TPIDR_EL0). */
  readonly tp: bigint;
  /** The kernel's view of the thread's registration. */
  readonly registration: Readonly<RseqRegistration> | null;
  /** Who made the registration. */
  readonly registrationOwner: RegistrationOwner | null;
  /** What libc start did, or null before libcStart(). */
  readonly libc: Readonly<LibcThreadStart> | null;
}

/**
 * Events the kernel records for a thread until its next return to user
 * space (kernel/rseq.c RSEQ_EVENT_*_BIT: the same bit numbers as the
 * deprecated NO_RESTART flags they were matched against before 6.0).
 */
export const RSEQ_EVENT = {
  /** Scheduled out and back in (preemption, yield, blocking, a membarrier IPI). */
  PREEMPT: 1 << 0,
  /** A signal is being delivered. */
  SIGNAL: 1 << 1,
  /** Moved to another CPU. */
  MIGRATE: 1 << 2,
} as const;

/** The user registers the kernel reads and changes on the way back to user space. */
export interface UserRegs {
  /** The instruction pointer user space resumes at. */
  ip: bigint;
}

/** The IP of a thread running ordinary code, outside every critical section (a typical AT_ENTRY). */
export const DEFAULT_USER_IP = 0x5555_5555_6a40n;

/** What the kernel did with rseq_cs on a return to user space. */
export type CsOutcome =
  /** rseq_cs was 0 or not looked at. */
  | 'none'
  /** The IP was outside the section: rseq_cs was cleared. */
  | 'cleared'
  /** The IP was inside the section: rseq_cs was cleared and the IP moved to abort_ip. */
  | 'aborted'
  /** Inside the section, but NO_RESTART flags (4.18–5.19) suppressed the abort: rseq_cs stays. */
  | 'no-restart';

interface Ids {
  cpuId: number;
  nodeId: number;
  mmCid: number;
}

class ThreadState implements SimThread {
  alive = true;
  cpu: number;
  affinity: number[];
  registration: RseqRegistration | null = null;
  registrationOwner: RegistrationOwner | null = null;
  libc: LibcThreadStart | null = null;
  /** t->rseq.ids: the IDs last written to user space (6.19+ caching). */
  ids: Ids = { cpuId: RSEQ_CPU_ID_UNINITIALIZED, nodeId: 0, mmCid: 0 };
  /** TIF_NOTIFY_RESUME with a forced ID update pending (registration, migration, execve). */
  forceUpdate = false;
  /** RSEQ_EVENT bits pending for the next return to user space (preemption, migration, membarrier IPI). */
  pendingEvents = 0;
  /** The user registers: where the thread resumes in user space. */
  readonly regs: UserRegs = { ip: DEFAULT_USER_IP };

  constructor(
    readonly tid: number,
    readonly tlsBlock: bigint,
    readonly tp: bigint,
    cpu: number,
    affinity: number[],
  ) {
    this.cpu = cpu;
    this.affinity = affinity;
  }
}

/** Why a thread is returning to user space. */
export type ReturnCause =
  /** The thread was scheduled out and back in (preemption, yield, blocking). */
  | 'preempt'
  /** A signal is being delivered. */
  | 'signal'
  /** A system call returns without the thread having been scheduled out. */
  | 'syscall';

export interface ReturnToUserResult {
  /** The kernel wrote the ID fields. */
  wrote: boolean;
  /** What happened to rseq_cs (and the IP). */
  cs: CsOutcome;
  /** A fatal signal the kernel sent, or null. */
  signal: 'SIGSEGV' | null;
  /** Why the signal was sent. */
  reason: string | null;
}

export interface FatalSignal {
  signal: 'SIGSEGV';
  tid: number;
  reason: string;
}

/**
 * The simulated process was killed: what the real kernel would do with
 * force_sig(SIGSEGV) (a rogue critical section descriptor, a bad signature,
 * a fault on the area, a read-only field changed in 7.0 v2 mode).
 */
export class FatalSignalError extends Error {
  readonly signal: 'SIGSEGV';
  readonly tid: number;
  readonly reason: string;
  constructor(fatal: FatalSignal) {
    super(`simulated ${fatal.signal} on thread ${fatal.tid}: ${fatal.reason}`);
    this.name = 'FatalSignalError';
    this.signal = fatal.signal;
    this.tid = fatal.tid;
    this.reason = fatal.reason;
  }
}

/** The fields of one thread's area as the simulated memory holds them. */
export interface AreaSnapshot {
  cpuIdStart: number;
  cpuId: number;
  rseqCs: bigint;
  flags: number;
  nodeId: number;
  mmCid: number;
}

export interface LibcSymbols {
  rseqOffset: number | null;
  rseqSize: number | null;
  rseqFlags: number | null;
}

export interface MachineOptions {
  /** A release string or profile; default '6.19' (see kernelProfileFor). */
  kernel?: string | KernelProfile;
  /** A libc name or profile; default 'glibc-2.41' (see libcProfileFor). */
  libc?: string | LibcProfile;
  arch?: Arch;
  /** Online CPUs, numbered 0..cpus-1; default 4. */
  cpus?: number;
  /** NUMA nodes; CPUs are split into contiguous blocks per node. Default 1. */
  nodes?: number;
  /** Seeds the simulated addresses (arena base, pid). */
  seed?: number;
  /** Simulated pid; the main thread's tid. Default derived from the seed. */
  pid?: number;
  /** Bytes of simulated memory; default 1 MiB. */
  arenaBytes?: number;
  /** A seccomp filter making rseq() fail with this errno. */
  rseqFilter?: 'ENOSYS' | 'EPERM' | null;
  /** Boot with nohz_full (drops MEMBARRIER_CMD_GLOBAL). */
  nohzFull?: boolean;
  /** Takes mm_cid values from elsewhere (the host backend shares them between workers). */
  mmCid?: MmCidSource;
  /**
   * The `rseq_debug` boot option (6.19+): full checks of rseq_cs
   * (rseq_debug_update_user_cs) and of the ID fields user space must not
   * change (rseq_debug_validate_ids). No effect before 6.19, which always
   * checks rseq_cs fully. Default false.
   */
  rseqDebug?: boolean;
  /** The `rseq_slice_ext=0` boot option (7.0): the time-slice extension prctl answers ENOTSUPP. Default false. */
  sliceExtDisabled?: boolean;
}

/** mulberry32: a small deterministic PRNG for simulated addresses. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TLS_BLOCK_BYTES = 8192;
const TP_OFFSET_IN_BLOCK = 4096;

/** BAD = 1 << 8, a flag no kernel defines (ERRNO_CASES). */
export const ERRNO_CASE_BAD_FLAG = 1 << 8;
/** KADDR: a 64-byte aligned kernel address (ERRNO_CASES). */
export const ERRNO_CASE_KADDR = 0xffffffffffffffc0n;

function toU64(v: bigint | number): bigint {
  return BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(v)));
}

export class Machine {
  readonly profile: KernelProfile;
  readonly libcProfile: LibcProfile;
  readonly arch: Arch;
  readonly nrCpus: number;
  readonly nrNodes: number;
  readonly pid: number;
  readonly memory: SimMemory;
  /** The mm's CID bookkeeping (always maintained, also when `mmCid` is external). */
  readonly mmCidLocal = new LocalMmCid();
  private readonly mmCidSource: MmCidSource;
  private readonly threads = new Map<number, ThreadState>();
  private nextTid: number;
  private createdThreads = 0;
  private readonly rseqFilter: 'ENOSYS' | 'EPERM' | null;
  private readonly nohzFull: boolean;
  private membarrierState = 0;
  private readonly rseqDebug: boolean;
  private symbols: LibcSymbols | null = null;
  private fatalSignal: FatalSignal | null = null;
  /** The time-slice extension (7.0; slice.ts): prctl, rseq_slice_yield, grants. */
  readonly slice: SliceModel;

  constructor(options: MachineOptions = {}) {
    this.profile = typeof options.kernel === 'object' ? { ...options.kernel } : kernelProfileFor(options.kernel ?? '6.19');
    this.libcProfile = typeof options.libc === 'object' ? { ...options.libc } : libcProfileFor(options.libc ?? 'glibc-2.41');
    this.arch = options.arch ?? 'x86_64';
    const cpus = options.cpus ?? 4;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 4096) throw new RangeError('cpus must be an integer in [1, 4096]');
    const nodes = options.nodes ?? 1;
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > cpus) throw new RangeError('nodes must be an integer in [1, cpus]');
    this.nrCpus = cpus;
    this.nrNodes = nodes;
    const random = prng(options.seed ?? 0x5eed);
    this.pid = options.pid ?? 1000 + Math.floor(random() * 30000);
    this.nextTid = this.pid;
    const base = 0x7f00_0000_0000n + BigInt(Math.floor(random() * 0x3f_0000)) * 4096n;
    this.memory = new SimMemory({ arenaBytes: options.arenaBytes ?? 1 << 20, base });
    this.rseqFilter = options.rseqFilter ?? null;
    this.nohzFull = options.nohzFull ?? false;
    this.mmCidSource = options.mmCid ?? this.mmCidLocal;
    this.rseqDebug = options.rseqDebug ?? false;
    this.slice = new SliceModel(this, options.sliceExtDisabled ?? false);
  }

  // -------------------------------------------------------------------------
  // CPUs

  /** cpu_to_node(): CPUs are split into `nodes` contiguous blocks. */
  nodeOf(cpu: number): number {
    this.checkCpu(cpu);
    return Math.floor((cpu * this.nrNodes) / this.nrCpus);
  }

  private checkCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrCpus) throw new RangeError(`no CPU ${cpu}`);
  }

  private allCpus(): number[] {
    return Array.from({ length: this.nrCpus }, (_, i) => i);
  }

  // -------------------------------------------------------------------------
  // Threads

  private state(t: SimThread | number): ThreadState {
    const tid = typeof t === 'number' ? t : t.tid;
    const s = this.threads.get(tid);
    if (!s) throw new RangeError(`no thread ${tid}`);
    return s;
  }

  /** The thread with this tid (alive or exited but not forgotten), or undefined. */
  thread(tid: number): SimThread | undefined {
    return this.threads.get(tid);
  }

  /** Live threads, lowest tid first. */
  liveThreads(): SimThread[] {
    return [...this.threads.values()].filter((t) => t.alive).sort((a, b) => a.tid - b.tid);
  }

  /**
   * clone(): a new thread of the process. Its affinity defaults to every CPU;
   * its CPU defaults to the allowed CPUs in turn (the n-th thread created
   * gets allowed[n % allowed.length]). The first thread's tid is the pid.
   */
  createThread(opts: { tid?: number; affinity?: readonly number[]; cpu?: number } = {}): SimThread {
    const affinity = this.normaliseMask(opts.affinity ?? this.allCpus());
    if (affinity.length === 0) throw new RangeError('a thread needs at least one allowed CPU');
    const cpu = opts.cpu ?? (affinity[this.createdThreads % affinity.length] as number);
    this.checkCpu(cpu);
    if (!affinity.includes(cpu)) throw new RangeError(`cpu ${cpu} is not in the thread's affinity`);
    const tid = opts.tid ?? this.nextTid;
    if (this.threads.get(tid)?.alive) throw new RangeError(`thread ${tid} exists`);
    this.nextTid = Math.max(this.nextTid, tid + 1);
    this.createdThreads++;
    const block = this.memory.map(TLS_BLOCK_BYTES, 64, `tls:${tid}`);
    const t = new ThreadState(tid, block, block + BigInt(TP_OFFSET_IN_BLOCK), cpu, affinity);
    this.threads.set(tid, t);
    this.mmCidLocal.attach(tid, affinity);
    if (this.mmCidSource !== this.mmCidLocal) this.mmCidSource.attach(tid, affinity);
    this.resyncMmCids();
    return t;
  }

  /**
   * exit(): the registration is dropped without touching the area (the
   * kernel skips rseq work for PF_EXITING tasks), the thread's mm_cid is
   * released and its TLS block (with a glibc-owned area) is unmapped.
   */
  exitThread(thread: SimThread | number): void {
    const t = this.state(thread);
    if (!t.alive) return;
    t.alive = false;
    t.registration = null;
    t.registrationOwner = null;
    this.slice.reset(t.tid, false);
    this.mmCidLocal.detach(t.tid);
    if (this.mmCidSource !== this.mmCidLocal) this.mmCidSource.detach(t.tid);
    this.memory.unmap(t.tlsBlock);
    this.threads.delete(t.tid);
    this.resyncMmCids();
  }

  /**
   * The kernel changes a task's mm_cid only when it schedules the task, so
   * a thread whose id the model reassigned (threads joined or left the mm,
   * affinities changed) is treated as scheduled out and back in: it gets a
   * preemption event (an in-flight critical section aborts) and its new
   * mm_cid is written on its next return to user space. Ids from an
   * external source (the host's shared pool) change only when asked.
   */
  private resyncMmCids(): void {
    if (this.mmCidSource !== this.mmCidLocal || !this.profile.writesNodeAndMmCid) return;
    for (const t of this.threads.values()) {
      if (!t.alive || !t.registration || t.ids.cpuId === RSEQ_CPU_ID_UNINITIALIZED) continue;
      if (this.mmCidLocal.cidFor(t.tid, t.cpu) !== t.ids.mmCid) t.pendingEvents |= RSEQ_EVENT.PREEMPT;
    }
  }

  private normaliseMask(cpus: readonly number[]): number[] {
    const set = new Set<number>();
    for (const c of cpus) {
      this.checkCpu(c);
      set.add(c);
    }
    return [...set].sort((a, b) => a - b);
  }

  /** The mm_cid the thread has while running on its CPU. */
  mmCidOf(thread: SimThread | number): number {
    const t = this.state(thread);
    return this.mmCidSource.cidFor(t.tid, t.cpu);
  }

  /** min(|allowed CPUs of the process|, live threads): every mm_cid is below it. */
  mmCidBound(): number {
    return this.mmCidLocal.bound;
  }

  /**
   * Move a thread to another CPU of its affinity (the scheduler's load
   * balancing, or the migration after sched_setaffinity). The IDs are
   * written on its next return to user space.
   */
  migrate(thread: SimThread | number, cpu: number): void {
    const t = this.state(thread);
    this.checkCpu(cpu);
    if (!t.affinity.includes(cpu)) throw new RangeError(`cpu ${cpu} is not in thread ${t.tid}'s affinity`);
    if (cpu === t.cpu) return;
    t.cpu = cpu;
    // rseq_migrate() (4.18–6.18) / __set_task_cpu -> ids_changed (6.19+);
    // the thread was also switched out (rseq_preempt).
    t.forceUpdate = true;
    t.pendingEvents |= RSEQ_EVENT.PREEMPT | RSEQ_EVENT.MIGRATE;
  }

  /**
   * The thread was scheduled out and will be scheduled back in
   * (rseq_preempt: preemption, yield, blocking): its next return to user
   * space handles a critical section it was in.
   */
  preempt(thread: SimThread | number): void {
    const t = this.state(thread);
    if (t.registration) t.pendingEvents |= RSEQ_EVENT.PREEMPT;
  }

  /** RSEQ_EVENT bits pending for the thread's next return to user space. */
  pendingEvents(thread: SimThread | number): number {
    return this.state(thread).pendingEvents;
  }

  /**
   * The thread's user registers. Code running on the simulated thread
   * (sections.ts) keeps its IP here; returnToUser reads it and moves it to
   * abort_ip when it aborts a critical section.
   */
  userRegs(thread: SimThread | number): UserRegs {
    return this.state(thread).regs;
  }

  /** A user-space access the thread made faulted: the process gets SIGSEGV. */
  userFault(thread: SimThread | number, reason: string): FatalSignal {
    const t = this.state(thread);
    this.kill(t, reason);
    return this.fatalSignal as FatalSignal;
  }

  /**
   * sched_setaffinity(tid, cpus): EINVAL when no CPU of the mask is online.
   * A thread whose CPU is still allowed stays; otherwise it moves to the
   * lowest allowed CPU (the real kernel may pick any of them).
   */
  setAffinity(thread: SimThread | number, cpus: readonly number[]): SyscallResult {
    const t = this.state(thread);
    this.slice.syscallEntry(t);
    const mask = [...new Set(cpus)].filter((c) => Number.isInteger(c) && c >= 0 && c < this.nrCpus).sort((a, b) => a - b);
    if (mask.length === 0) return fail('EINVAL');
    t.affinity = mask;
    this.mmCidLocal.allow(t.tid, mask);
    if (this.mmCidSource !== this.mmCidLocal) this.mmCidSource.allow(t.tid, mask);
    if (!mask.includes(t.cpu)) this.migrate(t, mask[0] as number);
    this.resyncMmCids();
    return ok();
  }

  /** A fatal signal the process received, or null. */
  get fatal(): FatalSignal | null {
    return this.fatalSignal;
  }

  private kill(t: ThreadState, reason: string, wrote = false, cs: CsOutcome = 'none'): ReturnToUserResult {
    this.fatalSignal ??= { signal: 'SIGSEGV', tid: t.tid, reason };
    return { wrote, cs, signal: 'SIGSEGV', reason };
  }

  // -------------------------------------------------------------------------
  // rseq(2)

  /**
   * sys_rseq(rseq, rseq_len, flags, sig) with the checks of kernel/rseq.c in
   * the profile's order:
   * 1. UNREGISTER: extra flags EINVAL (not on 4.18); not registered or other
   *    area EINVAL; other len EINVAL; other sig EPERM; reset of the IDs
   *    (EFAULT on a fault, plus SIGSEGV on 6.19+).
   * 2. unknown flags EINVAL (7.0 knows RSEQ_FLAG_SLICE_EXT_DEFAULT_ON).
   * 3. already registered: other area or len EINVAL; other sig EPERM; else EBUSY.
   * 4. length/alignment: 4.18–6.2 len == 32 and 32-aligned; 6.3+ len >= 32,
   *    len == 32 32-aligned, other len aligned to 32 (6.3–6.19) or 64 (7.0)
   *    and >= the feature size.
   * 5. access_ok (range check only) -> EFAULT.
   * 6. area access at registration per profile (EFAULT on a fault).
   */
  sysRseq(thread: SimThread | number, rseq: bigint | number, rseqLen: number, flags: number, sig: number): SyscallResult {
    const t = this.state(thread);
    const p = this.profile;
    if (!p.hasRseq) return fail('ENOSYS');
    this.slice.syscallEntry(t);
    if (this.rseqFilter) return fail(this.rseqFilter);
    const addr = toU64(rseq);
    const len = rseqLen >>> 0;
    const fl = flags | 0;
    const sg = sig >>> 0;
    const reg = t.registration;

    if (fl & RSEQ_FLAG_UNREGISTER) {
      if (p.unregisterRejectsExtraFlags && fl & ~RSEQ_FLAG_UNREGISTER) return fail('EINVAL');
      if (!reg || reg.addr !== addr) return fail('EINVAL');
      if (len !== reg.len) return fail('EINVAL');
      if (sg !== reg.sig) return fail('EPERM');
      try {
        this.memory.writeU32(addr + BigInt(RSEQ_FIELD.cpuIdStart), p.unregisterCpuIdStart);
        this.memory.writeU32(addr + BigInt(RSEQ_FIELD.cpuId), RSEQ_CPU_ID_UNINITIALIZED);
        if (p.writesNodeAndMmCid) {
          this.memory.writeU32(addr + BigInt(RSEQ_FIELD.nodeId), 0);
          this.memory.writeU32(addr + BigInt(RSEQ_FIELD.mmCid), 0);
        }
      } catch (e) {
        if (!(e instanceof MemoryFault)) throw e;
        // 6.19+: rseq_reset_ids() forces SIGSEGV before returning -EFAULT.
        if (p.registrationAccess === 'init-fields') this.kill(t, 'fault resetting the rseq area at unregistration');
        return fail('EFAULT');
      }
      t.registration = null;
      t.registrationOwner = null;
      t.ids = { cpuId: RSEQ_CPU_ID_UNINITIALIZED, nodeId: 0, mmCid: 0 };
      t.forceUpdate = false;
      t.pendingEvents = 0;
      this.slice.reset(t.tid, false);
      return ok();
    }

    if (fl & ~p.registerFlags) return fail('EINVAL');

    if (reg) {
      if (reg.addr !== addr || len !== reg.len) return fail('EINVAL');
      if (sg !== reg.sig) return fail('EPERM');
      return fail('EBUSY');
    }

    if (p.lengthRule === 'orig-only') {
      if (addr % BigInt(ORIG_RSEQ_SIZE) !== 0n || len !== ORIG_RSEQ_SIZE) return fail('EINVAL');
    } else {
      const featureSize = p.featureSize ?? 0;
      if (len < ORIG_RSEQ_SIZE) return fail('EINVAL');
      if (len === ORIG_RSEQ_SIZE && addr % BigInt(ORIG_RSEQ_SIZE) !== 0n) return fail('EINVAL');
      if (len !== ORIG_RSEQ_SIZE && (addr % BigInt(p.extendedAlign) !== 0n || len < featureSize)) return fail('EINVAL');
    }

    // access_ok(): the range must lie in the user half; nothing is read.
    if (addr + BigInt(len) > USER_SPACE_END) return fail('EFAULT');

    const mode: RegistrationMode =
      p.idUpdate === 'by-length' ? (len > ORIG_RSEQ_SIZE ? 'v2' : 'legacy') : p.idUpdate === 'on-change' ? 'on-change' : 'every-switch';

    try {
      if (p.registrationAccess === 'clear-rseq-cs') {
        const cs = this.memory.readU64(addr + BigInt(RSEQ_FIELD.rseqCs));
        if (cs !== 0n) this.memory.writeU64(addr + BigInt(RSEQ_FIELD.rseqCs), 0n);
      } else if (p.registrationAccess === 'init-fields') {
        this.memory.writeU64(addr + BigInt(RSEQ_FIELD.rseqCs), 0n);
        if (p.sliceExtension) {
          // 7.0: struct rseq::flags carries the read-only slice bits of a v2 registration.
          let rseqfl = 0;
          if (mode === 'v2') {
            rseqfl |= RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE;
            if (fl & RSEQ_FLAG_SLICE_EXT_DEFAULT_ON) rseqfl |= RSEQ_CS_FLAG_SLICE_EXT_ENABLED;
          }
          this.memory.writeU32(addr + BigInt(RSEQ_FIELD.flags), rseqfl);
        }
        this.memory.writeU32(addr + BigInt(RSEQ_FIELD.cpuIdStart), RSEQ_CPU_ID_UNINITIALIZED);
        this.memory.writeU32(addr + BigInt(RSEQ_FIELD.cpuId), RSEQ_CPU_ID_UNINITIALIZED);
        this.memory.writeU32(addr + BigInt(RSEQ_FIELD.nodeId), 0);
        this.memory.writeU32(addr + BigInt(RSEQ_FIELD.mmCid), 0);
        if (p.sliceExtension && mode === 'v2') this.memory.writeU32(addr + BigInt(RSEQ_FIELD.sliceCtrl), 0);
      }
    } catch (e) {
      if (!(e instanceof MemoryFault)) throw e;
      return fail('EFAULT');
    }

    t.registration = { addr, len, sig: sg, mode };
    t.registrationOwner = 'other';
    // 7.0: RSEQ_FLAG_SLICE_EXT_DEFAULT_ON enables the time-slice extension of a v2 registration.
    this.slice.reset(t.tid, p.sliceExtension && mode === 'v2' && (fl & RSEQ_FLAG_SLICE_EXT_DEFAULT_ON) !== 0);
    t.ids = { cpuId: RSEQ_CPU_ID_UNINITIALIZED, nodeId: 0, mmCid: 0 };
    // rseq_set_notify_resume() / rseq_force_update(): IDs are written before
    // the syscall returns to user space.
    t.forceUpdate = true;
    return ok();
  }

  /**
   * The kernel's work on the way back to user space (the rseq part of
   * resume_user_mode_work / exit_to_user_mode). `cause` says what happened
   * since the thread last ran user code:
   * - 'preempt': scheduled out and back in (or interrupted while a
   *   membarrier IPI or migration was pending); 4.18–6.18 and 7.0 legacy
   *   rewrite the IDs; 6.19 and 7.0 v2 write them only when the CPU or
   *   mm_cid changed (or once after registration).
   * - 'signal': 4.18–6.18 and 7.0 legacy rewrite the IDs before delivery;
   *   6.19 and 7.0 v2 only handle the critical section.
   * - 'syscall': the thread made a system call and was not interrupted;
   *   only pending work (registration, migration, membarrier IPI) is done.
   * rseq_cs is evaluated against the thread's IP (userRegs) as the profile's
   * `csEvaluation` says: 4.18–6.18 before the IDs on every notify-resume,
   * 6.19+ after them and only after an interrupt from user space (not on
   * the 'syscall' path). An abort moves the IP to abort_ip. A fault on the
   * area, a rogue descriptor, or on 7.0 v2 a read-only field changed by
   * user space, sends SIGSEGV.
   */
  returnToUser(thread: SimThread | number, cause: ReturnCause = 'preempt'): ReturnToUserResult {
    const t = this.state(thread);
    const reg = t.registration;
    const result: ReturnToUserResult = { wrote: false, cs: 'none', signal: null, reason: null };
    const events = t.pendingEvents | (cause === 'preempt' ? RSEQ_EVENT.PREEMPT : cause === 'signal' ? RSEQ_EVENT.SIGNAL : 0);
    t.pendingEvents = 0;
    if (!reg) {
      t.forceUpdate = false;
      return result;
    }
    if (events === 0 && !t.forceUpdate) return result;
    const p = this.profile;

    // 4.18–6.18: rseq_ip_fixup() runs before rseq_update_cpu_id().
    if (p.csEvaluation === 'full') {
      const cs = this.evaluateCsFull(t, reg, events);
      if (typeof cs !== 'string') return this.kill(t, cs.fatal);
      result.cs = cs;
    }

    const ids: Ids = { cpuId: t.cpu, nodeId: this.nodeOf(t.cpu), mmCid: this.mmCidOf(t) };
    const changed = ids.cpuId !== t.ids.cpuId || ids.nodeId !== t.ids.nodeId || ids.mmCid !== t.ids.mmCid;
    let write: boolean;
    switch (reg.mode) {
      case 'every-switch':
      case 'legacy':
        write = true;
        break;
      case 'on-change':
      case 'v2':
        write = t.forceUpdate || changed;
        break;
    }
    if (write) {
      const a = reg.addr;
      try {
        const validate = (reg.mode === 'v2' && p.readOnlyEnforcement) || (this.rseqDebug && p.csEvaluation === 'fast');
        if (validate) {
          const cpuIdStart = this.memory.readU32(a + BigInt(RSEQ_FIELD.cpuIdStart));
          const cpuId = this.memory.readU32(a + BigInt(RSEQ_FIELD.cpuId));
          const nodeId = this.memory.readU32(a + BigInt(RSEQ_FIELD.nodeId));
          const mmCid = this.memory.readU32(a + BigInt(RSEQ_FIELD.mmCid));
          if (cpuIdStart !== t.ids.cpuId || cpuId !== cpuIdStart || nodeId !== t.ids.nodeId || mmCid !== t.ids.mmCid) {
            const why = reg.mode === 'v2' && p.readOnlyEnforcement ? '7.0 optimised v2 mode' : 'rseq_debug';
            return this.kill(t, `user space modified a read-only rseq field (${why})`, false, result.cs);
          }
        }
        this.memory.writeU32(a + BigInt(RSEQ_FIELD.cpuIdStart), ids.cpuId);
        this.memory.writeU32(a + BigInt(RSEQ_FIELD.cpuId), ids.cpuId);
        if (p.writesNodeAndMmCid) {
          this.memory.writeU32(a + BigInt(RSEQ_FIELD.nodeId), ids.nodeId);
          this.memory.writeU32(a + BigInt(RSEQ_FIELD.mmCid), ids.mmCid);
        }
      } catch (e) {
        if (!(e instanceof MemoryFault)) throw e;
        return this.kill(t, `fault writing the rseq area at 0x${e.addr.toString(16)}`, false, result.cs);
      }
      t.ids = ids;
      t.forceUpdate = false;
      result.wrote = true;
    }

    // 6.19 on arm64 (profile noPreemptAbort): after a preemption on the same
    // CPU the section is left running; only a migration or a signal gets it aborted.
    if (p.noPreemptAbort?.includes(this.arch) && cause !== 'signal' && (events & (RSEQ_EVENT.MIGRATE | RSEQ_EVENT.SIGNAL)) === 0) {
      return result;
    }
    // 6.19+: rseq_update_user_cs() after the IDs, only for an interrupt from user space.
    if (p.csEvaluation === 'fast' && cause !== 'syscall' && events !== 0) {
      const cs = this.evaluateCsFast(t, reg);
      if (typeof cs !== 'string') return this.kill(t, cs.fatal, result.wrote);
      result.cs = cs;
    }
    return result;
  }

  /** u64 arithmetic of the kernel's unsigned comparisons. */
  private static u64(v: bigint): bigint {
    return BigInt.asUintN(64, v);
  }

  /** rseq_cs of the area, or a fatal reason when it cannot be read. */
  private readRseqCs(reg: RseqRegistration): bigint | { fatal: string } {
    try {
      return this.memory.readU64(reg.addr + BigInt(RSEQ_FIELD.rseqCs));
    } catch (e) {
      if (!(e instanceof MemoryFault)) throw e;
      return { fatal: `fault reading rseq_cs in the rseq area at 0x${e.addr.toString(16)}` };
    }
  }

  private clearRseqCs(reg: RseqRegistration): { fatal: string } | null {
    try {
      this.memory.writeU64(reg.addr + BigInt(RSEQ_FIELD.rseqCs), 0n);
      return null;
    } catch (e) {
      if (!(e instanceof MemoryFault)) throw e;
      return { fatal: `fault clearing rseq_cs in the rseq area at 0x${e.addr.toString(16)}` };
    }
  }

  /** The registered signature must be the u32 just before abort_ip. */
  private checkSignature(reg: RseqRegistration, abortIp: bigint): { fatal: string } | null {
    if (abortIp >= USER_SPACE_END || abortIp < 4n) return { fatal: `abort_ip 0x${abortIp.toString(16)} is not a user-space address` };
    let sig: number;
    try {
      sig = this.memory.readU32(abortIp - 4n);
    } catch (e) {
      if (!(e instanceof MemoryFault)) throw e;
      return { fatal: `fault reading the signature before abort_ip at 0x${(abortIp - 4n).toString(16)}` };
    }
    if (sig !== reg.sig) {
      return {
        fatal: `possible attack attempt: unexpected rseq signature 0x${sig.toString(16)} before abort_ip 0x${abortIp.toString(16)}, expecting 0x${reg.sig.toString(16)}`,
      };
    }
    return null;
  }

  /**
   * 4.18–6.18: rseq_get_rseq_cs() validates the descriptor whatever the IP;
   * then an IP outside the section clears rseq_cs, and an IP inside
   * restarts at abort_ip unless rseq_need_restart() says otherwise.
   */
  private evaluateCsFull(t: ThreadState, reg: RseqRegistration, events: number): CsOutcome | { fatal: string } {
    const ptr = this.readRseqCs(reg);
    if (typeof ptr !== 'bigint') return ptr;
    if (ptr === 0n) return 'none';
    if (ptr >= USER_SPACE_END) return { fatal: `rseq_cs 0x${ptr.toString(16)} is not a user-space address` };
    let version: number;
    let csFlags: number;
    let start: bigint;
    let offset: bigint;
    let abortIp: bigint;
    try {
      version = this.memory.readU32(ptr);
      csFlags = this.memory.readU32(ptr + 4n);
      start = this.memory.readU64(ptr + 8n);
      offset = this.memory.readU64(ptr + 16n);
      abortIp = this.memory.readU64(ptr + 24n);
    } catch (e) {
      if (!(e instanceof MemoryFault)) throw e;
      return { fatal: `fault reading the rseq_cs descriptor at 0x${ptr.toString(16)}` };
    }
    if (version !== 0) return { fatal: `rseq_cs version ${version} is not 0` };
    const end = start + offset;
    if (start >= USER_SPACE_END || end >= USER_SPACE_END || Machine.u64(end) < start) {
      return { fatal: `critical section [0x${start.toString(16)}, +0x${offset.toString(16)}) is not inside user space` };
    }
    if (Machine.u64(abortIp - start) < offset) {
      return { fatal: `abort_ip 0x${abortIp.toString(16)} is inside the critical section [0x${start.toString(16)}, 0x${end.toString(16)})` };
    }
    const bad = this.checkSignature(reg, abortIp);
    if (bad) return bad;
    const ip = t.regs.ip;
    if (Machine.u64(ip - start) >= offset) return this.clearRseqCs(reg) ?? 'cleared';

    let threadFlags: number;
    try {
      threadFlags = this.memory.readU32(reg.addr + BigInt(RSEQ_FIELD.flags));
    } catch (e) {
      if (!(e instanceof MemoryFault)) throw e;
      return { fatal: `fault reading struct rseq::flags at 0x${e.addr.toString(16)}` };
    }
    let restart: boolean;
    if (this.profile.noRestartFlagsFatal) {
      // 6.0+ rseq_warn_flags(): any flag, deprecated or unknown, is -EINVAL.
      if (csFlags !== 0) return { fatal: `rseq_cs flags 0x${csFlags.toString(16)} are set (deprecated NO_RESTART flags are fatal since 6.0)` };
      if (threadFlags !== 0) return { fatal: `struct rseq flags 0x${threadFlags.toString(16)} are set (deprecated NO_RESTART flags are fatal since 6.0)` };
      restart = events !== 0;
    } else {
      const flags = csFlags | threadFlags;
      const preemptMigrate = RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT | RSEQ_CS_FLAG_NO_RESTART_ON_MIGRATE;
      if (flags & RSEQ_CS_FLAG_NO_RESTART_ON_SIGNAL && (flags & preemptMigrate) !== preemptMigrate) {
        return { fatal: 'NO_RESTART_ON_SIGNAL without NO_RESTART_ON_PREEMPT and NO_RESTART_ON_MIGRATE' };
      }
      // RSEQ_EVENT_*_BIT share their bit numbers with the NO_RESTART flags.
      restart = (events & ~flags) !== 0;
    }
    if (!restart) return 'no-restart';
    const cleared = this.clearRseqCs(reg);
    if (cleared) return cleared;
    t.regs.ip = abortIp;
    return 'aborted';
  }

  /**
   * 6.19+: rseq_update_user_cs() (the fast path), or with rseq_debug
   * rseq_debug_update_user_cs() (every check, in its order).
   */
  private evaluateCsFast(t: ThreadState, reg: RseqRegistration): CsOutcome | { fatal: string } {
    const ptr = this.readRseqCs(reg);
    if (typeof ptr !== 'bigint') return ptr;
    if (ptr === 0n) return 'none';
    if (ptr >= USER_SPACE_END) return { fatal: `rseq_cs 0x${ptr.toString(16)} is not a user-space address` };
    const ip = t.regs.ip;
    const read = (off: bigint): bigint => this.memory.readU64(ptr + off);
    try {
      if (this.rseqDebug) {
        const start = read(8n);
        if (start >= USER_SPACE_END) return { fatal: `start_ip 0x${start.toString(16)} is not a user-space address` };
        if (ip < start) return this.clearRseqCs(reg) ?? 'cleared';
        const offset = read(16n);
        const end = Machine.u64(start + offset);
        if (end >= USER_SPACE_END || end < start) {
          return { fatal: `critical section [0x${start.toString(16)}, +0x${offset.toString(16)}) is not inside user space` };
        }
        if (ip >= end) return this.clearRseqCs(reg) ?? 'cleared';
        const abortIp = read(24n);
        if (abortIp >= USER_SPACE_END || abortIp < 4n) return { fatal: `abort_ip 0x${abortIp.toString(16)} is not a user-space address` };
        if (Machine.u64(abortIp - start) < offset) {
          return { fatal: `abort_ip 0x${abortIp.toString(16)} is inside the critical section [0x${start.toString(16)}, 0x${end.toString(16)})` };
        }
        const head = read(0n);
        if (head !== 0n) return { fatal: `rseq_cs version/flags 0x${head.toString(16)} are not 0 (rseq_debug)` };
        const bad = this.checkSignature(reg, abortIp);
        if (bad) return bad;
        const cleared = this.clearRseqCs(reg);
        if (cleared) return cleared;
        t.regs.ip = abortIp;
        return 'aborted';
      }
      const start = read(8n);
      const offset = read(16n);
      const abortIp = read(24n);
      if (Machine.u64(ip - start) >= offset) return this.clearRseqCs(reg) ?? 'cleared';
      const bad = this.checkSignature(reg, abortIp);
      if (bad) return bad;
      const cleared = this.clearRseqCs(reg);
      if (cleared) return cleared;
      t.regs.ip = abortIp;
      return 'aborted';
    } catch (e) {
      if (!(e instanceof MemoryFault)) throw e;
      return { fatal: `fault reading the rseq_cs descriptor at 0x${e.addr.toString(16)}` };
    }
  }

  /** The area's fields as simulated memory holds them (throws MemoryFault when unmapped). */
  readArea(addr: bigint): AreaSnapshot {
    return {
      cpuIdStart: this.memory.readU32(addr + BigInt(RSEQ_FIELD.cpuIdStart)),
      cpuId: this.memory.readU32(addr + BigInt(RSEQ_FIELD.cpuId)),
      rseqCs: this.memory.readU64(addr + BigInt(RSEQ_FIELD.rseqCs)),
      flags: this.memory.readU32(addr + BigInt(RSEQ_FIELD.flags)),
      nodeId: this.memory.readU32(addr + BigInt(RSEQ_FIELD.nodeId)),
      mmCid: this.memory.readU32(addr + BigInt(RSEQ_FIELD.mmCid)),
    };
  }

  // -------------------------------------------------------------------------
  // libc

  /**
   * What the libc does when a thread starts: glibc >= 2.35 registers its
   * TLS-resident area (rseq-internal.h: the area is cleared, cpu_id set to
   * -1, rseq(area, len, 0, RSEQ_SIG)); on failure, or with the tunable off,
   * it stores RSEQ_CPU_ID_REGISTRATION_FAILED (-2) in cpu_id. musl and glibc
   * < 2.35 do nothing. The first thread started sets the process-wide
   * __rseq_offset / __rseq_size / __rseq_flags.
   */
  libcStart(thread: SimThread | number): LibcThreadStart {
    const t = this.state(thread);
    if (t.libc) return t.libc;
    const lp = this.libcProfile;
    const first = this.symbols === null;
    let start: LibcThreadStart;
    if (!lp.exportsSymbols) {
      start = { registered: false, area: null, length: null, errno: null };
      if (first) this.symbols = { rseqOffset: null, rseqSize: null, rseqFlags: null };
    } else {
      const layout = lp.areaLayout(this.profile, this.arch);
      const area = t.tp + BigInt(layout.offset);
      this.memory.fill(area, layout.size, 0);
      if (!lp.registers) {
        this.memory.writeU32(area + BigInt(RSEQ_FIELD.cpuId), RSEQ_CPU_ID_REGISTRATION_FAILED);
        start = { registered: false, area, length: null, errno: null };
        if (first) this.symbols = { rseqOffset: layout.offset, rseqSize: 0, rseqFlags: 0 };
      } else {
        this.memory.writeU32(area + BigInt(RSEQ_FIELD.cpuId), RSEQ_CPU_ID_UNINITIALIZED);
        const length = lp.registrationLength(this.profile);
        const res = this.sysRseq(t, area, length, 0, lp.signature(this.arch));
        if (res.errno === null) {
          t.registrationOwner = 'libc';
          this.returnToUser(t, 'syscall');
        } else {
          this.memory.writeU32(area + BigInt(RSEQ_FIELD.cpuId), RSEQ_CPU_ID_REGISTRATION_FAILED);
        }
        start = { registered: res.errno === null, area, length, errno: res.errno };
        if (first) {
          this.symbols = {
            rseqOffset: layout.offset,
            rseqSize: res.errno === null ? lp.rseqSizeOnSuccess(this.profile) : 0,
            rseqFlags: 0,
          };
        }
      }
    }
    t.libc = start;
    return start;
  }

  /** __rseq_offset, __rseq_size, __rseq_flags as the libc exports them (null where it does not). */
  libcSymbols(): LibcSymbols {
    return this.symbols ?? { rseqOffset: null, rseqSize: null, rseqFlags: null };
  }

  libcInfo(): LibcInfo {
    const s = this.libcSymbols();
    return {
      family: this.libcProfile.family,
      version: this.libcProfile.version,
      rseqOffset: s.rseqOffset,
      rseqSize: s.rseqSize,
      rseqFlags: s.rseqFlags,
    };
  }

  // -------------------------------------------------------------------------
  // membarrier(2)

  /** The MEMBARRIER_CMD_QUERY mask of this machine. */
  membarrierMask(): number {
    let mask = this.profile.membarrierCommands;
    if (this.nohzFull) mask &= ~MEMBARRIER_CMD.GLOBAL;
    return mask;
  }

  /**
   * sys_membarrier(cmd, flags, cpu_id) (kernel/sched/membarrier.c): flags
   * must be 0 except MEMBARRIER_CMD_FLAG_CPU with PRIVATE_EXPEDITED_RSEQ;
   * unknown commands are EINVAL; the PRIVATE_EXPEDITED* commands are EPERM
   * until the process registered for them. PRIVATE_EXPEDITED_RSEQ makes
   * every other live thread (or the ones on `cpuId` with FLAG_CPU) take the
   * rseq preemption path on its next return to user space.
   */
  membarrier(thread: SimThread | number, cmd: number, flags = 0, cpuId = 0): SyscallResult {
    const caller = this.state(thread);
    this.slice.syscallEntry(caller);
    const mask = this.membarrierMask();
    const hasRseq = (this.profile.membarrierCommands & MEMBARRIER_CMD.PRIVATE_EXPEDITED_RSEQ) !== 0;
    if (cmd === MEMBARRIER_CMD.PRIVATE_EXPEDITED_RSEQ && hasRseq) {
      if (flags !== 0 && flags !== MEMBARRIER_CMD_FLAG_CPU) return fail('EINVAL');
    } else if (flags !== 0) {
      return fail('EINVAL');
    }
    const targetCpu = flags & MEMBARRIER_CMD_FLAG_CPU ? cpuId : -1;
    if (cmd === MEMBARRIER_CMD.QUERY) return ok(mask);
    if (cmd < 0 || (cmd & (cmd - 1)) !== 0 || (this.profile.membarrierCommands & cmd) === 0) return fail('EINVAL');
    const C = MEMBARRIER_CMD;
    switch (cmd) {
      case C.GLOBAL:
        return this.nohzFull ? fail('EINVAL') : ok();
      case C.GLOBAL_EXPEDITED:
        return ok();
      case C.REGISTER_GLOBAL_EXPEDITED:
      case C.REGISTER_PRIVATE_EXPEDITED:
      case C.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE:
      case C.REGISTER_PRIVATE_EXPEDITED_RSEQ:
        this.membarrierState |= cmd;
        return ok();
      case C.PRIVATE_EXPEDITED:
        return this.membarrierState & C.REGISTER_PRIVATE_EXPEDITED ? ok() : fail('EPERM');
      case C.PRIVATE_EXPEDITED_SYNC_CORE:
        return this.membarrierState & C.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE ? ok() : fail('EPERM');
      case C.PRIVATE_EXPEDITED_RSEQ: {
        if (!(this.membarrierState & C.REGISTER_PRIVATE_EXPEDITED_RSEQ)) return fail('EPERM');
        if (this.mmCidLocal.nrUsers === 1) return ok();
        for (const t of this.threads.values()) {
          if (!t.alive) continue;
          if (targetCpu >= 0 ? t.cpu !== targetCpu : t === caller) continue;
          // ipi_rseq(): rseq_preempt() on the target (rseq_sched_switch_event on 6.19+).
          if (t.registration) t.pendingEvents |= RSEQ_EVENT.PREEMPT;
        }
        return ok();
      }
      case C.GET_REGISTRATIONS:
        return ok(this.membarrierState);
      default:
        return fail('EINVAL');
    }
  }

  // -------------------------------------------------------------------------
  // What the backends report

  /**
   * The auxiliary vector of a process started on this machine, without the
   * AT_NULL terminator. AT_RSEQ_FEATURE_SIZE and AT_RSEQ_ALIGN only where
   * the profile publishes them (6.3+); AT_MINSIGSTKSZ on aarch64 since 4.18
   * and on x86_64 since 5.14. Addresses and hardware capabilities are
   * plausible values, not a real machine's.
   */
  auxv(): AuxvEntry[] {
    const p = this.profile;
    const [maj, min] = p.version;
    const atLeast = (a: number, b: number): boolean => maj > a || (maj === a && min >= b);
    const x86 = this.arch === 'x86_64';
    const entries: Array<[number, bigint]> = [];
    entries.push([AT.AT_SYSINFO_EHDR, 0x7ffc_a8b5_e000n]);
    if (x86 ? atLeast(5, 14) : atLeast(4, 18)) entries.push([AT.AT_MINSIGSTKSZ, x86 ? 3376n : 4224n]);
    entries.push([AT.AT_HWCAP, x86 ? 0x178bfbffn : 0xefffffffn]);
    entries.push([AT.AT_PAGESZ, 4096n]);
    entries.push([AT.AT_CLKTCK, 100n]);
    entries.push([AT.AT_PHDR, 0x5555_5555_4040n]);
    entries.push([AT.AT_PHENT, 56n]);
    entries.push([AT.AT_PHNUM, 13n]);
    entries.push([AT.AT_BASE, 0x7f3b_7a2c_3000n]);
    entries.push([AT.AT_FLAGS, 0n]);
    entries.push([AT.AT_ENTRY, 0x5555_5555_6a40n]);
    entries.push([AT.AT_UID, 1000n]);
    entries.push([AT.AT_EUID, 1000n]);
    entries.push([AT.AT_GID, 1000n]);
    entries.push([AT.AT_EGID, 1000n]);
    entries.push([AT.AT_SECURE, 0n]);
    entries.push([AT.AT_RANDOM, 0x7ffc_a8a4_f3b9n]);
    entries.push([AT.AT_HWCAP2, x86 ? 0x2n : 0x2f8fn]);
    entries.push([AT.AT_EXECFN, 0x7ffc_a8a4_ffe8n]);
    entries.push([AT.AT_PLATFORM, 0x7ffc_a8a4_f3c9n]);
    if (p.featureSize !== null && p.align !== null) {
      entries.push([AT.AT_RSEQ_FEATURE_SIZE, BigInt(p.featureSize)]);
      entries.push([AT.AT_RSEQ_ALIGN, BigInt(p.align)]);
    }
    return entries.map(([type, value]) => ({ type, name: auxvName(type), value }));
  }

  /** getauxval(): 0 when absent, as glibc answers. */
  getauxval(type: number): bigint {
    return this.auxv().find((e) => e.type === type)?.value ?? 0n;
  }

  fields(): FieldAvailability {
    return fieldsFromFeatureSize(this.profile.featureSize);
  }

  /** KernelInfo as the backends report it; the probe runs rseq(NULL, 0, 0, 0) on `thread`. */
  kernelInfo(thread: SimThread | number): KernelInfo {
    const probe = this.sysRseq(thread, 0n, 0, 0, 0);
    const mb = this.membarrier(thread, MEMBARRIER_CMD.QUERY);
    const mask = mb.errno === null ? mb.ret : null;
    const rseqBits = MEMBARRIER_CMD.PRIVATE_EXPEDITED_RSEQ | MEMBARRIER_CMD.REGISTER_PRIVATE_EXPEDITED_RSEQ;
    return {
      release: this.profile.release,
      featureSize: this.profile.featureSize,
      align: this.profile.align,
      syscall: { available: probe.errno === 'EINVAL', probeErrno: probe.errno ?? 'none' },
      membarrierRseq: mask !== null && (mask & rseqBits) === rseqBits,
      membarrierCommands: mask,
    };
  }

  /**
   * ERRNO_CASES on a fresh thread (libc start applied), exactly as
   * src/contract/types.ts documents them: A and B are zeroed 64-byte areas aligned
   * to 64, SIG the architecture's signature, BAD = 1 << 8, KADDR =
   * 0xffffffffffffffc0. The thread exits afterwards.
   */
  errnoTable(): ErrnoTable {
    const t = this.createThread();
    this.libcStart(t);
    const ownerAtStart: 'libc' | 'none' = t.registrationOwner === 'libc' ? 'libc' : 'none';
    const A = this.memory.map(64, 64, 'errno-table-A');
    const B = this.memory.map(64, 64, 'errno-table-B');
    const SIG = RSEQ_SIG[this.arch];
    const UNREG = RSEQ_FLAG_UNREGISTER;
    const BAD = ERRNO_CASE_BAD_FLAG;
    const KADDR = ERRNO_CASE_KADDR;
    const args: Record<ErrnoCaseName, readonly [bigint, number, number, number]> = {
      'probe-null': [0n, 0, 0, 0],
      'register-bad-flags': [A, 32, BAD, SIG],
      'register-len-31': [A, 31, 0, SIG],
      'register-misaligned': [A + 16n, 32, 0, SIG],
      'register-bad-address': [KADDR, 32, 0, SIG],
      'unregister-not-registered': [A, 32, UNREG, SIG],
      register: [A, 32, 0, SIG],
      'register-again-same': [A, 32, 0, SIG],
      'register-again-other-signature': [A, 32, 0, (SIG ^ 1) >>> 0],
      'register-again-other-area': [B, 32, 0, SIG],
      'register-again-other-length': [A, 64, 0, SIG],
      'unregister-extra-flags': [A, 32, UNREG | BAD, SIG],
      'unregister-other-area': [B, 32, UNREG, SIG],
      'unregister-other-length': [A, 64, UNREG, SIG],
      'unregister-wrong-signature': [A, 32, UNREG, (SIG ^ 1) >>> 0],
      unregister: [A, 32, UNREG, SIG],
      'register-len-64': [B, 64, 0, SIG],
      'unregister-len-64': [B, 64, UNREG, SIG],
    };
    const cases: ErrnoCase[] = [];
    try {
      for (const name of ERRNO_CASES) {
        const [addr, len, flags, sig] = args[name];
        const r = this.sysRseq(t, addr, len, flags, sig);
        cases.push({ case: name, ret: r.errno === null ? r.ret : -1, errno: r.errno });
      }
    } finally {
      this.exitThread(t);
      this.memory.unmap(A);
      this.memory.unmap(B);
    }
    return { ownerAtStart, signature: SIG, cases };
  }
}
