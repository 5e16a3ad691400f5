/**
 * rseq/metrics against a real Prometheus: the example service
 * (examples/http-service: node:http, a piscina pool of 4 workers recording
 * into one shared registry) under a bounded autocannon load on 127.0.0.1,
 * scraped every second by Debian's prometheus; the PromQL sum of
 * http_requests_total must reach exactly the number of 2xx responses, and
 * promtool must accept the service's /metrics text.
 *
 * Needs the native backend and the `prometheus` Debian package (prometheus
 * and promtool on PATH; .ci/run installs it): without them it skips, and
 * with RSEQ_REQUIRE=1 it fails.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, required, skipNative } from '../helpers/env.js';
import { startPrometheus, startService, waitFor, waitForOutput, which, type Prometheus, type Service } from '../helpers/services.js';

const EXAMPLE = path.join(ROOT, 'examples', 'http-service');
const PROMETHEUS = which('prometheus');
const PROMTOOL = which('promtool');
const missing = [PROMETHEUS ? null : 'prometheus', PROMTOOL ? null : 'promtool'].filter((x) => x !== null);
/** Requests autocannon sends: a fixed number, not a duration. */
const AMOUNT = 4000;
/** Deadlines that only detect a hang (nothing here measures time). */
const START_MS = 60_000;
const CONVERGE_MS = 90_000;

/**
 * The example as a user runs it (`node server.mjs`), from a temporary
 * directory whose node_modules links `rseq` to this checkout and `piscina`
 * to the one the checkout installed: what `npm install` there would give,
 * without building the checkout again.
 */
function exampleCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rseq-http-service-'));
  for (const f of ['package.json', 'server.mjs', 'worker.mjs']) fs.copyFileSync(path.join(EXAMPLE, f), path.join(dir, f));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'rseq'), 'dir');
  fs.symlinkSync(path.join(ROOT, 'node_modules', 'piscina'), path.join(dir, 'node_modules', 'piscina'), 'dir');
  return dir;
}

/** The single value of an instant vector, or undefined while it has none. */
async function scalar(prom: Prometheus, promql: string): Promise<number | undefined> {
  const data = await prom.query(promql);
  return data.result.length === 1 ? Number(data.result[0]!.value[1]) : undefined;
}

describe.skipIf(skipNative || (missing.length > 0 && !required))('rseq/metrics scraped by Prometheus (examples/http-service)', () => {
  let dir: string | undefined;
  let service: Service | undefined;
  let prometheus: Prometheus | undefined;
  let base = '';

  /**
   * The service and Prometheus, started once by the first test that needs
   * them: a failure to start (prometheus missing under RSEQ_REQUIRE=1
   * included) fails each test instead of leaving them skipped.
   */
  let setUp: Promise<void> | undefined;
  function started(): Promise<void> {
    setUp ??= (async () => {
      if (missing.length > 0) {
        throw new Error(`${missing.join(' and ')} not on PATH: apt-get install prometheus (Debian's package; .ci/run installs it)`);
      }
      dir = exampleCopy();
      service = startService('http-service', process.execPath, ['server.mjs'], { cwd: dir, env: { ...process.env, PORT: '0' } });
      const m = await waitForOutput(service, /listening on (http:\/\/127\.0\.0\.1:(\d+))/, START_MS);
      base = m[1]!;
      prometheus = await startPrometheus(PROMETHEUS!, [`127.0.0.1:${m[2]}`], '1s', START_MS);
    })();
    return setUp;
  }

  afterAll(async () => {
    await prometheus?.stop();
    await service?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('after a bounded load, sum(http_requests_total) in Prometheus is exactly the number of 2xx responses', async () => {
    await started();
    const result = await autocannon({
      url: base,
      amount: AMOUNT,
      connections: 8,
      // Each connection cycles through both routes.
      requests: [{ path: '/' }, { path: '/primes?n=2000' }],
    });
    expect(result.errors, 'connection errors').toBe(0);
    expect(result.timeouts, 'timeouts').toBe(0);
    expect(result.non2xx, 'non-2xx responses').toBe(0);
    const ok = result['2xx'];
    expect(ok).toBe(AMOUNT);

    let last: number | undefined;
    const total = await waitFor(
      `sum(http_requests_total) = ${ok}`,
      CONVERGE_MS,
      async () => {
        last = await scalar(prometheus!, 'sum(http_requests_total)');
        return last === ok ? last : undefined;
      },
      () => `last value: ${last}\nprometheus output:\n${prometheus!.output()}\nservice output:\n${service!.output()}`,
    );
    expect(total).toBe(ok);
    // The histogram saw every request too, and the samples came from one healthy target.
    expect(await scalar(prometheus!, 'sum(http_request_duration_seconds_count)')).toBe(ok);
    const targets = await prometheus!.targets();
    expect(targets.map((t) => [t.health, t.lastError])).toEqual([['up', '']]);

    const byRoute = await prometheus!.query('sum by (route, code) (http_requests_total)');
    const split = Object.fromEntries(byRoute.result.map((r) => [`${r.metric.route} ${r.metric.code}`, Number(r.value[1])]));
    expect(Object.keys(split).sort()).toEqual(['/ 200', '/primes 200']);
    console.log(`metrics-prometheus: sent ${result.requests.sent}, 2xx ${ok}, sum(http_requests_total) ${total}, by route and code ${JSON.stringify(split)}`);
  }, START_MS + CONVERGE_MS + 120_000);

  it('promtool check metrics accepts the text exposition; OpenMetrics is served when asked for', async () => {
    await started();
    const text = await fetch(`${base}/metrics`, { headers: { accept: 'text/plain' } });
    expect(text.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const body = await text.text();
    expect(body).toMatch(/^http_requests_total\{/m);
    const r = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 60_000 });
    console.log(`metrics-prometheus: promtool check metrics exit ${r.status}: ${(r.stdout + r.stderr).trim() || '(no output)'}`);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);

    const om = await fetch(`${base}/metrics`, { headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' } });
    expect(om.headers.get('content-type')).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    expect(await om.text()).toMatch(/\n# EOF\n$/);
  });
});
