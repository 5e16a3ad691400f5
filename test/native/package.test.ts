/**
 * The package as a user installs it: `npm pack`, then `npm install` of the
 * tarball into a fresh project. ESM, CommonJS and their types must work; and a
 * copy whose addon build is forced to fail must still install and run on the
 * simulator, with the build error as its reason.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, skipNative } from '../helpers/env.js';

/** A consumer's environment: this test run's RSEQ_BACKEND (the project's) must not leak into it. */
function consumerEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, RSEQ_BACKEND: 'auto', ...env };
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: consumerEnv(env), timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

const npm = 'npm';
const quiet = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

/** A fresh project with the packed tarball installed; extra env for the install. */
function installCopy(tarball: string, name: string, env: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rseq-${name}-`));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true }));
  // The consumer's install must not inherit this run's RSEQ_REQUIRE (a forced failure is the point).
  run(npm, ['install', ...quiet, tarball], dir, { RSEQ_REQUIRE: '0', ...env });
  return dir;
}

describe.skipIf(skipNative)('the installed package', () => {
  let tarball: string;
  beforeAll(() => {
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'rseq-pack-'));
    const out = run(npm, ['pack', '--pack-destination', dest, '--loglevel=error'], ROOT).stdout.trim().split('\n');
    tarball = path.join(dest, out[out.length - 1]!);
    expect(fs.existsSync(tarball)).toBe(true);
  });

  it('works from ESM, from CommonJS and from the CLI, with types for both', () => {
    const dir = installCopy(tarball, 'ok');
    const esm = run(process.execPath, ['--input-type=module', '-e', "import { rseq } from 'rseq'; import d from 'rseq'; console.log(JSON.stringify({ b: rseq.backend, same: d === rseq, cpu: rseq.cpuId() }))"], dir);
    const cjs = run(process.execPath, ['-e', "const { rseq } = require('rseq'); console.log(JSON.stringify({ b: rseq.backend, cpu: rseq.cpuId() }))"], dir);
    const e = JSON.parse(esm.stdout) as { b: string; same: boolean; cpu: number };
    const c = JSON.parse(cjs.stdout) as { b: string; cpu: number };
    expect(e).toMatchObject({ b: 'native', same: true });
    expect(c.b).toBe('native');
    expect(e.cpu).toBeGreaterThanOrEqual(0);
    expect(c.cpu).toBeGreaterThanOrEqual(0);

    // The simulator as a laboratory: rseq/simulator from both module systems.
    const sim = "const b = createSimulatorBackend({ kernel: '4.18' }); console.log(JSON.stringify([b.kernel().release, b.kernel().featureSize]))";
    const simEsm = run(process.execPath, ['--input-type=module', '-e', `import { createSimulatorBackend } from 'rseq/simulator'; ${sim}`], dir);
    const simCjs = run(process.execPath, ['-e', `const { createSimulatorBackend } = require('rseq/simulator'); ${sim}`], dir);
    expect(JSON.parse(simEsm.stdout)).toEqual(['4.18.0-simulated', null]);
    expect(JSON.parse(simCjs.stdout)).toEqual(['4.18.0-simulated', null]);

    const probe = run(path.join(dir, 'node_modules', '.bin', 'rseq'), ['probe', '--json'], dir);
    expect(JSON.parse(probe.stdout)).toMatchObject({ backend: 'native', fallbackReason: null });

    fs.writeFileSync(
      path.join(dir, 'check.mts'),
      "import { rseq, RseqError, PerCpuCounter, type ProbeReport } from 'rseq';\nimport { createSimulatorBackend } from 'rseq/simulator';\nconst p: ProbeReport = rseq.probe();\nconst n: number = rseq.area().cpuId;\nconst e: RseqError | null = null;\nconst c: bigint = new PerCpuCounter().valueBigInt();\nconst k: string = createSimulatorBackend().kernel().release;\nexport { p, n, e, c, k };\n",
    );
    fs.writeFileSync(
      path.join(dir, 'check.cts'),
      "import pkg = require('rseq');\nconst n: number = pkg.rseq.cpuId();\nconst k: 'native' | 'simulator' = pkg.rseq.backend;\nexport = { n, k };\n",
    );
    fs.writeFileSync(
      path.join(dir, 'bad.mts'),
      "import { rseq } from 'rseq';\nconst s: string = rseq.cpuId();\nexport { s };\n",
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--typeRoots', path.join(ROOT, 'node_modules', '@types'), '--types', 'node'];
    run(process.execPath, [tsc, ...flags, 'check.mts', 'check.cts'], dir);
    // The types are real: a wrong use is a compile error.
    const bad = spawnSync(process.execPath, [tsc, ...flags, 'bad.mts'], { cwd: dir, encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toContain("Type 'number' is not assignable to type 'string'");
  });

  it('installs with the addon build forced to fail and runs on the simulator, saying why', () => {
    // CXX=false makes every compile of the addon fail, as on a machine without a working compiler.
    const dir = installCopy(tarball, 'nobuild', { CXX: 'false', CC: 'false' });
    const pkg = path.join(dir, 'node_modules', 'rseq');
    expect(fs.existsSync(path.join(pkg, 'build', 'Release', 'rseq.node'))).toBe(false);
    expect(fs.readFileSync(path.join(pkg, 'build', 'addon-build-error.txt'), 'utf8')).toMatch(/build failed/);
    const r = run(process.execPath, ['-e', "const { rseq } = require('rseq'); console.log(JSON.stringify({ b: rseq.backend, why: rseq.fallbackReason, cpu: rseq.cpuId() }))"], dir);
    const o = JSON.parse(r.stdout) as { b: string; why: string; cpu: number };
    expect(o.b).toBe('simulator');
    expect(o.why).toMatch(/^the native addon was not built: the addon build failed/);
    expect(o.cpu).toBeGreaterThanOrEqual(0);
    const forced = spawnSync(process.execPath, ['-e', "require('rseq').rseq.backend"], { cwd: dir, encoding: 'utf8', env: consumerEnv({ RSEQ_BACKEND: 'native' }) });
    expect(forced.status).toBe(1);
    expect(forced.stderr).toContain('RSEQ_BACKEND=native, but the native backend cannot work here: the native addon was not built');
  });
});
