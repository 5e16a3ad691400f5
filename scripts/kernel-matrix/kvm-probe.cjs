'use strict';
// Does KVM really run a Debian kernel here?
//
// /dev/kvm being there and qemu starting with -accel kvm is not enough: under
// nested or paravirtual hypervisors (e.g. a "kvm-pvm" host, which only runs
// specially built guests) qemu may abort on an MSR it cannot set, or the guest
// may hang in its decompressor. So the probe boots the actual kernel with KVM
// and a hand-made /init that prints "RSEQ-MATRIX-DONE 0" and powers off; KVM
// is used for that kernel only if this works. A working probe costs ~1 s.

const fs = require('node:fs');
const path = require('node:path');
const { Initramfs } = require('./initramfs.cjs');
const { bootCell } = require('./qemu.cjs');

/**
 * A 64-bit static ELF for x86_64 Linux, built byte by byte: write(1, msg),
 * reboot(POWER_OFF), exit(0). No compiler needed.
 */
function tinyInitX86() {
  const msg = Buffer.from('RSEQ-MATRIX-DONE 0\n');
  const base = 0x400000;
  const codeOff = 64 + 56; // ELF header + one program header
  const code = Buffer.from([
    0xb8, 0x01, 0x00, 0x00, 0x00, //             mov eax, 1 (write)
    0xbf, 0x01, 0x00, 0x00, 0x00, //             mov edi, 1
    0x48, 0x8d, 0x35, 0, 0, 0, 0, //             lea rsi, [rip + msg] (patched below)
    0xba, msg.length, 0x00, 0x00, 0x00, //       mov edx, len
    0x0f, 0x05, //                               syscall
    0xb8, 0xa9, 0x00, 0x00, 0x00, //             mov eax, 169 (reboot)
    0xbf, 0xad, 0xde, 0xe1, 0xfe, //             mov edi, 0xfee1dead
    0xbe, 0x69, 0x19, 0x12, 0x28, //             mov esi, 0x28121969
    0xba, 0xdc, 0xfe, 0x21, 0x43, //             mov edx, 0x4321fedc (POWER_OFF)
    0x0f, 0x05, //                               syscall
    0xb8, 0x3c, 0x00, 0x00, 0x00, //             mov eax, 60 (exit)
    0x31, 0xff, //                               xor edi, edi
    0x0f, 0x05, //                               syscall
  ]);
  code.writeInt32LE(code.length - 17, 13); // rel32 from the end of the lea (offset 17) to msg
  const size = codeOff + code.length + msg.length;

  const eh = Buffer.alloc(64);
  eh.write('\x7fELF', 0, 'latin1');
  eh[4] = 2; // 64-bit
  eh[5] = 1; // little endian
  eh[6] = 1; // ELF version
  eh.writeUInt16LE(2, 16); // ET_EXEC
  eh.writeUInt16LE(62, 18); // EM_X86_64
  eh.writeUInt32LE(1, 20); // version
  eh.writeBigUInt64LE(BigInt(base + codeOff), 24); // entry
  eh.writeBigUInt64LE(64n, 32); // phoff
  eh.writeUInt16LE(64, 52); // ehsize
  eh.writeUInt16LE(56, 54); // phentsize
  eh.writeUInt16LE(1, 56); // phnum
  const ph = Buffer.alloc(56);
  ph.writeUInt32LE(1, 0); // PT_LOAD
  ph.writeUInt32LE(5, 4); // PF_R | PF_X
  ph.writeBigUInt64LE(0n, 8); // offset
  ph.writeBigUInt64LE(BigInt(base), 16); // vaddr
  ph.writeBigUInt64LE(BigInt(base), 24); // paddr
  ph.writeBigUInt64LE(BigInt(size), 32); // filesz
  ph.writeBigUInt64LE(BigInt(size), 40); // memsz
  ph.writeBigUInt64LE(0x1000n, 48); // align
  return Buffer.concat([eh, ph, code, msg]);
}

/** Boot `kernelImage` with KVM and the tiny init; resolves { ok, why, seconds }. */
async function probeKvm(kernelImage, workDir) {
  try {
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
  } catch (e) {
    return { ok: false, why: `/dev/kvm: ${e.code || e.message}` };
  }
  const initrd = path.join(workDir, 'kvm-probe.cpio.gz');
  if (!fs.existsSync(initrd)) {
    const img = new Initramfs().chardev('dev/console', 5, 1).file('init', tinyInitX86(), 0o755);
    fs.writeFileSync(initrd, img.gzip());
  }
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

module.exports = { probeKvm, tinyInitX86 };
