/**
 * RSEQ_FFI=1 (src/native/ffi.ts, native/region_ffi.h): under Node 26, fetched from
 * the npm registry into bench/.node/ (scripts/node-release.cjs) when it is not
 * there, in child processes: the structures give the same results through
 * node:ffi as through N-API, stay exact under 4 workers, and the addon's
 * rseq_ffi_* functions refuse every handle that is not the caller's with a
 * status. The children run with --no-concurrent-recompilation, which the
 * opt-in needs. Where the opt-in cannot work (an older Node, the flag missing
 * or undone, node:ffi disabled or refused by the permission model) the
 * structures stay on N-API and one warning says why.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST_ENTRY, ROOT, lastJson, required, skipNative } from '../helpers/env.js';
import { FFI_NEEDS_FLAG, concurrentRecompilationOff } from '../../src/native/ffi.js';

const CHILD = path.join(ROOT, 'test', 'helpers', 'ffi-child.cjs');
const ADDON = process.env.RSEQ_ADDON?.trim() ? path.resolve(process.env.RSEQ_ADDON.trim()) : path.join(ROOT, 'build', 'Release', 'rseq.node');
const REGION_BAD_HANDLE = 9;
const REFUSED = { valid: 0, add: REGION_BAD_HANDLE, push: REGION_BAD_HANDLE, pop: REGION_BAD_HANDLE, take: -REGION_BAD_HANDLE, give: REGION_BAD_HANDLE };
const WARNING = 'RSEQ_FFI_UNAVAILABLE';

const { nodeBinary } = createRequire(path.join(ROOT, 'package.json'))('./scripts/node-release.cjs') as {
  nodeBinary(wanted: string, options?: { preferCached?: boolean; log?: (line: string) => void }): string;
};

/** A Node 26 binary, or why there is none (the registry unreachable, no binary package for this machine). */
function node26(): { node: string | null; why: string | null } {
  if (skipNative) return { node: null, why: null };
  try {
    return { node: nodeBinary('26', { preferCached: true, log: () => {} }), why: null };
  } catch (err) {
    return { node: null, why: (err as Error).message };
  }
}
const { node: NODE26, why } = node26();
if (why !== null && !required) console.warn(`ffi.test.ts: skipped, no Node 26: ${why}`);
const skip = skipNative || (NODE26 === null && !required);

/** The child runs with V8's concurrent recompilation off (FFI_NEEDS_FLAG, which RSEQ_FFI=1 needs) unless `concurrent`. */
function child(node: string, mode: string, env: Record<string, string>, flags: string[] = [], concurrent = false): SpawnSyncReturns<string> {
  const full: NodeJS.ProcessEnv = { ...process.env, RSEQ_BACKEND: 'native', ...env };
  if (env.RSEQ_FFI === undefined) delete full.RSEQ_FFI;
  const v8 = concurrent ? [] : [FFI_NEEDS_FLAG];
  return spawnSync(node, [...v8, ...flags, CHILD, DIST_ENTRY, ADDON, mode], { cwd: ROOT, env: full, encoding: 'utf8', timeout: 60_000 });
}

function node(): string {
  if (NODE26 === null) throw new Error(`RSEQ_REQUIRE=1 and no Node 26 binary: ${why}`);
  return NODE26;
}

type Calls = typeof REFUSED;

describe('RSEQ_FFI=1 needs V8\'s concurrent recompilation off', () => {
  it('reads node\'s options: either spelling turns it off, and the last of its forms wins', () => {
    expect(concurrentRecompilationOff([])).toBe(false);
    expect(concurrentRecompilationOff([FFI_NEEDS_FLAG])).toBe(true);
    expect(concurrentRecompilationOff(['--no-concurrent_recompilation', '--expose-gc'])).toBe(true);
    expect(concurrentRecompilationOff(['--noconcurrent-recompilation'])).toBe(true);
    expect(concurrentRecompilationOff([FFI_NEEDS_FLAG, '--concurrent-recompilation'])).toBe(false);
    expect(concurrentRecompilationOff(['--concurrent-recompilation', FFI_NEEDS_FLAG])).toBe(true);
    expect(concurrentRecompilationOff(['--no-concurrent-recompilation-delay=5', '--concurrent-osr'])).toBe(false);
  });
});

describe.skipIf(skip)('RSEQ_FFI=1 under Node 26', () => {
  it('the structures give the same results through node:ffi as through N-API (one CPU, every result and error in order)', () => {
    const ffi = lastJson<{ crossing: Record<string, string>; transcript: unknown[] }>(child(node(), 'transcript', { RSEQ_FFI: '1' }));
    const napi = lastJson<{ crossing: Record<string, string>; transcript: unknown[] }>(child(node(), 'transcript', {}));
    expect(ffi.crossing).toEqual({ counter: 'ffi', buffer: 'ffi', big: 'ffi', pool: 'ffi' });
    expect(napi.crossing).toEqual({ counter: 'napi', buffer: 'napi', big: 'napi', pool: 'napi' });
    expect(ffi.transcript.length).toBeGreaterThan(60);
    expect(ffi.transcript).toEqual(napi.transcript);
    // The addon's own area (glibc's registration off): the same again.
    const own = lastJson<{ crossing: Record<string, string>; transcript: unknown[] }>(child(node(), 'transcript', { RSEQ_FFI: '1', GLIBC_TUNABLES: 'glibc.pthread.rseq=0' }));
    expect(own.crossing.counter).toBe('ffi');
    expect(own.transcript).toEqual(napi.transcript);
  });

  it('4 workers: the counter (path rseq) is exact, no record is lost or popped twice, no index is held twice', () => {
    const r = lastJson<{
      crossing: { main: string[]; workers: string[][] };
      counter: { value: number; expected: number };
      buffer: { records: number; unique: number; expected: number };
      pool: { indices: number[]; twice: number[]; taken: number[]; notTaken: (string | null)[] };
    }>(child(node(), 'workers', { RSEQ_FFI: '1' }));
    expect(r.crossing.main).toEqual(['ffi', 'ffi', 'ffi']);
    expect(r.crossing.workers).toEqual(Array(4).fill(['ffi', 'ffi', 'ffi']));
    expect(r.counter.value).toBe(r.counter.expected);
    expect(r.buffer.records).toBe(r.buffer.expected);
    expect(r.buffer.unique).toBe(r.buffer.records);
    expect(r.pool.indices).toEqual([...Array(64).keys()]);
    expect(r.pool.twice).toEqual([0, 0, 0, 0]);
    for (const n of r.pool.taken) expect(n).toBeGreaterThan(0);
    expect(r.pool.notTaken).toEqual(Array(4).fill('ERR_RSEQ_POOL_NOT_TAKEN'));
  });

  it('a handle that is not the caller\'s gets a status and writes nothing: forged, another kind, another thread, collected', () => {
    const r = lastJson<{
      crossing: string[];
      handles: number[];
      direct: number;
      forged: Record<string, Calls>;
      kinds: Record<string, number>;
      worker: { ownCrossing: string; own: number; ownValue: number; mainCounter: Calls; mainBuffer: Calls; mainPool: Calls };
      workerHandleHere: Calls;
      collected: { before: number; after: Calls };
      value: number;
      bufferSize: number;
      poolIndices: number;
    }>(child(node(), 'forged', { RSEQ_FFI: '1' }, ['--expose-gc']));
    expect(r.crossing).toEqual(['ffi', 'ffi', 'ffi']);
    for (const h of r.handles) expect(h).toBeGreaterThanOrEqual(4096);
    expect(r.direct).toBe(0);
    expect(Object.keys(r.forged).length).toBe(12);
    for (const [name, calls] of Object.entries(r.forged)) expect({ name, calls }).toEqual({ name, calls: REFUSED });
    expect(r.kinds).toEqual({ pushCounter: 9, popPool: 9, takeBuffer: -9, addPool: 9, giveBuffer: 9 });
    // The main thread's handles in a worker (through a SharedArrayBuffer), and a worker's here once it ended.
    expect(r.worker.ownCrossing).toBe('ffi');
    expect(r.worker.own).toBe(0);
    expect(r.worker.ownValue).toBe(1);
    expect(r.worker.mainCounter).toEqual(REFUSED);
    expect(r.worker.mainBuffer).toEqual(REFUSED);
    expect(r.worker.mainPool).toEqual(REFUSED);
    expect(r.workerHandleHere).toEqual(REFUSED);
    expect(r.collected.before).toBe(1);
    expect(r.collected.after).toEqual(REFUSED);
    // Only the one direct add reached the structures.
    expect(r.value).toBe(1);
    expect(r.bufferSize).toBe(0);
    expect(r.poolIndices).toBe(8);
  });

  it('past the 4096 slots of the handle table, regions stay on N-API, and slots come back when regions are collected', () => {
    const r = lastJson<{ ffi: number; napi: number; exact: boolean; after: { crossing: string; value: number } }>(child(node(), 'full', { RSEQ_FFI: '1' }, ['--expose-gc']));
    expect({ ffi: r.ffi, napi: r.napi }).toEqual({ ffi: 4096, napi: 4 });
    expect(r.exact).toBe(true);
    expect(r.after).toEqual({ crossing: 'ffi', value: 5 });
  });

  const fallbacks: Array<[string, () => string, string[], RegExp, boolean?]> = [
    // The runner's own Node when it is older than 26 (CI's), else Node 24.
    ['an older Node', () => (Number(process.versions.node.split('.')[0]) < 26 ? process.execPath : nodeBinary('24', { preferCached: true, log: () => {} })), [], /needs Node\.js 26 or later/],
    ['V8\'s concurrent recompilation on (no --no-concurrent-recompilation)', node, [], /crash the process.*ArityForArgc.*run node with --no-concurrent-recompilation/, true],
    ['--no-concurrent-recompilation undone by a later --concurrent-recompilation', node, ['--concurrent-recompilation'], /run node with --no-concurrent-recompilation/],
    ['the permission model without --allow-ffi', node, ['--permission', '--allow-fs-read=*', '--allow-addons', '--allow-worker'], /permission model refuses node:ffi.*--allow-ffi/],
    ['node:ffi disabled', node, ['--no-experimental-ffi'], /node:ffi did not load/],
  ];
  for (const [name, binary, flags, reason, concurrent] of fallbacks) {
    it(`${name}: the structures stay on N-API, and one warning (for the process and its 2 workers) says why`, () => {
      const run = child(binary(), 'fallback', { RSEQ_FFI: '1' }, flags, concurrent);
      const r = lastJson<{ crossing: string; value: number; workers: string[]; warnings: Array<{ code: string; message: string }> }>(run);
      expect(r.crossing).toBe('napi');
      expect(r.workers).toEqual(['napi', 'napi']);
      expect(r.value).toBe(1000);
      expect(r.warnings.length).toBe(1);
      expect(r.warnings[0]!.message).toMatch(reason);
      expect(run.stderr.split(WARNING).length - 1).toBe(1);
    });
  }

  it('without RSEQ_FFI the structures use N-API and nothing is said', () => {
    const run = child(node(), 'fallback', {});
    const r = lastJson<{ crossing: string; workers: string[]; warnings: unknown[] }>(run);
    expect(r.crossing).toBe('napi');
    expect(r.workers).toEqual(['napi', 'napi']);
    expect(r.warnings).toEqual([]);
    expect(run.stderr).not.toMatch(/ExperimentalWarning: FFI|RSEQ_FFI/);
  });
});
