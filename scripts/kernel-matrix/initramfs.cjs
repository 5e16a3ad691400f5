'use strict';
// A tiny initramfs builder: the "newc" cpio format (what the kernel unpacks
// into its rootfs), written in plain Node, then gzip-compressed.
//
// newc entry = 110-byte ASCII header, file name + NUL, padding to a multiple
// of 4, file data, padding to a multiple of 4. The header is the magic
// "070701" followed by 13 eight-digit hex fields:
//   ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor
//   rdevminor namesize check
// The archive ends with an entry named "TRAILER!!!". Device nodes are plain
// entries with S_IFCHR in mode and rdevmajor/rdevminor set, so no root
// privileges or mknod are needed to build them.

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

class Initramfs {
  constructor() {
    this.entries = new Map(); // archive path (no leading "/") -> entry
  }

  /** Normalise "/a/b" to "a/b" and create missing parent directories. */
  _path(p) {
    const rel = path.posix.normalize(p).replace(/^\/+/, '');
    if (!rel || rel === '.' || rel.startsWith('..')) throw new Error(`bad initramfs path: ${p}`);
    const parent = path.posix.dirname(rel);
    if (parent !== '.' && !this.entries.has(parent)) this.dir(parent);
    return rel;
  }

  dir(p, perm = 0o755) {
    const rel = this._path(p);
    if (!this.entries.has(rel)) this.entries.set(rel, { mode: S_IFDIR | perm, data: Buffer.alloc(0) });
    return this;
  }

  file(p, data, perm = 0o644) {
    this.entries.set(this._path(p), { mode: S_IFREG | perm, data: Buffer.from(data) });
    return this;
  }

  symlink(p, target) {
    this.entries.set(this._path(p), { mode: S_IFLNK | 0o777, data: Buffer.from(target) });
    return this;
  }

  chardev(p, major, minor, perm = 0o600) {
    this.entries.set(this._path(p), { mode: S_IFCHR | perm, data: Buffer.alloc(0), rdev: [major, minor] });
    return this;
  }

  /**
   * Copy a host file, symlink or whole directory tree to `dest`, keeping
   * permission bits (so executables stay executable).
   */
  addHost(hostPath, dest) {
    const st = fs.lstatSync(hostPath);
    if (st.isSymbolicLink()) return this.symlink(dest, fs.readlinkSync(hostPath));
    if (st.isDirectory()) {
      this.dir(dest, st.mode & 0o7777);
      for (const name of fs.readdirSync(hostPath).sort()) {
        this.addHost(path.join(hostPath, name), path.posix.join(dest, name));
      }
      return this;
    }
    if (st.isFile()) return this.file(dest, fs.readFileSync(hostPath), st.mode & 0o7777);
    throw new Error(`${hostPath}: only files, directories and symlinks can go into the initramfs`);
  }

  /** The uncompressed newc archive. Parents always precede their children. */
  cpio() {
    const parts = [];
    let ino = 1;
    const push = (name, mode, data, rdev = [0, 0]) => {
      const nameBuf = Buffer.from(`${name}\0`);
      const fields = [ino++, mode, 0, 0, mode & S_IFDIR ? 2 : 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0];
      const header = Buffer.from(`070701${fields.map((n) => n.toString(16).padStart(8, '0')).join('')}`, 'ascii');
      parts.push(header, nameBuf, pad(header.length + nameBuf.length), data, pad(data.length));
    };
    // Sorting puts "a" before "a/b"; every parent was registered by _path().
    for (const name of [...this.entries.keys()].sort()) {
      const e = this.entries.get(name);
      push(name, e.mode, e.data, e.rdev);
    }
    push('TRAILER!!!', 0, Buffer.alloc(0));
    return Buffer.concat(parts);
  }

  /** gzip-compressed archive, the usual initrd format. */
  gzip(level = 6) {
    return zlib.gzipSync(this.cpio(), { level });
  }
}

function pad(n) {
  return Buffer.alloc((4 - (n % 4)) % 4);
}

/**
 * A guest's initramfs: the matrix's /init (`init`: init.c built for the
 * guest's architecture), the guest's task for it (/task: `task`, the
 * program and its arguments, one per line), the static `payload` as
 * /payload when there is one, the empty mount points, and /dev/console +
 * /dev/null so init has stdio from the first instruction (the kernel opens
 * /dev/console for init when it exists). `extras` is a list of
 * { host, dest }. Without a task, /init runs nothing and powers off.
 */
function buildInitramfs({ init, task = null, payload = null, extras = [] }) {
  const fsImg = new Initramfs();
  for (const d of ['dev', 'proc', 'sys', 'root', 'run']) fsImg.dir(d);
  fsImg.dir('tmp', 0o1777);
  fsImg.chardev('dev/console', 5, 1, 0o600);
  fsImg.chardev('dev/null', 1, 3, 0o666);
  fsImg.file('init', fs.readFileSync(init), 0o755);
  if (payload) fsImg.file('payload', fs.readFileSync(payload), 0o755);
  if (task) {
    for (const arg of task) if (!arg || arg.includes('\n')) throw new Error(`bad task argument ${JSON.stringify(arg)}`);
    fsImg.file('task', `${task.join('\n')}\n`, 0o644);
  }
  for (const { host, dest } of extras) fsImg.addHost(host, dest);
  return fsImg.gzip();
}

module.exports = { Initramfs, buildInitramfs };
