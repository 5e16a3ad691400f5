/**
 * The `rseq` command: `npx rseq probe [--json]`, `npx rseq auxv [--json]`,
 * `npx rseq errno-table [--json]`, `npx rseq errno-check [--json] [--kernel X]`,
 * `npx rseq crosscheck [--json] [--kernel X] [--libc Y] [--arch A] [--seed N]`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crosscheckCommand } from './crosscheck.js';
import { errnoCheckCommand } from './errno-check.js';
import { RseqError } from './contract/errors.js';
import { rseq } from './index.js';
import { packageRoot } from './native/backend.js';
import type { AuxvEntry, ErrnoTable, ProbeReport, SelftestCheck, SelftestReport } from './contract/types.js';

const USAGE = `usage: rseq <command> [--json]

commands:
  probe         what this kernel, libc and thread offer for rseq
                [--selftest]: also check that the kernel aborts critical sections
                (same-CPU preemption, migration, signals) and that the ids track
                the CPU; exit 1 when it finds them broken
  auxv          the ELF auxiliary vector, with names
  errno-table   the rseq syscall's answers to each registration case, run on a fresh thread
  errno-check   those answers against the simulator's profile of this kernel
                [--kernel RELEASE] [--no-child]; exit 1 when an answer differs
  crosscheck    the same cases on this kernel and on the simulator configured as this host
                [--kernel RELEASE] [--libc PROFILE] [--arch aarch64|x86_64] [--seed N];
                exit 1 when a case differs

options:
  --json        one JSON object on standard output
  --help        this text
  --version     the package version

environment:
  RSEQ_BACKEND=auto|native|simulator   which backend to use (default auto)
`;

type Section = [title: string, rows: Array<[string, string]>];

const hex = (n: number): string => `0x${n.toString(16)}`;
const orDash = (v: string | number | null): string => (v === null ? '-' : String(v));

function probeSections(p: ProbeReport): Section[] {
  const k = p.kernel;
  const l = p.libc;
  const r = p.registration;
  const fieldRows: Array<[string, string]> = (
    [
      ['cpu_id_start', p.fields.cpuIdStart, p.thread.cpuIdStart],
      ['cpu_id', p.fields.cpuId, p.thread.cpuId],
      ['node_id', p.fields.nodeId, p.thread.nodeId],
      ['mm_cid', p.fields.mmCid, p.thread.mmCid],
      ['slice_ctrl', p.fields.sliceCtrl, null],
    ] as Array<[string, boolean, number | null]>
  ).map(([name, isLive, value]) => [name, isLive ? `live   ${orDash(value)}` : 'not published']);
  const sections: Section[] = [
    [
      'rseq',
      [
        ['backend', p.simulated ? `${p.backend} (figures are simulated)` : p.backend],
        ['fallback reason', orDash(p.fallbackReason)],
        ['architecture', `${p.arch} (${p.platform})`],
        ['addon', p.addon.loaded ? `loaded from ${p.addon.file ?? '?'}` : `not loaded${p.addon.error ? `: ${p.addon.error}` : ''}`],
      ],
    ],
    [
      'kernel',
      [
        ['release', k.release],
        ['rseq syscall', `${k.syscall.available ? 'available' : 'unavailable'} (rseq(NULL, 0, 0, 0) gave ${k.syscall.probeErrno})`],
        ['feature size', k.featureSize === null ? 'not published (before Linux 6.3): 20' : `${k.featureSize} (AT_RSEQ_FEATURE_SIZE)`],
        ['alignment', k.align === null ? 'not published (before Linux 6.3): 32' : `${k.align} (AT_RSEQ_ALIGN)`],
        ['membarrier rseq', `${k.membarrierRseq ? 'yes' : 'no'}${k.membarrierCommands === null ? '' : ` (commands ${hex(k.membarrierCommands)})`}`],
      ],
    ],
    [
      'libc',
      [
        ['family', `${l.family}${l.version ? ` ${l.version}` : ''}`],
        ['__rseq_offset', orDash(l.rseqOffset)],
        ['__rseq_size', orDash(l.rseqSize)],
        ['__rseq_flags', orDash(l.rseqFlags)],
      ],
    ],
    [
      'registration (this thread)',
      [
        ['owner', r.owner],
        ['length', orDash(r.length)],
        ['signature', r.signature === null ? '-' : hex(r.signature)],
        ['error', r.error ? `${r.error.errno}: ${r.error.message}` : '-'],
      ],
    ],
    ['fields', fieldRows],
    ['area view', [['access', `${p.area.access}${p.area.byteLength === null ? '' : `, ${p.area.byteLength} bytes`}${p.area.reason ? ` (${p.area.reason})` : ''}`]]],
    [
      'time-slice extension (this thread)',
      [
        ['available', p.sliceExtension.available ? `yes${p.sliceExtension.enabled ? ', enabled' : ', not enabled'}` : `no: ${p.sliceExtension.error?.message ?? '-'}`],
        ['rseq_slice_yield', p.sliceExtension.yieldErrno === 'none' ? 'available (syscall 471)' : `unavailable (syscall 471 gave ${p.sliceExtension.yieldErrno})`],
      ],
    ],
    ['critical sections', [['run', p.criticalSections.safe ? 'yes' : `no (${p.criticalSections.source}): ${p.criticalSections.reason ?? ''}`]]],
  ];
  if (p.host) {
    sections.push([
      'host (seen by the addon)',
      [
        ['kernel', p.host.kernel.release],
        ['rseq syscall', p.host.kernel.syscall.probeErrno],
        ['feature size', orDash(p.host.kernel.featureSize)],
        ['libc', `${p.host.libc.family}${p.host.libc.version ? ` ${p.host.libc.version}` : ''}`],
      ],
    ]);
  }
  return sections;
}

function selftestSection(t: SelftestReport): Section {
  const line = (c: SelftestCheck): string => {
    const cpus = c.cpus.length ? ` on CPU ${c.cpus.join(', ')}` : '';
    const counts = `${c.commits} commits, ${c.aborts} aborts, sum ${c.sum}/${c.expected}, events ${c.events}, attributed ${c.attributed}`;
    return `${c.status}${cpus}: ${counts}, ${c.ms.toFixed(0)} ms${c.reason ? ` (${c.reason})` : ''}`;
  };
  return [
    `selftest (${t.simulated ? 'simulated ' : ''}${t.release}, ${t.arch})`,
    [
      ['critical sections', `${t.criticalSections}${t.reason ? `: ${t.reason}` : ''}`],
      ['known broken', t.knownBroken ?? 'no (not in the table)'],
      ['same CPU', line(t.checks.sameCpu)],
      ['migration', line(t.checks.migration)],
      ['signal', line(t.checks.signal)],
      ['ids', line(t.checks.ids)],
      ['time', `${t.ms.toFixed(0)} ms (budget ${t.budgetMs} ms)`],
    ],
  ];
}

function renderSections(sections: Section[]): string {
  const width = Math.max(...sections.flatMap(([, rows]) => rows.map(([k]) => k.length)));
  return sections.map(([title, rows]) => [title, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n')).join('\n\n') + '\n';
}

function renderAuxv(entries: AuxvEntry[]): string {
  const width = Math.max(4, ...entries.map((e) => (e.name ?? `AT_${e.type}`).length));
  return entries.map((e) => `${(e.name ?? `AT_${e.type}`).padEnd(width)}  ${String(e.type).padStart(2)}  ${e.value}  (0x${e.value.toString(16)})`).join('\n') + '\n';
}

function renderErrnoTable(t: ErrnoTable): string {
  const width = Math.max(...t.cases.map((c) => c.case.length));
  const head = `scratch thread registered by: ${t.ownerAtStart}; signature ${hex(t.signature)}\n`;
  return head + t.cases.map((c) => `  ${c.case.padEnd(width)}  ${c.ret === 0 ? '0' : `-1 ${c.errno}`}`).join('\n') + '\n';
}

/** JSON with bigints as numbers where exact, else decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v),
    2,
  );
}

function version(): string {
  const manifest = fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8');
  return (JSON.parse(manifest) as { version: string }).version;
}

export function main(argv: readonly string[], out: (s: string) => void = (s) => process.stdout.write(s)): number {
  const args = argv.filter((a) => a !== '--json');
  const json = args.length !== argv.length;
  const [command, ...rest] = args;
  if (command === '--help' || command === '-h' || command === 'help') {
    out(USAGE);
    return 0;
  }
  if (command === '--version') {
    out(`${version()}\n`);
    return 0;
  }
  if (command === 'crosscheck') return crosscheckCommand(rest, json, out);
  if (command === 'errno-check') return errnoCheckCommand(rest, json, out);
  const selftest = command === 'probe' && rest.length === 1 && rest[0] === '--selftest';
  if (command === undefined || (rest.length > 0 && !selftest) || !['probe', 'auxv', 'errno-table'].includes(command)) {
    process.stderr.write(command === undefined ? USAGE : `rseq: unknown arguments: ${args.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  try {
    switch (command) {
      case 'probe': {
        if (selftest) {
          const t = rseq.selftest();
          // After the selftest: a broken verdict shows in criticalSections too.
          const p = rseq.probe();
          out(json ? `${toJson({ ...p, selftest: t })}\n` : renderSections([...probeSections(p), selftestSection(t)]));
          return t.criticalSections === 'broken' ? 1 : 0;
        }
        const p = rseq.probe();
        out(json ? `${toJson(p)}\n` : renderSections(probeSections(p)));
        return 0;
      }
      case 'auxv': {
        const a = rseq.auxv();
        out(json ? `${toJson(a)}\n` : renderAuxv(a));
        return 0;
      }
      default: {
        const t = rseq.errnoTable();
        out(json ? `${toJson(t)}\n` : renderErrnoTable(t));
        return 0;
      }
    }
  } catch (err) {
    if (err instanceof RseqError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
