/**
 * A crosscheck concurrency worker: loads the compiled package (its backend
 * comes from RSEQ_BACKEND in the env the parent gave this worker), works on
 * the shared per-CPU structures in turn (counter, buffer, pool: one worker
 * for all three, because starting workers is what costs under emulation),
 * and samples the thread's ids to check the observed invariants (cpu_id
 * allowed, node_id as /sys says, mm_cid below min(allowed CPUs, threads)).
 */
import { PerCpuBuffer, PerCpuCounter, PerCpuPool, rseq } from '../index.js';
import { processThreads } from './host.js';
import { workerMain } from './worker-main.js';

export type ConcurrencyKind = 'counter' | 'buffer' | 'pool';

export interface ConcurrencyTask {
  kind: ConcurrencyKind;
  buffer: SharedArrayBuffer;
  /** Pool only: owner of each index (0 = free), to catch an index held twice. */
  owners?: SharedArrayBuffer;
  reps: number;
}

export interface ConcurrencyJob {
  tasks: ConcurrencyTask[];
  wid: number;
  /** node of each CPU, from /sys (the parent read it). */
  cpuNode: Record<number, number>;
}

export interface ConcurrencyReport {
  wid: number;
  backend: string;
  /** Buffer: the records this worker popped (worker * 1e6 + sequence). */
  popped: number[];
  /** Pool: indices this worker found held by another. */
  ownerViolations: number;
  /** Aborted sections per kind (opCounts().aborts before and after). */
  aborts: Partial<Record<ConcurrencyKind, number>>;
  samples: number;
  cpus: number[];
  nodes: number[];
  mmCidMax: number | null;
  mmCidBoundMin: number | null;
  violations: string[];
  counts: { attempts: number; aborts: number; moved: number };
  /** Milliseconds the work took (after loading the package). */
  ms: number;
}

workerMain<ConcurrencyJob, ConcurrencyReport>((job) => {
  const out: ConcurrencyReport = {
    wid: job.wid,
    backend: rseq.backend,
    popped: [],
    ownerViolations: 0,
    aborts: {},
    samples: 0,
    cpus: [],
    nodes: [],
    mmCidMax: null,
    mmCidBoundMin: null,
    violations: [],
    counts: { attempts: 0, aborts: 0, moved: 0 },
    ms: 0,
  };
  const t0 = process.hrtime.bigint();
  const fields = rseq.fields();
  const allowed = rseq.getAffinity();
  const cpus = new Set<number>();
  const nodes = new Set<number>();
  const violation = (s: string): void => {
    if (out.violations.length < 10) out.violations.push(s);
  };
  const sample = (): void => {
    out.samples++;
    const cpu = rseq.cpuId();
    if (!allowed.includes(cpu)) violation(`cpu_id ${cpu} not in the allowed CPUs ${allowed.join(',')}`);
    cpus.add(cpu);
    if (fields.nodeId) {
      const node = rseq.nodeId();
      // Only when the thread did not move between the two loads.
      if (rseq.cpuId() === cpu) {
        nodes.add(node);
        const want = job.cpuNode[cpu] ?? 0;
        if (node !== want) violation(`node_id ${node} on CPU ${cpu}, /sys says node ${want}`);
      }
    }
    if (fields.mmCid) {
      const cid = rseq.mmCid();
      const bound = Math.min(allowed.length, processThreads());
      out.mmCidMax = Math.max(out.mmCidMax ?? 0, cid);
      out.mmCidBoundMin = Math.min(out.mmCidBoundMin ?? bound, bound);
      if (cid >= bound) violation(`mm_cid ${cid} >= min(allowed CPUs ${allowed.length}, threads)`);
    }
  };
  const every = 64;
  const runTask = (task: ConcurrencyTask): void => {
    if (task.kind === 'counter') {
      const c = PerCpuCounter.from(task.buffer, { path: 'rseq' });
      for (let i = 0; i < task.reps; i++) {
        c.add(1);
        if (i % every === 0) sample();
      }
    } else if (task.kind === 'buffer') {
      // Records (worker, sequence); every other push is followed by a pop.
      const b = PerCpuBuffer.from(task.buffer);
      const rec = new Uint8Array(8);
      const dv = new DataView(rec.buffer);
      for (let i = 0; i < task.reps; i++) {
        dv.setUint32(0, job.wid, true);
        dv.setUint32(4, i, true);
        b.push(rec);
        if (i % 2 === 1) {
          const r = b.pop();
          if (r !== null) {
            const rv = new DataView(r.buffer, r.byteOffset, r.byteLength);
            out.popped.push(rv.getUint32(0, true) * 1e6 + rv.getUint32(4, true));
          }
        }
        if (i % every === 0) sample();
      }
    } else {
      const p = PerCpuPool.from(task.buffer);
      const owner = new Int32Array(task.owners as SharedArrayBuffer);
      const held: number[] = [];
      for (let i = 0; i < task.reps; i++) {
        const idx = p.take();
        if (idx !== null) {
          if (Atomics.compareExchange(owner, idx, 0, job.wid + 1) !== 0) out.ownerViolations++;
          held.push(idx);
        }
        if (held.length > 3 || (idx === null && held.length > 0)) {
          const g = held.shift() as number;
          Atomics.store(owner, g, 0);
          p.give(g);
        }
        if (i % every === 0) sample();
      }
      for (const g of held) {
        Atomics.store(owner, g, 0);
        p.give(g);
      }
    }
  };
  for (const task of job.tasks) {
    const before = rseq.opCounts().aborts;
    runTask(task);
    out.aborts[task.kind] = rseq.opCounts().aborts - before;
  }
  sample();
  out.cpus = [...cpus].sort((a, b) => a - b);
  out.nodes = [...nodes].sort((a, b) => a - b);
  out.counts = rseq.opCounts();
  out.ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return out;
});
