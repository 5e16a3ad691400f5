/**
 * The simulator: a pure-TypeScript model of the kernel's rseq semantics
 * (fallback/kernel/*) and the `Backend` built on it for hosts where the
 * native addon cannot be used (fallback/backend.ts). The model pieces are
 * exported so tests and the native/simulator crosscheck can drive the
 * simulated kernel directly.
 */
export { abortRateFromEnv, createSimulatorBackend, DEFAULT_KERNEL, DEFAULT_LIBC, hostArch } from './backend.js';
export type { SimulatorBackend, SimulatorBackendOptions } from './backend.js';
export { ERRNO, fail, ok } from './kernel/errno.js';
export type { ErrnoName, SyscallResult } from './kernel/errno.js';
export { Machine, type MachineOptions } from './kernel/kernel.js';
export { AT, auxvName } from './kernel/auxv.js';
export { ERRNO_CASE_BAD_FLAG, ERRNO_CASE_KADDR } from './kernel/errno-table.js';
export { prng } from './kernel/prng.js';
export { DEFAULT_USER_IP, FatalSignalError, RSEQ_EVENT } from './kernel/thread.js';
export type { FatalSignal, LibcThreadStart, RegistrationMode, RegistrationOwner, RseqRegistration, SimThread, UserRegs } from './kernel/thread.js';
export type { AreaSnapshot } from './kernel/area.js';
export type { CsOutcome } from './kernel/rseq-cs.js';
export type { ReturnCause, ReturnToUserResult } from './kernel/return-to-user.js';
export type { LibcSymbols } from './kernel/state.js';
export { DEFAULT_ARENA_BASE, MemoryFault, PAGE_SIZE, SimMemory, USER_SPACE_END } from './kernel/memory.js';
export type { AccessKind, MemoryRegion, SimMemoryOptions } from './kernel/memory.js';
export { LocalMmCid } from './kernel/mmcid.js';
export {
  ADD,
  checkSectionArgs,
  COPY_COMMIT,
  DOUBLE_COMPARE_STORE,
  execute,
  installSections,
  interrupt,
  LIST_POP,
  PROGRAMS,
  runSection,
  SECTION_NAMES,
  signatureBytes,
  simulatedMemory,
  SPECULATIVE_STORE_COMMIT,
  STEP_BYTES,
  STORE_IF_EQUAL,
} from './kernel/sections.js';
export type {
  Boundary,
  Cpu,
  ExecuteHooks,
  InstalledCode,
  InstalledProgram,
  Label,
  OperandLengths,
  Program,
  RunOptions,
  SectionFields,
  SectionMemory,
  SectionName,
  SectionResult,
  SimArray,
  SpeculativeEffects,
  Step,
  StepKind,
  StoreKind,
} from './kernel/sections.js';
export { seededChoices, Simulation } from './kernel/scheduler.js';
export type {
  Choices,
  EventKind,
  OpCountsSim,
  RunResult,
  SchedEvent,
  SimulationOptions,
  Task,
  ThreadApi,
  UserProgram,
  UserStep,
  Yielded,
} from './kernel/scheduler.js';
export type { MmCidSource } from './kernel/mmcid.js';
export {
  KERNEL_PROFILES,
  kernelProfileFor,
  LIBC_PROFILES,
  libcProfileFor,
  MEMBARRIER_CMD,
  MEMBARRIER_CMD_FLAG_CPU,
  ORIG_FEATURE_SIZE,
  ORIG_RSEQ_SIZE,
  parseRelease,
  RSEQ_CPU_ID_REGISTRATION_FAILED,
  RSEQ_CPU_ID_UNINITIALIZED,
  RSEQ_CS_FLAG_NO_RESTART_MASK,
  RSEQ_CS_FLAG_NO_RESTART_ON_MIGRATE,
  RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT,
  RSEQ_CS_FLAG_NO_RESTART_ON_SIGNAL,
  RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE,
  RSEQ_CS_FLAG_SLICE_EXT_ENABLED,
  RSEQ_FIELD,
  RSEQ_FLAG_SLICE_EXT_DEFAULT_ON,
  RSEQ_FLAG_UNREGISTER,
  RSEQ_SIG,
} from './kernel/profiles.js';
export type {
  Arch,
  CsEvaluation,
  IdUpdatePolicy,
  KernelProfile,
  KernelProfileId,
  LibcAreaLayout,
  LibcProfile,
  LibcRule,
  RegistrationAccess,
} from './kernel/profiles.js';
export { SharedMmCidPool } from './shared-mmcid.js';
export { processSectionLocks } from './shared-sections.js';
