/**
 * What the running test project is, and whether native tests may skip.
 * With RSEQ_REQUIRE=1 nothing that needs rseq may skip: it fails instead.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadNative } from '../../src/native/backend.js';

export const ROOT = path.resolve(__dirname, '..', '..');
export const required = process.env.RSEQ_REQUIRE === '1';
/**
 * The vitest project: `native`, `simulator` (RSEQ_BACKEND=simulator), or
 * `fallback` (auto with the addon made unloadable: it must fall back).
 */
export const project: 'native' | 'simulator' | 'fallback' = process.env.RSEQ_ADDON?.startsWith('/nonexistent')
  ? 'fallback'
  : process.env.RSEQ_BACKEND === 'simulator'
    ? 'simulator'
    : 'native';
/** The backend the project must get. */
export const expectedBackend: 'native' | 'simulator' = project === 'native' ? 'native' : 'simulator';

const native = process.platform === 'linux' ? loadNative() : null;
/** Why the native backend cannot run here, or null when it can. */
export const nativeUnavailable: string | null = native === null ? `platform ${process.platform}` : native.ok ? null : native.reason;

/** Skip native-only work where rseq is unavailable, unless RSEQ_REQUIRE=1. */
export const skipNative = nativeUnavailable !== null && !required;
/** Skip the shared suite in the native project where native cannot run (unless required). */
export const skipShared = project === 'native' && skipNative;

/** The compiled package (dist/) must exist for child processes and workers. */
export const DIST_ENTRY = path.join(ROOT, 'dist', 'cjs', 'src', 'index.js');
if (!fs.existsSync(DIST_ENTRY)) {
  throw new Error(`tests need the compiled package at ${DIST_ENTRY}: run npm run build:ts`);
}

/** The shipped addon (npm install) and the development addon (npm run build:dev: benchLoop and the test hooks). */
export const SHIPPED_ADDON = path.join(ROOT, 'build', 'Release', 'rseq.node');
export const DEV_ADDON = path.join(ROOT, 'build', 'Release', 'rseq_dev.node');

/** Fails (never skips) when the development addon is missing: `npm test` builds it. */
export function requireDevAddon(): void {
  if (!fs.existsSync(DEV_ADDON)) throw new Error(`${DEV_ADDON} is missing: run \`npm run build:dev\` (npm test does)`);
}

/** Run node on a script with extra environment; returns the whole result. */
export function runNode(args: string[], env: Record<string, string | undefined> = {}, cwd = ROOT): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
}

/** Parse the last line of a child's stdout as JSON, failing with its stderr. */
export function lastJson<T>(r: SpawnSyncReturns<string>): T {
  if (r.status !== 0) throw new Error(`child exited ${r.status} (signal ${r.signal}): ${r.stderr}\n${r.stdout}`);
  const lines = r.stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1] ?? '') as T;
  } catch {
    throw new Error(`child printed no JSON line:\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

/** CPUs this process may run on, from the kernel (not from the package). */
export function allowedCpus(): number[] {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const m = /Cpus_allowed_list:\s*(\S+)/.exec(status);
  if (!m) throw new Error('no Cpus_allowed_list in /proc/self/status');
  return parseCpuList(m[1]!);
}

export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-').map(Number);
    for (let c = a!; c <= (b ?? a!); c++) out.push(c);
  }
  return out;
}

/** Compile a C file from test/helpers with the system compiler into a temp dir; returns the binary. */
export function compileC(source: string, extra: string[] = []): string {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rseq-test-')), path.basename(source, '.c'));
  const r = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', out, path.join(ROOT, 'test', 'helpers', source), ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc ${source} failed: ${r.error?.message ?? ''}${r.stderr}`);
  return out;
}
