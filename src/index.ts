/**
 * rseq: Linux restartable sequences for Node.js.
 *
 * `rseq` is the one public API; it runs on the native addon where rseq works
 * and on the simulator elsewhere (see `rseq.backend` and `rseq.fallbackReason`).
 * Every JavaScript thread (main or worker) has its own selection and its own
 * rseq area.
 */
import type { RseqAreaView } from './area.js';
import type { OpCounts } from './contract/backend.js';
import { RseqError, throwIfFailed } from './contract/errors.js';
import { runSelftest, sectionSafety } from './selftest.js';
import { sliceExtension, sliceStatus, type SliceExtension } from './slice.js';
import { area, backend, current, field, threadFields } from './thread.js';
import type { AuxvEntry, BackendKind, DebugCounts, ErrnoTable, FieldAvailability, ProbeReport, RegistrationInfo, SelftestOptions, SelftestReport } from './contract/types.js';

export { RseqError } from './contract/errors.js';
export type { RseqErrorCode } from './contract/errors.js';
export type { RseqAreaView } from './area.js';
export type { SliceExtension } from './slice.js';
export { ERRNO_CASES } from './contract/types.js';
export { KNOWN_BROKEN_RELEASES, knownBroken } from './selftest.js';
export type { KnownBrokenRelease } from './selftest.js';
export type { IndexMode, OpCounts } from './contract/backend.js';
export { PerCpuCounter, type PerCpuCounterOptions } from './percpu/counter.js';
export { PerCpuBuffer, type PerCpuBufferOptions } from './percpu/buffer.js';
export { PerCpuPool, type PerCpuPoolOptions } from './percpu/pool.js';
export type * from './contract/types.js';

/** CPU_SETSIZE of glibc: the CPUs a cpu_set_t can name. */
const CPU_SETSIZE = 1024;

function checkCpus(cpus: unknown): number[] {
  if (!Array.isArray(cpus)) throw new TypeError('setAffinity takes an array of CPU numbers');
  if (cpus.length === 0) throw new RangeError('setAffinity needs at least one CPU');
  for (const c of cpus as unknown[]) {
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= CPU_SETSIZE) {
      throw new RangeError(`setAffinity: CPU ${String(c)} is not an integer in [0, ${CPU_SETSIZE})`);
    }
  }
  return cpus as number[];
}

function probe(): ProbeReport {
  const { selection } = current();
  const b = selection.backend;
  const view = area();
  return {
    backend: b.kind,
    fallbackReason: selection.fallbackReason,
    simulated: b.kind === 'simulator',
    arch: b.arch,
    platform: process.platform,
    kernel: b.kernel(),
    libc: b.libc(),
    registration: b.registration(),
    fields: b.fields(),
    thread: threadFields(),
    area: { access: view.access, byteLength: view.byteLength, reason: view.reason },
    sliceExtension: sliceStatus(b),
    addon: { ...selection.addon },
    host: selection.host,
    criticalSections: sectionSafety(b),
  };
}

export interface Rseq {
  /** Which backend serves this thread: `native` (the addon) or `simulator`. */
  readonly backend: BackendKind;
  /** Why the native backend is not used, or null when it is. */
  readonly fallbackReason: string | null;
  /** Everything the package knows about this kernel, libc and thread. */
  probe(): ProbeReport;
  /** The ELF auxiliary vector (/proc/self/auxv), with names. */
  auxv(): AuxvEntry[];
  /** Which struct rseq fields the kernel keeps up to date. */
  fields(): FieldAvailability;
  /** The calling thread's registration. */
  registration(): RegistrationInfo;
  /** cpu_id of the calling thread (a backend call; `area().cpuId` is a plain load). */
  cpuId(): number;
  cpuIdStart(): number;
  /** node_id; throws ERR_RSEQ_FIELD_UNAVAILABLE where the kernel does not publish it. */
  nodeId(): number;
  /** mm_cid; throws ERR_RSEQ_FIELD_UNAVAILABLE where the kernel does not publish it. */
  mmCid(): number;
  /** A live read-only view of the calling thread's struct rseq. */
  area(): RseqAreaView;
  /** The rseq syscall's errno table, run on a fresh thread (see ERRNO_CASES). */
  errnoTable(): ErrnoTable;
  /** Pin the calling thread to these CPUs (sched_setaffinity). */
  setAffinity(cpus: readonly number[]): void;
  /** The CPUs the calling thread may run on. */
  getAffinity(): number[];
  /** sched_getcpu(), independent of the rseq area. */
  schedGetcpu(): number;
  /** Registration bookkeeping of the whole process (leak checks). */
  debugCounts(): DebugCounts;
  /**
   * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ): when it returns, every
   * critical section that was running on another thread has committed or
   * aborted. With `cpu`, only that CPU's (MEMBARRIER_CMD_FLAG_CPU).
   */
  fence(cpu?: number): void;
  /** This thread's critical-section counts: attempts, kernel aborts, id changes. */
  opCounts(): OpCounts;
  /** CPU ids the kernel may ever use (/sys/devices/system/cpu/possible). */
  possibleCpus(): number[];
  /**
   * The time-slice extension (Linux 7.0) of the calling thread: enable() once,
   * then request() ... end() (or run(fn)) around a short region.
   */
  readonly sliceExtension: SliceExtension;
  /**
   * An empirical check that this kernel keeps the guarantees the critical
   * sections rely on (same-CPU preemption, migration and signals abort a
   * section; the ids track the CPU), within about `budgetMs` (default 2000).
   * A `broken` verdict makes the package stop running critical sections.
   */
  selftest(options?: SelftestOptions): SelftestReport;
}

export const rseq: Rseq = {
  get backend() {
    return backend().kind;
  },
  get fallbackReason() {
    return current().selection.fallbackReason;
  },
  probe,
  auxv: () => backend().auxv(),
  fields: () => backend().fields(),
  registration: () => backend().registration(),
  cpuId: () => field('cpuId'),
  cpuIdStart: () => field('cpuIdStart'),
  nodeId: () => field('nodeId'),
  mmCid: () => field('mmCid'),
  area,
  errnoTable: () => backend().errnoTable(),
  setAffinity: (cpus) => {
    throwIfFailed(backend().setAffinity(checkCpus(cpus)), 'sched_setaffinity', 'rseq.setAffinity');
  },
  getAffinity: () => backend().getAffinity(),
  schedGetcpu: () => backend().schedGetcpu(),
  debugCounts: () => backend().debugCounts(),
  fence: (cpu) => {
    if (cpu !== undefined && (!Number.isInteger(cpu) || cpu < 0 || cpu >= CPU_SETSIZE)) {
      throw new RangeError(`fence: CPU ${String(cpu)} is not an integer in [0, ${CPU_SETSIZE})`);
    }
    const safety = sectionSafety(backend());
    if (!safety.safe) {
      throw new RseqError('ERR_RSEQ_SECTIONS_UNSAFE', `rseq.fence: the package runs no critical section on this kernel, so there is none to fence: ${safety.reason ?? ''}`);
    }
    throwIfFailed(backend().fence(cpu ?? -1), 'membarrier', 'rseq.fence');
  },
  opCounts: () => backend().opCounts(),
  possibleCpus: () => backend().possibleCpus(),
  sliceExtension,
  selftest: (options) => runSelftest(backend(), options),
};

export default rseq;
