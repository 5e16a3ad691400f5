/**
 * Linux errno numbers (include/uapi/asm-generic/errno-base.h and errno.h,
 * identical on x86_64 and aarch64) for the errors the simulated kernel
 * returns, plus ENOTSUPP (524), which is kernel-internal but is what
 * prctl(PR_RSEQ_SLICE_EXTENSION) leaks to user space on 7.0.
 */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  ENXIO: 6,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EINVAL: 22,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
  ENOTSUPP: 524,
} as const;

export type ErrnoName = keyof typeof ERRNO;

/**
 * What a simulated syscall returned: `ret` is the return value as user space
 * sees it (-1 on error, as libc's syscall() reports it) and `errno` the error
 * name, or null on success.
 */
export interface SyscallResult {
  ret: number;
  errno: ErrnoName | null;
}

export function ok(ret = 0): SyscallResult {
  return { ret, errno: null };
}

export function fail(errno: ErrnoName): SyscallResult {
  return { ret: -1, errno };
}
