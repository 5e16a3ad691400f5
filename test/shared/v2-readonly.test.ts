/**
 * Linux 7.0's optimised "v2" mode kills a process whose user space writes
 * cpu_id_start, cpu_id, node_id or mm_cid. No path of the package may write
 * them. Each group of public calls below runs with the thread pinned; before
 * and after it, the ID fields must read as the kernel last wrote them, and
 * moving the thread to every allowed CPU afterwards makes the kernel update
 * (and, on the simulator's 7.0 profile, project simulator-v2, validate) them:
 * there a written field is a simulated SIGSEGV, thrown as FatalSignalError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerCpuBuffer, PerCpuCounter, PerCpuPool, rseq } from '../../src/index.js';
import { project, skipShared } from '../helpers/env.js';

type Snapshot = { cpuIdStart: number; cpuId: number; nodeId: number | null };

function ids(): Snapshot {
  const a = rseq.area();
  return { cpuIdStart: a.cpuIdStart, cpuId: a.cpuId, nodeId: rseq.fields().nodeId ? a.nodeId : null };
}

describe.skipIf(skipShared)(`no package path writes the ID fields (${project} backend)`, () => {
  let allowed: number[];
  beforeAll(() => {
    allowed = rseq.getAffinity();
  });
  afterAll(() => rseq.setAffinity(allowed));

  const groups: Array<[string, () => void]> = [
    [
      'probe, fields, auxv, registration, area and field reads',
      () => {
        rseq.probe();
        rseq.fields();
        rseq.auxv();
        rseq.registration();
        rseq.cpuId();
        rseq.cpuIdStart();
        if (rseq.fields().nodeId) rseq.nodeId();
        if (rseq.fields().mmCid) rseq.mmCid();
        rseq.schedGetcpu();
        rseq.debugCounts();
        rseq.opCounts();
        rseq.possibleCpus();
      },
    ],
    ['errnoTable (a scratch thread)', () => void rseq.errnoTable()],
    [
      'PerCpuCounter, every path',
      () => {
        for (const path of ['lane', 'atomics', 'rseq'] as const) {
          const c = new PerCpuCounter({ path });
          for (let i = 0; i < 200; i++) c.add();
          c.add(5n);
          expect(c.value()).toBe(205);
          c.perCpu();
          c.reset();
        }
      },
    ],
    [
      'PerCpuBuffer',
      () => {
        const b = new PerCpuBuffer({ recordSize: 16, capacity: 8 });
        b.push(new Uint8Array(16).fill(1));
        expect(b.pushMany(new Uint8Array(48).fill(2))).toBe(3);
        expect(b.popMany(new Uint8Array(32))).toBe(2);
        expect(b.pop()).not.toBeNull();
        b.drain();
      },
    ],
    [
      'PerCpuPool',
      () => {
        const pool = new PerCpuPool({ size: 16 });
        const taken: number[] = [];
        for (let i = 0; i < 10; i++) {
          const x = pool.take();
          if (x !== null) taken.push(x);
        }
        for (const x of taken) pool.give(x);
      },
    ],
    [
      'fence and the time-slice extension calls',
      () => {
        try {
          rseq.fence();
        } catch {
          // a kernel without membarrier's rseq commands: nothing written either way
        }
        const s = rseq.sliceExtension.status();
        if (s.available) {
          rseq.sliceExtension.enable();
          rseq.sliceExtension.run(() => 0);
          rseq.sliceExtension.disable();
        }
      },
    ],
  ];

  for (const [name, run] of groups) {
    it(`${name}: the ID fields stay as the kernel wrote them`, () => {
      const cpu = allowed[0] as number;
      rseq.setAffinity([cpu]);
      const before = ids();
      expect(before.cpuId).toBe(cpu);
      run();
      expect(ids()).toEqual(before);
      // Every move makes the kernel write the IDs again (on 7.0 v2: after
      // checking that user space left them alone).
      for (const c of allowed) {
        rseq.setAffinity([c]);
        expect(rseq.area().cpuId).toBe(c);
        expect(rseq.area().cpuIdStart).toBe(c);
      }
    });
  }
});
