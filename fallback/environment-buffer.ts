/**
 * The simulator's process-wide shared state (the mm_cid pool, the section
 * locks, the registration counts) lives in SharedArrayBuffers that workers
 * inherit from their parent through worker_threads environment data: a worker
 * started after a buffer was published gets a clone of it, and clones of a
 * SharedArrayBuffer share their memory.
 */
import * as wt from 'node:worker_threads';

/**
 * The buffer published under `key` when this isolate has one of at least
 * `bytes`; otherwise a new one, prepared by `init` and published for workers
 * started from now on. With `share` false, always a new, private buffer.
 */
export function environmentBuffer(key: string, bytes: number, init: (buffer: SharedArrayBuffer) => void = () => {}, share = true): SharedArrayBuffer {
  if (share) {
    let value: unknown;
    try {
      value = wt.getEnvironmentData(key);
    } catch {
      value = undefined;
    }
    if (value instanceof SharedArrayBuffer && value.byteLength >= bytes) return value;
  }
  const buffer = new SharedArrayBuffer(bytes);
  init(buffer);
  if (share) {
    try {
      wt.setEnvironmentData(key, buffer);
    } catch {
      // No environment data here: the buffer stays local to this isolate.
    }
  }
  return buffer;
}
