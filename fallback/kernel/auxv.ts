/**
 * The ELF auxiliary vector a simulated process starts with: the AT_* numbers,
 * their names, and the entries a kernel profile publishes.
 */
import type { AuxvEntry } from '../../src/contract/types.js';
import type { Arch, KernelProfile } from './profiles.js';

/** AT_* numbers (include/uapi/linux/auxvec.h and asm/auxvec.h). */
export const AT = {
  AT_NULL: 0,
  AT_IGNORE: 1,
  AT_EXECFD: 2,
  AT_PHDR: 3,
  AT_PHENT: 4,
  AT_PHNUM: 5,
  AT_PAGESZ: 6,
  AT_BASE: 7,
  AT_FLAGS: 8,
  AT_ENTRY: 9,
  AT_NOTELF: 10,
  AT_UID: 11,
  AT_EUID: 12,
  AT_GID: 13,
  AT_EGID: 14,
  AT_PLATFORM: 15,
  AT_HWCAP: 16,
  AT_CLKTCK: 17,
  AT_SECURE: 23,
  AT_BASE_PLATFORM: 24,
  AT_RANDOM: 25,
  AT_HWCAP2: 26,
  AT_RSEQ_FEATURE_SIZE: 27,
  AT_RSEQ_ALIGN: 28,
  AT_HWCAP3: 29,
  AT_HWCAP4: 30,
  AT_EXECFN: 31,
  AT_SYSINFO_EHDR: 33,
  AT_MINSIGSTKSZ: 51,
} as const;

const AT_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(AT).map(([k, v]) => [v, k] as const));

/** The AT_* name of an auxv type, or null. */
export function auxvName(type: number): string | null {
  return AT_NAMES.get(type) ?? null;
}

/**
 * The auxiliary vector of a process started on a machine of this kernel
 * profile and architecture, without the AT_NULL terminator.
 * AT_RSEQ_FEATURE_SIZE and AT_RSEQ_ALIGN only where the profile publishes
 * them (6.3+); AT_MINSIGSTKSZ on aarch64 since 4.18 and on x86_64 since
 * 5.14. Addresses and hardware capabilities are plausible values, not a real
 * machine's.
 */
export function auxvEntries(p: KernelProfile, arch: Arch): AuxvEntry[] {
  const [maj, min] = p.version;
  const atLeast = (a: number, b: number): boolean => maj > a || (maj === a && min >= b);
  const x86 = arch === 'x86_64';
  const entries: Array<[number, bigint]> = [];
  entries.push([AT.AT_SYSINFO_EHDR, 0x7ffc_a8b5_e000n]);
  if (x86 ? atLeast(5, 14) : atLeast(4, 18)) entries.push([AT.AT_MINSIGSTKSZ, x86 ? 3376n : 4224n]);
  entries.push([AT.AT_HWCAP, x86 ? 0x178bfbffn : 0xefffffffn]);
  entries.push([AT.AT_PAGESZ, 4096n]);
  entries.push([AT.AT_CLKTCK, 100n]);
  entries.push([AT.AT_PHDR, 0x5555_5555_4040n]);
  entries.push([AT.AT_PHENT, 56n]);
  entries.push([AT.AT_PHNUM, 13n]);
  entries.push([AT.AT_BASE, 0x7f3b_7a2c_3000n]);
  entries.push([AT.AT_FLAGS, 0n]);
  entries.push([AT.AT_ENTRY, 0x5555_5555_6a40n]);
  entries.push([AT.AT_UID, 1000n]);
  entries.push([AT.AT_EUID, 1000n]);
  entries.push([AT.AT_GID, 1000n]);
  entries.push([AT.AT_EGID, 1000n]);
  entries.push([AT.AT_SECURE, 0n]);
  entries.push([AT.AT_RANDOM, 0x7ffc_a8a4_f3b9n]);
  entries.push([AT.AT_HWCAP2, x86 ? 0x2n : 0x2f8fn]);
  entries.push([AT.AT_EXECFN, 0x7ffc_a8a4_ffe8n]);
  entries.push([AT.AT_PLATFORM, 0x7ffc_a8a4_f3c9n]);
  if (p.featureSize !== null && p.align !== null) {
    entries.push([AT.AT_RSEQ_FEATURE_SIZE, BigInt(p.featureSize)]);
    entries.push([AT.AT_RSEQ_ALIGN, BigInt(p.align)]);
  }
  return entries.map(([type, value]) => ({ type, name: auxvName(type), value }));
}
