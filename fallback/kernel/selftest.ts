/**
 * The selftest of native/selftest.h on the kernel model: the same checks,
 * with simulated threads on simulated CPUs and the events of the seeded
 * scheduler (scheduler.ts) instead of the host's preemptions, migrations and
 * signals. Deterministic for a given profile, CPU count and seed.
 *
 * - sameCpu: two threads with affinity [c] on one CPU, each adding 1 to one
 *   shared word with the add section (retried until it commits); only
 *   preemption events. The word must equal both threads' commits, and aborts
 *   must have been seen. A profile whose kernel does not abort on same-CPU
 *   preemption (KernelProfile.noPreemptAbort: 6.19 on aarch64) loses updates
 *   here: `broken`.
 * - migration: two threads allowed on CPUs a and b, adding to the word of the
 *   CPU their area shows; only migration events.
 * - signal: one thread; signal events whose handler (Simulation onSignal)
 *   adds 1 to the same word with a plain load and store.
 * - ids: one thread pinned in turn to each CPU: cpu_id and cpu_id_start
 *   equal the CPU it runs on.
 */
import { OP_COMMITTED } from '../../src/contract/backend.js';
import type { SelftestCheck, SelftestChecks } from '../../src/contract/types.js';
import type { KernelProfile, LibcProfile, Arch } from './profiles.js';
import { RSEQ_FIELD } from './profiles.js';
import { Simulation, type SimulationOptions, type Task, type ThreadApi, type Yielded } from './scheduler.js';
import type { SimArray } from './section-memory.js';
import { FatalSignalError } from './thread.js';

export interface SimulatedSelftestOptions {
  kernel: KernelProfile;
  libc: LibcProfile;
  arch: Arch;
  cpus: number;
  /** Seeds the scheduler (default 1). */
  seed?: number;
  /** Adds per thread in the section checks (default 200). */
  adds?: number;
}

export interface SimulatedSelftest {
  ms: number;
  checks: SelftestChecks;
}

function emptyCheck(cpus: number[]): SelftestCheck {
  return { status: 'skipped', reason: null, attempts: 0, commits: 0, aborts: 0, moved: 0, expected: 0, sum: 0, events: 0, attributed: 0, cpus, ms: 0 };
}

/** `n` adds of 1 to words[index(id)], each retried until it commits. */
function adder(word: SimArray, n: number, index: (id: number) => number) {
  return function* (api: ThreadApi): Generator<Yielded, void, void> {
    for (let i = 0; i < n; i++) {
      for (;;) {
        const id = yield* api.currentId('cpu');
        if ((yield* api.add('cpu', id, word, index(id), 1)) === OP_COMMITTED) break;
      }
    }
  };
}

function sumCounts(c: SelftestCheck, tasks: readonly Task[]): void {
  for (const t of tasks) {
    c.attempts += t.counts.attempts;
    c.commits += t.counts.commits;
    c.aborts += t.counts.aborts;
    c.moved += t.counts.moved;
  }
}

function base(o: SimulatedSelftestOptions, seed: number, weights: SimulationOptions['weights'], extra: Partial<SimulationOptions> = {}): SimulationOptions {
  const none = { preempt: 0, yield: 0, migrate: 0, signal: 0, block: 0, wake: 0, exit: 0 };
  return { kernel: o.kernel, libc: o.libc, arch: o.arch, cpus: o.cpus, seed, eventRate: 0.2, weights: { ...none, ...weights }, log: false, maxEvents: 200_000, ...extra };
}

/** Runs one check; a simulated kill or a thread that cannot run sections is reported, never thrown. */
function guarded(c: SelftestCheck, run: () => void): SelftestCheck {
  const t0 = performance.now();
  try {
    run();
  } catch (e) {
    c.status = e instanceof FatalSignalError ? 'broken' : 'skipped';
    c.reason = e instanceof Error ? e.message : String(e);
  }
  c.ms = performance.now() - t0;
  return c;
}

function sameCpu(o: SimulatedSelftestOptions, seed: number, adds: number): SelftestCheck {
  const cpu = 0;
  const c = emptyCheck([cpu]);
  return guarded(c, () => {
    const sim = new Simulation(base(o, seed, { preempt: 1 }));
    const word = sim.words(1);
    const tasks = [0, 1].map(() => sim.spawn(adder(word, adds, () => 0), { cpu, affinity: [cpu] }));
    const r = sim.run();
    if (r.fatal) throw new FatalSignalError(r.fatal);
    sumCounts(c, tasks);
    c.events = r.events.filter((e) => e.kind === 'preempt').length;
    c.expected = c.commits;
    c.sum = Number(sim.word(word, 0));
    if (c.sum !== c.expected) {
      c.status = 'broken';
      c.reason = `two threads on CPU ${cpu}: the slot holds ${c.sum} after ${c.expected} committed adds: a section was not aborted when the other thread ran on its CPU`;
    } else if (!r.finished || c.aborts === 0) {
      c.status = 'inconclusive';
      c.reason = `no preemption landed inside a section (${c.events} preemptions)`;
    } else {
      c.status = 'ok';
    }
  });
}

function migration(o: SimulatedSelftestOptions, seed: number, adds: number): SelftestCheck {
  if (o.cpus < 2) {
    const c = emptyCheck([0]);
    c.reason = 'the simulated machine has one CPU: no migration to check';
    return c;
  }
  const c = emptyCheck([0, 1]);
  return guarded(c, () => {
    const sim = new Simulation(base(o, seed, { migrate: 1 }));
    const word = sim.words(2);
    const tasks = [0, 1].map((cpu) => sim.spawn(adder(word, adds, (id) => id), { cpu, affinity: [0, 1] }));
    const r = sim.run();
    if (r.fatal) throw new FatalSignalError(r.fatal);
    sumCounts(c, tasks);
    c.events = r.events.filter((e) => e.kind === 'migrate').length;
    // Only migrations happen here: every abort followed one.
    c.attributed = c.aborts;
    c.expected = c.commits;
    c.sum = Number(sim.word(word, 0) + sim.word(word, 1));
    if (c.sum !== c.expected) {
      c.status = 'broken';
      c.reason = `threads migrated between CPUs 0 and 1: the slots hold ${c.sum} after ${c.expected} committed adds`;
    } else if (!r.finished || c.attributed === 0) {
      c.status = 'inconclusive';
      c.reason = `no migration landed inside a section (${c.events} migrations)`;
    } else {
      c.status = 'ok';
    }
  });
}

function signal(o: SimulatedSelftestOptions, seed: number, adds: number): SelftestCheck {
  const cpu = 0;
  const c = emptyCheck([cpu]);
  return guarded(c, () => {
    let handlerAdds = 0;
    let word: SimArray | null = null;
    let sim: Simulation | null = null;
    sim = new Simulation(
      base(o, seed, { signal: 1 }, {
        onSignal: () => {
          // The handler: a plain load and store of the slot the section updates.
          if (sim && word) {
            sim.setWord(word, 0, sim.word(word, 0) + 1n);
            handlerAdds++;
          }
        },
      }),
    );
    word = sim.words(1);
    const task = sim.spawn(adder(word, adds, () => 0), { cpu, affinity: [cpu] });
    const r = sim.run();
    if (r.fatal) throw new FatalSignalError(r.fatal);
    sumCounts(c, [task]);
    c.events = handlerAdds;
    // Only signals interrupt this thread: every abort had one.
    c.attributed = c.aborts;
    c.expected = c.commits + handlerAdds;
    c.sum = Number(sim.word(word, 0));
    if (c.sum !== c.expected) {
      c.status = 'broken';
      c.reason = `the slot holds ${c.sum} after ${c.commits} committed adds and ${handlerAdds} adds by the signal handler: a section was not aborted by a signal`;
    } else if (!r.finished || c.attributed === 0) {
      c.status = 'inconclusive';
      c.reason = `no signal landed inside a section (${handlerAdds} signals handled)`;
    } else {
      c.status = 'ok';
    }
  });
}

function ids(o: SimulatedSelftestOptions, seed: number): SelftestCheck {
  const cpus = Array.from({ length: Math.min(o.cpus, 256) }, (_, i) => i);
  const c = emptyCheck(cpus.length > 1 ? [0, cpus.length - 1] : [0]);
  return guarded(c, () => {
    const sim = new Simulation(base(o, seed, {}, { eventRate: 0 }));
    const m = sim.machine;
    sim.spawn(function* (api) {
      for (const cpu of cpus) {
        const r = yield* api.setAffinity([cpu]);
        if (r.errno !== null) continue;
        const id = yield* api.currentId('cpu');
        const t = m.thread(api.tid);
        const reg = t?.registration;
        const start = reg ? m.memory.readU32(reg.addr + BigInt(RSEQ_FIELD.cpuIdStart)) : -1;
        const on = t?.cpu ?? -1;
        c.events++;
        if (id !== cpu || start !== id || on !== cpu) {
          if (c.attributed === 0) c.reason = `pinned to CPU ${cpu}: cpu_id ${id}, cpu_id_start ${start}, sched_getcpu ${on}`;
          c.attributed++;
        }
      }
    });
    const r = sim.run();
    if (r.fatal) throw new FatalSignalError(r.fatal);
    c.expected = c.events;
    c.sum = c.events - c.attributed;
    c.status = c.attributed > 0 ? 'broken' : c.events === 0 ? 'skipped' : 'ok';
    if (c.status === 'skipped') c.reason = 'sched_setaffinity to each CPU failed';
  });
}

/** The selftest on the model. Never throws for what the model does; a check that cannot run is `skipped` with its reason. */
export function simulatedSelftest(o: SimulatedSelftestOptions): SimulatedSelftest {
  const t0 = performance.now();
  const seed = o.seed ?? 1;
  const adds = o.adds ?? 200;
  let checks: SelftestChecks;
  if (!o.kernel.hasRseq) {
    const skip = (cpus: number[]): SelftestCheck => ({ ...emptyCheck(cpus), reason: 'the simulated kernel has no rseq(2) (ENOSYS)' });
    checks = { sameCpu: skip([0]), migration: skip([0, 1]), signal: skip([0]), ids: skip([0]) };
  } else {
    checks = { sameCpu: sameCpu(o, seed, adds), migration: migration(o, seed, adds), signal: signal(o, seed, adds), ids: ids(o, seed) };
  }
  return { ms: performance.now() - t0, checks };
}
