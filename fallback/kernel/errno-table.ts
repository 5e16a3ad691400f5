/**
 * The rseq syscall's errno table (ERRNO_CASES of src/contract/types.ts) run on
 * the simulated kernel, the same cases the native backend runs on the real one.
 */
import type { ErrnoCase, ErrnoCaseName, ErrnoTable } from '../../src/contract/types.js';
import { ERRNO_CASES } from '../../src/contract/types.js';
import { libcStart } from './libc.js';
import { RSEQ_FLAG_UNREGISTER, RSEQ_SIG } from './profiles.js';
import { sysRseq } from './registration.js';
import type { KernelState } from './state.js';
import { createThread, exitThread } from './threads.js';

/** BAD = 1 << 8, a flag no kernel defines (ERRNO_CASES). */
export const ERRNO_CASE_BAD_FLAG = 1 << 8;
/** KADDR: a 64-byte aligned kernel address (ERRNO_CASES). */
export const ERRNO_CASE_KADDR = 0xffffffffffffffc0n;

/**
 * ERRNO_CASES on a fresh thread (libc start applied), exactly as
 * src/contract/types.ts documents them: A and B are zeroed 64-byte areas aligned
 * to 64, SIG the architecture's signature, BAD = 1 << 8, KADDR =
 * 0xffffffffffffffc0. The thread exits afterwards.
 */
export function errnoTable(k: KernelState): ErrnoTable {
  const t = createThread(k, {});
  libcStart(k, t);
  const ownerAtStart: 'libc' | 'none' = t.registrationOwner === 'libc' ? 'libc' : 'none';
  const A = k.memory.map(64, 64, 'errno-table-A');
  const B = k.memory.map(64, 64, 'errno-table-B');
  const SIG = RSEQ_SIG[k.arch];
  const UNREG = RSEQ_FLAG_UNREGISTER;
  const BAD = ERRNO_CASE_BAD_FLAG;
  const KADDR = ERRNO_CASE_KADDR;
  const args: Record<ErrnoCaseName, readonly [bigint, number, number, number]> = {
    'probe-null': [0n, 0, 0, 0],
    'register-bad-flags': [A, 32, BAD, SIG],
    'register-len-31': [A, 31, 0, SIG],
    'register-misaligned': [A + 16n, 32, 0, SIG],
    'register-bad-address': [KADDR, 32, 0, SIG],
    'unregister-not-registered': [A, 32, UNREG, SIG],
    register: [A, 32, 0, SIG],
    'register-again-same': [A, 32, 0, SIG],
    'register-again-other-signature': [A, 32, 0, (SIG ^ 1) >>> 0],
    'register-again-other-area': [B, 32, 0, SIG],
    'register-again-other-length': [A, 64, 0, SIG],
    'unregister-extra-flags': [A, 32, UNREG | BAD, SIG],
    'unregister-other-area': [B, 32, UNREG, SIG],
    'unregister-other-length': [A, 64, UNREG, SIG],
    'unregister-wrong-signature': [A, 32, UNREG, (SIG ^ 1) >>> 0],
    unregister: [A, 32, UNREG, SIG],
    'register-len-64': [B, 64, 0, SIG],
    'unregister-len-64': [B, 64, UNREG, SIG],
  };
  const cases: ErrnoCase[] = [];
  try {
    for (const name of ERRNO_CASES) {
      const [addr, len, flags, sig] = args[name];
      const r = sysRseq(k, t, addr, len, flags, sig);
      cases.push({ case: name, ret: r.errno === null ? r.ret : -1, errno: r.errno });
    }
  } finally {
    exitThread(k, t);
    k.memory.unmap(A);
    k.memory.unmap(B);
  }
  return { ownerAtStart, signature: SIG, cases };
}
