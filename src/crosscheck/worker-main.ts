/**
 * The worker side of runWorkersSync: run the body, post one message
 * ({ ok, result } or { ok: false, error }) and count this worker as done.
 */
import { workerData, type MessagePort } from 'node:worker_threads';

export function workerMain<D, T>(body: (data: D) => T | Promise<T>): void {
  const data = workerData as D & { crosscheckPort: MessagePort; crosscheckFlag: SharedArrayBuffer };
  const port = data.crosscheckPort;
  const flag = new Int32Array(data.crosscheckFlag);
  const finish = (message: unknown): void => {
    try {
      port.postMessage(message);
    } finally {
      Atomics.add(flag, 0, 1);
      Atomics.notify(flag, 0);
      port.close();
    }
  };
  let r: T | Promise<T>;
  try {
    r = body(data);
  } catch (e) {
    finish({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    return;
  }
  Promise.resolve(r).then(
    (result) => finish({ ok: true, result }),
    (e: unknown) => finish({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
}
