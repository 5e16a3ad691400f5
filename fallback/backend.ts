/**
 * The simulator backend: the `Backend` interface of src/backend.ts over the
 * simulated kernel, used where the native addon cannot be loaded.
 *
 * Host-fallback policy (documented defaults):
 * - Machine: kernel profile 6.19 (release '6.19.0-simulated', a modern
 *   kernel with the 6.19 rseq rework), libc profile glibc-2.41, CPUs =
 *   os.availableParallelism(), one NUMA node, arch from process.arch
 *   (x64 -> x86_64, arm64 -> aarch64, anything else -> x86_64), pid =
 *   process.pid.
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
 *   otherwise the feature size rounded up to AT_RSEQ_ALIGN (alignment
 *   AT_RSEQ_ALIGN, or 32 when absent), and unregisters and frees it when the
 *   last reference is released.
 *
 * Per-isolate state: worker threads are separate V8 isolates, so each one
 * loading this module gets its own simulated machine whose thread set is
 * "this real thread"; debugCounts() counts this isolate's thread only. The
 * only cross-isolate state is the mm_cid pool (shared-mmcid.ts), so live
 * workers get distinct mm_cid values below min(CPUs, live threads).
 * What a later issue must do to share one machine between isolates: put the
 * simulated memory arena (already a SharedArrayBuffer), the thread table
 * (tid, CPU, affinity, registration address/len/sig/mode, cached IDs) and
 * the membarrier state in SharedArrayBuffers handed to workers through
 * worker_threads environment data (as shared-mmcid.ts does), guard updates
 * with Atomics, and let every isolate's Machine read and write that shared
 * state instead of its private Maps; memory allocation then needs one
 * shared allocator (a lock plus a region table in the shared buffer).
 */
import * as os from 'node:os';
import * as wt from 'node:worker_threads';
import type { AreaSource, Backend, SyscallFailure, ThreadField } from '../src/backend.js';
import { FIELD_OFFSET } from '../src/backend.js';
import { errnoInfo as explainedErrno } from '../src/errors.js';
import type {
  AuxvEntry,
  DebugCounts,
  ErrnoInfo,
  ErrnoTable,
  FieldAvailability,
  KernelInfo,
  LibcInfo,
  RegistrationInfo,
} from '../src/types.js';
import { ERRNO, type ErrnoName } from './errno.js';
import { Machine, type SimThread } from './kernel/kernel.js';
import { ORIG_RSEQ_SIZE, RSEQ_FLAG_UNREGISTER, RSEQ_SIG, type Arch } from './kernel/profiles.js';
import { SharedMmCidPool } from './shared-mmcid.js';

export interface SimulatorBackendOptions {
  /** Kernel release or profile id (default '6.19'). */
  kernel?: string;
  /** Libc profile name (default 'glibc-2.41'). */
  libc?: string;
  arch?: 'x86_64' | 'aarch64';
  /** Simulated CPUs (default os.availableParallelism()). */
  cpus?: number;
  /** NUMA nodes (default 1). */
  nodes?: number;
  /** Seeds the simulated addresses. */
  seed?: number;
  /** Share mm_cid values with other isolates of this process (default true). */
  shareMmCid?: boolean;
}

/** The simulator backend, with access to its model for tests and crosschecks. */
export interface SimulatorBackend extends Backend {
  readonly kind: 'simulator';
  readonly arch: Arch;
  /** The simulated machine behind this backend (this isolate's). */
  readonly machine: Machine;
  /** The simulated thread of the calling JavaScript thread (created on first use). */
  currentThread(): SimThread;
}

export const DEFAULT_KERNEL = '6.19';
export const DEFAULT_LIBC = 'glibc-2.41';

export function hostArch(): Arch {
  if (process.arch === 'arm64') return 'aarch64';
  return 'x86_64';
}

function hostCpus(): number {
  const osWithParallelism = os as typeof os & { availableParallelism?: () => number };
  const n = typeof osWithParallelism.availableParallelism === 'function' ? osWithParallelism.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(4096, n || 1));
}

function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** An errno of the simulated kernel with the package's sentence (src/errors.ts), as the native backend reports it. */
function errnoInfo(op: string, errno: ErrnoName): ErrnoInfo {
  return explainedErrno(op, errno, ERRNO[errno]);
}

export function createSimulatorBackend(options: SimulatorBackendOptions = {}): SimulatorBackend {
  const arch: Arch = options.arch ?? hostArch();
  const cpus = options.cpus ?? hostCpus();
  const pid = process.pid;
  const share = options.shareMmCid ?? true;
  const pool = share ? SharedMmCidPool.forCpus(cpus) : undefined;
  const machine = new Machine({
    kernel: options.kernel ?? DEFAULT_KERNEL,
    libc: options.libc ?? DEFAULT_LIBC,
    arch,
    cpus,
    nodes: options.nodes ?? 1,
    seed: options.seed ?? 0x5eed,
    pid,
    ...(pool ? { mmCid: pool } : {}),
  });
  const signature = RSEQ_SIG[arch];

  let thread: SimThread | null = null;
  let refs = 0;
  let addonArea: bigint | null = null;
  let addonRegistered = false;
  let lastError: ErrnoInfo | null = null;
  const counts = { registrations: 0, areas: 0 };

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
      refs++;
      return;
    }
    const p = machine.profile;
    const align = p.align ?? ORIG_RSEQ_SIZE;
    const fs = p.featureSize;
    const len = fs === null || fs <= ORIG_RSEQ_SIZE ? ORIG_RSEQ_SIZE : alignUp(fs, align);
    let area: bigint;
    try {
      area = machine.memory.map(len, Math.max(align, ORIG_RSEQ_SIZE), 'addon-rseq-area');
    } catch {
      lastError = errnoInfo('alloc', 'ENOMEM');
      return;
    }
    counts.areas++;
    const r = machine.sysRseq(t, area, len, 0, signature);
    if (r.errno !== null) {
      machine.memory.unmap(area);
      counts.areas--;
      lastError = errnoInfo('register', r.errno);
      return;
    }
    machine.returnToUser(t, 'syscall');
    addonArea = area;
    addonRegistered = true;
    counts.registrations++;
    lastError = null;
    refs++;
  }

  function requireRegistration(t: SimThread): NonNullable<SimThread['registration']> {
    const reg = t.registration;
    if (!reg) throw new Error('rseq (simulator): the calling thread holds no rseq registration');
    return reg;
  }

  const backend: SimulatorBackend = {
    kind: 'simulator',
    arch,
    machine,
    currentThread: ensureThread,

    kernel(): KernelInfo {
      return machine.kernelInfo(ensureThread());
    },

    libc(): LibcInfo {
      ensureThread();
      return machine.libcInfo();
    },

    registration,

    fields(): FieldAvailability {
      return machine.fields();
    },

    auxv(): AuxvEntry[] {
      return machine.auxv();
    },

    readField(field: ThreadField): number {
      const t = ensureThread();
      const reg = requireRegistration(t);
      return machine.memory.readU32(reg.addr + BigInt(FIELD_OFFSET[field]));
    },

    areaSource(): AreaSource {
      const t = ensureThread();
      const reg = t.registration;
      if (!reg) {
        return {
          kind: 'calls',
          access: 'none',
          byteLength: 0,
          reason: 'the calling thread holds no rseq registration',
          read(): number {
            throw new Error('rseq (simulator): the calling thread holds no rseq registration');
          },
        };
      }
      return {
        kind: 'buffer',
        access: 'simulated-memory',
        buffer: machine.memory.buffer,
        byteOffset: machine.memory.offsetOf(reg.addr, reg.len),
        byteLength: reg.len,
      };
    },

    errnoTable(): ErrnoTable {
      return machine.errnoTable();
    },

    setAffinity(cpuList: readonly number[]): SyscallFailure | null {
      const t = ensureThread();
      const r = machine.setAffinity(t, cpuList);
      if (r.errno !== null) return { errno: r.errno, code: ERRNO[r.errno] };
      machine.returnToUser(t, 'syscall');
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
      return { registrations: counts.registrations, areas: counts.areas, threads: refs > 0 ? 1 : 0 };
    },

    acquire(): RegistrationInfo {
      const t = ensureThread();
      acquireRef(t);
      return registration();
    },

    release(): number {
      const t = ensureThread();
      if (refs === 0) return 0;
      refs--;
      if (refs === 0 && addonRegistered && addonArea !== null) {
        const reg = t.registration;
        const r = reg ? machine.sysRseq(t, reg.addr, reg.len, RSEQ_FLAG_UNREGISTER, reg.sig) : null;
        if (r && r.errno !== null) {
          lastError = errnoInfo('unregister', r.errno);
          refs++;
          return refs;
        }
        machine.memory.unmap(addonArea);
        addonArea = null;
        addonRegistered = false;
        counts.registrations--;
        counts.areas--;
      }
      return refs;
    },
  };
  return backend;
}
