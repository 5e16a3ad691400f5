/**
 * Kernel release profiles and libc profiles of the simulator.
 *
 * Every rule below names the kernel release it comes from. Facts were checked
 * against the kernel's own source (kernel/rseq.c, include/linux/rseq*.h,
 * include/uapi/linux/rseq.h, fs/binfmt_elf.c, kernel/sched/membarrier.c,
 * kernel/sched/core.c and sched.h) of the releases named, and against
 * glibc's sysdeps/unix/sysv/linux/rseq-internal.h, sysdeps/nptl/dl-tls_init_tp.c
 * and misc/tst-rseq.c. The simulator's code is written from those facts; no
 * kernel or glibc code is copied.
 */
import { MEMBARRIER_CMD, MEMBARRIER_CMD_FLAG_CPU, RSEQ_AREA, RSEQ_ARCH, RSEQ_CPU_ID, RSEQ_CS_FLAG, RSEQ_FLAG } from '../../src/contract/abi.js';

export type Arch = 'x86_64' | 'aarch64';

// The kernel ABI's values come from the package's one table (src/contract/abi.ts).

/** The signature glibc (and librseq) register with; the u32 before every abort handler. */
export const RSEQ_SIG: Readonly<Record<Arch, number>> = {
  // x86_64: the last 4 bytes of `ud1 0x53053053(%rip),%edi` (0f b9 3d + sig).
  x86_64: RSEQ_ARCH.x86_64.sig,
  // aarch64 little-endian: `brk #0x45e0`.
  aarch64: RSEQ_ARCH.aarch64.sig,
};

/** The original struct rseq allocation size and alignment (4.18). */
export const ORIG_RSEQ_SIZE = RSEQ_AREA.size;
/** Bytes of struct rseq the kernel used before the ABI became extensible (4.18–6.2). */
export const ORIG_FEATURE_SIZE = RSEQ_AREA.origFeatureSize;

/** rseq() flags (include/uapi/linux/rseq.h). */
export const RSEQ_FLAG_UNREGISTER = RSEQ_FLAG.UNREGISTER;
/** 7.0: ask for time-slice extension enabled at registration. */
export const RSEQ_FLAG_SLICE_EXT_DEFAULT_ON = RSEQ_FLAG.SLICE_EXT_DEFAULT_ON;

/** struct rseq::flags bits. 0-2 are the deprecated NO_RESTART bits (fatal since 6.0). */
export const RSEQ_CS_FLAG_NO_RESTART_MASK = RSEQ_CS_FLAG.NO_RESTART_ON_PREEMPT | RSEQ_CS_FLAG.NO_RESTART_ON_SIGNAL | RSEQ_CS_FLAG.NO_RESTART_ON_MIGRATE;
export const RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT = RSEQ_CS_FLAG.NO_RESTART_ON_PREEMPT;
export const RSEQ_CS_FLAG_NO_RESTART_ON_SIGNAL = RSEQ_CS_FLAG.NO_RESTART_ON_SIGNAL;
export const RSEQ_CS_FLAG_NO_RESTART_ON_MIGRATE = RSEQ_CS_FLAG.NO_RESTART_ON_MIGRATE;
/** 7.0: read-only bits the kernel sets in struct rseq::flags on a v2 registration. */
export const RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE = RSEQ_CS_FLAG.SLICE_EXT_AVAILABLE;
export const RSEQ_CS_FLAG_SLICE_EXT_ENABLED = RSEQ_CS_FLAG.SLICE_EXT_ENABLED;

/** cpu_id values of an area that is not registered (u32 view of -1 and -2). */
export const RSEQ_CPU_ID_UNINITIALIZED = RSEQ_CPU_ID.UNINITIALIZED;
export const RSEQ_CPU_ID_REGISTRATION_FAILED = RSEQ_CPU_ID.REGISTRATION_FAILED;

/** Byte offsets in struct rseq. */
export const RSEQ_FIELD = {
  cpuIdStart: RSEQ_AREA.fields.cpuIdStart.offset,
  cpuId: RSEQ_AREA.fields.cpuId.offset,
  rseqCs: RSEQ_AREA.fields.rseqCs.offset,
  flags: RSEQ_AREA.fields.flags.offset,
  nodeId: RSEQ_AREA.fields.nodeId.offset,
  mmCid: RSEQ_AREA.fields.mmCid.offset,
  sliceCtrl: RSEQ_AREA.fields.sliceCtrl.offset,
} as const;

/** membarrier(2) commands (include/uapi/linux/membarrier.h). */
export { MEMBARRIER_CMD, MEMBARRIER_CMD_FLAG_CPU };

/**
 * The MEMBARRIER_CMD_QUERY answer (kernel/sched/membarrier.c
 * MEMBARRIER_CMD_BITMASK) on x86_64/aarch64, which both select
 * ARCH_HAS_MEMBARRIER_SYNC_CORE: GLOBAL, the (REGISTER_)GLOBAL_EXPEDITED and
 * (REGISTER_)PRIVATE_EXPEDITED pairs and the SYNC_CORE pair since 4.16; the
 * RSEQ pair since 5.10; GET_REGISTRATIONS since 6.3. A kernel booted with
 * nohz_full drops MEMBARRIER_CMD_GLOBAL from the mask.
 */
const MEMBARRIER_MASK_4_16 = 0x7f;
const MEMBARRIER_MASK_5_10 = MEMBARRIER_MASK_4_16 | MEMBARRIER_CMD.PRIVATE_EXPEDITED_RSEQ | MEMBARRIER_CMD.REGISTER_PRIVATE_EXPEDITED_RSEQ;
const MEMBARRIER_MASK_6_3 = MEMBARRIER_MASK_5_10 | MEMBARRIER_CMD.GET_REGISTRATIONS;

export type KernelProfileId = 'none' | '4.18' | '6.0' | '6.3' | '6.19' | '7.0';

/**
 * When the kernel writes cpu_id_start, cpu_id (and node_id, mm_cid) on the
 * way back to user space:
 * - `every-switch` (4.18–6.18): after every context switch, migration and
 *   before signal delivery (TIF_NOTIFY_RESUME set by rseq_preempt /
 *   rseq_migrate / rseq_signal_deliver), unconditionally.
 * - `on-change` (6.19): only when the CPU or the mm_cid changed since the
 *   last write (rseq_event::ids_changed), or once after registration
 *   (rseq_force_update). The read-only fields are only checked with the
 *   rseq_debug static key, which the model leaves off.
 * - `by-length` (7.0 with the May 2026 fixes, commits b9eac6a9d93c,
 *   82f572449cfe, 22a92dbd6083, also in 7.0.y): a registration with
 *   len == 32 is "legacy" and behaves like `every-switch`; len > 32 on a
 *   GENERIC_IRQ_ENTRY architecture (x86_64; arm64 since 6.18's switch to
 *   generic IRQ entry, commit b3cf07851b6c) is "optimised v2": `on-change`,
 *   plus read-only enforcement (user space that changed cpu_id_start,
 *   cpu_id, node_id or mm_cid is killed with SIGSEGV at the next update).
 */
export type IdUpdatePolicy = 'every-switch' | 'on-change' | 'by-length';

/**
 * What sys_rseq does to the area on a successful registration:
 * - `none`: only access_ok (a range check); a bad but user-range address is
 *   accepted and the thread gets SIGSEGV on return to user space (4.18–6.14).
 * - `clear-rseq-cs`: reads rseq_cs and clears it when non-zero, so an
 *   unmapped area fails with EFAULT (commit fd881d0a085f "rseq: Fix segfault
 *   on registration when rseq_cs is non-zero", mainline 6.15, backported to
 *   several stable series; the model applies it to releases >= 6.15 only).
 * - `init-fields`: writes rseq_cs = 0, cpu_id_start = cpu_id = -1,
 *   node_id = mm_cid = 0 (6.19 rework); 7.0 also writes struct rseq::flags
 *   (slice bits) and, for v2, slice_ctrl = 0.
 */
export type RegistrationAccess = 'none' | 'clear-rseq-cs' | 'init-fields';

/**
 * How the kernel evaluates a non-zero rseq_cs when the thread returns to
 * user space after preemption, migration, a membarrier IPI or before a
 * signal is delivered:
 * - `full` (4.18–6.18, kernel/rseq.c rseq_ip_fixup -> rseq_get_rseq_cs,
 *   rseq_need_restart): on every notify-resume, whatever the IP: a pointer
 *   at or above TASK_SIZE, an unreadable descriptor, version != 0, a section
 *   outside user space or wrapping, abort_ip inside the section, an
 *   unreadable or different signature before abort_ip are fatal (SIGSEGV).
 *   Then an IP outside [start_ip, start_ip + post_commit_offset) clears
 *   rseq_cs; an IP inside checks the flags of rseq_cs and struct rseq (4.18–5.19:
 *   NO_RESTART bits suppress the abort for the matching event, and
 *   NO_RESTART_ON_SIGNAL without the other two is fatal; 6.0+, commit
 *   0190e4198e47: any flag is fatal), then clears rseq_cs and moves the IP
 *   to abort_ip.
 * - `fast` (6.19+, include/linux/rseq_entry.h rseq_update_user_cs): only
 *   after an interrupt from user space (not on a plain syscall return): a
 *   pointer at or above TASK_SIZE or an unreadable descriptor is fatal; an
 *   IP outside the section clears rseq_cs; inside, abort_ip must be a user
 *   address with the registered signature before it, then rseq_cs is
 *   cleared and the IP moved. Version, flags and an abort_ip inside the
 *   section are not checked ("user space can keep the pieces") unless the
 *   `rseq_debug` boot option enables rseq_debug_update_user_cs, which checks
 *   them all (MachineOptions.rseqDebug).
 */
export type CsEvaluation = 'full' | 'fast';

export interface KernelProfile {
  id: KernelProfileId;
  /** `uname -r` of the simulated machine. */
  release: string;
  /** Parsed version of `release`. */
  version: readonly [number, number, number];
  /** False before 4.18: rseq() returns ENOSYS. */
  hasRseq: boolean;
  /** AT_RSEQ_FEATURE_SIZE, null when the kernel does not publish it (before 6.3). */
  featureSize: number | null;
  /** AT_RSEQ_ALIGN, null when the kernel does not publish it (before 6.3). */
  align: number | null;
  /** Bytes of struct rseq the kernel keeps up to date: the feature size, or 20. */
  liveBytes: number;
  /**
   * `orig-only` (4.18–6.2): len must be exactly 32 and the area 32-byte
   * aligned. `extensible` (6.3+): len < 32 is EINVAL; len == 32 needs 32-byte
   * alignment; any other len needs `extendedAlign` alignment and
   * len >= feature size.
   */
  lengthRule: 'orig-only' | 'extensible';
  /** Alignment required for len != 32: __alignof__(struct rseq) = 32 on 6.3–6.19, rseq_alloc_align() = 64 on 7.0. */
  extendedAlign: number;
  /** Unregister with other flag bits set is EINVAL (commit 66528a4575ee, 5.4, stable 4.19+); 4.18 ignored them. */
  unregisterRejectsExtraFlags: boolean;
  /** Registration flags accepted besides 0 (7.0: RSEQ_FLAG_SLICE_EXT_DEFAULT_ON). */
  registerFlags: number;
  /** node_id and mm_cid are written (6.3+). */
  writesNodeAndMmCid: boolean;
  idUpdate: IdUpdatePolicy;
  registrationAccess: RegistrationAccess;
  /** cpu_id_start written at unregistration: 0 (4.18–6.18, 7.0 fixed) or -1 (6.19's rseq_reset_ids). */
  unregisterCpuIdStart: number;
  /** Deprecated NO_RESTART flags in rseq_cs or struct rseq kill the task with SIGSEGV (6.0+, commit 0190e4198e47). */
  noRestartFlagsFatal: boolean;
  /** 7.0 optimised v2 registrations: user writes to the ID fields are fatal. */
  readOnlyEnforcement: boolean;
  /** How rseq_cs is evaluated on the way back to user space (see CsEvaluation). */
  csEvaluation: CsEvaluation;
  /** 7.0 time-slice extension (slice_ctrl, prctl 79, syscall 471); v2 registrations only. */
  sliceExtension: boolean;
  /** The MEMBARRIER_CMD_QUERY mask (without nohz_full). */
  membarrierCommands: number;
  /** Where the rules come from. */
  sources: readonly string[];
  /**
   * Architectures on which this release does not abort a critical section
   * when its thread is preempted and resumed on the same CPU: rseq_cs is only
   * acted on after a migration or at signal delivery (see the 6.19 profile's
   * sources). Absent: every architecture aborts on preemption.
   */
  noPreemptAbort?: readonly Arch[];
}

function freeze<T extends object>(o: T): Readonly<T> {
  return Object.freeze(o);
}

/** Base profiles, keyed by id; `release` is the profile's own simulated release string. */
export const KERNEL_PROFILES: Readonly<Record<KernelProfileId, Readonly<KernelProfile>>> = freeze({
  none: freeze<KernelProfile>({
    id: 'none',
    release: '4.17.0-simulated',
    version: [4, 17, 0],
    hasRseq: false,
    featureSize: null,
    align: null,
    liveBytes: ORIG_FEATURE_SIZE,
    lengthRule: 'orig-only',
    extendedAlign: ORIG_RSEQ_SIZE,
    unregisterRejectsExtraFlags: false,
    registerFlags: 0,
    writesNodeAndMmCid: false,
    idUpdate: 'every-switch',
    registrationAccess: 'none',
    unregisterCpuIdStart: 0,
    noRestartFlagsFatal: false,
    readOnlyEnforcement: false,
    csEvaluation: 'full',
    sliceExtension: false,
    membarrierCommands: MEMBARRIER_MASK_4_16,
    sources: ['rseq(2) was added in 4.18 (commit d7822b1e24f2); older kernels return ENOSYS'],
  }),
  '4.18': freeze<KernelProfile>({
    id: '4.18',
    release: '4.18.0-simulated',
    version: [4, 18, 0],
    hasRseq: true,
    featureSize: null,
    align: null,
    liveBytes: ORIG_FEATURE_SIZE,
    lengthRule: 'orig-only',
    extendedAlign: ORIG_RSEQ_SIZE,
    unregisterRejectsExtraFlags: false,
    registerFlags: 0,
    writesNodeAndMmCid: false,
    idUpdate: 'every-switch',
    registrationAccess: 'none',
    unregisterCpuIdStart: 0,
    noRestartFlagsFatal: false,
    readOnlyEnforcement: false,
    csEvaluation: 'full',
    sliceExtension: false,
    membarrierCommands: MEMBARRIER_MASK_4_16,
    sources: [
      'v4.18 kernel/rseq.c: unregister checks area/len/sig only; other flag bits with UNREGISTER were ignored until commit 66528a4575ee (5.4)',
      'v4.18: register needs len == sizeof(struct rseq) (32) and __alignof__ (32), then access_ok -> EFAULT; no access to the area at registration',
      'v4.18: rseq_update_cpu_id writes cpu_id_start and cpu_id after preemption, migration and signal delivery',
      'v4.18 membarrier: no RSEQ commands (added 5.10)',
    ],
  }),
  '6.0': freeze<KernelProfile>({
    id: '6.0',
    release: '6.0.0-simulated',
    version: [6, 0, 0],
    hasRseq: true,
    featureSize: null,
    align: null,
    liveBytes: ORIG_FEATURE_SIZE,
    lengthRule: 'orig-only',
    extendedAlign: ORIG_RSEQ_SIZE,
    unregisterRejectsExtraFlags: true,
    registerFlags: 0,
    writesNodeAndMmCid: false,
    idUpdate: 'every-switch',
    registrationAccess: 'none',
    unregisterCpuIdStart: 0,
    noRestartFlagsFatal: true,
    readOnlyEnforcement: false,
    csEvaluation: 'full',
    sliceExtension: false,
    membarrierCommands: MEMBARRIER_MASK_5_10,
    sources: [
      'v6.0 kernel/rseq.c (commit 0190e4198e47): NO_RESTART flags are deprecated; set in rseq_cs or struct rseq they make rseq_need_restart fail -> SIGSEGV',
      'v6.0: same registration rules as 4.18 plus EINVAL for unregister with extra flags',
      'v6.0 membarrier: RSEQ commands present (5.10), no GET_REGISTRATIONS (6.3)',
    ],
  }),
  '6.3': freeze<KernelProfile>({
    id: '6.3',
    release: '6.3.0-simulated',
    version: [6, 3, 0],
    hasRseq: true,
    featureSize: 28,
    align: 32,
    liveBytes: 28,
    lengthRule: 'extensible',
    extendedAlign: 32,
    unregisterRejectsExtraFlags: true,
    registerFlags: 0,
    writesNodeAndMmCid: true,
    idUpdate: 'every-switch',
    registrationAccess: 'none',
    unregisterCpuIdStart: 0,
    noRestartFlagsFatal: true,
    readOnlyEnforcement: false,
    csEvaluation: 'full',
    sliceExtension: false,
    membarrierCommands: MEMBARRIER_MASK_6_3,
    sources: [
      'v6.3 fs/binfmt_elf.c: AT_RSEQ_FEATURE_SIZE = offsetof(struct rseq, end) = 28, AT_RSEQ_ALIGN = __alignof__(struct rseq) = 32',
      'v6.3 kernel/rseq.c: len < 32 EINVAL; len == 32 needs 32 alignment; other len needs __alignof__ and len >= feature size; unregister compares len with the registered len',
      'v6.3: rseq_update_cpu_node_id writes cpu_id_start, cpu_id, node_id, mm_cid on every notify-resume; unregister resets them to 0, -1, 0, 0',
      'v6.15 (commit fd881d0a085f): registration reads rseq_cs and clears it (EFAULT when unreadable); modelled for releases >= 6.15 chosen through kernelProfileFor',
    ],
  }),
  '6.19': freeze<KernelProfile>({
    id: '6.19',
    release: '6.19.0-simulated',
    version: [6, 19, 0],
    hasRseq: true,
    featureSize: 28,
    align: 32,
    liveBytes: 28,
    lengthRule: 'extensible',
    extendedAlign: 32,
    unregisterRejectsExtraFlags: true,
    registerFlags: 0,
    writesNodeAndMmCid: true,
    idUpdate: 'on-change',
    registrationAccess: 'init-fields',
    unregisterCpuIdStart: RSEQ_CPU_ID_UNINITIALIZED,
    noRestartFlagsFatal: true,
    readOnlyEnforcement: false,
    csEvaluation: 'fast',
    sliceExtension: false,
    membarrierCommands: MEMBARRIER_MASK_6_3,
    sources: [
      'v6.19 rseq rework (include/linux/rseq_entry.h, commit 566d8015f7ee "rseq: Avoid CPU/MM CID updates when no event pending"): IDs written only when CPU or mm_cid changed, or once after registration',
      'v6.19 kernel/rseq.c: registration writes rseq_cs = 0, cpu_id_start = cpu_id = -1, node_id = mm_cid = 0 (EFAULT on fault); unregister writes cpu_id_start = -1 (rseq_reset_ids) and SIGSEGV on fault',
      'v6.19 include/linux/rseq_entry.h rseq_update_user_cs: after a user-space interrupt, rseq_cs >= TASK_SIZE or unreadable is fatal, an IP outside the section clears it, inside only abort_ip < TASK_SIZE and the signature are checked; version, flags and abort_ip inside the section only with rseq_debug (rseq_debug_update_user_cs)',
      'v6.19 kernel/sched: mm_cid max_cids = min(opt + opt/4, nr_cpu_ids) with opt = min(nr_cpus_allowed, users); per-CPU ownership mode when users > max_cids',
      'v6.19 arm64 (LKML "[REGRESSION] rseq: refactoring in v6.19 broke everyone on arm64 and tcmalloc everywhere", Mathias Stearn, 22 Apr 2026, https://lkml.iu.edu/2604.2/08673.html): a critical section is not aborted on same-core preemption, only on migration; the reproducer pins two threads to one CPU and a section observes the other thread\'s write; MongoDB refuses to start on 6.19+',
      'v6.19 arm64 cause (Thomas Gleixner, same thread, 23 Apr 2026, linux-arm-kernel 2026-April/1123096): rseq broke with arm64\'s partial move to the generic entry code; fixed in 7.1-rc and backported to 7.0.y (the 7.0 profile models the fixed kernel). Signal delivery still handles rseq_cs (rseq_signal_deliver), which the model keeps',
    ],
    noPreemptAbort: ['aarch64'],
  }),
  '7.0': freeze<KernelProfile>({
    id: '7.0',
    release: '7.0.0-simulated',
    version: [7, 0, 0],
    hasRseq: true,
    featureSize: 33,
    align: 64,
    liveBytes: 33,
    lengthRule: 'extensible',
    extendedAlign: 64,
    unregisterRejectsExtraFlags: true,
    registerFlags: RSEQ_FLAG_SLICE_EXT_DEFAULT_ON,
    writesNodeAndMmCid: true,
    idUpdate: 'by-length',
    registrationAccess: 'init-fields',
    unregisterCpuIdStart: 0,
    noRestartFlagsFatal: true,
    readOnlyEnforcement: true,
    csEvaluation: 'fast',
    sliceExtension: true,
    membarrierCommands: MEMBARRIER_MASK_6_3,
    sources: [
      '7.0 (commit 3b68df978133): struct rseq gains slice_ctrl (28) and a reserved byte (32): AT_RSEQ_FEATURE_SIZE = 33, AT_RSEQ_ALIGN = rseq_alloc_align() = 64; len != 32 needs 64 alignment',
      '7.0 (commit d6200245c75e): registration accepts RSEQ_FLAG_SLICE_EXT_DEFAULT_ON',
      '7.0.y/7.1 (commits b9eac6a9d93c, 82f572449cfe, 22a92dbd6083, May 2026): len == 32 is legacy mode (IDs rewritten after every switch and before signals); len > 32 is optimised v2 (IDs written on change only, read-only fields enforced with SIGSEGV, time-slice extension)',
      '7.0 fix (tglx, 28 Apr 2026): unregister resets cpu_id_start to 0 again (6.19 wrote -1)',
    ],
  }),
});

const PROFILE_ORDER: readonly KernelProfileId[] = ['4.18', '6.0', '6.3', '6.19', '7.0'];

function compareVersion(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Parse the leading `major.minor[.patch]` of a release string such as '6.18.44-foo'. */
export function parseRelease(release: string): [number, number, number] {
  const m = /^\s*(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) throw new RangeError(`not a kernel release string: ${JSON.stringify(release)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/**
 * The profile for a kernel release string: the nearest profile at or below
 * it ('6.18.44-foo' -> the 6.3 profile, '6.19' -> 6.19, '7.1.2' -> 7.0,
 * '4.9' -> `none`). The returned profile carries the given release (a bare
 * profile id such as '6.19' becomes '6.19.0-simulated'); releases from 6.15
 * up to the 6.19 rework also clear rseq_cs at registration.
 */
export function kernelProfileFor(release: string): KernelProfile {
  const version = parseRelease(release);
  let chosen: KernelProfileId = 'none';
  for (const id of PROFILE_ORDER) {
    if (compareVersion(KERNEL_PROFILES[id].version, version) <= 0) chosen = id;
  }
  const base = KERNEL_PROFILES[chosen];
  const bare = /^\s*\d+\.\d+\s*$/.test(release);
  const profile: KernelProfile = {
    ...base,
    release: bare ? `${version[0]}.${version[1]}.0-simulated` : release.trim(),
    version,
  };
  if (chosen === '6.3' && compareVersion(version, [6, 15, 0]) >= 0) {
    profile.registrationAccess = 'clear-rseq-cs';
  }
  return profile;
}

// ---------------------------------------------------------------------------
// libc profiles

export type LibcRule = 'glibc-2.35' | 'glibc-2.40' | 'glibc-2.41' | 'glibc-tunable-off' | 'glibc-pre-2.35' | 'musl';

export interface LibcAreaLayout {
  /** Bytes glibc reserves for the area. */
  size: number;
  /** Alignment of the area. */
  align: number;
  /** __rseq_offset: the area's address minus the thread pointer. */
  offset: number;
}

export interface LibcProfile {
  /** Canonical name, for example `glibc-2.41`. */
  id: string;
  rule: LibcRule;
  family: 'glibc' | 'musl';
  /** gnu_get_libc_version() for glibc; null for musl, which does not tell. */
  version: string | null;
  /** Registers every thread at start. */
  registers: boolean;
  /** Exports __rseq_offset, __rseq_size, __rseq_flags. */
  exportsSymbols: boolean;
  /** __rseq_size once the main thread registered (0 is used when it did not). */
  rseqSizeOnSuccess(kernel: KernelProfile): number;
  /** The length passed to rseq() when registering a thread. */
  registrationLength(kernel: KernelProfile): number;
  /** Where the TLS-resident area lives. */
  areaLayout(kernel: KernelProfile, arch: Arch): LibcAreaLayout;
  /** The signature glibc registers with. */
  signature(arch: Arch): number;
  notes: string;
}

function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/**
 * Illustrative __rseq_offset values. The real ones depend on the glibc build
 * (sizeof(struct pthread), static TLS of the program); the model only keeps
 * their sign and alignment: before 2.41 the area is a member of struct
 * pthread (above the thread pointer on x86_64, where the TCB is at the TP;
 * below it on aarch64, where struct pthread precedes the TP); from 2.41 it
 * is an "extra TLS" block (below the TP on x86_64, above it on aarch64; see
 * glibc's tst-rseq.c).
 */
function pthreadMemberOffset(arch: Arch): number {
  return arch === 'x86_64' ? 0x980 : -0x6e0;
}

function extraTlsOffset(arch: Arch, size: number, align: number): number {
  return arch === 'x86_64' ? -alignUp(size + 0x80, align) : alignUp(0x40, align);
}

function glibcSignature(arch: Arch): number {
  return RSEQ_SIG[arch];
}

const GLIBC_2_35: Omit<LibcProfile, 'id' | 'version'> = {
  rule: 'glibc-2.35',
  family: 'glibc',
  registers: true,
  exportsSymbols: true,
  rseqSizeOnSuccess: () => 32,
  registrationLength: () => ORIG_RSEQ_SIZE,
  areaLayout: (_k, arch) => ({ size: 32, align: 32, offset: pthreadMemberOffset(arch) }),
  signature: glibcSignature,
  notes:
    'glibc 2.35-2.39: struct pthread holds a 32-byte struct rseq; rseq(area, 32, 0, RSEQ_SIG) at thread start; __rseq_size = 32 after success, 0 otherwise',
};

const GLIBC_2_40: Omit<LibcProfile, 'id' | 'version'> = {
  ...GLIBC_2_35,
  rule: 'glibc-2.40',
  rseqSizeOnSuccess: () => ORIG_FEATURE_SIZE,
  notes:
    'glibc 2.40 (and the fix backported to release branches such as Debian 2.36): registers 32 bytes but __rseq_size = 20, the used feature size (glibc bug 31965)',
};

const GLIBC_2_41: Omit<LibcProfile, 'id' | 'version'> = {
  ...GLIBC_2_35,
  rule: 'glibc-2.41',
  // __rseq_size = max(AT_RSEQ_FEATURE_SIZE, 20) (tst-rseq.c).
  rseqSizeOnSuccess: (k) => Math.max(k.featureSize ?? 0, ORIG_FEATURE_SIZE),
  // rseq-internal.h: size = __rseq_size, raised to 32 when smaller.
  registrationLength: (k) => Math.max(Math.max(k.featureSize ?? 0, ORIG_FEATURE_SIZE), ORIG_RSEQ_SIZE),
  areaLayout: (k, arch) => {
    const align = Math.max(k.align ?? 0, 32);
    const size = Math.max(alignUp(Math.max(k.featureSize ?? 0, ORIG_FEATURE_SIZE), align), ORIG_RSEQ_SIZE);
    return { size, align, offset: extraTlsOffset(arch, size, align) };
  },
  notes:
    'glibc 2.41+: the area is an extra static TLS block of roundup(max(feature size, 20), max(AT_RSEQ_ALIGN, 32)) bytes; registration length = max(__rseq_size, 32), so 32 on 6.3-6.19 and 33 on 7.0 (optimised v2 mode)',
};

const GLIBC_TUNABLE_OFF: Omit<LibcProfile, 'id' | 'version'> = {
  ...GLIBC_2_35,
  rule: 'glibc-tunable-off',
  registers: false,
  rseqSizeOnSuccess: () => 0,
  notes: 'GLIBC_TUNABLES=glibc.pthread.rseq=0: no registration, __rseq_size = 0, __rseq_offset still set, cpu_id = -2',
};

const GLIBC_PRE_2_35: Omit<LibcProfile, 'id' | 'version'> = {
  ...GLIBC_2_35,
  rule: 'glibc-pre-2.35',
  registers: false,
  exportsSymbols: false,
  rseqSizeOnSuccess: () => 0,
  notes: 'glibc before 2.35 neither registers nor exports the __rseq_* symbols',
};

const MUSL: Omit<LibcProfile, 'id' | 'version'> = {
  ...GLIBC_2_35,
  rule: 'musl',
  family: 'musl',
  registers: false,
  exportsSymbols: false,
  rseqSizeOnSuccess: () => 0,
  registrationLength: () => ORIG_RSEQ_SIZE,
  notes: 'musl registers nothing and exports no __rseq_* symbols',
};

export const LIBC_PROFILES: Readonly<Record<string, Readonly<LibcProfile>>> = freeze({
  'glibc-2.35': freeze({ ...GLIBC_2_35, id: 'glibc-2.35', version: '2.35' }),
  'glibc-2.39': freeze({ ...GLIBC_2_35, id: 'glibc-2.39', version: '2.39' }),
  'glibc-2.36-debian': freeze({ ...GLIBC_2_40, id: 'glibc-2.36-debian', version: '2.36' }),
  'glibc-2.40': freeze({ ...GLIBC_2_40, id: 'glibc-2.40', version: '2.40' }),
  'glibc-2.41': freeze({ ...GLIBC_2_41, id: 'glibc-2.41', version: '2.41' }),
  'glibc-tunable-off': freeze({ ...GLIBC_TUNABLE_OFF, id: 'glibc-tunable-off', version: '2.41' }),
  musl: freeze({ ...MUSL, id: 'musl', version: null }),
});

/**
 * The libc profile for a name: `glibc-2.37`, `glibc-2.36-debian`,
 * `glibc-2.42`, `glibc-2.39-rseq-off` (tunable off), `glibc-tunable-off`,
 * `musl`, `musl-1.2.5`. Versions between known ones use the rules of the
 * nearest release at or below them.
 */
export function libcProfileFor(spec: string): LibcProfile {
  const s = spec.trim().toLowerCase();
  const known = LIBC_PROFILES[s];
  if (known) return { ...known };
  if (s === 'musl' || s.startsWith('musl-') || s.startsWith('musl ')) {
    return { ...MUSL, id: s, version: null };
  }
  if (s === 'glibc') return { ...GLIBC_2_41, id: 'glibc-2.41', version: '2.41' };
  const m = /^glibc[- ]?(\d+)\.(\d+)(.*)$/.exec(s);
  if (!m) throw new RangeError(`unknown libc profile: ${JSON.stringify(spec)}`);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const rest = m[3] ?? '';
  const version = `${major}.${minor}`;
  const id = `glibc-${version}${rest}`;
  if (/(rseq[=-]?(0|off)|tunable-off|no-rseq)/.test(rest)) {
    if (major === 2 && minor < 35) return { ...GLIBC_PRE_2_35, id, version };
    return { ...GLIBC_TUNABLE_OFF, id, version };
  }
  if (major < 2 || (major === 2 && minor < 35)) return { ...GLIBC_PRE_2_35, id, version };
  if (major === 2 && minor < 40) {
    if (minor === 36 && /deb/.test(rest)) return { ...GLIBC_2_40, id, version };
    return { ...GLIBC_2_35, id, version };
  }
  if (major === 2 && minor === 40) return { ...GLIBC_2_40, id, version };
  return { ...GLIBC_2_41, id, version };
}
