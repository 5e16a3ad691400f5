/**
 * Abort behaviour: what memory may look like after an aborted attempt.
 *
 * The prediction comes from the simulator's kernel model
 * (fallback/kernel/sections.ts): the same operation with the same
 * arguments and initial memory is run on a simulated thread of a machine
 * configured as the host, once per boundary inside the critical section
 * with a signal delivered there; every resulting memory is a predicted
 * post-abort state (unchanged, except the documented speculative store or
 * a prefix of the speculative copy). Hardware aborts (SIGPROF from V8's
 * profiler in a worker, see abort-worker.ts) must leave one of those
 * states, and commits the model's committed state. The simulator's host
 * backend with abortRate 1 (every attempt preempted inside the section) is
 * held to the same prediction, and must abort: on a profile that leaves
 * preempted sections running (6.19 on arm64) it aborts none, and the case
 * differs.
 */
import { createSimulatorBackend } from '../../fallback/backend.js';
import { Machine } from '../../fallback/kernel/kernel.js';
import { ORIG_RSEQ_SIZE, RSEQ_FIELD, RSEQ_SIG, type Arch, type KernelProfile } from '../../fallback/kernel/profiles.js';
import { runSection, simulatedMemory, type Boundary, type SectionFields } from '../../fallback/kernel/sections.js';
import { abortSource, memoryKey, tallyAttempts, type AbortSpec, type AbortTally } from './abort-spec.js';
import type { CrosscheckCase } from './report.js';

export interface Prediction {
  /** Boundaries inside the section (where an interrupt aborts). */
  points: number;
  abortStates: Set<string>;
  commitState: string;
}

export interface ModelConfig {
  kernel: string | KernelProfile;
  libc: string;
  arch: Arch;
  cpus: number;
  nodes: number;
}

/** The model's post-abort states of `spec`: a signal at each boundary inside the section. */
export function predict(cfg: ModelConfig, spec: AbortSpec): Prediction {
  const m = new Machine({ kernel: cfg.kernel, libc: cfg.libc, arch: cfg.arch, cpus: cfg.cpus, nodes: cfg.nodes, arenaBytes: 1 << 20 });
  const t = m.createThread({ cpu: 0 });
  m.libcStart(t);
  if (!t.registration) {
    // No libc registration (tunable off, musl): register an area as the addon does.
    const area = m.memory.map(ORIG_RSEQ_SIZE, ORIG_RSEQ_SIZE, 'crosscheck-area');
    const r = m.sysRseq(t, area, ORIG_RSEQ_SIZE, 0, RSEQ_SIG[cfg.arch]);
    if (r.errno !== null) throw new Error(`the model refused the registration: ${r.errno}`);
  }
  m.returnToUser(t, 'syscall');
  const reg = t.registration as NonNullable<typeof t.registration>;
  const id = m.memory.readU32(reg.addr + BigInt(RSEQ_FIELD.cpuId));
  const init = spec.words.map((w) => BigInt(w));
  const wAddr = m.memory.map(init.length * 8, 64, 'words');
  const dLen = Math.max(spec.dstLength, 1);
  const dAddr = m.memory.map(dLen, 64, 'dst');
  const sAddr = m.memory.map(dLen, 64, 'src');
  const src = abortSource(spec.dstLength);
  const reset = (): void => {
    init.forEach((v, i) => m.memory.writeU64(wAddr + 8n * BigInt(i), BigInt.asUintN(64, v)));
    for (let i = 0; i < spec.dstLength; i++) {
      m.memory.writeU8(dAddr + BigInt(i), 0);
      m.memory.writeU8(sAddr + BigInt(i), src[i] as number);
    }
  };
  const key = (): string => {
    const words = BigInt64Array.from({ length: init.length }, (_, i) => BigInt.asIntN(64, m.memory.readU64(wAddr + 8n * BigInt(i))));
    return memoryKey(words, m.memory.readBytes(dAddr, spec.dstLength));
  };
  const mem = simulatedMemory(m.memory, reg.addr, {
    words: { addr: wAddr, length: init.length },
    dst: { addr: dAddr, length: dLen },
    src: { addr: sAddr, length: dLen },
  });
  const args = { mode: 'cpu', id, ...spec.args } as unknown as SectionFields[typeof spec.op];
  // One clean run: where the boundaries are, and the committed state.
  reset();
  const trace: Boundary[] = [];
  const clean = runSection(m, t, spec.op, args, mem, { trace });
  if (!clean.committed) throw new Error(`the model did not commit ${spec.name} (status ${clean.status})`);
  const commitState = key();
  const abortStates = new Set<string>();
  let points = 0;
  for (const b of trace) {
    if (!b.inSection) continue;
    points++;
    reset();
    const r = runSection(m, t, spec.op, args, mem, { at: (x) => (x.steps === b.steps ? 'signal' : null) });
    if (r.committed) throw new Error(`the model committed ${spec.name} with a signal at step ${b.steps}`);
    abortStates.add(key());
  }
  return { points, abortStates, commitState };
}

/** The simulator's host backend with every attempt aborted: its post-abort memory. */
export function simulatorAborts(cfg: ModelConfig, spec: AbortSpec, attempts: number): AbortTally {
  const b = createSimulatorBackend({
    kernel: cfg.kernel as string,
    libc: cfg.libc,
    arch: cfg.arch,
    cpus: cfg.cpus,
    nodes: cfg.nodes,
    abortRate: 1,
    shareMmCid: false,
    shareLocks: false,
  });
  return tallyAttempts(b, spec, (t) => t.attempts >= attempts);
}

/** "unchanged + 134 partial": how the post-abort states differ from the initial memory. */
function describeStates(keys: string[], commit: string, init: string): string {
  const unchanged = keys.filter((k) => k === init).length;
  const committed = keys.filter((k) => k === commit).length;
  const speculative = keys.length - unchanged - committed;
  const parts = [unchanged ? 'unchanged' : '', speculative ? `${speculative} speculative` : '', committed ? `${committed} committed?` : ''];
  return parts.filter(Boolean).join(' + ');
}

export function abortCases(specs: AbortSpec[], hw: AbortTally[] | { error: string }, cfg: ModelConfig, simAttempts: number): CrosscheckCase[] {
  const cases: CrosscheckCase[] = [];
  specs.forEach((spec, i) => {
    let p: Prediction;
    try {
      p = predict(cfg, spec);
    } catch (e) {
      cases.push({ group: 'abort', case: `abort: ${spec.name}`, hardware: '-', simulator: `model failed: ${(e as Error).message}`, verdict: 'mismatch' });
      return;
    }
    const init = memoryKey(BigInt64Array.from(spec.words.map((w) => BigInt(w))), new Uint8Array(spec.dstLength));
    const sim = simulatorAborts(cfg, spec, simAttempts);
    const simKeys = Object.keys(sim.abortStates);
    const simBad = simKeys.filter((k) => !p.abortStates.has(k));
    // The backend's attempts are all preempted (abortRate 1): a profile whose
    // kernel leaves a preempted section running (6.19 on arm64) aborts none.
    const simText = `model ${p.points} pts/${p.abortStates.size} states; ${sim.aborts}/${sim.attempts} preempted aborted${simBad.length ? `, ${simBad.length} UNPREDICTED` : ''}`;
    if ('error' in hw) {
      cases.push({ group: 'abort', case: `abort: ${spec.name}`, hardware: `worker failed: ${hw.error.split('\n')[0]}`, simulator: simText, verdict: 'mismatch' });
      return;
    }
    const h = hw[i] as AbortTally;
    const hwKeys = Object.keys(h.abortStates);
    const unpredicted = hwKeys.filter((k) => !p.abortStates.has(k));
    const commitKeys = Object.keys(h.commitStates);
    const badCommits = commitKeys.filter((k) => k !== p.commitState);
    // A short section (add) may see no signal at all in the time given: that
    // proves nothing either way, and the total row below needs aborts.
    const ok = unpredicted.length === 0 && badCommits.length === 0 && simBad.length === 0 && sim.aborts > 0;
    const hwText =
      `${h.aborts}/${h.attempts} aborted: ${describeStates(hwKeys, p.commitState, init)}` +
      (unpredicted.length ? `, ${unpredicted.length} UNPREDICTED` : ', predicted') +
      (badCommits.length ? `, ${badCommits.length} wrong commits` : '');
    cases.push({
      group: 'abort',
      case: `abort: ${spec.name}`,
      hardware: h.aborts === 0 ? `no abort in ${h.attempts} attempts (section too short)` : hwText,
      simulator: simText,
      verdict: ok ? 'match' : 'mismatch',
      detail: {
        attempts: h.attempts,
        aborts: h.aborts,
        moved: h.moved,
        commits: commitKeys.reduce((s, k) => s + (h.commitStates[k] ?? 0), 0),
        statesSeen: hwKeys.length,
        statesPredicted: p.abortStates.size,
        abortPoints: p.points,
        unpredicted: unpredicted.slice(0, 3),
        wrongCommits: badCommits.slice(0, 3),
        simulatorHostAborts: sim.aborts,
        simulatorUnpredicted: simBad.slice(0, 3),
      },
    });
  });
  if (!('error' in hw)) {
    const attempts = hw.reduce((s, t) => s + t.attempts, 0);
    const aborts = hw.reduce((s, t) => s + t.aborts, 0);
    const commits = hw.reduce((s, t) => s + Object.values(t.commitStates).reduce((a, b) => a + b, 0), 0);
    cases.push({
      group: 'abort',
      case: 'abort: signals abort sections, retries commit',
      hardware: `${aborts} aborted, ${commits} committed of ${attempts}`,
      simulator: 'aborts > 0 (SIGPROF every 10 µs in the worker)',
      verdict: aborts > 0 && commits > 0 ? 'match' : 'mismatch',
      detail: { attempts, aborts, commits },
    });
  }
  return cases;
}
