/**
 * Real services for the tests: child processes started with their output
 * kept (for error messages), stopped by pid, and a Prometheus server on
 * 127.0.0.1 with a temporary configuration and storage directory.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** The absolute path of `cmd` on PATH, or null. */
export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const file = path.join(dir, cmd);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** A port free on 127.0.0.1 when asked (the kernel's pick). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Thrown by a probe to end waitFor at once (the process waited on has exited). */
export class GiveUp extends Error {}

/**
 * Poll `probe` until it returns something other than undefined. A deadline
 * that only detects a hang: past `ms` it throws, with `describe()`.
 */
export async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>, describe: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`gave up after ${ms / 1000} s waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}${describe() ? `\n${describe()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface Service {
  name: string;
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Start a process; its output is kept, and it is an error for it to exit before stop(). */
export function startService(name: string, cmd: string, args: string[], options: SpawnOptions = {}): Service {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let out = '';
  const keep = (b: Buffer): void => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (err) => keep(Buffer.from(`\n[${name}: ${err.message}]\n`)));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    name,
    child,
    output: () => out,
    async stop(graceMs = 10_000) {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Wait until the service prints a line matching `re`; fails if it exits first. */
export async function waitForOutput(s: Service, re: RegExp, ms: number): Promise<RegExpExecArray> {
  return waitFor(`${s.name} to print ${re}`, ms, async () => {
    const m = re.exec(s.output());
    if (m) return m;
    if (s.child.exitCode !== null || s.child.signalCode !== null) {
      throw new GiveUp(`${s.name} exited (${s.child.exitCode ?? s.child.signalCode}) before printing ${re}:\n${s.output()}`);
    }
    return undefined;
  }, () => `${s.name} output:\n${s.output()}`);
}

export interface Prometheus extends Service {
  url: string;
  dir: string;
  /** An instant PromQL query through the HTTP API: the `data` of the answer. */
  query(promql: string): Promise<{ resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }>;
  /** The scrape targets as Prometheus sees them (health, lastError). */
  targets(): Promise<Array<{ scrapeUrl: string; health: string; lastError: string }>>;
}

/**
 * Start Debian's prometheus (from PATH) on 127.0.0.1, scraping `targets`
 * (host:port) every `interval`, with its storage in a temporary directory
 * that stop() removes. Resolves once /-/ready answers 200.
 */
export async function startPrometheus(binary: string, targets: string[], interval = '1s', readyMs = 60_000): Promise<Prometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rseq-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    [
      'global:',
      `  scrape_interval: ${interval}`,
      `  evaluation_interval: ${interval}`,
      'scrape_configs:',
      '  - job_name: service',
      `    scrape_interval: ${interval}`,
      `    scrape_timeout: ${interval}`,
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = startService('prometheus', binary, [
    `--config.file=${config}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { cwd: dir });
  const stop = service.stop;
  const prom: Prometheus = {
    ...service,
    url,
    dir,
    async stop(graceMs) {
      await stop(graceMs);
      fs.rmSync(dir, { recursive: true, force: true });
    },
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const answer = (await res.json()) as { status: string; data: never; error?: string };
      if (answer.status !== 'success') throw new Error(`prometheus query ${promql}: ${answer.error}`);
      return answer.data;
    },
    async targets() {
      const res = await fetch(`${url}/api/v1/targets`);
      const answer = (await res.json()) as { data: { activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string }> } };
      return answer.data.activeTargets;
    },
  };
  try {
    await waitFor('prometheus to be ready', readyMs, async () => {
      if (service.child.exitCode !== null || service.child.signalCode !== null) {
        throw new GiveUp(`prometheus exited (${service.child.exitCode ?? service.child.signalCode}):\n${service.output()}`);
      }
      const res = await fetch(`${url}/-/ready`).catch(() => null);
      return res?.status === 200 ? true : undefined;
    }, () => `prometheus output:\n${service.output()}`);
  } catch (err) {
    await prom.stop();
    throw err;
  }
  return prom;
}
