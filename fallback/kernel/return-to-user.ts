/**
 * The kernel's work on the way back to user space (the rseq part of
 * resume_user_mode_work / exit_to_user_mode), the single place where the
 * kernel works on a thread's area after registration. `cause` says what
 * happened since the thread last ran user code:
 * - 'preempt': scheduled out and back in (or interrupted while a
 *   membarrier IPI or migration was pending); 4.18–6.18 and 7.0 legacy
 *   rewrite the IDs; 6.19 and 7.0 v2 write them only when the CPU or
 *   mm_cid changed (or once after registration).
 * - 'signal': 4.18–6.18 and 7.0 legacy rewrite the IDs before delivery;
 *   6.19 and 7.0 v2 only handle the critical section.
 * - 'syscall': the thread made a system call and was not interrupted;
 *   only pending work (registration, migration, membarrier IPI) is done.
 * rseq_cs is evaluated against the thread's IP (rseq-cs.ts) as the profile's
 * `csEvaluation` says: 4.18–6.18 before the IDs on every notify-resume,
 * 6.19+ after them and only after an interrupt from user space (not on
 * the 'syscall' path). An abort moves the IP to abort_ip. A fault on the
 * area, a rogue descriptor, or on 7.0 v2 a read-only field changed by
 * user space, sends SIGSEGV.
 *
 * The steps, in order: takeEvents, the full descriptor check (4.18–6.18),
 * idsNow and mustWriteIds, updateIds, keepsSectionAfterPreemption (the
 * 6.19 arm64 defect), the fast descriptor check (6.19+).
 */
import { idsUnchanged, writeIds } from './area.js';
import { MemoryFault } from './memory.js';
import { evaluateCsFast, evaluateCsFull, type CsOutcome } from './rseq-cs.js';
import type { KernelState } from './state.js';
import { mmCidOf, nodeOf } from './threads.js';
import { RSEQ_EVENT, type Ids, type RseqRegistration, type ThreadState } from './thread.js';

/** Why a thread is returning to user space. */
export type ReturnCause =
  /** The thread was scheduled out and back in (preemption, yield, blocking). */
  | 'preempt'
  /** A signal is being delivered. */
  | 'signal'
  /** A system call returns without the thread having been scheduled out. */
  | 'syscall';

export interface ReturnToUserResult {
  /** The kernel wrote the ID fields. */
  wrote: boolean;
  /** What happened to rseq_cs (and the IP). */
  cs: CsOutcome;
  /** A fatal signal the kernel sent, or null. */
  signal: 'SIGSEGV' | null;
  /** Why the signal was sent. */
  reason: string | null;
}

export function returnToUser(k: KernelState, t: ThreadState, cause: ReturnCause): ReturnToUserResult {
  const result: ReturnToUserResult = { wrote: false, cs: 'none', signal: null, reason: null };
  const events = takeEvents(t, cause);
  const reg = t.registration;
  if (!reg) {
    t.forceUpdate = false;
    return result;
  }
  if (events === 0 && !t.forceUpdate) return result;
  const p = k.profile;

  // 4.18–6.18: rseq_ip_fixup() runs before rseq_update_cpu_id().
  if (p.csEvaluation === 'full') {
    const cs = evaluateCsFull(k, t, reg, events);
    if (typeof cs !== 'string') return killed(k, t, cs.fatal, result);
    result.cs = cs;
  }

  const ids = idsNow(k, t);
  if (mustWriteIds(t, reg, ids)) {
    const fatal = updateIds(k, t, reg, ids);
    if (fatal !== null) return killed(k, t, fatal, result);
    result.wrote = true;
  }

  if (keepsSectionAfterPreemption(k, cause, events)) return result;

  // 6.19+: rseq_update_user_cs() after the IDs, only for an interrupt from user space.
  if (p.csEvaluation === 'fast' && cause !== 'syscall' && events !== 0) {
    const cs = evaluateCsFast(k, t, reg);
    if (typeof cs !== 'string') return killed(k, t, cs.fatal, result);
    result.cs = cs;
  }
  return result;
}

/** The RSEQ_EVENT bits the thread collected since it last ran user code, plus the cause's own; none stay pending. */
function takeEvents(t: ThreadState, cause: ReturnCause): number {
  const events = t.pendingEvents | (cause === 'preempt' ? RSEQ_EVENT.PREEMPT : cause === 'signal' ? RSEQ_EVENT.SIGNAL : 0);
  t.pendingEvents = 0;
  return events;
}

/** The IDs of the CPU the thread runs on now. */
function idsNow(k: KernelState, t: ThreadState): Ids {
  return { cpuId: t.cpu, nodeId: nodeOf(k, t.cpu), mmCid: mmCidOf(k, t) };
}

/**
 * Whether the IDs are written on this return: always in `every-switch`
 * (4.18–6.18) and 7.0 `legacy` mode; in `on-change` (6.19) and 7.0 `v2` mode
 * only after registration or a migration (forceUpdate), or when an id changed.
 */
function mustWriteIds(t: ThreadState, reg: RseqRegistration, ids: Ids): boolean {
  switch (reg.mode) {
    case 'every-switch':
    case 'legacy':
      return true;
    case 'on-change':
    case 'v2':
      return t.forceUpdate || ids.cpuId !== t.ids.cpuId || ids.nodeId !== t.ids.nodeId || ids.mmCid !== t.ids.mmCid;
  }
}

/**
 * Writes the IDs into the area and caches them. First, in 7.0 v2 mode (with
 * read-only enforcement) or with rseq_debug on 6.19+, the ID fields must
 * still hold what the kernel last wrote. Returns a fatal reason (a field
 * changed by user space, a fault on the area), or null.
 */
function updateIds(k: KernelState, t: ThreadState, reg: RseqRegistration, ids: Ids): string | null {
  const p = k.profile;
  try {
    const readOnly = reg.mode === 'v2' && p.readOnlyEnforcement;
    if ((readOnly || (k.rseqDebug && p.csEvaluation === 'fast')) && !idsUnchanged(k.memory, reg.addr, t.ids)) {
      return `user space modified a read-only rseq field (${readOnly ? '7.0 optimised v2 mode' : 'rseq_debug'})`;
    }
    writeIds(k.memory, reg.addr, ids, p.writesNodeAndMmCid);
  } catch (e) {
    if (!(e instanceof MemoryFault)) throw e;
    return `fault writing the rseq area at 0x${e.addr.toString(16)}`;
  }
  t.ids = ids;
  t.forceUpdate = false;
  return null;
}

/**
 * 6.19 on arm64 (profile noPreemptAbort): after a preemption on the same
 * CPU the section is left running; only a migration or a signal gets it aborted.
 */
function keepsSectionAfterPreemption(k: KernelState, cause: ReturnCause, events: number): boolean {
  return k.profile.noPreemptAbort?.includes(k.arch) === true && cause !== 'signal' && (events & (RSEQ_EVENT.MIGRATE | RSEQ_EVENT.SIGNAL)) === 0;
}

/** force_sig(SIGSEGV): the result so far, with the signal and its reason. */
function killed(k: KernelState, t: ThreadState, reason: string, sofar: ReturnToUserResult): ReturnToUserResult {
  k.kill(t, reason);
  return { wrote: sofar.wrote, cs: sofar.cs, signal: 'SIGSEGV', reason };
}
