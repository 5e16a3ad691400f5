/** Simulated user memory: mappings, alignment, little-endian access, faults. */
import { describe, expect, it } from 'vitest';
import { MemoryFault, SimMemory, USER_SPACE_END } from '../../fallback/index.js';

describe('SimMemory', () => {
  it('maps zeroed regions at the requested alignment inside the arena', () => {
    const mem = new SimMemory({ arenaBytes: 64 * 1024, base: 0x7f00_0000_0000n });
    const a = mem.map(10, 8);
    const b = mem.map(64, 64);
    const c = mem.map(100, 8192);
    expect(a % 8n).toBe(0n);
    expect(b % 64n).toBe(0n);
    expect(c % 8192n).toBe(0n);
    for (const [addr, size] of [
      [a, 10],
      [b, 64],
      [c, 100],
    ] as const) {
      expect(addr).toBeGreaterThanOrEqual(mem.base);
      expect(mem.readBytes(addr, size).every((x) => x === 0)).toBe(true);
    }
    const regions = mem.regions();
    for (let i = 1; i < regions.length; i++) {
      expect(regions[i]!.addr).toBeGreaterThanOrEqual(regions[i - 1]!.addr + BigInt(regions[i - 1]!.size));
    }
  });

  it('reads and writes u8/u32/u64 little-endian through the shared buffer', () => {
    const mem = new SimMemory();
    const a = mem.map(16, 16);
    mem.writeU64(a, 0x1122334455667788n);
    mem.writeU32(a + 8n, 0xdeadbeef);
    mem.writeU8(a + 12n, 0xab);
    expect(mem.readU8(a)).toBe(0x88);
    expect(mem.readU32(a + 4n)).toBe(0x11223344);
    expect(mem.readU64(a)).toBe(0x1122334455667788n);
    expect(mem.readU32(a + 8n)).toBe(0xdeadbeef);
    const view = new Uint32Array(mem.buffer, mem.offsetOf(a, 16), 4);
    expect(view[2]).toBe(0xdeadbeef);
    mem.writeU32(a + 8n, -1);
    expect(view[2]).toBe(0xffffffff);
  });

  it('faults outside mappings, across a mapping end, after unmap and in the kernel half', () => {
    const mem = new SimMemory();
    const a = mem.map(32, 32);
    expect(() => mem.readU32(a + 32n)).toThrow(MemoryFault);
    expect(() => mem.readU64(a + 28n)).toThrow(MemoryFault);
    expect(() => mem.writeU32(0x1000n, 1)).toThrow(MemoryFault);
    expect(() => mem.readU32(USER_SPACE_END)).toThrow(MemoryFault);
    expect(() => mem.readU32(0xffffffffffffffc0n)).toThrow(MemoryFault);
    try {
      mem.writeU32(0xffffffffffffffc0n, 0);
    } catch (e) {
      expect(e).toBeInstanceOf(MemoryFault);
      expect((e as MemoryFault).access).toBe('write');
      expect((e as MemoryFault).addr).toBe(0xffffffffffffffc0n);
    }
    mem.unmap(a);
    expect(mem.isMapped(a, 4)).toBe(false);
    expect(() => mem.readU32(a)).toThrow(MemoryFault);
    expect(() => mem.unmap(a)).toThrow(RangeError);
  });

  it('reuses freed space and reports exhaustion', () => {
    const mem = new SimMemory({ arenaBytes: 4096 });
    const a = mem.map(4096, 16);
    expect(() => mem.map(16, 16)).toThrow(RangeError);
    mem.unmap(a);
    expect(mem.map(16, 16)).toBe(a);
  });
});
