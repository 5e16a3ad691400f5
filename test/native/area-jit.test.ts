/**
 * The area view reads cpu_id with plain loads. This checks that V8's optimised
 * code re-reads the kernel-written memory on every iteration of a hot loop
 * with no calls in it: another process moves the thread to another CPU, and
 * the loop must see the new cpu_id long before its bound runs out.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rseq } from '../../src/index.js';
import { DIST_ENTRY, ROOT, skipNative } from '../helpers/env.js';

describe.skipIf(skipNative)('area().cpuId in optimised code', () => {
  it('a hot loop sees cpu_id change when taskset moves the thread', async () => {
    const cpus = rseq.getAffinity();
    expect(cpus.length, 'this test needs two CPUs').toBeGreaterThanOrEqual(2);
    const child = spawn(process.execPath, [path.join(ROOT, 'test', 'helpers', 'area-spin.cjs'), DIST_ENTRY], {
      env: { ...process.env, RSEQ_BACKEND: 'native' },
    });
    let out = '';
    const lines = new Promise<string[]>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready\n') && !out.includes('moved')) {
          out += 'moved\n';
          // The main thread's tid is the pid: move it to the last allowed CPU.
          const r = spawnSync('taskset', ['-pc', String(cpus[cpus.length - 1]), String(child.pid)], { encoding: 'utf8' });
          if (r.status !== 0) reject(new Error(`taskset failed: ${r.stderr}`));
        }
      });
      child.on('exit', (code) => (code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`child exited ${code}`))));
    });
    const [before, after, spins] = JSON.parse((await lines).at(-1)!) as [number, number, number];
    expect(before).toBe(cpus[0]);
    expect(after).toBe(cpus[cpus.length - 1]);
    expect(spins).toBeLessThan(3e9);
  });
});
