/**
 * The simulator backend: the `Backend` interface of src/contract/backend.ts over the
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
 *   otherwise exactly the feature size (33 on 7.0: the optimised v2 mode), in
 *   an allocation rounded up to AT_RSEQ_ALIGN (alignment AT_RSEQ_ALIGN, or 32
 *   when absent), and unregisters and frees it when the last reference is
 *   released.
 * - Time-slice extension (Backend.slice): the model of fallback/kernel/slice.ts
 *   on this thread's simulated thread; every call is a system call of the
 *   model, with its return to user space. A fatal signal of the model (any
 *   call, setAffinity included) is thrown as FatalSignalError.
 *
 * Per-CPU critical sections (PerCpuOps.section) on the host: each operation is the
 * step program of fallback/kernel/sections.ts (the same definition the
 * kernel model runs), executed on this thread's simulated thread against
 * an adapter that reads and writes the REAL typed arrays given (words with
 * Atomics.load / Atomics.store, so every load and store, the commit
 * included, is sequentially consistent and visible to other threads; the
 * `release` flag therefore changes nothing here; bytes with plain accesses,
 * ordered before the commit by it). The rseq area, the descriptors and the
 * signatures are in the simulated memory, and the simulated kernel's
 * return-to-user logic does the aborts.
 * - Linearisation: a section attempt holds the lock of its id (the
 *   simulated CPU in mode `cpu`, the mm_cid in mode `mmcid`, as the area
 *   shows it; src/contract/section-locks.ts): the process's locks
 *   (shared-sections.ts) for the raw operations, the structure's own for a
 *   bound region. Threads mapped to the same simulated CPU serialise, as
 *   rseq serialises threads on one CPU.
 * - Aborts happen at a step boundary inside the section when (a) another
 *   thread fenced this thread's CPU since the attempt started (fence()),
 *   (b) a thread waiting for the same lock asked for the CPU after waiting
 *   PREEMPT_AFTER_MS (the holder was descheduled by the host), or lost the
 *   lock as presumed dead, or (c) the abort policy says so: with
 *   `abortRate` N (option, or RSEQ_SIM_ABORT_RATE=N; default 0, off) every
 *   N-th attempt of the thread is preempted, at in-section boundary k mod 4
 *   (k counts the injections) or at the latest right before the commit
 *   store; an attempt that leaves the section earlier (moved, compare
 *   failed) is not aborted. A thread's id changes only through
 *   setAffinity (or mm_cid convergence), between attempts: a caller that
 *   passes the old id gets OP_MOVED.
 * - fence(cpu) (cpu < 0: every CPU; a CPU the machine does not have:
 *   nothing, as the kernel answers for an offline CPU): membarrier
 *   registration once per thread's machine on the first call (EINVAL where
 *   the kernel profile has no RSEQ membarrier, before 5.10), then the
 *   simulated membarrier, then the host fence:
 *   bump the fence generation of the CPU (or all), then take and release
 *   that CPU's lock (or all) and every mm_cid lock, so every section in
 *   flight on another thread has aborted or completed when it returns.
 * - opCounts(): attempts, aborts and moved of this backend's thread.
 *   possibleCpus(): the simulated machine's CPUs, 0..cpus-1.
 *
 * Per-isolate state: worker threads are separate V8 isolates, so each one
 * gets its own simulated machine whose thread set is "this real thread";
 * debugCounts() is process-wide (shared-counts.ts). The cross-isolate state
 * is the mm_cid pool (shared-mmcid.ts), so live workers get distinct mm_cid
 * values below min(CPUs, live threads), and the section locks and fence
 * generations (shared-sections.ts). Loading this module creates none of
 * it: the first backend an isolate creates adopts what the isolate inherited
 * through worker_threads environment data, or creates and publishes it for
 * the workers started from then on. A structure's own operations serialise on
 * the locks in its buffer, so they are exact whatever the order in which
 * threads loaded the package; for the rest (distinct mm_cid values, the
 * process-wide counts), create the structures (or make any rseq call) in the
 * main thread before starting the workers that share them.
 */
import * as os from 'node:os';
import * as wt from 'node:worker_threads';
import type { AreaSource, Backend, BoundRegion, IndexMode, OpCounts, OpStatus, RegionKind, SyscallFailure, ThreadField } from '../src/contract/backend.js';
import type { SliceCallResult, SliceCalls } from '../src/contract/backend.js';
import { readLayout } from '../src/contract/layout.js';
import { lockToken, SharedSectionLocks } from '../src/contract/section-locks.js';
import { sectionRegion } from '../src/contract/section-region.js';
import { FIELD_OFFSET, OP_ABORTED, OP_MOVED } from '../src/contract/backend.js';
import { errnoInfo as explainedErrno } from '../src/contract/errors.js';
import { addonAreaLayout } from '../src/contract/abi.js';
import { fieldUnavailable } from '../src/contract/fields.js';
import { checkFenceCpu, checkSectionArgs } from '../src/contract/op-args.js';
import type { CopyOperands, OpName, SectionArgs, WordsOperand } from '../src/contract/sections.js';
import type {
  AuxvEntry,
  DebugCounts,
  ErrnoInfo,
  ErrnoTable,
  FieldAvailability,
  KernelInfo,
  LibcInfo,
  RegistrationInfo,
  SelftestChecks,
} from '../src/contract/types.js';
import { ERRNO, type ErrnoName } from './kernel/errno.js';
import { Machine } from './kernel/kernel.js';
import type { SimMemory } from './kernel/memory.js';
import { MEMBARRIER_CMD, MEMBARRIER_CMD_FLAG_CPU, RSEQ_FIELD, RSEQ_FLAG_UNREGISTER, RSEQ_SIG, type Arch } from './kernel/profiles.js';
import { checkMode, type SectionFields, type SectionName } from './kernel/section-args.js';
import { execute, interrupt, type SectionResult } from './kernel/section-exec.js';
import { installSections } from './kernel/section-layout.js';
import type { SectionMemory } from './kernel/section-memory.js';
import { simulatedSelftest } from './kernel/selftest.js';
import { FatalSignalError, type SimThread } from './kernel/thread.js';
import { PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_GET, PR_RSEQ_SLICE_EXTENSION_SET, PR_RSEQ_SLICE_EXT_ENABLE, SLICE_GRANTED } from './kernel/slice.js';
import { SharedMmCidPool } from './shared-mmcid.js';
import { AREAS, REGISTRATIONS, THREADS, releaseOnExit, sharedDebugCounts } from './shared-counts.js';
import { processSectionLocks } from './shared-sections.js';

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
  /** Share the per-CPU section locks with other isolates of this process (default true). */
  shareLocks?: boolean;
  /** Preempt every N-th section attempt of the thread (default RSEQ_SIM_ABORT_RATE, else 0: never). */
  abortRate?: number;
  /** The `rseq_debug` boot option of the simulated kernel (6.19+). */
  rseqDebug?: boolean;
}

/** RSEQ_SIM_ABORT_RATE as a non-negative integer; anything else is 0. */
export function abortRateFromEnv(value: string | undefined = process.env.RSEQ_SIM_ABORT_RATE): number {
  const v = (value ?? '').trim();
  return /^\d+$/.test(v) ? Math.min(Number(v), 2 ** 31 - 1) : 0;
}

/**
 * The host adapter of the step programs: the rseq area in simulated memory,
 * the operands in the caller's typed arrays. Word accesses are Atomics
 * (sequentially consistent, visible to every thread); bytes are plain.
 */
function hostMemory(memory: SimMemory, area: bigint, words: BigInt64Array, dst?: Uint8Array, src?: Uint8Array): SectionMemory {
  return {
    loadArea32: (offset) => memory.readU32(area + BigInt(offset)),
    storeArea64: (offset, value) => memory.writeU64(area + BigInt(offset), value),
    loadWord: (index) => Atomics.load(words, index),
    storeWord: (index, value) => {
      Atomics.store(words, index, value);
    },
    loadSrcByte: (index) => (src as Uint8Array)[index] as number,
    storeDstByte: (index, value) => {
      (dst as Uint8Array)[index] = value;
    },
  };
}

/** The simulator backend, with access to its model for tests and crosschecks. */
export interface SimulatorBackend extends Backend {
  readonly kind: 'simulator';
  readonly arch: Arch;
  /** The simulated machine behind this backend (this isolate's). */
  readonly machine: Machine;
  /** The simulated thread of the calling JavaScript thread (created on first use). */
  currentThread(): SimThread;
  /** Take one more reference on the calling thread's simulated registration (the model's reference count). */
  acquire(): RegistrationInfo;
  /** Drop one reference; returns the references the thread still holds. */
  release(): number;
}

export const DEFAULT_KERNEL = '6.19';
export const DEFAULT_LIBC = 'glibc-2.41';

/** RSEQ_SIM_ARCH (x86_64 or aarch64; Node's x64 and arm64 too), or null when unset or anything else. */
export function simArchFromEnv(value: string | undefined = process.env.RSEQ_SIM_ARCH): Arch | null {
  const v = (value ?? '').trim();
  if (v === 'x86_64' || v === 'x64') return 'x86_64';
  if (v === 'aarch64' || v === 'arm64') return 'aarch64';
  return null;
}

export function hostArch(): Arch {
  if (process.arch === 'arm64') return 'aarch64';
  return 'x86_64';
}

function hostCpus(): number {
  const osWithParallelism = os as typeof os & { availableParallelism?: () => number };
  const n = typeof osWithParallelism.availableParallelism === 'function' ? osWithParallelism.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(4096, n || 1));
}

/** An errno of the simulated kernel with the package's sentence (src/contract/errors.ts), as the native backend reports it. */
function errnoInfo(op: string, errno: ErrnoName): ErrnoInfo {
  return explainedErrno(op, errno, ERRNO[errno]);
}

export function createSimulatorBackend(options: SimulatorBackendOptions = {}): SimulatorBackend {
  const arch: Arch = options.arch ?? simArchFromEnv() ?? hostArch();
  const cpus = options.cpus ?? hostCpus();
  const pid = process.pid;
  const share = options.shareMmCid ?? true;
  const pool = share ? SharedMmCidPool.forCpus(cpus) : undefined;
  const processLocks = processSectionLocks(cpus, options.shareLocks ?? true);
  const abortRate = options.abortRate ?? abortRateFromEnv();
  const machine = new Machine({
    rseqDebug: options.rseqDebug ?? false,
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
  /** Registrations, areas and threads of the whole process (shared-counts.ts). */
  const counts = sharedDebugCounts(share);
  /** References: the thread counts while it holds at least one. */
  const addRef = (): void => {
    if (refs++ === 0) Atomics.add(counts, THREADS, 1);
  };
  const dropRef = (): void => {
    if (--refs === 0) Atomics.sub(counts, THREADS, 1);
  };
  const ops: OpCounts = { aborts: 0, moved: 0, attempts: 0 };
  /** This real thread's lock token (tid + 1, unique in the process). */
  const token = lockToken(pid, wt.threadId);
  let injections = 0;
  let membarrierRegistered = false;
  let selftestVerdict: 'ok' | 'broken' | null = null;

  function needMmCid(mode: IndexMode): void {
    if (mode === 'mmcid' && !machine.fields().mmCid) throw fieldUnavailable('mmCid', machine.profile.featureSize);
  }

  /** The thread's id in `mode` as its area shows it (what a section compares with). */
  function areaId(reg: NonNullable<SimThread['registration']>, mode: IndexMode): number {
    return machine.memory.readU32(reg.addr + BigInt(mode === 'cpu' ? RSEQ_FIELD.cpuId : RSEQ_FIELD.mmCid));
  }

  /**
   * One attempt of a section on this thread, under the lock of its id, with
   * the host abort policy (see the module comment). The caller has checked
   * the arguments (checkSectionArgs), once.
   */
  function attempt<N extends SectionName>(
    name: N,
    args: SectionFields[N],
    words: BigInt64Array,
    dst?: Uint8Array,
    src?: Uint8Array,
    locks: SharedSectionLocks = processLocks,
  ): SectionResult {
    needMmCid(args.mode);
    const t = ensureThread();
    const reg = requireRegistration(t);
    if (machine.fatal) throw new FatalSignalError(machine.fatal);
    const code = installSections(machine);
    const mem = hostMemory(machine.memory, reg.addr, words, dst, src);
    ops.attempts++;
    const kind = args.mode;
    const slot = areaId(reg, kind) % cpus;
    const plan = abortRate > 0 && ops.attempts % abortRate === 0 ? injections++ % 4 : -1;
    let result: SectionResult;
    locks.acquire(kind, slot, token);
    try {
      const cpu = t.cpu;
      const generation = locks.generation(cpu);
      const run = execute(machine, t, name, args, mem);
      let inside = 0;
      let preempted = false;
      for (;;) {
        const it = run.next();
        if (it.done) {
          result = it.value;
          break;
        }
        const b = it.value;
        if (!b.inSection || preempted) continue;
        const planned = plan >= 0 && (inside === plan || b.beforeCommit);
        inside++;
        if (planned || locks.generation(cpu) !== generation || !locks.holds(kind, slot, token) || locks.preemptRequested(kind, slot, token)) {
          preempted = true;
          machine.preempt(t);
          interrupt(machine, t, 'preempt');
        }
      }
    } finally {
      locks.release(kind, slot, token);
      machine.userRegs(t).ip = code.callerIp;
    }
    if (result.status === OP_ABORTED) ops.aborts++;
    else if (result.status === OP_MOVED) ops.moved++;
    return result;
  }

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

  function sliceResult(t: SimThread, r: { ret: number; errno: ErrnoName | null }): SliceCallResult {
    afterSyscall(t);
    return r.errno === null ? { value: r.ret, failure: null } : { value: 0, failure: { errno: r.errno, code: ERRNO[r.errno] } };
  }

  /** slice_ctrl of the thread's area, or null without a registration. */
  function sliceCtrlAddr(t: SimThread): bigint | null {
    if (machine.fatal) throw new FatalSignalError(machine.fatal);
    const reg = t.registration;
    return reg ? reg.addr + BigInt(RSEQ_FIELD.sliceCtrl) : null;
  }

  const slice: SliceCalls = {
    prctl(op) {
      const t = ensureThread();
      const r =
        op === 'get'
          ? machine.slice.prctl(t, PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_GET)
          : machine.slice.prctl(t, PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_SET, op === 'enable' ? PR_RSEQ_SLICE_EXT_ENABLE : 0);
      return sliceResult(t, r);
    },
    yield() {
      const t = ensureThread();
      return sliceResult(t, machine.slice.sliceYield(t));
    },
    request() {
      const addr = sliceCtrlAddr(ensureThread());
      if (addr === null) return { errno: 'ENXIO', code: ERRNO.ENXIO };
      machine.memory.writeU8(addr, 1); // slice_ctrl.request: the byte user space owns
      return null;
    },
    end() {
      const t = ensureThread();
      const addr = sliceCtrlAddr(t);
      if (addr === null) return { value: 0, failure: { errno: 'ENXIO', code: ERRNO.ENXIO } };
      machine.memory.writeU8(addr, 0);
      if ((machine.memory.readU32(addr) & SLICE_GRANTED) === 0) return { value: 0, failure: null };
      return sliceResult(t, machine.slice.sliceYield(t));
    },
    ctrl() {
      const addr = sliceCtrlAddr(ensureThread());
      return addr === null ? 0 : machine.memory.readU32(addr);
    },
  };

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

    section<N extends OpName>(op: N, args: SectionArgs[N]): number {
      checkSectionArgs(op, args);
      const { words, dst, src } = args as Partial<CopyOperands> & WordsOperand;
      const result = attempt(op, args, words, dst, src);
      return op === 'listPop' ? result.value : result.status;
    },

    bindRegion(words: BigInt64Array, kind: RegionKind): BoundRegion {
      const layout = readLayout(kind, words.buffer);
      const mode = layout.mode;
      needMmCid(mode);
      // The structure's own section locks (src/contract/section-region.ts).
      const locks = SharedSectionLocks.within(words.buffer as SharedArrayBuffer, layout.locks * 8, layout.slots);
      const region = sectionRegion(words, layout, {
        currentId: () => backend.currentId(mode),
        section: (op, args) => {
          const { dst, src } = args as Partial<CopyOperands>;
          const fields = { ...args, mode } as unknown as SectionFields[typeof op];
          checkSectionArgs(op, fields, { words: words.length, dst: dst?.length, src: src?.length });
          const result = attempt(op, fields, words, dst, src, locks);
          return op === 'listPop' ? result.value : result.status;
        },
      });
      return {
        ...region,
        fence(cpu: number): SyscallFailure | null {
          const failed = backend.fence(cpu);
          if (failed === null) locks.fence(cpu < locks.cpus ? cpu : -1, token);
          return failed;
        },
      };
    },

    currentId(mode: IndexMode): number {
      checkMode(mode);
      needMmCid(mode);
      return areaId(requireRegistration(ensureThread()), mode);
    },

    fence(cpu: number): SyscallFailure | null {
      checkFenceCpu(cpu);
      const t = ensureThread();
      if (!membarrierRegistered) {
        const r = machine.membarrier(t, MEMBARRIER_CMD.REGISTER_PRIVATE_EXPEDITED_RSEQ);
        if (r.errno !== null) return { errno: r.errno, code: ERRNO[r.errno] };
        membarrierRegistered = true;
      }
      const r =
        cpu >= 0
          ? machine.membarrier(t, MEMBARRIER_CMD.PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU, cpu)
          : machine.membarrier(t, MEMBARRIER_CMD.PRIVATE_EXPEDITED_RSEQ);
      if (r.errno !== null) return { errno: r.errno, code: ERRNO[r.errno] };
      processLocks.fence(cpu, token);
      return null;
    },

    opCounts(): OpCounts {
      return { ...ops };
    },

    possibleCpus(): number[] {
      return Array.from({ length: cpus }, (_, i) => i);
    },

    slice,

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

    // The selftest on the model (fallback/kernel/selftest.ts): its own
    // simulated machine with this backend's profiles, arch and CPUs, so this
    // thread's simulated state is untouched. Deterministic; the budget is
    // not needed (the model runs a fixed number of steps).
    selftest(_budgetMs: number): { ms: number; checks: SelftestChecks } {
      const r = simulatedSelftest({ kernel: machine.profile, libc: machine.libcProfile, arch, cpus });
      const c = r.checks;
      const broken = [c.sameCpu, c.migration, c.signal, c.ids].some((x) => x.status === 'broken');
      if (broken) selftestVerdict = 'broken';
      else if (c.sameCpu.status === 'ok') selftestVerdict = 'ok';
      return r;
    },
    selftestVerdict(): 'ok' | 'broken' | null {
      return selftestVerdict;
    },
  };
  // A thread's references end with its isolate, as the native addon's do
  // with its environment: a finished worker leaves nothing counted.
  releaseOnExit(() => {
    while (refs > 0) {
      const before = refs;
      if (backend.release() >= before) break; // unregister failed: keep what is
    }
  });
  return backend;
}
