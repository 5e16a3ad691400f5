/**
 * Stress in the manner of the kernel's param_test: 12 workers on 2 CPUs share
 * each per-CPU structure while the main thread sends the process a storm of
 * SIGUSR2 and V8's sampling profiler interrupts each worker with SIGPROF
 * (process-directed signals land on the main thread; these land in the
 * workers). Invariants: exact sums, no record or index lost or duplicated, and
 * a bank that was swapped out and fenced never changes again. Sections that
 * the kernel (or the simulator) aborted must have happened, and every
 * invariant must still hold.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { PerCpuBuffer, PerCpuCounter, PerCpuPool, rseq, type OpCounts } from '../../src/index.js';
import { DIST_ENTRY, ROOT, expectedBackend, project, skipShared } from '../helpers/env.js';

const WORKERS = 12;
/** The simulator runs each section as a step program (about 2.5 µs an add): a tenth of the repetitions. */
const SCALE = expectedBackend === 'simulator' ? 10 : 1;
const R = (reps: number): number => reps / SCALE;
const WORKER = path.join(ROOT, 'test', 'helpers', 'stress-worker.cjs');
const THREAD_ENTRY = path.join(ROOT, 'dist', 'cjs', 'src', 'thread.js');

interface Report {
  wid: number;
  popped: number[];
  violations: number;
  committed: number;
  /** Operations this worker did: reps, or more while no worker had seen an abort yet. */
  ops: number;
  counts: OpCounts;
}

/** Runs the workers to completion while `during` runs on the main thread (signal storm or bank swaps). */
async function runWorkers(data: Record<string, unknown>, during: (done: () => boolean) => Promise<void>): Promise<Report[]> {
  let finished = 0;
  const abortSeen = new SharedArrayBuffer(4);
  const reports = Array.from({ length: WORKERS }, (_, wid) => {
    const w = new Worker(WORKER, { workerData: { abortSeen, ...data, wid, entry: DIST_ENTRY, threadEntry: THREAD_ENTRY } });
    return new Promise<Report>((resolve, reject) => {
      w.once('message', (m: Report) => {
        finished++;
        resolve(m);
      });
      w.once('error', reject);
      w.once('exit', (code) => code !== 0 && reject(new Error(`stress worker ${wid} exited with ${code}`)));
    });
  });
  await during(() => finished === WORKERS);
  return Promise.all(reports);
}

/** Sends the process SIGUSR2 in a loop until the workers are done; returns how many were sent. */
async function signalStorm(done: () => boolean): Promise<number> {
  let sent = 0;
  const noop = (): void => {};
  process.on('SIGUSR2', noop);
  try {
    while (!done()) {
      for (let i = 0; i < 50; i++, sent++) process.kill(process.pid, 'SIGUSR2');
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    process.off('SIGUSR2', noop);
  }
  return sent;
}

const sum = (rs: Report[], f: (r: Report) => number): number => rs.reduce((s, r) => s + f(r), 0);

/** One line of figures per stress run, for the record. */
function figures(name: string, rs: Report[], extra = ''): void {
  const t = (f: (c: OpCounts) => number): number => sum(rs, (r) => f(r.counts));
  console.info(`stress ${project} ${name}: attempts ${t((c) => c.attempts)}, aborts ${t((c) => c.aborts)}, moved ${t((c) => c.moved)}${extra}`);
}

describe.skipIf(skipShared)(`stress on the ${project} backend`, () => {
  for (const counterPath of ['rseq', 'atomics', 'lane'] as const) {
    it(`PerCpuCounter (${counterPath}): 12 workers x 100000 adds under a signal storm sum exactly`, async () => {
      const c = new PerCpuCounter({ path: counterPath });
      let signals = 0;
      // The atomics and lane paths run no sections, so they have no aborts to wait for.
      const reports = await runWorkers({ kind: 'counter', buffer: c.buffer, reps: R(100_000), path: counterPath, ...(counterPath !== 'rseq' ? { abortSeen: null } : {}) }, async (done) => {
        signals = await signalStorm(done);
      });
      figures(`counter ${counterPath}`, reports, `, SIGUSR2 sent ${signals}`);
      const ops = sum(reports, (r) => r.ops);
      expect(ops).toBeGreaterThanOrEqual(WORKERS * R(100_000));
      expect(c.value()).toBe(ops);
      expect(signals).toBeGreaterThan(0);
      const attempts = sum(reports, (r) => r.counts.attempts);
      if (counterPath === 'rseq') {
        // Every add committed one section; the others were aborted, moved, or
        // found that another thread on the CPU committed first (store-if-equal).
        expect(attempts).toBeGreaterThanOrEqual(ops + sum(reports, (r) => r.counts.aborts + r.counts.moved));
        expect(sum(reports, (r) => r.counts.aborts)).toBeGreaterThan(0);
      } else {
        expect(attempts).toBe(0);
      }
    });
  }

  it('PerCpuCounter, the three paths on one buffer with bigint amounts: resets while workers add lose nothing and count nothing twice', async () => {
    const c = new PerCpuCounter();
    let taken = 0n;
    let resets = 0;
    const reports = await runWorkers({ kind: 'counter-mixed', buffer: c.buffer, reps: R(100_000), abortSeen: null }, async (done) => {
      while (!done()) {
        taken += c.reset();
        resets++;
        await new Promise((r) => setImmediate(r));
      }
    });
    const added = sum(reports, (r) => (r as Report & { added: number }).added);
    console.info(`stress ${project} counter mixed: resets ${resets}, added ${added}`);
    // Every eighth amount is 2^33, a bigint, which goes to the checked base word.
    expect(added).toBeGreaterThan(2 ** 33 * 1000);
    expect(resets).toBeGreaterThan(2);
    expect(taken + c.valueBigInt()).toBe(BigInt(added));
  });

  it('PerCpuCounter: a reader while workers add never sees the sum go down while every amount is positive', async () => {
    const c = new PerCpuCounter();
    let reads = 0;
    let drops = 0;
    let last = 0n;
    const reports = await runWorkers({ kind: 'counter', buffer: c.buffer, reps: R(100_000), path: 'atomics', amount: 65536, abortSeen: null }, async (done) => {
      while (!done()) {
        for (let i = 0; i < 100; i++, reads++) {
          const v = c.valueBigInt();
          if (v < last) drops++;
          last = v;
        }
        await new Promise((r) => setImmediate(r));
      }
    });
    const ops = sum(reports, (r) => r.ops);
    console.info(`stress ${project} counter readers: reads ${reads}`);
    expect(ops * 65536).toBeGreaterThan(2 ** 31 * (Math.max(...rseq.possibleCpus()) + 1));
    expect(reads).toBeGreaterThan(100);
    expect(drops).toBe(0);
    expect(last).toBeLessThanOrEqual(c.valueBigInt());
    expect(c.valueBigInt()).toBe(BigInt(ops * 65536));
  });

  it('PerCpuBuffer: 12 workers push 40000 records each and pop half; nothing lost or duplicated', async () => {
    const reps = R(40_000);
    // Each worker leaves at most half of its (up to 4 x reps) records behind.
    const b = new PerCpuBuffer({ recordSize: 8, capacity: 2 * WORKERS * reps });
    const reports = await runWorkers({ kind: 'buffer', buffer: b.buffer, reps }, async (done) => {
      await signalStorm(done);
    });
    figures('buffer', reports);
    const seen = new Set<number>();
    let total = 0;
    for (const r of reports) for (const v of r.popped) (seen.add(v), total++);
    for (const rec of b.drain()) {
      const dv = new DataView(rec.buffer);
      seen.add(dv.getUint32(0, true) * 2 ** 32 + dv.getUint32(4, true));
      total++;
    }
    const pushed = sum(reports, (r) => r.ops);
    expect(pushed).toBeGreaterThanOrEqual(WORKERS * reps);
    expect(total).toBe(pushed);
    expect(seen.size).toBe(pushed);
    expect(sum(reports, (r) => r.counts.aborts)).toBeGreaterThan(0);
  });

  it('PerCpuPool: 12 workers take and give 50000 times; no index is ever held twice, none is lost', async () => {
    const size = 64;
    const p = new PerCpuPool({ size });
    const owners = new SharedArrayBuffer(size * 4);
    const reports = await runWorkers({ kind: 'pool', buffer: p.buffer, reps: R(50_000), owners }, async (done) => {
      await signalStorm(done);
    });
    figures('pool', reports);
    expect(sum(reports, (r) => r.violations)).toBe(0);
    const back = new Set<number>();
    for (let i = 0; i < size; i++) back.add(p.take()!);
    expect(back).toEqual(new Set(Array.from({ length: size }, (_, i) => i)));
    expect(p.take()).toBeNull();
    expect(sum(reports, (r) => r.counts.aborts)).toBeGreaterThan(0);
  });

  it('membarrier swap: after a fence, the bank swapped out never changes', async () => {
    const slots = Math.max(...rseq.possibleCpus()) + 1;
    const reps = R(30_000);
    const buffer = new SharedArrayBuffer((8 + 2 * slots * 8) * 8);
    const words = new BigInt64Array(buffer);
    const bankSum = (bank: number): bigint => {
      let s = 0n;
      for (let id = 0; id < slots; id++) s += Atomics.load(words, 8 + bank * slots * 8 + id * 8);
      return s;
    };
    let swaps = 0;
    let changedAfterFence = 0;
    const reports = await runWorkers({ kind: 'swap', buffer, reps, slots, abortSeen: null }, async (done) => {
      while (!done()) {
        const old = Number(Atomics.load(words, 0));
        Atomics.store(words, 0, BigInt(1 - old));
        rseq.fence();
        const frozen = bankSum(old);
        await new Promise((r) => setTimeout(r, 2)); // writers keep going on the other bank
        if (bankSum(old) !== frozen) changedAfterFence++;
        swaps++;
      }
    });
    figures('swap', reports, `, swaps ${swaps}`);
    expect(swaps).toBeGreaterThan(2);
    expect(changedAfterFence).toBe(0);
    expect(bankSum(0) + bankSum(1)).toBe(BigInt(WORKERS * reps));
    expect(sum(reports, (r) => r.committed)).toBe(WORKERS * reps);
  });
});
