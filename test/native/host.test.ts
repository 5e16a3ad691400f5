/**
 * Native-only: the probe against independent sources on this machine (the
 * dynamic loader's LD_SHOW_AUXV, a C program reading glibc's symbols, sysfs).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rseq } from '../../src/index.js';
import { compileC, nativeUnavailable, parseCpuList, required, skipNative } from '../helpers/env.js';

describe('native backend availability', () => {
  it.runIf(required)('RSEQ_REQUIRE=1: rseq works natively on this machine', () => {
    expect(nativeUnavailable, `native backend unavailable: ${nativeUnavailable}`).toBeNull();
    expect(rseq.backend).toBe('native');
  });
});

/** `LD_SHOW_AUXV=1` of a child: the loader prints the vector it was given. */
function loaderAuxv(): Map<number | string, bigint> {
  const r = spawnSync('/bin/true', { env: { ...process.env, LD_SHOW_AUXV: '1' }, encoding: 'utf8' });
  const out = new Map<number | string, bigint>();
  for (const line of r.stdout.split('\n')) {
    // "AT_??? (0x1b): 0x1c" for types glibc 2.36 does not name, "AT_PAGESZ: 4096" otherwise.
    const unnamed = /^AT_\?\?\? \((0x[0-9a-f]+)\):\s+(\S+)/.exec(line);
    if (unnamed) out.set(Number(unnamed[1]), BigInt(unnamed[2]!));
    // glibc prints AT_HWCAP as bare hex, pointers and flags as 0x-hex, counts as decimal.
    const named = /^(AT_[A-Z0-9_]+):\s+(0x[0-9a-f]+|[0-9a-f]+)\s*$/.exec(line);
    if (named) {
      const [, name, text] = named as unknown as [string, string, string];
      out.set(name, BigInt(text.startsWith('0x') || name === 'AT_HWCAP' ? (text.startsWith('0x') ? text : `0x${text}`) : text));
    }
  }
  return out;
}

describe.skipIf(skipNative)('probe against independent sources', () => {
  let original: number[];
  beforeAll(() => {
    original = rseq.getAffinity();
  });
  afterAll(() => {
    rseq.setAffinity(original);
  });

  it('AT_RSEQ_FEATURE_SIZE and AT_RSEQ_ALIGN equal what the loader shows a child', () => {
    const loader = loaderAuxv();
    expect(loader.size).toBeGreaterThan(5);
    const fromLoader = (type: number, name: string): number | null => {
      const v = loader.get(type) ?? loader.get(name);
      return v === undefined ? null : Number(v);
    };
    const k = rseq.probe().kernel;
    expect(k.featureSize).toBe(fromLoader(27, 'AT_RSEQ_FEATURE_SIZE'));
    expect(k.align).toBe(fromLoader(28, 'AT_RSEQ_ALIGN'));
    // Entries that are the same for every process agree too.
    const ours = new Map(rseq.auxv().map((e) => [e.name, e.value]));
    for (const name of ['AT_PAGESZ', 'AT_CLKTCK', 'AT_HWCAP']) {
      expect(ours.get(name), name).toBe(loader.get(name));
    }
  });

  it("libc's __rseq_offset, __rseq_size and __rseq_flags equal a C program's", () => {
    const bin = compileC('rseq-symbols.c');
    const c = JSON.parse(spawnSync(bin, { encoding: 'utf8' }).stdout) as {
      rseqOffset: number;
      rseqSize: number;
      rseqFlags: number;
      registered: boolean;
    };
    const p = rseq.probe();
    expect(p.libc.family).toBe('glibc');
    expect(p.libc.version).toMatch(/^2\.\d+/);
    expect({ rseqOffset: p.libc.rseqOffset, rseqSize: p.libc.rseqSize, rseqFlags: p.libc.rseqFlags }).toEqual({
      rseqOffset: c.rseqOffset,
      rseqSize: c.rseqSize,
      rseqFlags: c.rseqFlags,
    });
    expect(p.registration.owner).toBe(c.registered ? 'libc' : 'addon');
    // glibc registers 32 bytes whatever __rseq_size says (20 on Debian's 2.36); the kernel confirmed the length.
    if (c.registered) expect(p.registration.length).toBe(32);
  });

  it('node_id names the NUMA node sysfs gives for each CPU the thread is pinned to', () => {
    const nodeDir = '/sys/devices/system/node';
    const nodeOf = new Map<number, number>();
    for (const entry of fs.readdirSync(nodeDir)) {
      const m = /^node(\d+)$/.exec(entry);
      if (!m) continue;
      for (const cpu of parseCpuList(fs.readFileSync(path.join(nodeDir, entry, 'cpulist'), 'utf8'))) nodeOf.set(cpu, Number(m[1]));
    }
    expect(nodeOf.size).toBeGreaterThan(0);
    const view = rseq.area();
    for (const cpu of original) {
      rseq.setAffinity([cpu]);
      expect(rseq.cpuId()).toBe(cpu);
      expect(rseq.nodeId()).toBe(nodeOf.get(cpu));
      expect(view.nodeId).toBe(nodeOf.get(cpu));
    }
  });

  it('the area view reads the kernel-written memory directly', () => {
    const p = rseq.probe();
    expect(p.area.access).toBe('external-buffer');
    expect(p.area.byteLength).toBe(p.registration.length);
  });
});
