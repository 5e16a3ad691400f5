/**
 * The simulator backend's process-wide section locks: the locks of
 * src/contract/section-locks.ts for a machine of N CPUs, in one
 * SharedArrayBuffer shared by every isolate of the process through
 * worker_threads environment data (as shared-mmcid.ts shares the mm_cid
 * pool). They serialise the sections the backend's raw section() runs on
 * caller arrays (a structure's own sections use the locks in its buffer).
 *
 * Created by the first simulator backend of the isolate; workers started
 * after that inherit them. Isolates that do not inherit the environment data
 * (workers created before the first isolate of the process created a
 * simulator backend) get their own locks, and then raw sections of threads in
 * different groups are not serialised.
 */
import { SharedSectionLocks } from '../src/contract/section-locks.js';
import { environmentBuffer } from './environment-buffer.js';

function keyFor(cpus: number): string {
  return `rseq-simulator:section-locks:v1:cpus=${cpus}`;
}

/** The process's locks for a machine of `cpus` CPUs (fresh unless this isolate inherited them; `share` false: private). */
export function processSectionLocks(cpus: number, share = true): SharedSectionLocks {
  const buffer = environmentBuffer(keyFor(cpus), SharedSectionLocks.bytesFor(cpus), (b) => SharedSectionLocks.initialise(b, cpus), share);
  return new SharedSectionLocks(buffer);
}
