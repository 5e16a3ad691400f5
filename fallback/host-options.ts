/**
 * The simulator backend's options, the environment variables and host
 * defaults behind them, and the simulated machine built from them
 * (SimulatorHost: what every part of the backend shares; backend.ts).
 *
 * Host-fallback policy (documented defaults):
 * - Machine: kernel profile 6.19 (release '6.19.0-simulated', a modern
 *   kernel with the 6.19 rseq rework), libc profile glibc-2.41, CPUs =
 *   os.availableParallelism(), one NUMA node, arch from process.arch
 *   (x64 -> x86_64, arm64 -> aarch64, anything else -> x86_64), pid =
 *   process.pid.
 */
import * as os from 'node:os';
import type { SharedSectionLocks } from '../src/contract/section-locks.js';
import { Machine } from './kernel/kernel.js';
import { RSEQ_SIG, type Arch } from './kernel/profiles.js';
import { SharedMmCidPool } from './shared-mmcid.js';
import { processSectionLocks } from './shared-sections.js';

export interface SimulatorBackendOptions {
  /** Kernel release or profile id (default '6.19'). */
  kernel?: string;
  /** Libc profile name (default 'glibc-2.41'). */
  libc?: string;
  arch?: 'x86_64' | 'aarch64';
  /** Simulated CPUs (default os.availableParallelism()). */
  cpus?: number;
  /** NUMA nodes (default 1). */
  nodes?: number;
  /** Seeds the simulated addresses. */
  seed?: number;
  /** Share mm_cid values with other isolates of this process (default true). */
  shareMmCid?: boolean;
  /** Share the per-CPU section locks with other isolates of this process (default true). */
  shareLocks?: boolean;
  /** Preempt every N-th section attempt of the thread (default RSEQ_SIM_ABORT_RATE, else 0: never). */
  abortRate?: number;
  /** The `rseq_debug` boot option of the simulated kernel (6.19+). */
  rseqDebug?: boolean;
}

/** RSEQ_SIM_ABORT_RATE as a non-negative integer; anything else is 0. */
export function abortRateFromEnv(value: string | undefined = process.env.RSEQ_SIM_ABORT_RATE): number {
  const v = (value ?? '').trim();
  return /^\d+$/.test(v) ? Math.min(Number(v), 2 ** 31 - 1) : 0;
}

export const DEFAULT_KERNEL = '6.19';
export const DEFAULT_LIBC = 'glibc-2.41';

/** RSEQ_SIM_ARCH (x86_64 or aarch64; Node's x64 and arm64 too), or null when unset or anything else. */
export function simArchFromEnv(value: string | undefined = process.env.RSEQ_SIM_ARCH): Arch | null {
  const v = (value ?? '').trim();
  if (v === 'x86_64' || v === 'x64') return 'x86_64';
  if (v === 'aarch64' || v === 'arm64') return 'aarch64';
  return null;
}

export function hostArch(): Arch {
  if (process.arch === 'arm64') return 'aarch64';
  return 'x86_64';
}

function hostCpus(): number {
  const osWithParallelism = os as typeof os & { availableParallelism?: () => number };
  const n = typeof osWithParallelism.availableParallelism === 'function' ? osWithParallelism.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(4096, n || 1));
}

/** The options resolved on this host, and this isolate's simulated machine. */
export interface SimulatorHost {
  readonly arch: Arch;
  readonly cpus: number;
  readonly pid: number;
  /** Whether the mm_cid pool and the registration counts are shared with other isolates. */
  readonly share: boolean;
  /** The process-wide mm_cid pool (shared-mmcid.ts), when shared. */
  readonly pool: SharedMmCidPool | undefined;
  /** The process's section locks (shared-sections.ts) for the raw operations. */
  readonly processLocks: SharedSectionLocks;
  readonly abortRate: number;
  readonly machine: Machine;
  /** The rseq signature of `arch`. */
  readonly signature: number;
}

export function simulatorHost(options: SimulatorBackendOptions): SimulatorHost {
  const arch: Arch = options.arch ?? simArchFromEnv() ?? hostArch();
  const cpus = options.cpus ?? hostCpus();
  const pid = process.pid;
  const share = options.shareMmCid ?? true;
  const pool = share ? SharedMmCidPool.forCpus(cpus) : undefined;
  const processLocks = processSectionLocks(cpus, options.shareLocks ?? true);
  const abortRate = options.abortRate ?? abortRateFromEnv();
  const machine = new Machine({
    rseqDebug: options.rseqDebug ?? false,
    kernel: options.kernel ?? DEFAULT_KERNEL,
    libc: options.libc ?? DEFAULT_LIBC,
    arch,
    cpus,
    nodes: options.nodes ?? 1,
    seed: options.seed ?? 0x5eed,
    pid,
    ...(pool ? { mmCid: pool } : {}),
  });
  const signature = RSEQ_SIG[arch];
  return { arch, cpus, pid, share, pool, processLocks, abortRate, machine, signature };
}
