/**
 * rseq/metrics with real worker_threads: every thread's records, exact, read
 * from any thread at any moment; label sets first seen in workers; bounded
 * cardinality; workers terminated while recording; buffers that lie; the two
 * exposition formats. The metrics hold no backend state, so the suite is the
 * same on every project.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ROOT, skipShared } from '../helpers/env.js';
import { Counter, Gauge, Histogram, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, Registry } from '../../src/metrics/index.js';

const WORKER = path.join(ROOT, 'test', 'helpers', 'metrics-worker.cjs');
const METRICS_ENTRY = path.join(ROOT, 'dist', 'cjs', 'src', 'metrics', 'index.js');

interface WorkerTask {
  task: string;
  id?: number;
  n?: number;
  progress?: SharedArrayBuffer;
}

/** Runs one worker to its end and returns its last message. */
function runWorker(registry: Registry, t: WorkerTask): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: { ...t, buffer: registry.buffer, metricsEntry: METRICS_ENTRY } });
    let last: Record<string, unknown> = {};
    w.on('message', (m: Record<string, unknown>) => (last = m));
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve(last) : reject(new Error(`worker exited ${code}`))));
  });
}

/** The value of one sample line of a Prometheus text exposition. */
function sample(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  if (found === undefined) throw new Error(`no sample ${line} in:\n${text}`);
  return Number(found.slice(line.length + 1));
}

describe.skipIf(skipShared)('rseq/metrics across worker_threads', () => {
  it('sums every thread exactly: labelled incs, bound children, histograms, gauges, label sets first seen in workers', async () => {
    const registry = new Registry();
    const jobs = new Counter({ name: 'jobs_total', help: 'Jobs done', labelNames: ['kind', 'result'], registers: [registry] });
    new Histogram({ name: 'job_seconds', help: 'Job time', labelNames: ['kind'], buckets: [0.005, 0.015, 0.025], registers: [registry] });
    const up = new Gauge({ name: 'workers_up', help: 'Workers that finished', registers: [registry] });
    up.set(10);
    jobs.inc({ kind: 'plain', result: 'ok' }, 5);
    const W = 4;
    const n = 20_000;
    await Promise.all(Array.from({ length: W }, (_, id) => runWorker(registry, { task: 'mixed', id, n })));

    const text = await registry.metrics();
    expect(sample(text, 'jobs_total{kind="plain",result="ok"}')).toBe(5 + (W * n) / 2);
    expect(sample(text, 'jobs_total{kind="plain",result="error"}')).toBe((W * n) / 2);
    expect(sample(text, 'jobs_total{kind="child",result="ok"}')).toBe(2 * W * n);
    // 50 label sets, each first met by whichever worker got there first: one series each.
    const routes = registry.collect().find((m) => m.name === 'jobs_total')!.series.filter((s) => s.labels.kind!.startsWith('route'));
    expect(routes).toHaveLength(50);
    for (const s of routes) expect(s.value).toBe((W * n) / 50);
    // Histogram: values 0, 0.01, 0.02, 0.03 in turn.
    expect(sample(text, 'job_seconds_bucket{kind="w",le="0.005"}')).toBe((W * n) / 4);
    expect(sample(text, 'job_seconds_bucket{kind="w",le="0.015"}')).toBe((W * n) / 2);
    expect(sample(text, 'job_seconds_bucket{kind="w",le="0.025"}')).toBe((3 * W * n) / 4);
    expect(sample(text, 'job_seconds_bucket{kind="w",le="+Inf"}')).toBe(W * n);
    expect(sample(text, 'job_seconds_count{kind="w"}')).toBe(W * n);
    expect(sample(text, 'job_seconds_sum{kind="w"}')).toBeCloseTo((W * n * 0.06) / 4, 6);
    expect(sample(text, 'workers_up')).toBe(10 + W);
    up.dec(3);
    expect(registry.collect().find((m) => m.name === 'workers_up')!.series[0]!.value).toBe(10 + W - 3);
    up.set(1);
    expect(registry.collect().find((m) => m.name === 'workers_up')!.series[0]!.value).toBe(1);
  });

  it('is exact with more threads than lanes (the overflow slots, compare-exchange)', async () => {
    const registry = new Registry({ lanes: 1 });
    new Counter({ name: 'jobs_total', help: 'Jobs done', labelNames: ['kind', 'result'], registers: [registry] });
    new Histogram({ name: 'job_seconds', help: 'Job time', labelNames: ['kind'], buckets: [0.005, 0.015, 0.025], registers: [registry] });
    new Gauge({ name: 'workers_up', help: 'Workers', registers: [registry] });
    const n = 10_000;
    await Promise.all(Array.from({ length: 3 }, (_, id) => runWorker(registry, { task: 'mixed', id, n })));
    const text = await registry.metrics();
    expect(sample(text, 'jobs_total{kind="child",result="ok"}')).toBe(2 * 3 * n);
    expect(sample(text, 'job_seconds_count{kind="w"}')).toBe(3 * n);
    expect(sample(text, 'workers_up')).toBe(3);
  });

  it('binds a definition repeated in another thread to the same metric, and refuses a conflicting one', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'defined_total', help: 'defined in two threads', labelNames: ['t'], registers: [registry] });
    c.inc({ t: 'x' });
    await runWorker(registry, { task: 'define', n: 1000 });
    expect(sample(await registry.metrics(), 'defined_total{t="x"}')).toBe(1001);
    expect(() => new Gauge({ name: 'defined_total', help: 'other', labelNames: ['t'], registers: [registry] })).toThrow(
      expect.objectContaining({ code: 'ERR_RSEQ_METRICS_CONFLICT' }),
    );
    expect(() => new Counter({ name: 'defined_total', help: 'x', labelNames: ['u'], registers: [registry] })).toThrow(/already defined/);
    expect(Registry.from(registry.buffer)).toBe(registry);
    expect(registry.getSingleMetric('defined_total')).toBe(c);
    expect(registry.getSingleMetric('nothing')).toBeUndefined();
  });

  it('bounds the label sets of a metric, in every thread, with a clear error, and keeps the rest working', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'bounded_total', help: 'bounded', labelNames: ['v'], maxSeries: 6, registers: [registry] });
    c.inc({ v: 'main' });
    const results = await Promise.all([0, 1].map((id) => runWorker(registry, { task: 'cardinality', id })));
    const codes = results.flatMap((r) => r.codes as string[]);
    expect(codes.filter((x) => x === 'ok')).toHaveLength(5);
    expect(codes.filter((x) => x === 'ERR_RSEQ_METRICS_CARDINALITY')).toHaveLength(5);
    expect(() => c.inc({ v: 'one-more' })).toThrow(/bounded_total has 6 label sets already \(its maxSeries\)/);
    c.inc({ v: 'main' });
    const series = registry.collect()[0]!.series;
    expect(series).toHaveLength(6);
    expect(series.find((s) => s.labels.v === 'main')!.value).toBe(2);
  });

  it('counts what terminated workers recorded: each add completed is in the total, none twice', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'loop_total', help: 'adds', labelNames: ['who'], registers: [registry] });
    const W = 6;
    const progress = new SharedArrayBuffer(4 * W);
    const workers: Worker[] = [];
    for (let id = 0; id < W; id++) {
      const w = new Worker(WORKER, { workerData: { task: 'loop', id, progress, buffer: registry.buffer, metricsEntry: METRICS_ENTRY } });
      workers.push(w);
      await new Promise((resolve) => w.once('message', resolve));
    }
    // Let them count, reading meanwhile, then terminate them wherever they are.
    for (let k = 0; k < 5; k++) {
      await new Promise((resolve) => setTimeout(resolve, 5 + k * 3));
      expect(registry.collect()[0]!.series[0]!.value).toBeGreaterThan(0);
    }
    await Promise.all(workers.map((w) => w.terminate()));
    const done = new Int32Array(progress).reduce((a, b) => a + b, 0);
    const total = registry.collect()[0]!.series[0]!.value!;
    // An add whose progress store had not run yet may be in the total: at most one per worker.
    expect(total).toBeGreaterThanOrEqual(done);
    expect(total).toBeLessThanOrEqual(done + W);
    // The registry still works from here.
    c.inc({ who: 'w' });
    expect(registry.collect()[0]!.series[0]!.value).toBe(total + 1);
  });

  it('refuses a buffer that is not a registry, or whose header lies', () => {
    expect(() => Registry.from(new ArrayBuffer(64) as unknown as SharedArrayBuffer)).toThrow(TypeError);
    expect(() => Registry.from(new SharedArrayBuffer(1024))).toThrow(expect.objectContaining({ code: 'ERR_RSEQ_CORRUPT' }));
    const good = new Registry({ maxSeries: 8, slots: 64, lanes: 2, maxMetrics: 4, arenaBytes: 4096 });
    for (const [word, value, message] of [
      [1, 99, /layout version 99/],
      [2, 0, /lanes 0 is out of range/],
      [3, 1 << 30, /slots .* out of range/],
      [5, 12, /not a power of two/],
      [6, 8192, /describes .* bytes/],
    ] as const) {
      const copy = new SharedArrayBuffer(good.buffer.byteLength);
      new Uint8Array(copy).set(new Uint8Array(good.buffer));
      new Int32Array(copy)[word] = value;
      expect(() => Registry.from(copy)).toThrow(message);
    }
    // A label set rewritten in the arena: collected, it is refused, not trusted.
    const r = new Registry({ maxSeries: 8, slots: 64, lanes: 2, maxMetrics: 4, arenaBytes: 4096 });
    new Counter({ name: 'a_total', help: 'a', labelNames: ['x'], registers: [r] }).inc({ x: '1' });
    const copy = new SharedArrayBuffer(r.buffer.byteLength);
    const bytes = new Uint8Array(copy);
    bytes.set(new Uint8Array(r.buffer));
    const at = Buffer.from(bytes).indexOf('["1"]');
    expect(at).toBeGreaterThan(0);
    bytes.set(Buffer.from('[1,2]'), at);
    expect(() => Registry.from(copy).collect()).toThrow(/a label set of a_total does not fit its label names/);
  });

  it('checks amounts, names and labels as prom-client does', () => {
    const r = new Registry();
    const c = new Counter({ name: 'c_total', help: 'c', labelNames: ['a'], registers: [r] });
    expect(() => c.inc(-1)).toThrow(/never goes down/);
    expect(() => c.inc({ a: 'x' }, Number.NaN)).toThrow(TypeError);
    expect(() => c.inc({ b: 'x' })).toThrow(/label "b" is not one of its label names \[a\]/);
    expect(() => new Counter({ name: 'bad name', help: 'x', registers: [r] })).toThrow(/invalid metric name/);
    expect(() => new Counter({ name: 'ok_total', help: 'x', registers: [] })).toThrow(/needs registers/);
    expect(() => new Histogram({ name: 'h', help: 'x', labelNames: ['le'], registers: [r] })).toThrow(/le is the bucket label/);
    expect(() => new Histogram({ name: 'h2', help: 'x', buckets: [1, 0.5], registers: [r] })).toThrow(/ascending/);
    const h = new Histogram({ name: 'h3', help: 'x', buckets: [1], registers: [r] });
    expect(() => h.observe(Number.NaN)).toThrow(TypeError);
    expect(() => c.labels('a', 'b')).toThrow(/takes 1 values/);
  });

  it('writes the Prometheus text format and OpenMetrics (by Accept), escaping help and label values', async () => {
    const r = new Registry();
    const c = new Counter({ name: 'req_total', help: 'Requests\\ served\nall', labelNames: ['path', 'code'], registers: [r] });
    c.inc({ path: 'a"b\\c\nd', code: 200 }, 3);
    c.inc({ path: '/x' });
    const g = new Gauge({ name: 'temp', help: 'Temperature', registers: [r] });
    g.set(-1.5);
    expect(r.contentType).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(await r.metrics()).toBe(
      [
        '# HELP req_total Requests\\\\ served\\nall',
        '# TYPE req_total counter',
        'req_total{path="/x"} 1',
        'req_total{path="a\\"b\\\\c\\nd",code="200"} 3',
        '# HELP temp Temperature',
        '# TYPE temp gauge',
        'temp -1.5',
        '',
      ].join('\n'),
    );
    expect(r.exposition('text/plain').contentType).toBe(PROMETHEUS_CONTENT_TYPE);
    const om = r.exposition('application/openmetrics-text;version=1.0.0,text/plain;q=0.5');
    expect(om.contentType).toBe(OPENMETRICS_CONTENT_TYPE);
    expect(om.body.split('\n').slice(0, 4)).toEqual(['# TYPE req counter', '# HELP req Requests\\\\ served\\nall', 'req_total{path="/x"} 1', 'req_total{path="a\\"b\\\\c\\nd",code="200"} 3']);
    expect(om.body.endsWith('# EOF\n')).toBe(true);
  });
});
