/**
 * A process-wide mm_cid pool for the host fallback, shared by every isolate
 * (main thread and workers) through worker_threads environment data.
 *
 * Each isolate runs its own simulated machine (see backend.ts), so without
 * this pool every thread would see mm_cid 0. The pool lives in a
 * SharedArrayBuffer stored with setEnvironmentData() under a key that
 * includes the CPU count, by the first simulator backend of the process;
 * workers started after that inherit a clone of it, and clones of a
 * SharedArrayBuffer share the memory. Layout (Int32Array):
 *   [0] unused, [1] users (live threads holding a reference),
 *   [2] CPU count, [3 .. 3+cpus) slot owner (tid + 1, 0 = free).
 * A thread holds slot `cid`; ids are taken lowest-first below
 * min(cpus, users) and converge down lazily when a thread asks for its id
 * while holding one at or above that bound (as the 6.19 kernel converges at
 * schedule-in). With more live threads than CPUs, threads without a slot use
 * their CPU number (the kernel's per-CPU ownership), so ids stay below the
 * CPU count but may repeat, as on a real kernel.
 *
 * No lock: a slot is taken and given back with compare-exchange by its owner,
 * and the user count with Atomics.add, so a worker terminated anywhere in
 * here leaves nothing that another thread waits for (at most its slot).
 *
 * Limits: isolates that do not inherit the environment data (workers
 * created before the first simulator backend of the process, or by a worker
 * that never created one) get their own pool; a worker killed with
 * Worker.terminate() does not run its 'exit' handlers and keeps its slot.
 */
import { environmentBuffer } from './environment-buffer.js';
import type { MmCidSource } from './kernel/mmcid.js';

const HEADER = 3;
const USERS = 1;
const CPUS = 2;

function keyFor(cpus: number): string {
  return `rseq-simulator:mm-cid:v1:cpus=${cpus}`;
}

export class SharedMmCidPool implements MmCidSource {
  readonly buffer: SharedArrayBuffer;
  private readonly a: Int32Array;
  private readonly cpus: number;
  /** References this isolate holds per tid (attach may be called more than once). */
  private readonly localRefs = new Map<number, number>();

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.a = new Int32Array(buffer);
    this.cpus = this.a[CPUS] as number;
  }

  /** A pool of `cpus` slots; fresh unless this isolate inherited one. */
  static forCpus(cpus: number): SharedMmCidPool {
    const sab = environmentBuffer(keyFor(cpus), (HEADER + cpus) * 4, (b) => {
      new Int32Array(b)[CPUS] = cpus;
    });
    return new SharedMmCidPool(sab);
  }

  private slotOf(tid: number): number {
    for (let i = 0; i < this.cpus; i++) if (Atomics.load(this.a, HEADER + i) === tid + 1) return i;
    return -1;
  }

  private takeLowest(tid: number, below: number): number {
    for (let i = 0; i < below; i++) {
      if (Atomics.compareExchange(this.a, HEADER + i, 0, tid + 1) === 0) return i;
    }
    return -1;
  }

  private give(tid: number, slot: number): void {
    Atomics.compareExchange(this.a, HEADER + slot, tid + 1, 0);
  }

  attach(tid: number): void {
    const refs = this.localRefs.get(tid) ?? 0;
    this.localRefs.set(tid, refs + 1);
    if (refs > 0) return;
    const users = Atomics.add(this.a, USERS, 1) + 1;
    if (this.slotOf(tid) < 0) this.takeLowest(tid, Math.min(this.cpus, users));
  }

  detach(tid: number): void {
    const refs = this.localRefs.get(tid) ?? 0;
    if (refs === 0) return;
    if (refs > 1) {
      this.localRefs.set(tid, refs - 1);
      return;
    }
    this.localRefs.delete(tid);
    const slot = this.slotOf(tid);
    if (slot >= 0) this.give(tid, slot);
    Atomics.sub(this.a, USERS, 1);
  }

  allow(): void {
    // The pool treats every CPU as allowed.
  }

  cidFor(tid: number, cpu: number): number {
    const users = Math.max(1, Atomics.load(this.a, USERS));
    const bound = Math.min(this.cpus, users);
    let slot = this.slotOf(tid);
    if (slot >= bound || slot < 0) {
      const lower = this.takeLowest(tid, Math.min(bound, slot >= 0 ? slot : bound));
      if (lower >= 0) {
        if (slot >= 0) this.give(tid, slot);
        slot = lower;
      }
    }
    return slot >= 0 ? slot : cpu % this.cpus;
  }

  /** Live threads holding a reference, over all isolates sharing the pool. */
  get users(): number {
    return Atomics.load(this.a, USERS);
  }
}
