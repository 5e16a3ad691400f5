/**
 * Per-CPU critical sections as step programs, run on a simulated thread: the
 * sections' public surface, one file per concern.
 *
 *   section-args.ts      the arguments of each section and their checks
 *   section-memory.ts    what a section reads and writes (simulated memory or real arrays)
 *   section-programs.ts  each PerCpuOps section as the steps of its assembly
 *   section-layout.ts    the programs, signatures and struct rseq_cs in simulated memory
 *   section-exec.ts      running a program step by step, with the kernel's
 *                        return to user space between two steps
 *
 * The same programs run against simulated memory (the kernel model, the
 * scheduler, the tests) and against real typed arrays (the host backend,
 * fallback/host-sections.ts).
 */
export * from './section-args.js';
export { simulatedMemory } from './section-memory.js';
export type { SectionMemory, SimArray, StoreKind } from './section-memory.js';
export { ADD, COPY_COMMIT, DOUBLE_COMPARE_STORE, LIST_POP, PROGRAMS, SPECULATIVE_STORE_COMMIT, STORE_IF_EQUAL } from './section-programs.js';
export type { Cpu, Label, Program, SpeculativeEffects, Step, StepKind } from './section-programs.js';
export { installSections, signatureBytes, STEP_BYTES } from './section-layout.js';
export type { InstalledCode, InstalledProgram } from './section-layout.js';
export { execute, interrupt, runSection } from './section-exec.js';
export type { Boundary, ExecuteHooks, RunOptions, SectionResult } from './section-exec.js';
