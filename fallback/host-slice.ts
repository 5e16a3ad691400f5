/**
 * The simulator backend's time-slice extension (Backend.slice): the model of
 * fallback/kernel/slice.ts on this thread's simulated thread; every call is
 * a system call of the model, with its return to user space. A fatal signal
 * of the model (any call, setAffinity included) is thrown as
 * FatalSignalError.
 */
import type { SliceCallResult, SliceCalls } from '../src/contract/backend.js';
import { ERRNO, type ErrnoName } from './kernel/errno.js';
import { RSEQ_FIELD } from './kernel/profiles.js';
import { PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_GET, PR_RSEQ_SLICE_EXTENSION_SET, PR_RSEQ_SLICE_EXT_ENABLE, SLICE_GRANTED } from './kernel/slice.js';
import { FatalSignalError, type SimThread } from './kernel/thread.js';
import type { SimulatorHost } from './host-options.js';
import type { HostThread } from './host-thread.js';

export function hostSlice(host: SimulatorHost, thread: HostThread): SliceCalls {
  const { machine } = host;
  const { ensureThread, afterSyscall } = thread;

  function sliceResult(t: SimThread, r: { ret: number; errno: ErrnoName | null }): SliceCallResult {
    afterSyscall(t);
    return r.errno === null ? { value: r.ret, failure: null } : { value: 0, failure: { errno: r.errno, code: ERRNO[r.errno] } };
  }

  /** slice_ctrl of the thread's area, or null without a registration. */
  function sliceCtrlAddr(t: SimThread): bigint | null {
    if (machine.fatal) throw new FatalSignalError(machine.fatal);
    const reg = t.registration;
    return reg ? reg.addr + BigInt(RSEQ_FIELD.sliceCtrl) : null;
  }

  const slice: SliceCalls = {
    prctl(op) {
      const t = ensureThread();
      const r =
        op === 'get'
          ? machine.slice.prctl(t, PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_GET)
          : machine.slice.prctl(t, PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_SET, op === 'enable' ? PR_RSEQ_SLICE_EXT_ENABLE : 0);
      return sliceResult(t, r);
    },
    yield() {
      const t = ensureThread();
      return sliceResult(t, machine.slice.sliceYield(t));
    },
    request() {
      const addr = sliceCtrlAddr(ensureThread());
      if (addr === null) return { errno: 'ENXIO', code: ERRNO.ENXIO };
      machine.memory.writeU8(addr, 1); // slice_ctrl.request: the byte user space owns
      return null;
    },
    end() {
      const t = ensureThread();
      const addr = sliceCtrlAddr(t);
      if (addr === null) return { value: 0, failure: { errno: 'ENXIO', code: ERRNO.ENXIO } };
      machine.memory.writeU8(addr, 0);
      if ((machine.memory.readU32(addr) & SLICE_GRANTED) === 0) return { value: 0, failure: null };
      return sliceResult(t, machine.slice.sliceYield(t));
    },
    ctrl() {
      const addr = sliceCtrlAddr(ensureThread());
      return addr === null ? 0 : machine.memory.readU32(addr);
    },
  };
  return slice;
}
