/**
 * What the libc does for rseq as the libc profile says (profiles.ts): its
 * registration when a thread starts, and the __rseq_offset, __rseq_size and
 * __rseq_flags symbols it exports.
 */
import type { LibcInfo } from '../../src/contract/types.js';
import { RSEQ_CPU_ID_REGISTRATION_FAILED, RSEQ_CPU_ID_UNINITIALIZED, RSEQ_FIELD } from './profiles.js';
import { sysRseq } from './registration.js';
import { returnToUser } from './return-to-user.js';
import type { KernelState, LibcSymbols } from './state.js';
import type { LibcThreadStart, ThreadState } from './thread.js';

/**
 * What the libc does when a thread starts: glibc >= 2.35 registers its
 * TLS-resident area (rseq-internal.h: the area is cleared, cpu_id set to
 * -1, rseq(area, len, 0, RSEQ_SIG)); on failure, or with the tunable off,
 * it stores RSEQ_CPU_ID_REGISTRATION_FAILED (-2) in cpu_id. musl and glibc
 * < 2.35 do nothing. The first thread started sets the process-wide
 * __rseq_offset / __rseq_size / __rseq_flags.
 */
export function libcStart(k: KernelState, t: ThreadState): LibcThreadStart {
  if (t.libc) return t.libc;
  const lp = k.libcProfile;
  const first = k.symbols === null;
  let start: LibcThreadStart;
  if (!lp.exportsSymbols) {
    start = { registered: false, area: null, length: null, errno: null };
    if (first) k.symbols = { rseqOffset: null, rseqSize: null, rseqFlags: null };
  } else {
    const layout = lp.areaLayout(k.profile, k.arch);
    const area = t.tp + BigInt(layout.offset);
    k.memory.fill(area, layout.size, 0);
    if (!lp.registers) {
      k.memory.writeU32(area + BigInt(RSEQ_FIELD.cpuId), RSEQ_CPU_ID_REGISTRATION_FAILED);
      start = { registered: false, area, length: null, errno: null };
      if (first) k.symbols = { rseqOffset: layout.offset, rseqSize: 0, rseqFlags: 0 };
    } else {
      k.memory.writeU32(area + BigInt(RSEQ_FIELD.cpuId), RSEQ_CPU_ID_UNINITIALIZED);
      const length = lp.registrationLength(k.profile);
      const res = sysRseq(k, t, area, length, 0, lp.signature(k.arch));
      if (res.errno === null) {
        t.registrationOwner = 'libc';
        returnToUser(k, t, 'syscall');
      } else {
        k.memory.writeU32(area + BigInt(RSEQ_FIELD.cpuId), RSEQ_CPU_ID_REGISTRATION_FAILED);
      }
      start = { registered: res.errno === null, area, length, errno: res.errno };
      if (first) {
        k.symbols = {
          rseqOffset: layout.offset,
          rseqSize: res.errno === null ? lp.rseqSizeOnSuccess(k.profile) : 0,
          rseqFlags: 0,
        };
      }
    }
  }
  t.libc = start;
  return start;
}

/** __rseq_offset, __rseq_size, __rseq_flags as the libc exports them (null where it does not). */
function libcSymbols(k: KernelState): LibcSymbols {
  return k.symbols ?? { rseqOffset: null, rseqSize: null, rseqFlags: null };
}

export function libcInfo(k: KernelState): LibcInfo {
  const s = libcSymbols(k);
  return {
    family: k.libcProfile.family,
    version: k.libcProfile.version,
    rseqOffset: s.rseqOffset,
    rseqSize: s.rseqSize,
    rseqFlags: s.rseqFlags,
  };
}
