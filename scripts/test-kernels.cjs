#!/usr/bin/env node
'use strict';
// `npm run test:kernels`: the per-CPU critical sections on real kernels of both
// architectures. Builds the static stress binary (native/test/stress/,
// with delay, yield and signal injection) for x86_64 and aarch64, then boots
// Debian's 6.1 and 6.12 kernels under qemu with it as the guest's task
// (`rseq_stress --guest`, run by the matrix's /init: scripts/kernel-matrix.cjs),
// once with glibc's own registration and once with it turned off (the core's
// area). Every cell must boot and pass every invariant with aborts observed.
// Then the whole Node package on the same kernels (scripts/kernel-package.cjs):
// on x86_64 with this machine's node and build/Release/rseq.node, on aarch64
// with the official arm64 node, Debian's arm64 libraries and the package
// unpacked from npm pack's tarball (prepack builds both prebuilds), so that
// the guest loads the arm64 prebuild a user gets. Exit status 1 on any failure.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'build-cmake', 'stress');

function step(title, args) {
  console.log(`\n== ${title}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`== ${title}: ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${seconds} s`);
  return r.status === 0;
}

const results = [];
results.push(step('build the static stress binaries', ['scripts/build-stress.cjs', '--arch', 'all', '--variant', 'inject', '--out', out]));
if (results[0]) {
  const stress = [
    ...['x86_64', 'aarch64'].flatMap((a) => ['--payload', `${a}=${path.join(out, `rseq-stress-inject-${a}`)}`]),
    '--task',
    '/payload --guest',
  ];
  results.push(step('kernel matrix, glibc registers rseq', ['scripts/kernel-matrix.cjs', ...stress, '--timeout', '300']));
  results.push(
    step("kernel matrix, glibc's registration off (the core's own area)", [
      'scripts/kernel-matrix.cjs',
      ...stress,
      '--timeout',
      '300',
      '--append',
      'GLIBC_TUNABLES=glibc.pthread.rseq=0',
    ]),
  );
}
if (fs.existsSync(path.join(root, 'scripts', 'kernel-package.cjs'))) {
  results.push(step('the whole package on x86_64 kernels', ['scripts/kernel-package.cjs', '--arches', 'x86_64']));
  // aarch64 under TCG: one cell takes 90-110 s on a quiet 2-core host, up to
  // 420 s on a busy one (worker start-up under emulation dominates).
  // It runs the package as a user installs it: npm pack's tarball (which
  // `prepack` fills with both prebuilds), unpacked, with no build/ and no
  // compiler in the guest, loading its arm64 prebuild.
  if (fs.existsSync(path.join(root, 'scripts', 'prebuild.cjs'))) {
    const dest = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'rseq-kernels-pack-'));
    const packed = step('npm pack (the tarball, with both prebuilds)', [npmCli(), 'pack', '--pack-destination', dest, '--loglevel=error']);
    results.push(packed);
    const tarball = packed ? fs.readdirSync(dest).filter((f) => f.endsWith('.tgz')).map((f) => path.join(dest, f))[0] : undefined;
    if (tarball) results.push(step('the whole package on aarch64 kernels, from the tarball', ['scripts/kernel-package.cjs', '--arches', 'aarch64', '--tarball', tarball]));
    else if (packed) results.push(false);
    fs.rmSync(dest, { recursive: true, force: true });
  } else {
    console.log('\n== the whole package on aarch64 kernels: FAILED (scripts/prebuild.cjs, which builds the arm64 prebuild, is missing)');
    results.push(false);
  }
}
/** npm's own CLI script, run with this node (npm is a script, not a binary). */
function npmCli() {
  const found = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('npm is not on PATH');
  return fs.realpathSync(found);
}

const failed = results.filter((ok) => !ok).length;
console.log(`\ntest:kernels: ${results.length - failed} of ${results.length} steps passed`);
process.exit(failed === 0 ? 0 : 1);
