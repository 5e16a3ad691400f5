/**
 * Operations: seeded random sequences of every per-CPU operation, run on
 * the native backend and on the simulator's host backend (abortRate 0) on
 * fresh buffers, with the calling thread pinned to one CPU on both. Every
 * call must return the same value and every sequence must leave the same
 * bytes.
 *
 * Each call is generated from the memory as it is before the call (on the
 * hardware side; as long as both sides agree the simulator's memory is the
 * same), so compares succeed and fail, lists pop, run empty and hold bad
 * indices. A call with the wrong id (the thread's id + 1) must give
 * OP_MOVED. The native backend may have a call aborted by a real preemption
 * (or see its mm_cid change between the read and the call): such a call is
 * retried, which is harmless (an aborted attempt leaves at most the
 * speculative store or copy, which the retry writes again), and the retries
 * are reported.
 */
import { createHash } from 'node:crypto';
import { prng } from '../../fallback/kernel/kernel.js';
import { OP_ABORTED, OP_BAD_INDEX, OP_COMMITTED, OP_COMPARE_FAILED, OP_MOVED, type Backend, type IndexMode, type SectionArgs } from '../contract/backend.js';
import type { CrosscheckCase } from './report.js';

const WORDS = 32;
/** next[] of list pops lives in words [NEXT, WORDS). */
const NEXT = 16;
const BYTES = 96;
const MAX_COPY = 40;

type Kind = 'add' | 'storeIfEqual' | 'doubleCompareStore' | 'speculativeStoreCommit' | 'copyCommit' | 'listPop';
const KINDS: readonly Kind[] = ['add', 'storeIfEqual', 'doubleCompareStore', 'speculativeStoreCommit', 'copyCommit', 'listPop'];

export interface OpCall {
  kind: Kind;
  /** Row label: the kind with its variant (release, list state), or `wrong id`. */
  label: string;
  wrongId: boolean;
  /** Plain writes applied to both sides' memory before the call (list set-up). */
  setup: Array<[index: number, value: number]>;
  /** The operation's arguments but mode, id and the operand arrays, by name (src/contract/sections.ts). */
  args: Record<string, number | boolean>;
}

interface Memory {
  words: BigInt64Array;
  dst: Uint8Array;
  src: Uint8Array;
}

type Outcome = { value: number; retries: number } | { error: string; retries: number };

const STATUS_NAME: Record<number, string> = {
  [OP_COMMITTED]: 'committed',
  [OP_COMPARE_FAILED]: 'compare-failed',
  [OP_ABORTED]: 'aborted',
  [OP_MOVED]: 'moved',
  [OP_BAD_INDEX]: 'bad-index',
};

function describeValue(kind: Kind, o: Outcome): string {
  if ('error' in o) return `throws ${o.error}`;
  if (kind === 'listPop') return o.value >= 0 ? 'popped' : (STATUS_NAME[-o.value] ?? `status ${-o.value}`);
  return STATUS_NAME[o.value] ?? `status ${o.value}`;
}

function errorCode(e: unknown): string {
  const c = (e as { code?: unknown }).code;
  return typeof c === 'string' ? c : e instanceof Error ? e.name : String(e);
}

/** One call on a backend: own id read just before, retried while the native kernel aborts it or the id moved under it. */
function call(b: Backend, mode: IndexMode, c: OpCall, m: Memory): Outcome {
  let retries = 0;
  for (;;) {
    let id: number;
    let v: number;
    try {
      id = b.currentId(mode);
      if (c.wrongId) id = id + 1;
      const operands = c.kind === 'copyCommit' ? { words: m.words, dst: m.dst, src: m.src } : { words: m.words };
      v = b.section(c.kind, { ...c.args, mode, id, ...operands } as unknown as SectionArgs[Kind]);
    } catch (e) {
      return { error: errorCode(e), retries };
    }
    const status = c.kind === 'listPop' ? (v < 0 ? -v : OP_COMMITTED) : v;
    const retry = status === OP_ABORTED || (status === OP_MOVED && !c.wrongId);
    if (!retry || retries >= 50) return { value: v, retries };
    retries++;
  }
}

/** The next call, from the memory as it is now. */
function generate(rnd: () => number, m: Memory): OpCall {
  const int = (n: number): number => Math.floor(rnd() * n);
  const word = (i: number): number => Number(m.words[i]);
  const expectFor = (i: number): number => (rnd() < 0.6 ? word(i) : word(i) + 1 + int(5));
  const value = (): number => int(2001) - 1000;
  const kind = KINDS[int(KINDS.length)] as Kind;
  const wrongId = rnd() < 0.1;
  const release = rnd() < 0.5;
  const setup: Array<[number, number]> = [];
  let args: Record<string, number | boolean>;
  let variant = '';
  switch (kind) {
    case 'add':
      args = { index: int(NEXT), count: value() };
      break;
    case 'storeIfEqual': {
      const index = int(NEXT);
      args = { index, expect: expectFor(index), newv: value() };
      break;
    }
    case 'doubleCompareStore': {
      const index = int(NEXT);
      const index2 = int(NEXT);
      args = { index, expect: expectFor(index), index2, expect2: expectFor(index2), newv: value() };
      break;
    }
    case 'speculativeStoreCommit': {
      const index = int(NEXT);
      const index2 = (index + 1 + int(NEXT - 1)) % NEXT;
      args = { index, expect: expectFor(index), index2, newv2: value(), newv: value(), release };
      variant = release ? ' release' : '';
      break;
    }
    case 'copyCommit': {
      const index = int(NEXT);
      const length = int(MAX_COPY + 1);
      args = { index, expect: expectFor(index), dstOffset: int(BYTES - length + 1), srcOffset: int(BYTES - length + 1), length, newv: value(), release };
      variant = release ? ' release' : '';
      break;
    }
    case 'listPop': {
      const head = int(4);
      const count = 1 + int(WORDS - NEXT);
      const empty = rnd() < 0.5 ? -1 : 2 ** 51;
      const state = int(3);
      if (state === 0) {
        const r = int(count);
        setup.push([head, r], [NEXT + r, rnd() < 0.5 ? int(count) : empty]);
      } else if (state === 1) {
        setup.push([head, empty]);
        variant = ' (empty)';
      } else {
        setup.push([head, count + int(100)]);
        variant = ' (bad index)';
      }
      args = { head, next: NEXT, count, empty };
      break;
    }
  }
  return { kind, label: wrongId ? 'wrong id' : `${kind}${variant}`, wrongId, setup, args };
}

function freshMemory(rnd: () => number): Memory {
  const words = new BigInt64Array(WORDS);
  for (let i = 0; i < WORDS; i++) words[i] = BigInt(Math.floor(rnd() * 2001) - 1000);
  const dst = new Uint8Array(BYTES);
  const src = new Uint8Array(BYTES);
  for (let i = 0; i < BYTES; i++) {
    dst[i] = Math.floor(rnd() * 256);
    src[i] = Math.floor(rnd() * 256);
  }
  return { words, dst, src };
}

function copyMemory(m: Memory): Memory {
  return { words: m.words.slice(), dst: m.dst.slice(), src: m.src.slice() };
}

function bytesOf(m: Memory): Buffer {
  return Buffer.concat([Buffer.from(m.words.buffer, m.words.byteOffset, m.words.byteLength), Buffer.from(m.dst), Buffer.from(m.src)]);
}

interface RowStats {
  calls: number;
  hw: Map<string, number>;
  sim: Map<string, number>;
  firstDiff: unknown;
}

const histogram = (h: Map<string, number>, calls: number): string =>
  `${calls}: ${[...h.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} ${k}`)
    .join(', ')}`;

export interface OpsOptions {
  seed: number;
  /** Sequences per mode, each on fresh buffers. */
  sequences: number;
  /** Calls per sequence. */
  length: number;
}

/**
 * Runs the sequences in both modes; `pin` is the CPU both sides are pinned
 * to (the caller restores the affinities afterwards).
 */
export function checkOps(native: Backend, sim: Backend, pin: number, opts: OpsOptions): { cases: CrosscheckCase[]; retries: number } {
  const cases: CrosscheckCase[] = [];
  let retries = 0;
  native.setAffinity([pin]);
  sim.setAffinity([pin]);
  for (const mode of ['cpu', 'mmcid'] as const) {
    const avail = (b: Backend): string => {
      try {
        b.currentId(mode);
        return 'available';
      } catch (e) {
        return `unavailable (${errorCode(e)})`;
      }
    };
    const hwAvail = avail(native);
    const simAvail = avail(sim);
    if (hwAvail !== 'available' || simAvail !== 'available') {
      cases.push({ group: 'ops', case: `ops ${mode}: mode`, hardware: hwAvail, simulator: simAvail, verdict: hwAvail === simAvail ? 'match' : 'mismatch' });
      continue;
    }
    const rnd = prng((opts.seed ^ (mode === 'cpu' ? 0 : 0x9e3779b9)) >>> 0);
    const rows = new Map<string, RowStats>();
    const hwHash = createHash('sha256');
    const simHash = createHash('sha256');
    let memoryDiff: unknown = null;
    let diverged = 0;
    for (let s = 0; s < opts.sequences; s++) {
      const hw = freshMemory(rnd);
      const sm = copyMemory(hw);
      for (let i = 0; i < opts.length; i++) {
        const c = generate(rnd, hw);
        for (const [idx, v] of c.setup) {
          hw.words[idx] = BigInt(v);
          sm.words[idx] = BigInt(v);
        }
        const a = call(native, mode, c, hw);
        const b = call(sim, mode, c, sm);
        retries += a.retries;
        const row = rows.get(c.label) ?? { calls: 0, hw: new Map(), sim: new Map(), firstDiff: null };
        rows.set(c.label, row);
        row.calls++;
        const da = describeValue(c.kind, a);
        const db = describeValue(c.kind, b);
        row.hw.set(da, (row.hw.get(da) ?? 0) + 1);
        row.sim.set(db, (row.sim.get(db) ?? 0) + 1);
        const va = 'error' in a ? a.error : a.value;
        const vb = 'error' in b ? b.error : b.value;
        const sameMemory = bytesOf(hw).equals(bytesOf(sm));
        if (va !== vb || !sameMemory) {
          row.firstDiff ??= { sequence: s, call: i, kind: c.kind, args: c.args, setup: c.setup, wrongId: c.wrongId, hardware: va, simulator: vb, sameMemory };
          diverged++;
          break; // the next calls would be generated from different memory
        }
      }
      hwHash.update(bytesOf(hw));
      simHash.update(bytesOf(sm));
      if (memoryDiff === null && !bytesOf(hw).equals(bytesOf(sm))) {
        memoryDiff = { sequence: s, hardware: Array.from(hw.words, String), simulator: Array.from(sm.words, String) };
      }
    }
    for (const label of [...rows.keys()].sort()) {
      const r = rows.get(label) as RowStats;
      cases.push({
        group: 'ops',
        case: `ops ${mode}: ${label}`,
        hardware: histogram(r.hw, r.calls),
        simulator: histogram(r.sim, r.calls),
        verdict: r.firstDiff === null ? 'match' : 'mismatch',
        ...(r.firstDiff === null ? {} : { detail: { firstDifference: r.firstDiff } }),
      });
    }
    const h1 = hwHash.digest('hex').slice(0, 16);
    const h2 = simHash.digest('hex').slice(0, 16);
    cases.push({
      group: 'ops',
      case: `ops ${mode}: final memory`,
      hardware: `${opts.sequences}x${opts.length} calls, sha256 ${h1}`,
      simulator: `${opts.sequences - diverged}/${opts.sequences} completed, sha256 ${h2}`,
      verdict: h1 === h2 && diverged === 0 ? 'match' : 'mismatch',
      ...(memoryDiff === null ? {} : { detail: { firstDifference: memoryDiff } }),
    });
  }
  return { cases, retries };
}
