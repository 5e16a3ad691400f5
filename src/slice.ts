/**
 * `rseq.sliceExtension`: the time-slice extension of Linux 7.0 for the
 * calling thread.
 *
 * A thread that holds a lock, or is in the middle of a short update, can ask
 * the scheduler for a few microseconds more before it is preempted:
 *
 *   rseq.sliceExtension.enable();          // once per thread (prctl)
 *   rseq.sliceExtension.request();          // slice_ctrl.request = 1
 *   ... a short region ...
 *   rseq.sliceExtension.end();              // request = 0; yields if the kernel granted
 *   // or: rseq.sliceExtension.run(() => { ... });
 *
 * The kernel grants on an interrupt that would have rescheduled the thread:
 * it clears `request` and sets `granted`, for at most its `slice_ext_nsec`
 * (5-50 us). `end()` must then give the CPU back at once with
 * rseq_slice_yield() (syscall 471), which it does. Any other system call
 * inside the region ends the grant too, so keep the region to plain
 * computation. Where the kernel has no extension (before 7.0: the prctl
 * answers EINVAL, the syscall ENOSYS), `enable()` throws an RseqError with
 * that errno and a sentence, and `status()` says so without throwing.
 */
import type { Backend, SliceCallResult } from './contract/backend.js';
import { errnoInfo, RseqError } from './contract/errors.js';
import { backend } from './thread.js';
import type { SliceExtensionInfo } from './contract/types.js';

/** slice_ctrl.granted, as a bit of the u32 word. */
const GRANTED = 0x100;

export interface SliceExtension {
  /** What the kernel offers this thread (the probe's `sliceExtension`); never throws. */
  status(): SliceExtensionInfo;
  /** Enables the extension for the calling thread; RseqError ERR_RSEQ_SYSCALL with the errno where the kernel refuses. */
  enable(): void;
  /** Disables it for the calling thread; RseqError ERR_RSEQ_SYSCALL where the kernel refuses. */
  disable(): void;
  /** Whether it is enabled for the calling thread (false where the kernel has none). */
  enabled(): boolean;
  /** Asks for an extension until `end()`: RseqError ERR_RSEQ_SLICE_NOT_ENABLED before `enable()`. */
  request(): void;
  /** Whether the kernel granted an extension since `request()`. */
  granted(): boolean;
  /** Ends the region: clears the request and, when granted, yields the CPU. True when it yielded a grant. */
  end(): boolean;
  /** rseq_slice_yield(): true when a grant was still active. RseqError where the kernel has no such call. */
  yield(): boolean;
  /** request(), fn(), end() (also when fn throws): fn's result. */
  run<T>(fn: () => T): T;
}

/** This thread enabled the extension through this module (module state is per thread). */
let enabledHere = false;

function raise(r: SliceCallResult, op: string, where: string): number {
  if (r.failure === null) return r.value;
  const info = errnoInfo(op, r.failure.errno, r.failure.code);
  throw new RseqError('ERR_RSEQ_SYSCALL', `${where}: ${info.message}`, info);
}

/** The probe's report for the calling thread of `b`. */
export function sliceStatus(b: Backend): SliceExtensionInfo {
  const get = b.slice.prctl('get');
  const y = b.slice.yield();
  return {
    available: get.failure === null,
    enabled: get.failure === null && get.value !== 0,
    error: get.failure === null ? null : errnoInfo('slice-extension', get.failure.errno, get.failure.code),
    yieldErrno: y.failure === null ? 'none' : y.failure.errno,
  };
}

export const sliceExtension: SliceExtension = {
  status: () => sliceStatus(backend()),
  enable() {
    raise(backend().slice.prctl('enable'), 'slice-extension', 'rseq.sliceExtension.enable');
    enabledHere = true;
  },
  disable() {
    raise(backend().slice.prctl('disable'), 'slice-extension', 'rseq.sliceExtension.disable');
    enabledHere = false;
  },
  enabled() {
    const r = backend().slice.prctl('get');
    return r.failure === null && r.value !== 0;
  },
  request() {
    if (!enabledHere) {
      throw new RseqError(
        'ERR_RSEQ_SLICE_NOT_ENABLED',
        'rseq.sliceExtension.request: the time-slice extension is not enabled on this thread; call rseq.sliceExtension.enable() first',
      );
    }
    const failed = backend().slice.request();
    if (failed !== null) {
      const info = errnoInfo('slice-extension', failed.errno, failed.code);
      throw new RseqError('ERR_RSEQ_SYSCALL', `rseq.sliceExtension.request: ${info.message}`, info);
    }
  },
  granted: () => (backend().slice.ctrl() & GRANTED) !== 0,
  end: () => raise(backend().slice.end(), 'rseq_slice_yield', 'rseq.sliceExtension.end') !== 0,
  yield: () => raise(backend().slice.yield(), 'rseq_slice_yield', 'rseq.sliceExtension.yield') !== 0,
  run<T>(fn: () => T): T {
    sliceExtension.request();
    try {
      return fn();
    } finally {
      sliceExtension.end();
    }
  },
};
