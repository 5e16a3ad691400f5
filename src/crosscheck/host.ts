/**
 * What this machine is (from the native backend and /sys), and the
 * simulator configuration that describes it: the kernel profile from the
 * release and the auxv, the libc profile from the probe, the CPUs and NUMA
 * nodes from /sys.
 */
import * as fs from 'node:fs';
import { kernelProfileFor, libcProfileFor, type Arch, type KernelProfile } from '../../fallback/kernel/profiles.js';
import type { Backend } from '../contract/backend.js';
import type { HostDescription, SimulatorConfig } from './report.js';

/**
 * The simulator's architecture for a name (x86_64, aarch64, or Node's x64,
 * arm64), or null for any other.
 */
export function archName(name: string): Arch | null {
  const v = name.trim().toLowerCase();
  if (v === 'x86_64' || v === 'x64') return 'x86_64';
  if (v === 'aarch64' || v === 'arm64') return 'aarch64';
  return null;
}

/** The simulated architecture for the host's (the addon has sections for x86_64 and aarch64 only). */
function simArch(hostArch: string): Arch {
  return archName(hostArch) ?? 'x86_64';
}

/** "0-3,8" -> [0, 1, 2, 3, 8] */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-').map(Number);
    if (!Number.isInteger(a)) continue;
    for (let c = a as number; c <= (b ?? (a as number)); c++) out.push(c);
  }
  return out;
}

/** cpu -> node from /sys/devices/system/node/node<N>/cpulist; empty when /sys has no NUMA information. */
export function sysCpuNodes(root = '/sys/devices/system/node'): { cpuNode: Map<number, number>; nodes: number } {
  const cpuNode = new Map<number, number>();
  let nodes = 0;
  let names: string[] = [];
  try {
    names = fs.readdirSync(root).filter((n) => /^node\d+$/.test(n));
  } catch {
    return { cpuNode, nodes: 1 };
  }
  for (const name of names) {
    const node = Number(name.slice(4));
    nodes++;
    try {
      for (const c of parseCpuList(fs.readFileSync(`${root}/${name}/cpulist`, 'utf8'))) cpuNode.set(c, node);
    } catch {
      // a node without a cpulist (memory only)
    }
  }
  return { cpuNode, nodes: Math.max(1, nodes) };
}

/** Threads of this process right now (/proc/self/task). */
export function processThreads(): number {
  try {
    return fs.readdirSync('/proc/self/task').length;
  } catch {
    return 1;
  }
}

export function describeHost(native: Backend): HostDescription {
  const k = native.kernel();
  const l = native.libc();
  const possible = native.possibleCpus();
  const { cpuNode, nodes } = sysCpuNodes();
  const nodeOf: Record<number, number> = {};
  for (const c of possible) nodeOf[c] = cpuNode.get(c) ?? 0;
  return {
    release: k.release,
    arch: native.arch,
    featureSize: k.featureSize,
    align: k.align,
    libc: { family: l.family, version: l.version, rseqSize: l.rseqSize },
    registrationOwner: native.registration().owner,
    possibleCpus: possible,
    allowedCpus: native.getAffinity(),
    cpuNode: nodeOf,
    nodes,
  };
}

/**
 * The libc profile name for what the probe saw:
 * - musl -> `musl`;
 * - glibc without __rseq_* symbols -> `glibc-V` (before 2.35: no registration);
 * - glibc with __rseq_size 0 (GLIBC_TUNABLES=glibc.pthread.rseq=0, or a failed
 *   registration) -> `glibc-V-rseq-off`;
 * - glibc 2.36 with __rseq_size 20 -> `glibc-2.36-debian` (Debian's backport of
 *   the 2.40 rule); any other glibc -> `glibc-V`.
 */
export function libcNameFor(libc: HostDescription['libc']): string {
  if (libc.family === 'musl') return 'musl';
  const v = libc.version ?? '2.41';
  if (libc.rseqSize === 0) return `glibc-${v}-rseq-off`;
  if (v === '2.36' && libc.rseqSize === 20) return 'glibc-2.36-debian';
  return `glibc-${v}`;
}

/** The same libc with its rseq registration turned off (what a GLIBC_TUNABLES=glibc.pthread.rseq=0 child runs). */
export function tunableOffName(libcName: string): string {
  const p = libcProfileFor(libcName);
  if (p.family === 'musl' || !p.registers) return libcName;
  return `glibc-${p.version ?? '2.41'}-rseq-off`;
}

export interface SimulatorChoice {
  config: SimulatorConfig;
  /** What to pass to createSimulatorBackend / Machine as `kernel` (a release string or an adjusted profile). */
  kernel: string | KernelProfile;
  /** The release string for RSEQ_SIM_KERNEL in workers (they get the profile of that release). */
  kernelEnv: string;
}

/**
 * The simulator's kernel profile for a kernel as it describes itself: the
 * profile of its release, with the auxv's AT_RSEQ_FEATURE_SIZE and
 * AT_RSEQ_ALIGN where they disagree with it (a vendor kernel with
 * backports); `adjusted` says so, or is null.
 */
export function kernelProfileForHost(host: { release: string; featureSize: number | null; align: number | null }): {
  profile: KernelProfile;
  adjusted: string | null;
} {
  const profile = kernelProfileFor(host.release);
  if (profile.featureSize === host.featureSize && profile.align === host.align) return { profile, adjusted: null };
  return {
    profile: { ...profile, featureSize: host.featureSize, align: host.align, liveBytes: host.featureSize ?? 20 },
    adjusted: `auxv feature size ${host.featureSize ?? 'absent'}/align ${host.align ?? 'absent'} instead of the profile's ${profile.featureSize ?? 'absent'}/${profile.align ?? 'absent'}`,
  };
}

/**
 * The simulator configuration for this host, or with the kernel, libc or
 * architecture forced. The kernel profile is the one of the host's release; where the
 * auxv (AT_RSEQ_FEATURE_SIZE / AT_RSEQ_ALIGN) disagrees with it (a vendor
 * kernel with backports), the profile takes the auxv's values and the
 * adjustment is listed. A forced kernel is taken as is.
 */
export function chooseSimulator(host: HostDescription, forced: { kernel?: string; libc?: string; arch?: Arch }): SimulatorChoice {
  const adjusted: string[] = [];
  let kernel: string | KernelProfile;
  let profile: KernelProfile;
  if (forced.kernel) {
    profile = kernelProfileFor(forced.kernel);
    kernel = forced.kernel;
  } else {
    const forHost = kernelProfileForHost(host);
    profile = forHost.profile;
    kernel = host.release;
    if (forHost.adjusted !== null) {
      adjusted.push(forHost.adjusted);
      kernel = profile;
    }
  }
  const libc = forced.libc ? libcProfileFor(forced.libc).id : libcNameFor(host.libc);
  const possibleMax = Math.max(0, ...host.possibleCpus);
  const cpus = possibleMax + 1;
  const nodes = Math.min(Math.max(1, host.nodes), cpus);
  return {
    kernel,
    kernelEnv: forced.kernel ?? host.release,
    config: {
      kernelProfile: profile.id,
      release: profile.release,
      libc,
      libcTunableOff: tunableOffName(libc),
      cpus,
      nodes,
      arch: forced.arch ?? simArch(host.arch),
      kernelFrom: forced.kernel ? 'forced' : 'host',
      libcFrom: forced.libc ? 'forced' : 'host',
      archFrom: forced.arch ? 'forced' : 'host',
      adjusted,
    },
  };
}
