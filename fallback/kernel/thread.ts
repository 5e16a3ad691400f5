/**
 * A simulated thread: what callers see of it (SimThread), the kernel's state
 * behind it (ThreadState: registration, cached IDs, pending events, user
 * registers), and the fatal signal that ends the simulated process.
 */
import type { ErrnoName } from './errno.js';
import { RSEQ_CPU_ID_UNINITIALIZED } from './profiles.js';

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

/** The IDs a registration's area shows: cpu_id (and cpu_id_start), node_id, mm_cid. */
export interface Ids {
  cpuId: number;
  nodeId: number;
  mmCid: number;
}

/** A thread's state: the kernel's side of a SimThread (the Machine owns it). */
export class ThreadState implements SimThread {
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
