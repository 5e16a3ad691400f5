/**
 * The rseq syscall's answers to ERRNO_CASES that the tests expect: the
 * simulator's profile of the kernel the backend runs on (src/errno-check.ts),
 * never a fixed table. On the native backend that is the running kernel
 * (its release, with the auxv's feature size and alignment), so the suite
 * holds on 5.15 and 6.1 as on 6.3 and later; on the simulator backend it is
 * the simulated kernel (RSEQ_SIM_KERNEL or the default). The simulator's
 * profiles themselves are checked against tables derived from kernel/rseq.c
 * in test/simulator/errno-table.test.ts.
 */
import { expectedErrnoTables, type ErrnoExpectation } from '../../src/errno-check.js';
import type { KernelInfo } from '../../src/contract/types.js';

export type { ErrnoExpectation } from '../../src/errno-check.js';

/** The expected table for a scratch thread registered by libc or by nobody, on the kernel `kernel` describes. */
export function expectedErrno(kernel: Pick<KernelInfo, 'release' | 'featureSize' | 'align'>, owner: 'libc' | 'none'): ErrnoExpectation {
  const t = expectedErrnoTables({ release: kernel.release, featureSize: kernel.featureSize, align: kernel.align });
  return owner === 'libc' ? t.libc : t.none;
}
