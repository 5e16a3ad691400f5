'use strict';
// Boot one kernel x architecture cell under qemu and read the guest's
// verdict from the serial console.
//
// Protocol (one per line, anywhere in the output):
//   RSEQ-MATRIX-START                  the first thing /init (init.c) prints:
//                                      marks the end of the kernel boot
//   RSEQ-MATRIX-RESULT <json object>   zero or more, printed by the task
//   RSEQ-MATRIX-DONE <exit code>       exactly once, last: /init, with the
//                                      task's exit status
// After DONE /init powers off (should that fail, it exits: with panic=-1 and
// -no-reboot the kernel's "attempted to kill init" panic also ends qemu).

const { spawn } = require('node:child_process');
const fs = require('node:fs');

const QEMU_BIN = { x86_64: 'qemu-system-x86_64', aarch64: 'qemu-system-aarch64' };
const CONSOLE = { x86_64: 'ttyS0', aarch64: 'ttyAMA0' };

// Every qemu we started, so Ctrl-C or a fatal error can stop exactly those.
const running = new Set();
function killAll() {
  for (const child of running) child.kill('SIGKILL');
}

/** The qemu command line for a cell. */
function qemuArgs(cell) {
  const { arch, accel, smp, mem, kernelImage, initrd, append } = cell;
  const args = [];
  if (arch === 'x86_64') {
    args.push('-M', 'q35');
    args.push(...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max']));
  } else {
    args.push('-M', 'virt', '-accel', 'tcg', '-cpu', cell.cpu || 'max,pauth-impdef=on');
  }
  args.push('-smp', String(smp), '-m', String(mem));
  // No default devices (VGA, NIC: the NIC would need an option ROM that a
  // --no-install-recommends qemu may lack); the serial port goes to stdout.
  args.push('-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-no-reboot');
  args.push('-kernel', kernelImage, '-initrd', initrd);
  const cmdline = [`console=${CONSOLE[arch]}`, 'rdinit=/init', 'panic=-1'];
  if (!cell.verbose) cmdline.push('quiet');
  if (append) cmdline.push(append);
  args.push('-append', cmdline.join(' '));
  return args;
}

/**
 * Boot a cell. Resolves (never rejects) with { ok, reason, bootSeconds,
 * reachedInit, totalSeconds, doneCode, results, log, command, consoleTail }.
 * bootSeconds: qemu start to the first RSEQ-MATRIX line (/init's START: the
 * kernel's boot), null when there was none (/init never ran or never spoke);
 * totalSeconds: qemu start to qemu exit.
 */
function bootCell(cell) {
  const bin = QEMU_BIN[cell.arch];
  const args = qemuArgs(cell);
  const command = [bin, ...args].map((a) => (/[\s"]/.test(a) ? JSON.stringify(a) : a)).join(' ');
  const logStream = cell.logFile ? fs.createWriteStream(cell.logFile) : null;
  if (logStream) logStream.write(`# ${command}\n`);

  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const secs = () => Number(process.hrtime.bigint() - t0) / 1e9;
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);

    const state = { results: [], doneCode: null, bootSeconds: null, badJson: null, timedOut: false };
    let pending = '';
    let tail = []; // last console lines, for failure messages
    let initExited = false; // the kernel said init died: so /init did run
    let stderr = '';

    const onLine = (raw) => {
      const line = raw.replace(/\r$/, '');
      tail.push(line);
      if (tail.length > 40) tail = tail.slice(-40);
      if (/Attempted to kill init/.test(line)) initExited = true;
      // Markers may follow kernel output on the same line: search, don't anchor.
      const m = /RSEQ-MATRIX-(START|RESULT|DONE)\b ?(.*)$/.exec(line);
      if (!m) return;
      if (state.bootSeconds === null) state.bootSeconds = secs();
      if (m[1] === 'START') return;
      if (m[1] === 'RESULT') {
        try {
          const obj = JSON.parse(m[2]);
          if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new Error('not an object');
          state.results.push(obj);
        } catch (e) {
          state.badJson = state.badJson || `bad RESULT json (${e.message}): ${m[2].slice(0, 80)}`;
        }
      } else if (state.doneCode === null) {
        state.doneCode = /^-?\d+/.test(m[2].trim()) ? parseInt(m[2], 10) : NaN;
        // A guest that reported but does not power off is not a failure:
        // give it a few seconds, then stop qemu ourselves.
        setTimeout(() => child.kill('SIGKILL'), 10000).unref();
      }
    };

    child.stdout.on('data', (d) => {
      const s = d.toString('utf8');
      if (logStream) logStream.write(s);
      if (cell.verbose) process.stderr.write(s);
      pending += s;
      const lines = pending.split('\n');
      pending = lines.pop();
      lines.forEach(onLine);
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (logStream) logStream.write(d);
    });

    const timer = setTimeout(() => {
      state.timedOut = true;
      child.kill('SIGKILL');
    }, cell.timeout * 1000);

    const finish = (code, signal, spawnError) => {
      clearTimeout(timer);
      running.delete(child);
      if (pending) onLine(pending);
      const totalSeconds = secs();
      let reason = null;
      if (spawnError) reason = `cannot start ${bin}: ${spawnError.message}`;
      else if (state.timedOut && state.doneCode === null) reason = `timeout after ${cell.timeout} s`;
      else if (state.doneCode === null) reason = explainNoDone(tail, stderr, code, signal);
      else if (Number.isNaN(state.doneCode)) reason = 'unreadable DONE marker';
      else if (state.doneCode !== 0) reason = `DONE ${state.doneCode}`;
      else if (state.badJson) reason = state.badJson;
      const result = {
        ok: reason === null,
        reason: reason || 'ok',
        bootSeconds: state.bootSeconds,
        reachedInit: state.bootSeconds !== null || initExited,
        totalSeconds,
        doneCode: state.doneCode,
        results: state.results,
        log: cell.logFile || null,
        command,
        consoleTail: reason ? tail.slice(-15) : undefined,
      };
      if (logStream) logStream.end(() => resolve(result));
      else resolve(result);
    };
    let finished = false;
    child.on('error', (e) => !finished && ((finished = true), finish(null, null, e)));
    child.on('close', (code, signal) => !finished && ((finished = true), finish(code, signal)));
  });
}

/** Why a run ended without DONE: the most telling console or qemu line. */
function explainNoDone(tail, stderr, code, signal) {
  const panic = tail.find((l) => /Kernel panic/.test(l));
  if (panic) return panic.replace(/^\[[\s\d.]+\]\s*/, '').slice(0, 120);
  const lines = stderr.trim().split('\n');
  const err = lines.find((l) => /error/i.test(l)) || lines.pop();
  if (code !== 0 && err) return `qemu exited ${code ?? signal}: ${err.slice(0, 160)}`;
  return tail.length ? 'no RSEQ-MATRIX-DONE marker (the guest did not finish)' : 'no console output (kernel did not boot)';
}

module.exports = { QEMU_BIN, qemuArgs, bootCell, killAll };
