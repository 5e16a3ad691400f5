/**
 * `rseq.area()`: a live, read-only view of the calling thread's `struct rseq`.
 *
 * Where the backend can hand out the memory the kernel writes (an external
 * ArrayBuffer over the native area, or the simulator's memory), each getter is
 * one plain typed-array load: no native call. A plain load, not Atomics.load
 * (five times slower here): V8's optimising compiler neither eliminates nor
 * hoists typed-array element loads, so every read sees what the kernel wrote
 * last (test/native/area-jit.test.ts moves a thread under a hot loop to check). Where the runtime forbids external
 * buffers, each getter is a call into the backend. The view offers no setters:
 * user space must not write the id fields (Linux 7.0 kills a process that does
 * in its optimised mode).
 */
import { FIELD_OFFSET, type AreaSource } from './contract/backend.js';
import { fieldUnavailable } from './contract/fields.js';
import type { AreaAccess, FieldAvailability } from './contract/types.js';

export interface RseqAreaView {
  /** How the view reads the area. */
  readonly access: AreaAccess;
  /** Registered length of the area in bytes. */
  readonly byteLength: number;
  /** Why reads are calls (access `native-calls`); null otherwise. */
  readonly reason: string | null;
  readonly cpuIdStart: number;
  readonly cpuId: number;
  /** Throws ERR_RSEQ_FIELD_UNAVAILABLE where the kernel does not publish node_id. */
  readonly nodeId: number;
  /** Throws ERR_RSEQ_FIELD_UNAVAILABLE where the kernel does not publish mm_cid. */
  readonly mmCid: number;
}

/** Word indices of the u32 fields. */
const W_CPU_ID_START = FIELD_OFFSET.cpuIdStart >>> 2;
const W_CPU_ID = FIELD_OFFSET.cpuId >>> 2;
const W_NODE_ID = FIELD_OFFSET.nodeId >>> 2;
const W_MM_CID = FIELD_OFFSET.mmCid >>> 2;

/** Each buffer-backed view's u32 words, for areaField(). */
const WORDS = new WeakMap<RseqAreaView, Uint32Array>();

/**
 * A one-element Uint32Array over `field` of the view's area, where the view
 * reads memory (null where each read is a call). The per-CPU structures read
 * their id here: one typed-array load, without the getter (0.6 ns an add).
 */
export function areaField(view: RseqAreaView, field: 'cpuId' | 'mmCid'): Uint32Array | null {
  const words = WORDS.get(view);
  return words === undefined ? null : new Uint32Array(words.buffer, words.byteOffset + (field === 'cpuId' ? W_CPU_ID : W_MM_CID) * 4, 1);
}

class BufferArea implements RseqAreaView {
  readonly access: AreaAccess;
  readonly byteLength: number;
  readonly reason = null;
  readonly #u32: Uint32Array;
  readonly #nodeIdLive: boolean;
  readonly #mmCidLive: boolean;
  readonly #featureSize: number | null;

  constructor(source: Extract<AreaSource, { kind: 'buffer' }>, fields: FieldAvailability, featureSize: number | null) {
    this.access = source.access;
    this.byteLength = source.byteLength;
    this.#u32 = new Uint32Array(source.buffer, source.byteOffset, source.byteLength >>> 2);
    WORDS.set(this, this.#u32);
    this.#nodeIdLive = fields.nodeId;
    this.#mmCidLive = fields.mmCid;
    this.#featureSize = featureSize;
  }
  get cpuIdStart(): number {
    return this.#u32[W_CPU_ID_START]!;
  }
  get cpuId(): number {
    return this.#u32[W_CPU_ID]!;
  }
  get nodeId(): number {
    if (!this.#nodeIdLive) throw fieldUnavailable('nodeId', this.#featureSize);
    return this.#u32[W_NODE_ID]!;
  }
  get mmCid(): number {
    if (!this.#mmCidLive) throw fieldUnavailable('mmCid', this.#featureSize);
    return this.#u32[W_MM_CID]!;
  }
}

class CallArea implements RseqAreaView {
  readonly access: AreaAccess;
  readonly byteLength: number;
  readonly reason: string;
  readonly #source: Extract<AreaSource, { kind: 'calls' }>;
  readonly #fields: FieldAvailability;
  readonly #featureSize: number | null;

  constructor(source: Extract<AreaSource, { kind: 'calls' }>, fields: FieldAvailability, featureSize: number | null) {
    this.access = source.access;
    this.byteLength = source.byteLength;
    this.reason = source.reason;
    this.#source = source;
    this.#fields = fields;
    this.#featureSize = featureSize;
  }
  get cpuIdStart(): number {
    return this.#source.read('cpuIdStart');
  }
  get cpuId(): number {
    return this.#source.read('cpuId');
  }
  get nodeId(): number {
    if (!this.#fields.nodeId) throw fieldUnavailable('nodeId', this.#featureSize);
    return this.#source.read('nodeId');
  }
  get mmCid(): number {
    if (!this.#fields.mmCid) throw fieldUnavailable('mmCid', this.#featureSize);
    return this.#source.read('mmCid');
  }
}

export function makeAreaView(source: AreaSource, fields: FieldAvailability, featureSize: number | null): RseqAreaView {
  return source.kind === 'buffer' ? new BufferArea(source, fields, featureSize) : new CallArea(source, fields, featureSize);
}
