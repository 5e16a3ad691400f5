/**
 * The rseq syscall's answers to ERRNO_CASES, derived from kernel/rseq.c: the
 * tests' one statement of the expected table for a modern kernel.
 */
import { ERRNO_CASES, type ErrnoCaseName } from '../../src/types.js';

export type ErrnoExpectation = Record<ErrnoCaseName, string | null>;

/** Linux 6.3 and later (AT_RSEQ_ALIGN 32), on a thread nobody registered. */
export const UNREGISTERED_6_3: ErrnoExpectation = {
  'probe-null': 'EINVAL',
  'register-bad-flags': 'EINVAL',
  'register-len-31': 'EINVAL',
  'register-misaligned': 'EINVAL',
  'register-bad-address': 'EFAULT',
  'unregister-not-registered': 'EINVAL',
  register: null,
  'register-again-same': 'EBUSY',
  'register-again-other-signature': 'EPERM',
  'register-again-other-area': 'EINVAL',
  'register-again-other-length': 'EINVAL',
  'unregister-extra-flags': 'EINVAL',
  'unregister-other-area': 'EINVAL',
  'unregister-other-length': 'EINVAL',
  'unregister-wrong-signature': 'EPERM',
  unregister: null,
  'register-len-64': null,
  'unregister-len-64': null,
};

/** On a thread libc registered, every case names another area: EINVAL throughout. */
export const LIBC_THREAD: ErrnoExpectation = Object.fromEntries(ERRNO_CASES.map((c) => [c, 'EINVAL'])) as ErrnoExpectation;
