/**
 * A thread's struct rseq in simulated memory, as the kernel reads and writes
 * it: the ID fields it publishes, the resets at registration and
 * unregistration, and a snapshot of every field for callers. Each access goes
 * through SimMemory, so an unmapped area is a MemoryFault for the caller to
 * turn into EFAULT or SIGSEGV as the kernel would.
 */
import type { SimMemory } from './memory.js';
import { RSEQ_CPU_ID_UNINITIALIZED, RSEQ_FIELD } from './profiles.js';
import type { Ids } from './thread.js';

/** The fields of one thread's area as the simulated memory holds them. */
export interface AreaSnapshot {
  cpuIdStart: number;
  cpuId: number;
  rseqCs: bigint;
  flags: number;
  nodeId: number;
  mmCid: number;
}

const at = (addr: bigint, field: keyof typeof RSEQ_FIELD): bigint => addr + BigInt(RSEQ_FIELD[field]);

/** The area's fields (throws MemoryFault when unmapped). */
export function readArea(memory: SimMemory, addr: bigint): AreaSnapshot {
  return {
    cpuIdStart: memory.readU32(at(addr, 'cpuIdStart')),
    cpuId: memory.readU32(at(addr, 'cpuId')),
    rseqCs: memory.readU64(at(addr, 'rseqCs')),
    flags: memory.readU32(at(addr, 'flags')),
    nodeId: memory.readU32(at(addr, 'nodeId')),
    mmCid: memory.readU32(at(addr, 'mmCid')),
  };
}

/**
 * True when the ID fields still hold what the kernel last wrote (`last`):
 * cpu_id_start and cpu_id equal to its CPU, node_id and mm_cid to its ids.
 * Read in the kernel's order: cpu_id_start, cpu_id, node_id, mm_cid.
 */
export function idsUnchanged(memory: SimMemory, addr: bigint, last: Ids): boolean {
  const cpuIdStart = memory.readU32(at(addr, 'cpuIdStart'));
  const cpuId = memory.readU32(at(addr, 'cpuId'));
  const nodeId = memory.readU32(at(addr, 'nodeId'));
  const mmCid = memory.readU32(at(addr, 'mmCid'));
  return cpuIdStart === last.cpuId && cpuId === cpuIdStart && nodeId === last.nodeId && mmCid === last.mmCid;
}

/** The IDs written on the way back to user space: cpu_id_start and cpu_id, then node_id and mm_cid where the release has them. */
export function writeIds(memory: SimMemory, addr: bigint, ids: Ids, nodeAndMmCid: boolean): void {
  memory.writeU32(at(addr, 'cpuIdStart'), ids.cpuId);
  memory.writeU32(at(addr, 'cpuId'), ids.cpuId);
  if (nodeAndMmCid) {
    memory.writeU32(at(addr, 'nodeId'), ids.nodeId);
    memory.writeU32(at(addr, 'mmCid'), ids.mmCid);
  }
}

/** Unregistration: cpu_id_start as the release leaves it, cpu_id uninitialised, node_id and mm_cid 0 where the release has them. */
export function resetIds(memory: SimMemory, addr: bigint, cpuIdStart: number, nodeAndMmCid: boolean): void {
  memory.writeU32(at(addr, 'cpuIdStart'), cpuIdStart);
  memory.writeU32(at(addr, 'cpuId'), RSEQ_CPU_ID_UNINITIALIZED);
  if (nodeAndMmCid) {
    memory.writeU32(at(addr, 'nodeId'), 0);
    memory.writeU32(at(addr, 'mmCid'), 0);
  }
}

/** Registration on kernels that only clear rseq_cs (4.18–6.18): a read, and a write when it is not 0. */
export function clearRseqCsIfSet(memory: SimMemory, addr: bigint): void {
  if (memory.readU64(at(addr, 'rseqCs')) !== 0n) memory.writeU64(at(addr, 'rseqCs'), 0n);
}

/**
 * Registration on kernels that initialise the area (6.19+): rseq_cs 0, on
 * 7.0 struct rseq::flags (`flags`, null: not written), the IDs uninitialised
 * and 0, and with `sliceCtrl` slice_ctrl 0.
 */
export function initFields(memory: SimMemory, addr: bigint, flags: number | null, sliceCtrl: boolean): void {
  memory.writeU64(at(addr, 'rseqCs'), 0n);
  if (flags !== null) memory.writeU32(at(addr, 'flags'), flags);
  memory.writeU32(at(addr, 'cpuIdStart'), RSEQ_CPU_ID_UNINITIALIZED);
  memory.writeU32(at(addr, 'cpuId'), RSEQ_CPU_ID_UNINITIALIZED);
  memory.writeU32(at(addr, 'nodeId'), 0);
  memory.writeU32(at(addr, 'mmCid'), 0);
  if (sliceCtrl) memory.writeU32(at(addr, 'sliceCtrl'), 0);
}
