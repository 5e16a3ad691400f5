'use strict';
// Where the membarrier fence fails (a filter, or a kernel before 5.10): drain()
// and a pool steal must throw before they claim anything, and every
// structure must stay usable afterwards. Prints one JSON line.
const entry = process.argv[2];
const { PerCpuBuffer, PerCpuPool, rseq } = require(entry);

const cpus = rseq.getAffinity();
const out = { backend: rseq.backend, cpus: cpus.length };
const error = (f) => {
  try {
    f();
    return null;
  } catch (e) {
    return { name: e.name, code: e.code, message: e.message };
  }
};

rseq.setAffinity([cpus[0]]);
const buf = new PerCpuBuffer({ recordSize: 8, capacity: 8 });
buf.push(new Uint8Array(8).fill(1));
buf.push(new Uint8Array(8).fill(2));
out.drainError = error(() => buf.drain());
out.sizeAfter = buf.size();
// Nothing is left claimed: this CPU's stack still works, and so does a second drain attempt.
out.popAfter = Array.from(buf.pop() ?? []);
buf.push(new Uint8Array(8).fill(3));
out.sizeAfterPush = buf.size();
out.secondDrainError = error(() => buf.drain());

const pool = new PerCpuPool({ size: 2 }); // both indices on cpus[0]'s list (the creating thread's only CPU)
if (cpus.length > 1) {
  rseq.setAffinity([cpus[1]]);
  out.stealError = error(() => pool.take()); // this CPU's list is empty: a steal, which needs the fence
  rseq.setAffinity([cpus[0]]);
}
const a = pool.take();
const b = pool.take();
out.takenAfter = [a, b].sort();
pool.give(a);
pool.give(b);
console.log(JSON.stringify(out));
