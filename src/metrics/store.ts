/**
 * The shared memory of a metrics registry: one SharedArrayBuffer that every
 * thread binds with `Registry.from(buffer)`.
 *
 * Recording is a plain Float64 add into the calling thread's own lane (the
 * counter's 'lane' path, the fastest exact storage the structures benchmark
 * measured): no atomic instruction and nothing another thread writes. A
 * series' value is the sum of its slot over every lane, plus the overflow
 * slot that threads past the lane count add to with a compare-exchange, plus
 * (gauges) the base that `set()` writes. Lanes are never handed back: what a
 * thread recorded stays counted after it exits or is terminated.
 *
 * Metric definitions and label sets are entries of two open-addressing
 * tables; a thread inserts one with a compare-exchange of its state word
 * (EMPTY -> WRITING), fills it, then publishes it (READY). Another thread that
 * meets a WRITING entry waits for it in `Atomics.wait`, for at most
 * WRITING_WAIT_MS in all (a writer only copies a few bytes; one that was
 * terminated meanwhile never publishes, and its entry is passed over).
 *
 * Layout (bytes; every region 64-byte aligned):
 *   header       64 Int32 words: MAGIC, VERSION, lanes, slots, metrics,
 *                series (table size, a power of two), arena bytes,
 *                next free slot, arena top
 *   lane owners  Int32 per lane: 0 free, 1 taken
 *   metrics      16 Int32 words per entry (METRIC_*)
 *   series       8 Int32 words per entry (SERIES_*)
 *   arena        definitions (JSON) and label sets (JSON), UTF-8
 *   gauge base   Float64 per slot
 *   overflow     Float64 per slot (compare-exchanged as its bit pattern)
 *   lanes        lanes x slots Float64
 */
import { RseqError } from '../contract/errors.js';

export const MAGIC = 0x4d455452; // 'METR'
export const VERSION = 1;
const HEADER_WORDS = 64;
const H_LANES = 2;
const H_SLOTS = 3;
const H_METRICS = 4;
const H_SERIES = 5;
const H_ARENA = 6;
const H_NEXT_SLOT = 7;
const H_ARENA_TOP = 8;

export const EMPTY = 0;
export const WRITING = 1;
export const READY = 2;
/** An entry whose insertion failed (cardinality, space): passed over. */
export const DEAD = 3;

const METRIC_WORDS = 16;
export const METRIC_STATE = 0;
const METRIC_TYPE = 1;
const METRIC_HASH = 2;
const METRIC_DEF_OFF = 3;
const METRIC_DEF_LEN = 4;
const METRIC_SERIES_COUNT = 5;
const METRIC_MAX_SERIES = 6;
const METRIC_WIDTH = 7;

const SERIES_WORDS = 8;
const SERIES_STATE = 0;
const SERIES_METRIC = 1;
const SERIES_HASH = 2;
const SERIES_KEY_OFF = 3;
const SERIES_KEY_LEN = 4;
const SERIES_SLOT = 5;

/** How long in all a thread waits for an entry another thread is writing. */
const WRITING_WAIT_MS = 100;

export const LIMITS = { lanes: 1024, slots: 1 << 24, metrics: 1 << 14, series: 1 << 22, arena: 1 << 28 } as const;

export type MetricType = 'counter' | 'gauge' | 'histogram';
const TYPE_CODE: Record<MetricType, number> = { counter: 1, gauge: 2, histogram: 3 };
const TYPE_NAME: Record<number, MetricType> = { 1: 'counter', 2: 'gauge', 3: 'histogram' };

/** A metric as defined (what every thread reads back from the arena). */
export interface MetricDef {
  name: string;
  help: string;
  type: MetricType;
  labelNames: string[];
  /** Histogram upper bounds, ascending, without +Inf. */
  buckets: number[];
  maxSeries: number;
}

/** Slots a series of this definition takes: histograms one per bucket, +Inf, then the sum. */
export function widthOf(def: Pick<MetricDef, 'type' | 'buckets'>): number {
  return def.type === 'histogram' ? def.buckets.length + 2 : 1;
}

export interface StoreOptions {
  lanes: number;
  slots: number;
  metrics: number;
  series: number;
  arena: number;
}

const align = (n: number): number => Math.ceil(n / 64) * 64;

interface Regions {
  owners: number;
  metrics: number;
  series: number;
  arena: number;
  base: number;
  overflow: number;
  lanes: number;
  total: number;
}

function regions(o: StoreOptions): Regions {
  const owners = HEADER_WORDS * 4;
  const metrics = owners + align(o.lanes * 4);
  const series = metrics + align(o.metrics * METRIC_WORDS * 4);
  const arena = series + align(o.series * SERIES_WORDS * 4);
  const base = arena + align(o.arena);
  const overflow = base + align(o.slots * 8);
  const lanes = overflow + align(o.slots * 8);
  return { owners, metrics, series, arena, base, overflow, lanes, total: lanes + o.lanes * align(o.slots * 8) };
}

/** 32-bit FNV-1a over a string's UTF-16 code units. */
export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function corrupt(what: string): never {
  throw new RseqError('ERR_RSEQ_CORRUPT', `rseq/metrics: the registry's buffer is corrupt: ${what}`);
}

/** A READY series entry as read back (checked). */
export interface SeriesEntry {
  metric: number;
  key: string;
  slot: number;
}

export class Store {
  readonly buffer: SharedArrayBuffer;
  readonly options: StoreOptions;
  readonly #r: Regions;
  readonly #header: Int32Array;
  readonly #owners: Int32Array;
  readonly #metrics: Int32Array;
  readonly #series: Int32Array;
  readonly #arena: Uint8Array;
  readonly base: Float64Array;
  readonly #overflow: BigInt64Array;
  readonly #overflowF: Float64Array;
  /** This thread's lane, or null when every lane was taken (then the overflow slots). */
  readonly lane: Float64Array | null;
  readonly laneIndex: number;
  /** Every lane, one after another (`#stride` Float64 apart). */
  readonly #allLanes: Float64Array;
  readonly #stride: number;
  readonly #scratchF = new Float64Array(1);
  readonly #scratchI = new BigInt64Array(this.#scratchF.buffer);
  /** Decoded arena strings, by entry (immutable once READY). */
  readonly #defs = new Map<number, MetricDef>();
  readonly #keys = new Map<number, SeriesEntry>();

  private constructor(buffer: SharedArrayBuffer, options: StoreOptions) {
    this.buffer = buffer;
    this.options = options;
    const r = (this.#r = regions(options));
    this.#header = new Int32Array(buffer, 0, HEADER_WORDS);
    this.#owners = new Int32Array(buffer, r.owners, options.lanes);
    this.#metrics = new Int32Array(buffer, r.metrics, options.metrics * METRIC_WORDS);
    this.#series = new Int32Array(buffer, r.series, options.series * SERIES_WORDS);
    this.#arena = new Uint8Array(buffer, r.arena, options.arena);
    this.base = new Float64Array(buffer, r.base, options.slots);
    this.#overflow = new BigInt64Array(buffer, r.overflow, options.slots);
    this.#overflowF = new Float64Array(buffer, r.overflow, options.slots);
    this.#stride = align(options.slots * 8) / 8;
    this.#allLanes = new Float64Array(buffer, r.lanes, options.lanes * this.#stride);
    let lane = -1;
    for (let i = 0; i < options.lanes; i++) {
      if (Atomics.compareExchange(this.#owners, i, 0, 1) === 0) {
        lane = i;
        break;
      }
    }
    this.laneIndex = lane;
    this.lane = lane < 0 ? null : new Float64Array(buffer, r.lanes + lane * this.#stride * 8, options.slots);
  }

  static create(options: StoreOptions): Store {
    const buffer = new SharedArrayBuffer(regions(options).total);
    const h = new Int32Array(buffer, 0, HEADER_WORDS);
    h[H_LANES] = options.lanes;
    h[H_SLOTS] = options.slots;
    h[H_METRICS] = options.metrics;
    h[H_SERIES] = options.series;
    h[H_ARENA] = options.arena;
    h[1] = VERSION;
    Atomics.store(h, 0, MAGIC);
    return new Store(buffer, options);
  }

  /** Binds a buffer made by `create` (in any thread), checking every header word. */
  static from(buffer: unknown): Store {
    if (!(buffer instanceof SharedArrayBuffer)) throw new TypeError('rseq/metrics: Registry.from needs the SharedArrayBuffer of a Registry (registry.buffer)');
    if (buffer.byteLength < HEADER_WORDS * 4) corrupt(`${buffer.byteLength} bytes cannot hold a header`);
    const h = new Int32Array(buffer, 0, HEADER_WORDS);
    if (Atomics.load(h, 0) !== MAGIC) corrupt('word 0 is not the metrics magic');
    if (Atomics.load(h, 1) !== VERSION) corrupt(`layout version ${Atomics.load(h, 1)}, this package reads ${VERSION}`);
    const o: StoreOptions = {
      lanes: Atomics.load(h, H_LANES),
      slots: Atomics.load(h, H_SLOTS),
      metrics: Atomics.load(h, H_METRICS),
      series: Atomics.load(h, H_SERIES),
      arena: Atomics.load(h, H_ARENA),
    };
    for (const k of Object.keys(o) as (keyof StoreOptions)[]) {
      if (!(o[k] >= 1 && o[k] <= LIMITS[k])) corrupt(`${k} ${o[k]} is out of range`);
    }
    if ((o.series & (o.series - 1)) !== 0) corrupt(`the series table size ${o.series} is not a power of two`);
    if (regions(o).total !== buffer.byteLength) corrupt(`the header describes ${regions(o).total} bytes, the buffer has ${buffer.byteLength}`);
    return new Store(buffer, o);
  }

  // ---- recording --------------------------------------------------------

  /** Adds n to a slot: this thread's lane, else the overflow slot (compare-exchange, lock-free). */
  addOverflow(slot: number, n: number): void {
    const f = this.#scratchF;
    const b = this.#scratchI;
    for (;;) {
      const old = Atomics.load(this.#overflow, slot);
      b[0] = old;
      f[0] = f[0]! + n;
      if (Atomics.compareExchange(this.#overflow, slot, old, b[0]!) === old) return;
    }
  }

  /** A slot's value over every lane and the overflow slot (gauges add their base). */
  sum(slot: number): number {
    const all = this.#allLanes;
    const stride = this.#stride;
    let s = this.#overflowF[slot]!;
    for (let l = 0, i = slot; l < this.options.lanes; l++, i += stride) s += all[i]!;
    return s;
  }

  // ---- the two tables ---------------------------------------------------

  /** An entry's state once it is not WRITING, waiting for it at most WRITING_WAIT_MS in all; WRITING if it stays so. */
  #settled(words: Int32Array, index: number): number {
    let v = Atomics.load(words, index);
    if (v !== WRITING) return v;
    const deadline = Date.now() + WRITING_WAIT_MS;
    let ms = 0.05;
    while (v === WRITING) {
      const left = deadline - Date.now();
      if (left <= 0) return WRITING;
      Atomics.wait(words, index, WRITING, Math.min(ms, left));
      ms = Math.min(ms * 2, 10);
      v = Atomics.load(words, index);
    }
    return v;
  }

  #writeArena(text: string): [number, number] {
    const bytes = encoder.encode(text);
    const off = Atomics.add(this.#header, H_ARENA_TOP, bytes.length);
    if (off < 0 || off + bytes.length > this.options.arena) {
      throw new RseqError('ERR_RSEQ_METRICS_FULL', `rseq/metrics: the registry's text arena (${this.options.arena} bytes) is full; make the Registry with a larger { arenaBytes }`);
    }
    this.#arena.set(bytes, off);
    return [off, bytes.length];
  }

  #readArena(off: number, len: number, what: string): string {
    if (!(off >= 0 && len >= 0 && off + len <= this.options.arena)) corrupt(`${what} points outside the arena`);
    return decoder.decode(this.#arena.slice(off, off + len));
  }

  /** The definition of metric entry i (READY), checked. */
  def(i: number): MetricDef {
    const cached = this.#defs.get(i);
    if (cached) return cached;
    const m = this.#metrics;
    const at = i * METRIC_WORDS;
    const text = this.#readArena(m[at + METRIC_DEF_OFF]!, m[at + METRIC_DEF_LEN]!, `metric ${i}'s definition`);
    let d: MetricDef;
    try {
      d = JSON.parse(text) as MetricDef;
    } catch {
      corrupt(`metric ${i}'s definition is not JSON`);
    }
    const type = TYPE_NAME[m[at + METRIC_TYPE]!];
    if (
      typeof d !== 'object' || d === null || typeof d.name !== 'string' || typeof d.help !== 'string' || d.type !== type ||
      !Array.isArray(d.labelNames) || !d.labelNames.every((x) => typeof x === 'string') ||
      !Array.isArray(d.buckets) || !d.buckets.every((x) => typeof x === 'number') ||
      m[at + METRIC_WIDTH] !== widthOf(d) || m[at + METRIC_MAX_SERIES] !== d.maxSeries
    ) {
      corrupt(`metric ${i}'s definition does not match its entry`);
    }
    this.#defs.set(i, d);
    return d;
  }

  /** The entry of the metric named `def.name`, inserting `def` when there is none; throws when one exists with another definition. */
  defineMetric(def: MetricDef): number {
    const m = this.#metrics;
    const cap = this.options.metrics;
    const hash = hashString(def.name);
    const text = JSON.stringify(def);
    for (let probe = 0; probe < cap; probe++) {
      const i = (hash + probe) % cap;
      const at = i * METRIC_WORDS;
      let state = this.#settled(m, at + METRIC_STATE);
      if (state === EMPTY) {
        if (Atomics.compareExchange(m, at + METRIC_STATE, EMPTY, WRITING) === EMPTY) {
          try {
            const [off, len] = this.#writeArena(text);
            m[at + METRIC_TYPE] = TYPE_CODE[def.type];
            m[at + METRIC_HASH] = hash | 0;
            m[at + METRIC_DEF_OFF] = off;
            m[at + METRIC_DEF_LEN] = len;
            m[at + METRIC_MAX_SERIES] = def.maxSeries;
            m[at + METRIC_WIDTH] = widthOf(def);
            Atomics.store(m, at + METRIC_SERIES_COUNT, 0);
            Atomics.store(m, at + METRIC_STATE, READY);
          } catch (err) {
            Atomics.store(m, at + METRIC_STATE, DEAD);
            throw err;
          } finally {
            Atomics.notify(m, at + METRIC_STATE);
          }
          return i;
        }
        state = this.#settled(m, at + METRIC_STATE);
      }
      if (state !== READY || (m[at + METRIC_HASH]! >>> 0) !== hash) continue;
      const existing = this.def(i);
      if (existing.name !== def.name) continue;
      if (existing.type !== def.type || JSON.stringify(existing.labelNames) !== JSON.stringify(def.labelNames) || JSON.stringify(existing.buckets) !== JSON.stringify(def.buckets)) {
        throw new RseqError(
          'ERR_RSEQ_METRICS_CONFLICT',
          `rseq/metrics: a metric named ${def.name} is already defined in this registry as a ${existing.type} with labels [${existing.labelNames.join(', ')}]${existing.type === 'histogram' ? ` and buckets [${existing.buckets.join(', ')}]` : ''}`,
        );
      }
      return i;
    }
    throw new RseqError('ERR_RSEQ_METRICS_FULL', `rseq/metrics: the registry holds ${cap} metrics already; make it with a larger { maxMetrics }`);
  }

  /** Every READY metric entry. */
  metricEntries(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.options.metrics; i++) if (Atomics.load(this.#metrics, i * METRIC_WORDS + METRIC_STATE) === READY) out.push(i);
    return out;
  }

  /** The entry of a metric by name, or -1 (waits for one being written). */
  findMetric(name: string): number {
    const cap = this.options.metrics;
    const hash = hashString(name);
    for (let probe = 0; probe < cap; probe++) {
      const i = (hash + probe) % cap;
      const state = this.#settled(this.#metrics, i * METRIC_WORDS + METRIC_STATE);
      if (state === EMPTY) return -1;
      if (state === READY && this.def(i).name === name) return i;
    }
    return -1;
  }

  /**
   * The first slot of the series of metric `metric` labelled `key` (a JSON
   * array of label values), inserting it when it is new.
   */
  series(metric: number, key: string): number {
    const s = this.#series;
    const mask = this.options.series - 1;
    const hash = hashString(key, hashString(String(metric)));
    for (let probe = 0; probe <= mask; probe++) {
      const e = (hash + probe) & mask;
      const at = e * SERIES_WORDS;
      let state = this.#settled(s, at + SERIES_STATE);
      if (state === EMPTY) {
        if (Atomics.compareExchange(s, at + SERIES_STATE, EMPTY, WRITING) === EMPTY) return this.#insertSeries(e, metric, key, hash);
        state = this.#settled(s, at + SERIES_STATE);
      }
      if (state !== READY || s[at + SERIES_METRIC] !== metric || (s[at + SERIES_HASH]! >>> 0) !== hash) continue;
      const found = this.seriesEntry(e);
      if (found.key === key) return found.slot;
    }
    throw new RseqError('ERR_RSEQ_METRICS_FULL', `rseq/metrics: the registry's label-set table (${this.options.series} entries) is full; make it with a larger { maxSeries }`);
  }

  #insertSeries(e: number, metric: number, key: string, hash: number): number {
    const s = this.#series;
    const m = this.#metrics;
    const at = e * SERIES_WORDS;
    const mat = metric * METRIC_WORDS;
    let counted = false;
    try {
      const max = m[mat + METRIC_MAX_SERIES]!;
      counted = true;
      if (Atomics.add(m, mat + METRIC_SERIES_COUNT, 1) >= max) {
        const def = this.def(metric);
        throw new RseqError(
          'ERR_RSEQ_METRICS_CARDINALITY',
          `rseq/metrics: ${def.name} has ${max} label sets already (its maxSeries); ${key} was not recorded. Label values should come from a small set (routes, status codes), never from user input such as ids; raise { maxSeries } if the set really is larger`,
        );
      }
      const width = m[mat + METRIC_WIDTH]!;
      const slot = Atomics.add(this.#header, H_NEXT_SLOT, width);
      if (slot < 0 || slot + width > this.options.slots) {
        throw new RseqError('ERR_RSEQ_METRICS_FULL', `rseq/metrics: the registry's ${this.options.slots} value slots are all in use; make it with a larger { slots }`);
      }
      const [off, len] = this.#writeArena(key);
      s[at + SERIES_METRIC] = metric;
      s[at + SERIES_HASH] = hash | 0;
      s[at + SERIES_KEY_OFF] = off;
      s[at + SERIES_KEY_LEN] = len;
      s[at + SERIES_SLOT] = slot;
      Atomics.store(s, at + SERIES_STATE, READY);
      return slot;
    } catch (err) {
      if (counted) Atomics.sub(m, mat + METRIC_SERIES_COUNT, 1);
      Atomics.store(s, at + SERIES_STATE, DEAD);
      throw err;
    } finally {
      Atomics.notify(s, at + SERIES_STATE);
    }
  }

  /** Series entry e (READY), checked against the tables it points into. */
  seriesEntry(e: number): SeriesEntry {
    const cached = this.#keys.get(e);
    if (cached) return cached;
    const s = this.#series;
    const at = e * SERIES_WORDS;
    const metric = s[at + SERIES_METRIC]!;
    if (!(metric >= 0 && metric < this.options.metrics) || Atomics.load(this.#metrics, metric * METRIC_WORDS + METRIC_STATE) !== READY) {
      corrupt(`label set ${e} names metric ${metric}, which is not defined`);
    }
    const slot = s[at + SERIES_SLOT]!;
    const width = this.#metrics[metric * METRIC_WORDS + METRIC_WIDTH]!;
    if (!(slot >= 0 && slot + width <= this.options.slots)) corrupt(`label set ${e}'s slots ${slot}..${slot + width} are outside the registry`);
    const key = this.#readArena(s[at + SERIES_KEY_OFF]!, s[at + SERIES_KEY_LEN]!, `label set ${e}`);
    const entry = { metric, key, slot };
    this.#keys.set(e, entry);
    return entry;
  }

  /** Every READY series entry, grouped by metric entry. */
  seriesByMetric(): Map<number, SeriesEntry[]> {
    const out = new Map<number, SeriesEntry[]>();
    for (let e = 0; e < this.options.series; e++) {
      if (Atomics.load(this.#series, e * SERIES_WORDS + SERIES_STATE) !== READY) continue;
      const entry = this.seriesEntry(e);
      let list = out.get(entry.metric);
      if (!list) out.set(entry.metric, (list = []));
      list.push(entry);
    }
    return out;
  }
}
