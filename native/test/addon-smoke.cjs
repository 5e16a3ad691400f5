#!/usr/bin/env node
'use strict';
// Smoke test of the addon's per-CPU bindings (build/Release/rseq.node):
// every new export is called once on its success path and on its main error
// paths, and the memory afterwards is checked. Plain node:assert, no runner:
//   node native/test/addon-smoke.cjs [path/to/rseq.node]
// Prints "addon-smoke: N passed, 0 failed" and exits non-zero on a failure.
const assert = require('node:assert/strict');
const path = require('node:path');

const addonPath = path.resolve(process.argv[2] || path.join(__dirname, '..', '..', 'build', 'Release', 'rseq.node'));
const b = require(addonPath);

const COMMITTED = 0;
const COMPARE_FAILED = 1;
const ABORTED = 2;
const MOVED = 3;
const BAD_INDEX = 4;

let passed = 0;
let failed = 0;
function check(name, fn) {
  try {
    fn();
    passed++;
  } catch (e) {
    failed++;
    console.error(`not ok - ${name}\n${e && e.stack ? e.stack : e}`);
  }
}

// Retries while the kernel aborts or the thread moved (pinned, this is rare).
// `pop`: the result is opListPop's (an index, or minus a status).
function attempt(mode, call, pop = false) {
  for (let i = 0; i < 1000; i++) {
    const id = b.currentId(mode);
    const r = call(id);
    const status = pop ? (r < 0 ? -r : COMMITTED) : r;
    if (status !== ABORTED && status !== MOVED) return r;
  }
  throw new Error('1000 attempts aborted or moved');
}

// Unregistered first: the operations refuse to run.
check('not registered', () => {
  const w = new BigInt64Array(4);
  assert.throws(() => b.opAdd(0, 0, w, 0, 1), { code: 'ERR_RSEQ_NOT_REGISTERED' });
  assert.throws(() => b.currentId(0), { code: 'ERR_RSEQ_NOT_REGISTERED' });
  assert.deepEqual(w, new BigInt64Array(4));
});

const reg = b.acquire();
assert.notEqual(reg.owner, 'none', `acquire failed: ${JSON.stringify(reg)}`);
const cpus = b.getAffinity();
b.setAffinity([cpus[0]]);
const featureSize = b.kernel().featureSize;
const modes = featureSize >= 28 ? [0, 1] : [0];

check('possibleCpus', () => {
  const p = b.possibleCpus();
  assert.ok(Array.isArray(p) && p.length > 0);
  assert.ok(p.includes(cpus[0]));
});

check('currentId', () => {
  assert.equal(b.currentId(0), b.cpuId());
  if (featureSize >= 28) assert.equal(b.currentId(1), b.mmCid());
  else assert.throws(() => b.currentId(1), { code: 'ERR_RSEQ_FIELD_UNAVAILABLE' });
});

for (const mode of modes) {
  check(`opAdd mode ${mode}`, () => {
    const w = new BigInt64Array(new SharedArrayBuffer(32));
    assert.equal(attempt(mode, (id) => b.opAdd(mode, id, w, 1, 5)), COMMITTED);
    assert.equal(attempt(mode, (id) => b.opAdd(mode, id, w, 1, -2)), COMMITTED);
    assert.deepEqual([...w], [0n, 3n, 0n, 0n]);
    const wrong = (b.currentId(mode) + 1) >>> 0;
    assert.equal(b.opAdd(mode, wrong, w, 1, 100), MOVED);
    assert.deepEqual([...w], [0n, 3n, 0n, 0n]);
  });
  check(`opStoreIfEqual mode ${mode}`, () => {
    const w = new BigInt64Array([7n, 0n]);
    assert.equal(attempt(mode, (id) => b.opStoreIfEqual(mode, id, w, 0, 6, 9)), COMPARE_FAILED);
    assert.deepEqual([...w], [7n, 0n]);
    assert.equal(attempt(mode, (id) => b.opStoreIfEqual(mode, id, w, 0, 7, 9)), COMMITTED);
    assert.deepEqual([...w], [9n, 0n]);
  });
  check(`opDoubleCompareStore mode ${mode}`, () => {
    const w = new BigInt64Array([1n, 2n]);
    assert.equal(attempt(mode, (id) => b.opDoubleCompareStore(mode, id, w, 0, 1, 1, 3, 10)), COMPARE_FAILED);
    assert.equal(attempt(mode, (id) => b.opDoubleCompareStore(mode, id, w, 0, 1, 1, 2, 10)), COMMITTED);
    assert.deepEqual([...w], [10n, 2n]);
  });
  for (const release of [false, true]) {
    check(`opSpeculativeStoreCommit mode ${mode} release ${release}`, () => {
      const w = new BigInt64Array([4n, 0n]);
      assert.equal(attempt(mode, (id) => b.opSpeculativeStoreCommit(mode, id, w, 0, 5, 1, 11, 12, release)), COMPARE_FAILED);
      assert.deepEqual([...w], [4n, 0n]);
      assert.equal(attempt(mode, (id) => b.opSpeculativeStoreCommit(mode, id, w, 0, 4, 1, -11, -(2 ** 53 - 1), release)), COMMITTED);
      assert.deepEqual([...w], [-(2n ** 53n - 1n), -11n]);
    });
    check(`opCopyCommit mode ${mode} release ${release}`, () => {
      const w = new BigInt64Array([0n]);
      const src = Uint8Array.from([1, 2, 3, 4, 5]);
      const dst = new Uint8Array(8);
      assert.equal(attempt(mode, (id) => b.opCopyCommit(mode, id, w, 0, 1, dst, 0, src, 0, 5, 2, release)), COMPARE_FAILED);
      assert.deepEqual([...dst], [0, 0, 0, 0, 0, 0, 0, 0]);
      assert.equal(attempt(mode, (id) => b.opCopyCommit(mode, id, w, 0, 0, dst, 2, src, 1, 4, 2, release)), COMMITTED);
      assert.deepEqual([...dst], [0, 0, 2, 3, 4, 5, 0, 0]);
      assert.deepEqual([...w], [2n]);
      assert.equal(attempt(mode, (id) => b.opCopyCommit(mode, id, w, 0, 2, dst, 8, src, 5, 0, 3, release)), COMMITTED);
      assert.deepEqual([...w], [3n]);
    });
  }
  check(`opListPop mode ${mode}`, () => {
    // words: [head, next0, next1, next2]; list 2 -> 0 -> 1 -> empty(-1)
    const w = new BigInt64Array([2n, 1n, -1n, 0n]);
    assert.equal(attempt(mode, (id) => b.opListPop(mode, id, w, 0, 1, 3, -1), true), 2);
    assert.equal(attempt(mode, (id) => b.opListPop(mode, id, w, 0, 1, 3, -1), true), 0);
    assert.equal(attempt(mode, (id) => b.opListPop(mode, id, w, 0, 1, 3, -1), true), 1);
    assert.equal(attempt(mode, (id) => b.opListPop(mode, id, w, 0, 1, 3, -1), true), -COMPARE_FAILED);
    w[0] = 3n;
    assert.equal(attempt(mode, (id) => b.opListPop(mode, id, w, 0, 1, 3, -1), true), -BAD_INDEX);
    w[0] = -5n;
    assert.equal(attempt(mode, (id) => b.opListPop(mode, id, w, 0, 1, 3, -1), true), -BAD_INDEX);
    assert.deepEqual([...w], [-5n, 1n, -1n, 0n]);
    assert.equal(b.opListPop(mode, (b.currentId(mode) + 1) >>> 0, w, 0, 1, 3, -5), -MOVED);
  });
}

check('mm_cid mode availability', () => {
  if (featureSize < 28) {
    assert.throws(() => b.opAdd(1, 0, new BigInt64Array(1), 0, 1), { code: 'ERR_RSEQ_FIELD_UNAVAILABLE' });
  }
});

check('argument checks', () => {
  const w = new BigInt64Array(4);
  const te = { name: 'TypeError' };
  const re = { name: 'RangeError' };
  assert.throws(() => b.opAdd(0, 0, new Int32Array(4), 0, 1), te);
  assert.throws(() => b.opAdd(0, 0, [0n], 0, 1), te);
  assert.throws(() => b.opAdd(0, 0, w, '0', 1), te);
  assert.throws(() => b.opAdd(2, 0, w, 0, 1), re);
  assert.throws(() => b.opAdd(0, -1, w, 0, 1), re);
  assert.throws(() => b.opAdd(0, 0, w, 4, 1), /index must be an integer in \[0, 3\]/);
  assert.throws(() => b.opAdd(0, 0, w, 0.5, 1), re);
  assert.throws(() => b.opAdd(0, 0, w, 0, 2 ** 53), re);
  assert.throws(() => b.opAdd(0, 0, new BigInt64Array(0), 0, 1), re);
  assert.throws(() => b.opSpeculativeStoreCommit(0, 0, w, 0, 0, 1, 1, 1, 1), te);
  const dst = new Uint8Array(4);
  const src = new Uint8Array(4);
  assert.throws(() => b.opCopyCommit(0, 0, w, 0, 0, dst, 5, src, 0, 0, 1, false), re);
  assert.throws(() => b.opCopyCommit(0, 0, w, 0, 0, dst, 2, src, 0, 3, 1, false), /length must be an integer in \[0, 2\]/);
  assert.throws(() => b.opCopyCommit(0, 0, w, 0, 0, dst, 0, src, 0, -1, 1, false), re);
  assert.throws(() => b.opCopyCommit(0, 0, w, 0, 0, new Int8Array(4), 0, src, 0, 1, 1, false), te);
  assert.throws(() => b.opListPop(0, 0, w, 0, 1, 4, -1), /count must be an integer in \[0, 3\]/);
  assert.throws(() => b.opListPop(0, 0, w, 0, 5, 0, -1), re);
  assert.throws(() => b.fence(-2), re);
  assert.throws(() => b.currentId(3), re);
  // A detached buffer.
  const ab = new ArrayBuffer(32);
  const dw = new BigInt64Array(ab);
  structuredClone(ab, { transfer: [ab] });
  assert.throws(() => b.opAdd(0, 0, dw, 0, 1), /detached/);
  assert.throws(() => b.opAdd(0, 0, dw, 0, 1), te);
  assert.deepEqual(w, new BigInt64Array(4));
  assert.deepEqual(dst, new Uint8Array(4));
});

check('fence', () => {
  const mask = b.kernel().membarrierMask;
  if (mask >= 0 && (mask & (1 << 7))) {
    b.fence(-1);
    b.fence(cpus[0]);
  } else {
    assert.throws(() => b.fence(-1), (e) => typeof e.code === 'string' && typeof e.errno === 'number');
  }
});

check('opCounts', () => {
  const c = b.opCounts();
  assert.ok(c.attempts > 0);
  assert.ok(c.moved >= 2);
  assert.equal(typeof c.aborts, 'number');
});

b.setAffinity(cpus);
b.release();
console.log(`addon-smoke: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
