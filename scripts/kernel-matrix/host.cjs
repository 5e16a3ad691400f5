'use strict';
// Host helpers for the kernel matrix: running commands, installing missing
// Debian packages with apt.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/** Progress goes to stderr so stdout stays the table. */
function log(...args) {
  process.stderr.write(`[kernel-matrix] ${args.join(' ')}\n`);
}

/**
 * Run a command synchronously; throw with its stderr when it fails.
 * Returns stdout as a string.
 */
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: opts.inherit ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', ...(opts.env || {}) },
    cwd: opts.cwd,
  });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0 && !opts.allowFail) {
    const tail = String(r.stderr || '').trim().split('\n').slice(-8).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}${tail ? `:\n${tail}` : ''}`);
  }
  return opts.allowFail ? r : r.stdout;
}

/** Full path of an executable found on PATH, or null. */
function which(cmd) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

// apt-get update is slow-ish: run it at most once per harness run.
let aptUpdated = false;
function aptUpdate() {
  if (aptUpdated) return;
  log('apt-get update');
  run('apt-get', ['update', '-qq']);
  aptUpdated = true;
}

/** Install Debian packages; on failure refresh the package lists once and retry. */
function aptInstall(pkgs) {
  if (pkgs.length === 0) return;
  const args = ['install', '-y', '-qq', '--no-install-recommends', ...pkgs];
  log(`apt-get install ${pkgs.join(' ')}`);
  const r = run('apt-get', args, { allowFail: true });
  if (r.status === 0) return;
  aptUpdate();
  run('apt-get', args);
}

/**
 * Make sure each command exists, installing its package when it does not.
 * `needs` maps a command name to the Debian package(s) providing it.
 */
function ensureCommands(needs) {
  const missing = new Set();
  for (const [cmd, pkgs] of Object.entries(needs)) {
    if (!which(cmd)) for (const p of [].concat(pkgs)) missing.add(p);
  }
  aptInstall([...missing]);
  for (const cmd of Object.keys(needs)) {
    if (!which(cmd)) throw new Error(`${cmd} still missing after installing its package`);
  }
}

/** Enable arm64 as a foreign dpkg architecture (needed to download arm64 kernels). */
function ensureForeignArch(debArch) {
  const native = run('dpkg', ['--print-architecture']).trim();
  if (native === debArch) return false;
  const foreign = run('dpkg', ['--print-foreign-architectures']).split(/\s+/);
  if (foreign.includes(debArch)) return false;
  log(`dpkg --add-architecture ${debArch}`);
  run('dpkg', ['--add-architecture', debArch]);
  aptUpdated = false; // the new architecture's lists must be fetched
  aptUpdate();
  return true;
}

module.exports = { log, run, which, aptUpdate, aptInstall, ensureCommands, ensureForeignArch };
