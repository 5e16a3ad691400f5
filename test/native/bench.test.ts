/**
 * `npm run bench` works as a new user runs it: the quick run completes, its
 * results JSON has the documented parts, and the exactness checks it makes
 * (every contender's adds all landed) pass. No timing is asserted here: speed
 * is measured by the benchmark itself, not by tests.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, skipNative } from '../helpers/env.js';

describe.skipIf(skipNative)('npm run bench', () => {
  it('--quick completes, writes its results and passes its exactness checks', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rseq-bench-')), 'quick.json');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bench', 'run.cjs'), '--quick', '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, RSEQ_BACKEND: 'native' },
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(fs.readFileSync(out, 'utf8')) as {
      machine: unknown;
      sections: unknown;
      targets: Array<{ id: string; ratio: { median: number } }>;
      checks: Array<{ name: string; ok: boolean }>;
    };
    expect(results.machine).toBeTruthy();
    expect(results.sections).toBeTruthy();
    expect(results.targets.map((t) => t.id)).toEqual(expect.arrayContaining(['area-read']));
    for (const t of results.targets) expect(Number.isFinite(t.ratio.median)).toBe(true);
    expect(results.checks.length).toBeGreaterThanOrEqual(6);
    expect(results.checks.filter((c) => !c.ok)).toEqual([]);
  });
});
