/** Every worker thread has its own rseq area and reads its own fields. */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { rseq } from '../../src/index.js';
import { DIST_ENTRY, ROOT, expectedBackend, project, skipShared } from '../helpers/env.js';

interface Report {
  backend: string;
  owner: string;
  length: number | null;
  cpu: number;
  cpuId: number;
  cpuIdStart: number;
  viewCpuId: number;
  schedGetcpu: number;
  mmCid: number | null;
  nodeId: number | null;
}

describe.skipIf(skipShared)(`worker threads on the ${project} backend`, () => {
  it('8 workers pinned to CPUs each read their own cpu_id, mm_cid and area, and hold registrations only while they live', async () => {
    const cpus = rseq.getAffinity();
    const before = rseq.debugCounts();
    const workers = Array.from(
      { length: 8 },
      (_, i) => new Worker(path.join(ROOT, 'test', 'helpers', 'worker-fields.cjs'), { workerData: { entry: DIST_ENTRY, cpu: cpus[i % cpus.length] } }),
    );
    const reports = await Promise.all(
      workers.map(
        (w) =>
          new Promise<Report>((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    // While they wait, the process counts this thread and the 8 workers as holding areas.
    expect(rseq.debugCounts().threads).toBe(before.threads + 8);
    const exits = workers.map((w) => new Promise<number>((resolve) => w.once('exit', resolve)));
    for (const w of workers) w.postMessage('go');
    expect(await Promise.all(exits)).toEqual(Array(8).fill(0));
    // A worker's registration ends with it.
    expect(rseq.debugCounts()).toEqual(before);

    const fields = rseq.fields();
    for (const r of reports) {
      expect(r.backend).toBe(expectedBackend);
      expect(['libc', 'addon']).toContain(r.owner);
      expect(r.length).toBeGreaterThanOrEqual(32);
      expect(r.cpuId).toBe(r.cpu);
      expect(r.cpuIdStart).toBe(r.cpu);
      expect(r.viewCpuId).toBe(r.cpu);
      expect(r.schedGetcpu).toBe(r.cpu);
      if (fields.mmCid) {
        expect(r.mmCid).toBeGreaterThanOrEqual(0);
        expect(r.mmCid).toBeLessThan(cpus.length);
      } else {
        expect(r.mmCid).toBeNull();
      }
      if (fields.nodeId) expect(r.nodeId).toBeGreaterThanOrEqual(0);
    }
  });
});
