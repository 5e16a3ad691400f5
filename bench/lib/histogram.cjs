'use strict';
// Latency histograms for bench/run.cjs's latency section (bench/run/latency.cjs).
//
// A worker times every operation with process.hrtime.bigint() and counts the
// duration (ns) in a log-linear histogram: one bucket per ns below 64 ns, then
// 32 buckets per power of two (each at most 1/32 = 3 % wide) up to 2^31 ns
// (2.1 s; longer durations count in the last bucket). The histogram is a
// Float64Array region of a SharedArrayBuffer the worker owns
// (worker-pool.cjs), so no sample is kept or copied: a run's distribution is
// the sum of its workers'.

const LINEAR = 64;
const SUB_BITS = 5;
const SUB = 1 << SUB_BITS;
const MAX_EXP = 30;
const BUCKETS = LINEAR + (MAX_EXP - 5) * SUB; // 864

/**
 * JavaScript statements that count duration `d` (a non-negative integer
 * number of ns, a `let`) in histogram `h`: inlined into the timed loop
 * (micro.cjs compileLatency), so that no call is in the timed path's
 * bookkeeping.
 */
const COUNT = `if (d < ${LINEAR}) h[d]++;
else {
  if (d > 0x7fffffff) d = 0x7fffffff;
  const e = 31 - Math.clz32(d);
  h[${LINEAR} + (e - 6) * ${SUB} + ((d >>> (e - ${SUB_BITS})) & ${SUB - 1})]++;
}`;

/** The same bucket as COUNT, for tests of this file. */
function bucketOf(d) {
  if (d < LINEAR) return d;
  if (d > 0x7fffffff) d = 0x7fffffff;
  const e = 31 - Math.clz32(d);
  return LINEAR + (e - 6) * SUB + ((d >>> (e - SUB_BITS)) & (SUB - 1));
}

/** [low, high) ns of bucket b. */
function bucketRange(b) {
  if (b < LINEAR) return [b, b + 1];
  const e = 6 + Math.floor((b - LINEAR) / SUB);
  const m = (b - LINEAR) % SUB;
  const width = 2 ** (e - SUB_BITS);
  const low = (SUB + m) * width;
  return [low, low + width];
}

/** A histogram's count, the q-quantile (0 < q <= 1) in ns (its bucket's middle), and the largest bucket's top. */
function quantile(h, q) {
  let total = 0;
  for (let b = 0; b < h.length; b++) total += h[b];
  if (total === 0) return NaN;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let b = 0; b < h.length; b++) {
    seen += h[b];
    if (seen >= rank) {
      const [lo, hi] = bucketRange(b);
      return (lo + hi) / 2;
    }
  }
  return NaN;
}

/** { count, p50, p99, p999, p9999, max } of a histogram, in ns (max: the top of the highest bucket with a count). */
function describe(h) {
  let count = 0;
  let top = -1;
  for (let b = 0; b < h.length; b++) {
    count += h[b];
    if (h[b] > 0) top = b;
  }
  return {
    count,
    p50: quantile(h, 0.5),
    p99: quantile(h, 0.99),
    p999: quantile(h, 0.999),
    p9999: quantile(h, 0.9999),
    max: top < 0 ? NaN : bucketRange(top)[1],
  };
}

/** Adds histogram b into a (same length). */
function addInto(a, b) {
  for (let i = 0; i < a.length; i++) a[i] += b[i];
  return a;
}

module.exports = { BUCKETS, COUNT, bucketOf, bucketRange, quantile, describe, addInto };
