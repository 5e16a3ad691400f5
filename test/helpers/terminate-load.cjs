'use strict';
// worker.terminate() while a worker loads the native backend or makes its first
// calls into it (the issue: "FATAL ERROR: Error::ThrowAsJavaScriptException
// napi_throw", SIGABRT). Starts COUNT workers, CONCURRENCY at a time; each
// requires the package and calls into the addon (the first use loads it), and
// is terminated after a delay of 0 to MAX_DELAY ms from a seeded PRNG, counted
// from its 'online' event, so that terminations land in the require, in the
// addon's Init and in the first calls. Every call into the addon must survive
// an env that is shutting down: the process exits 0 and prints one JSON line.
//
//   node terminate-load.cjs ENTRY [COUNT=60] [CONCURRENCY=2] [SEED=1] [MAX_DELAY=30]
const { Worker } = require('node:worker_threads');

const [entry, countArg = '60', concurrencyArg = '2', seedArg = '1', maxDelayArg = '30'] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node terminate-load.cjs ENTRY [COUNT] [CONCURRENCY] [SEED] [MAX_DELAY_MS]');
  process.exit(2);
}
const count = Number(countArg);
const concurrency = Number(concurrencyArg);
const maxDelay = Number(maxDelayArg);

const { prng } = require('./prng.cjs');
const random = prng(Number(seedArg));

// The main thread makes the counter whose buffer the workers adopt (so it
// loads the addon too, before any worker does).
const { PerCpuCounter, rseq } = require(entry);
if (rseq.backend !== 'native') {
  console.error(`terminate-load: the backend is ${rseq.backend} (${rseq.fallbackReason}), not native`);
  process.exit(1);
}
const counter = new PerCpuCounter({ path: 'rseq' });

// Worker i starts with FIRST[i % FIRST.length] (which loads the addon) and then
// goes through the non-hot calls, so that a termination can land in any of them.
const body = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { rseq, PerCpuCounter } = require(workerData.entry);
  const first = workerData.first;
  if (first === 'counter') PerCpuCounter.from(workerData.buffer, { path: 'rseq' }).add(1);
  else if (first === 'probe') rseq.probe();
  else if (first === 'area') rseq.area().cpuId;
  else rseq.registration();
  parentPort.postMessage('loaded');
  const calls = [
    () => rseq.probe(),
    () => rseq.area().cpuId,
    () => rseq.auxv(),
    () => rseq.registration(),
    () => rseq.getAffinity(),
    () => rseq.setAffinity(rseq.getAffinity()),
    () => rseq.possibleCpus(),
    () => rseq.debugCounts(),
    () => rseq.opCounts(),
    () => rseq.schedGetcpu(),
    () => PerCpuCounter.from(workerData.buffer, { path: 'rseq' }).add(1),
  ];
  for (let i = 0; i < 200; i++) calls[i % calls.length]();
  parentPort.postMessage('done');
`;
const FIRST = ['counter', 'probe', 'area', 'registration'];

function runOne(i) {
  return new Promise((resolve, reject) => {
    const delay = random() * maxDelay;
    const w = new Worker(body, { eval: true, workerData: { entry, first: FIRST[i % FIRST.length], buffer: counter.buffer } });
    let state = 'starting';
    let timer = null;
    w.on('message', (m) => {
      state = m;
    });
    w.once('online', () => {
      if (state === 'starting') state = 'online';
      timer = setTimeout(() => {
        const at = state;
        w.terminate().then(() => resolve(at), reject);
      }, delay);
    });
    w.once('error', (err) => {
      // A worker may fail only by being terminated; any other error is a failure.
      clearTimeout(timer);
      reject(new Error(`worker ${i}: ${err && err.stack ? err.stack : err}`));
    });
    w.once('exit', (code) => {
      if (timer === null) resolve(`exited before online (${code})`);
    });
  });
}

async function main() {
  // Where each worker was when terminate() was called: 'online' (before its
  // first call returned: in the require, the addon's Init or that call),
  // 'loaded' (in the calls after it), 'done' (finished).
  const at = {};
  let next = 0;
  async function lane() {
    while (next < count) {
      const i = next++;
      const where = await runOne(i);
      at[where] = (at[where] ?? 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  process.stdout.write(JSON.stringify({ workers: count, terminatedAt: at, counter: counter.value() }) + '\n');
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
