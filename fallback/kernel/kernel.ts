/**
 * The simulated machine: one process (one mm) on a set of CPUs, its threads,
 * their rseq registrations, and the system calls the package uses (rseq,
 * membarrier, sched_setaffinity), following the rules of a kernel release
 * profile (profiles.ts). `Machine` is the model's one entry point; it owns
 * the machine's state (state.ts) and each concern lives in a file of its own:
 *
 *   thread.ts          a thread: what callers see, the kernel's state behind it
 *   threads.ts         clone and exit, CPUs and nodes, affinity, migration,
 *                      preemption, mm_cid (the scheduler's side)
 *   registration.ts    rseq(2): registration and unregistration
 *   return-to-user.ts  the kernel's work on the way back to user space: the
 *                      IDs and the critical section (rseq-cs.ts)
 *   area.ts            struct rseq in simulated memory (memory.ts)
 *   membarrier.ts      membarrier(2)
 *   libc.ts            libc's registration at thread start, its symbols
 *   auxv.ts            the auxiliary vector
 *   errno-table.ts     the rseq syscall's errno table
 *
 * Every state change goes through a method of `Machine`, and `returnToUser`
 * is the single place where the kernel works on the area on the way back to
 * user space: it writes the IDs and evaluates rseq_cs against the thread's
 * instruction pointer (`userRegs`), aborting a critical section by moving
 * the IP to abort_ip. Critical sections themselves (step programs run on a
 * simulated thread) are in sections.ts; the seeded scheduler that delivers
 * events between their steps is in scheduler.ts. Which real JavaScript thread
 * is which simulated thread is the host backend's business (fallback/host-thread.ts).
 */
import { fieldsFromFeatureSize } from '../../src/contract/fields.js';
import type { AuxvEntry, ErrnoTable, FieldAvailability, KernelInfo, LibcInfo } from '../../src/contract/types.js';
import type { SyscallResult } from './errno.js';
import { readArea, type AreaSnapshot } from './area.js';
import { auxvEntries } from './auxv.js';
import { errnoTable } from './errno-table.js';
import { libcInfo, libcStart } from './libc.js';
import { membarrierMask, sysMembarrier } from './membarrier.js';
import { SimMemory } from './memory.js';
import type { LocalMmCid, MmCidSource } from './mmcid.js';
import { prng } from './prng.js';
import { kernelProfileFor, libcProfileFor, MEMBARRIER_CMD, type Arch, type KernelProfile, type LibcProfile } from './profiles.js';
import { sysRseq } from './registration.js';
import { returnToUser, type ReturnCause, type ReturnToUserResult } from './return-to-user.js';
import { SliceModel } from './slice.js';
import { KernelState } from './state.js';
import type { FatalSignal, LibcThreadStart, SimThread, UserRegs } from './thread.js';
import { createThread, exitThread, migrate, mmCidOf, nodeOf, preempt, setAffinity } from './threads.js';

// src/crosscheck/ops.ts takes the model's PRNG from here.
export { prng };

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

export class Machine {
  readonly profile: KernelProfile;
  readonly libcProfile: LibcProfile;
  readonly arch: Arch;
  readonly nrCpus: number;
  readonly nrNodes: number;
  readonly pid: number;
  readonly memory: SimMemory;
  /** The mm's CID bookkeeping (always maintained, also when `mmCid` is external). */
  readonly mmCidLocal: LocalMmCid;
  /** The time-slice extension (7.0; slice.ts): prctl, rseq_slice_yield, grants. */
  readonly slice: SliceModel;
  private readonly k: KernelState;

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
    const base = 0x7f00_0000_0000n + BigInt(Math.floor(random() * 0x3f_0000)) * 4096n;
    this.memory = new SimMemory({ arenaBytes: options.arenaBytes ?? 1 << 20, base });
    this.slice = new SliceModel(this, options.sliceExtDisabled ?? false);
    this.k = new KernelState({
      profile: this.profile,
      libcProfile: this.libcProfile,
      arch: this.arch,
      nrCpus: cpus,
      nrNodes: nodes,
      pid: this.pid,
      memory: this.memory,
      mmCid: options.mmCid,
      rseqFilter: options.rseqFilter ?? null,
      nohzFull: options.nohzFull ?? false,
      rseqDebug: options.rseqDebug ?? false,
      slice: this.slice,
    });
    this.mmCidLocal = this.k.mmCidLocal;
  }

  // -------------------------------------------------------------------------
  // Threads and CPUs (threads.ts)

  /** cpu_to_node(): CPUs are split into `nodes` contiguous blocks. */
  nodeOf(cpu: number): number {
    return nodeOf(this.k, cpu);
  }

  /** The thread with this tid (alive or exited but not forgotten), or undefined. */
  thread(tid: number): SimThread | undefined {
    return this.k.threads.get(tid);
  }

  /** Live threads, lowest tid first. */
  liveThreads(): SimThread[] {
    return [...this.k.threads.values()].filter((t) => t.alive).sort((a, b) => a.tid - b.tid);
  }

  /**
   * clone(): a new thread of the process. Its affinity defaults to every CPU;
   * its CPU defaults to the allowed CPUs in turn (the n-th thread created
   * gets allowed[n % allowed.length]). The first thread's tid is the pid.
   */
  createThread(opts: { tid?: number; affinity?: readonly number[]; cpu?: number } = {}): SimThread {
    return createThread(this.k, opts);
  }

  /** exit(): the registration is dropped without touching the area; the mm_cid and TLS block are released. */
  exitThread(thread: SimThread | number): void {
    exitThread(this.k, this.k.thread(thread));
  }

  /** The mm_cid the thread has while running on its CPU. */
  mmCidOf(thread: SimThread | number): number {
    return mmCidOf(this.k, this.k.thread(thread));
  }

  /** min(|allowed CPUs of the process|, live threads): every mm_cid is below it. */
  mmCidBound(): number {
    return this.k.mmCidLocal.bound;
  }

  /**
   * Move a thread to another CPU of its affinity (the scheduler's load
   * balancing, or the migration after sched_setaffinity). The IDs are
   * written on its next return to user space.
   */
  migrate(thread: SimThread | number, cpu: number): void {
    migrate(this.k, this.k.thread(thread), cpu);
  }

  /**
   * The thread was scheduled out and will be scheduled back in
   * (rseq_preempt: preemption, yield, blocking): its next return to user
   * space handles a critical section it was in.
   */
  preempt(thread: SimThread | number): void {
    preempt(this.k.thread(thread));
  }

  /** RSEQ_EVENT bits pending for the thread's next return to user space. */
  pendingEvents(thread: SimThread | number): number {
    return this.k.thread(thread).pendingEvents;
  }

  /**
   * The thread's user registers. Code running on the simulated thread
   * (sections.ts) keeps its IP here; returnToUser reads it and moves it to
   * abort_ip when it aborts a critical section.
   */
  userRegs(thread: SimThread | number): UserRegs {
    return this.k.thread(thread).regs;
  }

  /** A user-space access the thread made faulted: the process gets SIGSEGV. */
  userFault(thread: SimThread | number, reason: string): FatalSignal {
    return this.k.kill(this.k.thread(thread), reason);
  }

  /**
   * sched_setaffinity(tid, cpus): EINVAL when no CPU of the mask is online.
   * A thread whose CPU is still allowed stays; otherwise it moves to the
   * lowest allowed CPU (the real kernel may pick any of them).
   */
  setAffinity(thread: SimThread | number, cpus: readonly number[]): SyscallResult {
    return setAffinity(this.k, this.k.thread(thread), cpus);
  }

  /** A fatal signal the process received, or null. */
  get fatal(): FatalSignal | null {
    return this.k.fatalSignal;
  }

  // -------------------------------------------------------------------------
  // rseq(2) and the return to user space (registration.ts, return-to-user.ts)

  /** sys_rseq(rseq, rseq_len, flags, sig), with the checks of kernel/rseq.c in the profile's order (registration.ts). */
  sysRseq(thread: SimThread | number, rseq: bigint | number, rseqLen: number, flags: number, sig: number): SyscallResult {
    return sysRseq(this.k, this.k.thread(thread), rseq, rseqLen, flags, sig);
  }

  /**
   * The kernel's work on the way back to user space after `cause`
   * (return-to-user.ts): the IDs, then rseq_cs against the thread's IP.
   */
  returnToUser(thread: SimThread | number, cause: ReturnCause = 'preempt'): ReturnToUserResult {
    return returnToUser(this.k, this.k.thread(thread), cause);
  }

  /** The area's fields as simulated memory holds them (throws MemoryFault when unmapped). */
  readArea(addr: bigint): AreaSnapshot {
    return readArea(this.memory, addr);
  }

  // -------------------------------------------------------------------------
  // libc (libc.ts)

  /** What the libc does when a thread starts (glibc >= 2.35 registers its area); once per thread. */
  libcStart(thread: SimThread | number): LibcThreadStart {
    return libcStart(this.k, this.k.thread(thread));
  }

  libcInfo(): LibcInfo {
    return libcInfo(this.k);
  }

  // -------------------------------------------------------------------------
  // membarrier(2) (membarrier.ts)

  /** The MEMBARRIER_CMD_QUERY mask of this machine. */
  membarrierMask(): number {
    return membarrierMask(this.k);
  }

  /** sys_membarrier(cmd, flags, cpu_id) (membarrier.ts). */
  membarrier(thread: SimThread | number, cmd: number, flags = 0, cpuId = 0): SyscallResult {
    return sysMembarrier(this.k, this.k.thread(thread), cmd, flags, cpuId);
  }

  // -------------------------------------------------------------------------
  // What the backends report

  /** The auxiliary vector of a process started on this machine, without the AT_NULL terminator (auxv.ts). */
  auxv(): AuxvEntry[] {
    return auxvEntries(this.profile, this.arch);
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

  /** ERRNO_CASES on a fresh thread that exits afterwards (errno-table.ts). */
  errnoTable(): ErrnoTable {
    return errnoTable(this.k);
  }
}
