/**
 * A fence that fails on the simulator: Linux 4.18 has no membarrier rseq
 * commands (they came in 5.10), so drain() and a pool steal throw before they
 * claim anything, and the structures stay usable.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST_ENTRY, ROOT, lastJson, runNode } from '../helpers/env.js';

describe('the simulated 4.18 kernel, without membarrier rseq commands', () => {
  it('drain() and a steal throw EINVAL and leave nothing claimed', () => {
    const r = lastJson<{ backend: string; cpus: number; drainError: { code: string; message: string }; stealError?: { code: string }; sizeAfter: number; popAfter: number[]; takenAfter: number[] }>(
      runNode([path.join(ROOT, 'test', 'helpers', 'fence-fails.cjs'), DIST_ENTRY], { RSEQ_BACKEND: 'simulator', RSEQ_SIM_KERNEL: '4.18' }),
    );
    expect(r.backend).toBe('simulator');
    expect(r.drainError).toMatchObject({ code: 'ERR_RSEQ_SYSCALL' });
    expect(r.drainError.message).toContain('EINVAL');
    expect(r.sizeAfter).toBe(2);
    expect(r.popAfter).toEqual(Array(8).fill(2));
    if (r.cpus > 1) expect(r.stealError).toMatchObject({ code: 'ERR_RSEQ_SYSCALL' });
    expect(r.takenAfter).toEqual([0, 1]);
  });
});
