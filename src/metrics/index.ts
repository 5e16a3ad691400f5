/**
 * rseq/metrics: Prometheus metrics shared by every worker_thread through one
 * SharedArrayBuffer, with prom-client's API. Record in any thread, scrape
 * from any thread: every thread's exact totals, with no messages.
 *
 *   const registry = new Registry();                  // registry.buffer: pass it to workers
 *   const requests = new Counter({ name: 'http_requests_total', help: '...', labelNames: ['route'], registers: [registry] });
 *   requests.inc({ route: '/a' });
 *   // in a worker: Registry.from(buffer).getSingleMetric('http_requests_total').inc({ route: '/a' })
 *   await registry.metrics();                         // Prometheus text
 */
export {
  Counter,
  DEFAULT_BUCKETS,
  Gauge,
  Histogram,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  Registry,
  exponentialBuckets,
  formatOpenMetrics,
  formatPrometheus,
  linearBuckets,
} from './metrics.js';
export type { HistogramConfiguration, Labels, MetricConfiguration, MetricSnapshot, RegistryOptions, SeriesSnapshot } from './metrics.js';
export type { MetricType } from './store.js';
