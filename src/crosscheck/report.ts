/**
 * The crosscheck report: one row per case, hardware beside simulator, and
 * how it is rendered as a table.
 */

export type Verdict = 'match' | 'mismatch';

export type CaseGroup = 'probe' | 'errno' | 'ops' | 'concurrency' | 'invariants' | 'abort' | 'sections';

export interface CrosscheckCase {
  group: CaseGroup;
  /** Stable name, e.g. `errno (rseq=0): register-len-64`. */
  case: string;
  /** What the real kernel (native backend) gave, in words. */
  hardware: string;
  /** What the simulator gave (or predicted), in words. */
  simulator: string;
  verdict: Verdict;
  /** Machine-readable particulars (first differing call, counts, ...). */
  detail?: unknown;
}

export interface SimulatorConfig {
  /** The kernel profile id the simulator runs (fallback/kernel/profiles.ts). */
  kernelProfile: string;
  /** The release string the simulated kernel reports. */
  release: string;
  /** The libc profile id, for this process and for the GLIBC_TUNABLES=glibc.pthread.rseq=0 child. */
  libc: string;
  libcTunableOff: string;
  cpus: number;
  nodes: number;
  /** The simulated architecture: the host's, or `--arch`. */
  arch: string;
  /** Where the profiles came from: `host` (probe, auxv, /sys) or `forced` (--kernel / --libc / --arch). */
  kernelFrom: 'host' | 'forced';
  libcFrom: 'host' | 'forced';
  archFrom: 'host' | 'forced';
  /** Adjustments made to the kernel profile so that it matches the host's auxv, if any. */
  adjusted: string[];
}

export interface HostDescription {
  release: string;
  arch: string;
  featureSize: number | null;
  align: number | null;
  libc: { family: string; version: string | null; rseqSize: number | null };
  registrationOwner: string;
  possibleCpus: number[];
  allowedCpus: number[];
  /** node of each possible CPU, from /sys/devices/system/node (0 where /sys says nothing). */
  cpuNode: Record<number, number>;
  nodes: number;
}

export interface CrosscheckReport {
  /** Every verdict is `match`. */
  ok: boolean;
  mismatches: number;
  seed: number;
  host: HostDescription;
  simulator: SimulatorConfig;
  cases: CrosscheckCase[];
  /** Things not run, with the reason. */
  skipped: Array<{ case: string; reason: string }>;
  /** Seconds spent per group. */
  seconds: Record<string, number>;
}

function fit(s: string, width: number): string {
  return s.length > width ? `${s.slice(0, width - 1)}…` : s;
}

/** The report as a plain-text table (case | hardware | simulator | verdict) with a header and a summary. */
export function renderReport(r: CrosscheckReport): string {
  const s = r.simulator;
  const lines: string[] = [];
  lines.push(
    `host: Linux ${r.host.release} ${r.host.arch}, ${r.host.libc.family}${r.host.libc.version ? ` ${r.host.libc.version}` : ''} (__rseq_size ${r.host.libc.rseqSize ?? '-'}), ` +
      `possible CPUs ${r.host.possibleCpus.length}, NUMA nodes ${r.host.nodes}`,
  );
  lines.push(
    `simulator: kernel profile ${s.kernelProfile} (${s.release}, ${s.kernelFrom}${s.adjusted.length ? `; ${s.adjusted.join(', ')}` : ''}), ` +
      `libc ${s.libc} (${s.libcFrom}; rseq=0 child: ${s.libcTunableOff}), ${s.cpus} CPUs, ${s.nodes} node(s), ${s.arch}${s.archFrom === 'forced' ? ' (forced)' : ''}`,
  );
  lines.push(`seed: ${r.seed}`);
  lines.push('');
  const W = { case: 46, hw: 52, sim: 52 };
  const rows = r.cases.map((c) => [fit(c.case, W.case), fit(c.hardware, W.hw), fit(c.simulator, W.sim), c.verdict]);
  const header = ['case', 'hardware', 'simulator', 'verdict'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (row: string[]): string => row.map((v, i) => v.padEnd(widths[i] as number)).join(' | ').trimEnd();
  lines.push(line(header));
  lines.push(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of rows) lines.push(line(row));
  lines.push('');
  for (const k of r.skipped) lines.push(`skipped: ${k.case}: ${k.reason}`);
  const secs = Object.entries(r.seconds)
    .map(([k, v]) => `${k} ${v.toFixed(2)} s`)
    .join(', ');
  lines.push(
    r.ok
      ? `all ${r.cases.length} cases match (${secs})`
      : `${r.mismatches} of ${r.cases.length} cases differ: ${r.cases
          .filter((c) => c.verdict === 'mismatch')
          .map((c) => c.case)
          .join('; ')} (${secs})`,
  );
  return `${lines.join('\n')}\n`;
}
