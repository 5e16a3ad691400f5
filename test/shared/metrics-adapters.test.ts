/**
 * The adapters of rseq/metrics: its metrics inside a prom-client Registry
 * (rseq/metrics/prom-client) and as OpenTelemetry instruments
 * (rseq/metrics/otel), with values recorded on this thread and in real
 * worker_threads. prom-client 15.1.3 and @opentelemetry/sdk-metrics are the
 * real packages (devDependencies); nothing is mocked.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import * as client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Histogram, Registry } from '../../src/metrics/index.js';
import { createMetricProducer, registerWithOpenTelemetry } from '../../src/metrics/otel.js';
import { registerWithPromClient } from '../../src/metrics/prom-client.js';
import { ROOT } from '../helpers/env.js';

const METRICS_ENTRY = path.join(ROOT, 'dist', 'cjs', 'src', 'metrics', 'index.js');
const BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1];
const DEFS = {
  counter: { name: 'http_requests_total', help: 'Requests served', labelNames: ['route', 'code'] },
  histogram: { name: 'http_request_duration_seconds', help: 'Request duration', labelNames: ['route', 'code'], buckets: BUCKETS },
  gauge: { name: 'workers_up', help: 'Workers that finished' },
};
const ROUTES = ['/a', '/b', '/c'];
/** Multiples of 1/1024 s: every sum of them here is exact, in any order. */
const DURATIONS = Array.from({ length: 37 }, (_, i) => ((i * 29) % 1100) / 1024);

/** The samples of a text exposition as `name{sorted labels}` -> value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`).sort();
    out.set(`${m[1]}{${labels.join(',')}}`, m[3] === '+Inf' ? Infinity : Number(m[3]));
  }
  return out;
}

const key = (name: string, labels: Record<string, string>): string =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')}}`;

/** What `workers` workers of metrics-adapter-worker.cjs with n requests each record. */
function expectedSamples(workers: number, n: number): Map<string, number> {
  const out = new Map<string, number>();
  const per = new Map<string, { count: number; sum: number; buckets: number[] }>();
  for (let id = 0; id < workers; id++) {
    for (let i = 0; i < n; i++) {
      const route = ROUTES[i % ROUTES.length]!;
      const v = DURATIONS[(i + id) % DURATIONS.length]!;
      let s = per.get(route);
      if (!s) per.set(route, (s = { count: 0, sum: 0, buckets: new Array<number>(BUCKETS.length + 1).fill(0) }));
      s.count++;
      s.sum += v;
      BUCKETS.forEach((b, k) => {
        if (v <= b) s!.buckets[k]!++;
      });
      s.buckets[BUCKETS.length]!++;
    }
  }
  for (const [route, s] of per) {
    const labels = { route, code: '200' };
    out.set(key(DEFS.counter.name, labels), s.count);
    s.buckets.forEach((c, k) => out.set(key(`${DEFS.histogram.name}_bucket`, { ...labels, le: k < BUCKETS.length ? String(BUCKETS[k]) : '+Inf' }), c));
    out.set(key(`${DEFS.histogram.name}_sum`, labels), s.sum);
    out.set(key(`${DEFS.histogram.name}_count`, labels), s.count);
  }
  out.set(key(DEFS.gauge.name, {}), workers);
  return out;
}

/** Runs `workers` recording workers on the registry's buffer and waits until every one is done and gone. */
async function recordInWorkers(registry: Registry, workers: number, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: workers }, (_, id) => {
      const w = new Worker(path.join(ROOT, 'test', 'helpers', 'metrics-adapter-worker.cjs'), {
        workerData: { metricsEntry: METRICS_ENTRY, buffer: registry.buffer, defs: DEFS, id, n, routes: ROUTES, durations: DURATIONS },
      });
      return new Promise<void>((resolve, reject) => {
        let done = false;
        w.once('message', (m) => (done = m === 'done'));
        w.once('error', reject);
        w.once('exit', (code) => (done && code === 0 ? resolve() : reject(new Error(`worker ${id} exited with ${code} (done: ${done})`))));
      });
    }),
  );
}

function defineAll(registry: Registry): { counter: Counter; histogram: Histogram; gauge: Gauge } {
  return {
    counter: new Counter({ ...DEFS.counter, registers: [registry] }),
    histogram: new Histogram({ ...DEFS.histogram, registers: [registry] }),
    gauge: new Gauge({ ...DEFS.gauge, registers: [registry] }),
  };
}

describe('rseq/metrics/prom-client', () => {
  it("gives prom-client's own text for the same records: counter, histogram, gauge, unlabelled and partly labelled series", async () => {
    const ours = new Registry();
    const promOwn = new client.Registry<client.RegistryContentType>();
    // Both sides record the same calls; series are made in the order
    // rseq/metrics sorts them, so prom-client (insertion order) writes them alike.
    const def = (name: string, labelNames: string[]) => ({ name, help: `help of ${name}`, labelNames });
    const rc = new Counter({ ...def('a_requests_total', ['route', 'code']), registers: [ours] });
    const pc = new client.Counter({ ...def('a_requests_total', ['route', 'code']), registers: [promOwn] });
    const rg = new Gauge({ ...def('b_inflight', []), registers: [ours] });
    const pg = new client.Gauge({ ...def('b_inflight', []), registers: [promOwn] });
    const rh = new Histogram({ ...def('c_seconds', ['route']), buckets: BUCKETS, registers: [ours] });
    const ph = new client.Histogram({ ...def('c_seconds', ['route']), buckets: BUCKETS, registers: [promOwn] });
    const ru = new Counter({ ...def('d_events_total', []), registers: [ours] });
    const pu = new client.Counter({ ...def('d_events_total', []), registers: [promOwn] });
    for (const [route, code, n] of [['/a', '200', 3], ['/a', '500', 1], ['/b', '200', 7]] as const) {
      rc.inc({ route, code }, n);
      pc.inc({ route, code }, n);
    }
    rc.labels('/b', '200').inc(0.5);
    pc.labels('/b', '200').inc(0.5);
    rg.set(4);
    pg.set(4);
    rg.dec(1.5);
    pg.dec(1.5);
    for (const v of DURATIONS) {
      rh.observe({ route: '/x' }, v);
      ph.observe({ route: '/x' }, v);
    }
    for (const v of [0.002, 2, 0.07]) {
      rh.labels('/y').observe(v);
      ph.labels('/y').observe(v);
    }
    ru.inc();
    pu.inc();
    ru.inc(41);
    pu.inc(41);

    const prom = new client.Registry<client.RegistryContentType>();
    const collectors = registerWithPromClient(ours, prom);
    expect(collectors.map((c) => [c.name, c.type])).toEqual([
      ['a_requests_total', 'counter'],
      ['b_inflight', 'gauge'],
      ['c_seconds', 'histogram'],
      ['d_events_total', 'counter'],
    ]);
    expect(await prom.metrics()).toBe(await promOwn.metrics());
    // As the JSON travels (prom-client's cluster IPC), without prom-client's
    // `exemplar` (null or undefined when exemplars are off, as here).
    const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === 'exemplar' ? undefined : v)));
    expect(plain(await prom.getMetricsAsJSON())).toEqual(plain(await promOwn.getMetricsAsJSON()));
    // OpenMetrics: prom-client renames the counters' families and adds _total to their samples.
    prom.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE);
    promOwn.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE);
    expect(await prom.metrics()).toBe(await promOwn.metrics());
  });

  it('a label left out is absent in the text, as in prom-client', async () => {
    const ours = new Registry();
    const promOwn = new client.Registry();
    const rc = new Counter({ name: 'x_total', help: 'x', labelNames: ['a', 'b'], registers: [ours] });
    const pc = new client.Counter({ name: 'x_total', help: 'x', labelNames: ['a', 'b'], registers: [promOwn] });
    rc.inc({ a: '1' });
    pc.inc({ a: '1' });
    const prom = new client.Registry();
    registerWithPromClient(ours, prom);
    expect(await prom.metrics()).toBe(await promOwn.metrics());
  });

  it('serves the exact totals of 4 worker_threads through a prom-client Registry beside its own metrics', async () => {
    const registry = new Registry();
    defineAll(registry);
    const prom = new client.Registry();
    const own = new client.Counter({ name: 'prom_own_total', help: 'a prom-client metric', registers: [prom] });
    own.inc(3);
    registerWithPromClient(registry, prom);
    await recordInWorkers(registry, 4, 3000);
    const got = samples(await prom.metrics());
    const want = expectedSamples(4, 3000);
    for (const [k, v] of want) expect([k, got.get(k)]).toEqual([k, v]);
    expect(got.get('prom_own_total{}')).toBe(3);
    // The whole text carries the same samples as rseq/metrics' own exposition.
    const direct = samples(await registry.metrics());
    expect(new Map([...got].filter(([k]) => !k.startsWith('prom_own_total')))).toEqual(direct);
  });

  it("aggregates as prom-client's cluster support does: two processes' getMetricsAsJSON() summed", async () => {
    // Two registries stand for two cluster workers' (each with its own worker_threads).
    const parts: Registry[] = [new Registry(), new Registry()];
    const jsons = [];
    for (const [i, r] of parts.entries()) {
      defineAll(r);
      await recordInWorkers(r, 2, 1000 * (i + 1));
      const prom = new client.Registry();
      registerWithPromClient(r, prom);
      jsons.push(await prom.getMetricsAsJSON());
    }
    const text = await client.AggregatorRegistry.aggregate(jsons).metrics();
    const got = samples(text);
    const a = expectedSamples(2, 1000);
    const b = expectedSamples(2, 2000);
    for (const [k, v] of b) expect([k, got.get(k)]).toEqual([k, v + (a.get(k) ?? 0)]);
  });

  it('one scrape reads one snapshot, and values recorded after it appear at the next scrape', async () => {
    const registry = new Registry();
    const { counter } = defineAll(registry);
    const prom = new client.Registry();
    registerWithPromClient(registry, prom);
    counter.inc({ route: '/a', code: '200' }, 2);
    expect(samples(await prom.metrics()).get(key(DEFS.counter.name, { route: '/a', code: '200' }))).toBe(2);
    counter.inc({ route: '/a', code: '200' });
    expect(samples(await prom.metrics()).get(key(DEFS.counter.name, { route: '/a', code: '200' }))).toBe(3);
    expect(await prom.getSingleMetricAsString(DEFS.counter.name)).toContain('http_requests_total{route="/a",code="200"} 3');
  });

  it('registers again only metrics defined since (here in a worker); names prom-client has already, reset and bad arguments throw', async () => {
    const registry = new Registry();
    new Counter({ ...DEFS.counter, registers: [registry] });
    const prom = new client.Registry();
    expect(registerWithPromClient(registry, prom)).toHaveLength(1);
    await recordInWorkers(registry, 1, 10); // defines the histogram and the gauge too
    expect(registerWithPromClient(registry, prom).map((c) => c.name)).toEqual([DEFS.histogram.name, DEFS.gauge.name]);
    expect(registerWithPromClient(registry, prom)).toEqual([]);
    const got = samples(await prom.metrics());
    for (const [k, v] of expectedSamples(1, 10)) expect([k, got.get(k)]).toEqual([k, v]);

    const clash = new client.Registry();
    new client.Counter({ name: DEFS.counter.name, help: 'prom-client own', registers: [clash] });
    expect(() => registerWithPromClient(registry, clash)).toThrow(/already been registered/);
    expect(() => prom.resetMetrics()).toThrow(/cannot be reset/);
    expect(() => registerWithPromClient(registry, {} as client.Registry)).toThrow(TypeError);
    expect(() => registerWithPromClient(registry, new client.Registry(), { aggregator: 'median' as 'sum' })).toThrow(/unknown aggregator/);
    const byType = new client.Registry();
    registerWithPromClient(registry, byType, { aggregator: (m) => (m.type === 'gauge' ? 'max' : 'sum') });
    expect((await byType.getMetricsAsJSON()).map((m) => [m.name, m.aggregator])).toEqual([
      [DEFS.histogram.name, 'sum'],
      [DEFS.counter.name, 'sum'],
      [DEFS.gauge.name, 'max'],
    ]);
  });
});

/** A reader collected by hand (the SDK's own MetricReader; nothing exported). */
class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

async function collected(reader: MetricReader): Promise<ResourceMetrics> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  return resourceMetrics;
}

/** Every point of a collection as `name{sorted attributes}` -> value (histogram points: their value object). */
function points(rm: ResourceMetrics): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const sm of rm.scopeMetrics) {
    for (const m of sm.metrics) {
      for (const p of m.dataPoints as { attributes: Record<string, unknown>; value: unknown }[]) {
        out.set(key(m.descriptor.name, Object.fromEntries(Object.entries(p.attributes).map(([k, v]) => [k, String(v)]))), p.value);
      }
    }
  }
  return out;
}

function metricNamed(rm: ResourceMetrics, name: string): MetricData {
  const found = rm.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
  if (!found) throw new Error(`no metric ${name} in the collection`);
  return found;
}

describe('rseq/metrics/otel', () => {
  it('observable instruments: counters, gauges and histograms (as _bucket/_count/_sum) with the exact totals of 4 worker_threads', async () => {
    const registry = new Registry();
    const { counter } = defineAll(registry);
    const reader = new ManualReader();
    const provider = new MeterProvider({ readers: [reader] });
    const reg = registerWithOpenTelemetry(registry, provider.getMeter('test'));
    expect(reg.metrics).toEqual([DEFS.histogram.name, DEFS.counter.name, DEFS.gauge.name]);
    expect(reg.instruments).toEqual([`${DEFS.histogram.name}_bucket`, `${DEFS.histogram.name}_count`, `${DEFS.histogram.name}_sum`, DEFS.counter.name, DEFS.gauge.name]);
    await recordInWorkers(registry, 4, 3000);
    const rm = await collected(reader);
    const got = points(rm);
    // The same samples as the Prometheus text, under the same names.
    const want = expectedSamples(4, 3000);
    for (const [k, v] of want) expect([k, got.get(k)]).toEqual([k, v]);
    expect(got.size).toBe(want.size);
    const c = metricNamed(rm, DEFS.counter.name);
    expect([c.dataPointType, c.aggregationTemporality, c.dataPointType === DataPointType.SUM && c.isMonotonic]).toEqual([DataPointType.SUM, AggregationTemporality.CUMULATIVE, true]);
    expect(metricNamed(rm, DEFS.gauge.name).dataPointType).toBe(DataPointType.GAUGE);
    expect(metricNamed(rm, `${DEFS.histogram.name}_sum`).dataPointType).toBe(DataPointType.SUM);
    expect(metricNamed(rm, DEFS.counter.name).descriptor.description).toBe(DEFS.counter.help);
    // A later record shows at the next collection; after unregister() nothing is observed.
    counter.inc({ route: '/a', code: '200' }, 5);
    const k = key(DEFS.counter.name, { route: '/a', code: '200' });
    expect(points(await collected(reader)).get(k)).toBe((want.get(k) as number) + 5);
    // After unregister() the registry is no longer read (the SDK repeats a
    // cumulative point it saw last, so the value stays where it was).
    reg.unregister();
    counter.inc({ route: '/a', code: '200' }, 1);
    expect(points(await collected(reader)).get(k) ?? 'none').not.toBe((want.get(k) as number) + 6);
    await provider.shutdown();
  });

  it("observable instruments: gauges as up-down counters, units, only new metrics on a second call, a missing label is absent", async () => {
    const registry = new Registry();
    const g = new Gauge({ name: 'queue_depth', help: 'depth', labelNames: ['q', 'shard'], registers: [registry] });
    g.set({ q: 'a' }, 7);
    g.dec({ q: 'a' }, 2);
    const reader = new ManualReader();
    const provider = new MeterProvider({ readers: [reader] });
    const meter = provider.getMeter('test');
    expect(registerWithOpenTelemetry(registry, meter, { gauges: 'updowncounter', units: { queue_depth: '{item}' } }).metrics).toEqual(['queue_depth']);
    const later = new Counter({ name: 'later_total', help: 'defined after', registers: [registry] });
    later.inc(3);
    expect(registerWithOpenTelemetry(registry, meter).metrics).toEqual(['later_total']);
    expect(registerWithOpenTelemetry(registry, meter).instruments).toEqual([]);
    const rm = await collected(reader);
    const depth = metricNamed(rm, 'queue_depth');
    expect([depth.dataPointType, depth.descriptor.unit]).toEqual([DataPointType.SUM, '{item}']);
    expect(points(rm)).toEqual(new Map<string, unknown>([['queue_depth{q="a"}', 5], ['later_total{}', 3]]));
    expect(() => registerWithOpenTelemetry(registry, {} as never)).toThrow(TypeError);
    expect(() => registerWithOpenTelemetry(new Registry(), meter, { gauges: 'histogram' as 'gauge' })).toThrow(TypeError);
    await provider.shutdown();
  });

  it('a MetricProducer gives real OTel histograms (per-bucket counts, sum, count), sums and gauges, exact from 4 worker_threads', async () => {
    const registry = new Registry();
    defineAll(registry);
    const reader = new ManualReader({ metricProducers: [createMetricProducer(registry, { units: { [DEFS.histogram.name]: 's' } })] });
    const provider = new MeterProvider({ readers: [reader] });
    // The SDK's own instruments and the producer's metrics come in one collection.
    provider.getMeter('own').createObservableGauge('sdk_own').addCallback((r) => r.observe(1));
    await recordInWorkers(registry, 4, 2000);
    const rm = await collected(reader);
    expect(rm.scopeMetrics.map((s) => s.scope.name)).toEqual(['own', 'rseq/metrics']);
    const want = expectedSamples(4, 2000);
    const h = metricNamed(rm, DEFS.histogram.name);
    expect([h.dataPointType, h.aggregationTemporality, h.descriptor.unit]).toEqual([DataPointType.HISTOGRAM, AggregationTemporality.CUMULATIVE, 's']);
    if (h.dataPointType !== DataPointType.HISTOGRAM) throw new Error('not a histogram');
    expect(h.dataPoints).toHaveLength(ROUTES.length);
    for (const p of h.dataPoints) {
      const labels = { route: String(p.attributes.route), code: String(p.attributes.code) };
      const cumulative = [...BUCKETS.map(String), '+Inf'].map((le) => want.get(key(`${DEFS.histogram.name}_bucket`, { ...labels, le })) as number);
      expect(p.value.buckets).toEqual({ boundaries: BUCKETS, counts: cumulative.map((c, k) => (k === 0 ? c : c - cumulative[k - 1]!)) });
      expect([p.value.sum, p.value.count]).toEqual([want.get(key(`${DEFS.histogram.name}_sum`, labels)), want.get(key(`${DEFS.histogram.name}_count`, labels))]);
      expect(p.startTime[0] * 1e9 + p.startTime[1]).toBeLessThanOrEqual(p.endTime[0] * 1e9 + p.endTime[1]);
    }
    const c = metricNamed(rm, DEFS.counter.name);
    expect(c.dataPointType === DataPointType.SUM && c.isMonotonic).toBe(true);
    for (const p of c.dataPoints) expect(p.value).toBe(want.get(key(DEFS.counter.name, { route: String(p.attributes.route), code: String(p.attributes.code) })));
    const g = metricNamed(rm, DEFS.gauge.name);
    expect([g.dataPointType, g.dataPoints.map((p) => p.value)]).toEqual([DataPointType.GAUGE, [4]]);
    await provider.shutdown();
  });
});
