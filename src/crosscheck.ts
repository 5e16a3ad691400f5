/**
 * `rseq crosscheck`: the same cases on the real kernel (the native backend)
 * and on the simulator configured as this host, side by side.
 *
 * The simulator is configured from the native probe: the kernel profile of
 * the host's release (os.release()), checked against the auxv's
 * AT_RSEQ_FEATURE_SIZE / AT_RSEQ_ALIGN; the libc profile from the libc
 * family, version and __rseq_size (glibc 2.36 with __rseq_size 20 is
 * `glibc-2.36-debian`, __rseq_size 0 is the tunable-off profile, musl is
 * `musl`); CPUs = the possible CPUs, NUMA nodes from /sys/devices/system/node.
 * `kernel` / `libc` options force a profile instead (a wrong one must make
 * cases differ: that is how the check shows it can fail). `arch` chooses
 * the simulated architecture (default the host's): the hardware side stays
 * this machine, values that belong to an architecture (the signature) are
 * compared as "its architecture's RSEQ_SIG", so `--kernel 6.19 --arch
 * aarch64` differs from this host exactly where that profile breaks the
 * sections (group 7) when `--kernel 6.19` alone matches here.
 *
 * Groups of cases (see the files in src/crosscheck/):
 * 1. probe: rseq syscall, feature size, alignment, live fields,
 *    registration owner, length and signature, __rseq_size, membarrier.
 * 2. errno: the errno table in a child with GLIBC_TUNABLES=glibc.pthread.rseq=0
 *    (`node bin/rseq.js errno-table --json`, RSEQ_BACKEND=native) against the
 *    simulator with the tunable-off libc, and this process's (glibc's
 *    registration on) against the simulator with the host libc.
 * 3. ops: seeded random sequences of every operation, both modes, pinned to
 *    one CPU: identical return values and bytes (ops.ts).
 * 4. concurrency: N workers on PerCpuCounter (rseq path), PerCpuBuffer and
 *    PerCpuPool, once with RSEQ_BACKEND=native and once with the simulator:
 *    identical totals, nothing lost or duplicated.
 * 5. invariants: the main thread pinned to each allowed CPU (cpu_id equals
 *    it, node_id as /sys says, mm_cid below min(allowed CPUs, threads)),
 *    and the same sampled in every concurrency worker.
 * 6. abort: SIGPROF-interrupted sections on the hardware leave memory as the
 *    kernel model predicts for an abort at some step (abort.ts).
 * 7. sections: the selftest's checks on both sides (same-CPU preemption,
 *    migration and signals abort sections; the ids track the CPU) and the
 *    table of known-broken releases (sections.ts).
 *
 * Everything runs synchronously (workers are awaited with Atomics.wait).
 * The report (`--json`) is a CrosscheckReport (src/crosscheck/report.ts):
 * { ok, mismatches, seed, host, simulator, cases: [{ group, case, hardware,
 * simulator, verdict: 'match' | 'mismatch', detail? }], skipped, seconds }.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createSimulatorBackend, type SimulatorBackend } from '../fallback/backend.js';
import { kernelProfileFor, libcProfileFor, RSEQ_SIG, type Arch } from '../fallback/kernel/profiles.js';
import type { Backend } from './contract/backend.js';
import { abortCases } from './crosscheck/abort.js';
import { abortSpecs, type AbortTally } from './crosscheck/abort-spec.js';
import type { AbortJob } from './crosscheck/abort-worker.js';
import type { ConcurrencyJob, ConcurrencyReport, ConcurrencyTask } from './crosscheck/concurrency-worker.js';
import { archName, chooseSimulator, describeHost, processThreads, type SimulatorChoice } from './crosscheck/host.js';
import { checkOps } from './crosscheck/ops.js';
import { renderReport, type CrosscheckCase, type CrosscheckReport, type HostDescription } from './crosscheck/report.js';
import { sectionCases } from './crosscheck/sections.js';
import { runWorkersSync, type WorkerOutcome } from './crosscheck/workers.js';
import { PerCpuBuffer, PerCpuCounter, PerCpuPool } from './index.js';
import { childErrnoTable } from './errno-check.js';
import { loadNative, packageRoot } from './native/backend.js';
import type { ErrnoTable, FieldAvailability } from './contract/types.js';

export type { CrosscheckCase, CrosscheckReport } from './crosscheck/report.js';
export { renderReport } from './crosscheck/report.js';

/** The default seed of the operation sequences (`--seed`). */
export const DEFAULT_SEED = 20260611;

export interface CrosscheckOptions {
  /** Force the simulator's kernel profile (a release such as `4.18` or `6.19.2`). */
  kernel?: string;
  /** Force the simulator's libc profile (`musl`, `glibc-2.41`, ...). */
  libc?: string;
  /** The simulated architecture (default: the host's). */
  arch?: Arch;
  seed?: number;
  /** Operation sequences per mode, and calls per sequence. */
  sequences?: number;
  sequenceLength?: number;
  /** Concurrency workers and their repetitions. */
  workers?: number;
  counterReps?: number;
  bufferReps?: number;
  poolReps?: number;
  /** Abort check: aborts wanted per operation, time budget per operation, copy length, simulator attempts. */
  abortTarget?: number;
  abortBudgetMs?: number;
  abortCopyLength?: number;
  abortSimAttempts?: number;
  /** Sections group: the selftest's time budget on the hardware (default 2000 ms). */
  sectionsBudgetMs?: number;
  /** Run the GLIBC_TUNABLES=glibc.pthread.rseq=0 child (default true). */
  errnoChild?: boolean;
  /** Milliseconds to wait for a batch of workers. */
  workerTimeoutMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** The native backend cannot work here: the crosscheck has no hardware side. */
export class CrosscheckUnavailableError extends Error {
  constructor(reason: string) {
    super(`rseq crosscheck needs the native backend, which cannot work here: ${reason}`);
    this.name = 'CrosscheckUnavailableError';
  }
}

const dash = (v: unknown): string => (v === null || v === undefined ? '-' : String(v));
const liveList = (f: FieldAvailability): string =>
  (Object.keys(f) as Array<keyof FieldAvailability>)
    .filter((k) => f[k])
    .join(', ') || 'none';

function row(group: CrosscheckCase['group'], name: string, hardware: string, simulator: string, detail?: unknown): CrosscheckCase {
  return { group, case: name, hardware, simulator, verdict: hardware === simulator ? 'match' : 'mismatch', ...(detail === undefined ? {} : { detail }) };
}

/**
 * A signature in words ("0x53053053 (x86_64 RSEQ_SIG)"), and what is
 * compared: "the architecture's RSEQ_SIG" when it is that, else the value.
 * Each side is held to its own architecture's signature, so a simulated
 * aarch64 matches an x86_64 host where both register their own.
 */
function signature(v: number | null, arch: Arch): { text: string; key: string } {
  if (v === null) return { text: '-', key: '-' };
  const hex = `0x${v.toString(16)}`;
  return v === RSEQ_SIG[arch] ? { text: `${hex} (${arch} RSEQ_SIG)`, key: 'RSEQ_SIG' } : { text: hex, key: hex };
}

function signatureRow(group: CrosscheckCase['group'], name: string, hw: number | null, hwArch: Arch, sim: number | null, simArch: Arch): CrosscheckCase {
  const h = signature(hw, hwArch);
  const s = signature(sim, simArch);
  return { group, case: name, hardware: h.text, simulator: s.text, verdict: h.key === s.key ? 'match' : 'mismatch' };
}

function probeCases(native: Backend, sim: Backend, hwArch: Arch, simArch: Arch): CrosscheckCase[] {
  const hk = native.kernel();
  const sk = sim.kernel();
  const hr = native.registration();
  const sr = sim.registration();
  const hl = native.libc();
  const sl = sim.libc();
  const fs = (n: number | null): string => (n === null ? 'absent (20)' : String(n));
  const al = (n: number | null): string => (n === null ? 'absent (32)' : String(n));
  const hex = (n: number | null): string => (n === null ? '-' : `0x${n.toString(16)}`);
  return [
    row('probe', 'probe: rseq(NULL, 0, 0, 0)', hk.syscall.probeErrno, sk.syscall.probeErrno),
    row('probe', 'probe: feature size', fs(hk.featureSize), fs(sk.featureSize)),
    row('probe', 'probe: alignment', al(hk.align), al(sk.align)),
    row('probe', 'probe: live fields', liveList(native.fields()), liveList(sim.fields())),
    row('probe', 'probe: registration owner', hr.owner, sr.owner),
    row('probe', 'probe: registration length', dash(hr.length), dash(sr.length)),
    signatureRow('probe', 'probe: registration signature', hr.signature, hwArch, sr.signature, simArch),
    row('probe', 'probe: libc family', hl.family, sl.family),
    row('probe', 'probe: __rseq_size', dash(hl.rseqSize), dash(sl.rseqSize)),
    row('probe', 'probe: membarrier commands', hex(hk.membarrierCommands), hex(sk.membarrierCommands)),
  ];
}

function errnoCases(label: string, hw: ErrnoTable | { error: string }, sim: ErrnoTable, hwArch: Arch, simArch: Arch): CrosscheckCase[] {
  const out: CrosscheckCase[] = [];
  const fmt = (c: { ret: number; errno: string | null } | undefined): string => (c === undefined ? 'missing' : c.ret === 0 ? '0' : `-1 ${c.errno}`);
  if ('error' in hw) {
    out.push({ group: 'errno', case: `errno (${label}): table`, hardware: `failed: ${hw.error}`, simulator: `${sim.cases.length} cases`, verdict: 'mismatch' });
    return out;
  }
  out.push(row('errno', `errno (${label}): scratch thread owner`, hw.ownerAtStart, sim.ownerAtStart));
  out.push(signatureRow('errno', `errno (${label}): signature`, hw.signature, hwArch, sim.signature, simArch));
  for (const c of sim.cases) {
    out.push(row('errno', `errno (${label}): ${c.case}`, fmt(hw.cases.find((h) => h.case === c.case)), fmt(c)));
  }
  for (const h of hw.cases) {
    if (!sim.cases.some((c) => c.case === h.case)) out.push(row('errno', `errno (${label}): ${h.case}`, fmt(h), 'missing'));
  }
  return out;
}

function readIds(b: Backend): { cpu: number; cpuStart: number; node: number | null; mmCid: number | null } {
  const f = b.fields();
  return {
    cpu: b.readField('cpuId'),
    cpuStart: b.readField('cpuIdStart'),
    node: f.nodeId ? b.readField('nodeId') : null,
    mmCid: f.mmCid ? b.readField('mmCid') : null,
  };
}

/** Main thread pinned to each allowed CPU on both backends. */
function pinnedInvariants(native: Backend, sim: Backend, host: HostDescription, maxCpus: number): CrosscheckCase[] {
  const out: CrosscheckCase[] = [];
  for (const c of host.allowedCpus.slice(0, maxCpus)) {
    const check = (b: Backend): { text: string; ok: boolean; cpu: number | null; node: number | null } => {
      const failed = b.setAffinity([c]);
      if (failed) return { text: `setAffinity([${c}]): ${failed.errno}`, ok: false, cpu: null, node: null };
      const ids = readIds(b);
      const problems: string[] = [];
      if (ids.cpu !== c) problems.push(`cpu_id ${ids.cpu} != ${c}`);
      if (ids.cpuStart !== ids.cpu) problems.push(`cpu_id_start ${ids.cpuStart} != cpu_id`);
      const want = host.cpuNode[c] ?? 0;
      if (ids.node !== null && ids.node !== want) problems.push(`node_id ${ids.node}, /sys node ${want}`);
      const bound = Math.min(host.allowedCpus.length, processThreads());
      if (ids.mmCid !== null && ids.mmCid >= bound) problems.push(`mm_cid ${ids.mmCid} >= ${bound}`);
      const text =
        `cpu ${ids.cpu} node ${ids.node ?? 'n/a'} mm_cid ${ids.mmCid === null ? 'n/a' : `${ids.mmCid} < ${bound}`}` +
        (problems.length ? `: ${problems.join('; ')}` : '');
      return { text, ok: problems.length === 0, cpu: ids.cpu, node: ids.node };
    };
    const h = check(native);
    const s = check(sim);
    out.push({
      group: 'invariants',
      case: `invariants: main thread on CPU ${c}`,
      hardware: h.text,
      simulator: s.text,
      verdict: h.ok && s.ok && h.cpu === s.cpu && h.node === s.node ? 'match' : 'mismatch',
    });
  }
  return out;
}

interface ConcurrencyOutcome {
  summary: Record<string, string>;
  conserved: Record<string, boolean>;
  aborts: Record<string, number>;
  errors: string[];
  reports: ConcurrencyReport[];
}

function workerDir(): string {
  return path.join(packageRoot(), 'dist', 'cjs', 'src', 'crosscheck');
}

function runConcurrency(env: NodeJS.ProcessEnv, host: HostDescription, o: Required<Pick<CrosscheckOptions, 'workers' | 'counterReps' | 'bufferReps' | 'poolReps' | 'workerTimeoutMs'>>): ConcurrencyOutcome {
  const script = path.join(workerDir(), 'concurrency-worker.js');
  const out: ConcurrencyOutcome = { summary: {}, conserved: {}, aborts: {}, errors: [], reports: [] };
  const W = o.workers;
  const size = 64;
  const counter = new PerCpuCounter({ path: 'rseq' });
  const buffer = new PerCpuBuffer({ recordSize: 8, capacity: W * o.bufferReps });
  const pool = new PerCpuPool({ size });
  const owners = new SharedArrayBuffer(size * 4);
  const tasks: ConcurrencyTask[] = [
    { kind: 'counter', buffer: counter.buffer, reps: o.counterReps },
    { kind: 'buffer', buffer: buffer.buffer, reps: o.bufferReps },
    { kind: 'pool', buffer: pool.buffer, owners, reps: o.poolReps },
  ];
  const jobs = Array.from({ length: W }, (_, wid) => ({ script, env, data: { tasks, wid, cpuNode: host.cpuNode } satisfies ConcurrencyJob }));
  for (const r of runWorkersSync<ConcurrencyReport>(jobs, o.workerTimeoutMs)) {
    if (r.ok) out.reports.push(r.result);
    else out.errors.push(r.error.split('\n').slice(0, 2).join(' '));
  }
  const reps = out.reports;
  for (const k of ['counter', 'buffer', 'pool'] as const) out.aborts[k] = reps.reduce((s, r) => s + (r.aborts[k] ?? 0), 0);
  {
    const v = counter.value();
    out.summary.counter = `sum ${v} of ${W}x${o.counterReps}`;
    out.conserved.counter = v === W * o.counterReps;
  }
  {
    const seen = new Set<number>();
    let total = 0;
    for (const r of reps) for (const v of r.popped) (seen.add(v), total++);
    for (const rec of buffer.drain()) {
      const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
      seen.add(dv.getUint32(0, true) * 1e6 + dv.getUint32(4, true));
      total++;
    }
    const expected = W * o.bufferReps;
    out.summary.buffer = `${seen.size}/${expected} back, ${total - seen.size} dup, ${expected - seen.size} lost`;
    out.conserved.buffer = total === expected && seen.size === expected;
  }
  {
    const doubles = reps.reduce((s, r) => s + r.ownerViolations, 0);
    const back = new Set<number>();
    for (let i = 0; i < size; i++) {
      const x = pool.take();
      if (x !== null) back.add(x);
    }
    const extra = pool.take();
    out.summary.pool = `${doubles} held twice, ${back.size}/${size} back${extra === null ? '' : ', extra index'}`;
    out.conserved.pool = doubles === 0 && back.size === size && extra === null;
  }
  if (out.errors.length) for (const k of Object.keys(out.conserved)) out.conserved[k] = false;
  return out;
}

function workerInvariants(reports: ConcurrencyReport[], errors: string[]): { text: string; ok: boolean } {
  const violations = reports.flatMap((r) => r.violations);
  const samples = reports.reduce((s, r) => s + r.samples, 0);
  const cpus = [...new Set(reports.flatMap((r) => r.cpus))].sort((a, b) => a - b);
  const nodes = [...new Set(reports.flatMap((r) => r.nodes))].sort((a, b) => a - b);
  const cids = reports.map((r) => r.mmCidMax).filter((x): x is number => x !== null);
  const bounds = reports.map((r) => r.mmCidBoundMin).filter((x): x is number => x !== null);
  const text =
    `${samples} samples: cpu {${cpus.join(',')}} node {${nodes.join(',') || 'n/a'}} ` +
    `mm_cid max ${cids.length ? Math.max(...cids) : 'n/a'}${bounds.length ? ` < ${Math.min(...bounds)}` : ''}` +
    (violations.length ? `; ${violations.length} violations: ${violations[0]}` : '') +
    (errors.length ? `; ${errors.length} worker errors` : '');
  return { text, ok: violations.length === 0 && errors.length === 0 && reports.length > 0 };
}

/** Runs every case; throws CrosscheckUnavailableError when the native backend cannot work here. */
export function runCrosscheck(options: CrosscheckOptions = {}): CrosscheckReport {
  const log = options.log ?? (() => {});
  const seed = options.seed ?? DEFAULT_SEED;
  const loaded = loadNative();
  if (!loaded.ok) throw new CrosscheckUnavailableError(loaded.reason);
  const native = loaded.backend;
  const host = describeHost(native);
  const choice: SimulatorChoice = chooseSimulator(host, { kernel: options.kernel, libc: options.libc, arch: options.arch });
  const cfg = choice.config;
  const arch = (cfg.arch === 'aarch64' ? 'aarch64' : 'x86_64') as Arch;
  const hostArch: Arch = archName(host.arch) ?? 'x86_64';
  const simFor = (libc: string, abortRate = 0): SimulatorBackend =>
    createSimulatorBackend({
      kernel: choice.kernel as string, // a release string, or a KernelProfile adjusted to the auxv (Machine takes both)
      libc,
      arch,
      cpus: cfg.cpus,
      nodes: cfg.nodes,
      abortRate,
      shareMmCid: false,
      shareLocks: false,
    });
  const sim = simFor(cfg.libc);
  const cases: CrosscheckCase[] = [];
  const skipped: CrosscheckReport['skipped'] = [];
  const seconds: Record<string, number> = {};
  const timed = <T>(name: string, f: () => T): T => {
    const t0 = process.hrtime.bigint();
    log(`crosscheck: ${name}`);
    try {
      return f();
    } finally {
      seconds[name] = Number(process.hrtime.bigint() - t0) / 1e9;
    }
  };
  const originalAffinity = native.getAffinity();
  const simAffinity = sim.getAffinity();
  try {
    // 1. Probe.
    timed('probe', () => cases.push(...probeCases(native, sim, hostArch, arch)));

    // 2. Errno tables.
    timed('errno', () => {
      if (options.errnoChild === false) {
        skipped.push({ case: 'errno (rseq=0)', reason: 'the child process was turned off by the caller' });
      } else {
        cases.push(...errnoCases('rseq=0', childErrnoTable(), simFor(cfg.libcTunableOff).errnoTable(), hostArch, arch));
      }
      cases.push(...errnoCases('libc', native.errnoTable(), sim.errnoTable(), hostArch, arch));
    });

    // 3. Operations, pinned to the first allowed CPU.
    timed('ops', () => {
      const pin = host.allowedCpus.find((c) => c < cfg.cpus) ?? 0;
      const r = checkOps(native, sim, pin, { seed, sequences: options.sequences ?? 16, length: options.sequenceLength ?? 32 });
      cases.push(...r.cases);
      if (r.retries > 0) log(`crosscheck: ${r.retries} native calls retried (aborted by a real preemption or mm_cid moved)`);
    });

    // 5a. Invariants of the main thread, pinned to each allowed CPU.
    timed('invariants', () => cases.push(...pinnedInvariants(native, sim, host, 64)));
    native.setAffinity(originalAffinity);
    sim.setAffinity(simAffinity);

    // 4. Concurrency (and 5b: invariants sampled in the workers).
    timed('concurrency', () => {
      const o = {
        workers: options.workers ?? 4,
        counterReps: options.counterReps ?? 5000,
        bufferReps: options.bufferReps ?? 2000,
        poolReps: options.poolReps ?? 2000,
        workerTimeoutMs: options.workerTimeoutMs ?? 300_000,
      };
      const hw = runConcurrency({ ...process.env, RSEQ_BACKEND: 'native' }, host, o);
      const sm = runConcurrency(
        { ...process.env, RSEQ_BACKEND: 'simulator', RSEQ_SIM_KERNEL: choice.kernelEnv, RSEQ_SIM_LIBC: cfg.libc, RSEQ_SIM_ARCH: arch, RSEQ_SIM_ABORT_RATE: '64' },
        host,
        o,
      );
      const names: Record<string, string> = { counter: 'PerCpuCounter rseq', buffer: 'PerCpuBuffer', pool: 'PerCpuPool' };
      for (const k of ['counter', 'buffer', 'pool']) {
        const hwErr = hw.errors;
        const smErr = sm.errors;
        const hText = `${hw.summary[k]}; ${hw.aborts[k] ?? 0} aborts${hwErr.length ? `; ${hwErr[0]}` : ''}`;
        const sText = `${sm.summary[k]}; ${sm.aborts[k] ?? 0} aborts${smErr.length ? `; ${smErr[0]}` : ''}`;
        cases.push({
          group: 'concurrency',
          case: `concurrency: ${names[k]} x${o.workers}`,
          hardware: hText,
          simulator: sText,
          verdict: hw.conserved[k] && sm.conserved[k] && hw.summary[k] === sm.summary[k] && hwErr.length === 0 && smErr.length === 0 ? 'match' : 'mismatch',
          detail: { hardware: { summary: hw.summary[k], aborts: hw.aborts[k], errors: hwErr }, simulator: { summary: sm.summary[k], aborts: sm.aborts[k], errors: smErr } },
        });
      }
      const hi = workerInvariants(hw.reports, hw.errors);
      const si = workerInvariants(sm.reports, sm.errors);
      cases.push({ group: 'invariants', case: `invariants: ${hw.reports.length}+${sm.reports.length} workers`, hardware: hi.text, simulator: si.text, verdict: hi.ok && si.ok ? 'match' : 'mismatch' });
    });

    // 6. Aborts.
    timed('abort', () => {
      const specs = abortSpecs(options.abortCopyLength ?? 256);
      const job: AbortJob = { specs, targetAborts: options.abortTarget ?? 200, budgetMs: options.abortBudgetMs ?? 1000, intervalUs: 10 };
      const [r] = runWorkersSync<AbortTally[]>(
        [{ script: path.join(workerDir(), 'abort-worker.js'), data: job as unknown as Record<string, unknown>, env: { ...process.env, RSEQ_BACKEND: 'native' } }],
        (options.workerTimeoutMs ?? 300_000) + specs.length * job.budgetMs,
      );
      const hw = (r as WorkerOutcome<AbortTally[]>).ok ? (r as { result: AbortTally[] }).result : { error: (r as { error: string }).error };
      const model = { kernel: choice.kernel, libc: cfg.libc, arch, cpus: cfg.cpus, nodes: cfg.nodes };
      cases.push(...abortCases(specs, hw, model, options.abortSimAttempts ?? 64));
    });

    // 7. Sections: the selftest's checks on both sides, on a fresh simulated
    // machine (its verdict stays in that backend), and the table.
    timed('sections', () => {
      native.setAffinity(originalAffinity);
      cases.push(...sectionCases({ backend: native, arch: hostArch }, { backend: simFor(cfg.libc), arch }, options.sectionsBudgetMs ?? 2000));
    });
  } finally {
    native.setAffinity(originalAffinity);
  }
  const order: CrosscheckCase['group'][] = ['probe', 'errno', 'ops', 'concurrency', 'invariants', 'abort', 'sections'];
  cases.sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group));
  const mismatches = cases.filter((c) => c.verdict === 'mismatch').length;
  return { ok: mismatches === 0, mismatches, seed, host, simulator: cfg, cases, skipped, seconds };
}

export const CROSSCHECK_USAGE = `usage: rseq crosscheck [--json] [--kernel RELEASE] [--libc PROFILE] [--arch ARCH] [--seed N]

Runs the same cases on this machine's kernel (the native backend) and on the
simulator configured as this host, and prints them side by side.
  --kernel RELEASE  force the simulator's kernel profile (e.g. 4.18, 6.3, 7.0)
  --libc PROFILE    force the simulator's libc profile (e.g. musl, glibc-2.41)
  --arch ARCH       the simulated architecture, aarch64 or x86_64 (default: this host's);
                    --kernel 6.19 --arch aarch64 shows which cases 6.19's arm64 defect breaks
  --seed N          seed of the operation sequences (default ${DEFAULT_SEED})
  --json            the report as one JSON object
Exit status: 0 every case matches, 1 a case differs, 2 the check cannot run here.
`;

/** The CLI command: returns the exit status. */
export function crosscheckCommand(args: readonly string[], json: boolean, out: (s: string) => void): number {
  let values: { kernel?: string; libc?: string; arch?: string; seed?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { kernel: { type: 'string' }, libc: { type: 'string' }, arch: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`rseq crosscheck: ${(e as Error).message}\n\n${CROSSCHECK_USAGE}`);
    return 2;
  }
  if (values.help) {
    out(CROSSCHECK_USAGE);
    return 0;
  }
  let seed = DEFAULT_SEED;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
      process.stderr.write(`rseq crosscheck: --seed must be an integer in [0, 2^32), not ${values.seed}\n`);
      return 2;
    }
  }
  let arch: Arch | undefined;
  if (values.arch !== undefined) {
    const a = archName(values.arch);
    if (a === null) {
      process.stderr.write(`rseq crosscheck: --arch must be aarch64 or x86_64 (or arm64, x64), not ${values.arch}\n`);
      return 2;
    }
    arch = a;
  }
  try {
    if (values.kernel !== undefined) kernelProfileFor(values.kernel);
    if (values.libc !== undefined) libcProfileFor(values.libc);
  } catch (e) {
    process.stderr.write(`rseq crosscheck: ${(e as Error).message}\n`);
    return 2;
  }
  let report: CrosscheckReport;
  try {
    report = runCrosscheck({ kernel: values.kernel, libc: values.libc, arch, seed, log: json ? undefined : (l) => process.stderr.write(`${l}\n`) });
  } catch (e) {
    if (e instanceof CrosscheckUnavailableError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  out(json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
  return report.ok ? 0 : 1;
}
