/**
 * The mm_cid ("memory-map concurrency id") allocator of one simulated
 * process.
 *
 * What the kernel does (kernel/sched/sched.h and core.c):
 * - 6.3 and later until the 2025 fix: a CID is taken from the mm's bitmap when a task is scheduled
 *   in and kept lazily per CPU; ids are compact but only bounded by the
 *   number of possible CPUs.
 * - 2025 (Mathieu Desnoyers / Gabriele Monaco, commit 02d954c0fdf9, fixing
 *   7e019dcc470f): max_nr_cid is clamped to min(mm->nr_cpus_allowed,
 *   mm_users) in __mm_cid_try_get; a recent CID is only reused below it.
 * - 6.19 (Thomas Gleixner's sched/mmcid rework): per-task or per-CPU
 *   ownership. opt = min(nr_cpus_allowed, users), max_cids =
 *   min(opt + opt / 4, nr_cpu_ids); the mm switches to per-CPU ownership when
 *   users > max_cids and back below a threshold of opt - opt / 4; CIDs above
 *   the optimum converge down when tasks are scheduled in.
 * nr_cpus_allowed is the weight of the union of the affinity masks of all
 * the mm's tasks; the union only grows (cpumask_or in
 * mm_update_cpus_allowed).
 *
 * The model's simplification (documented, the same for every release that
 * has mm_cid):
 * - bound = min(|union of allowed CPUs|, live threads);
 * - per-task mode while live threads <= |union|: every live thread owns a
 *   distinct id, lowest free first, and ids are compacted eagerly when
 *   threads exit (the kernel converges lazily and may briefly use ids up to
 *   max_cids, 25 % above the optimum on 6.19+);
 * - per-CPU mode when live threads > |union| (no hysteresis): a thread's id
 *   is the rank of its CPU in the union, so threads running on different
 *   CPUs never share an id and threads on the same CPU (which cannot run at
 *   the same time) do.
 * So a simulated mm_cid is always in [0, min(|union|, live threads)), which
 * is inside every release's bound.
 */

/** Where the simulated kernel gets a thread's mm_cid from. */
export interface MmCidSource {
  /** A thread joined the mm (fork/clone). */
  attach(tid: number, affinity: readonly number[]): void;
  /** A thread left the mm (exit). */
  detach(tid: number): void;
  /** A thread's affinity changed; the mm's allowed set only grows. */
  allow(tid: number, affinity: readonly number[]): void;
  /** The id the thread uses when it runs on `cpu`. */
  cidFor(tid: number, cpu: number): number;
}

export class LocalMmCid implements MmCidSource {
  private readonly union = new Set<number>();
  private readonly users = new Set<number>();
  private readonly taskCid = new Map<number, number>();
  private perCpu = false;
  private sortedUnion: number[] = [];

  attach(tid: number, affinity: readonly number[]): void {
    this.users.add(tid);
    this.widen(affinity);
    this.recompute();
  }

  detach(tid: number): void {
    this.users.delete(tid);
    this.taskCid.delete(tid);
    this.recompute();
  }

  allow(_tid: number, affinity: readonly number[]): void {
    this.widen(affinity);
    this.recompute();
  }

  cidFor(tid: number, cpu: number): number {
    if (!this.users.has(tid)) throw new RangeError(`thread ${tid} is not a user of this mm`);
    if (this.perCpu) {
      const rank = this.sortedUnion.indexOf(cpu);
      if (rank < 0) throw new RangeError(`cpu ${cpu} is outside the mm's allowed CPUs`);
      return rank;
    }
    const cid = this.taskCid.get(tid);
    if (cid === undefined) throw new Error(`thread ${tid} holds no mm_cid`);
    return cid;
  }

  /** |union of allowed CPUs| (mm->nr_cpus_allowed). */
  get nrCpusAllowed(): number {
    return this.union.size;
  }

  /** Live threads of the mm (mm_users / mm_cid.users). */
  get nrUsers(): number {
    return this.users.size;
  }

  /** min(nr_cpus_allowed, users): every simulated mm_cid is below it. */
  get bound(): number {
    return Math.min(this.union.size, this.users.size);
  }

  /** True while CIDs are owned per CPU (more threads than allowed CPUs). */
  get perCpuMode(): boolean {
    return this.perCpu;
  }

  private widen(affinity: readonly number[]): void {
    let grew = false;
    for (const c of affinity) {
      if (!this.union.has(c)) {
        this.union.add(c);
        grew = true;
      }
    }
    if (grew) this.sortedUnion = [...this.union].sort((a, b) => a - b);
  }

  private recompute(): void {
    this.perCpu = this.users.size > this.union.size;
    if (this.perCpu) return;
    const bound = this.users.size;
    const used = new Set<number>();
    const needs: number[] = [];
    const tids = [...this.users].sort((a, b) => a - b);
    for (const tid of tids) {
      const cid = this.taskCid.get(tid);
      if (cid !== undefined && cid < bound && !used.has(cid)) used.add(cid);
      else needs.push(tid);
    }
    let next = 0;
    for (const tid of needs) {
      while (used.has(next)) next++;
      this.taskCid.set(tid, next);
      used.add(next);
    }
  }
}
