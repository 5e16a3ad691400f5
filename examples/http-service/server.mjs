// server.mjs: a node:http service. Requests run in a piscina pool of 4
// workers, which count them and time them into one shared registry; the main
// thread serves /metrics with every worker's exact totals, without asking them.
import http from 'node:http';
import { Piscina } from 'piscina';
import { Registry, Counter, Histogram } from 'rseq/metrics';

const registry = new Registry();
new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests served',
  labelNames: ['route', 'code'],
  registers: [registry],
});
new Histogram({
  name: 'http_request_duration_seconds',
  help: 'Time the handler took, in seconds',
  labelNames: ['route'],
  buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  registers: [registry],
});

// The registry's memory goes to every worker through workerData.
const pool = new Piscina({
  filename: new URL('./worker.mjs', import.meta.url).href,
  minThreads: 4,
  maxThreads: 4,
  workerData: registry.buffer,
});

const server = http.createServer(async (req, res) => {
  if (req.url === '/metrics') {
    // Prometheus text, or OpenMetrics when the scraper asks for it.
    const { contentType, body } = registry.exposition(req.headers.accept);
    res.writeHead(200, { 'content-type': contentType }).end(body);
    return;
  }
  try {
    const { code, body } = await pool.run({ url: req.url });
    res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
  } catch (err) {
    console.error(err);
    res.writeHead(500).end();
  }
});

const port = Number(process.env.PORT ?? 3000);
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    pool.destroy();
  });
}
