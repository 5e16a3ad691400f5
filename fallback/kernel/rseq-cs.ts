/**
 * The critical-section descriptor (struct rseq_cs) as the kernel evaluates it
 * on the way back to user space, against the thread's instruction pointer:
 * 4.18–6.18 validate the whole descriptor and honour the deprecated
 * NO_RESTART flags (evaluateCsFull, rseq_ip_fixup); 6.19+ take the fast path,
 * or every check with rseq_debug (evaluateCsFast, rseq_update_user_cs). An IP
 * inside [start_ip, start_ip + post_commit_offset) is moved to abort_ip after
 * the signature check; an IP outside clears rseq_cs. What cannot be read, or
 * a rogue descriptor, is a fatal reason (the caller sends SIGSEGV).
 */
import { MemoryFault, USER_SPACE_END, type SimMemory } from './memory.js';
import { RSEQ_CS_FLAG_NO_RESTART_ON_MIGRATE, RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT, RSEQ_CS_FLAG_NO_RESTART_ON_SIGNAL, RSEQ_FIELD } from './profiles.js';
import type { KernelState } from './state.js';
import type { RseqRegistration, ThreadState } from './thread.js';

/** What the kernel did with rseq_cs on a return to user space. */
export type CsOutcome =
  /** rseq_cs was 0 or not looked at. */
  | 'none'
  /** The IP was outside the section: rseq_cs was cleared. */
  | 'cleared'
  /** The IP was inside the section: rseq_cs was cleared and the IP moved to abort_ip. */
  | 'aborted'
  /** Inside the section, but NO_RESTART flags (4.18–5.19) suppressed the abort: rseq_cs stays. */
  | 'no-restart';

/** Why the kernel kills the process. */
export interface Fatal {
  fatal: string;
}

/** u64 arithmetic of the kernel's unsigned comparisons. */
function u64(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}

/** rseq_cs of the area, or a fatal reason when it cannot be read. */
function readRseqCs(memory: SimMemory, reg: RseqRegistration): bigint | Fatal {
  try {
    return memory.readU64(reg.addr + BigInt(RSEQ_FIELD.rseqCs));
  } catch (e) {
    if (!(e instanceof MemoryFault)) throw e;
    return { fatal: `fault reading rseq_cs in the rseq area at 0x${e.addr.toString(16)}` };
  }
}

function clearRseqCs(memory: SimMemory, reg: RseqRegistration): Fatal | null {
  try {
    memory.writeU64(reg.addr + BigInt(RSEQ_FIELD.rseqCs), 0n);
    return null;
  } catch (e) {
    if (!(e instanceof MemoryFault)) throw e;
    return { fatal: `fault clearing rseq_cs in the rseq area at 0x${e.addr.toString(16)}` };
  }
}

/** The registered signature must be the u32 just before abort_ip. */
function checkSignature(memory: SimMemory, reg: RseqRegistration, abortIp: bigint): Fatal | null {
  if (abortIp >= USER_SPACE_END || abortIp < 4n) return { fatal: `abort_ip 0x${abortIp.toString(16)} is not a user-space address` };
  let sig: number;
  try {
    sig = memory.readU32(abortIp - 4n);
  } catch (e) {
    if (!(e instanceof MemoryFault)) throw e;
    return { fatal: `fault reading the signature before abort_ip at 0x${(abortIp - 4n).toString(16)}` };
  }
  if (sig !== reg.sig) {
    return {
      fatal: `possible attack attempt: unexpected rseq signature 0x${sig.toString(16)} before abort_ip 0x${abortIp.toString(16)}, expecting 0x${reg.sig.toString(16)}`,
    };
  }
  return null;
}

/**
 * 4.18–6.18: rseq_get_rseq_cs() validates the descriptor whatever the IP;
 * then an IP outside the section clears rseq_cs, and an IP inside
 * restarts at abort_ip unless rseq_need_restart() says otherwise.
 */
/** The abort: the signature before abort_ip checked, rseq_cs cleared, the thread resumed at abort_ip. */
function abortTo(memory: SimMemory, t: ThreadState, reg: RseqRegistration, abortIp: bigint): CsOutcome | Fatal {
  const bad = checkSignature(memory, reg, abortIp);
  if (bad) return bad;
  const cleared = clearRseqCs(memory, reg);
  if (cleared) return cleared;
  t.regs.ip = abortIp;
  return 'aborted';
}

export function evaluateCsFull(k: KernelState, t: ThreadState, reg: RseqRegistration, events: number): CsOutcome | Fatal {
  const ptr = readRseqCs(k.memory, reg);
  if (typeof ptr !== 'bigint') return ptr;
  if (ptr === 0n) return 'none';
  if (ptr >= USER_SPACE_END) return { fatal: `rseq_cs 0x${ptr.toString(16)} is not a user-space address` };
  let version: number;
  let csFlags: number;
  let start: bigint;
  let offset: bigint;
  let abortIp: bigint;
  try {
    version = k.memory.readU32(ptr);
    csFlags = k.memory.readU32(ptr + 4n);
    start = k.memory.readU64(ptr + 8n);
    offset = k.memory.readU64(ptr + 16n);
    abortIp = k.memory.readU64(ptr + 24n);
  } catch (e) {
    if (!(e instanceof MemoryFault)) throw e;
    return { fatal: `fault reading the rseq_cs descriptor at 0x${ptr.toString(16)}` };
  }
  if (version !== 0) return { fatal: `rseq_cs version ${version} is not 0` };
  const end = start + offset;
  if (start >= USER_SPACE_END || end >= USER_SPACE_END || u64(end) < start) {
    return { fatal: `critical section [0x${start.toString(16)}, +0x${offset.toString(16)}) is not inside user space` };
  }
  if (u64(abortIp - start) < offset) {
    return { fatal: `abort_ip 0x${abortIp.toString(16)} is inside the critical section [0x${start.toString(16)}, 0x${end.toString(16)})` };
  }
  const bad = checkSignature(k.memory, reg, abortIp);
  if (bad) return bad;
  const ip = t.regs.ip;
  if (u64(ip - start) >= offset) return clearRseqCs(k.memory, reg) ?? 'cleared';

  let threadFlags: number;
  try {
    threadFlags = k.memory.readU32(reg.addr + BigInt(RSEQ_FIELD.flags));
  } catch (e) {
    if (!(e instanceof MemoryFault)) throw e;
    return { fatal: `fault reading struct rseq::flags at 0x${e.addr.toString(16)}` };
  }
  let restart: boolean;
  if (k.profile.noRestartFlagsFatal) {
    // 6.0+ rseq_warn_flags(): any flag, deprecated or unknown, is -EINVAL.
    if (csFlags !== 0) return { fatal: `rseq_cs flags 0x${csFlags.toString(16)} are set (deprecated NO_RESTART flags are fatal since 6.0)` };
    if (threadFlags !== 0) return { fatal: `struct rseq flags 0x${threadFlags.toString(16)} are set (deprecated NO_RESTART flags are fatal since 6.0)` };
    restart = events !== 0;
  } else {
    const flags = csFlags | threadFlags;
    const preemptMigrate = RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT | RSEQ_CS_FLAG_NO_RESTART_ON_MIGRATE;
    if (flags & RSEQ_CS_FLAG_NO_RESTART_ON_SIGNAL && (flags & preemptMigrate) !== preemptMigrate) {
      return { fatal: 'NO_RESTART_ON_SIGNAL without NO_RESTART_ON_PREEMPT and NO_RESTART_ON_MIGRATE' };
    }
    // RSEQ_EVENT_*_BIT share their bit numbers with the NO_RESTART flags.
    restart = (events & ~flags) !== 0;
  }
  if (!restart) return 'no-restart';
  const cleared = clearRseqCs(k.memory, reg);
  if (cleared) return cleared;
  t.regs.ip = abortIp;
  return 'aborted';
}

/**
 * 6.19+: rseq_update_user_cs() (the fast path), or with rseq_debug
 * rseq_debug_update_user_cs() (every check, in its order).
 */
export function evaluateCsFast(k: KernelState, t: ThreadState, reg: RseqRegistration): CsOutcome | Fatal {
  const ptr = readRseqCs(k.memory, reg);
  if (typeof ptr !== 'bigint') return ptr;
  if (ptr === 0n) return 'none';
  if (ptr >= USER_SPACE_END) return { fatal: `rseq_cs 0x${ptr.toString(16)} is not a user-space address` };
  const ip = t.regs.ip;
  const read = (off: bigint): bigint => k.memory.readU64(ptr + off);
  try {
    if (k.rseqDebug) {
      const start = read(8n);
      if (start >= USER_SPACE_END) return { fatal: `start_ip 0x${start.toString(16)} is not a user-space address` };
      if (ip < start) return clearRseqCs(k.memory, reg) ?? 'cleared';
      const offset = read(16n);
      const end = u64(start + offset);
      if (end >= USER_SPACE_END || end < start) {
        return { fatal: `critical section [0x${start.toString(16)}, +0x${offset.toString(16)}) is not inside user space` };
      }
      if (ip >= end) return clearRseqCs(k.memory, reg) ?? 'cleared';
      const abortIp = read(24n);
      if (abortIp >= USER_SPACE_END || abortIp < 4n) return { fatal: `abort_ip 0x${abortIp.toString(16)} is not a user-space address` };
      if (u64(abortIp - start) < offset) {
        return { fatal: `abort_ip 0x${abortIp.toString(16)} is inside the critical section [0x${start.toString(16)}, 0x${end.toString(16)})` };
      }
      const head = read(0n);
      if (head !== 0n) return { fatal: `rseq_cs version/flags 0x${head.toString(16)} are not 0 (rseq_debug)` };
      return abortTo(k.memory, t, reg, abortIp);
    }
    const start = read(8n);
    const offset = read(16n);
    const abortIp = read(24n);
    if (u64(ip - start) >= offset) return clearRseqCs(k.memory, reg) ?? 'cleared';
    return abortTo(k.memory, t, reg, abortIp);
  } catch (e) {
    if (!(e instanceof MemoryFault)) throw e;
    return { fatal: `fault reading the rseq_cs descriptor at 0x${e.addr.toString(16)}` };
  }
}
