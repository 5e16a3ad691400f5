/**
 * rseq/metrics: Prometheus metrics whose every thread records into one
 * SharedArrayBuffer (store.ts), so that any thread reads every thread's exact
 * totals at any moment, with no messages. The API follows prom-client's.
 */
import { RseqError } from '../contract/errors.js';
import { LIMITS, Store, type MetricDef, type MetricType } from './store.js';

/** Label values by label name. */
export type Labels = Record<string, string | number>;

export interface RegistryOptions {
  /** Label sets the registry can hold, over all its metrics (default 4096). */
  maxSeries?: number;
  /** Value slots: one per counter or gauge series, buckets + 2 per histogram series (default 16384). */
  slots?: number;
  /** Threads that record with plain stores, each in its own lane (default 32); more threads use compare-exchange. */
  lanes?: number;
  /** Metrics the registry can hold (default 256). */
  maxMetrics?: number;
  /** Bytes for definitions and label values (default 1 MiB). */
  arenaBytes?: number;
}

export interface MetricConfiguration {
  name: string;
  help: string;
  labelNames?: readonly string[];
  /** Registries to record into; at least one (a metric is shared through its registry's buffer). */
  registers: readonly Registry[];
  /** Label sets this metric may have (default 1000); past it, recording a new one throws ERR_RSEQ_METRICS_CARDINALITY. */
  maxSeries?: number;
}

export interface HistogramConfiguration extends MetricConfiguration {
  /** Upper bounds, ascending (default prom-client's: 0.005 to 10 seconds). */
  buckets?: readonly number[];
}

/** One metric as collected: what the exposition formats and the adapters read. */
export interface MetricSnapshot {
  name: string;
  help: string;
  type: MetricType;
  labelNames: string[];
  /** Histograms: upper bounds, without +Inf. */
  buckets?: number[];
  series: SeriesSnapshot[];
}

export interface SeriesSnapshot {
  labels: Record<string, string>;
  /** Counters and gauges. */
  value?: number;
  /** Histograms: the cumulative count of each bucket, then of +Inf (= count). */
  bucketCounts?: number[];
  sum?: number;
  count?: number;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DEFAULT_MAX_SERIES = 1000;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function positiveInt(what: string, v: unknown, fallback: number, max: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`rseq/metrics: ${what} must be an integer from 1 to ${max}, not ${String(v)}`);
  return v;
}

/** The Registry a thread already bound to a buffer (Registry.from returns it again). */
const bound = new WeakMap<SharedArrayBuffer, Registry>();
/** The store Registry.from hands to the constructor. */
let adopting: Store | null = null;

/** A metric's place in one registry, as this thread records into it. */
interface Binding {
  store: Store;
  index: number;
  /** This thread's lane, or null: the overflow slots. */
  lane: Float64Array | null;
  /** Label values (one Map level per label name) to the series' first slot. */
  cache: Map<string, unknown>;
  /** The series with no label values (every label empty), made on first use. */
  plain: number;
}

type AnyMetric = Counter | Gauge | Histogram;

export class Registry {
  readonly buffer: SharedArrayBuffer;
  readonly contentType = PROMETHEUS_CONTENT_TYPE;
  readonly #store: Store;
  /** This thread's metric objects, by name. */
  readonly #objects = new Map<string, AnyMetric>();

  constructor(options: RegistryOptions = {}) {
    if (adopting !== null) {
      this.#store = adopting;
      adopting = null;
    } else {
      if (typeof options !== 'object' || options === null) throw new TypeError('rseq/metrics: Registry options must be an object');
      const maxSeries = positiveInt('maxSeries', options.maxSeries, 4096, LIMITS.series / 2);
      let series = 1;
      while (series < maxSeries * 2) series *= 2;
      this.#store = Store.create({
        lanes: positiveInt('lanes', options.lanes, 32, LIMITS.lanes),
        slots: positiveInt('slots', options.slots, 16384, LIMITS.slots),
        metrics: positiveInt('maxMetrics', options.maxMetrics, 256, LIMITS.metrics),
        series,
        arena: positiveInt('arenaBytes', options.arenaBytes, 1 << 20, LIMITS.arena),
      });
    }
    this.buffer = this.#store.buffer;
    bound.set(this.buffer, this);
  }

  /** This thread's registry over `buffer` (another thread's `registry.buffer`); the header is checked first. */
  static from(buffer: SharedArrayBuffer): Registry {
    const existing = buffer instanceof SharedArrayBuffer ? bound.get(buffer) : undefined;
    if (existing) return existing;
    adopting = Store.from(buffer);
    try {
      return new Registry();
    } finally {
      adopting = null;
    }
  }

  /** @internal A metric's binding in this registry, defining it when new. */
  bind(def: MetricDef, object: AnyMetric): Binding {
    const index = this.#store.defineMetric(def);
    const prior = this.#objects.get(def.name);
    if (prior !== undefined && prior !== object) {
      throw new RseqError('ERR_RSEQ_METRICS_CONFLICT', `rseq/metrics: this thread already has a ${def.type} named ${def.name} in this registry; use registry.getSingleMetric('${def.name}')`);
    }
    this.#objects.set(def.name, object);
    return { store: this.#store, index, lane: this.#store.lane, cache: new Map(), plain: -1 };
  }

  /** The metric named `name` (defined in any thread), bound to this thread; undefined when there is none. */
  getSingleMetric(name: string): AnyMetric | undefined {
    const own = this.#objects.get(name);
    if (own) return own;
    const i = this.#store.findMetric(name);
    return i < 0 ? undefined : this.#object(this.#store.def(i));
  }

  /** Every metric of the registry (from every thread), bound to this thread. */
  getMetricsAsArray(): AnyMetric[] {
    return this.#store
      .metricEntries()
      .map((i) => this.#store.def(i))
      .map((d) => this.#objects.get(d.name) ?? this.#object(d));
  }

  #object(d: MetricDef): AnyMetric {
    const config = { name: d.name, help: d.help, labelNames: d.labelNames, registers: [this], maxSeries: d.maxSeries };
    if (d.type === 'counter') return new Counter(config);
    if (d.type === 'gauge') return new Gauge(config);
    return new Histogram({ ...config, buckets: d.buckets });
  }

  /** One snapshot of every metric and label set, every thread's records summed. */
  collect(): MetricSnapshot[] {
    const store = this.#store;
    const byMetric = store.seriesByMetric();
    const out: MetricSnapshot[] = [];
    for (const i of store.metricEntries()) {
      const d = store.def(i);
      const nb = d.buckets.length;
      const series: SeriesSnapshot[] = [];
      for (const e of (byMetric.get(i) ?? []).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
        const labels = labelsOf(d, e.key);
        if (d.type === 'histogram') {
          const bucketCounts: number[] = [];
          let c = 0;
          for (let k = 0; k <= nb; k++) bucketCounts.push((c += store.sum(e.slot + k)));
          series.push({ labels, bucketCounts, count: c, sum: store.sum(e.slot + nb + 1) });
        } else {
          series.push({ labels, value: store.sum(e.slot) + (d.type === 'gauge' ? store.base[e.slot]! : 0) });
        }
      }
      out.push({ name: d.name, help: d.help, type: d.type, labelNames: [...d.labelNames], ...(d.type === 'histogram' ? { buckets: [...d.buckets] } : {}), series });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The Prometheus text exposition (0.0.4) of every metric (prom-client's `registry.metrics()`). */
  async metrics(): Promise<string> {
    return formatPrometheus(this.collect());
  }

  /** The exposition a scrape with this Accept header asks for: OpenMetrics when it names it, else Prometheus text. */
  exposition(accept?: string | null): { contentType: string; body: string } {
    const snapshot = this.collect();
    if (typeof accept === 'string' && accept.includes('application/openmetrics-text')) {
      return { contentType: OPENMETRICS_CONTENT_TYPE, body: formatOpenMetrics(snapshot) };
    }
    return { contentType: PROMETHEUS_CONTENT_TYPE, body: formatPrometheus(snapshot) };
  }
}

/** The labels of a series key (a JSON array of values, one per label name), checked. */
function labelsOf(d: MetricDef, key: string): Record<string, string> {
  let values: unknown;
  try {
    values = JSON.parse(key);
  } catch {
    values = null;
  }
  if (!Array.isArray(values) || values.length !== d.labelNames.length || !values.every((v) => typeof v === 'string')) {
    throw new RseqError('ERR_RSEQ_CORRUPT', `rseq/metrics: the registry's buffer is corrupt: a label set of ${d.name} does not fit its label names`);
  }
  const labels: Record<string, string> = {};
  d.labelNames.forEach((n, k) => (labels[n] = values[k] as string));
  return labels;
}

/** A metric: its definition and its bindings (usually one registry). */
abstract class Metric {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected readonly b: Binding;
  protected readonly more: Binding[];
  protected readonly def: MetricDef;

  constructor(type: MetricType, config: MetricConfiguration, buckets: number[]) {
    if (typeof config !== 'object' || config === null) throw new TypeError(`rseq/metrics: a ${type} needs { name, help, registers }`);
    const { name, help } = config;
    if (typeof name !== 'string' || !METRIC_NAME.test(name)) throw new TypeError(`rseq/metrics: invalid metric name ${JSON.stringify(name)}`);
    if (typeof help !== 'string' || help === '') throw new TypeError(`rseq/metrics: ${name} needs a help text`);
    const labelNames = [...(config.labelNames ?? [])];
    for (const l of labelNames) {
      if (typeof l !== 'string' || !LABEL_NAME.test(l) || l.startsWith('__')) throw new TypeError(`rseq/metrics: invalid label name ${JSON.stringify(l)} in ${name}`);
      if (type === 'histogram' && l === 'le') throw new TypeError(`rseq/metrics: ${name}: le is the bucket label of a histogram`);
    }
    if (new Set(labelNames).size !== labelNames.length) throw new TypeError(`rseq/metrics: ${name} names a label twice`);
    const registers = config.registers;
    if (!Array.isArray(registers) || registers.length === 0 || !registers.every((r) => r instanceof Registry)) {
      throw new TypeError(`rseq/metrics: ${name} needs registers: [registry] (a metric is shared between threads through its registry's buffer)`);
    }
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.def = { name, help, type, labelNames, buckets, maxSeries: positiveInt(`${name}'s maxSeries`, config.maxSeries, DEFAULT_MAX_SERIES, LIMITS.series) };
    const bindings = (registers as readonly Registry[]).map((r) => r.bind(this.def, this as unknown as AnyMetric));
    this.b = bindings[0]!;
    this.more = bindings.slice(1);
  }

  /** The first slot of the series `labels` names, in binding b (made on first use). */
  protected slot(b: Binding, labels: Labels | undefined): number {
    const names = this.labelNames;
    const n = names.length;
    if (labels === undefined || n === 0) {
      if (labels !== undefined) this.checkKeys(labels);
      if (b.plain < 0) b.plain = b.store.series(b.index, JSON.stringify(names.map(() => '')));
      return b.plain;
    }
    let m = b.cache;
    for (let i = 0; i < n - 1; i++) {
      const v = labels[names[i]!];
      const k = v === undefined ? '' : typeof v === 'string' ? v : String(v);
      let next = m.get(k) as Map<string, unknown> | undefined;
      if (next === undefined) m.set(k, (next = new Map()));
      m = next;
    }
    const v = labels[names[n - 1]!];
    const last = v === undefined ? '' : typeof v === 'string' ? v : String(v);
    const hit = m.get(last) as number | undefined;
    return hit !== undefined ? hit : this.insert(b, labels, m, last);
  }

  /** A label set seen for the first time in this thread: checked, then found or made in the registry. */
  private insert(b: Binding, labels: Labels, m: Map<string, unknown>, last: string): number {
    this.checkKeys(labels);
    const values = this.labelNames.map((name) => {
      const v = labels[name];
      if (v !== undefined && typeof v !== 'string' && typeof v !== 'number') throw new TypeError(`rseq/metrics: ${this.name}: label ${name} must be a string or a number`);
      return v === undefined ? '' : String(v);
    });
    const slot = b.store.series(b.index, JSON.stringify(values));
    m.set(last, slot);
    return slot;
  }

  private checkKeys(labels: Labels): void {
    if (typeof labels !== 'object' || labels === null) throw new TypeError(`rseq/metrics: ${this.name}: labels must be an object`);
    for (const k of Object.keys(labels)) {
      if (!this.labelNames.includes(k)) throw new TypeError(`rseq/metrics: ${this.name}: label ${JSON.stringify(k)} is not one of its label names [${this.labelNames.join(', ')}]`);
    }
  }

  /** The labels of labels(...): an object, or the values in label-name order. */
  protected childLabels(args: unknown[]): Labels {
    if (args.length === 1 && typeof args[0] === 'object' && args[0] !== null) return args[0] as Labels;
    if (args.length !== this.labelNames.length) throw new TypeError(`rseq/metrics: ${this.name}.labels() takes ${this.labelNames.length} values (${this.labelNames.join(', ')}) or one object`);
    const labels: Labels = {};
    this.labelNames.forEach((n, i) => (labels[n] = args[i] as string | number));
    return labels;
  }
}

function add(b: Binding, slot: number, n: number): void {
  if (b.lane !== null) b.lane[slot] = b.lane[slot]! + n;
  else b.store.addOverflow(slot, n);
}

function amountOf(what: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !(v >= min) || v === Infinity) {
    throw new TypeError(`rseq/metrics: ${what} must be a finite number${min === 0 ? ' >= 0 (a counter never goes down)' : ''}, not ${String(v)}`);
  }
  return v;
}

/** Splits (labels?, value?) and (value?) the way prom-client's methods take them. */
function split(a: Labels | number | undefined, b: number | undefined, fallback: number): [Labels | undefined, unknown] {
  if (typeof a === 'object' && a !== null) return [a, b === undefined ? fallback : b];
  return [undefined, a === undefined ? fallback : a];
}

export class Counter extends Metric {
  constructor(config: MetricConfiguration) {
    super('counter', config, []);
  }

  /** Adds n (default 1) to the series `labels` names: inc(), inc(n), inc(labels), inc(labels, n). */
  inc(labels?: Labels | number, value?: number): void {
    const [l, v] = split(labels, value, 1);
    const n = amountOf(`${this.name}.inc()`, v, 0);
    add(this.b, this.slot(this.b, l), n);
    for (const b of this.more) add(b, this.slot(b, l), n);
  }

  /** A child bound to one label set: its inc() is one store into this thread's lane. */
  labels(...values: (string | number)[] | [Labels]): { inc(value?: number): void } {
    const l = this.childLabels(values);
    const targets = [this.b, ...this.more].map((b) => [b, this.slot(b, l)] as const);
    const name = this.name;
    if (targets.length === 1 && this.b.lane !== null) {
      const lane = this.b.lane;
      const slot = targets[0]![1];
      return {
        inc(value = 1) {
          if (typeof value !== 'number' || !(value >= 0) || value === Infinity) amountOf(`${name}.inc()`, value, 0);
          lane[slot] = lane[slot]! + value;
        },
      };
    }
    return {
      inc(value = 1) {
        const n = amountOf(`${name}.inc()`, value, 0);
        for (const [b, slot] of targets) add(b, slot, n);
      },
    };
  }
}

export class Gauge extends Metric {
  constructor(config: MetricConfiguration) {
    super('gauge', config, []);
  }

  inc(labels?: Labels | number, value?: number): void {
    const [l, v] = split(labels, value, 1);
    const n = amountOf(`${this.name}.inc()`, v, -Infinity);
    for (const b of [this.b, ...this.more]) add(b, this.slot(b, l), n);
  }

  dec(labels?: Labels | number, value?: number): void {
    const [l, v] = split(labels, value, 1);
    const n = amountOf(`${this.name}.dec()`, v, -Infinity);
    for (const b of [this.b, ...this.more]) add(b, this.slot(b, l), -n);
  }

  /**
   * Sets the series' value: its base becomes value minus what every thread's
   * inc() and dec() sum to now (an inc() racing this set() in another thread
   * may land before or after it).
   */
  set(labels: Labels | number, value?: number): void {
    const [l, v] = typeof labels === 'object' ? [labels, value] : [undefined, labels];
    const n = amountOf(`${this.name}.set()`, v, -Infinity);
    for (const b of [this.b, ...this.more]) {
      const slot = this.slot(b, l);
      b.store.base[slot] = n - b.store.sum(slot);
    }
  }

  labels(...values: (string | number)[] | [Labels]): { inc(value?: number): void; dec(value?: number): void; set(value: number): void } {
    const l = this.childLabels(values);
    return {
      inc: (value = 1) => this.inc(l, value),
      dec: (value = 1) => this.dec(l, value),
      set: (value: number) => this.set(l, value),
    };
  }
}

export class Histogram extends Metric {
  readonly buckets: readonly number[];

  constructor(config: HistogramConfiguration) {
    const raw = config?.buckets ?? DEFAULT_BUCKETS;
    if (!Array.isArray(raw) || raw.length === 0) throw new TypeError('rseq/metrics: a histogram needs buckets: [upper bounds, ascending]');
    const buckets = raw.filter((x) => x !== Infinity);
    for (let i = 0; i < buckets.length; i++) {
      if (typeof buckets[i] !== 'number' || !Number.isFinite(buckets[i]) || (i > 0 && !(buckets[i]! > buckets[i - 1]!))) {
        throw new TypeError(`rseq/metrics: ${String(config?.name)}: buckets must be finite numbers in ascending order`);
      }
    }
    super('histogram', config, buckets);
    this.buckets = buckets;
  }

  /** Records one value: observe(value) or observe(labels, value). */
  observe(labels: Labels | number, value?: number): void {
    const [l, v] = typeof labels === 'object' ? [labels, value] : [undefined, labels];
    if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`rseq/metrics: ${this.name}.observe() needs a number, not ${String(v)}`);
    const bounds = this.buckets;
    const nb = bounds.length;
    let i = 0;
    while (i < nb && v > bounds[i]!) i++;
    for (const b of [this.b, ...this.more]) {
      const slot = this.slot(b, l);
      add(b, slot + i, 1);
      add(b, slot + nb + 1, v);
    }
  }

  /** A child bound to one label set: its observe() is a bucket search and two stores into this thread's lane. */
  labels(...values: (string | number)[] | [Labels]): { observe(value: number): void; startTimer(): () => number } {
    const l = this.childLabels(values);
    const bounds = Float64Array.from(this.buckets);
    const nb = bounds.length;
    const name = this.name;
    const targets = [this.b, ...this.more].map((b) => [b, this.slot(b, l)] as const);
    const lane = targets.length === 1 ? this.b.lane : null;
    const first = targets[0]![1];
    const sumSlot = first + nb + 1;
    const fail = (v: unknown): never => {
      throw new TypeError(`rseq/metrics: ${name}.observe() needs a number, not ${String(v)}`);
    };
    // One registry and a lane of this thread's own: a bucket search over a
    // Float64Array and two plain adds; otherwise every binding, each through add().
    const observe: (v: number) => void =
      lane !== null
        ? (v: number): void => {
            if (typeof v !== 'number' || v !== v) fail(v);
            let i = 0;
            while (i < nb && v > bounds[i]!) i++;
            lane[first + i] += 1;
            lane[sumSlot] += v;
          }
        : (v: number): void => {
            if (typeof v !== 'number' || v !== v) fail(v);
            let i = 0;
            while (i < nb && v > bounds[i]!) i++;
            for (const [b, slot] of targets) {
              add(b, slot + i, 1);
              add(b, slot + nb + 1, v);
            }
          };
    return { observe, startTimer: () => timer((s) => observe(s)) };
  }

  /** Starts a timer; the function it returns observes the seconds elapsed (with extra labels, if given) and returns them. */
  startTimer(labels?: Labels): (extra?: Labels) => number {
    return timer((s, extra) => this.observe({ ...labels, ...extra }, s));
  }
}

function timer(done: (seconds: number, extra?: Labels) => void): (extra?: Labels) => number {
  const start = process.hrtime.bigint();
  return (extra?: Labels) => {
    const s = Number(process.hrtime.bigint() - start) / 1e9;
    done(s, extra);
    return s;
  };
}

/** prom-client's linearBuckets(start, width, count). */
export function linearBuckets(start: number, width: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + i * width);
}

/** prom-client's exponentialBuckets(start, factor, count). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}

// ---- exposition ----------------------------------------------------------

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** {a="x",b="y"} of the non-empty labels (an empty value is an absent label), plus `extra`. */
function labelText(labels: Record<string, string>, extra?: string): string {
  const parts: string[] = [];
  for (const k of Object.keys(labels)) if (labels[k] !== '') parts.push(`${k}="${escapeLabel(labels[k]!)}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function samples(m: MetricSnapshot, family: string, counterSuffix: string): string[] {
  const lines: string[] = [];
  for (const s of m.series) {
    if (m.type === 'histogram') {
      const bounds = [...m.buckets!.map(num), '+Inf'];
      bounds.forEach((le, k) => lines.push(`${family}_bucket${labelText(s.labels, `le="${le}"`)} ${num(s.bucketCounts![k]!)}`));
      lines.push(`${family}_sum${labelText(s.labels)} ${num(s.sum!)}`);
      lines.push(`${family}_count${labelText(s.labels)} ${num(s.count!)}`);
    } else {
      lines.push(`${family}${m.type === 'counter' ? counterSuffix : ''}${labelText(s.labels)} ${num(s.value!)}`);
    }
  }
  return lines;
}

/** The Prometheus text format 0.0.4. */
export function formatPrometheus(snapshot: readonly MetricSnapshot[]): string {
  const out: string[] = [];
  for (const m of snapshot) {
    out.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`, ...samples(m, m.name, ''));
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** OpenMetrics 1.0 text: counters' family names without _total, their samples with it, and # EOF. */
export function formatOpenMetrics(snapshot: readonly MetricSnapshot[]): string {
  const out: string[] = [];
  for (const m of snapshot) {
    const family = m.type === 'counter' && m.name.endsWith('_total') ? m.name.slice(0, -'_total'.length) : m.name;
    out.push(`# TYPE ${family} ${m.type}`, `# HELP ${family} ${escapeLabel(m.help)}`, ...samples(m, family, '_total'));
  }
  out.push('# EOF');
  return `${out.join('\n')}\n`;
}

