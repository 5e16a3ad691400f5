/**
 * What the per-CPU data structures share: the SharedArrayBuffer layout and its
 * header, reading the thread's id, the retry loop around single-attempt
 * critical sections, and the lock-then-fence protocol for touching another
 * CPU's slot.
 *
 * Layout (64-bit words): an 8-word header, then one slot per possible id, each
 * padded to whole 64-byte lines so that two CPUs never share a cache line.
 *
 *   word 0  magic (which structure)     word 4  words per slot (stride)
 *   word 1  layout version              word 5..7  the structure's own parameters
 *   word 2  mode (0 cpu_id, 1 mm_cid)
 *   word 3  slots
 */
import { areaField, type RseqAreaView } from '../area.js';
import type { Backend, IndexMode } from '../backend.js';
import { throwIfFailed } from '../errors.js';
import { fieldUnavailable } from '../fields.js';
import { area, backend, current } from '../thread.js';

export const HEADER_WORDS = 8;
/** Words in one 64-byte cache line. */
export const LINE_WORDS = 8;
/** 2: the counter gained its base word, Int32 lane and sequence-lock line. */
const LAYOUT_VERSION = 2;

/**
 * A word holding LOCKED + v belongs to a thread working on another CPU's slot
 * (see lockSlotWord). Critical sections compare whole words, so a locked word
 * never equals what a section expects, and no section commits over it.
 */
export const LOCKED = 2 ** 52;

export type PerCpuKind = 'counter' | 'buffer' | 'pool';
const MAGIC: Readonly<Record<PerCpuKind, number>> = { counter: 0x72736571_01, buffer: 0x72736571_02, pool: 0x72736571_03 };
const KIND_NAME: Readonly<Record<PerCpuKind, string>> = { counter: 'PerCpuCounter', buffer: 'PerCpuBuffer', pool: 'PerCpuPool' };

export interface Layout {
  mode: IndexMode;
  slots: number;
  /** Words per slot, a whole number of cache lines. */
  stride: number;
  /** Words after the slots (shared arrays such as a pool's next[]). */
  tailWords: number;
  /** The structure's own parameters, header words 5..7. */
  params: [number, number, number];
}

export function checkMode(kind: PerCpuKind, mode: unknown): IndexMode {
  if (mode === undefined || mode === 'cpu') return 'cpu';
  if (mode === 'mmcid') return 'mmcid';
  throw new TypeError(`${KIND_NAME[kind]}: mode must be 'cpu' or 'mmcid', not ${JSON.stringify(mode)}`);
}

export function checkPositiveInt(kind: PerCpuKind, name: string, value: unknown, max: number): number {
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

/** Rounds words up to whole cache lines. */
export function lines(words: number): number {
  return Math.ceil(words / LINE_WORDS) * LINE_WORDS;
}

/** Per-thread, per-structure access: the words, the bytes, and the caller's id. */
export class PerCpuBase {
  readonly buffer: SharedArrayBuffer;
  protected readonly words: BigInt64Array;
  protected readonly bytes: Uint8Array;
  protected readonly mode: IndexMode;
  protected readonly slots: number;
  protected readonly stride: number;
  protected readonly params: [number, number, number];
  protected readonly backend: Backend;
  readonly #view: RseqAreaView;
  /**
   * This mode's id field in the area (one element); null where the view reads
   * by calls. A TypeScript-private property, not a #field: a #field is first
   * defined as undefined and then assigned, which makes V8 treat it as mutable
   * and untyped; a property assigned once in the constructor is a constant to
   * the optimising compiler (bench/README.md, "What changed the counter", step 5).
   */
  private readonly idField: Uint32Array | null;
  readonly #kind: PerCpuKind;

  /** A new structure (layout given) or one over an existing buffer (layout read from its header). */
  protected constructor(kind: PerCpuKind, source: Layout | unknown) {
    this.#kind = kind;
    this.backend = backend();
    if (isLayout(source)) {
      const words = HEADER_WORDS + source.slots * source.stride + source.tailWords;
      this.buffer = new SharedArrayBuffer(words * 8);
      this.words = new BigInt64Array(this.buffer);
      const header = [MAGIC[kind], LAYOUT_VERSION, source.mode === 'cpu' ? 0 : 1, source.slots, source.stride, ...source.params];
      header.forEach((v, i) => Atomics.store(this.words, i, BigInt(v)));
    } else {
      this.buffer = checkBuffer(kind, source);
      this.words = new BigInt64Array(this.buffer);
      if (Number(this.words[0]) !== MAGIC[kind] || Number(this.words[1]) !== LAYOUT_VERSION) {
        throw new TypeError(`${KIND_NAME[kind]}.from: this SharedArrayBuffer does not hold a ${KIND_NAME[kind]} (wrong header)`);
      }
    }
    this.bytes = new Uint8Array(this.buffer);
    this.mode = Number(this.words[2]) === 0 ? 'cpu' : 'mmcid';
    this.slots = Number(this.words[3]);
    this.stride = Number(this.words[4]);
    this.params = [Number(this.words[5]), Number(this.words[6]), Number(this.words[7])];
    if (this.slots < slotCount(this.backend)) {
      throw new RangeError(`${KIND_NAME[kind]}.from: the buffer has ${this.slots} slots, fewer than this machine's possible CPUs`);
    }
    const t = current();
    if (this.mode === 'mmcid' && !t.live.mmCid) throw fieldUnavailable('mmCid', t.featureSize);
    this.#view = area();
    this.idField = areaField(this.#view, this.mode === 'cpu' ? 'cpuId' : 'mmCid');
  }

  /** The calling thread's id in this structure's mode: one load from the rseq area. */
  protected id(): number {
    const f = this.idField;
    const id = f !== null ? f[0]! : this.mode === 'cpu' ? this.#view.cpuId : this.#view.mmCid;
    if (id >= this.slots) {
      throw new RangeError(`${KIND_NAME[this.#kind]}: id ${id} is past the ${this.slots} slots made for this machine's possible CPUs`);
    }
    return id;
  }

  /** First word of slot `id`. */
  protected slotWord(id: number): number {
    return HEADER_WORDS + id * this.stride;
  }

  protected load(index: number): number {
    return Number(Atomics.load(this.words, index));
  }

  /**
   * Takes the word at `index` (in slot `slot`) away from the critical sections:
   * stores LOCKED + v, then fences, so that every section that read v before
   * has aborted or committed. A section that committed between the store and
   * the fence replaced the lock with its value: then lock again. Returns v.
   * The caller now owns the slot's data until unlockSlotWord.
   */
  protected lockSlotWord(index: number, slot: number): number {
    for (;;) {
      const v = this.load(index);
      if (v >= LOCKED) continue; // another thread holds it
      if (Atomics.compareExchange(this.words, index, BigInt(v), BigInt(v + LOCKED)) !== BigInt(v)) continue;
      throwIfFailed(this.backend.fence(this.mode === 'cpu' ? slot : -1), 'membarrier', `${KIND_NAME[this.#kind]}`);
      if (this.load(index) === v + LOCKED) return v;
    }
  }

  /** Throws when a buffer adopted by from() is shorter than its header says. */
  protected needWords(words: number): void {
    if (this.buffer.byteLength < words * 8) {
      throw new RangeError(`${KIND_NAME[this.#kind]}.from: the buffer holds ${this.buffer.byteLength} bytes, fewer than its header needs (${words * 8})`);
    }
  }

  protected unlockSlotWord(index: number, value: number): void {
    Atomics.store(this.words, index, BigInt(value));
  }
}

/**
 * `X.from(buffer)`: the buffer is handed to X's constructor through this
 * module-level slot (set and cleared synchronously, so per isolate it is never
 * seen by another construction), because a constructor cannot take it as a
 * second, internal argument without showing it in the public type.
 */
let adopting: SharedArrayBuffer | undefined;

export function adopt<T>(kind: PerCpuKind, buffer: unknown, construct: () => T): T {
  adopting = checkBuffer(kind, buffer);
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

function isLayout(x: unknown): x is Layout {
  return typeof x === 'object' && x !== null && 'slots' in x && 'stride' in x && 'params' in x;
}

export function checkBuffer(kind: PerCpuKind, buffer: unknown): SharedArrayBuffer {
  if (buffer instanceof SharedArrayBuffer) {
    if (buffer.byteLength < HEADER_WORDS * 8) throw new RangeError(`${KIND_NAME[kind]}.from: the buffer is too small to hold a header`);
    return buffer;
  }
  const what = buffer instanceof ArrayBuffer ? 'an ArrayBuffer (not shared)' : typeof buffer;
  throw new TypeError(`${KIND_NAME[kind]}.from needs the SharedArrayBuffer of a ${KIND_NAME[kind]} (its .buffer), not ${what}`);
}
