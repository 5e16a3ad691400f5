/**
 * Never block on another thread: no lock that a terminated, exiting or
 * throwing thread can leave held. Workers are terminated (worker.terminate())
 * at random points of every operation, their start-up included; afterwards
 * every operation must still complete from the main thread, and what the dead
 * workers did must still add up.
 *
 * The workers and the checks run in a child process (test/helpers/fault-run.cjs):
 * a lock left held shows as a synchronous spin that never returns, which only
 * a deadline in another process can detect. The deadline is generous; it
 * detects a hang and measures nothing.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST_ENTRY, ROOT, expectedBackend, project, skipShared } from '../helpers/env.js';

const RUNNER = path.join(ROOT, 'test', 'helpers', 'fault-run.cjs');

type Mode = 'all' | 'tight';

/** The JSON line fault-run.cjs prints. */
interface FaultResult {
  mode: Mode;
  seed: number;
  backend: string;
  workers: number;
  maxAlive: number;
  startupDeaths: number;
  opDeaths: number;
  /** Start-up deaths by the phase the worker was inside. */
  phaseDeaths: Record<string, number>;
  /** Deaths after start-up by the operation the worker was inside ('none': between operations). */
  opDeathsByOp: Record<string, number>;
  phaseStartsMs: Record<string, number>;
  /** Sums over all workers of what they recorded (operations done, records pushed, ...). */
  totals: Record<string, number>;
  counter: { addsRecorded: string; takenTotal: string; inFlightAdds: string; deadInReset: number };
  buffer: { finalPopped: number; finalDrained: number; missing: number; mayMiss: number };
  pool: { available: number; lost: number; mayLose: number; reclaimed: number };
  workersMs: number;
  totalMs: number;
  violations: string[];
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  hung: boolean;
  ms: number;
}

/** Runs fault-run.cjs in a child process with this project's environment; kills it at the deadline. */
function runFaults(mode: Mode, deadlineMs: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [RUNNER, DIST_ENTRY, mode], { cwd: ROOT, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, hung, ms: performance.now() - t0 });
    });
  });
}

/** The seed line and the last lines of the child's progress (stderr), for a failure message. */
function progressTail(stderr: string, n = 30): string {
  const lines = stderr.trimEnd().split('\n');
  const head = lines.length > n ? [lines[0] ?? '', '...'] : [];
  return [...head, ...lines.slice(-n)].join('\n');
}

/** The child's result; fails with "hang: ..." when the deadline killed it. */
function resultOf(o: Outcome, mode: Mode, deadlineMs: number): FaultResult {
  if (o.hung) {
    throw new Error(`hang: fault-run ${mode} on the ${project} backend did not finish within ${deadlineMs / 1000} s and was killed; where it was:\n${progressTail(o.stderr)}`);
  }
  const lines = o.stdout.trim().split('\n');
  let result: FaultResult | null = null;
  try {
    result = JSON.parse(lines[lines.length - 1] ?? '') as FaultResult;
  } catch {
    result = null;
  }
  if (o.code !== 0 || result === null) {
    const violations = result !== null ? `\nviolations:\n${result.violations.join('\n')}` : '';
    throw new Error(`fault-run ${mode} exited with ${o.code} (signal ${o.signal}) after ${Math.round(o.ms)} ms${violations}\n${progressTail(o.stderr)}\n${o.stdout}`);
  }
  console.info(
    `faults ${project} ${mode}: seed ${result.seed}, ${Math.round(o.ms)} ms (workers ${result.workersMs} ms); ` +
      `start-up deaths ${JSON.stringify(result.phaseDeaths)}, deaths in operations ${JSON.stringify(result.opDeathsByOp)}; ` +
      `totals ${JSON.stringify(result.totals)}; counter ${JSON.stringify(result.counter)}; buffer ${JSON.stringify(result.buffer)}; pool ${JSON.stringify(result.pool)}`,
  );
  return result;
}

const sumOf = (r: Record<string, number>, keys: string[]): number => keys.reduce((s, k) => s + (r[k] ?? 0), 0);

/** 200 workers take seconds where nothing hangs; minutes mean a lock left held. */
const ALL_DEADLINE_MS = 5 * 60_000;
const TIGHT_DEADLINE_MS = 3 * 60_000;

describe.skipIf(skipShared)(`workers terminated at random points on the ${project} backend`, () => {
  it(
    '200 workers terminated in their start-up or amid counter, buffer and pool operations: every operation still completes from the main thread, and the sums hold',
    async () => {
      const r = resultOf(await runFaults('all', ALL_DEADLINE_MS), 'all', ALL_DEADLINE_MS);
      expect(r.violations).toEqual([]);
      expect(r.backend).toBe(expectedBackend);
      expect(r.workers).toBe(200);
      expect(r.startupDeaths + r.opDeaths).toBe(200);
      // About 45% are aimed at their start-up, the rest at their operations.
      expect(r.startupDeaths).toBeGreaterThanOrEqual(20);
      expect(r.opDeaths).toBeGreaterThanOrEqual(40);
      // Some died while loading the package or inside from() (after boot).
      expect(r.startupDeaths - (r.phaseDeaths.boot ?? 0)).toBeGreaterThan(0);
      // Operations were done: more began than the one each worker died in.
      expect(r.totals.ops).toBeGreaterThan(r.opDeaths);
      if (expectedBackend === 'native') {
        // Every kind of operation ran, the cross-CPU paths included: it
        // completed at least once, or a worker was terminated inside it (a
        // drain is rarer than the rest and may be killed every time). (On
        // the simulator, a worker terminated inside a simulated section
        // leaves that CPU's section lock to be taken over later, and the
        // workers behind it may do little before they are terminated in turn.)
        const ops: Record<string, string> = { added: 'add', resets: 'reset', reads: 'value', pushed: 'push', popped: 'pop', drains: 'drain', takes: 'take', gives: 'give' };
        for (const [k, op] of Object.entries(ops)) {
          expect((r.totals[k] ?? 0) + (r.opDeathsByOp[op] ?? 0), k).toBeGreaterThan(0);
        }
      }
      expect(r.totals.violations).toBe(0);
      expect(r.totals.dups).toBe(0);
      expect(r.totals.bad).toBe(0);
      expect(r.buffer.missing).toBeLessThanOrEqual(r.buffer.mayMiss);
      expect(r.pool.lost).toBeLessThanOrEqual(r.pool.mayLose);
    },
    ALL_DEADLINE_MS + 60_000,
  );

  it(
    '20 workers terminated in tight loops of drain(), of steals and of reset(): drain(), reset() and take() then complete from the main thread',
    async () => {
      const r = resultOf(await runFaults('tight', TIGHT_DEADLINE_MS), 'tight', TIGHT_DEADLINE_MS);
      expect(r.violations).toEqual([]);
      expect(r.backend).toBe(expectedBackend);
      expect(r.workers).toBe(20);
      // Each was terminated in its loop, after its first time round it: each
      // kind of loop (seven drain, seven steal, six reset workers) did its work.
      expect(r.opDeaths).toBe(20);
      expect(r.totals.drains).toBeGreaterThan(0);
      expect(r.totals.drained).toBeGreaterThan(0);
      expect(r.totals.resets).toBeGreaterThan(0);
      expect(r.totals.takes).toBeGreaterThan(0);
      expect(r.totals.takeNull).toBeGreaterThan(0);
      // Some died inside one of the operations that work on other CPUs' slots.
      expect(sumOf(r.opDeathsByOp, ['drain', 'take', 'give', 'reset', 'add'])).toBeGreaterThan(0);
    },
    TIGHT_DEADLINE_MS + 60_000,
  );
});
