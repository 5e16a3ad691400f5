/**
 * rseq(2): registration and unregistration of a thread's area, with the
 * checks of kernel/rseq.c in the profile's order:
 * 1. UNREGISTER: extra flags EINVAL (not on 4.18); not registered or other
 *    area EINVAL; other len EINVAL; other sig EPERM; reset of the IDs
 *    (EFAULT on a fault, plus SIGSEGV on 6.19+).
 * 2. unknown flags EINVAL (7.0 knows RSEQ_FLAG_SLICE_EXT_DEFAULT_ON).
 * 3. already registered: other area or len EINVAL; other sig EPERM; else EBUSY.
 * 4. length/alignment: 4.18–6.2 len == 32 and 32-aligned; 6.3+ len >= 32,
 *    len == 32 32-aligned, other len aligned to 32 (6.3–6.19) or 64 (7.0)
 *    and >= the feature size.
 * 5. access_ok (range check only) -> EFAULT.
 * 6. area access at registration per profile (EFAULT on a fault).
 * A registration takes effect on the thread's next return to user space
 * (return-to-user.ts), which writes the IDs.
 */
import { fail, ok, type SyscallResult } from './errno.js';
import { clearRseqCsIfSet, initFields, resetIds } from './area.js';
import { MemoryFault, USER_SPACE_END } from './memory.js';
import {
  ORIG_RSEQ_SIZE,
  RSEQ_CPU_ID_UNINITIALIZED,
  RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE,
  RSEQ_CS_FLAG_SLICE_EXT_ENABLED,
  RSEQ_FLAG_SLICE_EXT_DEFAULT_ON,
  RSEQ_FLAG_UNREGISTER,
  type KernelProfile,
} from './profiles.js';
import type { KernelState } from './state.js';
import type { RegistrationMode, RseqRegistration, ThreadState } from './thread.js';

function toU64(v: bigint | number): bigint {
  return BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(v)));
}

/** sys_rseq(rseq, rseq_len, flags, sig) on thread `t`. */
export function sysRseq(k: KernelState, t: ThreadState, rseq: bigint | number, rseqLen: number, flags: number, sig: number): SyscallResult {
  if (!k.profile.hasRseq) return fail('ENOSYS');
  k.slice.syscallEntry(t);
  if (k.rseqFilter) return fail(k.rseqFilter);
  const addr = toU64(rseq);
  const len = rseqLen >>> 0;
  const fl = flags | 0;
  const sg = sig >>> 0;
  return fl & RSEQ_FLAG_UNREGISTER ? unregister(k, t, addr, len, fl, sg) : register(k, t, addr, len, fl, sg);
}

function unregister(k: KernelState, t: ThreadState, addr: bigint, len: number, fl: number, sg: number): SyscallResult {
  const p = k.profile;
  const reg = t.registration;
  if (p.unregisterRejectsExtraFlags && fl & ~RSEQ_FLAG_UNREGISTER) return fail('EINVAL');
  if (!reg || reg.addr !== addr) return fail('EINVAL');
  if (len !== reg.len) return fail('EINVAL');
  if (sg !== reg.sig) return fail('EPERM');
  try {
    resetIds(k.memory, addr, p.unregisterCpuIdStart, p.writesNodeAndMmCid);
  } catch (e) {
    if (!(e instanceof MemoryFault)) throw e;
    // 6.19+: rseq_reset_ids() forces SIGSEGV before returning -EFAULT.
    if (p.registrationAccess === 'init-fields') k.kill(t, 'fault resetting the rseq area at unregistration');
    return fail('EFAULT');
  }
  t.registration = null;
  t.registrationOwner = null;
  t.ids = { cpuId: RSEQ_CPU_ID_UNINITIALIZED, nodeId: 0, mmCid: 0 };
  t.forceUpdate = false;
  t.pendingEvents = 0;
  k.slice.reset(t.tid, false);
  return ok();
}

function register(k: KernelState, t: ThreadState, addr: bigint, len: number, fl: number, sg: number): SyscallResult {
  const p = k.profile;
  if (fl & ~p.registerFlags) return fail('EINVAL');
  const reg = t.registration;
  if (reg) return registeredAlready(reg, addr, len, sg);
  if (!lengthAndAlignmentAllowed(p, addr, len)) return fail('EINVAL');
  // access_ok(): the range must lie in the user half; nothing is read.
  if (addr + BigInt(len) > USER_SPACE_END) return fail('EFAULT');
  const mode = registrationMode(p, len);
  try {
    touchArea(k, addr, mode, fl);
  } catch (e) {
    if (!(e instanceof MemoryFault)) throw e;
    return fail('EFAULT');
  }
  t.registration = { addr, len, sig: sg, mode };
  t.registrationOwner = 'other';
  // 7.0: RSEQ_FLAG_SLICE_EXT_DEFAULT_ON enables the time-slice extension of a v2 registration.
  k.slice.reset(t.tid, p.sliceExtension && mode === 'v2' && (fl & RSEQ_FLAG_SLICE_EXT_DEFAULT_ON) !== 0);
  t.ids = { cpuId: RSEQ_CPU_ID_UNINITIALIZED, nodeId: 0, mmCid: 0 };
  // rseq_set_notify_resume() / rseq_force_update(): IDs are written before
  // the syscall returns to user space.
  t.forceUpdate = true;
  return ok();
}

/** A second registration: the same one is EBUSY, another area or length EINVAL, another signature EPERM. */
function registeredAlready(reg: RseqRegistration, addr: bigint, len: number, sg: number): SyscallResult {
  if (reg.addr !== addr || len !== reg.len) return fail('EINVAL');
  if (sg !== reg.sig) return fail('EPERM');
  return fail('EBUSY');
}

/** Step 4: the length and alignment the release accepts. */
function lengthAndAlignmentAllowed(p: KernelProfile, addr: bigint, len: number): boolean {
  if (p.lengthRule === 'orig-only') return addr % BigInt(ORIG_RSEQ_SIZE) === 0n && len === ORIG_RSEQ_SIZE;
  if (len < ORIG_RSEQ_SIZE) return false;
  if (len === ORIG_RSEQ_SIZE) return addr % BigInt(ORIG_RSEQ_SIZE) === 0n;
  return addr % BigInt(p.extendedAlign) === 0n && len >= (p.featureSize ?? 0);
}

/** How the kernel will treat the registration's IDs (7.0: by length, legacy for 32 bytes). */
function registrationMode(p: KernelProfile, len: number): RegistrationMode {
  return p.idUpdate === 'by-length' ? (len > ORIG_RSEQ_SIZE ? 'v2' : 'legacy') : p.idUpdate === 'on-change' ? 'on-change' : 'every-switch';
}

/** Step 6: what the release reads and writes in the area at registration (throws MemoryFault). */
function touchArea(k: KernelState, addr: bigint, mode: RegistrationMode, fl: number): void {
  const p = k.profile;
  if (p.registrationAccess === 'clear-rseq-cs') {
    clearRseqCsIfSet(k.memory, addr);
  } else if (p.registrationAccess === 'init-fields') {
    // 7.0: struct rseq::flags carries the read-only slice bits of a v2 registration.
    let flags: number | null = null;
    if (p.sliceExtension) {
      flags = 0;
      if (mode === 'v2') {
        flags |= RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE;
        if (fl & RSEQ_FLAG_SLICE_EXT_DEFAULT_ON) flags |= RSEQ_CS_FLAG_SLICE_EXT_ENABLED;
      }
    }
    initFields(k.memory, addr, flags, p.sliceExtension && mode === 'v2');
  }
}
