/**
 * The time-slice extension of Linux 7.0, as the simulated kernel applies it
 * (Documentation/userspace-api/rseq.rst "Time slice extension", the prctl of
 * kernel/rseq.c, include/linux/rseq_entry.h; written from those facts).
 *
 * - prctl(PR_RSEQ_SLICE_EXTENSION, GET | SET, ...) enables it per thread:
 *   EINVAL where the kernel does not know the option (before 7.0) or an
 *   argument is wrong, ENOTSUPP when the `rseq_slice_ext=` boot option turned
 *   it off, ENXIO when the thread has no rseq area it can use (no
 *   registration, or, in this model, a 7.0 legacy registration of 32 bytes:
 *   the extension belongs to the optimised v2 mode). SET keeps the read-only
 *   RSEQ_CS_FLAG_SLICE_EXT_ENABLED bit of struct rseq::flags in step.
 * - An interrupt that would reschedule a thread that enabled it and has
 *   slice_ctrl == { request: 1 } is granted instead: the kernel clears
 *   request, sets granted, arms the timer and lets the thread run on.
 *   Without a request the thread is preempted as usual.
 * - The timer's expiry revokes a grant (granted cleared) and preempts.
 * - Any system call during a grant revokes it and reschedules the thread
 *   when it returns; rseq_slice_yield() (471) is that system call on
 *   purpose, answering 1 when a grant was still active, else 0.
 * - Inconsistent flags kill the process with SIGSEGV: a `granted` the kernel
 *   did not give, or bits other than `request` set, when the kernel looks at
 *   slice_ctrl on an interrupt; anything but { granted: 1 } at the system
 *   call that ends a grant (user space set request again, or cleared granted
 *   itself).
 */
import { fail, ok, type SyscallResult } from './errno.js';
import { MemoryFault } from './memory.js';
import { RSEQ_CS_FLAG_SLICE_EXT_ENABLED, RSEQ_FIELD } from './profiles.js';
import type { Machine } from './kernel.js';
import type { SimThread } from './thread.js';

/** prctl option and its operations (include/uapi/linux/prctl.h, 7.0). */
export const PR_RSEQ_SLICE_EXTENSION = 79;
export const PR_RSEQ_SLICE_EXTENSION_GET = 1;
export const PR_RSEQ_SLICE_EXTENSION_SET = 2;
export const PR_RSEQ_SLICE_EXT_ENABLE = 1;
/** __NR_rseq_slice_yield (unified syscall table, 7.0). */
export const NR_RSEQ_SLICE_YIELD = 471;

/** slice_ctrl as a u32: request is byte 0, granted byte 1. */
export const SLICE_REQUEST = 0x1;
export const SLICE_GRANTED = 0x100;

/** What an interrupt that would reschedule the thread ended in. */
export type SliceInterrupt =
  /** The kernel granted an extension (or one is running): the thread runs on. */
  | 'granted'
  /** The thread was preempted (no request, not enabled, or the timer expired). */
  | 'preempted'
  /** The process was killed (inconsistent slice_ctrl, or a fault). */
  | 'killed';

interface SliceState {
  enabled: boolean;
  granted: boolean;
}

export class SliceModel {
  private readonly threads = new Map<number, SliceState>();

  /** `disabled`: the rseq_slice_ext= boot option turned the extension off. */
  constructor(
    private readonly machine: Machine,
    private readonly disabled: boolean,
  ) {}

  /** A registration (or its end) resets the thread's state; 7.0 may enable it at registration. */
  reset(tid: number, enabled: boolean): void {
    if (enabled) this.threads.set(tid, { enabled: true, granted: false });
    else this.threads.delete(tid);
  }

  /** The kernel's view of the thread: enabled, and a grant running. */
  state(thread: SimThread | number): Readonly<SliceState> {
    return this.threads.get(this.tid(thread)) ?? { enabled: false, granted: false };
  }

  private tid(thread: SimThread | number): number {
    return typeof thread === 'number' ? thread : thread.tid;
  }

  private thread(thread: SimThread | number): SimThread {
    const t = this.machine.thread(this.tid(thread));
    if (!t) throw new RangeError(`no thread ${this.tid(thread)}`);
    return t;
  }

  private ctrlAddr(t: SimThread): bigint | null {
    const reg = t.registration;
    return reg ? reg.addr + BigInt(RSEQ_FIELD.sliceCtrl) : null;
  }

  private kill(t: SimThread, reason: string): void {
    this.machine.userFault(t, reason);
  }

  /**
   * The syscall-entry work of every system call: a running grant ends here
   * (slice_ctrl must read exactly { granted: 1 }, else SIGSEGV), granted is
   * cleared and the thread is rescheduled before the call returns.
   * 'revoked' when a grant was running.
   */
  syscallEntry(thread: SimThread | number): 'none' | 'revoked' | 'killed' {
    const t = this.thread(thread);
    const st = this.threads.get(t.tid);
    if (!st || !st.granted) return 'none';
    st.granted = false;
    const addr = this.ctrlAddr(t);
    if (addr === null) return 'none';
    try {
      const word = this.machine.memory.readU32(addr);
      if (word !== SLICE_GRANTED) {
        this.kill(t, `inconsistent rseq slice_ctrl 0x${word.toString(16)} at a system call during a granted time-slice extension`);
        return 'killed';
      }
      this.machine.memory.writeU32(addr, 0);
    } catch (e) {
      if (!(e instanceof MemoryFault)) throw e;
      this.kill(t, `fault on rseq slice_ctrl at 0x${e.addr.toString(16)}`);
      return 'killed';
    }
    this.machine.preempt(t);
    return 'revoked';
  }

  /** prctl(option, arg2, arg3, arg4, arg5) for PR_RSEQ_SLICE_EXTENSION (any other option: EINVAL). */
  prctl(thread: SimThread | number, option: number, arg2: number, arg3 = 0, arg4 = 0, arg5 = 0): SyscallResult {
    const t = this.thread(thread);
    if (this.syscallEntry(t) === 'killed') return fail('EINVAL');
    const p = this.machine.profile;
    if (option !== PR_RSEQ_SLICE_EXTENSION || !p.sliceExtension) return fail('EINVAL');
    if (this.disabled) return fail('ENOTSUPP');
    const reg = t.registration;
    if (!reg || reg.mode !== 'v2') return fail('ENXIO');
    if (arg4 !== 0 || arg5 !== 0) return fail('EINVAL');
    const st = this.threads.get(t.tid) ?? { enabled: false, granted: false };
    if (arg2 === PR_RSEQ_SLICE_EXTENSION_GET) {
      if (arg3 !== 0) return fail('EINVAL');
      return ok(st.enabled ? PR_RSEQ_SLICE_EXT_ENABLE : 0);
    }
    if (arg2 !== PR_RSEQ_SLICE_EXTENSION_SET || (arg3 !== 0 && arg3 !== PR_RSEQ_SLICE_EXT_ENABLE)) return fail('EINVAL');
    const on = arg3 === PR_RSEQ_SLICE_EXT_ENABLE;
    const flagsAddr = reg.addr + BigInt(RSEQ_FIELD.flags);
    try {
      const flags = this.machine.memory.readU32(flagsAddr);
      this.machine.memory.writeU32(flagsAddr, on ? (flags | RSEQ_CS_FLAG_SLICE_EXT_ENABLED) >>> 0 : flags & ~RSEQ_CS_FLAG_SLICE_EXT_ENABLED);
    } catch (e) {
      if (!(e instanceof MemoryFault)) throw e;
      return fail('EFAULT');
    }
    this.threads.set(t.tid, { enabled: on, granted: on && st.granted });
    return ok(0);
  }

  /** rseq_slice_yield(): ENOSYS before 7.0; 1 when a grant was still running, else 0. */
  sliceYield(thread: SimThread | number): SyscallResult {
    const t = this.thread(thread);
    if (!this.machine.profile.sliceExtension) return fail('ENOSYS');
    const r = this.syscallEntry(t);
    return ok(r === 'revoked' ? 1 : 0);
  }

  /**
   * An interrupt that would reschedule the thread (its time slice is used
   * up and another task waits). With the extension enabled and
   * slice_ctrl == { request: 1 } the kernel grants instead of preempting.
   */
  interrupt(thread: SimThread | number): SliceInterrupt {
    const t = this.thread(thread);
    const st = this.threads.get(t.tid);
    const addr = this.ctrlAddr(t);
    if (st && st.enabled && addr !== null && t.registration?.mode === 'v2') {
      if (st.granted) return 'granted'; // the timer bounds a running grant
      let word: number;
      try {
        word = this.machine.memory.readU32(addr);
      } catch (e) {
        if (!(e instanceof MemoryFault)) throw e;
        this.kill(t, `fault on rseq slice_ctrl at 0x${e.addr.toString(16)}`);
        return 'killed';
      }
      if (word === SLICE_REQUEST) {
        try {
          this.machine.memory.writeU32(addr, SLICE_GRANTED);
        } catch (e) {
          if (!(e instanceof MemoryFault)) throw e;
          this.kill(t, `fault on rseq slice_ctrl at 0x${e.addr.toString(16)}`);
          return 'killed';
        }
        st.granted = true;
        return 'granted';
      }
      if (word !== 0) {
        this.kill(t, `inconsistent rseq slice_ctrl 0x${word.toString(16)}: only request may be set by user space`);
        return 'killed';
      }
    }
    return this.preempt(t);
  }

  /** The extension timer fired: a running grant is revoked and the thread preempted. */
  timerExpire(thread: SimThread | number): SliceInterrupt | 'none' {
    const t = this.thread(thread);
    const st = this.threads.get(t.tid);
    if (!st || !st.granted) return 'none';
    st.granted = false;
    const addr = this.ctrlAddr(t);
    if (addr !== null) {
      try {
        const word = this.machine.memory.readU32(addr);
        this.machine.memory.writeU32(addr, word & ~SLICE_GRANTED);
      } catch (e) {
        if (!(e instanceof MemoryFault)) throw e;
        this.kill(t, `fault on rseq slice_ctrl at 0x${e.addr.toString(16)}`);
        return 'killed';
      }
    }
    return this.preempt(t);
  }

  private preempt(t: SimThread): SliceInterrupt {
    this.machine.preempt(t);
    const r = this.machine.returnToUser(t, 'preempt');
    return r.signal ? 'killed' : 'preempted';
  }
}
