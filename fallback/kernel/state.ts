/**
 * The state of one simulated machine (its process, threads, registrations,
 * membarrier registrations, libc symbols, and the fatal signal once it died),
 * shared by the files that model the kernel's concerns (threads.ts,
 * registration.ts, return-to-user.ts, membarrier.ts, libc.ts). `Machine`
 * (kernel.ts) owns it and is the only way in from outside the model.
 */
import type { SimMemory } from './memory.js';
import { LocalMmCid, type MmCidSource } from './mmcid.js';
import type { Arch, KernelProfile, LibcProfile } from './profiles.js';
import type { SliceModel } from './slice.js';
import type { FatalSignal, SimThread, ThreadState } from './thread.js';

/** __rseq_offset, __rseq_size and __rseq_flags as the libc exports them (null where it does not). */
export interface LibcSymbols {
  rseqOffset: number | null;
  rseqSize: number | null;
  rseqFlags: number | null;
}

/** What the machine is built with (Machine's constructor checks and derives these from MachineOptions). */
export interface KernelConfig {
  profile: KernelProfile;
  libcProfile: LibcProfile;
  arch: Arch;
  nrCpus: number;
  nrNodes: number;
  pid: number;
  memory: SimMemory;
  /** mm_cid values from elsewhere; undefined: the mm's own (mmCidLocal). */
  mmCid: MmCidSource | undefined;
  rseqFilter: 'ENOSYS' | 'EPERM' | null;
  nohzFull: boolean;
  rseqDebug: boolean;
  slice: SliceModel;
}

export class KernelState {
  readonly profile: KernelProfile;
  readonly libcProfile: LibcProfile;
  readonly arch: Arch;
  readonly nrCpus: number;
  readonly nrNodes: number;
  readonly memory: SimMemory;
  /** The mm's CID bookkeeping (always maintained, also when `mmCidSource` is external). */
  readonly mmCidLocal = new LocalMmCid();
  /** Where a thread's mm_cid comes from: mmCidLocal, or the host backend's shared pool. */
  readonly mmCidSource: MmCidSource;
  /** A seccomp filter making rseq() fail with this errno. */
  readonly rseqFilter: 'ENOSYS' | 'EPERM' | null;
  /** Booted with nohz_full (no MEMBARRIER_CMD_GLOBAL). */
  readonly nohzFull: boolean;
  /** The `rseq_debug` boot option (6.19+). */
  readonly rseqDebug: boolean;
  /** The time-slice extension (7.0; slice.ts). */
  readonly slice: SliceModel;
  /** Threads by tid (exited threads are forgotten). */
  readonly threads = new Map<number, ThreadState>();
  /** The tid the next thread gets unless the caller names one. */
  nextTid: number;
  /** Threads created so far (the default CPU of the next one). */
  createdThreads = 0;
  /** The MEMBARRIER_CMD_REGISTER_* commands the process ran. */
  membarrierState = 0;
  /** Set by the first thread libc started. */
  symbols: LibcSymbols | null = null;
  /** The signal that killed the process, or null. */
  fatalSignal: FatalSignal | null = null;

  constructor(c: KernelConfig) {
    this.profile = c.profile;
    this.libcProfile = c.libcProfile;
    this.arch = c.arch;
    this.nrCpus = c.nrCpus;
    this.nrNodes = c.nrNodes;
    this.memory = c.memory;
    this.mmCidSource = c.mmCid ?? this.mmCidLocal;
    this.rseqFilter = c.rseqFilter;
    this.nohzFull = c.nohzFull;
    this.rseqDebug = c.rseqDebug;
    this.slice = c.slice;
    this.nextTid = c.pid;
  }

  /** A thread's state; RangeError when the machine has no such thread. */
  thread(t: SimThread | number): ThreadState {
    const tid = typeof t === 'number' ? t : t.tid;
    const s = this.threads.get(tid);
    if (!s) throw new RangeError(`no thread ${tid}`);
    return s;
  }

  checkCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrCpus) throw new RangeError(`no CPU ${cpu}`);
  }

  allCpus(): number[] {
    return Array.from({ length: this.nrCpus }, (_, i) => i);
  }

  /** force_sig(SIGSEGV) on the process (the first reason is kept); returns the signal. */
  kill(t: ThreadState, reason: string): FatalSignal {
    this.fatalSignal ??= { signal: 'SIGSEGV', tid: t.tid, reason };
    return this.fatalSignal;
  }
}
