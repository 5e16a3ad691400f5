/**
 * The step programs laid out in a machine's simulated memory
 * (installSections): a text region where every step has an address (4 bytes
 * each, like fixed-width instructions), the architecture's signature bytes
 * right before each abort handler (x86_64: `0f b9 3d` + signature, the `ud1`
 * glibc and librseq emit; aarch64: the `brk #0x45e0` word), and one 32-byte
 * struct rseq_cs per program {version 0, flags 0, start_ip,
 * post_commit_offset, abort_ip} in a data region. The simulated kernel
 * (rseq-cs.ts, on the return to user space) reads exactly those bytes.
 */
import type { Machine } from './kernel.js';
import { RSEQ_SIG, type Arch } from './profiles.js';
import { SECTION_NAMES, type SectionFields, type SectionName } from './section-args.js';
import { PROGRAMS, type Label, type Program } from './section-programs.js';

/** Bytes of one simulated instruction. */
export const STEP_BYTES = 4;
const PROGRAM_ALIGN = 64;

/** A program placed in a machine's memory. */
export interface InstalledProgram<A> {
  readonly program: Program<A>;
  /** The struct rseq_cs. */
  readonly descriptor: bigint;
  /** The first instruction (the store of the descriptor, before start_ip). */
  readonly entryIp: bigint;
  readonly startIp: bigint;
  readonly commitIp: bigint;
  /** start_ip + post_commit_offset: the instruction after the commit. */
  readonly postCommitIp: bigint;
  readonly abortIp: bigint;
  /** Address of each step. */
  readonly addresses: readonly bigint[];
  /** The step at an address, or undefined when the address is not one of this program's instructions. */
  indexOf(ip: bigint): number | undefined;
  addressOf(label: Label): bigint;
}

/** The text and descriptors of every program in one machine. */
export interface InstalledCode {
  readonly arch: Arch;
  /** The text region (programs and the caller stub). */
  readonly text: bigint;
  readonly textBytes: number;
  /** Where user code outside the sections runs (the IP between sections). */
  readonly callerIp: bigint;
  readonly programs: { readonly [N in SectionName]: InstalledProgram<SectionFields[N]> };
}

/** The bytes placed right before every abort handler: the signature instruction. */
export function signatureBytes(arch: Arch, sig: number = RSEQ_SIG[arch]): number[] {
  const le = [sig & 0xff, (sig >>> 8) & 0xff, (sig >>> 16) & 0xff, (sig >>> 24) & 0xff];
  // x86_64: `ud1 <sig>(%rip), %edi` = 0f b9 3d + the 32-bit signature, after a nop to keep 4-byte slots.
  return arch === 'x86_64' ? [0x90, 0x0f, 0xb9, 0x3d, ...le] : le;
}

const installed = new WeakMap<Machine, InstalledCode>();

function layout<A>(program: Program<A>, base: bigint, sig: number[]): { addresses: bigint[]; bytes: Array<[bigint, number[]]>; end: bigint } {
  const addresses: bigint[] = [];
  const bytes: Array<[bigint, number[]]> = [];
  let at = base;
  for (const step of program.steps) {
    if (step.label === 'abort') {
      bytes.push([at, sig]);
      at += BigInt(sig.length);
    }
    addresses.push(at);
    // Filler instruction bytes: the step's index, so that dumps are readable.
    bytes.push([at, [0xcc, addresses.length & 0xff, 0xcc, 0xcc]]);
    at += BigInt(STEP_BYTES);
  }
  return { addresses, bytes, end: at };
}

function place<A>(machine: Machine, program: Program<A>, addresses: bigint[], descriptor: bigint): InstalledProgram<A> {
  const labelAt = new Map<Label, number>();
  program.steps.forEach((s, i) => {
    if (s.label) {
      if (labelAt.has(s.label)) throw new Error(`${program.name}: label ${s.label} twice`);
      labelAt.set(s.label, i);
    }
  });
  const need = (l: Label): number => {
    const i = labelAt.get(l);
    if (i === undefined) throw new Error(`${program.name}: no ${l} label`);
    return i;
  };
  const start = need('start');
  const commit = need('commit');
  const post = need('post_commit');
  const abort = need('abort');
  if (start !== 1 || program.steps[0]?.kind !== 'descriptor') throw new Error(`${program.name}: the descriptor store must come right before start`);
  if (post !== commit + 1) throw new Error(`${program.name}: the commit must be the last instruction of the section`);
  if (abort <= commit) throw new Error(`${program.name}: the abort handler must be outside the section`);
  program.steps.forEach((s, i) => {
    if ((s.kind === 'commit') !== (i === commit)) throw new Error(`${program.name}: exactly one commit, at the commit label`);
    if (s.kind === 'return' ? s.status === undefined || s.run !== undefined : s.run === undefined) {
      throw new Error(`${program.name}: step ${i} must either run or return a status`);
    }
  });
  const byIp = new Map<bigint, number>(addresses.map((a, i) => [a, i]));
  const startIp = addresses[start] as bigint;
  const postCommitIp = addresses[post] as bigint;
  const abortIp = addresses[abort] as bigint;
  const m = machine.memory;
  m.writeU32(descriptor, 0); // version
  m.writeU32(descriptor + 4n, 0); // flags
  m.writeU64(descriptor + 8n, startIp);
  m.writeU64(descriptor + 16n, postCommitIp - startIp);
  m.writeU64(descriptor + 24n, abortIp);
  return {
    program,
    descriptor,
    entryIp: addresses[0] as bigint,
    startIp,
    commitIp: addresses[commit] as bigint,
    postCommitIp,
    abortIp,
    addresses,
    indexOf: (ip) => byIp.get(ip),
    addressOf: (l) => addresses[need(l)] as bigint,
  };
}

/**
 * The programs of this machine, laid out in its simulated memory on first
 * use (one text region and one descriptor region per machine).
 */
export function installSections(machine: Machine): InstalledCode {
  const done = installed.get(machine);
  if (done) return done;
  const sig = signatureBytes(machine.arch);
  const align = BigInt(PROGRAM_ALIGN);
  const alignUp = (v: bigint): bigint => ((v + align - 1n) / align) * align;
  // First pass at base 0 for the size; the caller stub takes the first 64 bytes.
  let size = align;
  for (const name of SECTION_NAMES) size = alignUp(layout(PROGRAMS[name] as Program<unknown>, size, sig).end);
  const text = machine.memory.map(Number(size), PROGRAM_ALIGN, 'text:rseq-sections');
  const data = machine.memory.map(32 * SECTION_NAMES.length, 32, '__rseq_cs');
  // The caller stub: `call <op>; ...` at text + 0.
  machine.memory.writeU32(text, 0xe8e8e8e8);
  let at = text + align;
  const programs: Record<string, InstalledProgram<unknown>> = {};
  SECTION_NAMES.forEach((name, i) => {
    const program = PROGRAMS[name] as Program<unknown>;
    const l = layout(program, at, sig);
    for (const [addr, b] of l.bytes) b.forEach((v, k) => machine.memory.writeU8(addr + BigInt(k), v));
    programs[name] = place(machine, program, l.addresses, data + BigInt(32 * i));
    at = alignUp(l.end);
  });
  const code: InstalledCode = {
    arch: machine.arch,
    text,
    textBytes: Number(size),
    callerIp: text,
    programs: programs as unknown as InstalledCode['programs'],
  };
  installed.set(machine, code);
  return code;
}
