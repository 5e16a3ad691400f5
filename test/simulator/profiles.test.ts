/** Kernel and libc profiles: choice by release string, auxv, field liveness, libc symbols and registration. */
import { describe, expect, it } from 'vitest';
import {
  AT,
  KERNEL_PROFILES,
  kernelProfileFor,
  libcProfileFor,
  Machine,
  MEMBARRIER_CMD,
  RSEQ_CPU_ID_REGISTRATION_FAILED,
  type KernelProfileId,
} from '../../fallback/index.js';

describe('kernelProfileFor', () => {
  it.each([
    ['4.18.0-553.el8_10.x86_64', '4.18'],
    ['5.15.0-119-generic', '4.18'],
    ['6.0.19', '6.0'],
    ['6.2.16', '6.0'],
    ['6.3.0', '6.3'],
    ['6.18.44-foo', '6.3'],
    ['6.19.2-arch1-1', '6.19'],
    ['7.0.0-rc3', '7.0'],
    ['7.1.2', '7.0'],
    ['4.9.337', 'none'],
  ] as const)('%s -> %s profile', (release, id) => {
    const p = kernelProfileFor(release);
    expect(p.id).toBe(id);
    expect(p.release).toBe(release);
  });

  it('names a bare profile id as <id>.0-simulated', () => {
    expect(kernelProfileFor('6.19').release).toBe('6.19.0-simulated');
    expect(kernelProfileFor('6.18').release).toBe('6.18.0-simulated');
  });

  it('clears rseq_cs at registration from 6.15 on, before the 6.19 rework', () => {
    expect(kernelProfileFor('6.14.11').registrationAccess).toBe('none');
    expect(kernelProfileFor('6.15.0').registrationAccess).toBe('clear-rseq-cs');
    expect(kernelProfileFor('6.18.44-foo').registrationAccess).toBe('clear-rseq-cs');
    expect(kernelProfileFor('6.19').registrationAccess).toBe('init-fields');
  });

  it('rejects strings that are not releases', () => {
    expect(() => kernelProfileFor('linux')).toThrow(RangeError);
  });
});

const AUXV_EXPECTED: Record<KernelProfileId, { fs: number | null; align: number | null }> = {
  none: { fs: null, align: null },
  '4.18': { fs: null, align: null },
  '6.0': { fs: null, align: null },
  '6.3': { fs: 28, align: 32 },
  '6.19': { fs: 28, align: 32 },
  '7.0': { fs: 33, align: 64 },
};

describe.each(Object.keys(AUXV_EXPECTED) as KernelProfileId[])('kernel profile %s', (id) => {
  const m = new Machine({ kernel: KERNEL_PROFILES[id].release, libc: 'musl' });

  it('publishes AT_RSEQ_FEATURE_SIZE / AT_RSEQ_ALIGN exactly when the release has them', () => {
    const auxv = m.auxv();
    const { fs, align } = AUXV_EXPECTED[id];
    expect(auxv.find((e) => e.type === AT.AT_PAGESZ)?.value).toBe(4096n);
    const fsEntry = auxv.find((e) => e.type === AT.AT_RSEQ_FEATURE_SIZE);
    const alEntry = auxv.find((e) => e.type === AT.AT_RSEQ_ALIGN);
    expect(fsEntry === undefined ? null : Number(fsEntry.value)).toBe(fs);
    expect(alEntry === undefined ? null : Number(alEntry.value)).toBe(align);
    if (fsEntry) expect(fsEntry.name).toBe('AT_RSEQ_FEATURE_SIZE');
    expect(auxv.some((e) => e.type === AT.AT_NULL)).toBe(false);
    for (const e of auxv) expect(typeof e.value).toBe('bigint');
  });

  it('field liveness follows the feature size (20 when absent)', () => {
    const f = m.fields();
    const size = AUXV_EXPECTED[id].fs ?? 20;
    expect(f).toEqual({ cpuIdStart: true, cpuId: true, nodeId: size >= 24, mmCid: size >= 28, sliceCtrl: size >= 32 });
  });
});

describe('field liveness per profile', () => {
  it('is the original 20 bytes before 6.3, node_id/mm_cid on 6.3-6.19, slice_ctrl on 7.0', () => {
    expect(new Machine({ kernel: '6.0' }).fields()).toEqual({ cpuIdStart: true, cpuId: true, nodeId: false, mmCid: false, sliceCtrl: false });
    expect(new Machine({ kernel: '6.3' }).fields()).toEqual({ cpuIdStart: true, cpuId: true, nodeId: true, mmCid: true, sliceCtrl: false });
    expect(new Machine({ kernel: '6.19' }).fields()).toEqual({ cpuIdStart: true, cpuId: true, nodeId: true, mmCid: true, sliceCtrl: false });
    expect(new Machine({ kernel: '7.0' }).fields()).toEqual({ cpuIdStart: true, cpuId: true, nodeId: true, mmCid: true, sliceCtrl: true });
  });
});

describe('membarrier QUERY mask per profile', () => {
  it.each([
    ['4.18', 0x7f],
    ['6.0', 0x1ff],
    ['6.3', 0x3ff],
    ['6.19', 0x3ff],
    ['7.0', 0x3ff],
  ] as const)('%s answers %i', (kernel, mask) => {
    const m = new Machine({ kernel, libc: 'musl' });
    const t = m.createThread();
    expect(m.membarrier(t, MEMBARRIER_CMD.QUERY)).toEqual({ ret: mask, errno: null });
    const info = m.kernelInfo(t);
    expect(info.membarrierCommands).toBe(mask);
    expect(info.membarrierRseq).toBe(kernel !== '4.18');
  });

  it('drops MEMBARRIER_CMD_GLOBAL under nohz_full', () => {
    const m = new Machine({ kernel: '6.19', nohzFull: true });
    const t = m.createThread();
    expect(m.membarrier(t, MEMBARRIER_CMD.QUERY).ret).toBe(0x3fe);
    expect(m.membarrier(t, MEMBARRIER_CMD.GLOBAL).errno).toBe('EINVAL');
  });
});

describe('libc profiles', () => {
  it.each([
    ['glibc-2.35', 'glibc-2.35'],
    ['glibc-2.37', 'glibc-2.35'],
    ['glibc-2.39', 'glibc-2.35'],
    ['glibc-2.36-debian', 'glibc-2.40'],
    ['glibc-2.40', 'glibc-2.40'],
    ['glibc-2.41', 'glibc-2.41'],
    ['glibc-2.43', 'glibc-2.41'],
    ['glibc-2.39-rseq=0', 'glibc-tunable-off'],
    ['glibc-tunable-off', 'glibc-tunable-off'],
    ['glibc-2.31', 'glibc-pre-2.35'],
    ['musl', 'musl'],
    ['musl-1.2.5', 'musl'],
  ] as const)('%s uses the %s rules', (spec, rule) => {
    expect(libcProfileFor(spec).rule).toBe(rule);
  });

  /** __rseq_size after the main thread started, per libc and kernel. */
  const RSEQ_SIZE: Array<[string, string, number | null]> = [
    ['glibc-2.35', '6.19', 32],
    ['glibc-2.39', '4.18', 32],
    ['glibc-2.40', '6.19', 20],
    ['glibc-2.36-debian', '6.3', 20],
    ['glibc-2.41', '6.0', 20],
    ['glibc-2.41', '6.19', 28],
    ['glibc-2.41', '7.0', 33],
    ['glibc-tunable-off', '6.19', 0],
    ['glibc-2.41', '4.17', 0],
    ['musl', '6.19', null],
  ];
  it.each(RSEQ_SIZE)('%s on %s exports __rseq_size = %s', (libc, kernel, size) => {
    const m = new Machine({ kernel, libc });
    m.libcStart(m.createThread());
    const info = m.libcInfo();
    expect(info.rseqSize).toBe(size);
    expect(info.rseqFlags).toBe(size === null ? null : 0);
    expect(info.rseqOffset === null).toBe(size === null);
  });

  /** Who owns the main thread's registration and with what length. */
  const OWNER: Array<[string, string, 'libc' | 'none', number | null]> = [
    ['glibc-2.35', '4.18', 'libc', 32],
    ['glibc-2.40', '6.19', 'libc', 32],
    ['glibc-2.41', '6.19', 'libc', 32],
    ['glibc-2.41', '7.0', 'libc', 33],
    ['glibc-2.35', '7.0', 'libc', 32],
    ['glibc-tunable-off', '6.19', 'none', null],
    ['musl', '6.19', 'none', null],
    ['glibc-2.31', '6.19', 'none', null],
  ];
  it.each(OWNER)('%s on %s: owner %s, length %s', (libc, kernel, owner, length) => {
    const m = new Machine({ kernel, libc });
    const t = m.createThread();
    const start = m.libcStart(t);
    expect(start.registered).toBe(owner === 'libc');
    expect(t.registrationOwner === 'libc' ? 'libc' : 'none').toBe(owner);
    expect(t.registration?.len ?? null).toBe(length);
    if (owner === 'libc') {
      expect(t.registration?.sig).toBe(0x53053053);
      // The area is at __rseq_offset from the thread pointer and aligned as the kernel asks.
      const off = m.libcInfo().rseqOffset ?? 0;
      expect(t.registration?.addr).toBe(t.tp + BigInt(off));
      const align = length !== null && length > 32 ? (m.profile.align ?? 32) : 32;
      expect(Number((t.registration?.addr ?? 1n) % BigInt(align))).toBe(0);
      // glibc's area holds the current CPU after the start's return to user space.
      expect(m.readArea(t.registration!.addr).cpuId).toBe(t.cpu);
    }
  });

  it('glibc 2.41 on 7.0 registers 33 bytes, which selects the optimised v2 mode', () => {
    const m = new Machine({ kernel: '7.0', libc: 'glibc-2.41' });
    const t = m.createThread();
    m.libcStart(t);
    expect(t.registration?.mode).toBe('v2');
    const legacy = new Machine({ kernel: '7.0', libc: 'glibc-2.39' });
    const u = legacy.createThread();
    legacy.libcStart(u);
    expect(u.registration?.mode).toBe('legacy');
  });

  it('the tunable-off glibc writes RSEQ_CPU_ID_REGISTRATION_FAILED into its area', () => {
    const m = new Machine({ kernel: '6.19', libc: 'glibc-tunable-off' });
    const t = m.createThread();
    const start = m.libcStart(t);
    expect(start.registered).toBe(false);
    expect(start.area).not.toBeNull();
    expect(m.readArea(start.area!).cpuId).toBe(RSEQ_CPU_ID_REGISTRATION_FAILED);
  });

  it('glibc on a kernel without rseq fails with ENOSYS and reports __rseq_size 0', () => {
    const m = new Machine({ kernel: '4.14', libc: 'glibc-2.41' });
    const t = m.createThread();
    const start = m.libcStart(t);
    expect(start).toMatchObject({ registered: false, errno: 'ENOSYS' });
    expect(m.readArea(start.area!).cpuId).toBe(RSEQ_CPU_ID_REGISTRATION_FAILED);
    expect(m.kernelInfo(t).syscall).toEqual({ available: false, probeErrno: 'ENOSYS' });
  });

  it('aarch64 uses its own signature', () => {
    const m = new Machine({ kernel: '6.19', libc: 'glibc-2.41', arch: 'aarch64' });
    const t = m.createThread();
    m.libcStart(t);
    expect(t.registration?.sig).toBe(0xd428bc00);
    expect(m.errnoTable().signature).toBe(0xd428bc00);
  });
});
