/**
 * membarrier(2) on the simulated machine: the commands the release knows,
 * the process's registrations, and MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
 * which restarts the critical sections of other threads through a
 * preemption event on their next return to user space.
 */
import { fail, ok, type SyscallResult } from './errno.js';
import { MEMBARRIER_CMD, MEMBARRIER_CMD_FLAG_CPU } from './profiles.js';
import type { KernelState } from './state.js';
import { RSEQ_EVENT, type ThreadState } from './thread.js';

/** The MEMBARRIER_CMD_QUERY mask of the machine. */
export function membarrierMask(k: KernelState): number {
  let mask = k.profile.membarrierCommands;
  if (k.nohzFull) mask &= ~MEMBARRIER_CMD.GLOBAL;
  return mask;
}

/**
 * sys_membarrier(cmd, flags, cpu_id) (kernel/sched/membarrier.c): flags
 * must be 0 except MEMBARRIER_CMD_FLAG_CPU with PRIVATE_EXPEDITED_RSEQ;
 * unknown commands are EINVAL; the PRIVATE_EXPEDITED* commands are EPERM
 * until the process registered for them. PRIVATE_EXPEDITED_RSEQ makes
 * every other live thread (or the ones on `cpuId` with FLAG_CPU) take the
 * rseq preemption path on its next return to user space.
 */
export function sysMembarrier(k: KernelState, caller: ThreadState, cmd: number, flags: number, cpuId: number): SyscallResult {
  k.slice.syscallEntry(caller);
  const mask = membarrierMask(k);
  const hasRseq = (k.profile.membarrierCommands & MEMBARRIER_CMD.PRIVATE_EXPEDITED_RSEQ) !== 0;
  if (cmd === MEMBARRIER_CMD.PRIVATE_EXPEDITED_RSEQ && hasRseq) {
    if (flags !== 0 && flags !== MEMBARRIER_CMD_FLAG_CPU) return fail('EINVAL');
  } else if (flags !== 0) {
    return fail('EINVAL');
  }
  const targetCpu = flags & MEMBARRIER_CMD_FLAG_CPU ? cpuId : -1;
  if (cmd === MEMBARRIER_CMD.QUERY) return ok(mask);
  if (cmd < 0 || (cmd & (cmd - 1)) !== 0 || (k.profile.membarrierCommands & cmd) === 0) return fail('EINVAL');
  const C = MEMBARRIER_CMD;
  switch (cmd) {
    case C.GLOBAL:
      return k.nohzFull ? fail('EINVAL') : ok();
    case C.GLOBAL_EXPEDITED:
      return ok();
    case C.REGISTER_GLOBAL_EXPEDITED:
    case C.REGISTER_PRIVATE_EXPEDITED:
    case C.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE:
    case C.REGISTER_PRIVATE_EXPEDITED_RSEQ:
      k.membarrierState |= cmd;
      return ok();
    case C.PRIVATE_EXPEDITED:
      return k.membarrierState & C.REGISTER_PRIVATE_EXPEDITED ? ok() : fail('EPERM');
    case C.PRIVATE_EXPEDITED_SYNC_CORE:
      return k.membarrierState & C.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE ? ok() : fail('EPERM');
    case C.PRIVATE_EXPEDITED_RSEQ: {
      if (!(k.membarrierState & C.REGISTER_PRIVATE_EXPEDITED_RSEQ)) return fail('EPERM');
      if (k.mmCidLocal.nrUsers === 1) return ok();
      for (const t of k.threads.values()) {
        if (!t.alive) continue;
        if (targetCpu >= 0 ? t.cpu !== targetCpu : t === caller) continue;
        // ipi_rseq(): rseq_preempt() on the target (rseq_sched_switch_event on 6.19+).
        if (t.registration) t.pendingEvents |= RSEQ_EVENT.PREEMPT;
      }
      return ok();
    }
    case C.GET_REGISTRATIONS:
      return ok(k.membarrierState);
    default:
      return fail('EINVAL');
  }
}
