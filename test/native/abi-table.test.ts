/**
 * The one table of the values TypeScript and the addon share
 * (src/contract/abi.ts) against the C++ side:
 * - native/abi_table.h is exactly what scripts/gen-abi.cjs makes of the table;
 * - the C++ definitions compile against it: native/test/test_abi_table.cc
 *   holds every status, mode, region constant and the area-size rule to the
 *   generated values with static_assert, and native/abi.h checks the kernel
 *   ABI (struct layouts, flags, signatures, system call numbers);
 * - the addon's sources spell no error code of their own;
 * - and the built addon answers with the table's operation and region
 *   statuses, error codes, field offsets, errno case names and area length.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ERRNO_CASES,
  ERROR_CODE,
  OP_BAD_INDEX,
  OP_COMMITTED,
  OP_COMPARE_FAILED,
  OP_MOVED,
  REGION_BAD_ARG,
  REGION_CORRUPT,
  REGION_EMPTY,
  REGION_LOCKED,
  REGION_NOT_TAKEN,
  REGION_OVERFLOW,
  RSEQ_AREA,
  addonAreaLayout,
} from '../../src/contract/abi.js';
import { REGION_KIND_CODE, type RegionKind } from '../../src/contract/backend.js';
import { HEADER_WORDS, LOCKED, allocate, makeLayout } from '../../src/contract/layout.js';
import type { NativeBinding } from '../../src/native/binding.js';
import { ROOT, SHIPPED_ADDON, required, runNode, skipNative } from '../helpers/env.js';

const requireRoot = createRequire(path.join(ROOT, 'package.json'));
const gen = requireRoot('./scripts/gen-abi.cjs') as { render(): string; HEADER: string };
const ADDON = process.env.RSEQ_ADDON?.trim() ? path.resolve(process.env.RSEQ_ADDON.trim()) : SHIPPED_ADDON;

/** The C++ compiler the native build uses, or null. */
function compiler(): string | null {
  const cxx = process.env.CXX?.split(' ')[0] || 'g++';
  return spawnSync(cxx, ['--version'], { stdio: 'ignore' }).status === 0 ? cxx : null;
}
const CXX = compiler();
const linuxArch = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');

describe('the ABI table (src/contract/abi.ts) and native/abi_table.h', () => {
  it('the committed header is what scripts/gen-abi.cjs makes of the table', () => {
    const committed = fs.readFileSync(gen.HEADER, 'utf8');
    // A plain equality would print two whole headers: name the first line that differs.
    const want = gen.render().split('\n');
    const have = committed.split('\n');
    const line = want.findIndex((l, i) => l !== have[i]);
    expect(line === -1 && want.length === have.length ? null : { line: line + 1, header: have[line], table: want[line] }, 'run `node scripts/gen-abi.cjs`').toBeNull();
  });

  it.skipIf(!linuxArch || (CXX === null && !required))('the C++ definitions compile against the generated values (native/test/test_abi_table.cc, native/abi.h)', () => {
    const r = spawnSync(CXX ?? 'g++', ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-fsyntax-only', '-Inative', 'native/test/test_abi_table.cc'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
  });

  it("the addon's sources take every error code from the table", () => {
    const dir = path.join(ROOT, 'native');
    const offenders = fs
      .readdirSync(dir)
      .filter((f) => /\.(cc|h)$/.test(f) && f !== 'abi_table.h')
      .flatMap((f) => [...fs.readFileSync(path.join(dir, f), 'utf8').matchAll(/"(ERR_[A-Z_]+)"/g)].map((m) => `${f}: ${m[1]}`));
    expect(offenders).toEqual([]);
  });
});

describe.skipIf(skipNative)('the built addon answers with the table', () => {
  const b = requireRoot(ADDON) as NativeBinding;
  b.acquire();

  /** Calls `op` with the thread's cpu_id until the kernel neither aborted it nor moved the thread. */
  const settled = (op: (id: number) => number, pop = false): number => {
    for (let i = 0; i < 1000; i++) {
      const r = op(b.currentId(0));
      const s = pop ? (r < 0 ? -r : OP_COMMITTED) : r;
      if (s !== 2 && s !== OP_MOVED) return r;
    }
    throw new Error('1000 attempts aborted or moved');
  };

  it('operation statuses', () => {
    const w = new BigInt64Array([7n, 0n, 5n, 0n]);
    expect(settled((id) => b.opStoreIfEqual(0, id, w, 0, 6, 9))).toBe(OP_COMPARE_FAILED);
    expect(settled((id) => b.opStoreIfEqual(0, id, w, 0, 7, 9))).toBe(OP_COMMITTED);
    expect(b.opAdd(0, 0xffffffff, w, 1, 1)).toBe(OP_MOVED); // no CPU is 2^32 - 1
    expect(settled((id) => b.opListPop(0, id, w, 2, 0, 3, -1), true)).toBe(-OP_BAD_INDEX);
    expect([...w]).toEqual([9n, 0n, 5n, 0n]);
  });

  /** A region of `kind` over every possible CPU, bound on this thread, and its words. */
  const region = (kind: RegionKind, params: [number, number, number]) => {
    const slots = Math.max(...b.possibleCpus()) + 1;
    const layout = makeLayout(kind, 'cpu', slots, params);
    const words = new BigInt64Array(allocate(layout));
    const slotWords = Array.from({ length: slots }, (_, s) => HEADER_WORDS + s * layout.stride);
    return { r: b.bindRegion(words, REGION_KIND_CODE[kind]), words, slotWords };
  };

  it('region statuses', () => {
    const buffer = region('buffer', [8, 2, 0]);
    expect(buffer.r.pop()).toBe(REGION_EMPTY);
    expect(buffer.r.push(new Uint8Array(3))).toBe(REGION_BAD_ARG);
    for (const s of buffer.slotWords) buffer.words[s] = BigInt(LOCKED);
    expect(buffer.r.pop()).toBe(REGION_LOCKED);
    for (const s of buffer.slotWords) buffer.words[s] = -5n;
    expect(buffer.r.pop()).toBe(REGION_CORRUPT);

    const pool = region('pool', [4, 0, 0]);
    pool.r.args[0] = 2;
    expect(pool.r.give()).toBe(REGION_NOT_TAKEN);
    pool.r.args[0] = -1;
    expect(pool.r.give()).toBe(REGION_BAD_ARG);

    const counter = region('counter', [0, 0, 0]);
    counter.r.args[0] = Number.NaN;
    expect(counter.r.add()).toBe(REGION_BAD_ARG);
    for (const s of counter.slotWords) counter.words[s] = 2n ** 44n;
    counter.r.args[0] = 1;
    expect(counter.r.add()).toBe(REGION_OVERFLOW);
  });

  it('error codes', () => {
    const w = new BigInt64Array(4);
    expect(() => b.opAdd(0, 0, new Int32Array(4) as unknown as BigInt64Array, 0, 1)).toThrow(expect.objectContaining({ code: ERROR_CODE.invalidArgType }));
    expect(() => b.opAdd(0, 0, w, 4, 1)).toThrow(expect.objectContaining({ code: ERROR_CODE.outOfRange }));
    expect(() => b.bindRegion(new BigInt64Array(8), REGION_KIND_CODE.buffer)).toThrow(expect.objectContaining({ code: ERROR_CODE.badHeader }));
  });

  it('field offsets: the area read at the table offsets gives what the addon reads', () => {
    const area = b.areaBuffer();
    expect(typeof area).not.toBe('string');
    const view = new DataView(area as ArrayBuffer);
    const live = b.kernel().featureSize;
    const fields = (['cpuIdStart', 'cpuId', 'nodeId', 'mmCid'] as const).filter((f) => {
      const { offset, size } = RSEQ_AREA.fields[f];
      return f === 'cpuIdStart' || f === 'cpuId' || live >= offset + size;
    });
    for (const f of fields) {
      let same = false;
      for (let i = 0; i < 1000 && !same; i++) {
        const before = view.getUint32(RSEQ_AREA.fields[f].offset, true);
        const call = b[f]();
        same = before === call && view.getUint32(RSEQ_AREA.fields[f].offset, true) === call;
      }
      expect(same, f).toBe(true);
    }
  });

  it('errno case names, in order', () => {
    expect(b.errnoTable().cases.map((c) => c.case)).toEqual([...ERRNO_CASES]);
  });

  it("the addon's own area (glibc's registration off) has addonAreaLayout's length", () => {
    const script = `const b = require(${JSON.stringify(ADDON)}); const r = b.acquire(); const k = b.kernel(); const a = b.areaBuffer();
      console.log(JSON.stringify({ owner: r.owner, length: r.length, view: typeof a === 'string' ? null : a.byteLength, featureSize: k.featureSize, align: k.align }));`;
    const r = runNode(['-e', script], { GLIBC_TUNABLES: 'glibc.pthread.rseq=0' });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as { owner: string; length: number; view: number | null; featureSize: number; align: number };
    if (got.owner !== 'addon') return; // a libc that ignores the tunable: nothing of the addon's to check
    const want = addonAreaLayout(got.featureSize || null, got.align || null).length;
    expect(got.length).toBe(want);
    if (got.view !== null) expect(got.view).toBe(want);
  });
});
