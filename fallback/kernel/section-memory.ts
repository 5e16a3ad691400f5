/**
 * What a critical section reads and writes (SectionMemory): the calling
 * thread's struct rseq and the operation's arrays, behind one interface, so
 * the same step programs run on simulated memory (simulatedMemory here: the
 * kernel model, the scheduler, the tests) and on real typed arrays (the host
 * backend, fallback/host-sections.ts).
 */
import type { SimMemory } from './memory.js';

/** How a store is ordered: speculative stores, the commit, or a store-release commit. */
export type StoreKind = 'speculative' | 'commit' | 'commit-release';

/**
 * What a section reads and writes. The rseq area is the calling thread's
 * struct rseq; words, src and dst are the operation's arrays, indexed by
 * element (64-bit words, bytes). Indices were validated before the section
 * started.
 */
export interface SectionMemory {
  /** A u32 of the thread's struct rseq (cpu_id, mm_cid). */
  loadArea32(offset: number): number;
  /** A u64 store into the thread's struct rseq (rseq_cs). */
  storeArea64(offset: number, value: bigint): void;
  /** words[index] as a signed 64-bit value. */
  loadWord(index: number): bigint;
  storeWord(index: number, value: bigint, kind: StoreKind): void;
  loadSrcByte(index: number): number;
  storeDstByte(index: number, value: number): void;
}

/** An array in simulated memory: `length` elements (words or bytes) from `addr`. */
export interface SimArray {
  readonly addr: bigint;
  readonly length: number;
}

/**
 * Operands in simulated memory: element i of `words` is the little-endian
 * u64 at words.addr + 8 * i, byte i of src/dst at addr + i. Address
 * arithmetic as the assembly does it; an access outside mapped memory is a
 * MemoryFault (the process gets SIGSEGV).
 */
export function simulatedMemory(memory: SimMemory, area: bigint, operands: { words?: SimArray; src?: SimArray; dst?: SimArray }): SectionMemory {
  const need = (a: SimArray | undefined, what: string): SimArray => {
    if (!a) throw new Error(`this section has no ${what} operand`);
    return a;
  };
  return {
    loadArea32: (offset) => memory.readU32(area + BigInt(offset)),
    storeArea64: (offset, value) => memory.writeU64(area + BigInt(offset), value),
    loadWord: (index) => BigInt.asIntN(64, memory.readU64(need(operands.words, 'words').addr + 8n * BigInt(index))),
    storeWord: (index, value) => memory.writeU64(need(operands.words, 'words').addr + 8n * BigInt(index), value),
    loadSrcByte: (index) => memory.readU8(need(operands.src, 'src').addr + BigInt(index)),
    storeDstByte: (index, value) => memory.writeU8(need(operands.dst, 'dst').addr + BigInt(index), value),
  };
}
