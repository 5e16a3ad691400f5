/**
 * Native-only, in child processes: worker.terminate() while workers load the
 * native backend and make their first calls into it. The env that is shutting
 * down refuses JavaScript; every call into the addon (Init included) must
 * return instead of ending the process with a fatal error ("FATAL ERROR:
 * Error::ThrowAsJavaScriptException napi_throw", SIGABRT).
 *
 * Each run terminates 60 workers, 2 at a time, 0-30 ms after each comes online
 * (seeded: run i uses seed i + 1). Before the fix the old addon aborted in
 * about 19 of 20 such runs on Node 20; three runs make a miss unlikely.
 *
 * The same fatal error was reachable in a live env: an error thrown while
 * another exception was pending (an element getter that throws, passed to the
 * binding's setAffinity).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST_ENTRY, ROOT, runNode, skipNative } from '../helpers/env.js';

const HELPER = path.join(ROOT, 'test', 'helpers', 'terminate-load.cjs');
const RUNS = 3;
const WORKERS = 60;

interface Report {
  workers: number;
  /** Where each worker was when terminate() was called (see the helper). */
  terminatedAt: Record<string, number>;
}

describe.skipIf(skipNative)('worker.terminate() while workers load the addon', () => {
  for (let run = 0; run < RUNS; run++) {
    it(
      `run ${run + 1} of ${RUNS}: ${WORKERS} terminated workers, the process exits 0 without a fatal error`,
      () => {
        const r = runNode([HELPER, DIST_ENTRY, String(WORKERS), '2', String(run + 1), '30'], { RSEQ_BACKEND: 'native' });
        const output = `signal ${r.signal}, status ${r.status}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`;
        expect(r.error, output).toBeUndefined();
        expect(r.stderr, output).not.toContain('FATAL ERROR');
        expect(r.signal, output).toBeNull();
        expect(r.status, output).toBe(0);
        const lines = r.stdout.trim().split('\n');
        const report = JSON.parse(lines[lines.length - 1] ?? '') as Report;
        expect(report.workers).toBe(WORKERS);
        expect(Object.values(report.terminatedAt).reduce((a, b) => a + b, 0)).toBe(WORKERS);
      },
      180_000,
    );
  }
});

describe.skipIf(skipNative)('an exception pending inside a call into the addon', () => {
  it("stands: the binding's setAffinity rethrows an element getter's error and the process lives", () => {
    // In a child: before the fix this was a fatal error (SIGABRT). The addon
    // itself, as the package checks the array before it reaches the binding.
    const addon = process.env.RSEQ_ADDON?.trim() ? path.resolve(process.env.RSEQ_ADDON.trim()) : path.join(ROOT, 'build', 'Release', 'rseq.node');
    const script = `
      const binding = require(${JSON.stringify(addon)});
      const cpus = [0];
      Object.defineProperty(cpus, 0, { get() { throw new Error('the getter threw'); } });
      let message = null;
      try { binding.setAffinity(cpus); } catch (err) { message = err.message; }
      console.log(JSON.stringify({ message }));`;
    const r = runNode(['-e', script]);
    const output = `signal ${r.signal}, status ${r.status}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`;
    expect(r.stderr, output).not.toContain('FATAL ERROR');
    expect(r.status, output).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ message: 'the getter threw' });
  });
});
