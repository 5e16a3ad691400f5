/**
 * rseq/metrics/otel: an rseq/metrics registry's metrics in OpenTelemetry, two
 * ways.
 *
 * 1. `registerWithOpenTelemetry(registry, meter)`: asynchronous (observable)
 *    instruments of `@opentelemetry/api`, read from the shared memory at each
 *    collection through one batch callback (one registry snapshot per
 *    collection, so the metrics of one collection agree with each other):
 *      counter    -> ObservableCounter `<name>`
 *      gauge      -> ObservableGauge `<name>` (or ObservableUpDownCounter, { gauges: 'updowncounter' })
 *      histogram  -> the API has no observable histogram, so a histogram
 *                    becomes Prometheus' own layout as three instruments:
 *                    ObservableCounter `<name>_bucket` (one point per bucket,
 *                    attribute `le`: the upper bound as a string, `+Inf` last,
 *                    cumulative counts), ObservableCounter `<name>_count` and
 *                    ObservableUpDownCounter `<name>_sum` (an observation may
 *                    be negative). A backend sees three sums, not a histogram.
 *    Needs only `@opentelemetry/api` (any SDK behind the meter).
 *
 * 2. `createMetricProducer(registry)`: a MetricProducer for
 *    `@opentelemetry/sdk-metrics` (a MetricReader's `metricProducers`
 *    option, which sdk-metrics marks experimental) that gives real OTel data:
 *    counters as monotonic cumulative sums, gauges as gauges and histograms as
 *    explicit-bucket histograms (the bounds, the count in each bucket, sum and
 *    count; no min or max: the registry does not keep them). This is the way
 *    to export histograms as histograms (OTLP, OTel's Prometheus exporter).
 *
 * In both, an empty label value is an absent attribute (as in rseq/metrics'
 * own exposition), and the values are every thread's exact totals.
 */
import { ValueType, type Attributes, type BatchObservableCallback, type HrTime, type Meter, type Observable } from '@opentelemetry/api';
import type { AggregationTemporality, CollectionResult, DataPointType, MetricData, MetricProducer, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { MetricSnapshot, Registry, SeriesSnapshot } from './metrics.js';

export interface OpenTelemetryOptions {
  /** The instrument of a gauge: 'gauge' (ObservableGauge, default) or 'updowncounter' (ObservableUpDownCounter). */
  gauges?: 'gauge' | 'updowncounter';
  /** Instrument units, by metric name (default none). */
  units?: Readonly<Record<string, string>>;
}

/** What registerWithOpenTelemetry made. */
export interface OpenTelemetryRegistration {
  /** The registry metrics this registration observes, by name. */
  readonly metrics: readonly string[];
  /** The instruments' names, in the order they were made. */
  readonly instruments: readonly string[];
  /** Stops observing (the meter keeps the instruments, with no more points). */
  unregister(): void;
}

/** Attributes of a series: its labels without the empty ones. */
function attributesOf(s: SeriesSnapshot): Attributes {
  const out: Attributes = {};
  for (const k of Object.keys(s.labels)) if (s.labels[k] !== '') out[k] = s.labels[k]!;
  return out;
}

/** The metric names each meter observes per registry, so that registering again adds only new metrics. */
const observed = new WeakMap<Meter, WeakMap<Registry, Set<string>>>();

/**
 * Makes observable instruments on `meter` for every metric of `registry`
 * (defined in any thread so far) and observes them at each collection.
 * Calling it again with the same meter and registry covers only the metrics
 * defined since (an empty registration when there are none).
 */
export function registerWithOpenTelemetry(registry: Registry, meter: Meter, options: OpenTelemetryOptions = {}): OpenTelemetryRegistration {
  if (typeof meter !== 'object' || meter === null || typeof meter.addBatchObservableCallback !== 'function') {
    throw new TypeError('rseq/metrics/otel: registerWithOpenTelemetry(registry, meter) needs an OpenTelemetry Meter (metrics.getMeter(name))');
  }
  const gauges = options.gauges ?? 'gauge';
  if (gauges !== 'gauge' && gauges !== 'updowncounter') throw new TypeError(`rseq/metrics/otel: gauges must be 'gauge' or 'updowncounter', not ${String(gauges)}`);
  let byRegistry = observed.get(meter);
  if (!byRegistry) observed.set(meter, (byRegistry = new WeakMap()));
  let names = byRegistry.get(registry);
  if (!names) byRegistry.set(registry, (names = new Set()));
  const seen = names;

  type Plan =
    | { kind: 'value'; instrument: Observable }
    | { kind: 'histogram'; bucket: Observable; count: Observable; sum: Observable; le: string[] };
  const plans = new Map<string, Plan>();
  const instruments: string[] = [];
  const all: Observable[] = [];
  const make = <T extends Observable>(name: string, create: (n: string, o: { description: string; unit?: string; valueType: ValueType }) => T, m: MetricSnapshot): T => {
    const unit = options.units?.[m.name];
    const o = unit === undefined ? { description: m.help, valueType: ValueType.DOUBLE } : { description: m.help, unit, valueType: ValueType.DOUBLE };
    const i = create(name, o);
    instruments.push(name);
    all.push(i);
    return i;
  };
  for (const m of registry.collect()) {
    if (seen.has(m.name)) continue;
    if (m.type === 'counter') plans.set(m.name, { kind: 'value', instrument: make(m.name, (n, o) => meter.createObservableCounter(n, o), m) });
    else if (m.type === 'gauge') {
      plans.set(m.name, {
        kind: 'value',
        instrument: make(m.name, (n, o) => (gauges === 'gauge' ? meter.createObservableGauge(n, o) : meter.createObservableUpDownCounter(n, o)), m),
      });
    } else {
      plans.set(m.name, {
        kind: 'histogram',
        bucket: make(`${m.name}_bucket`, (n, o) => meter.createObservableCounter(n, o), m),
        count: make(`${m.name}_count`, (n, o) => meter.createObservableCounter(n, o), m),
        sum: make(`${m.name}_sum`, (n, o) => meter.createObservableUpDownCounter(n, o), m),
        le: [...m.buckets!.map(String), '+Inf'],
      });
    }
  }
  const metrics = [...plans.keys()];
  for (const n of metrics) seen.add(n);

  const callback: BatchObservableCallback = (result) => {
    for (const m of registry.collect()) {
      const plan = plans.get(m.name);
      if (plan === undefined) continue;
      for (const s of m.series) {
        const attributes = attributesOf(s);
        if (plan.kind === 'value') {
          result.observe(plan.instrument, s.value!, attributes);
          continue;
        }
        plan.le.forEach((le, k) => result.observe(plan.bucket, s.bucketCounts![k]!, { ...attributes, le }));
        result.observe(plan.count, s.count!, attributes);
        result.observe(plan.sum, s.sum!, attributes);
      }
    }
  };
  if (all.length > 0) meter.addBatchObservableCallback(callback, all);
  let registered = all.length > 0;
  return {
    metrics,
    instruments,
    unregister() {
      if (!registered) return;
      registered = false;
      meter.removeBatchObservableCallback(callback, all);
      for (const n of metrics) seen.delete(n);
    },
  };
}

export interface MetricProducerOptions {
  /** The instrumentation scope the metrics are reported under (default { name: 'rseq/metrics' }). */
  scope?: { name: string; version?: string; schemaUrl?: string };
  /** Units, by metric name (default none). */
  units?: Readonly<Record<string, string>>;
}

// sdk-metrics' enums, by value (this module loads nothing from sdk-metrics).
const SUM = 3 as DataPointType.SUM;
const GAUGE = 2 as DataPointType.GAUGE;
const HISTOGRAM = 0 as DataPointType.HISTOGRAM;
const CUMULATIVE = 1 as AggregationTemporality.CUMULATIVE;

function hrNow(): HrTime {
  const ms = performance.timeOrigin + performance.now();
  const s = Math.floor(ms / 1000);
  return [s, Math.min(999_999_999, Math.round((ms - s * 1000) * 1e6))];
}

/** The registry's metrics as OTel metric data (cumulative since `start`). */
export function toMetricData(snapshot: readonly MetricSnapshot[], start: HrTime, end: HrTime, units: Readonly<Record<string, string>> = {}): MetricData[] {
  return snapshot.map((m): MetricData => {
    const descriptor = { name: m.name, description: m.help, unit: units[m.name] ?? '', valueType: ValueType.DOUBLE };
    if (m.type === 'histogram') {
      return {
        descriptor,
        aggregationTemporality: CUMULATIVE,
        dataPointType: HISTOGRAM,
        dataPoints: m.series.map((s) => ({
          startTime: start,
          endTime: end,
          attributes: attributesOf(s),
          // OTel counts each bucket on its own (the registry's are cumulative).
          value: { buckets: { boundaries: [...m.buckets!], counts: s.bucketCounts!.map((c, k) => (k === 0 ? c : c - s.bucketCounts![k - 1]!)) }, sum: s.sum!, count: s.count! },
        })),
      };
    }
    const dataPoints = m.series.map((s) => ({ startTime: start, endTime: end, attributes: attributesOf(s), value: s.value! }));
    if (m.type === 'gauge') return { descriptor, aggregationTemporality: CUMULATIVE, dataPointType: GAUGE, dataPoints };
    return { descriptor, aggregationTemporality: CUMULATIVE, dataPointType: SUM, isMonotonic: true, dataPoints };
  });
}

/**
 * A MetricProducer for `@opentelemetry/sdk-metrics` over `registry`: pass it
 * in a MetricReader's `metricProducers` option
 * (`new PeriodicExportingMetricReader({ exporter, metricProducers: [producer] })`).
 * Each collection reads every metric the registry has then (defined in any
 * thread), cumulative from the moment the producer was made.
 */
export function createMetricProducer(registry: Registry, options: MetricProducerOptions = {}): MetricProducer {
  const scope = options.scope ?? { name: 'rseq/metrics' };
  const units = options.units ?? {};
  const start = hrNow();
  return {
    async collect(): Promise<CollectionResult> {
      const scopeMetrics: ScopeMetrics = { scope, metrics: toMetricData(registry.collect(), start, hrNow(), units) };
      return {
        // A MetricReader keeps the SDK's resource and ignores its producers' (sdk-metrics' MetricReaderOptions).
        resourceMetrics: { resource: NO_RESOURCE, scopeMetrics: [scopeMetrics] },
        errors: [],
      };
    },
  };
}

type Resource = CollectionResult['resourceMetrics']['resource'];
const NO_RESOURCE = { attributes: {}, merge: (other: Resource | null) => other ?? NO_RESOURCE, getRawAttributes: () => [] } as unknown as Resource;
