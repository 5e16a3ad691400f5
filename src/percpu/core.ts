/**
 * What the per-CPU data structures share: their buffer and its checked layout
 * (layout.ts), the region bound to the calling thread (BoundRegion in
 * src/contract/backend.ts: one crossing per operation), the statuses turned into
 * errors, and the claim protocol for touching another CPU's slot.
 *
 * Claims never block: a thread that takes another CPU's slot (drain, steal)
 * stores a claim word (LOCKED + tag + the value it saw), fences, reads, and
 * commits with a compare-exchange of its claim. It releases the claim on every
 * path out (finally). A thread that meets a claim waits for it in
 * Atomics.wait with a growing timeout, and when the same claim word has stood
 * for REVOKE_AFTER_MS it revokes it (puts back the value the claim saw): the
 * holder was terminated, or is so slow that it loses nothing by starting
 * again, because a claim holder only reads until its commit, and its commit
 * compares its own claim word, which a revoked holder no longer finds.
 */
import { REGION_BAD_HANDLE, REGION_BAD_ID, REGION_CORRUPT, REGION_LOCKED, REGION_OVERFLOW, type Backend, type BoundRegion, type IndexMode, type RegionKind } from '../contract/backend.js';
import { RseqError, throwIfFailed } from '../contract/errors.js';
import { fieldUnavailable } from '../contract/fields.js';
import { area, backend, current } from '../thread.js';
import { areaField, type RseqAreaView } from '../area.js';
import { HEADER_WORDS, KIND_NAME, LOCKED, allocate, notShared, readLayout, type Layout } from '../contract/layout.js';
import { lockedRegion } from './locked.js';
import { sectionSafety } from '../selftest.js';

/** A claim older than this is revoked by the next thread that needs the slot. */
export const REVOKE_AFTER_MS = 100;
/** The value a claim word saw is below 2^31; the tag above it tells claims apart. */
const VALUE_BITS = 2 ** 31;
const TAGS = 2 ** 20;
/** Atomics.wait timeouts while a claim stands, in ms. */
const FIRST_WAIT_MS = 0.05;
const LONGEST_WAIT_MS = 10;

export function checkMode(kind: RegionKind, mode: unknown): IndexMode {
  if (mode === undefined || mode === 'cpu') return 'cpu';
  if (mode === 'mmcid') return 'mmcid';
  throw new TypeError(`${KIND_NAME[kind]}: mode must be 'cpu' or 'mmcid', not ${JSON.stringify(mode)}`);
}

export function checkPositiveInt(kind: RegionKind, name: string, value: unknown, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${KIND_NAME[kind]}: ${name} must be a number, not ${typeof value}`);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${KIND_NAME[kind]}: ${name} must be an integer in [1, ${max}], not ${value}`);
  }
  return value;
}

/** Slots needed: one per id the kernel may hand out (cpu_id and mm_cid are both below nr_cpu_ids). */
export function slotCount(b: Backend): number {
  return Math.max(...b.possibleCpus()) + 1;
}

/** The value a claim word saw. */
export function claimedValue(word: number): number {
  return (word - LOCKED) % VALUE_BITS;
}

/** What a waiter remembers of the claim it waits for. */
export interface ClaimWait {
  word: number;
  since: number;
  delay: number;
}

export function newWait(): ClaimWait {
  return { word: -1, since: 0, delay: FIRST_WAIT_MS };
}

/**
 * `X.from(buffer)`: the buffer reaches X's constructor through this slot (set
 * and cleared synchronously), since a constructor cannot take it as a second,
 * internal argument without showing it in the public type.
 */
let adopting: SharedArrayBuffer | undefined;

export function adopt<T>(kind: RegionKind, buffer: unknown, construct: () => T): T {
  if (!(buffer instanceof SharedArrayBuffer)) throw notShared(kind, buffer);
  adopting = buffer;
  try {
    return construct();
  } finally {
    adopting = undefined;
  }
}

/** In a constructor: the buffer being adopted by from(), or undefined for a new structure. */
export function adopted(): SharedArrayBuffer | undefined {
  const b = adopting;
  adopting = undefined;
  return b;
}

/** Per-thread, per-structure access: the words, the layout and the bound region. */
export class PerCpuBase {
  readonly buffer: SharedArrayBuffer;
  protected readonly words: BigInt64Array;
  protected readonly layout: Layout;
  protected readonly mode: IndexMode;
  protected readonly slots: number;
  protected readonly region: BoundRegion;
  protected readonly name: string;
  readonly #view: RseqAreaView;
  /** This mode's id field in the area (one element), or null where the view reads by calls. Read-only to this class. */
  readonly #idField: Uint32Array | null;
  #fenceChecked = false;

  /** A new structure (a layout) or one over a buffer from X.from() (its header is checked). */
  protected constructor(kind: RegionKind, source: Layout | SharedArrayBuffer) {
    const b = backend();
    this.name = KIND_NAME[kind];
    if (source instanceof SharedArrayBuffer) {
      this.layout = readLayout(kind, source);
      this.buffer = source;
    } else {
      this.layout = source;
      this.buffer = allocate(source);
    }
    this.words = new BigInt64Array(this.buffer);
    this.mode = this.layout.mode;
    this.slots = this.layout.slots;
    if (this.slots < slotCount(b)) {
      throw new RangeError(`${this.name}.from: the buffer has ${this.slots} slots, fewer than this machine's possible CPUs`);
    }
    const t = current();
    if (this.mode === 'mmcid' && !t.live.mmCid) throw fieldUnavailable('mmCid', t.featureSize);
    // Where critical sections are unsafe (src/selftest.ts), the slot-locked path instead.
    const mode = this.mode;
    this.region = sectionSafety(b).safe ? b.bindRegion(this.words, kind) : lockedRegion(this.words, this.layout, () => b.currentId(mode));
    this.#view = area();
    this.#idField = areaField(this.#view, this.mode === 'cpu' ? 'cpuId' : 'mmCid');
  }

  /** The calling thread's id in this structure's mode, from its rseq area. */
  protected id(): number {
    const f = this.#idField;
    return f !== null ? f[0]! : this.mode === 'cpu' ? this.#view.cpuId : this.#view.mmCid;
  }

  /** First word of slot `id`. */
  protected slotWord(id: number): number {
    return HEADER_WORDS + id * this.layout.stride;
  }

  protected load(index: number): number {
    return Number(Atomics.load(this.words, index));
  }

  /** Throws the error a status other than OK, EMPTY, LOCKED or RETRY stands for. */
  protected fail(op: string, status: number): never {
    if (status === REGION_BAD_ID) {
      throw new RangeError(`${this.name}.${op}: the thread's id ${this.id()} is past the ${this.slots} slots made for this machine's possible CPUs`);
    }
    if (status === REGION_CORRUPT) {
      throw new RseqError('ERR_RSEQ_CORRUPT', `${this.name}.${op}: a count or index in the shared buffer is out of range: the buffer was overwritten`);
    }
    if (status === REGION_OVERFLOW) throw new RangeError(`${this.name}.${op}: the sum would leave the signed 64-bit range`);
    if (status === REGION_BAD_HANDLE) throw new Error(`${this.name}.${op}: the addon no longer knows this structure's handle on this thread (RSEQ_FFI=1)`);
    throw new Error(`${this.name}.${op}: unexpected status ${status}`);
  }

  /**
   * Waits for the claim on word `index` (if any) to go: Atomics.wait with a
   * growing timeout; revokes the claim when the same claim word has stood for
   * REVOKE_AFTER_MS. Returns at once when the word holds no claim.
   */
  protected waitClaim(index: number, wait: ClaimWait): void {
    const word = this.load(index);
    if (word < LOCKED) return;
    // A word past every claim this package writes is not a claim: the memory was overwritten.
    if (!Number.isSafeInteger(word) || word >= LOCKED + TAGS * VALUE_BITS) this.fail('wait', REGION_CORRUPT);
    const now = performance.now();
    if (word !== wait.word) {
      wait.word = word;
      wait.since = now;
      wait.delay = FIRST_WAIT_MS;
    } else if (now - wait.since >= REVOKE_AFTER_MS) {
      if (Atomics.compareExchange(this.words, index, BigInt(word), BigInt(claimedValue(word))) === BigInt(word)) {
        Atomics.notify(this.words, index);
      }
      wait.word = -1;
      return;
    }
    Atomics.wait(this.words, index, BigInt(word), wait.delay);
    wait.delay = Math.min(wait.delay * 2, LONGEST_WAIT_MS);
  }

  /** Waits while the calling thread's own slot word (at `offset` in its slot) is claimed. */
  protected waitOwnSlot(offset: number, wait: ClaimWait): void {
    const id = this.id();
    if (id < this.slots) this.waitClaim(this.slotWord(id) + offset, wait);
  }

  /**
   * Takes word `index` of slot `slot` away from the sections, runs `work` on
   * the value it held, and commits work's `next` in place of the claim.
   * `accept(v)` false: nothing to do (returns null without claiming). Returns
   * work's result, or null when work declined.
   */
  protected claimed<T>(index: number, slot: number, accept: (v: number) => boolean, work: (v: number) => { next: number; result: T } | null): T | null {
    const cpu = this.mode === 'cpu' ? slot : -1;
    if (!this.#fenceChecked) {
      // A kernel or filter without membarrier's rseq fence fails here, before anything is claimed.
      throwIfFailed(this.region.fence(cpu), 'membarrier', this.name);
      this.#fenceChecked = true;
    }
    const wait = newWait();
    for (;;) {
      const v = this.load(index);
      if (v >= LOCKED) {
        this.waitClaim(index, wait);
        continue;
      }
      if (!accept(v)) return null;
      if (!(v >= 0 && v < VALUE_BITS)) this.fail('claim', REGION_CORRUPT);
      const claim = LOCKED + Math.floor(Math.random() * TAGS) * VALUE_BITS + v;
      if (Atomics.compareExchange(this.words, index, BigInt(v), BigInt(claim)) !== BigInt(v)) continue;
      let committed = false;
      try {
        throwIfFailed(this.region.fence(cpu), 'membarrier', this.name);
        // A section that read v before the claim and committed before the fence replaced the claim: again.
        if (this.load(index) !== claim) continue;
        const out = work(v);
        if (out === null) return null;
        if (Atomics.compareExchange(this.words, index, BigInt(claim), BigInt(out.next)) === BigInt(claim)) {
          committed = true;
          Atomics.notify(this.words, index);
          return out.result;
        }
        // revoked by a waiter: what work read may be stale; again
      } finally {
        if (!committed && Atomics.compareExchange(this.words, index, BigInt(claim), BigInt(v)) === BigInt(claim)) {
          Atomics.notify(this.words, index);
        }
      }
    }
  }
}
