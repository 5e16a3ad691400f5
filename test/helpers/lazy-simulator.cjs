'use strict';
// Loads the compiled package (argv[2]: dist/cjs/src/index.js, or the ESM entry
// when argv[3] is `esm`), then counts on one PerCpuCounter from this thread and
// two workers. Prints JSON: the backend, which modules of dist/cjs/fallback/
// were loaded after the import and after the use, the worker_threads
// environment data keys set, the counter's value and what it must be; each
// worker reports the same about itself.
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const wt = require('node:worker_threads');

const ADDS = 20000;
const WORKERS = 2;

// Every worker_threads environment data key set in this isolate.
const envKeys = [];
const setEnvironmentData = wt.setEnvironmentData;
wt.setEnvironmentData = function (key, value) {
  envKeys.push(String(key));
  return setEnvironmentData.call(this, key, value);
};

const entry = wt.isMainThread ? process.argv[2] : wt.workerData.entry;
const fallbackDir = path.join(path.dirname(entry), '..', 'fallback') + path.sep;
/** Modules of dist/cjs/fallback/ this isolate loaded, relative to that folder. */
const fallbackLoaded = () =>
  Object.keys(require.cache)
    .filter((f) => f.startsWith(fallbackDir))
    .map((f) => path.relative(fallbackDir, f))
    .sort();

async function load(esm) {
  if (!esm) return require(entry);
  const mjs = path.join(path.dirname(entry), '..', '..', 'esm', 'index.mjs');
  return import(pathToFileURL(mjs).href);
}

async function main() {
  const esm = process.argv[3] === 'esm';
  const { PerCpuCounter, rseq } = await load(esm);
  const afterImport = fallbackLoaded();
  const counter = new PerCpuCounter();
  for (let i = 0; i < ADDS; i++) counter.add();
  const afterUse = fallbackLoaded();
  const workers = await Promise.all(
    Array.from({ length: WORKERS }, () => {
      const w = new wt.Worker(__filename, { workerData: { entry, buffer: counter.buffer } });
      return new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
    }),
  );
  console.log(
    JSON.stringify({
      backend: rseq.backend,
      afterImport,
      afterUse,
      envKeys,
      value: counter.value(),
      expected: ADDS * (WORKERS + 1),
      workers,
    }),
  );
}

if (wt.isMainThread) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  const { PerCpuCounter, rseq } = require(entry);
  const counter = PerCpuCounter.from(wt.workerData.buffer);
  for (let i = 0; i < ADDS; i++) counter.add();
  wt.parentPort.postMessage({ backend: rseq.backend, fallback: fallbackLoaded(), envKeys });
}
