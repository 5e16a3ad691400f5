#!/usr/bin/env node
'use strict';
// `npm install` step: build the native addon with node-gyp where it can work
// (Linux on x86_64 or aarch64). Where it cannot, or where the build fails, the
// install still succeeds and the package runs on the simulator; the reason is
// written to build/addon-build-error.txt and reported as `rseq.fallbackReason`.
// With RSEQ_REQUIRE=1 a failed build fails the install instead.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const buildDir = path.join(root, 'build');
const errorFile = path.join(buildDir, 'addon-build-error.txt');
const required = process.env.RSEQ_REQUIRE === '1';

function record(reason) {
  fs.mkdirSync(buildDir, { recursive: true });
  fs.writeFileSync(errorFile, reason + '\n');
  const log = required ? console.error : console.warn;
  log(`rseq: the native addon was not built; the simulator backend will be used.\nrseq: ${reason.split('\n')[0]}`);
  if (required) {
    console.error('rseq: RSEQ_REQUIRE=1 is set, so a missing addon is an error.');
    process.exit(1);
  }
  process.exit(0);
}

fs.rmSync(errorFile, { force: true });

const supported = { x64: 'x86_64', arm64: 'aarch64' };
if (process.platform !== 'linux') {
  record(`rseq is a Linux system call; this platform is ${process.platform}`);
}
if (!(process.arch in supported)) {
  record(`the addon has critical sections for x86_64 and aarch64 only; this architecture is ${process.arch}`);
}

function nodeGypCommand() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return [process.execPath, fromNpm];
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    // npm ships node-gyp beside itself.
    const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (fs.existsSync(bundled)) return [process.execPath, bundled];
  }
  return ['node-gyp'];
}

const [cmd, ...pre] = nodeGypCommand();
const result = spawnSync(cmd, [...pre, 'rebuild'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
process.stdout.write(result.stdout ?? '');
process.stderr.write(result.stderr ?? '');
if (result.error) {
  record(`node-gyp could not be started: ${result.error.message}`);
}
if (result.status !== 0) {
  const lines = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.split('\n').filter((l) => l.trim() !== '');
  const firstError = lines.find((l) => /error/i.test(l) && !/^gyp ERR! (cwd|node -v|node-gyp -v|System|command|not ok)/.test(l));
  record(`the addon build failed (node-gyp exit ${result.status}): ${firstError ?? 'see the install log'}\n${lines.slice(-40).join('\n')}`);
}
