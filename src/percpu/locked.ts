/**
 * The structures' non-section path: where critical sections are unsafe
 * (src/selftest.ts sectionSafety: a kernel in the table of known-broken
 * releases, such as 6.19 on arm64, or a selftest that found them broken), a
 * structure's operations run the same single-attempt steps as the sections
 * (src/contract/section-region.ts, shared with the simulator) but each attempt
 * holds the lock of its slot instead of relying on the kernel to abort it. The
 * locks live in the structure's own buffer (Layout.locks, SharedSectionLocks.within),
 * so every thread of the process that binds the structure after the verdict
 * serialises on them, whichever backend it runs on. Nothing here is a rseq
 * critical section: no rseq_cs is stored, nothing depends on aborts.
 *
 * fence(cpu): takes and releases the slot locks (SharedSectionLocks.fence),
 * so every operation in flight on the structure has completed when it
 * returns; the claim protocol of core.ts works unchanged.
 */
import * as wt from 'node:worker_threads';
import { OP_BAD_INDEX, OP_COMMITTED, OP_COMPARE_FAILED, OP_MOVED, type BoundRegion, type OpStatus } from '../contract/backend.js';
import type { Layout } from '../contract/layout.js';
import { lockToken, SharedSectionLocks } from '../contract/section-locks.js';
import { sectionRegion, type RegionSectionArgs } from '../contract/section-region.js';

export function lockedRegion(words: BigInt64Array, layout: Layout, currentId: () => number): BoundRegion {
  const locks = SharedSectionLocks.within(words.buffer as SharedArrayBuffer, layout.locks * 8, layout.slots);
  const kind = layout.mode;
  const me = lockToken(process.pid, wt.threadId);
  /** One attempt under the slot's lock; OP_MOVED when the thread's id is no longer `id`. */
  const attempt = <T>(id: number, moved: T, body: () => T): T => {
    locks.acquire(kind, id, me);
    try {
      return currentId() === id ? body() : moved;
    } finally {
      locks.release(kind, id, me);
    }
  };
  const load = (i: number): bigint => Atomics.load(words, i);
  const region = sectionRegion(words, layout, {
    currentId,
    section: (op, args) => {
      switch (op) {
        case 'storeIfEqual': {
          const { id, index, expect, newv } = args as RegionSectionArgs<'storeIfEqual'>;
          return attempt<OpStatus>(id, OP_MOVED, () => {
            if (load(index) !== BigInt(expect)) return OP_COMPARE_FAILED;
            Atomics.store(words, index, BigInt(newv));
            return OP_COMMITTED;
          });
        }
        case 'speculativeStoreCommit': {
          const { id, index, expect, index2, newv2, newv } = args as RegionSectionArgs<'speculativeStoreCommit'>;
          return attempt<OpStatus>(id, OP_MOVED, () => {
            if (load(index) !== BigInt(expect)) return OP_COMPARE_FAILED;
            Atomics.store(words, index2, BigInt(newv2));
            Atomics.store(words, index, BigInt(newv));
            return OP_COMMITTED;
          });
        }
        case 'copyCommit': {
          const { id, index, expect, dst, dstOffset, src, srcOffset, length, newv } = args as RegionSectionArgs<'copyCommit'>;
          return attempt<OpStatus>(id, OP_MOVED, () => {
            if (load(index) !== BigInt(expect)) return OP_COMPARE_FAILED;
            dst.set(src.subarray(srcOffset, srcOffset + length), dstOffset);
            Atomics.store(words, index, BigInt(newv));
            return OP_COMMITTED;
          });
        }
        default: {
          const { id, head, next, count, empty } = args as RegionSectionArgs<'listPop'>;
          return attempt<number>(id, -OP_MOVED, () => {
            const r = load(head);
            if (r === BigInt(empty)) return -OP_COMPARE_FAILED;
            if (BigInt.asUintN(64, r) >= BigInt(count)) return -OP_BAD_INDEX;
            Atomics.store(words, head, load(next + Number(r)));
            return Number(r);
          });
        }
      }
    },
  });
  return {
    ...region,
    fence(cpu: number) {
      locks.fence(cpu < locks.cpus ? cpu : -1, me);
      return null;
    },
  };
}
