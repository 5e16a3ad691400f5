'use strict';
// What the results were measured on (/proc/cpuinfo, the kernel, Node and,
// where the run loads the package, its rseq probe), and how much other work
// the machine did meanwhile.
const fs = require('node:fs');
const os = require('node:os');

function cpuinfo() {
  let text = '';
  try {
    text = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux
  }
  const field = (name) => [...text.matchAll(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'gm'))].map((m) => m[1].trim());
  const models = field('model name');
  const processors = field('processor').length;
  const mhz = field('cpu MHz').map(Number).filter(Number.isFinite);
  const flags = (field('flags')[0] || '').split(/\s+/);
  return {
    cpus: processors || os.cpus().length,
    model: models[0] || (os.cpus()[0] && os.cpus()[0].model) || 'unknown',
    mhz: mhz.length ? Math.round(mhz.reduce((a, b) => a + b, 0) / mhz.length) : null,
    hypervisor: flags.includes('hypervisor'),
  };
}

/** The probe fields that matter for these figures. */
function rseqSummary(rseq) {
  const p = rseq.probe();
  return {
    backend: p.backend,
    fallbackReason: p.fallbackReason,
    arch: p.arch,
    kernelRelease: p.kernel.release,
    featureSize: p.kernel.featureSize,
    membarrierRseq: p.kernel.membarrierRseq,
    libc: p.libc.family + (p.libc.version ? ` ${p.libc.version}` : ''),
    registrationOwner: p.registration.owner,
    registrationLength: p.registration.length,
    fields: p.fields,
    areaAccess: p.area.access,
    possibleCpus: rseq.possibleCpus(),
    affinity: rseq.getAffinity(),
  };
}

/** The machine; `rseq` (the package's, when the run loads it) adds its probe. */
function machine(rseq = null) {
  return {
    ...cpuinfo(),
    kernel: os.release(),
    platform: `${process.platform}/${process.arch}`,
    node: process.version,
    nodeFlags: process.execArgv,
    v8: process.versions.v8,
    loadavgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    ...(rseq ? { rseq: rseqSummary(rseq) } : {}),
  };
}

/** CPU time of the whole machine (/proc/stat) and of this process, for otherLoad(). */
function cpuSnapshot() {
  let busy = null;
  let total = null;
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: USER_HZ ticks (1/100 s).
    total = f.slice(0, 8).reduce((a, b) => a + b, 0) * 10000;
    busy = total - (f[3] + f[4]) * 10000;
  } catch {
    // not Linux
  }
  const u = process.cpuUsage();
  return { busy, total, self: u.user + u.system, at: Date.now() };
}

/**
 * How busy the machine was with work other than this process between two
 * snapshots, in CPUs (0 = only this benchmark ran; 1 = one whole CPU went to
 * other work). Child processes of the benchmark count as other work.
 */
function otherLoad(a, b) {
  if (a.busy === null || b.busy === null) return null;
  const wallUs = (b.at - a.at) * 1000;
  if (wallUs <= 0) return null;
  const other = (b.busy - a.busy) - (b.self - a.self);
  return Number(Math.max(0, other / wallUs).toFixed(2));
}

/**
 * Waits until other work uses less than 0.25 CPU over a window of windowMs
 * (default 5 s), or until limitS seconds have passed; returns what it saw.
 */
function waitQuiet(limitS, windowMs = 5000) {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const start = Date.now();
  let load = null;
  for (;;) {
    const a = cpuSnapshot();
    Atomics.wait(sleeper, 0, 0, windowMs);
    load = otherLoad(a, cpuSnapshot());
    const waited = (Date.now() - start) / 1000;
    if (load === null || load < 0.25) return { waitedS: Math.round(waited), otherLoad: load, quiet: true };
    if (waited >= limitS) return { waitedS: Math.round(waited), otherLoad: load, quiet: false };
    process.stdout.write(`bench: waiting for a quiet machine (other work: ${load} CPUs, ${Math.round(waited)} s of ${limitS})\n`);
  }
}
module.exports = { machine, cpuSnapshot, otherLoad, waitQuiet };
