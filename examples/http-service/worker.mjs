// worker.mjs: a piscina worker. It handles one request per task and records
// it in the registry the main thread made (piscina's workerData).
import { workerData } from 'piscina';
import { Registry } from 'rseq/metrics';

const registry = Registry.from(workerData);
const requests = registry.getSingleMetric('http_requests_total');
const latency = registry.getSingleMetric('http_request_duration_seconds');

// Count the primes below n: some CPU work worth a worker thread.
function primes(n) {
  let count = 0;
  for (let i = 2; i < n; i++) {
    let prime = true;
    for (let d = 2; d * d <= i; d++) if (i % d === 0) { prime = false; break; }
    if (prime) count++;
  }
  return count;
}

const routes = {
  '/': () => 'hello\n',
  '/primes': (query) => `${primes(Math.min(Number(query.get('n')) || 1000, 1e6))}\n`,
};

export default function handle({ url }) {
  const start = performance.now();
  const { pathname, searchParams } = new URL(url, 'http://localhost');
  const handler = routes[pathname];
  // One label value for every unknown path keeps the series bounded.
  const route = handler ? pathname : 'unmatched';
  const code = handler ? 200 : 404;
  const body = handler ? handler(searchParams) : 'not found\n';
  requests.inc({ route, code: String(code) });
  latency.observe({ route }, (performance.now() - start) / 1000);
  return { code, body };
}
