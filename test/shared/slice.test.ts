/**
 * The time-slice extension (`rseq.sliceExtension`) on every backend: what the
 * kernel (or the simulated one) answers, as the probe reports it and as the
 * API raises it. Before Linux 7.0 the prctl answers EINVAL and
 * rseq_slice_yield ENOSYS, on this machine's 6.18 as on the simulator's 6.19
 * default; the 7.0 profile (project simulator-v2) offers it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { RseqError, rseq } from '../../src/index.js';
import { project, skipShared } from '../helpers/env.js';

function atLeast7(release: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m !== null && Number(m[1]) >= 7;
}

describe.skipIf(skipShared)(`time-slice extension on the ${project} backend`, () => {
  afterAll(() => {
    if (rseq.sliceExtension.enabled()) rseq.sliceExtension.disable();
  });

  it('the probe and status() report what the kernel answered', () => {
    const p = rseq.probe();
    const s = rseq.sliceExtension.status();
    expect(s).toEqual(p.sliceExtension);
    if (!atLeast7(p.kernel.release)) {
      expect(s.available).toBe(false);
      expect(s.enabled).toBe(false);
      expect(s.error?.errno).toBe('EINVAL');
      expect(s.error?.op).toBe('slice-extension');
      expect(s.error?.message).toMatch(/Linux 7\.0 or later/);
      expect(s.yieldErrno).toBe('ENOSYS');
    } else {
      expect(s.yieldErrno).toBe('none');
      if (!s.available) expect(['ENOTSUPP', 'ENXIO']).toContain(s.error?.errno);
    }
  });

  it('enable() and yield() raise the errno plainly where the kernel has no extension', () => {
    const s = rseq.sliceExtension.status();
    if (s.available) return;
    let err: unknown;
    try {
      rseq.sliceExtension.enable();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RseqError);
    const e = err as RseqError;
    expect(e.code).toBe('ERR_RSEQ_SYSCALL');
    expect(e.errno).toEqual(s.error);
    expect(e.message).toBe(`rseq.sliceExtension.enable: ${s.error?.message}`);
    expect(rseq.sliceExtension.enabled()).toBe(false);
    expect(() => rseq.sliceExtension.request()).toThrow(expect.objectContaining({ code: 'ERR_RSEQ_SLICE_NOT_ENABLED' }));
    if (s.yieldErrno !== 'none') {
      expect(() => rseq.sliceExtension.yield()).toThrow(expect.objectContaining({ code: 'ERR_RSEQ_SYSCALL', errno: expect.objectContaining({ errno: s.yieldErrno, op: 'rseq_slice_yield' }) }));
    }
  });

  it('where offered: enable, a requested region, end, disable', () => {
    const s = rseq.sliceExtension.status();
    if (!s.available) return;
    rseq.sliceExtension.enable();
    expect(rseq.sliceExtension.enabled()).toBe(true);
    expect(rseq.probe().sliceExtension.enabled).toBe(true);
    expect(rseq.sliceExtension.run(() => 6 * 7)).toBe(42);
    expect(rseq.sliceExtension.granted()).toBe(false);
    rseq.sliceExtension.request();
    const yielded = rseq.sliceExtension.end();
    expect(typeof yielded).toBe('boolean');
    expect(rseq.sliceExtension.granted()).toBe(false);
    expect(rseq.sliceExtension.yield()).toBe(false); // nothing granted now
    rseq.sliceExtension.disable();
    expect(rseq.sliceExtension.enabled()).toBe(false);
    expect(() => rseq.sliceExtension.request()).toThrow(expect.objectContaining({ code: 'ERR_RSEQ_SLICE_NOT_ENABLED' }));
  });

  it('run() ends the request also when the region throws', () => {
    if (!rseq.sliceExtension.status().available) return;
    rseq.sliceExtension.enable();
    expect(() =>
      rseq.sliceExtension.run(() => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(rseq.sliceExtension.granted()).toBe(false);
    rseq.sliceExtension.disable();
  });
});
