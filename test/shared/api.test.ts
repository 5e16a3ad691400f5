/**
 * The shared suite: the public API, run once per backend (see vitest.config.mts).
 * What it asserts must hold for the native addon on this machine and for the
 * simulator alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldsFromFeatureSize } from '../../src/contract/fields.js';
import { ERRNO_CASES, RseqError, rseq } from '../../src/index.js';
import type { ProbeReport } from '../../src/index.js';
import { expectedErrno } from '../helpers/errno-expected.js';
import { expectedBackend, project, skipShared } from '../helpers/env.js';

const SIGNATURE: Record<string, number> = { x86_64: 0x53053053, aarch64: 0xd428bc00 };

describe.skipIf(skipShared)(`public API on the ${project} backend`, () => {
  let p: ProbeReport;
  let originalAffinity: number[];
  beforeAll(() => {
    p = rseq.probe();
    originalAffinity = rseq.getAffinity();
  });
  afterAll(() => {
    rseq.setAffinity(originalAffinity);
  });

  it('serves the backend this project asked for', () => {
    expect(rseq.backend).toBe(expectedBackend);
    expect(p.backend).toBe(expectedBackend);
    expect(p.simulated).toBe(expectedBackend === 'simulator');
    if (project === 'native') expect(rseq.fallbackReason).toBeNull();
    else if (project === 'simulator') expect(rseq.fallbackReason).toBe('RSEQ_BACKEND=simulator chose the simulator');
    else expect(rseq.fallbackReason).toMatch(/^the native addon could not be loaded from \/nonexistent\/rseq.node: /);
    expect(p.addon.loaded).toBe(project === 'native');
  });

  it('probe has the stable keys of the documented schema', () => {
    expect(Object.keys(p)).toEqual(
      expect.arrayContaining(['backend', 'fallbackReason', 'arch', 'kernel', 'libc', 'registration', 'fields', 'thread']),
    );
    expect(Object.keys(p.kernel).sort()).toEqual(['align', 'featureSize', 'membarrierCommands', 'membarrierRseq', 'release', 'syscall']);
    expect(Object.keys(p.libc).sort()).toEqual(['family', 'rseqFlags', 'rseqOffset', 'rseqSize', 'version']);
    expect(Object.keys(p.registration).sort()).toEqual(['error', 'length', 'owner', 'signature']);
    expect(Object.keys(p.fields).sort()).toEqual(['cpuId', 'cpuIdStart', 'mmCid', 'nodeId', 'sliceCtrl']);
    expect(Object.keys(p.thread).sort()).toEqual(['cpuId', 'cpuIdStart', 'mmCid', 'nodeId']);
    expect(Object.keys(p)).toContain('sliceExtension');
    expect(Object.keys(p.sliceExtension).sort()).toEqual(['available', 'enabled', 'error', 'yieldErrno']);
    expect(['x86_64', 'aarch64']).toContain(p.arch);
  });

  it('reports a working registration for this thread', () => {
    expect(p.kernel.syscall).toEqual({ available: true, probeErrno: 'EINVAL' });
    expect(['libc', 'addon']).toContain(p.registration.owner);
    expect(p.registration.error).toBeNull();
    expect(p.registration.length).toBeGreaterThanOrEqual(32);
    if (p.registration.owner === 'addon') expect(p.registration.signature).toBe(SIGNATURE[p.arch]);
    if (p.registration.owner === 'libc') expect(p.libc.rseqSize).toBeGreaterThan(0);
  });

  it('derives field liveness from the feature size, never from __rseq_size', () => {
    expect(p.fields).toEqual(fieldsFromFeatureSize(p.kernel.featureSize));
    expect(rseq.fields()).toEqual(p.fields);
    for (const f of ['cpuIdStart', 'cpuId', 'nodeId', 'mmCid'] as const) {
      expect(p.thread[f] === null).toBe(!p.fields[f]);
    }
  });

  it('auxv carries the rseq entries exactly when the kernel publishes them', () => {
    const auxv = rseq.auxv();
    const byName = new Map(auxv.map((e) => [e.name, e.value]));
    expect(byName.get('AT_PAGESZ')).toBeGreaterThan(0n);
    const fs = byName.get('AT_RSEQ_FEATURE_SIZE');
    const al = byName.get('AT_RSEQ_ALIGN');
    expect(fs === undefined ? null : Number(fs)).toBe(p.kernel.featureSize);
    expect(al === undefined ? null : Number(al)).toBe(p.kernel.align);
    for (const e of auxv) {
      expect(typeof e.value).toBe('bigint');
      expect(Number.isInteger(e.type)).toBe(true);
    }
    expect(auxv.find((e) => e.type === 27)?.name ?? 'AT_RSEQ_FEATURE_SIZE').toBe('AT_RSEQ_FEATURE_SIZE');
  });

  it('pinned to each allowed CPU in turn, every reading names that CPU', () => {
    const cpus = rseq.getAffinity();
    expect(cpus.length).toBeGreaterThan(0);
    const view = rseq.area();
    for (const cpu of cpus) {
      rseq.setAffinity([cpu]);
      expect(rseq.getAffinity()).toEqual([cpu]);
      expect(rseq.schedGetcpu()).toBe(cpu);
      expect(rseq.cpuId()).toBe(cpu);
      expect(rseq.cpuIdStart()).toBe(cpu);
      expect(view.cpuId).toBe(cpu);
      expect(view.cpuIdStart).toBe(cpu);
    }
  });

  it('the area view is one object per thread and agrees with the calls', () => {
    const view = rseq.area();
    expect(rseq.area()).toBe(view);
    expect(view.byteLength).toBeGreaterThanOrEqual(32);
    expect(view.cpuId).toBe(rseq.cpuId());
    if (p.fields.nodeId) expect(view.nodeId).toBe(rseq.nodeId());
    if (p.fields.mmCid) expect(view.mmCid).toBe(rseq.mmCid());
    expect(Object.getOwnPropertyDescriptor(Object.getPrototypeOf(view), 'cpuId')?.set).toBeUndefined();
  });

  it('mm_cid and node_id stay in their ranges', () => {
    if (p.fields.mmCid) {
      // mm_cid lies in [0, min(CPUs the process may use, threads of the process)).
      expect(rseq.mmCid()).toBeGreaterThanOrEqual(0);
      expect(rseq.mmCid()).toBeLessThan(originalAffinity.length);
    } else {
      expect(() => rseq.mmCid()).toThrow(RseqError);
    }
    if (p.fields.nodeId) expect(rseq.nodeId()).toBeGreaterThanOrEqual(0);
    else expect(() => rseq.nodeId()).toThrow(/node_id is not published/);
  });

  it('runs the errno table on a fresh thread with the kernel\'s answers', () => {
    const t = rseq.errnoTable();
    expect(t.signature).toBe(SIGNATURE[p.arch]);
    expect(t.cases.map((c) => c.case)).toEqual([...ERRNO_CASES]);
    // What the simulator's profile of this backend's kernel answers (the running kernel on the native backend).
    const expected = expectedErrno(p.kernel, t.ownerAtStart);
    const got = Object.fromEntries(t.cases.map((c) => [c.case, c.errno]));
    expect(got).toEqual(expected);
    for (const c of t.cases) expect(c.ret).toBe(c.errno === null ? 0 : -1);
    // The thread that ran the table was not this one: our registration is untouched.
    expect(rseq.registration()).toEqual(p.registration);
  });

  it('rejects bad affinity input without changing the affinity', () => {
    const before = rseq.getAffinity();
    expect(() => rseq.setAffinity([])).toThrow(new RangeError('setAffinity needs at least one CPU'));
    expect(() => rseq.setAffinity([-1])).toThrow(new RangeError('setAffinity: CPU -1 is not an integer in [0, 1024)'));
    expect(() => rseq.setAffinity([1.5])).toThrow(new RangeError('setAffinity: CPU 1.5 is not an integer in [0, 1024)'));
    expect(() => rseq.setAffinity('0' as unknown as number[])).toThrow(new TypeError('setAffinity takes an array of CPU numbers'));
    expect(rseq.getAffinity()).toEqual(before);
  });

  it('reports the kernel\'s EINVAL for a CPU that does not exist, without changing the affinity', () => {
    const before = rseq.getAffinity();
    let caught: unknown;
    try {
      rseq.setAffinity([1023]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RseqError);
    expect(caught).toMatchObject({ code: 'ERR_RSEQ_SYSCALL', errno: { errno: 'EINVAL', code: 22, op: 'sched_setaffinity' } });
    expect((caught as Error).message).toMatch(/^rseq.setAffinity: none of the CPUs given/);
    expect(rseq.getAffinity()).toEqual(before);
  });

  it('keeps balanced reference counts', () => {
    const start = rseq.debugCounts();
    expect(start.threads).toBeGreaterThanOrEqual(1);
    if (p.registration.owner === 'addon') expect(start.registrations).toBeGreaterThanOrEqual(1);
    else expect(start.registrations).toBe(0);
  });
});
