'use strict';
// The checks after sections 3 to 7 of bench/run.cjs: every add the workers
// made landed in its counter or slot, the lock stack is empty after its
// push + pop pairs, and each pool gives every index exactly once when taken
// until empty. A failed check fails the run.
const contenders = require('../lib/contenders.cjs');

module.exports = function checks({ report, results, ctx, want, defaultPath, mainAdds }, totals) {
  const c = ctx.counters;
  const add = (name, got, wanted) => results.checks.push({ name, got: String(got), want: String(wanted), ok: String(got) === String(wanted) });
  // Main-thread adds (section 2) and worker adds both land in these counters:
  // compare the worker totals with what the main thread did not add.
  if (totals['counter-atomics'] !== undefined) {
    add('shared BigInt64 slot = adds made', Atomics.load(ctx.shared.b64, 0), BigInt(totals['shared-bigint64']));
    add('shared Int32 slot = adds made (mod 2^32)', Atomics.load(ctx.shared.i32, 0), (totals['shared-int32'] | 0));
    const padded = ctx.shared.padded;
    let sum = 0n;
    for (let i = 0; i < 9; i++) sum += Atomics.load(padded, i * 8);
    add('padded slots = adds made', sum, BigInt(totals['padded-slot']));
    let sum32 = 0;
    for (let i = 0; i < 9; i++) sum32 += Atomics.load(ctx.shared.padded32, i * 16);
    add('padded Int32 slots = adds made (mod 2^32)', BigInt.asUintN(32, BigInt(sum32)), BigInt.asUintN(32, BigInt(totals['padded-slot-int32'])));
    // Lines 0-7 only: line 8 is the main thread's (section 2).
    let plain = 0;
    for (let i = 0; i < 8; i++) plain += ctx.shared.plainF64[i * 8];
    add('padded plain Float64 slots of the workers = adds made', plain, totals['owned-f64']);
    add(`PerCpuCounter default (path '${defaultPath}') = adds made`, c.default.valueBigInt() - (mainAdds.default ?? 0n), BigInt(totals['counter-default']));
    if (c.lane) add("PerCpuCounter 'lane' = adds made", c.lane.valueBigInt() - (mainAdds.lane ?? 0n), BigInt(totals['counter-lane']));
    add("PerCpuCounter 'atomics' = adds made", c.atomics.valueBigInt() - (mainAdds.atomics ?? 0n), BigInt(totals['counter-atomics']));
    add("PerCpuCounter 'rseq' = adds made", c.rseq.valueBigInt() - (mainAdds.rseq ?? 0n), BigInt(totals['counter-rseq']));
  }
  if (totals['lock-stack'] !== undefined || want('latency')) {
    add('lock stack empty after push/pop pairs', ctx.buffers.locked.size(), 0);
    // Not a check: a thread moved between its push and its pop pops another CPU's stack, and finds it empty at times.
    const left = ctx.buffers.percpu.size();
    (results.sections.buffer || results.sections.latency).recordsLeft = left;
    report.note(`PerCpuBuffer records left after the push + pop pairs (a push whose pop ran on another CPU and found that CPU's stack empty): ${left} of ${contenders.BUFFER_CAPACITY} per CPU.`);
  }
  if (totals['lock-pool'] !== undefined) {
    add('PerCpuPool: after the runs every index can be taken exactly once', poolExact(ctx.pools.percpu, contenders.POOL_SIZE), poolExact.want(contenders.POOL_SIZE));
    add('lock free list: after the runs every index can be taken exactly once', poolExact(ctx.pools.locked, contenders.POOL_SIZE), poolExact.want(contenders.POOL_SIZE));
  }
};

/**
 * Takes from the pool until it is empty (or past size + 1 takes), gives every
 * index back once, and says what it took: all of 0..size-1 exactly once is
 * `${size} taken, 0 twice, 0 out of range, then null`.
 */
function poolExact(p, size) {
  const seen = new Uint8Array(size);
  const first = [];
  let taken = 0;
  let twice = 0;
  let outside = 0;
  let last = null;
  while (taken <= size) {
    last = p.take();
    if (last === null) break;
    taken++;
    if (!(Number.isInteger(last) && last >= 0 && last < size)) outside++;
    else if (seen[last]++) twice++;
    else first.push(last);
  }
  for (const i of first) p.give(i);
  return `${taken} taken, ${twice} twice, ${outside} out of range, then ${last === null ? 'null' : 'more'}`;
}
poolExact.want = (size) => `${size} taken, 0 twice, 0 out of range, then null`;
