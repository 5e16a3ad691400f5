/**
 * Runs the step programs on a simulated thread. `execute()` is a generator:
 * every `next()` executes one step against a SectionMemory and yields a
 * Boundary (where the thread will resume). Between two steps the driver may
 * deliver an event to the thread (preemption, migration, signal, membarrier
 * IPI): the kernel's return-to-user logic then clears rseq_cs and moves the
 * thread's IP to abort_ip if the IP is inside [start_ip, start_ip +
 * post_commit_offset), and the program continues from wherever the IP now
 * is. `runSection()` runs one attempt to completion, delivering the events a
 * callback asks for.
 */
import { OP_COMMITTED, type OpStatus } from '../../src/contract/backend.js';
import type { Machine } from './kernel.js';
import { MemoryFault } from './memory.js';
import type { ReturnCause } from './return-to-user.js';
import type { SectionFields, SectionName } from './section-args.js';
import { installSections, type InstalledProgram } from './section-layout.js';
import type { SectionMemory } from './section-memory.js';
import type { Cpu, Label, Step, StepKind } from './section-programs.js';
import { FatalSignalError, type SimThread, type UserRegs } from './thread.js';

/** The point between two steps: where the thread resumes if something happens now. */
export interface Boundary {
  readonly program: SectionName;
  /** Steps run so far in this attempt (1 after the descriptor store). */
  readonly steps: number;
  /** The step that just ran. */
  readonly kind: StepKind;
  readonly text: string;
  /** The next instruction: the IP the kernel sees if the thread is interrupted now. */
  readonly ip: bigint;
  /** ip is inside [start_ip, post_commit_ip): an interrupt now aborts the section. */
  readonly inSection: boolean;
  /** The next instruction is the commit store. */
  readonly beforeCommit: boolean;
  /** The commit store has run. */
  readonly committed: boolean;
}

export interface SectionResult {
  status: OpStatus;
  /** What the operation returns (listPop: the index, or minus the status). */
  value: number;
  /** The commit store ran. */
  committed: boolean;
  /** Steps run, the final return included. */
  steps: number;
}

export interface ExecuteHooks {
  /** Called right after the commit store, with the value the operation returns. */
  onCommit?: (value: number) => void;
}

/**
 * Runs one attempt of a program on `thread`: each `next()` runs one step
 * and yields the boundary after it; the return value is the result. The
 * IP lives in the machine's user registers of the thread, so a
 * `machine.returnToUser()` between two `next()` calls can abort the
 * section. A fault on user memory or a jump outside the program text kills
 * the process (FatalSignalError).
 */
export function* execute<N extends SectionName>(
  machine: Machine,
  thread: SimThread,
  name: N,
  args: SectionFields[N],
  mem: SectionMemory,
  hooks: ExecuteHooks = {},
): Generator<Boundary, SectionResult, void> {
  const code = installSections(machine);
  const inst = code.programs[name] as InstalledProgram<SectionFields[N]>;
  const program = inst.program;
  const regs: UserRegs = machine.userRegs(thread);
  const c: Cpu<SectionFields[N]> = { args, mem, descriptor: inst.descriptor, r: [0n, 0n, 0n, 0n], byte: 0, i: 0 };
  let committed = false;
  let steps = 0;
  regs.ip = inst.entryIp;
  for (;;) {
    const k = inst.indexOf(regs.ip);
    if (k === undefined) {
      const fatal = machine.userFault(thread, `execution at 0x${regs.ip.toString(16)}, which is not an instruction of ${name}`);
      throw new FatalSignalError(fatal);
    }
    const step = program.steps[k] as Step<SectionFields[N]>;
    steps++;
    if (step.status !== undefined) {
      regs.ip = code.callerIp;
      return { status: step.status, value: program.value(step.status, c), committed, steps };
    }
    let target: Label | undefined | void;
    try {
      target = (step.run as NonNullable<typeof step.run>)(c);
    } catch (e) {
      if (!(e instanceof MemoryFault)) throw e;
      throw new FatalSignalError(machine.userFault(thread, `segmentation fault: ${e.message} in ${name} (${step.text})`));
    }
    if (step.kind === 'commit') {
      committed = true;
      hooks.onCommit?.(program.value(OP_COMMITTED, c));
    }
    regs.ip = target ? inst.addressOf(target) : (inst.addresses[k + 1] as bigint);
    yield {
      program: name,
      steps,
      kind: step.kind,
      text: step.text,
      ip: regs.ip,
      inSection: regs.ip >= inst.startIp && regs.ip < inst.postCommitIp,
      beforeCommit: regs.ip === inst.commitIp,
      committed,
    };
  }
}

/**
 * The kernel's return to user space on `thread` (an interrupt between two
 * steps). Throws FatalSignalError when the kernel kills the process.
 */
export function interrupt(machine: Machine, thread: SimThread, cause: ReturnCause = 'preempt'): void {
  const r = machine.returnToUser(thread, cause);
  if (r.signal) throw new FatalSignalError(machine.fatal ?? { signal: r.signal, tid: thread.tid, reason: r.reason ?? '' });
}

export interface RunOptions extends ExecuteHooks {
  /**
   * Called at every boundary; may change the machine (preempt, migrate, a
   * membarrier from another thread) and returns the cause of a return to
   * user space to deliver now, or null. Pending events of the thread (a
   * membarrier IPI, a migration) are delivered as a preemption as well.
   */
  at?: (b: Boundary) => ReturnCause | null | void;
  /** Every boundary passed, in order (for traces). */
  trace?: Boundary[];
}

/** Runs one attempt to completion on `thread`, delivering the events `at` asks for. */
export function runSection<N extends SectionName>(
  machine: Machine,
  thread: SimThread,
  name: N,
  args: SectionFields[N],
  mem: SectionMemory,
  options: RunOptions = {},
): SectionResult {
  const gen = execute(machine, thread, name, args, mem, options);
  for (;;) {
    const it = gen.next();
    if (it.done) return it.value;
    options.trace?.push(it.value);
    const cause = options.at?.(it.value) ?? (machine.pendingEvents(thread) !== 0 ? 'preempt' : null);
    if (cause) interrupt(machine, thread, cause);
  }
}
