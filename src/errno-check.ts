/**
 * `rseq errno-check`: the running kernel's answers to ERRNO_CASES against
 * the simulator's profile of that kernel (fallback/kernel/profiles.ts).
 *
 * The profile is the one of the kernel's release (the nearest profile at or
 * below it), with the auxv's AT_RSEQ_FEATURE_SIZE / AT_RSEQ_ALIGN where they
 * differ (a vendor kernel with backports). The table runs twice on the
 * native backend: on a fresh thread of this process (registered by libc when
 * libc registers threads) and in a child process with
 * GLIBC_TUNABLES=glibc.pthread.rseq=0 (a thread nobody registered: every
 * rule of the syscall shows). Each run is compared case by case with the
 * simulator's table for the same kernel and libc.
 *
 * This is also where the package's tests get their expectations
 * (`expectedErrnoTables`): the native C++ tests (scripts/native-tests.cjs)
 * and the vitest suites, so that `npm test` holds on every kernel the
 * simulator has a profile for, not only on 6.3 and later.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Machine } from '../fallback/kernel/kernel.js';
import { kernelProfileFor, type Arch, type KernelProfile } from '../fallback/kernel/profiles.js';
import { chooseSimulator, describeHost, kernelProfileForHost } from './crosscheck/host.js';
import { loadNative, packageRoot } from './native/backend.js';
import { ERRNO_CASES, type ErrnoCaseName, type ErrnoTable } from './contract/types.js';

/** What a kernel says about itself: `uname -r` and the auxv's rseq entries (null when absent, before 6.3). */
export interface KernelFacts {
  release: string;
  featureSize: number | null;
  align: number | null;
}

/** Each case's errno name, or null where the call succeeded. */
export type ErrnoExpectation = Record<ErrnoCaseName, string | null>;

export interface ExpectedErrnoTables {
  /** The profile's id (`6.0`, `6.3`, ...) and its release. */
  profile: KernelProfile['id'];
  release: string;
  /** The auxv adjustment made to the profile, or null. */
  adjusted: string | null;
  /** A scratch thread that libc registered before the cases ran. */
  libc: ErrnoExpectation;
  /** A scratch thread nobody registered (no libc registration: musl, the glibc tunable off). */
  none: ErrnoExpectation;
}

function archOf(arch?: string): Arch {
  if (arch === 'aarch64' || arch === 'arm64') return 'aarch64';
  if (arch === 'x86_64' || arch === 'x64') return 'x86_64';
  return process.arch === 'arm64' ? 'aarch64' : 'x86_64';
}

/** ERRNO_CASES as the simulator answers them for `kernel` (a profile or a release) with `libc`, on a fresh machine. */
export function simulatedErrnoTable(kernel: string | KernelProfile, libc: string, arch?: string): ErrnoTable {
  return new Machine({ kernel, libc, arch: archOf(arch), cpus: 1, nodes: 1, seed: 1 }).errnoTable();
}

export function expectation(t: ErrnoTable): ErrnoExpectation {
  return Object.fromEntries(ERRNO_CASES.map((c) => [c, t.cases.find((x) => x.case === c)?.errno ?? null])) as ErrnoExpectation;
}

/**
 * The errno table the simulator's profile of this kernel predicts, for a
 * scratch thread that libc registered and for one nobody registered. A
 * profile without rseq (before 4.18) predicts ENOSYS throughout.
 */
export function expectedErrnoTables(kernel: KernelFacts, arch?: string): ExpectedErrnoTables {
  const { profile, adjusted } = kernelProfileForHost(kernel);
  const libc = simulatedErrnoTable(profile, 'glibc-2.41', arch);
  const none = simulatedErrnoTable(profile, 'glibc-tunable-off', arch);
  return { profile: profile.id, release: profile.release, adjusted, libc: expectation(libc), none: expectation(none) };
}

/** `node bin/rseq.js errno-table --json` with glibc's registration turned off, on the native backend. */
export function childErrnoTable(): ErrnoTable | { error: string } {
  const bin = path.join(packageRoot(), 'bin', 'rseq.js');
  const tunables = [process.env.GLIBC_TUNABLES, 'glibc.pthread.rseq=0'].filter(Boolean).join(':');
  const r = spawnSync(process.execPath, [bin, 'errno-table', '--json'], {
    env: { ...process.env, GLIBC_TUNABLES: tunables, RSEQ_BACKEND: 'native' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error) return { error: `cannot run ${process.execPath} ${bin}: ${r.error.message}` };
  if (r.status !== 0) return { error: `child exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().split('\n')[0] ?? ''}` };
  try {
    return JSON.parse(r.stdout) as ErrnoTable;
  } catch {
    return { error: `child printed no JSON: ${r.stdout.slice(0, 80)}` };
  }
}

export interface ErrnoCheckRow {
  /** `libc`: this process's scratch thread; `rseq=0`: the child with glibc's registration off. */
  run: 'libc' | 'rseq=0';
  /** `owner`, `signature` or one of ERRNO_CASES. */
  case: string;
  kernel: string;
  expected: string;
  verdict: 'match' | 'mismatch';
}

export interface ErrnoCheckReport {
  /** Every row matches. */
  ok: boolean;
  mismatches: number;
  kernel: KernelFacts & { arch: string };
  /** The simulator's profile the expectations come from. */
  profile: { id: KernelProfile['id']; release: string; from: 'host' | 'forced'; adjusted: string | null };
  /** libc profiles of the two runs. */
  libc: { process: string; child: string };
  rows: ErrnoCheckRow[];
}

/** The native backend cannot work here: there is no kernel to check. */
export class ErrnoCheckUnavailableError extends Error {
  constructor(reason: string) {
    super(`rseq errno-check needs the native backend, which cannot work here: ${reason}`);
    this.name = 'ErrnoCheckUnavailableError';
  }
}

function compare(run: ErrnoCheckRow['run'], hw: ErrnoTable | { error: string }, sim: ErrnoTable): ErrnoCheckRow[] {
  const row = (c: string, kernel: string, expected: string): ErrnoCheckRow => ({ run, case: c, kernel, expected, verdict: kernel === expected ? 'match' : 'mismatch' });
  const fmt = (c: { ret: number; errno: string | null } | undefined): string => (c === undefined ? 'missing' : c.ret === 0 ? '0' : `-1 ${c.errno ?? '?'}`);
  if ('error' in hw) return [row('table', `failed: ${hw.error}`, `${sim.cases.length} cases`)];
  const rows = [
    row('owner', hw.ownerAtStart, sim.ownerAtStart),
    row('signature', `0x${hw.signature.toString(16)}`, `0x${sim.signature.toString(16)}`),
    ...sim.cases.map((c) => row(c.case, fmt(hw.cases.find((h) => h.case === c.case)), fmt(c))),
  ];
  for (const h of hw.cases) if (!sim.cases.some((c) => c.case === h.case)) rows.push(row(h.case, fmt(h), 'missing'));
  return rows;
}

/**
 * Runs the check. `kernel` forces the profile (a release such as `6.1`):
 * on a kernel whose rules differ, rows must then mismatch, which shows the
 * check can fail. `child: false` skips the tunable-off child.
 */
export function runErrnoCheck(options: { kernel?: string; child?: boolean } = {}): ErrnoCheckReport {
  const loaded = loadNative();
  if (!loaded.ok) throw new ErrnoCheckUnavailableError(loaded.reason);
  const native = loaded.backend;
  const host = describeHost(native);
  const choice = chooseSimulator(host, { kernel: options.kernel });
  const cfg = choice.config;
  const rows: ErrnoCheckRow[] = [];
  if (options.child !== false) rows.push(...compare('rseq=0', childErrnoTable(), simulatedErrnoTable(choice.kernel, cfg.libcTunableOff, cfg.arch)));
  rows.push(...compare('libc', native.errnoTable(), simulatedErrnoTable(choice.kernel, cfg.libc, cfg.arch)));
  const mismatches = rows.filter((r) => r.verdict === 'mismatch').length;
  return {
    ok: mismatches === 0,
    mismatches,
    kernel: { release: host.release, featureSize: host.featureSize, align: host.align, arch: host.arch },
    profile: { id: cfg.kernelProfile as KernelProfile['id'], release: cfg.release, from: cfg.kernelFrom, adjusted: cfg.adjusted[0] ?? null },
    libc: { process: cfg.libc, child: cfg.libcTunableOff },
    rows,
  };
}

export function renderErrnoCheck(r: ErrnoCheckReport): string {
  const w = Math.max(...r.rows.map((x) => x.case.length), 4);
  const kw = Math.max(...r.rows.map((x) => x.kernel.length), 6);
  const ew = Math.max(...r.rows.map((x) => x.expected.length), 7);
  const lines = [
    `kernel ${r.kernel.release} (${r.kernel.arch}; feature size ${r.kernel.featureSize ?? 'absent'}, align ${r.kernel.align ?? 'absent'})`,
    `expected: the simulator's profile ${r.profile.id} (${r.profile.from === 'forced' ? `forced: ${r.profile.release}` : 'of this release'})${r.profile.adjusted ? `, ${r.profile.adjusted}` : ''}`,
    `libc profiles: ${r.libc.process} (this process), ${r.libc.child} (child with glibc.pthread.rseq=0)`,
    '',
    `${'run'.padEnd(7)}  ${'case'.padEnd(w)}  ${'kernel'.padEnd(kw)}  ${'profile'.padEnd(ew)}  verdict`,
    ...r.rows.map((x) => `${x.run.padEnd(7)}  ${x.case.padEnd(w)}  ${x.kernel.padEnd(kw)}  ${x.expected.padEnd(ew)}  ${x.verdict}`),
    '',
    r.ok ? `errno-check: all ${r.rows.length} rows match` : `errno-check: ${r.mismatches} of ${r.rows.length} rows differ`,
  ];
  return `${lines.join('\n')}\n`;
}

export const ERRNO_CHECK_USAGE = `usage: rseq errno-check [--json] [--kernel RELEASE] [--no-child]

Runs the rseq syscall's errno table (the registration cases of errno-table)
on this kernel, in this process and in a child with glibc's registration
turned off, and compares every answer with the simulator's profile of this
kernel. --kernel forces another profile (its differences must show).
Exit 0: every answer matches; 1: an answer differs; 2: the native backend
cannot run here.
`;

export function errnoCheckCommand(args: readonly string[], json: boolean, out: (s: string) => void): number {
  let values: { kernel?: string; 'no-child'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { kernel: { type: 'string' }, 'no-child': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`rseq errno-check: ${(e as Error).message}\n\n${ERRNO_CHECK_USAGE}`);
    return 2;
  }
  if (values.help) {
    out(ERRNO_CHECK_USAGE);
    return 0;
  }
  try {
    if (values.kernel !== undefined) kernelProfileFor(values.kernel);
  } catch (e) {
    process.stderr.write(`rseq errno-check: ${(e as Error).message}\n`);
    return 2;
  }
  let report: ErrnoCheckReport;
  try {
    report = runErrnoCheck({ kernel: values.kernel, child: values['no-child'] !== true });
  } catch (e) {
    if (e instanceof ErrnoCheckUnavailableError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  out(json ? `${JSON.stringify(report, null, 2)}\n` : renderErrnoCheck(report));
  return report.ok ? 0 : 1;
}
