'use strict';
// Workers terminated at random points of every operation, their start-up
// included; afterwards every operation must still complete from this (main)
// thread, and what the dead workers did must still add up.
//
//   node fault-run.cjs [entry] [all|tight]
//
// entry: the package's CommonJS entry (default: dist/cjs/src/index.js).
// all:   200 workers running random operations on one PerCpuCounter, one
//        PerCpuBuffer and one PerCpuPool, at most 8 alive at once, each
//        terminated after a random delay (about half during start-up).
// tight: 20 workers, each in a tight loop of drain(), of steals (take on one
//        CPU what was given on another) or of reset(), terminated 0-10 ms after
//        its first time round the loop (a worker that cannot get round its loop
//        once is never terminated: the run hangs, as it should).
//
// FAULT_SEED sets the seed (printed either way). This runs as a child process
// of test/shared/faults.test.ts: a lock left held makes a synchronous spin that
// never ends, which only a parent's deadline can detect. Progress goes to
// stderr (synchronously, so the parent sees where a hang happened); the result
// is one JSON line on stdout. Exit 0 when every invariant holds, else 1.
const fs = require('node:fs');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const W = require('./fault-worker.cjs');

const entry = process.argv[2] || path.join(__dirname, '..', '..', 'dist', 'cjs', 'src', 'index.js');
const runMode = process.argv[3] || 'all';
if (runMode !== 'all' && runMode !== 'tight') throw new Error(`fault-run: unknown mode ${runMode}`);
const WORKER = path.join(__dirname, 'fault-worker.cjs');

const WORKERS = runMode === 'all' ? 200 : 20;
const MAX_ALIVE = runMode === 'all' ? 8 : 2;
/** Share of workers aimed at their start-up (the rest die while they loop over operations). */
const STARTUP_SHARE = runMode === 'all' ? 0.45 : 0;
/** How start-up kills are shared over the phases (boot, require, counter.from, buffer.from, pool.from). */
const STARTUP_AIM = [0.2, 0.3, 0.3, 0.1, 0.1];
/** After 'ready', a worker aimed at its operations lives a uniform 0..OPS_MS more. */
const OPS_MS = runMode === 'all' ? 40 : 10;
const TIGHT_MODES = ['drain', 'steal', 'reset'];
const POOL_SIZE = 64;
const CAPACITY = 64;

const seed = process.env.FAULT_SEED ? Number(process.env.FAULT_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const rand = W.prng(seed);

const started = performance.now();
function progress(line) {
  fs.writeSync(2, `fault-run ${runMode} +${Math.round(performance.now() - started)}ms: ${line}\n`);
}

const { PerCpuCounter, PerCpuBuffer, PerCpuPool, rseq } = require(entry);

const violations = [];
function violation(msg) {
  violations.push(msg);
  progress(`VIOLATION: ${msg}`);
}

async function main() {
  const t0 = performance.now();
  progress(`seed ${seed}, backend ${rseq.backend}, entry ${entry}`);
  const counter = new PerCpuCounter();
  const buffer = new PerCpuBuffer({ recordSize: W.RECORD_SIZE, capacity: CAPACITY });
  const pool = new PerCpuPool({ size: POOL_SIZE });
  const stats32 = new SharedArrayBuffer(WORKERS * W.I_STRIDE * 4);
  const stats64 = new SharedArrayBuffer(WORKERS * W.F_STRIDE * 8);
  const seen = new SharedArrayBuffer(WORKERS * W.MAX_SEQ);
  const owners = new SharedArrayBuffer(POOL_SIZE * 4);
  const si = new Int32Array(stats32);
  const sf = new Float64Array(stats64);
  const ownerOf = new Int32Array(owners);
  const seenCount = new Uint8Array(seen);

  const phaseDeaths = Object.fromEntries(W.PHASES.slice(0, W.READY).map((p) => [p, 0]));
  const opDeaths = Object.fromEntries(W.OPS.map((o) => [o, 0]));
  const workerErrors = [];
  let reclaimed = 0;

  // What a worker was doing when it died: its phase, and the operation it was inside.
  const deathOf = (wid) => ({ phase: Atomics.load(si, wid * W.I_STRIDE + W.I.phase), op: Atomics.load(si, wid * W.I_STRIDE + W.I.op), arg: Atomics.load(si, wid * W.I_STRIDE + W.I.arg) });

  // When each start-up phase begins, in ms after new Worker(), over the workers that got ready:
  // start-up kills are drawn inside one phase's window of these medians.
  const phaseStarts = Array.from({ length: W.READY + 1 }, () => []);
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const phaseStart = (k) => (k === 0 ? 0 : phaseStarts[k].length === 0 ? (100 * k) / W.READY : median(phaseStarts[k]));
  /** A start-up phase to terminate a worker inside, drawn by STARTUP_AIM. */
  const startupTarget = () => {
    let k = 0;
    for (let r = rand(); k < W.READY - 1 && r >= STARTUP_AIM[k]; k++) r -= STARTUP_AIM[k];
    return k;
  };
  /** Resolves once worker wid has begun phase k (or has exited). */
  const phaseReached = async (wid, k, gone) => {
    const at = wid * W.I_STRIDE + W.I.phase;
    for (;;) {
      const now = Atomics.load(si, at);
      if (now >= k || gone()) return;
      const w = Atomics.waitAsync(si, at, now, 200);
      if (w.async) await w.value;
    }
  };

  // Every 10 s, what the workers still alive are doing: a worker stuck below
  // the phase it is aimed at is never terminated, and one that was terminated
  // but has not exited is stuck outside JavaScript. (Silence here means this
  // thread itself is stuck in a synchronous call.)
  const living = new Map();
  const watchdog = setInterval(() => {
    const now = performance.now();
    const list = [...living].map(([wid, l]) => {
      const d = deathOf(wid);
      const where = d.phase < W.READY ? `in ${W.PHASES[d.phase]}` : `in ${W.OPS[d.op]} after ${sf[wid * W.F_STRIDE + W.F.ops]} operations`;
      const fate = l.killedAt === null ? 'not yet terminated' : `terminate() called ${Math.round(now - l.killedAt)} ms ago`;
      return `worker ${wid} (${Math.round(now - l.born)} ms old) ${where}, ${fate}`;
    });
    progress(`waiting for ${list.length} workers: ${list.join('; ')}`);
  }, 10_000).unref();

  await new Promise((resolve) => {
    let next = 0;
    let alive = 0;
    let exited = 0;
    const launch = () => {
      while (alive < MAX_ALIVE && next < WORKERS) start(next++);
      if (exited === WORKERS) resolve();
    };
    const start = (wid) => {
      alive++;
      living.set(wid, { born: performance.now(), killedAt: null });
      const mode = runMode === 'all' ? 'mixed' : TIGHT_MODES[wid % TIGHT_MODES.length];
      // Aimed at a start-up phase k: terminated a random time into k's median
      // length after it begins (boot: after new Worker()). Else a random time
      // into its operations, up to OPS_MS after it is ready.
      const target = rand() < STARTUP_SHARE ? startupTarget() : W.READY;
      const delay = rand() * (target === W.READY ? OPS_MS : Math.max(0, phaseStart(target + 1) - phaseStart(target)));
      const workerSeed = (seed ^ Math.imul(wid + 1, 0x9e3779b1)) >>> 0;
      const born = performance.timeOrigin + performance.now();
      const w = new Worker(WORKER, {
        workerData: { faultWorker: true, entry, wid, workers: WORKERS, mode, seed: workerSeed, stats32, stats64, seen, owners, counter: counter.buffer, buffer: buffer.buffer, pool: pool.buffer },
      });
      let timer = null;
      let gone = false;
      const kill = () => {
        timer = null;
        living.get(wid).killedAt = performance.now();
        void w.terminate();
      };
      if (target < W.READY) {
        void phaseReached(wid, target, () => gone).then(() => {
          if (!gone && timer === null) timer = setTimeout(kill, delay);
        });
      }
      if (runMode === 'tight') progress(`worker ${wid} (${mode}) started`);
      w.on('message', (m) => {
        if (m !== 'ready') return;
        if (runMode === 'tight') progress(`worker ${wid} (${mode}) ready; terminated in ${delay.toFixed(1)} ms`);
        for (let k = 1; k <= W.READY; k++) phaseStarts[k].push(sf[wid * W.F_STRIDE + W.F.phaseAt + k] - born);
        if (timer === null) timer = setTimeout(kill, delay);
      });
      w.on('error', (err) => workerErrors.push(`worker ${wid} (${mode}) threw: ${err && err.stack ? err.stack : err}`));
      w.on('exit', () => {
        gone = true;
        if (timer !== null) clearTimeout(timer);
        const d = deathOf(wid);
        if (d.phase < W.READY) phaseDeaths[W.PHASES[d.phase]]++;
        else opDeaths[W.OPS[d.op]]++;
        // Give back what the dead worker owned, while the others still run.
        const owned = [];
        for (let i = 0; i < POOL_SIZE; i++) if (Atomics.load(ownerOf, i) === wid + 1) owned.push(i);
        if (owned.length > 0) progress(`pool.give: ${owned.length} indices dead worker ${wid} owned`);
        for (const i of owned) {
          Atomics.store(ownerOf, i, 0);
          pool.give(i);
          reclaimed++;
        }
        living.delete(wid);
        alive--;
        exited++;
        if (runMode === 'tight' || exited % 20 === 0 || exited === WORKERS) progress(`${exited}/${WORKERS} workers terminated and exited`);
        launch();
      });
    };
    launch();
  });
  clearInterval(watchdog);
  const workersMs = performance.now() - t0;
  for (const e of workerErrors) violation(e);

  // Totals over the dead workers, and the bounds their deaths allow.
  const total = (f) => {
    let s = 0;
    for (let wid = 0; wid < WORKERS; wid++) s += sf[wid * W.F_STRIDE + f];
    return s;
  };
  const deaths = Array.from({ length: WORKERS }, (_, wid) => deathOf(wid));
  const diedIn = (op) => deaths.filter((d) => d.phase >= W.READY && d.op === W.OP[op]);
  const totals = Object.fromEntries(
    Object.entries(W.F)
      .filter(([name]) => name !== 'phaseAt')
      .map(([name, f]) => [name, total(f)]),
  );
  if (totals.violations !== 0) violation(`pool: ${totals.violations} indices were taken while another worker owned them`);
  if (totals.bad !== 0) violation(`buffer: workers saw ${totals.bad} malformed records`);
  if (totals.dups !== 0) violation(`buffer: workers saw ${totals.dups} records twice`);

  // Every operation once more from this thread. A hang here is what the parent's deadline catches.
  const step = (name, f) => {
    progress(`final: ${name}`);
    return f();
  };

  // --- counter
  const v0 = step('counter.valueBigInt', () => counter.valueBigInt());
  const n0 = step('counter.value', () => counter.value());
  const per0 = step('counter.perCpu', () => counter.perCpu());
  const r0 = step('counter.reset', () => counter.reset());
  if (BigInt(n0) !== v0) violation(`counter: value() ${n0} but valueBigInt() ${v0} with no worker alive`);
  if (!Array.isArray(per0) || per0.length === 0 || per0.some((x) => typeof x !== 'bigint')) violation(`counter: perCpu() gave ${String(per0)}`);
  if (r0 !== v0) violation(`counter: reset() took ${r0}, valueBigInt() just said ${v0}, with no worker alive`);
  // perCpu() holds what was added on the per-CPU paths: add on one ('atomics'), then on the default.
  const perCpuPath = step('counter.from', () => PerCpuCounter.from(counter.buffer, { path: 'atomics' }));
  step('counter.add', () => {
    perCpuPath.add();
    perCpuPath.add(65536);
    perCpuPath.add(100003);
  });
  const perCpuAdded = 1 + 65536 + 100003;
  const per1 = step('counter.perCpu', () => counter.perCpu());
  step('counter.add', () => {
    counter.add();
    counter.add(1);
    counter.add(65536);
    counter.add(100003);
  });
  const added = perCpuAdded + 1 + 1 + 65536 + 100003;
  const v1 = step('counter.value', () => counter.value());
  const b1 = step('counter.valueBigInt', () => counter.valueBigInt());
  const r1 = step('counter.reset', () => counter.reset());
  const v2 = step('counter.value', () => counter.value());
  if (per1.reduce((a, b) => a + b, 0n) !== BigInt(perCpuAdded)) violation(`counter: perCpu() sums to ${per1.reduce((a, b) => a + b, 0n)}, not the ${perCpuAdded} added on path 'atomics'`);
  if (v1 !== added || b1 !== BigInt(added)) violation(`counter: after a reset and adds of ${added}, value() ${v1}, valueBigInt() ${b1}`);
  if (r1 !== BigInt(added) || v2 !== 0) violation(`counter: the last reset() took ${r1} (want ${added}), and left ${v2}`);
  // What the workers' resets and this thread's first reset took is what they
  // added: less only where a reset died with what it took, more only by the
  // amounts of adds that died before they were recorded.
  const addsRecorded = BigInt(totals.added);
  const takenTotal = BigInt(totals.taken) + r0;
  const inFlightAdds = diedIn('add').reduce((s, d) => s + BigInt(d.arg), 0n);
  const deadInReset = diedIn('reset').length;
  if (takenTotal > addsRecorded + inFlightAdds) violation(`counter: resets took ${takenTotal}, more than the ${addsRecorded} added plus ${inFlightAdds} in adds that died`);
  if (deadInReset === 0 && takenTotal < addsRecorded) violation(`counter: resets took ${takenTotal}, less than the ${addsRecorded} added (no reset died)`);

  // --- buffer
  const size0 = step('buffer.size', () => buffer.size());
  const finalRecords = [];
  step('buffer.pop', () => {
    for (let r = buffer.pop(); r !== null; r = buffer.pop()) finalRecords.push(r);
  });
  const popped = finalRecords.length;
  step('buffer.drain', () => finalRecords.push(...buffer.drain()));
  const size1 = step('buffer.size', () => buffer.size());
  if (finalRecords.length !== size0 || size1 !== 0) violation(`buffer: size() said ${size0}, pop and drain took ${finalRecords.length}, and size() then says ${size1}`);
  for (const r of finalRecords) {
    const id = W.decode(r, WORKERS);
    if (id === null) violation(`buffer: a malformed record ${Buffer.from(r).toString('hex')}`);
    else if (Atomics.add(seenCount, id.wid * W.MAX_SEQ + id.seq, 1) !== 0) violation(`buffer: record (${id.wid}, ${id.seq}) was taken twice`);
  }
  // Every record seen was pushed (the one a worker died pushing included), and
  // none is missing but those a worker died with (inside pop or drain).
  let missing = 0;
  for (let wid = 0; wid < WORKERS; wid++) {
    const pushed = sf[wid * W.F_STRIDE + W.F.pushed];
    const d = deaths[wid];
    const inFlight = d.phase >= W.READY && d.op === W.OP.push ? d.arg : -1;
    for (let seq = 0; seq < W.MAX_SEQ; seq++) {
      const c = seenCount[wid * W.MAX_SEQ + seq];
      if (c > 1) violation(`buffer: record (${wid}, ${seq}) was taken ${c} times`);
      if (seq < pushed) {
        if (c === 0) missing++;
      } else if (c !== 0 && seq !== inFlight) {
        violation(`buffer: record (${wid}, ${seq}) was taken but never pushed (worker ${wid} pushed ${pushed})`);
      }
    }
  }
  const mayMiss = diedIn('pop').length + diedIn('drain').length * (Math.max(...rseq.possibleCpus()) + 1) * CAPACITY;
  if (missing > mayMiss) violation(`buffer: ${missing} pushed records were never taken; dead pops and drains explain at most ${mayMiss}`);
  step('buffer.push', () => {
    const rec = new Uint8Array(W.RECORD_SIZE);
    for (let k = 0; k < 3; k++) {
      rec.fill(0xa0 + k);
      buffer.push(rec);
    }
  });
  const top = step('buffer.pop', () => buffer.pop());
  const size2 = step('buffer.size', () => buffer.size());
  const rest = step('buffer.drain', () => buffer.drain());
  // This thread may have moved between CPUs: pop() takes the top of whichever stack it is on now.
  const back = [top, ...rest].map((r) => (r === null ? 'null' : Buffer.from(r).toString('hex')));
  const want = [0xa0, 0xa1, 0xa2].map((b) => Buffer.alloc(W.RECORD_SIZE, b).toString('hex'));
  if (top === null || size2 !== 2 || back.length !== 3 || [...back].sort().join() !== want.join()) {
    violation(`buffer: pushed three records, then pop() gave ${back[0]}, size() ${size2}, drain() ${rest.length} records: ${back.slice(1).join(', ')}`);
  }

  // --- pool
  const takeAll = (name) =>
    step(name, () => {
      const got = [];
      for (let k = 0; k <= POOL_SIZE; k++) {
        const i = pool.take();
        if (i === null) return got;
        got.push(i);
      }
      violation(`pool: take() gave more than its ${POOL_SIZE} indices`);
      return got;
    });
  const first = takeAll('pool.take until null');
  const firstSet = new Set(first);
  if (firstSet.size !== first.length) violation(`pool: take() gave an index twice: ${first.join(',')}`);
  for (const i of first) {
    if (!Number.isInteger(i) || i < 0 || i >= POOL_SIZE) violation(`pool: take() gave ${i}, outside [0, ${POOL_SIZE})`);
    else if (Atomics.load(ownerOf, i) !== 0) violation(`pool: take() gave ${i}, which worker ${Atomics.load(ownerOf, i) - 1} still owns`);
  }
  // Indices are lost only where a worker died between take() and owning what it
  // returned, or between giving up ownership and give() (the main thread gave
  // back everything dead workers owned).
  const mayLose = diedIn('take').length + diedIn('give').length;
  if (first.length < POOL_SIZE - mayLose) violation(`pool: ${first.length} indices left of ${POOL_SIZE}; dead takes and gives explain the loss of at most ${mayLose}`);
  step('pool.give', () => {
    for (const i of first) pool.give(i);
  });
  const second = takeAll('pool.take until null (again)');
  const secondSet = new Set(second);
  if (second.length !== first.length || secondSet.size !== firstSet.size || second.some((i) => !firstSet.has(i))) {
    violation(`pool: gave back ${first.length} indices, then take() until null gave ${second.length} (${secondSet.size} distinct)`);
  }
  step('pool.give', () => {
    for (const i of second) pool.give(i);
  });
  progress('final: done');

  const startupDeaths = Object.values(phaseDeaths).reduce((a, b) => a + b, 0);
  const result = {
    mode: runMode,
    seed,
    backend: rseq.backend,
    workers: WORKERS,
    maxAlive: MAX_ALIVE,
    startupDeaths,
    opDeaths: WORKERS - startupDeaths,
    phaseDeaths,
    opDeathsByOp: opDeaths,
    phaseStartsMs: Object.fromEntries(W.PHASES.map((p, k) => [p, Math.round(phaseStart(k))])),
    totals,
    counter: { addsRecorded: addsRecorded.toString(), takenTotal: takenTotal.toString(), inFlightAdds: inFlightAdds.toString(), deadInReset },
    buffer: { finalPopped: popped, finalDrained: finalRecords.length - popped, missing, mayMiss },
    pool: { available: first.length, lost: POOL_SIZE - first.length, mayLose, reclaimed },
    workersMs: Math.round(workersMs),
    totalMs: Math.round(performance.now() - t0),
    violations,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exitCode = violations.length === 0 ? 0 : 1;
}

main().catch((err) => {
  progress(`failed: ${err && err.stack ? err.stack : err}`);
  process.exitCode = 1;
});
