/**
 * The operations of the abort check, with their initial memory, shared by
 * the hardware worker (abort-worker.ts) and the model (abort.ts), and the
 * memory key both compare.
 */
import { OP_ABORTED, OP_COMMITTED, OP_MOVED, type Backend, type SectionArgs } from '../contract/backend.js';

export type AbortOp = 'add' | 'speculativeStoreCommit' | 'copyCommit';

export interface AbortSpec {
  name: string;
  op: AbortOp;
  words: string[]; // initial words (decimal, bigint-safe)
  dstLength: number;
  /** The op's arguments but mode, id and the operand arrays, by name (mode is always cpu). */
  args: Record<string, number | boolean>;
}

export const ABORT_WORDS = 8;

export function abortSpecs(copyLength: number): AbortSpec[] {
  const words = Array.from({ length: ABORT_WORDS }, (_, i) => String(100 + i));
  return [
    { name: 'add', op: 'add', words, dstLength: 0, args: { index: 3, count: 5 } },
    {
      name: 'speculativeStoreCommit release',
      op: 'speculativeStoreCommit',
      words,
      dstLength: 0,
      args: { index: 1, expect: 101, index2: 6, newv2: 777, newv: 999, release: true },
    },
    {
      name: `copyCommit ${copyLength} B`,
      op: 'copyCommit',
      words,
      dstLength: copyLength,
      args: { index: 2, expect: 102, dstOffset: 0, srcOffset: 0, length: copyLength, newv: 4242, release: false },
    },
    {
      name: `copyCommit ${copyLength} B release`,
      op: 'copyCommit',
      words,
      dstLength: copyLength,
      args: { index: 2, expect: 102, dstOffset: 0, srcOffset: 0, length: copyLength, newv: 4343, release: true },
    },
  ];
}

/** The copy's source: a pattern with no zero byte, so a partial copy is visible in a zeroed dst. */
export function abortSource(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => 1 + ((i * 37) % 255));
}

/** Memory as a string: the words' bytes (little-endian) and dst, in hex. */
export function memoryKey(words: BigInt64Array, dst: Uint8Array): string {
  return `${Buffer.from(words.buffer, words.byteOffset, words.byteLength).toString('hex')}:${Buffer.from(dst.buffer, dst.byteOffset, dst.byteLength).toString('hex')}`;
}

export interface AbortTally {
  attempts: number;
  aborts: number;
  moved: number;
  /** memory key -> times seen after an aborted attempt */
  abortStates: Record<string, number>;
  /** memory key -> times seen after a committed attempt */
  commitStates: Record<string, number>;
}

/** Runs attempts of `spec` on `b` (mode cpu, fresh memory each time) until `stop` says so. */
export function tallyAttempts(b: Backend, spec: AbortSpec, stop: (t: AbortTally) => boolean): AbortTally {
  const init = BigInt64Array.from(spec.words.map((w) => BigInt(w)));
  const words = new BigInt64Array(init.length);
  const dst = new Uint8Array(spec.dstLength);
  const src = abortSource(spec.dstLength);
  const t: AbortTally = { attempts: 0, aborts: 0, moved: 0, abortStates: {}, commitStates: {} };
  while (!stop(t)) {
    words.set(init);
    dst.fill(0);
    const id = b.currentId('cpu');
    const operands = spec.op === 'copyCommit' ? { words, dst, src } : { words };
    const s = b.section(spec.op, { ...spec.args, mode: 'cpu', id, ...operands } as unknown as SectionArgs[AbortOp]);
    t.attempts++;
    if (s === OP_MOVED) {
      t.moved++;
      continue;
    }
    const key = memoryKey(words, dst);
    if (s === OP_ABORTED) {
      t.aborts++;
      t.abortStates[key] = (t.abortStates[key] ?? 0) + 1;
    } else if (s === OP_COMMITTED) {
      t.commitStates[key] = (t.commitStates[key] ?? 0) + 1;
    } else {
      t.commitStates[`status ${s}`] = (t.commitStates[`status ${s}`] ?? 0) + 1;
    }
  }
  return t;
}
