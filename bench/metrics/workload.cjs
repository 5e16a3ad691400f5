'use strict';
// The workload of bench/metrics.cjs, the same for every contender and thread:
// one labelled counter and one labelled histogram, as a web server's
// per-request instrumentation (prom-client's README example), 8 label sets
// (4 routes x 2 codes) and a fixed list of 1024 durations.
//
// The durations are multiples of 1/1024 s (0 to 2 s), so every sum of them
// below 2^43 is exact in a double: the totals of a scrape can be compared
// exactly whatever order the workers' observations were added in.

const COUNTER = { name: 'http_requests_total', help: 'Requests served', labelNames: ['route', 'code'] };
const HISTOGRAM = {
  name: 'http_request_duration_seconds',
  help: 'Request duration in seconds',
  labelNames: ['route', 'code'],
  buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1],
};
const ROUTES = ['/a', '/b', '/c', '/d'];
const CODES = ['200', '500'];

/** The 8 label objects, made once: every contender gets the same objects. */
function labelSets() {
  const out = [];
  for (const route of ROUTES) for (const code of CODES) out.push({ route, code });
  return out;
}

/**
 * 1024 durations in seconds, multiples of 1/1024, spread over every bucket
 * (a fixed xorshift sequence; about half below 0.1 s).
 */
function durations() {
  const out = new Float64Array(1024);
  let x = 0x9e3779b9;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const u = (x >>> 0) / 2 ** 32;
    // u^3 skews toward short requests; 0..2048 / 1024 s.
    out[i] = Math.floor(u * u * u * 2048) / 1024;
  }
  return out;
}

/**
 * Request i of a thread: label set L[i & 7], duration V[(i * 7 + offset) & 1023]
 * (offset makes threads differ). `record` makes `count` requests on a
 * counter and a histogram with prom-client's signatures (inc(labels),
 * observe(labels, v)).
 */
function record(counter, histogram, count, offset = 0) {
  const L = labelSets();
  const V = durations();
  for (let i = 0; i < count; i++) {
    const l = L[i & 7];
    counter.inc(l);
    histogram.observe(l, V[(i * 7 + offset) & 1023]);
  }
}

/** What `threads` threads of `record(.., count, offset = thread index)` add up to: per label set, requests, sum, and bucket counts (cumulative, then +Inf). */
function expected(threads, count) {
  const L = labelSets();
  const V = durations();
  const B = HISTOGRAM.buckets;
  const out = L.map((labels) => ({ labels, count: 0, sum: 0, buckets: new Array(B.length + 1).fill(0) }));
  for (let t = 0; t < threads; t++) {
    for (let i = 0; i < count; i++) {
      const s = out[i & 7];
      const v = V[(i * 7 + t) & 1023];
      s.count++;
      s.sum += v;
      for (let b = 0; b < B.length; b++) if (v <= B[b]) s.buckets[b]++;
      s.buckets[B.length]++;
    }
  }
  return out;
}

module.exports = { COUNTER, HISTOGRAM, ROUTES, CODES, labelSets, durations, record, expected };

/**
 * The samples of a text exposition (Prometheus 0.0.4) as a Map from
 * `name{label="value",...}` (labels sorted by name) to the number.
 */
function parseExposition(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = [];
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let l;
    while ((l = re.exec(m[2] || '')) !== null) labels.push(`${l[1]}="${l[2]}"`);
    labels.sort();
    const v = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.set(`${m[1]}{${labels.join(',')}}`, v);
  }
  return out;
}

/** The samples `threads` x `count` requests must give in an exposition (same keys as parseExposition). */
function expectedSamples(threads, count) {
  const out = new Map();
  const key = (name, labels) => `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',')}}`;
  const B = HISTOGRAM.buckets;
  for (const s of expected(threads, count)) {
    out.set(key(COUNTER.name, s.labels), s.count);
    for (let b = 0; b <= B.length; b++) out.set(key(`${HISTOGRAM.name}_bucket`, { ...s.labels, le: b < B.length ? String(B[b]) : '+Inf' }), s.buckets[b]);
    out.set(key(`${HISTOGRAM.name}_sum`, s.labels), s.sum);
    out.set(key(`${HISTOGRAM.name}_count`, s.labels), s.count);
  }
  return out;
}

/** null when every expected sample is in the exposition with its value, else the first difference. */
function compareExposition(text, threads, count) {
  const got = parseExposition(text);
  for (const [k, v] of expectedSamples(threads, count)) {
    if (!got.has(k)) return `${k} missing`;
    if (got.get(k) !== v) return `${k} = ${got.get(k)}, want ${v}`;
  }
  return null;
}

module.exports.parseExposition = parseExposition;
module.exports.expectedSamples = expectedSamples;
module.exports.compareExposition = compareExposition;
