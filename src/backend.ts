/**
 * The backend interface. `src/` is written once against it; the native addon
 * (`src/native.ts` over `native/`) and the simulator (`fallback/`) implement it.
 * Everything a backend returns must be identical in shape, and in value where
 * the simulated profile matches the host.
 */
import type {
  AreaAccess,
  AuxvEntry,
  BackendKind,
  DebugCounts,
  ErrnoTable,
  FieldAvailability,
  KernelInfo,
  LibcInfo,
  RegistrationInfo,
} from './types.js';

/** The four thread fields read through `readField`. */
export type ThreadField = 'cpuIdStart' | 'cpuId' | 'nodeId' | 'mmCid';

/** Byte offsets of the fields in `struct rseq` (include/uapi/linux/rseq.h). */
export const FIELD_OFFSET: Readonly<Record<ThreadField | 'sliceCtrl', number>> = {
  cpuIdStart: 0,
  cpuId: 4,
  nodeId: 20,
  mmCid: 24,
  sliceCtrl: 28,
};

/**
 * Where the calling thread's `struct rseq` can be read from JavaScript.
 * `buffer`: memory the kernel (or the simulated kernel) writes, read with plain
 * loads. `calls`: no such memory can be handed out (the runtime forbids external
 * buffers), so each read is a call.
 */
export type AreaSource =
  | { kind: 'buffer'; access: AreaAccess; buffer: ArrayBuffer | SharedArrayBuffer; byteOffset: number; byteLength: number }
  | { kind: 'calls'; access: AreaAccess; byteLength: number; reason: string; read(field: ThreadField): number };

/** A failed system call: errno name and Linux errno number. */
export interface SyscallFailure {
  errno: string;
  code: number;
}

export interface Backend {
  readonly kind: BackendKind;
  readonly arch: string;
  kernel(): KernelInfo;
  libc(): LibcInfo;
  /** The calling thread's registration (acquired when the backend was created on this thread). */
  registration(): RegistrationInfo;
  /** Field liveness, from the (real or simulated) AT_RSEQ_FEATURE_SIZE. */
  fields(): FieldAvailability;
  auxv(): AuxvEntry[];
  /** The raw u32 value of a field of the calling thread's area; liveness is checked by the caller. */
  readField(field: ThreadField): number;
  areaSource(): AreaSource;
  /** Run ERRNO_CASES on a fresh thread and report what the (real or simulated) kernel answered. */
  errnoTable(): ErrnoTable;
  /**
   * Pin the calling thread to these CPUs (sched_setaffinity on the calling
   * thread). Input is already checked by the caller. Returns null on success or
   * the errno the (real or simulated) kernel gave; the caller raises the error.
   */
  setAffinity(cpus: readonly number[]): SyscallFailure | null;
  getAffinity(): number[];
  /** sched_getcpu(): the libc's (or simulated) view of the current CPU, independent of the rseq area. */
  schedGetcpu(): number;
  debugCounts(): DebugCounts;
  /** Take one more reference on the calling thread's registration (leak tests). */
  acquire(): RegistrationInfo;
  /** Drop one reference; returns the references the thread still holds. */
  release(): number;
}
