/**
 * A seeded, deterministic scheduler for the simulated machine: simulated
 * threads run user programs (generators that call the critical sections of
 * sections.ts and do plain loads, stores and system calls), one step at a
 * time, on simulated CPUs; between any two steps the scheduler may deliver
 * an event.
 *
 * Model:
 * - Each CPU runs at most one thread at a time (`running`). Threads on
 *   different CPUs interleave step by step (sequentially consistent memory).
 *   A thread that is not running on its CPU cannot step; when a CPU switches
 *   threads, the one switched out gets a preemption event (rseq_preempt), so
 *   a critical section it was in aborts when it runs again.
 * - A CPU with no running thread takes the next runnable thread of its run
 *   queue in tid order after the one that ran last (round robin). That rule
 *   is part of the state, not a choice, so it is not recorded.
 * - Events (`SchedEvent`): `step` (run one step of a running thread),
 *   `preempt` (switch the CPU to `next`, which may be the same thread),
 *   `yield` (switch to the next thread round robin), `migrate` (move a
 *   thread to another CPU of its affinity), `signal` (a signal is delivered
 *   when the thread next runs), `block` / `wake` (sleep, then become
 *   runnable on a CPU), `exit` (the thread dies wherever it is).
 * - The kernel's return to user space runs for a thread right before its
 *   next step when something is pending for it (preemption, migration,
 *   membarrier IPI, signal): that is where a critical section aborts.
 *
 * Determinism: every choice comes from `Choices` (mulberry32 seeded with
 * `seed`, or a caller's source), so the same seed, options and programs
 * give the same events, log and memory. `run()` returns the events it chose;
 * passing them as `replay` to a new Simulation with the same setup applies
 * exactly those events and reproduces the run.
 */
import { addonAreaLayout } from '../../src/contract/abi.js';
import { fieldUnavailable } from '../../src/contract/fields.js';
import { OP_ABORTED, OP_MOVED, type IndexMode } from '../../src/contract/backend.js';
import type { SyscallResult } from './errno.js';
import { Machine, type MachineOptions } from './kernel.js';
import { prng } from './prng.js';
import type { ReturnCause } from './return-to-user.js';
import { MEMBARRIER_CMD, MEMBARRIER_CMD_FLAG_CPU, RSEQ_FIELD, RSEQ_SIG } from './profiles.js';
import { checkSectionArgs, type SectionFields, type SectionName } from './section-args.js';
import { execute, type Boundary, type ExecuteHooks } from './section-exec.js';
import { installSections } from './section-layout.js';
import { simulatedMemory, type SimArray } from './section-memory.js';
import { FatalSignalError, type FatalSignal, type SimThread } from './thread.js';

export type SchedEvent =
  | { kind: 'step'; tid: number }
  | { kind: 'preempt'; tid: number; next: number }
  | { kind: 'yield'; tid: number }
  | { kind: 'migrate'; tid: number; cpu: number }
  | { kind: 'signal'; tid: number }
  | { kind: 'block'; tid: number }
  | { kind: 'wake'; tid: number; cpu: number }
  | { kind: 'exit'; tid: number };

export type EventKind = SchedEvent['kind'];

/** Where the scheduler's choices come from. */
export interface Choices {
  /** An integer in [0, n). */
  int(n: number): number;
  /** A number in [0, 1). */
  real(): number;
}

/** Choices from mulberry32 (kernel.ts `prng`) seeded with `seed`. */
export function seededChoices(seed: number): Choices {
  const r = prng(seed);
  return { int: (n) => Math.floor(r() * n), real: r };
}

/** A step of user code outside any critical section. */
export interface UserStep {
  readonly program: null;
  readonly kind: 'user';
  readonly text: string;
  readonly ip: bigint;
  readonly inSection: false;
  readonly beforeCommit: false;
  readonly committed: false;
  readonly steps: 1;
}

export type Yielded = Boundary | UserStep;

/** A user program: runs on one simulated thread, one step per `next()`. */
export type UserProgram = (api: ThreadApi) => Generator<Yielded, void, void>;

export interface OpCountsSim {
  attempts: number;
  aborts: number;
  moved: number;
  /** Commit stores executed. */
  commits: number;
}

/** What a user program can do. Each method is a generator to use with `yield*`. */
export interface ThreadApi {
  readonly tid: number;
  readonly sim: Simulation;
  /** One load of cpu_id or mm_cid from the thread's area (ERR_RSEQ_FIELD_UNAVAILABLE without mm_cid). */
  currentId(mode: IndexMode): Generator<Yielded, number, void>;
  add(mode: IndexMode, id: number, words: SimArray, index: number, count: number, hooks?: ExecuteHooks): Generator<Yielded, number, void>;
  storeIfEqual(mode: IndexMode, id: number, words: SimArray, index: number, expect: number, newv: number, hooks?: ExecuteHooks): Generator<Yielded, number, void>;
  doubleCompareStore(
    mode: IndexMode,
    id: number,
    words: SimArray,
    index: number,
    expect: number,
    index2: number,
    expect2: number,
    newv: number,
    hooks?: ExecuteHooks,
  ): Generator<Yielded, number, void>;
  speculativeStoreCommit(
    mode: IndexMode,
    id: number,
    words: SimArray,
    index: number,
    expect: number,
    index2: number,
    newv2: number,
    newv: number,
    release: boolean,
    hooks?: ExecuteHooks,
  ): Generator<Yielded, number, void>;
  copyCommit(
    mode: IndexMode,
    id: number,
    words: SimArray,
    index: number,
    expect: number,
    dst: SimArray,
    dstOffset: number,
    src: SimArray,
    srcOffset: number,
    length: number,
    newv: number,
    release: boolean,
    hooks?: ExecuteHooks,
  ): Generator<Yielded, number, void>;
  listPop(mode: IndexMode, id: number, words: SimArray, head: number, next: number, count: number, empty: number, hooks?: ExecuteHooks): Generator<Yielded, number, void>;
  /** A plain load of words[index] (one step). */
  load(words: SimArray, index: number): Generator<Yielded, bigint, void>;
  /** A plain store (one step). */
  store(words: SimArray, index: number, value: bigint): Generator<Yielded, void, void>;
  /**
   * An atomic compare-and-exchange of words[index] (one step, like `lock
   * cmpxchg`); returns the old value. `onSuccess` runs in the same step.
   */
  compareExchange(words: SimArray, index: number, expect: bigint, newv: bigint, onSuccess?: () => void): Generator<Yielded, bigint, void>;
  /** Copies bytes in (one step). */
  writeBytes(bytes: SimArray, offset: number, data: Uint8Array): Generator<Yielded, void, void>;
  /** Copies bytes out (one step). */
  readBytes(bytes: SimArray, offset: number, length: number): Generator<Yielded, Uint8Array, void>;
  /** membarrier(PRIVATE_EXPEDITED_RSEQ) on every CPU (cpu < 0) or one; registers the process first, once. */
  fence(cpu: number): Generator<Yielded, SyscallResult, void>;
  /** sched_setaffinity on this thread (one step). */
  setAffinity(cpus: readonly number[]): Generator<Yielded, SyscallResult, void>;
  /** This thread's counts so far. */
  counts(): Readonly<OpCountsSim>;
}

type TaskState = 'runnable' | 'blocked' | 'done' | 'exited';

/** A simulated thread and its user program. */
export interface Task {
  readonly tid: number;
  readonly thread: SimThread;
  readonly state: TaskState;
  readonly counts: Readonly<OpCountsSim>;
  /** The boundary after the last step it ran (where it stopped if it exited). */
  readonly last: Yielded | null;
}

interface TaskImpl extends Task {
  state: TaskState;
  counts: OpCountsSim;
  last: Yielded | null;
  gen: Generator<Yielded, void, void>;
  pendingSignal: boolean;
  error: unknown;
}

export interface SimulationOptions extends MachineOptions {
  /** Seeds the scheduler (the machine's addresses use `seed` too unless `machineSeed` is given). */
  seed?: number;
  machineSeed?: number;
  /** Probability that a decision is an event rather than a step (default 0.05). */
  eventRate?: number;
  /** Relative weights of the event kinds (default preempt 4, yield 1, migrate 2, signal 2, block 1, wake 2, exit 0). */
  weights?: Partial<Record<Exclude<EventKind, 'step'>, number>>;
  /** Stop after this many decisions (default 1e6). */
  maxEvents?: number;
  /** Apply these events instead of choosing. */
  replay?: readonly SchedEvent[];
  /** Choices other than the seeded PRNG. */
  choices?: Choices;
  /** Keep a text log of what happened (default true). */
  log?: boolean;
  /**
   * The thread's signal handler: runs when a `signal` event is delivered,
   * after the kernel handled rseq_cs (aborting a section it interrupted) and
   * before the thread's next step. Default: none.
   */
  onSignal?: (task: Task) => void;
}

export interface RunResult {
  /** Every task finished (returned or exited). */
  finished: boolean;
  /** The events applied, in order (a replayable trace). */
  events: SchedEvent[];
  /** What happened, one line per event plus aborts and kernel actions. */
  log: string[];
  /** The process was killed. */
  fatal: FatalSignal | null;
}

const DEFAULT_WEIGHTS: Record<Exclude<EventKind, 'step'>, number> = { preempt: 4, yield: 1, migrate: 2, signal: 2, block: 1, wake: 2, exit: 0 };

const hex = (v: bigint): string => `0x${v.toString(16)}`;

export class Simulation {
  readonly machine: Machine;
  private readonly tasks: TaskImpl[] = [];
  private readonly running: Array<TaskImpl | null>;
  private readonly lastRan: number[];
  private readonly choices: Choices;
  private readonly eventRate: number;
  private readonly weights: Record<Exclude<EventKind, 'step'>, number>;
  private readonly maxEvents: number;
  private readonly replay: readonly SchedEvent[] | null;
  private readonly keepLog: boolean;
  private readonly onSignal: ((task: Task) => void) | null;
  private membarrierRegistered = false;
  private readonly events: SchedEvent[] = [];
  private readonly logLines: string[] = [];
  private fatal: FatalSignal | null = null;

  constructor(options: SimulationOptions = {}) {
    const seed = options.seed ?? 1;
    this.machine = new Machine({ ...options, seed: options.machineSeed ?? seed, pid: options.pid ?? 1000 });
    installSections(this.machine);
    this.running = Array.from({ length: this.machine.nrCpus }, () => null);
    this.lastRan = Array.from({ length: this.machine.nrCpus }, () => -1);
    this.choices = options.choices ?? seededChoices(seed);
    this.eventRate = options.eventRate ?? 0.05;
    this.weights = { ...DEFAULT_WEIGHTS, ...options.weights };
    this.maxEvents = options.maxEvents ?? 1_000_000;
    this.replay = options.replay ?? null;
    this.keepLog = options.log ?? true;
    this.onSignal = options.onSignal ?? null;
  }

  // -------------------------------------------------------------------------
  // Setup

  /** A zeroed array of `length` 64-bit words in simulated memory. */
  words(length: number, init?: (i: number) => bigint | number): SimArray {
    const addr = this.machine.memory.map(Math.max(8, length * 8), 64, 'words');
    const a = { addr, length };
    if (init) for (let i = 0; i < length; i++) this.setWord(a, i, init(i));
    return a;
  }

  /** A zeroed byte array in simulated memory. */
  bytes(length: number): SimArray {
    return { addr: this.machine.memory.map(Math.max(1, length), 64, 'bytes'), length };
  }

  word(a: SimArray, i: number): bigint {
    return BigInt.asIntN(64, this.machine.memory.readU64(a.addr + 8n * BigInt(i)));
  }

  setWord(a: SimArray, i: number, v: bigint | number): void {
    this.machine.memory.writeU64(a.addr + 8n * BigInt(i), BigInt(v));
  }

  readWords(a: SimArray): bigint[] {
    return Array.from({ length: a.length }, (_, i) => this.word(a, i));
  }

  readBytes(a: SimArray, offset = 0, length = a.length - offset): Uint8Array {
    return this.machine.memory.readBytes(a.addr + BigInt(offset), length);
  }

  /**
   * A new thread running `program`: created on `cpu` (default: the
   * machine's round robin), started through the libc profile, and
   * registered by the simulated addon (addonAreaLayout: 32 bytes, or
   * exactly the feature size past 32) when libc did not register it.
   */
  spawn(program: UserProgram, opts: { cpu?: number; affinity?: readonly number[] } = {}): Task {
    const m = this.machine;
    const thread = m.createThread(opts);
    m.libcStart(thread);
    if (!thread.registration && m.profile.hasRseq) {
      const layout = addonAreaLayout(m.profile.featureSize, m.profile.align);
      const area = m.memory.map(layout.allocSize, layout.align, 'addon-rseq-area');
      m.sysRseq(thread, area, layout.length, 0, RSEQ_SIG[m.arch]);
    }
    m.returnToUser(thread, 'syscall');
    const task: TaskImpl = {
      tid: thread.tid,
      thread,
      state: 'runnable',
      counts: { attempts: 0, aborts: 0, moved: 0, commits: 0 },
      last: null,
      gen: undefined as unknown as Generator<Yielded, void, void>,
      pendingSignal: false,
      error: undefined,
    };
    task.gen = program(this.api(task));
    this.tasks.push(task);
    return task;
  }

  task(tid: number): Task {
    return this.taskImpl(tid);
  }

  allTasks(): readonly Task[] {
    return this.tasks;
  }

  private taskImpl(tid: number): TaskImpl {
    const t = this.tasks.find((x) => x.tid === tid);
    if (!t) throw new RangeError(`no task ${tid}`);
    return t;
  }

  // -------------------------------------------------------------------------
  // The user API

  private userStep(task: TaskImpl, text: string): UserStep {
    return { program: null, kind: 'user', text, ip: this.machine.userRegs(task.thread).ip, inSection: false, beforeCommit: false, committed: false, steps: 1 };
  }

  private api(task: TaskImpl): ThreadApi {
    const sim = this;
    const m = this.machine;
    const area = (): bigint => {
      const reg = task.thread.registration;
      if (!reg) throw new Error(`thread ${task.tid} holds no rseq registration`);
      return reg.addr;
    };
    const needMode = (mode: IndexMode): void => {
      if (mode === 'mmcid' && !m.fields().mmCid) throw fieldUnavailable('mmCid', m.profile.featureSize);
    };
    function* op<N extends SectionName>(name: N, args: SectionFields[N], operands: { words: SimArray; src?: SimArray; dst?: SimArray }, hooks?: ExecuteHooks) {
      checkSectionArgs(name, args, { words: operands.words.length, dst: operands.dst?.length, src: operands.src?.length });
      needMode(args.mode);
      const mem = simulatedMemory(m.memory, area(), operands);
      task.counts.attempts++;
      const r = yield* execute(m, task.thread, name, args, mem, {
        onCommit: (v) => {
          task.counts.commits++;
          hooks?.onCommit?.(v);
        },
      });
      if (r.status === OP_ABORTED) task.counts.aborts++;
      if (r.status === OP_MOVED) task.counts.moved++;
      return r.value;
    }
    const api: ThreadApi = {
      tid: task.tid,
      sim,
      *currentId(mode) {
        needMode(mode);
        const v = m.memory.readU32(area() + BigInt(mode === 'cpu' ? RSEQ_FIELD.cpuId : RSEQ_FIELD.mmCid));
        yield sim.userStep(task, `id = rseq->${mode === 'cpu' ? 'cpu_id' : 'mm_cid'} (${v})`);
        return v;
      },
      add: (mode, id, words, index, count, hooks) => op('add', { mode, id, index, count }, { words }, hooks),
      storeIfEqual: (mode, id, words, index, expect, newv, hooks) => op('storeIfEqual', { mode, id, index, expect, newv }, { words }, hooks),
      doubleCompareStore: (mode, id, words, index, expect, index2, expect2, newv, hooks) =>
        op('doubleCompareStore', { mode, id, index, expect, index2, expect2, newv }, { words }, hooks),
      speculativeStoreCommit: (mode, id, words, index, expect, index2, newv2, newv, release, hooks) =>
        op('speculativeStoreCommit', { mode, id, index, expect, index2, newv2, newv, release }, { words }, hooks),
      copyCommit: (mode, id, words, index, expect, dst, dstOffset, src, srcOffset, length, newv, release, hooks) =>
        op('copyCommit', { mode, id, index, expect, dstOffset, srcOffset, length, newv, release }, { words, dst, src }, hooks),
      listPop: (mode, id, words, head, next, count, empty, hooks) => op('listPop', { mode, id, head, next, count, empty }, { words }, hooks),
      *load(words, index) {
        const v = sim.word(words, index);
        yield sim.userStep(task, `load words[${index}] (${v})`);
        return v;
      },
      *store(words, index, value) {
        sim.setWord(words, index, value);
        yield sim.userStep(task, `store words[${index}] = ${value}`);
      },
      *compareExchange(words, index, expect, newv, onSuccess) {
        const old = sim.word(words, index);
        if (old === BigInt.asIntN(64, expect)) {
          sim.setWord(words, index, newv);
          onSuccess?.();
        }
        yield sim.userStep(task, `cmpxchg words[${index}] ${expect} -> ${newv} (was ${old})`);
        return old;
      },
      *writeBytes(bytes, offset, data) {
        data.forEach((b, i) => m.memory.writeU8(bytes.addr + BigInt(offset + i), b));
        yield sim.userStep(task, `write ${data.length} bytes at ${offset}`);
      },
      *readBytes(bytes, offset, length) {
        const out = m.memory.readBytes(bytes.addr + BigInt(offset), length);
        yield sim.userStep(task, `read ${length} bytes at ${offset}`);
        return out;
      },
      *fence(cpu) {
        let r: SyscallResult = { ret: 0, errno: null };
        if (!sim.membarrierRegistered) {
          r = m.membarrier(task.thread, MEMBARRIER_CMD.REGISTER_PRIVATE_EXPEDITED_RSEQ);
          if (r.errno === null) sim.membarrierRegistered = true;
        }
        if (r.errno === null) {
          r = cpu >= 0 ? m.membarrier(task.thread, MEMBARRIER_CMD.PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU, cpu) : m.membarrier(task.thread, MEMBARRIER_CMD.PRIVATE_EXPEDITED_RSEQ);
        }
        sim.kernel(task, 'syscall');
        yield sim.userStep(task, `membarrier(PRIVATE_EXPEDITED_RSEQ, cpu ${cpu}) = ${r.errno ?? r.ret}`);
        return r;
      },
      *setAffinity(cpus) {
        const r = m.setAffinity(task.thread, cpus);
        sim.kernel(task, 'syscall');
        yield sim.userStep(task, `sched_setaffinity([${cpus.join(',')}]) = ${r.errno ?? r.ret}`);
        return r;
      },
      counts: () => ({ ...task.counts }),
    };
    return api;
  }

  // -------------------------------------------------------------------------
  // Running

  private line(s: string): void {
    if (this.keepLog) this.logLines.push(s);
  }

  /** The kernel's return to user space for a task; records a kill. */
  private kernel(task: TaskImpl, cause: ReturnCause): void {
    const before = this.machine.userRegs(task.thread).ip;
    const r = this.machine.returnToUser(task.thread, cause);
    if (r.cs === 'aborted') this.line(`  kernel: ${task.tid} aborted at ${hex(before)} -> abort_ip ${hex(this.machine.userRegs(task.thread).ip)} (${cause})`);
    else if (r.cs !== 'none') this.line(`  kernel: ${task.tid} rseq_cs ${r.cs} (${cause})`);
    if (r.signal) throw new FatalSignalError(this.machine.fatal as FatalSignal);
  }

  private live(): TaskImpl[] {
    return this.tasks.filter((t) => t.state === 'runnable' || t.state === 'blocked');
  }

  private runnableOn(cpu: number): TaskImpl[] {
    return this.tasks.filter((t) => t.state === 'runnable' && t.thread.cpu === cpu);
  }

  /** Fills idle CPUs round robin (part of the state, never recorded). */
  private fill(): void {
    for (let cpu = 0; cpu < this.running.length; cpu++) {
      const cur = this.running[cpu];
      if (cur && cur.state === 'runnable' && cur.thread.cpu === cpu) continue;
      this.running[cpu] = this.roundRobin(cpu);
    }
  }

  private roundRobin(cpu: number, after = this.lastRan[cpu] as number): TaskImpl | null {
    const q = this.runnableOn(cpu);
    if (q.length === 0) return null;
    return q.find((t) => t.tid > after) ?? (q[0] as TaskImpl);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[this.choices.int(xs.length)] as T;
  }

  /** Chooses the next event (the state is filled). */
  private choose(): SchedEvent | null {
    const running = this.running.filter((t): t is TaskImpl => t !== null);
    const blocked = this.tasks.filter((t) => t.state === 'blocked');
    const wakeTo = (t: TaskImpl): SchedEvent => ({ kind: 'wake', tid: t.tid, cpu: this.pick(t.thread.affinity) });
    if (running.length === 0) return blocked.length > 0 ? wakeTo(this.pick(blocked)) : null;
    if (this.choices.real() < this.eventRate) {
      const kinds = (Object.keys(this.weights) as Array<Exclude<EventKind, 'step'>>).filter((k) => {
        if (this.weights[k] <= 0) return false;
        if (k === 'wake') return blocked.length > 0;
        if (k === 'migrate') return running.some((t) => t.thread.affinity.length > 1);
        return true;
      });
      const total = kinds.reduce((s, k) => s + this.weights[k], 0);
      if (total > 0) {
        let x = this.choices.real() * total;
        let kind = kinds[kinds.length - 1] as Exclude<EventKind, 'step'>;
        for (const k of kinds) {
          if (x < this.weights[k]) {
            kind = k;
            break;
          }
          x -= this.weights[k];
        }
        switch (kind) {
          case 'preempt': {
            const t = this.pick(running);
            return { kind, tid: t.tid, next: this.pick(this.runnableOn(t.thread.cpu)).tid };
          }
          case 'migrate': {
            const t = this.pick(running.filter((x) => x.thread.affinity.length > 1));
            return { kind, tid: t.tid, cpu: this.pick(t.thread.affinity.filter((c) => c !== t.thread.cpu)) };
          }
          case 'wake':
            return wakeTo(this.pick(blocked));
          case 'yield':
          case 'signal':
          case 'block':
          case 'exit':
            return { kind, tid: this.pick(running).tid };
        }
      }
    }
    return { kind: 'step', tid: this.pick(running).tid };
  }

  private invalid(ev: SchedEvent, why: string): never {
    throw new Error(`replay: event ${JSON.stringify(ev)} cannot apply: ${why}`);
  }

  private runningTask(ev: SchedEvent): TaskImpl {
    const t = this.taskImpl(ev.tid);
    if (t.state !== 'runnable' || this.running[t.thread.cpu] !== t) this.invalid(ev, `task ${ev.tid} is not running`);
    return t;
  }

  private apply(ev: SchedEvent): void {
    const m = this.machine;
    const n = this.events.length;
    this.events.push(ev);
    switch (ev.kind) {
      case 'step': {
        const t = this.runningTask(ev);
        const cpu = t.thread.cpu;
        this.lastRan[cpu] = t.tid;
        if (t.pendingSignal) {
          t.pendingSignal = false;
          this.kernel(t, 'signal');
          this.onSignal?.(t);
        } else if (m.pendingEvents(t.thread) !== 0) {
          this.kernel(t, 'preempt');
        }
        let it: IteratorResult<Yielded, void>;
        try {
          it = t.gen.next();
        } catch (e) {
          t.state = 'done';
          t.error = e;
          throw e;
        }
        if (it.done) {
          t.state = 'done';
          this.line(`#${n} ${t.tid}@cpu${cpu} returns`);
          this.running[cpu] = null;
          m.exitThread(t.thread);
          return;
        }
        t.last = it.value;
        const where = it.value.program ?? 'user';
        this.line(`#${n} ${t.tid}@cpu${cpu} ${where}: ${it.value.text} -> ${hex(it.value.ip)}${it.value.inSection ? ' [in section]' : ''}`);
        if (t.thread.cpu !== cpu && this.running[cpu] === t) this.running[cpu] = null;
        return;
      }
      case 'preempt':
      case 'yield': {
        const t = this.runningTask(ev);
        const cpu = t.thread.cpu;
        const next = ev.kind === 'preempt' ? this.taskImpl(ev.next) : (this.roundRobin(cpu, t.tid) as TaskImpl);
        if (next.state !== 'runnable' || next.thread.cpu !== cpu) this.invalid(ev, `task ${next.tid} is not runnable on cpu ${cpu}`);
        m.preempt(t.thread);
        this.running[cpu] = next;
        this.line(`#${n} ${ev.kind} ${t.tid}@cpu${cpu}, ${next.tid} runs`);
        return;
      }
      case 'migrate': {
        const t = this.taskImpl(ev.tid);
        if (t.state !== 'runnable') this.invalid(ev, `task ${ev.tid} is not runnable`);
        const from = t.thread.cpu;
        if (!t.thread.affinity.includes(ev.cpu) || ev.cpu === from) this.invalid(ev, `cpu ${ev.cpu} is not another allowed CPU`);
        if (this.running[from] === t) this.running[from] = null;
        m.migrate(t.thread, ev.cpu);
        this.line(`#${n} migrate ${t.tid} cpu${from} -> cpu${ev.cpu}`);
        return;
      }
      case 'signal': {
        const t = this.taskImpl(ev.tid);
        if (t.state !== 'runnable' && t.state !== 'blocked') this.invalid(ev, `task ${ev.tid} is not alive`);
        t.pendingSignal = true;
        this.line(`#${n} signal ${t.tid}`);
        return;
      }
      case 'block': {
        const t = this.taskImpl(ev.tid);
        if (t.state !== 'runnable') this.invalid(ev, `task ${ev.tid} is not runnable`);
        t.state = 'blocked';
        if (this.running[t.thread.cpu] === t) this.running[t.thread.cpu] = null;
        m.preempt(t.thread);
        this.line(`#${n} block ${t.tid}`);
        return;
      }
      case 'wake': {
        const t = this.taskImpl(ev.tid);
        if (t.state !== 'blocked') this.invalid(ev, `task ${ev.tid} is not blocked`);
        t.state = 'runnable';
        if (ev.cpu !== t.thread.cpu) m.migrate(t.thread, ev.cpu);
        this.line(`#${n} wake ${t.tid} on cpu${ev.cpu}`);
        return;
      }
      case 'exit': {
        const t = this.taskImpl(ev.tid);
        if (t.state !== 'runnable' && t.state !== 'blocked') this.invalid(ev, `task ${ev.tid} is not alive`);
        if (this.running[t.thread.cpu] === t) this.running[t.thread.cpu] = null;
        t.state = 'exited';
        m.exitThread(t.thread);
        this.line(`#${n} exit ${t.tid}${t.last?.inSection ? ` inside ${t.last.program}` : ''}`);
        return;
      }
    }
  }

  /** Runs until every task finished, the process died, maxEvents, or the end of the replay. */
  run(): RunResult {
    let i = 0;
    try {
      for (;;) {
        if (this.live().length === 0) break;
        this.fill();
        let ev: SchedEvent | null;
        if (this.replay) {
          if (i >= this.replay.length) break;
          ev = this.replay[i++] as SchedEvent;
        } else {
          if (this.events.length >= this.maxEvents) break;
          ev = this.choose();
          if (!ev) break;
        }
        this.apply(ev);
      }
    } catch (e) {
      if (!(e instanceof FatalSignalError)) throw e;
      this.fatal = this.machine.fatal;
      this.line(`SIGSEGV ${e.tid}: ${e.reason}`);
    }
    return { finished: this.live().length === 0, events: [...this.events], log: [...this.logLines], fatal: this.fatal };
  }
}
