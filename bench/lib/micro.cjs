'use strict';
// Single-thread micro-benchmarks, alternating contenders.
//
// A contender is { id, label, setup, body }: `setup` is JavaScript run once
// before the loop (it reads what it needs from `ctx` into constants), `body`
// one operation. Each contender is compiled into its own function with
// new Function, so every loop has its own call sites and type feedback: V8
// optimises each one as if it were the only code in the program, and one
// contender's shapes never make another's call sites polymorphic. `sink`
// collects results so that no read can be dropped as dead code.

const { summary } = require('./stats.cjs');
const { COUNT } = require('./histogram.cjs');

function compileLoop(c) {
  const src = `"use strict";
${c.setup || ''}
let sink = 0;
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  ${c.body}
}
const t1 = process.hrtime.bigint();
ctx.sink = (ctx.sink | 0) + (typeof sink === 'number' ? sink | 0 : 1);
return Number(t1 - t0);
//# sourceURL=bench-loop-${c.id}.js`;
  return new Function('ctx', 'n', src);
}

/**
 * The same body as a loop that runs until stop[0] is non-zero, checking it
 * every `batch` operations; returns the operations done (worker threads).
 *
 * With `heldCtx`, setup runs once, now, and the loop is a closure over its
 * constants, as code holds a module's top-level `const counter = ...`: V8 may
 * then treat those objects as constants and fold loads of their fields that
 * never change after construction. Without it, setup runs at every call and
 * its constants are the loop's locals.
 */
function compileTimed(c, batch, heldCtx) {
  const loop = `let sink = 0;
let ops = 0;
while (Atomics.load(stop, 0) === 0) {
  for (let i = 0; i < ${batch}; i++) {
    ${c.body}
  }
  ops += ${batch};
}
ctx.sink = (ctx.sink | 0) + (typeof sink === 'number' ? sink | 0 : 1);
return ops;`;
  if (heldCtx) {
    const make = new Function('ctx', `"use strict";
${c.setup || ''}
return function timed(ctx, stop) {
${loop}
};
//# sourceURL=bench-timed-held-${c.id}.js`);
    return make(heldCtx);
  }
  return new Function('ctx', 'stop', `"use strict";
${c.setup || ''}
${loop}
//# sourceURL=bench-timed-${c.id}.js`);
}

/**
 * The body in a loop like compileTimed's, but each operation timed on its
 * own with process.hrtime.bigint() and counted in histogram `h` (a
 * Float64Array, histogram.cjs). Returns the operations done. The two clock
 * reads (a vDSO call and a BigInt each) are in every figure, for every
 * contender alike; a contender with an empty body measures them.
 */
function compileLatency(c, batch) {
  return new Function('ctx', 'stop', 'h', `"use strict";
${c.setup || ''}
let sink = 0;
let ops = 0;
while (Atomics.load(stop, 0) === 0) {
  for (let i = 0; i < ${batch}; i++) {
    const t0 = process.hrtime.bigint();
    ${c.body}
    let d = Number(process.hrtime.bigint() - t0);
    ${COUNT}
  }
  ops += ${batch};
}
ctx.sink = (ctx.sink | 0) + (typeof sink === 'number' ? sink | 0 : 1);
return ops;
//# sourceURL=bench-latency-${c.id}.js`);
}

/**
 * Iterations for one sample of about targetMs: grows n from 1000 until a run
 * takes 1/4 of the target (this is also the JIT warm-up), then scales.
 */
function calibrate(fn, ctx, targetMs) {
  let n = 1000;
  const quarter = targetMs * 1e6 * 0.25;
  for (;;) {
    const ns = fn(ctx, n);
    if (ns >= quarter || n >= 2 ** 30) {
      return Math.max(1000, Math.round((n * targetMs * 1e6) / Math.max(ns, 1)));
    }
    n *= ns < quarter / 16 ? 8 : 2;
  }
}

/**
 * Runs every contender `rounds` times, one sample each per round, in an order
 * that rotates every round. Returns { [id]: { n, nsPerOp: summary } } and the
 * per-round samples in the same order (for paired ratios).
 */
function runAlternating(contenders, ctx, { rounds, targetMs, warmups = 1 }) {
  const fns = contenders.map((c) => c.loop ?? compileLoop(c));
  const ns = contenders.map((c, i) => {
    const n = calibrate(fns[i], ctx, targetMs);
    for (let w = 0; w < warmups; w++) fns[i](ctx, n);
    return n;
  });
  const samples = contenders.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const i = (k + r) % contenders.length;
      samples[i].push(fns[i](ctx, ns[i]) / ns[i]);
    }
  }
  const out = {};
  contenders.forEach((c, i) => {
    out[c.id] = { label: c.label, iterations: ns[i], nsPerOp: summary(samples[i]) };
  });
  return out;
}

module.exports = { compileLoop, compileTimed, compileLatency, calibrate, runAlternating };
