/**
 * rseq/metrics/prom-client: an rseq/metrics registry's metrics inside a
 * prom-client Registry, so that an existing `/metrics` route (and
 * prom-client's `getMetricsAsJSON()`, `Registry.merge()` and cluster
 * aggregation) serves them beside prom-client's own metrics.
 *
 *   import { Registry } from 'rseq/metrics';
 *   import { registerWithPromClient } from 'rseq/metrics/prom-client';
 *   import * as client from 'prom-client';
 *   registerWithPromClient(registry, client.register);   // then: await client.register.metrics()
 *
 * Each metric becomes one object that prom-client's Registry takes as a
 * metric (`registerMetric`): `name`, `help`, `type`, `aggregator` and
 * `get()`, which returns the metric's values in prom-client's shape
 * (histograms as `<name>_bucket` with an `le` label, `<name>_sum` and
 * `<name>_count`, as prom-client's own Histogram gives them). The values are
 * read from the shared memory at the scrape: every thread's exact totals.
 * prom-client's Registry calls every metric's `get()` in one synchronous
 * loop; the first call takes one snapshot of the whole registry
 * (`registry.collect()`) and the others of that scrape share it, so one
 * scrape reads the shared memory once and its metrics agree with each other.
 *
 * This module does not load prom-client: it only hands objects to the
 * Registry passed in (prom-client 15 is the version tested).
 */
import type { MetricSnapshot, Registry } from './metrics.js';

/** How prom-client's cluster support combines one metric from several processes (prom-client's `Aggregator`). */
export type PromAggregator = 'omit' | 'sum' | 'first' | 'min' | 'max' | 'average';

/** One value as prom-client's metrics give it from `get()`. */
export interface PromMetricValue {
  labels: Record<string, string | number>;
  value: number;
  /** The sample's name when it is not the metric's (histograms: `_bucket`, `_sum`, `_count`). */
  metricName?: string;
}

/** What `get()` returns: prom-client's `MetricObjectWithValues`. */
export interface PromMetricObject {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: PromMetricValue[];
  aggregator: PromAggregator;
}

/** The object registered in prom-client for one rseq/metrics metric. */
export interface PromCollector {
  /** The metric's name (prom-client strips a counter's `_total` from it when it writes OpenMetrics). */
  name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator: PromAggregator;
  /** The registry the values are read from. */
  readonly source: Registry;
  /** The metric's values now, every thread's records summed. */
  get(): Promise<PromMetricObject>;
  /**
   * prom-client's `registry.resetMetrics()` calls this: it throws, because
   * the values are every thread's records in shared memory, and rseq/metrics
   * has no reset.
   */
  reset(): void;
}

/**
 * The part of prom-client's `Registry` this module uses. prom-client's own
 * `Registry` (and `AggregatorRegistry`, and `client.register`) fits it.
 */
export interface PromRegistryLike {
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
}

export interface PromClientOptions {
  /**
   * The aggregator prom-client's cluster support uses for each metric
   * (default 'sum', prom-client's own default): a function of the metric's
   * snapshot, or one aggregator for all.
   */
  aggregator?: PromAggregator | ((metric: Pick<MetricSnapshot, 'name' | 'type' | 'labelNames'>) => PromAggregator);
}

const AGGREGATORS: readonly PromAggregator[] = ['omit', 'sum', 'first', 'min', 'max', 'average'];

/** The snapshot of the scrape in progress, per registry (dropped at the next microtask). */
const current = new WeakMap<Registry, Map<string, MetricSnapshot>>();

function snapshotOf(registry: Registry, name: string): MetricSnapshot | undefined {
  let all = current.get(registry);
  if (all === undefined) {
    all = new Map(registry.collect().map((m) => [m.name, m]));
    current.set(registry, all);
    queueMicrotask(() => current.delete(registry));
  }
  return all.get(name);
}

/** Labels as prom-client writes them: an empty value is an absent label (as in rseq/metrics' own exposition). */
function present(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels)) if (labels[k] !== '') out[k] = labels[k]!;
  return out;
}

/** A snapshot's values in prom-client's shape. */
export function promValues(m: MetricSnapshot): PromMetricValue[] {
  const values: PromMetricValue[] = [];
  for (const s of m.series) {
    const labels = present(s.labels);
    if (m.type !== 'histogram') {
      values.push({ labels, value: s.value! });
      continue;
    }
    const bounds = m.buckets!;
    // prom-client: le first, numbers for the bounds and the string '+Inf' last.
    for (let k = 0; k < bounds.length; k++) values.push({ labels: { le: bounds[k]!, ...labels }, value: s.bucketCounts![k]!, metricName: `${m.name}_bucket` });
    values.push({ labels: { le: '+Inf', ...labels }, value: s.bucketCounts![bounds.length]!, metricName: `${m.name}_bucket` });
    values.push({ labels, value: s.sum!, metricName: `${m.name}_sum` });
    values.push({ labels, value: s.count!, metricName: `${m.name}_count` });
  }
  return values;
}

/** Registered collectors, so that registering the same registry again adds only new metrics. */
const ours = new WeakSet<object>();

class Collector implements PromCollector {
  name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator: PromAggregator;
  readonly source: Registry;
  /** The name in the rseq/metrics registry (prom-client may rewrite `name`). */
  readonly #key: string;

  constructor(source: Registry, m: MetricSnapshot, aggregator: PromAggregator) {
    this.source = source;
    this.#key = m.name;
    this.name = m.name;
    this.help = m.help;
    this.type = m.type;
    this.aggregator = aggregator;
    ours.add(this);
  }

  async get(): Promise<PromMetricObject> {
    const m = snapshotOf(this.source, this.#key);
    return { name: this.name, help: this.help, type: this.type, values: m ? promValues(m) : [], aggregator: this.aggregator };
  }

  reset(): void {
    throw new Error(`rseq/metrics/prom-client: ${this.#key} cannot be reset: its values are every thread's records in the rseq/metrics registry's shared memory, which has no reset`);
  }
}

/**
 * Registers every metric of `registry` (defined in any thread so far) in the
 * prom-client Registry `promRegistry`; returns the collectors registered by
 * this call. Calling it again registers only the metrics defined since. A
 * name prom-client already has from elsewhere throws prom-client's "already
 * been registered" error.
 */
export function registerWithPromClient(registry: Registry, promRegistry: PromRegistryLike, options: PromClientOptions = {}): PromCollector[] {
  if (typeof promRegistry !== 'object' || promRegistry === null || typeof promRegistry.registerMetric !== 'function' || typeof promRegistry.getSingleMetric !== 'function') {
    throw new TypeError('rseq/metrics/prom-client: registerWithPromClient(registry, promRegistry) needs a prom-client Registry (for example client.register)');
  }
  const pick = options.aggregator ?? 'sum';
  const register = promRegistry.registerMetric as (metric: PromCollector) => void;
  const added: PromCollector[] = [];
  for (const m of registry.collect()) {
    const prior = promRegistry.getSingleMetric(m.name);
    if (prior instanceof Collector && ours.has(prior) && prior.source === registry) continue;
    const aggregator = typeof pick === 'function' ? pick({ name: m.name, type: m.type, labelNames: m.labelNames }) : pick;
    if (!AGGREGATORS.includes(aggregator)) throw new TypeError(`rseq/metrics/prom-client: ${m.name}: unknown aggregator ${String(aggregator)} (one of ${AGGREGATORS.join(', ')})`);
    const c = new Collector(registry, m, aggregator);
    register.call(promRegistry, c);
    added.push(c);
  }
  return added;
}
