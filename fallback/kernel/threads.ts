/**
 * The scheduler's side of the simulated kernel: the process's threads (clone
 * and exit), the CPU each one runs on and its NUMA node, affinity
 * (sched_setaffinity), migration and preemption (the events a return to user
 * space acts on), and the mm_cid each thread gets. Which event happens when
 * is decided elsewhere: by the seeded scheduler (scheduler.ts), by the host
 * backend (fallback/host-thread.ts, fallback/host-sections.ts) or by a test
 * driving the Machine.
 */
import { fail, ok, type SyscallResult } from './errno.js';
import { RSEQ_CPU_ID_UNINITIALIZED } from './profiles.js';
import type { KernelState } from './state.js';
import { RSEQ_EVENT, ThreadState } from './thread.js';

/** The TLS block mapped for every thread, and where the thread pointer points in it. */
const TLS_BLOCK_BYTES = 8192;
const TP_OFFSET_IN_BLOCK = 4096;

/** cpu_to_node(): CPUs are split into `nodes` contiguous blocks. */
export function nodeOf(k: KernelState, cpu: number): number {
  k.checkCpu(cpu);
  return Math.floor((cpu * k.nrNodes) / k.nrCpus);
}

/** A CPU list as a set: sorted, without duplicates; RangeError for a CPU the machine does not have. */
function normaliseMask(k: KernelState, cpus: readonly number[]): number[] {
  const set = new Set<number>();
  for (const c of cpus) {
    k.checkCpu(c);
    set.add(c);
  }
  return [...set].sort((a, b) => a - b);
}

/**
 * clone(): a new thread of the process. Its affinity defaults to every CPU;
 * its CPU defaults to the allowed CPUs in turn (the n-th thread created
 * gets allowed[n % allowed.length]). The first thread's tid is the pid.
 */
export function createThread(k: KernelState, opts: { tid?: number; affinity?: readonly number[]; cpu?: number }): ThreadState {
  const affinity = normaliseMask(k, opts.affinity ?? k.allCpus());
  if (affinity.length === 0) throw new RangeError('a thread needs at least one allowed CPU');
  const cpu = opts.cpu ?? (affinity[k.createdThreads % affinity.length] as number);
  k.checkCpu(cpu);
  if (!affinity.includes(cpu)) throw new RangeError(`cpu ${cpu} is not in the thread's affinity`);
  const tid = opts.tid ?? k.nextTid;
  if (k.threads.get(tid)?.alive) throw new RangeError(`thread ${tid} exists`);
  k.nextTid = Math.max(k.nextTid, tid + 1);
  k.createdThreads++;
  const block = k.memory.map(TLS_BLOCK_BYTES, 64, `tls:${tid}`);
  const t = new ThreadState(tid, block, block + BigInt(TP_OFFSET_IN_BLOCK), cpu, affinity);
  k.threads.set(tid, t);
  k.mmCidLocal.attach(tid, affinity);
  if (k.mmCidSource !== k.mmCidLocal) k.mmCidSource.attach(tid, affinity);
  resyncMmCids(k);
  return t;
}

/**
 * exit(): the registration is dropped without touching the area (the
 * kernel skips rseq work for PF_EXITING tasks), the thread's mm_cid is
 * released and its TLS block (with a glibc-owned area) is unmapped.
 */
export function exitThread(k: KernelState, t: ThreadState): void {
  if (!t.alive) return;
  t.alive = false;
  t.registration = null;
  t.registrationOwner = null;
  k.slice.reset(t.tid, false);
  k.mmCidLocal.detach(t.tid);
  if (k.mmCidSource !== k.mmCidLocal) k.mmCidSource.detach(t.tid);
  k.memory.unmap(t.tlsBlock);
  k.threads.delete(t.tid);
  resyncMmCids(k);
}

/**
 * The kernel changes a task's mm_cid only when it schedules the task, so
 * a thread whose id the model reassigned (threads joined or left the mm,
 * affinities changed) is treated as scheduled out and back in: it gets a
 * preemption event (an in-flight critical section aborts) and its new
 * mm_cid is written on its next return to user space. Ids from an
 * external source (the host's shared pool) change only when asked.
 */
function resyncMmCids(k: KernelState): void {
  if (k.mmCidSource !== k.mmCidLocal || !k.profile.writesNodeAndMmCid) return;
  for (const t of k.threads.values()) {
    if (!t.alive || !t.registration || t.ids.cpuId === RSEQ_CPU_ID_UNINITIALIZED) continue;
    if (k.mmCidLocal.cidFor(t.tid, t.cpu) !== t.ids.mmCid) t.pendingEvents |= RSEQ_EVENT.PREEMPT;
  }
}

/** The mm_cid the thread has while running on its CPU. */
export function mmCidOf(k: KernelState, t: ThreadState): number {
  return k.mmCidSource.cidFor(t.tid, t.cpu);
}

/**
 * Move a thread to another CPU of its affinity (the scheduler's load
 * balancing, or the migration after sched_setaffinity). The IDs are
 * written on its next return to user space.
 */
export function migrate(k: KernelState, t: ThreadState, cpu: number): void {
  k.checkCpu(cpu);
  if (!t.affinity.includes(cpu)) throw new RangeError(`cpu ${cpu} is not in thread ${t.tid}'s affinity`);
  if (cpu === t.cpu) return;
  t.cpu = cpu;
  // rseq_migrate() (4.18–6.18) / __set_task_cpu -> ids_changed (6.19+);
  // the thread was also switched out (rseq_preempt).
  t.forceUpdate = true;
  t.pendingEvents |= RSEQ_EVENT.PREEMPT | RSEQ_EVENT.MIGRATE;
}

/**
 * The thread was scheduled out and will be scheduled back in
 * (rseq_preempt: preemption, yield, blocking): its next return to user
 * space handles a critical section it was in.
 */
export function preempt(t: ThreadState): void {
  if (t.registration) t.pendingEvents |= RSEQ_EVENT.PREEMPT;
}

/**
 * sched_setaffinity(tid, cpus): EINVAL when no CPU of the mask is online.
 * A thread whose CPU is still allowed stays; otherwise it moves to the
 * lowest allowed CPU (the real kernel may pick any of them).
 */
export function setAffinity(k: KernelState, t: ThreadState, cpus: readonly number[]): SyscallResult {
  k.slice.syscallEntry(t);
  const mask = [...new Set(cpus)].filter((c) => Number.isInteger(c) && c >= 0 && c < k.nrCpus).sort((a, b) => a - b);
  if (mask.length === 0) return fail('EINVAL');
  t.affinity = mask;
  k.mmCidLocal.allow(t.tid, mask);
  if (k.mmCidSource !== k.mmCidLocal) k.mmCidSource.allow(t.tid, mask);
  if (!mask.includes(t.cpu)) migrate(k, t, mask[0] as number);
  resyncMmCids(k);
  return ok();
}
