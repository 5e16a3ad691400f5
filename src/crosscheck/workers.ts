/**
 * Running worker_threads synchronously: the crosscheck is a plain function
 * (the CLI's main() returns its exit code), so the calling thread blocks in
 * Atomics.wait while the workers run, and collects their one message each
 * with receiveMessageOnPort. Workers speak the protocol of worker-main.ts.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

export interface WorkerJob {
  /** The compiled worker script (dist/cjs/src/crosscheck/*.js). */
  script: string;
  data: Record<string, unknown>;
  /** The worker's process.env (RSEQ_BACKEND=native or simulator, RSEQ_SIM_*). */
  env: NodeJS.ProcessEnv;
}

export type WorkerOutcome<T> = { ok: true; result: T } | { ok: false; error: string };

/** Starts every job at once and waits (blocking this thread) until all reported or `timeoutMs` passed. */
export function runWorkersSync<T>(jobs: WorkerJob[], timeoutMs: number): Array<WorkerOutcome<T>> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const ports: MessagePort[] = [];
  const workers: Worker[] = [];
  for (const job of jobs) {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1);
    const w = new Worker(job.script, {
      workerData: { ...job.data, crosscheckPort: port2, crosscheckFlag: flag.buffer },
      transferList: [port2],
      env: job.env,
    });
    // Errors reach the parent only through its event loop, after this
    // function returned; the worker reports its own through the port.
    w.on('error', () => {});
    workers.push(w);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = Atomics.load(flag, 0);
    if (done >= jobs.length) break;
    const left = deadline - Date.now();
    if (left <= 0) break;
    Atomics.wait(flag, 0, done, Math.min(left, 1000));
  }
  return ports.map((p, i) => {
    const m = receiveMessageOnPort(p);
    p.close();
    if (!m) {
      void workers[i]?.terminate();
      return { ok: false, error: `worker ${i} (${jobs[i]?.script}) did not report within ${timeoutMs} ms` };
    }
    return m.message as WorkerOutcome<T>;
  });
}
