/**
 * One set of argument-check messages: the per-CPU operations of the native
 * backend (the addon's checks, native/op_args.cc) and of the simulator
 * (src/contract/op-args.ts) throw the same error (class, code, message) for
 * the same bad argument, every argument of every operation, both messages
 * made from ARG_MESSAGE of src/contract/abi.ts. The backends take the
 * arguments by name (Backend.section); the addon's own functions, called
 * directly with them in order, say the same (but for the mode, a number there).
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSimulatorBackend } from '../../fallback/backend.js';
import { ERROR_CODE } from '../../src/contract/abi.js';
import type { Backend } from '../../src/contract/backend.js';
import { OP_ARGS, checkFenceCpu, checkOpArgs, checkSectionArgs, type OpName } from '../../src/contract/op-args.js';
import type { SectionArgs } from '../../src/contract/sections.js';
import type { NativeBinding } from '../../src/native/binding.js';
import { loadNative } from '../../src/native/backend.js';
import { ROOT, SHIPPED_ADDON, skipNative } from '../helpers/env.js';

const detached = (): BigInt64Array => {
  const b = new ArrayBuffer(16);
  const view = new BigInt64Array(b);
  structuredClone(b, { transfer: [b] });
  return view;
};
const detachedBytes = (): Uint8Array => {
  const b = new ArrayBuffer(4);
  const view = new Uint8Array(b);
  structuredClone(b, { transfer: [b] });
  return view;
};

/** Valid arguments of each operation: 8 words, dst 4 bytes, src 8 bytes. */
function valid(op: OpName): unknown[] {
  const w = new BigInt64Array(8);
  switch (op) {
    case 'add':
      return ['cpu', 0, w, 1, 1];
    case 'storeIfEqual':
      return ['cpu', 0, w, 1, 0, 1];
    case 'doubleCompareStore':
      return ['cpu', 0, w, 1, 0, 2, 0, 1];
    case 'speculativeStoreCommit':
      return ['cpu', 0, w, 1, 0, 2, 5, 1, false];
    case 'copyCommit':
      return ['cpu', 0, w, 1, 0, new Uint8Array(4), 1, new Uint8Array(8), 2, 3, 1, true];
    case 'listPop':
      return ['cpu', 0, w, 0, 1, 7, -1];
  }
}

/** Bad values for an argument of this kind. */
function badValues(kind: string): unknown[] {
  const numbers = ['0', null, undefined, 1n, Number.NaN, Infinity, -1, 1.5, 2 ** 53, -(2 ** 53), 1e21, 1e-7, 2 ** 32, 9];
  switch (kind) {
    case 'mode':
      return ['node', '', 0, 1, undefined, null];
    case 'words':
      return [new Int32Array(4), new BigUint64Array(4), new Uint8Array(8), new DataView(new ArrayBuffer(8)), [0n], null, undefined, detached(), new BigInt64Array(0)];
    case 'bytes':
      return [new Int8Array(4), new Uint8ClampedArray(4), [1], 'abc', null, detachedBytes(), new Uint8Array(0)];
    case 'release':
      return [1, 0, 'true', undefined, null];
    default:
      return numbers;
  }
}

/** What `call` throws, as class, code and message; null when it throws nothing. */
function thrown(call: () => unknown): { type: string; code: unknown; message: string } | null {
  try {
    call();
    return null;
  } catch (err) {
    const e = err as Error & { code?: unknown };
    return { type: e.constructor.name, code: e.code, message: e.message };
  }
}

/** A bad value, for the assertion's label. */
function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength} bytes)`;
  if (Array.isArray(v) || typeof v === 'string') return JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
  return String(v);
}

const ops = Object.keys(OP_ARGS) as OpName[];
/** The arguments in OP_ARGS order, by name. */
const named = (op: OpName, args: unknown[]): SectionArgs[OpName] =>
  Object.fromEntries(OP_ARGS[op].map((spec, i) => [spec.name, args[i]])) as unknown as SectionArgs[OpName];
const call = (b: Backend, op: OpName, args: unknown[]) => () => b.section(op, named(op, args));

describe.skipIf(skipNative)('one set of argument-check messages for both backends', () => {
  const native = loadNative();
  const nat = native.ok ? native.backend : (null as unknown as Backend);
  const sim = createSimulatorBackend({ abortRate: 0 });
  const binding = createRequire(path.join(ROOT, 'package.json'))(process.env.RSEQ_ADDON?.trim() ? path.resolve(process.env.RSEQ_ADDON.trim()) : SHIPPED_ADDON) as NativeBinding;
  const exported: Record<OpName, keyof NativeBinding> = {
    add: 'opAdd',
    storeIfEqual: 'opStoreIfEqual',
    doubleCompareStore: 'opDoubleCompareStore',
    speculativeStoreCommit: 'opSpeculativeStoreCommit',
    copyCommit: 'opCopyCommit',
    listPop: 'opListPop',
  };

  for (const op of ops) {
    it(`${op}: every bad argument, the same error from the addon, the simulator and the table's checks`, () => {
      let cases = 0;
      OP_ARGS[op].forEach((spec, i) => {
        for (const bad of badValues(spec.kind)) {
          const args = valid(op);
          args[i] = bad;
          const want = thrown(() => checkOpArgs(op, args));
          if (want === null) continue; // a value this argument accepts
          cases++;
          const label = `${op} ${spec.name} = ${show(bad)}`;
          expect(want.code, label).toBe(want.type === 'TypeError' ? ERROR_CODE.invalidArgType : ERROR_CODE.outOfRange);
          expect(thrown(() => checkSectionArgs(op, named(op, args))), `by name: ${label}`).toEqual(want);
          expect(thrown(call(nat, op, args)), `native: ${label}`).toEqual(want);
          expect(thrown(call(sim, op, args)), `simulator: ${label}`).toEqual(want);
          if (spec.kind !== 'mode') {
            const raw = [0, ...args.slice(1)];
            expect(thrown(() => (binding[exported[op]] as (...a: unknown[]) => unknown)(...raw)), `addon: ${label}`).toEqual(want);
          }
        }
      });
      expect(cases).toBeGreaterThan(OP_ARGS[op].length);
    });
  }

  it('section(op, args): the valid arguments pass; no object, or no such section, is a TypeError on both backends', () => {
    for (const op of ops) {
      expect(thrown(call(nat, op, valid(op))), `native ${op}`).toBeNull();
      expect(thrown(call(sim, op, valid(op))), `simulator ${op}`).toBeNull();
      for (const bad of [null, undefined, 1, 'args']) {
        const want = thrown(() => checkSectionArgs(op, bad as unknown as SectionArgs[OpName]));
        expect(want?.type, `${op} ${String(bad)}`).toBe('TypeError');
        expect(thrown(() => nat.section(op, bad as unknown as SectionArgs[OpName])), `native ${op} ${String(bad)}`).toEqual(want);
        expect(thrown(() => sim.section(op, bad as unknown as SectionArgs[OpName])), `simulator ${op} ${String(bad)}`).toEqual(want);
      }
    }
    const want = thrown(() => checkSectionArgs('pop' as OpName, named('add', valid('add'))));
    expect(want?.type).toBe('TypeError');
    expect(thrown(() => nat.section('pop' as OpName, named('add', valid('add'))))).toEqual(want);
    expect(thrown(() => sim.section('pop' as OpName, named('add', valid('add'))))).toEqual(want);
  });

  it('fence(cpu) and currentId(mode)', () => {
    for (const cpu of [-2, 1.5, '0', Number.NaN, 2 ** 31]) {
      const want = thrown(() => checkFenceCpu(cpu));
      expect(want, String(cpu)).not.toBeNull();
      expect(thrown(() => nat.fence(cpu as number)), `native fence(${String(cpu)})`).toEqual(want);
      expect(thrown(() => sim.fence(cpu as number)), `simulator fence(${String(cpu)})`).toEqual(want);
      expect(thrown(() => binding.fence(cpu as number)), `addon fence(${String(cpu)})`).toEqual(want);
    }
    for (const mode of ['node', 1, null]) {
      const n = thrown(() => nat.currentId(mode as 'cpu'));
      expect(n, String(mode)).not.toBeNull();
      expect(thrown(() => sim.currentId(mode as 'cpu'))).toEqual(n);
    }
  });
});
