/**
 * The simulator's registration bookkeeping (DebugCounts), process-wide like
 * the native addon's: one small SharedArrayBuffer shared by every isolate
 * through worker_threads environment data, as the mm_cid pool and the section
 * locks are. Layout (Int32Array): [0] registrations, [1] areas, [2] threads.
 * Isolates that cannot inherit it (see shared-mmcid.ts) count alone.
 */
import { environmentBuffer } from './environment-buffer.js';

export const REGISTRATIONS = 0;
export const AREAS = 1;
export const THREADS = 2;
const KEY = 'rseq-simulator:debug-counts:v1';

/** The process's counts (`share` false: a private set, for tests that drive one backend alone). */
export function sharedDebugCounts(share = true): Int32Array {
  return new Int32Array(environmentBuffer(KEY, 12, undefined, share), 0, 3);
}

/**
 * Backends of this isolate whose thread still holds references when the
 * isolate exits release them then (the native addon does it in its
 * environment's cleanup hook), so a finished worker leaves nothing counted.
 */
const releaseAtExit = new Set<() => void>();
let hooked = false;
export function releaseOnExit(release: () => void): void {
  releaseAtExit.add(release);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const r of releaseAtExit) r();
    });
  }
}
