/**
 * The simulator loads only when used: the compiled package on the native
 * backend loads no module of dist/cjs/fallback/ and sets no worker_threads
 * environment data, in the main thread or in workers; with
 * RSEQ_BACKEND=simulator the simulator loads at the first use (not at the
 * import), publishes its shared state then, workers started afterwards adopt
 * it, and the counter is exact.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST_ENTRY, lastJson, ROOT, runNode, skipNative } from '../helpers/env.js';

const SCRIPT = path.join(ROOT, 'test', 'helpers', 'lazy-simulator.cjs');

interface WorkerReport {
  backend: string;
  fallback: string[];
  envKeys: string[];
}

interface Report {
  backend: string;
  afterImport: string[];
  afterUse: string[];
  envKeys: string[];
  value: number;
  expected: number;
  workers: WorkerReport[];
}

function run(backend: 'native' | 'simulator', entry: 'cjs' | 'esm'): Report {
  return lastJson<Report>(runNode([SCRIPT, DIST_ENTRY, entry], { RSEQ_BACKEND: backend, RSEQ_SIMULATOR_WARNING: '0' }));
}

describe('the simulator loads only when used', () => {
  for (const entry of ['cjs', 'esm'] as const) {
    it.skipIf(skipNative)(`native backend (${entry}): no module of dist/cjs/fallback/, no environment data, in any thread`, () => {
      const r = run('native', entry);
      expect(r.backend).toBe('native');
      expect(r.afterImport).toEqual([]);
      expect(r.afterUse).toEqual([]);
      expect(r.envKeys).toEqual([]);
      expect(r.value).toBe(r.expected);
      expect(r.workers).toHaveLength(2);
      for (const w of r.workers) expect(w).toEqual({ backend: 'native', fallback: [], envKeys: [] });
    });

    it(`RSEQ_BACKEND=simulator (${entry}): loaded at the first use, its shared state adopted by workers, the counter exact`, () => {
      const r = run('simulator', entry);
      expect(r.backend).toBe('simulator');
      expect(r.afterImport).toEqual([]);
      expect(r.afterUse).toEqual(expect.arrayContaining(['backend.js', path.join('kernel', 'kernel.js')]));
      // The mm_cid pool, the section locks and the counts, published at the first use.
      expect(r.envKeys.length).toBeGreaterThanOrEqual(3);
      for (const w of r.workers) {
        expect(w.backend).toBe('simulator');
        expect(w.fallback).toEqual(expect.arrayContaining(['backend.js']));
        // Workers started after the first use inherit that state and create none of their own.
        expect(w.envKeys).toEqual([]);
      }
      expect(r.value).toBe(r.expected);
    });
  }
});
