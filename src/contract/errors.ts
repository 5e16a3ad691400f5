/**
 * Errors and the sentences that explain an errno. Both backends report errnos
 * as the kernel (or the simulated kernel) returned them; the words are made
 * here, once, so the two backends say the same thing.
 */
import type { ErrnoInfo } from './types.js';

export type RseqErrorCode =
  | 'ERR_RSEQ_NATIVE_UNAVAILABLE'
  | 'ERR_RSEQ_FIELD_UNAVAILABLE'
  | 'ERR_RSEQ_BAD_BACKEND'
  | 'ERR_RSEQ_SYSCALL'
  | 'ERR_RSEQ_BUFFER_FULL'
  | 'ERR_RSEQ_POOL_NOT_TAKEN'
  | 'ERR_RSEQ_SLICE_NOT_ENABLED'
  | 'ERR_RSEQ_CORRUPT'
  | 'ERR_RSEQ_SECTIONS_UNSAFE'
  | 'ERR_RSEQ_METRICS_CARDINALITY'
  | 'ERR_RSEQ_METRICS_FULL'
  | 'ERR_RSEQ_METRICS_CONFLICT';

/** An error raised by this package. `errno` is set when a system call failed. */
export class RseqError extends Error {
  readonly code: RseqErrorCode;
  readonly errno: ErrnoInfo | null;
  constructor(code: RseqErrorCode, message: string, errno: ErrnoInfo | null = null) {
    super(message);
    this.name = 'RseqError';
    this.code = code;
    this.errno = errno;
  }
}

const SENTENCES: Record<string, Record<string, string>> = {
  'rseq-probe': {
    ENOSYS: 'this kernel has no rseq system call (ENOSYS): rseq needs Linux 4.18 or later, and some sandboxes hide it',
    EPERM: 'a seccomp filter denies the rseq system call (EPERM), as containers and sandboxes may do',
  },
  register: {
    EINVAL:
      'the kernel refused to register the rseq area (EINVAL): the thread already has another registration, or the length or alignment is not one this kernel accepts',
    EPERM:
      'the kernel refused to register the rseq area (EPERM): the thread is registered with another signature, or a seccomp filter denies rseq',
    EBUSY: 'the rseq area is already registered for this thread (EBUSY)',
    EFAULT: 'the kernel refused the rseq area (EFAULT): its address is not valid user memory',
    ENOSYS: 'this kernel has no rseq system call (ENOSYS): rseq needs Linux 4.18 or later, and some sandboxes hide it',
    ENOMEM: 'no memory could be allocated for the rseq area (ENOMEM)',
  },
  unregister: {
    EINVAL: 'the kernel refused to unregister (EINVAL): the thread is not registered with this area and length',
    EPERM: 'the kernel refused to unregister (EPERM): the signature differs from the registered one',
  },
  sched_setaffinity: {
    EINVAL: 'none of the CPUs given is one this thread may run on (EINVAL): see the CPUs allowed by the cgroup or cpuset',
    EPERM: 'the thread may not change its CPU affinity (EPERM)',
  },
  'slice-extension': {
    EINVAL:
      'this kernel has no rseq time-slice extension (prctl PR_RSEQ_SLICE_EXTENSION answered EINVAL): it needs Linux 7.0 or later',
    ENOTSUPP: 'the rseq time-slice extension is turned off on this kernel (ENOTSUPP): the rseq_slice_ext= boot option disabled it',
    ENXIO:
      'the kernel has no rseq area of this thread to extend time slices with (ENXIO): the thread is not registered, or registered with the legacy 32-byte length',
    EPERM: 'a seccomp filter denies the prctl that enables the rseq time-slice extension (EPERM)',
  },
  rseq_slice_yield: {
    ENOSYS: 'this kernel has no rseq_slice_yield system call (ENOSYS): the time-slice extension needs Linux 7.0 or later',
    EPERM: 'a seccomp filter denies rseq_slice_yield (EPERM)',
  },
  membarrier: {
    EINVAL: 'this kernel has no membarrier support for rseq (EINVAL): it needs Linux 5.10 or later',
    EPERM: 'the process has not registered for rseq membarriers, or a seccomp filter denies membarrier (EPERM)',
    ENOSYS: 'this kernel has no membarrier system call (ENOSYS)',
  },
};

/** A sentence for an errno returned by `op`. */
export function explainErrno(op: string, errno: string): string {
  return SENTENCES[op]?.[errno] ?? `the ${op} call failed with ${errno}`;
}

export function errnoInfo(op: string, errno: string, code: number): ErrnoInfo {
  return { errno, code, op, message: explainErrno(op, errno) };
}

/** Raises a failed system call as an RseqError: `${where}: ${sentence}`. */
export function throwIfFailed(failed: { errno: string; code: number } | null, op: string, where: string): void {
  if (failed === null) return;
  const info = errnoInfo(op, failed.errno, failed.code);
  throw new RseqError('ERR_RSEQ_SYSCALL', `${where}: ${info.message}`, info);
}
