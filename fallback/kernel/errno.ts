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

const BY_CODE: ReadonlyMap<number, ErrnoName> = new Map(
  (Object.keys(ERRNO) as ErrnoName[]).map((name) => [ERRNO[name], name] as const),
);

/** The name of a Linux errno number, or null when the model does not know it. */
export function errnoName(code: number): ErrnoName | null {
  return BY_CODE.get(code) ?? null;
}

/** The number of a Linux errno name. */
export function errnoCode(name: ErrnoName): number {
  return ERRNO[name];
}

export function isErrnoName(name: string): name is ErrnoName {
  return Object.prototype.hasOwnProperty.call(ERRNO, name);
}

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

/** Short descriptions (strerror-like) used in the simulator's own messages. */
export const ERRNO_TEXT: Readonly<Record<ErrnoName, string>> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EINTR: 'Interrupted system call',
  ENXIO: 'No such device or address',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy',
  EINVAL: 'Invalid argument',
  ENOSYS: 'Function not implemented',
  EOPNOTSUPP: 'Operation not supported',
  ENOTSUPP: 'Operation not supported (kernel-internal ENOTSUPP)',
};
