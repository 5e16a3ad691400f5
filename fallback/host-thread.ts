/**
 * The simulator backend's calling thread: which simulated thread each real
 * JavaScript thread is, its CPU (affinity), and its rseq registration with
 * the references counted on it (registration, acquire, release, debugCounts).
 *
 * Host-fallback policy (documented defaults):
 * - Threads: each real JavaScript thread (main or worker, identified by
 *   worker_threads.threadId) is one simulated thread, created on first use
 *   with tid = pid + threadId and started through the libc profile (glibc
 *   registers it). Its CPU is allowed[threadId % allowed.length], so
 *   workers spread over the CPUs deterministically. setAffinity() keeps the
 *   thread on its CPU when that CPU is still allowed and otherwise moves it
 *   to the lowest allowed CPU; the new IDs are written before the call
 *   returns (the return to user space after the migration).
 * - Registration: the backend takes one reference on the calling thread's
 *   registration when the thread is first used. acquire()/release() count
 *   references like the native addon: libc's registration is used when libc
 *   registered the thread; otherwise the backend ("the simulated addon")
 *   registers its own area of 32 bytes when the feature size is <= 32 and
 *   otherwise exactly the feature size (33 on 7.0: the optimised v2 mode), in
 *   an allocation rounded up to AT_RSEQ_ALIGN (alignment AT_RSEQ_ALIGN, or 32
 *   when absent), and unregisters and frees it when the last reference is
 *   released.
 */
import * as wt from 'node:worker_threads';
import type { SyscallFailure } from '../src/contract/backend.js';
import { errnoInfo as explainedErrno } from '../src/contract/errors.js';
import { addonAreaLayout } from '../src/contract/abi.js';
import type { DebugCounts, ErrnoInfo, RegistrationInfo } from '../src/contract/types.js';
import { ERRNO, type ErrnoName } from './kernel/errno.js';
import { RSEQ_FLAG_UNREGISTER } from './kernel/profiles.js';
import { FatalSignalError, type SimThread } from './kernel/thread.js';
import type { SimulatorHost } from './host-options.js';
import { AREAS, REGISTRATIONS, THREADS, sharedDebugCounts } from './shared-counts.js';

/** An errno of the simulated kernel with the package's sentence (src/contract/errors.ts), as the native backend reports it. */
function errnoInfo(op: string, errno: ErrnoName): ErrnoInfo {
  return explainedErrno(op, errno, ERRNO[errno]);
}

/** The calling thread's part of the backend; the other parts reach the thread through it. */
export interface HostThread {
  /** The simulated thread of the calling JavaScript thread (created on first use). */
  ensureThread(): SimThread;
  registration(): RegistrationInfo;
  /** The thread's registration, or an Error when it holds none. */
  requireRegistration(t: SimThread): NonNullable<SimThread['registration']>;
  /** The return to user space after a system call of the model; a fatal signal is thrown. */
  afterSyscall(t: SimThread): void;
  /** The references the thread holds. */
  references(): number;
  setAffinity(cpuList: readonly number[]): SyscallFailure | null;
  getAffinity(): number[];
  schedGetcpu(): number;
  debugCounts(): DebugCounts;
  acquire(): RegistrationInfo;
  release(): number;
}

export function hostThread(host: SimulatorHost): HostThread {
  const { cpus, pid, pool, share, machine, signature } = host;
  let thread: SimThread | null = null;
  let refs = 0;
  let addonArea: bigint | null = null;
  let addonRegistered = false;
  let lastError: ErrnoInfo | null = null;
  /** Registrations, areas and threads of the whole process (shared-counts.ts). */
  const counts = sharedDebugCounts(share);
  /** References: the thread counts while it holds at least one. */
  const addRef = (): void => {
    if (refs++ === 0) Atomics.add(counts, THREADS, 1);
  };
  const dropRef = (): void => {
    if (--refs === 0) Atomics.sub(counts, THREADS, 1);
  };

  function ensureThread(): SimThread {
    if (thread && thread.alive) return thread;
    const tid = pid + wt.threadId;
    const allowed = Array.from({ length: cpus }, (_, i) => i);
    const cpu = allowed[wt.threadId % allowed.length] as number;
    const t = machine.createThread({ tid, cpu });
    thread = t;
    machine.libcStart(t);
    if (pool && !wt.isMainThread) {
      process.once('exit', () => {
        if (thread?.alive) machine.exitThread(thread);
      });
    }
    acquireRef(t);
    return t;
  }

  function registration(): RegistrationInfo {
    const t = ensureThread();
    const reg = t.registration;
    if (!reg) return { owner: 'none', length: null, signature: null, error: lastError };
    return {
      owner: t.registrationOwner === 'libc' ? 'libc' : 'addon',
      length: reg.len,
      signature: reg.sig,
      error: null,
    };
  }

  function acquireRef(t: SimThread): void {
    if (t.registration) {
      // libc's registration, the backend's own, or one made by a test
      // driving the machine directly: take a reference on it.
      addRef();
      return;
    }
    // The addon's rule (src/contract/abi.ts, native/registration.h area_layout()).
    const layout = addonAreaLayout(machine.profile.featureSize, machine.profile.align);
    const len = layout.length;
    let area: bigint;
    try {
      area = machine.memory.map(layout.allocSize, layout.align, 'addon-rseq-area');
    } catch {
      lastError = errnoInfo('alloc', 'ENOMEM');
      return;
    }
    Atomics.add(counts, AREAS, 1);
    const r = machine.sysRseq(t, area, len, 0, signature);
    if (r.errno !== null) {
      machine.memory.unmap(area);
      Atomics.sub(counts, AREAS, 1);
      lastError = errnoInfo('register', r.errno);
      return;
    }
    machine.returnToUser(t, 'syscall');
    addonArea = area;
    addonRegistered = true;
    Atomics.add(counts, REGISTRATIONS, 1);
    lastError = null;
    addRef();
  }

  /** The return to user space after a system call of the model; a fatal signal is thrown. */
  function afterSyscall(t: SimThread): void {
    machine.returnToUser(t, 'syscall');
    if (machine.fatal) throw new FatalSignalError(machine.fatal);
  }

  function requireRegistration(t: SimThread): NonNullable<SimThread['registration']> {
    const reg = t.registration;
    if (!reg) throw new Error('rseq (simulator): the calling thread holds no rseq registration');
    return reg;
  }

  return {
    ensureThread,
    registration,
    requireRegistration,
    afterSyscall,
    references: () => refs,

    setAffinity(cpuList: readonly number[]): SyscallFailure | null {
      const t = ensureThread();
      const r = machine.setAffinity(t, cpuList);
      if (r.errno !== null) return { errno: r.errno, code: ERRNO[r.errno] };
      afterSyscall(t);
      return null;
    },

    getAffinity(): number[] {
      return [...ensureThread().affinity];
    },

    schedGetcpu(): number {
      return ensureThread().cpu;
    },

    debugCounts(): DebugCounts {
      ensureThread();
      return { registrations: Atomics.load(counts, REGISTRATIONS), areas: Atomics.load(counts, AREAS), threads: Atomics.load(counts, THREADS) };
    },

    acquire(): RegistrationInfo {
      const t = ensureThread();
      acquireRef(t);
      return registration();
    },

    release(): number {
      const t = ensureThread();
      if (refs === 0) return 0;
      if (refs === 1 && addonRegistered && addonArea !== null) {
        const reg = t.registration;
        const r = reg ? machine.sysRseq(t, reg.addr, reg.len, RSEQ_FLAG_UNREGISTER, reg.sig) : null;
        if (r && r.errno !== null) {
          lastError = errnoInfo('unregister', r.errno);
          return refs;
        }
        machine.memory.unmap(addonArea);
        addonArea = null;
        addonRegistered = false;
        Atomics.sub(counts, REGISTRATIONS, 1);
        Atomics.sub(counts, AREAS, 1);
      }
      dropRef();
      return refs;
    },
  };
}
