/**
 * The section locks of the per-CPU structures: one lock word per slot for
 * sections in mode `cpu` and one per mm_cid for mode `mmcid`, plus a fence
 * generation per CPU, in Int32 words of a SharedArrayBuffer. They make
 * single-attempt sections (section-region.ts) linearisable across real
 * JavaScript threads where nothing else does: under the simulator backend
 * (its step programs run on ordinary memory) and on the slot-locked path of
 * kernels where rseq critical sections are unsafe (src/percpu/locked.ts).
 * A structure's locks live in its own buffer (Layout.locks, layout.ts
 * lockInt32s), so every thread that binds the structure shares them.
 *
 * rseq guarantees that only one thread at a time runs a section on a CPU:
 * a thread that wants the CPU preempts the one in the section, which then
 * aborts. The model here: a section attempt holds the lock of its id for its
 * whole duration (from the descriptor store to the return), so two threads
 * with the same id serialise and a per-CPU structure shared by workers stays
 * exact. A waiter that has seen the same holding (same holder, same
 * acquisition) for longer than PREEMPT_AFTER_MS (the holder's real thread
 * was descheduled by the host, or is slow) asks for the CPU: the holder
 * aborts at its next step, as a thread preempted inside a section does.
 *
 * Layout (Int32Array, from the lock area's first word):
 *   [0] magic  [1] slots (CPUs)  [2] [3] unused
 *   then `slots` words each: cpu locks, mm_cid locks (0 = free, else the
 *   holder's token), cpu preemption requests, mm_cid preemption requests
 *   (the token of the holder asked to leave), fence generations per CPU,
 *   then acquisition counts of the cpu and mm_cid locks.
 *
 * A lock held for more than STALE_AFTER_MS by the same holder is taken over
 * (a worker killed with Worker.terminate() inside a section never releases
 * it); the old holder, if it was only slow, finds at its next step that it
 * lost the lock and aborts. The commit store itself is not re-checked, so a
 * holder stalled for STALE_AFTER_MS exactly between that check and its
 * commit could still commit late: the model's one known window.
 */

const MAGIC = 0x72736c6b;
const HEADER = 4;

/** A waiter seeing the same holder this long asks it to leave the CPU (a simulated preemption). */
export const PREEMPT_AFTER_MS = 1;
/** A holder that keeps a lock this long is presumed dead and the lock is taken over. */
export const STALE_AFTER_MS = 5000;
/** Compare-exchange attempts before a waiter starts sleeping in Atomics.wait. */
const SPINS = 200;

export type LockKind = 'cpu' | 'mmcid';

/** A thread's lock token from its process id and worker_threads threadId: unique in the process, never 0. */
export function lockToken(pid: number, threadId: number): number {
  return (pid + threadId + 1) | 0 || 1;
}

export class SharedSectionLocks {
  readonly buffer: SharedArrayBuffer;
  readonly cpus: number;
  private readonly a: Int32Array;

  constructor(buffer: SharedArrayBuffer, byteOffset = 0) {
    this.buffer = buffer;
    this.a = new Int32Array(buffer, byteOffset);
    if (this.a[0] !== MAGIC) throw new TypeError('not a section lock buffer');
    this.cpus = this.a[1] as number;
  }

  /**
   * The locks that live inside a per-CPU structure's buffer (layout.ts
   * reserves bytesFor(slots) at `byteOffset`, zeroed): whichever thread binds
   * the structure first writes their header, so every thread that uses the
   * structure shares them, whatever the order in which threads loaded the package.
   */
  static within(buffer: SharedArrayBuffer, byteOffset: number, slots: number): SharedSectionLocks {
    const a = new Int32Array(buffer, byteOffset, HEADER);
    // Every binder writes the same two values, so none waits for another.
    Atomics.compareExchange(a, 1, 0, slots);
    Atomics.compareExchange(a, 0, 0, MAGIC);
    return new SharedSectionLocks(buffer, byteOffset);
  }

  static bytesFor(cpus: number): number {
    return (HEADER + 7 * cpus) * 4;
  }

  /** Writes the header of fresh locks for `cpus` CPUs at the start of a zeroed buffer. */
  static initialise(buffer: SharedArrayBuffer, cpus: number): void {
    const a = new Int32Array(buffer);
    a[0] = MAGIC;
    a[1] = cpus;
  }

  private lockAt(kind: LockKind, slot: number): number {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.cpus) throw new RangeError(`no ${kind} lock ${slot}`);
    return HEADER + (kind === 'cpu' ? 0 : this.cpus) + slot;
  }

  private requestAt(kind: LockKind, slot: number): number {
    return this.lockAt(kind, slot) + 2 * this.cpus;
  }

  private genAt(cpu: number): number {
    return HEADER + 4 * this.cpus + cpu;
  }

  private seqAt(kind: LockKind, slot: number): number {
    return this.lockAt(kind, slot) + 5 * this.cpus;
  }

  /** Takes the lock for one section attempt; `token` is the caller's, never 0. */
  acquire(kind: LockKind, slot: number, token: number): void {
    const i = this.lockAt(kind, slot);
    const req = this.requestAt(kind, slot);
    const seq = this.seqAt(kind, slot);
    const a = this.a;
    let spins = 0;
    let seen = 0;
    let seenSeq = -1;
    let since = 0;
    for (;;) {
      const prev = Atomics.compareExchange(a, i, 0, token);
      if (prev === 0 || prev === token) {
        Atomics.add(a, seq, 1);
        Atomics.compareExchange(a, req, token, 0);
        return;
      }
      if (++spins < SPINS) continue;
      const now = performance.now();
      const holding = Atomics.load(a, seq);
      if (prev !== seen || holding !== seenSeq) {
        seen = prev;
        seenSeq = holding;
        since = now;
      } else if (now - since > STALE_AFTER_MS) {
        if (Atomics.compareExchange(a, i, prev, token) === prev) {
          Atomics.add(a, seq, 1);
          Atomics.compareExchange(a, req, prev, 0);
          return;
        }
      } else if (now - since > PREEMPT_AFTER_MS) {
        Atomics.store(a, req, prev);
      }
      Atomics.wait(a, i, prev, 1);
    }
  }

  /** True while `token` holds the lock. */
  holds(kind: LockKind, slot: number, token: number): boolean {
    return Atomics.load(this.a, this.lockAt(kind, slot)) === token;
  }

  /** Another thread asked the holder `token` to leave the CPU. */
  preemptRequested(kind: LockKind, slot: number, token: number): boolean {
    return Atomics.load(this.a, this.requestAt(kind, slot)) === token;
  }

  release(kind: LockKind, slot: number, token: number): void {
    const i = this.lockAt(kind, slot);
    Atomics.compareExchange(this.a, this.requestAt(kind, slot), token, 0);
    if (Atomics.compareExchange(this.a, i, token, 0) === token) Atomics.notify(this.a, i, 1);
  }

  /** How many fences targeted this CPU so far. */
  generation(cpu: number): number {
    return Atomics.load(this.a, this.genAt(cpu));
  }

  /**
   * The host side of membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ): bumps
   * the fence generation of the CPU (cpu >= 0) or of every CPU, so that a
   * section in flight there aborts at its next step, then takes and
   * releases the CPU's lock (or every CPU lock) and every mm_cid lock, so
   * that each section in flight has aborted or completed before this
   * returns. `token` is the caller's (it holds no lock).
   */
  fence(cpu: number, token: number): void {
    const cpus = cpu < 0 ? Array.from({ length: this.cpus }, (_, c) => c) : cpu < this.cpus ? [cpu] : [];
    for (const c of cpus) Atomics.add(this.a, this.genAt(c), 1);
    for (const c of cpus) {
      this.acquire('cpu', c, token);
      this.release('cpu', c, token);
    }
    // A section in mode mmcid may run on any CPU: wait for all of them.
    if (cpus.length > 0) {
      for (let s = 0; s < this.cpus; s++) {
        this.acquire('mmcid', s, token);
        this.release('mmcid', s, token);
      }
    }
  }
}
