/**
 * The simulator backend's per-CPU critical sections on the host: section(),
 * bindRegion(), currentId(), fence() and opCounts(), and hostMemory, the
 * adapter that runs the step programs on the caller's typed arrays.
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
 */
import * as wt from 'node:worker_threads';
import type { Backend, BoundRegion, IndexMode, OpCounts, RegionKind, SyscallFailure } from '../src/contract/backend.js';
import { readLayout } from '../src/contract/layout.js';
import { lockToken, SharedSectionLocks } from '../src/contract/section-locks.js';
import { sectionRegion } from '../src/contract/section-region.js';
import { OP_ABORTED, OP_MOVED } from '../src/contract/backend.js';
import { fieldUnavailable } from '../src/contract/fields.js';
import { checkFenceCpu, checkSectionArgs } from '../src/contract/op-args.js';
import type { CopyOperands, OpName, SectionArgs, WordsOperand } from '../src/contract/sections.js';
import { ERRNO } from './kernel/errno.js';
import type { SimMemory } from './kernel/memory.js';
import { MEMBARRIER_CMD, MEMBARRIER_CMD_FLAG_CPU, RSEQ_FIELD } from './kernel/profiles.js';
import { checkMode, type SectionFields, type SectionName } from './kernel/section-args.js';
import { execute, interrupt, type SectionResult } from './kernel/section-exec.js';
import { installSections } from './kernel/section-layout.js';
import type { SectionMemory } from './kernel/section-memory.js';
import { FatalSignalError, type SimThread } from './kernel/thread.js';
import type { SimulatorHost } from './host-options.js';
import type { HostThread } from './host-thread.js';

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

/** The backend's section methods. */
export type HostSections = Pick<Backend, 'section' | 'bindRegion' | 'currentId' | 'fence' | 'opCounts'>;

/**
 * The section methods of the calling thread (`thread`). A bound region
 * reaches currentId and fence through `backend`, the backend object they end
 * up in.
 */
export function hostSections(host: SimulatorHost, thread: HostThread, backend: () => Pick<Backend, 'currentId' | 'fence'>): HostSections {
  const { cpus, pid, processLocks, abortRate, machine } = host;
  const { ensureThread, requireRegistration } = thread;
  const ops: OpCounts = { aborts: 0, moved: 0, attempts: 0 };
  /** This real thread's lock token (tid + 1, unique in the process). */
  const token = lockToken(pid, wt.threadId);
  let injections = 0;
  let membarrierRegistered = false;

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

  return {
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
        currentId: () => backend().currentId(mode),
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
          const failed = backend().fence(cpu);
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
  };
}
