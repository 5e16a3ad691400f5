'use strict';
// Does KVM really run a Debian kernel here?
//
// /dev/kvm being there and qemu starting with -accel kvm is not enough: under
// nested or paravirtual hypervisors (e.g. a "kvm-pvm" host, which only runs
// specially built guests) qemu may abort on an MSR it cannot set, or the guest
// may hang in its decompressor. So the probe boots the actual kernel with KVM
// and the matrix's /init (init.c) with no task: it prints START and
// "RSEQ-MATRIX-DONE 0" and powers off. KVM is used for that kernel only if
// this works. A working probe costs ~1 s.

const fs = require('node:fs');
const path = require('node:path');
const { buildInitramfs } = require('./initramfs.cjs');
const { bootCell } = require('./qemu.cjs');

/** Boot `kernelImage` with KVM and `init` (the x86_64 build of init.c), no task; resolves { ok, why, seconds }. */
async function probeKvm(kernelImage, workDir, init) {
  try {
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
  } catch (e) {
    return { ok: false, why: `/dev/kvm: ${e.code || e.message}` };
  }
  const initrd = path.join(workDir, 'kvm-probe.cpio.gz');
  if (!fs.existsSync(initrd)) fs.writeFileSync(initrd, buildInitramfs({ init }));
  const r = await bootCell({
    arch: 'x86_64',
    accel: 'kvm',
    smp: 1,
    mem: 256,
    kernelImage,
    initrd,
    append: '',
    timeout: 30,
    logFile: path.join(workDir, `kvm-probe-${path.basename(path.dirname(kernelImage))}.log`),
  });
  return { ok: r.ok, why: r.ok ? `booted with KVM in ${r.totalSeconds.toFixed(1)} s` : r.reason, seconds: r.totalSeconds };
}

module.exports = { probeKvm };
