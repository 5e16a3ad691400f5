/**
 * The hardware side of the abort check, in a worker thread: V8's sampling
 * profiler (node:inspector in this worker) sends SIGPROF to this very
 * thread every 10 µs, so signals land inside its critical sections (signals
 * sent to the process would land on the main thread). Each operation is
 * attempted on fresh memory until enough aborts were seen or the time is
 * up; the memory after every attempt is tallied by outcome.
 */
import * as inspector from 'node:inspector';
import { loadNative } from '../native/backend.js';
import { tallyAttempts, type AbortSpec, type AbortTally } from './abort-spec.js';
import { workerMain } from './worker-main.js';

export interface AbortJob {
  specs: AbortSpec[];
  /** Stop an operation after this many aborts... */
  targetAborts: number;
  /** ...or after this many milliseconds. */
  budgetMs: number;
  /** Profiler sampling interval, µs. */
  intervalUs: number;
}

function post(session: inspector.Session, method: string, params?: object): Promise<void> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (err) => (err ? reject(err) : resolve())));
}

workerMain<AbortJob, AbortTally[]>(async (job) => {
  const native = loadNative();
  if (!native.ok) throw new Error(`native backend unavailable in the worker: ${native.reason}`);
  const b = native.backend;
  const session = new inspector.Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.setSamplingInterval', { interval: job.intervalUs });
  await post(session, 'Profiler.start');
  const out: AbortTally[] = [];
  try {
    for (const spec of job.specs) {
      const t0 = Date.now();
      out.push(tallyAttempts(b, spec, (t) => t.aborts >= job.targetAborts || ((t.attempts & 255) === 0 && Date.now() - t0 > job.budgetMs)));
    }
  } finally {
    await post(session, 'Profiler.stop').catch(() => {});
    session.disconnect();
  }
  return out;
});
