/**
 * The package as a user installs it: `npm pack`, then `npm install` of the
 * tarball into a fresh project. ESM, CommonJS and their types must work, on
 * the prebuilt addon, with install scripts on or off; the prebuilds need no
 * newer glibc than the official Node binaries; a build from source runs when
 * asked, and a failed one names its cause; with neither, the simulator runs
 * with one warning that says why.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, skipNative } from '../helpers/env.js';
const { inspect, PREBUILD_NAME } = createRequire(import.meta.url)('../../scripts/prebuild.cjs') as {
  inspect: (file: string) => { machine: string; needed: string[]; versions: string[]; tooNew: string[] };
  PREBUILD_NAME: string;
};

/** A consumer's environment: this test run's RSEQ_BACKEND (the project's) must not leak into it. */
function consumerEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, RSEQ_BACKEND: 'auto', ...env };
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: consumerEnv(env), timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** npm by its absolute path, so that an install under a bare PATH still starts it. */
const npm = (() => {
  const found = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  return found === '' ? 'npm' : fs.realpathSync(found);
})();
const quiet = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

/** A fresh project with the packed tarball installed; extra env for the install. */
function installCopy(tarball: string, name: string, env: Record<string, string> = {}, flags: string[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rseq-${name}-`));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true }));
  // The consumer's install must not inherit this run's RSEQ_REQUIRE (a forced failure is the point).
  run(npm, ['install', ...quiet, ...flags, tarball], dir, { RSEQ_REQUIRE: '0', ...env });
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

    // The README's example, pasted as its text says: exact across four workers.
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const example = /## Example[^\n]*\n[\s\S]*?```js\n([\s\S]*?)```/.exec(readme);
    expect(example).not.toBeNull();
    fs.writeFileSync(path.join(dir, 'counter.mjs'), example![1]!);
    const counted = run(process.execPath, ['counter.mjs'], dir).stdout.trim().split('\n');
    expect(counted[0]).toBe('backend: native ');
    expect(counted[counted.length - 1]).toBe('total 4000000');

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

  it('runs natively from the prebuilt addon, with no build: install scripts on, off, no compiler, pnpm 10', () => {
    // A PATH with node and sh (npm runs scripts through it) and nothing else:
    // no g++, make or python3, as in the node:*-slim images.
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'rseq-bare-path-'));
    fs.symlinkSync(process.execPath, path.join(bare, 'node'));
    fs.symlinkSync('/bin/sh', path.join(bare, 'sh'));
    const noCompiler = { PATH: bare };
    expect(spawnSync('g++', ['--version'], { env: { ...process.env, ...noCompiler } }).error).toBeDefined();
    const variants: [string, string[], Record<string, string>][] = [
      ['prebuilt', [], {}],
      ['noscripts', ['--ignore-scripts'], {}],
      ['nocompiler', [], noCompiler],
    ];
    for (const [name, flags, env] of variants) {
      const dir = installCopy(tarball, name, env, flags);
      const pkg = path.join(dir, 'node_modules', 'rseq');
      // Nothing was compiled: the prebuild serves this machine.
      expect(fs.existsSync(path.join(pkg, 'build', 'Release', 'rseq.node'))).toBe(false);
      const r = run(process.execPath, ['-e', "const { rseq } = require('rseq'); const p = rseq.probe(); console.log(JSON.stringify({ b: rseq.backend, why: rseq.fallbackReason, file: p.addon.file, cpu: rseq.cpuId() }))"], dir);
      expect(JSON.parse(r.stdout)).toMatchObject({ b: 'native', why: null, file: path.join('prebuilds', `linux-${process.arch}`, 'node.napi.glibc.node') });
      expect(r.stderr).not.toContain('RSEQ_SIMULATED');
    }
    // pnpm 10, which blocks dependencies' install scripts by default.
    const pn = fs.mkdtempSync(path.join(os.tmpdir(), 'rseq-pnpm-'));
    fs.writeFileSync(path.join(pn, 'package.json'), JSON.stringify({ name: 'consumer-pnpm', version: '1.0.0', private: true }));
    const added = run(path.join(path.dirname(npm), 'npx-cli.js'), ['-y', 'pnpm@10', 'add', tarball], pn, { RSEQ_REQUIRE: '0' });
    expect(added.stdout).toContain('Ignored build scripts: rseq');
    const r = run(process.execPath, ['-e', "const { rseq } = require('rseq'); console.log(JSON.stringify({ b: rseq.backend, file: rseq.probe().addon.file }))"], pn);
    expect(JSON.parse(r.stdout)).toEqual({ b: 'native', file: path.join('prebuilds', `linux-${process.arch}`, 'node.napi.glibc.node') });
  });

  it('ships prebuilds that need no more than GLIBC_2.28 and GLIBCXX_3.4.21, one per architecture', () => {
    const dir = installCopy(tarball, 'symbols', {}, ['--ignore-scripts']);
    const prebuilds = path.join(dir, 'node_modules', 'rseq', 'prebuilds');
    expect(fs.readdirSync(prebuilds).sort()).toEqual(['linux-arm64', 'linux-x64']);
    const machines: Record<string, RegExp> = { 'linux-x64': /X86-64/, 'linux-arm64': /AArch64/ };
    for (const platform of ['linux-x64', 'linux-arm64']) {
      const info = inspect(path.join(prebuilds, platform, PREBUILD_NAME));
      expect(info.machine).toMatch(machines[platform]!);
      expect(info.tooNew).toEqual([]);
      // Only libraries every glibc system with Node has.
      for (const lib of info.needed) expect(['libc.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', 'libm.so.6', 'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1']).toContain(lib);
      expect(info.versions.some((v) => v.startsWith('GLIBC_'))).toBe(true);
    }
  });

  it('builds from source when asked; a failed build names the missing compiler and leaves the prebuild in use', () => {
    // CXX=false: a compiler that does not run, as on a machine without one.
    const dir = installCopy(tarball, 'nobuild', { CXX: 'false', CC: 'false', RSEQ_BUILD_FROM_SOURCE: '1' });
    const pkg = path.join(dir, 'node_modules', 'rseq');
    expect(fs.existsSync(path.join(pkg, 'build', 'Release', 'rseq.node'))).toBe(false);
    expect(fs.readFileSync(path.join(pkg, 'build', 'addon-build-error.txt'), 'utf8')).toMatch(/could not be built from source: the C\+\+ compiler CXX=false does not run/);
    const probe = "const { rseq } = require('rseq'); console.log(JSON.stringify({ b: rseq.backend, why: rseq.fallbackReason, cpu: rseq.cpuId() }))";
    expect(JSON.parse(run(process.execPath, ['-e', probe], dir).stdout)).toMatchObject({ b: 'native', why: null });

    // Without the prebuild too: the simulator, one warning, the whole reason.
    fs.rmSync(path.join(pkg, 'prebuilds'), { recursive: true });
    const r = run(process.execPath, ['-e', probe], dir);
    const o = JSON.parse(r.stdout) as { b: string; why: string; cpu: number };
    expect(o.b).toBe('simulator');
    expect(o.why).toMatch(/^no native addon could be used: the source build failed: the addon could not be built from source: the C\+\+ compiler CXX=false does not run/);
    expect(o.why).toContain(`the package has no prebuilt addon for linux-${process.arch}`);
    expect(o.cpu).toBeGreaterThanOrEqual(0);
    expect(r.stderr.match(/\[RSEQ_SIMULATED\] Warning: rseq runs on its simulator/g)).toHaveLength(1);
    expect(r.stderr).toContain('CXX=false does not run');
    const quiet = spawnSync(process.execPath, ['-e', probe], { cwd: dir, encoding: 'utf8', env: consumerEnv({ RSEQ_SIMULATOR_WARNING: '0' }) });
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).not.toContain('RSEQ_SIMULATED');
    const forced = spawnSync(process.execPath, ['-e', "require('rseq').rseq.backend"], { cwd: dir, encoding: 'utf8', env: consumerEnv({ RSEQ_BACKEND: 'native' }) });
    expect(forced.status).toBe(1);
    expect(forced.stderr).toContain('RSEQ_BACKEND=native, but the native backend cannot work here: no native addon could be used');
  });

  it('npm rebuild rseq builds the addon from source, which is then loaded before the prebuild', () => {
    const dir = installCopy(tarball, 'rebuild', {}, ['--ignore-scripts']);
    run(npm, ['rebuild', 'rseq', '--loglevel=error'], dir, { RSEQ_REQUIRE: '1' });
    const pkg = path.join(dir, 'node_modules', 'rseq');
    expect(fs.existsSync(path.join(pkg, 'build', 'Release', 'rseq.node'))).toBe(true);
    const r = run(process.execPath, ['-e', "const { rseq } = require('rseq'); console.log(JSON.stringify({ b: rseq.backend, file: rseq.probe().addon.file }))"], dir);
    expect(JSON.parse(r.stdout)).toEqual({ b: 'native', file: path.join('build', 'Release', 'rseq.node') });
  });
});
