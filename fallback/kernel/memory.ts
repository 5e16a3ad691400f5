/**
 * Simulated user memory of one simulated process.
 *
 * A flat 64-bit address space in which a single arena of bytes (a
 * SharedArrayBuffer where the runtime has one) is placed at a user-space
 * base address. Inside
 * the arena, regions are mapped with `map()` (an mmap/malloc-like allocator
 * with alignment) and unmapped with `unmap()`. Only bytes inside a mapped
 * region may be accessed; everything else faults:
 *
 * - an address outside every mapped region (including the unmapped parts of
 *   the arena and the whole rest of the user half), and
 * - any address in the kernel half, at or above USER_SPACE_END.
 *
 * Accesses throw a `MemoryFault`. The simulated kernel turns a fault into
 * EFAULT where the real kernel's uaccess would fail inside a syscall, and into
 * SIGSEGV where the kernel touches the area on return to user space.
 *
 * All values are little-endian (x86_64 and aarch64 as Linux runs them).
 * Addresses are bigint because user code may pass any 64-bit value (the
 * kernel address 0xffffffffffffffc0 of the errno table, for example).
 */

/**
 * First address of the kernel half. Real x86_64 kernels with 4-level paging
 * put TASK_SIZE_MAX one page below this (0x00007ffffffff000), aarch64 with
 * 48-bit VA uses 1 << 48; the model uses the canonical-hole boundary 1 << 47
 * for both, which is what the errno table and `access_ok` need.
 */
export const USER_SPACE_END = 0x0000_8000_0000_0000n;

export const PAGE_SIZE = 4096;

export type AccessKind = 'read' | 'write';

/** An access to an address that is not mapped (or in the kernel half). */
export class MemoryFault extends Error {
  readonly addr: bigint;
  readonly size: number;
  readonly access: AccessKind;
  constructor(addr: bigint, size: number, access: AccessKind) {
    super(`simulated ${access} fault at 0x${addr.toString(16)} (${size} bytes)`);
    this.name = 'MemoryFault';
    this.addr = addr;
    this.size = size;
    this.access = access;
  }
}

export interface MemoryRegion {
  /** First address of the region. */
  readonly addr: bigint;
  readonly size: number;
  /** Free-form label for debugging (`tls:1234`, `rseq-area`, ...). */
  readonly name: string;
}

export interface SimMemoryOptions {
  /** Bytes of the arena; default 1 MiB. */
  arenaBytes?: number;
  /** User-space address of the arena's first byte; must be page aligned. */
  base?: bigint;
}

interface Slot {
  /** Byte offset in the arena. */
  offset: number;
  size: number;
  name: string;
}

const DEFAULT_ARENA_BYTES = 1 << 20;
/** Default arena base: a typical x86_64 mmap address. */
export const DEFAULT_ARENA_BASE = 0x7f3a_0000_0000n;

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

export class SimMemory {
  /** The bytes of the arena; shared memory where available. */
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  /** User-space address of `buffer[0]`. */
  readonly base: bigint;
  readonly size: number;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  /** Mapped regions sorted by offset. */
  private readonly slots: Slot[] = [];

  constructor(options: SimMemoryOptions = {}) {
    const size = options.arenaBytes ?? DEFAULT_ARENA_BYTES;
    if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0) {
      throw new RangeError(`arena size must be a positive multiple of ${PAGE_SIZE}`);
    }
    const base = options.base ?? DEFAULT_ARENA_BASE;
    if (base % BigInt(PAGE_SIZE) !== 0n || base <= 0n || base + BigInt(size) > USER_SPACE_END) {
      throw new RangeError('arena base must be a page-aligned user-space address');
    }
    this.buffer = typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
    this.base = base;
    this.size = size;
    this.view = new DataView(this.buffer);
    this.bytes = new Uint8Array(this.buffer);
  }

  /**
   * Map `size` zeroed bytes aligned to `align` (a power of two) and return the
   * address. Throws a RangeError when the arena has no room (ENOMEM).
   */
  map(size: number, align = 16, name = 'anon'): bigint {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError('size must be a positive integer');
    if (!isPowerOfTwo(align)) throw new RangeError('alignment must be a power of two');
    // The arena base is page aligned, so aligning the offset aligns the address
    // for every alignment up to a page; larger alignments use the address.
    const baseMod = Number(this.base % BigInt(align));
    let cursor = 0;
    let insertAt = this.slots.length;
    let offset = -1;
    for (let i = 0; i <= this.slots.length; i++) {
      const candidate = alignUp(cursor + baseMod, align) - baseMod;
      const limit = i < this.slots.length ? (this.slots[i] as Slot).offset : this.size;
      if (candidate + size <= limit) {
        offset = candidate;
        insertAt = i;
        break;
      }
      if (i < this.slots.length) {
        const s = this.slots[i] as Slot;
        cursor = s.offset + s.size;
      }
    }
    if (offset < 0) throw new RangeError(`simulated memory exhausted mapping ${size} bytes`);
    this.slots.splice(insertAt, 0, { offset, size, name });
    this.bytes.fill(0, offset, offset + size);
    return this.base + BigInt(offset);
  }

  /** Unmap the region starting at `addr`. Unmapping an unmapped address throws. */
  unmap(addr: bigint): void {
    const i = this.slots.findIndex((s) => this.base + BigInt(s.offset) === addr);
    if (i < 0) throw new RangeError(`no mapped region starts at 0x${addr.toString(16)}`);
    this.slots.splice(i, 1);
  }

  /** The mapped regions, lowest address first. */
  regions(): MemoryRegion[] {
    return this.slots.map((s) => ({ addr: this.base + BigInt(s.offset), size: s.size, name: s.name }));
  }

  /** True when every byte of [addr, addr + size) is mapped. */
  isMapped(addr: bigint, size: number): boolean {
    return this.locate(addr, size) >= 0;
  }

  /**
   * Byte offset of `addr` inside `buffer`, for handing a view of simulated
   * memory to JavaScript. Throws a MemoryFault when [addr, addr + size) is not
   * mapped.
   */
  offsetOf(addr: bigint, size = 1): number {
    const off = this.locate(addr, size);
    if (off < 0) throw new MemoryFault(addr, size, 'read');
    return off;
  }

  /** Offset in the arena of [addr, addr + size), or -1 when any byte is unmapped. */
  private locate(addr: bigint, size: number): number {
    if (addr < this.base || addr >= USER_SPACE_END) return -1;
    const rel = addr - this.base;
    if (rel + BigInt(size) > BigInt(this.size)) return -1;
    const off = Number(rel);
    for (const s of this.slots) {
      if (off >= s.offset && off + size <= s.offset + s.size) return off;
      if (s.offset > off) break;
    }
    return -1;
  }

  private check(addr: bigint, size: number, access: AccessKind): number {
    const off = this.locate(addr, size);
    if (off < 0) throw new MemoryFault(addr, size, access);
    return off;
  }

  readU8(addr: bigint): number {
    return this.view.getUint8(this.check(addr, 1, 'read'));
  }

  readU32(addr: bigint): number {
    return this.view.getUint32(this.check(addr, 4, 'read'), true);
  }

  readU64(addr: bigint): bigint {
    return this.view.getBigUint64(this.check(addr, 8, 'read'), true);
  }

  writeU8(addr: bigint, value: number): void {
    this.view.setUint8(this.check(addr, 1, 'write'), value);
  }

  writeU32(addr: bigint, value: number): void {
    this.view.setUint32(this.check(addr, 4, 'write'), value >>> 0, true);
  }

  writeU64(addr: bigint, value: bigint): void {
    this.view.setBigUint64(this.check(addr, 8, 'write'), BigInt.asUintN(64, value), true);
  }

  /** Copy of [addr, addr + size). */
  readBytes(addr: bigint, size: number): Uint8Array {
    const off = this.check(addr, size, 'read');
    return this.bytes.slice(off, off + size);
  }

  /** Fill [addr, addr + size) with `value`. */
  fill(addr: bigint, size: number, value = 0): void {
    const off = this.check(addr, size, 'write');
    this.bytes.fill(value, off, off + size);
  }
}
