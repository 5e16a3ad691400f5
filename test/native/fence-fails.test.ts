/**
 * A fence that fails (membarrier denied by a seccomp filter, as on kernels
 * before 5.10 that lack its rseq commands): drain() and a pool steal throw
 * the errno before they claim anything, and the structures stay usable.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST_ENTRY, ROOT, compileC, lastJson, skipNative } from '../helpers/env.js';

interface Report {
  backend: string;
  cpus: number;
  drainError: { code: string; message: string } | null;
  secondDrainError: { code: string; message: string } | null;
  stealError?: { code: string; message: string } | null;
  sizeAfter: number;
  popAfter: number[];
  sizeAfterPush: number;
  takenAfter: number[];
}

describe.skipIf(skipNative)('where membarrier is denied', () => {
  const launcher = skipNative ? '' : compileC('seccomp-exec.c');
  for (const errno of ['EPERM', 'ENOSYS'] as const) {
    it(`${errno}: drain() and a steal throw it and leave nothing claimed`, () => {
      const res = spawnSync(launcher, [`${errno}:membarrier`, process.execPath, path.join(ROOT, 'test', 'helpers', 'fence-fails.cjs'), DIST_ENTRY], {
        env: { ...process.env, RSEQ_BACKEND: 'native' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      const r = lastJson<Report>(res);
      expect(r.backend).toBe('native');
      expect(r.drainError).toMatchObject({ code: 'ERR_RSEQ_SYSCALL' });
      expect(r.drainError!.message).toContain(errno);
      expect(r.sizeAfter).toBe(2);
      expect(r.popAfter).toEqual(Array(8).fill(2));
      expect(r.sizeAfterPush).toBe(2);
      expect(r.secondDrainError).toMatchObject({ code: 'ERR_RSEQ_SYSCALL' });
      if (r.cpus > 1) expect(r.stealError).toMatchObject({ code: 'ERR_RSEQ_SYSCALL' });
      expect(r.takenAfter).toEqual([0, 1]);
    });
  }
});
