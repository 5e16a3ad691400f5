#!/usr/bin/env node
'use strict';
// The chart of a bench/metrics.cjs run, as a hand-written SVG (like
// chart.cjs): left, ns per operation on one thread (log scale), rseq/metrics
// beside prom-client and plain JavaScript; right, ms per scrape against
// workers (log scale), one line per contender through the medians, a bar
// from min to max at every point.
//
//   node bench/metrics-chart.cjs [results.json] [--copy]
//
// Writes <results>.svg beside the JSON (default: the newest full
// bench/results/metrics-*.json); --copy also writes bench/metrics.svg (the
// one the READMEs show).

const fs = require('node:fs');
const path = require('node:path');

const W = 960;
const H = 470;
const COLORS = { rseq: '#1f77b4', prom: '#d62728', plain: '#7f7f7f', 'rseq-prom': '#17becf', 'prom-threads': '#ff7f0e', 'prom-cluster': '#d62728' };
const DASH = { 'rseq-prom': '6 4', 'prom-threads': '2 3' };

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
const num = (x) => Number(x.toFixed(1));
const label = (x) => (x >= 1000 ? `${x / 1000}k` : x >= 1 ? String(x) : String(Number(x.toPrecision(2))));

/** Decades from below lo to above hi, for a log axis. */
function decades(lo, hi) {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  return { a, b: b === a ? a + 1 : b };
}

function barsPanel(out, results, x0, y0, pw, ph) {
  const t = results.sections.thread.contenders;
  const groups = [
    ['labelled inc', ['rseq-inc', 'prom-inc']],
    ['labelled observe', ['rseq-observe', 'prom-observe']],
    ['labelled request', ['rseq-request', 'prom-request']],
    ['bound inc', ['rseq-bound-inc', 'prom-bound-inc', 'plain-inc']],
    ['bound observe', ['rseq-bound-observe', 'prom-bound-observe', 'plain-observe']],
    ['bound request', ['rseq-bound-request', 'prom-bound-request', 'plain-request']],
  ];
  let lo = Infinity;
  let hi = 0;
  for (const [, ids] of groups) for (const id of ids) if (t[id]) (lo = Math.min(lo, t[id].nsPerOp.min)), (hi = Math.max(hi, t[id].nsPerOp.max));
  const { a, b } = decades(lo, hi);
  const y = (v) => y0 + ph - ((Math.log10(v) - a) / (b - a)) * ph;
  out.push(`<text x="${x0 + pw / 2}" y="${y0 - 14}" text-anchor="middle" font-weight="bold">One thread: ns per operation (log scale)</text>`);
  for (let d = a; d <= b; d++) {
    const v = 10 ** d;
    out.push(`<line x1="${x0}" y1="${num(y(v))}" x2="${x0 + pw}" y2="${num(y(v))}" stroke="#ddd"/>`, `<text x="${x0 - 6}" y="${num(y(v)) + 4}" text-anchor="end">${label(v)}</text>`);
  }
  const gw = pw / groups.length;
  groups.forEach(([name, ids], g) => {
    const bw = (gw - 16) / 3;
    ids.forEach((id, k) => {
      if (!t[id]) return;
      const s = t[id].nsPerOp;
      const kind = id.split('-')[0];
      const bx = x0 + g * gw + 8 + k * bw;
      out.push(`<rect x="${num(bx)}" y="${num(y(s.median))}" width="${num(bw - 2)}" height="${num(y0 + ph - y(s.median))}" fill="${COLORS[kind]}"><title>${esc(t[id].label)}: ${s.median} ns (${s.min}-${s.max})</title></rect>`);
      out.push(`<line x1="${num(bx + bw / 2 - 1)}" y1="${num(y(s.min))}" x2="${num(bx + bw / 2 - 1)}" y2="${num(y(s.max))}" stroke="#000" stroke-width="1"/>`);
    });
    out.push(`<text x="${num(x0 + g * gw + gw / 2)}" y="${y0 + ph + 16}" text-anchor="middle">${esc(name)}</text>`);
  });
  out.push(`<line x1="${x0}" y1="${y0 + ph}" x2="${x0 + pw}" y2="${y0 + ph}" stroke="#000"/>`, `<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y0 + ph}" stroke="#000"/>`);
  [['rseq', 'rseq/metrics'], ['prom', 'prom-client 15.1.3'], ['plain', 'plain JavaScript']].forEach(([k, text], i) => {
    out.push(`<rect x="${x0 + 10 + i * 140}" y="${y0 + ph + 30}" width="12" height="12" fill="${COLORS[k]}"/>`, `<text x="${x0 + 27 + i * 140}" y="${y0 + ph + 40}">${text}</text>`);
  });
}

function linesPanel(out, results, x0, y0, pw, ph) {
  const sec = results.sections.scrape;
  const counts = sec.workerCounts;
  const ids = Object.keys(sec.contenders);
  let lo = Infinity;
  let hi = 0;
  for (const w of counts) for (const id of ids) if (sec.byWorkers[w][id]) (lo = Math.min(lo, sec.byWorkers[w][id].msPerScrape.min)), (hi = Math.max(hi, sec.byWorkers[w][id].msPerScrape.max));
  const { a, b } = decades(lo, hi);
  const y = (v) => y0 + ph - ((Math.log10(v) - a) / (b - a)) * ph;
  const inset = 24;
  const x = (i) => x0 + inset + (i * (pw - 2 * inset)) / Math.max(1, counts.length - 1);
  out.push(`<text x="${x0 + pw / 2}" y="${y0 - 14}" text-anchor="middle" font-weight="bold">Scrape: ms per scrape against workers (log scale)</text>`);
  for (let d = a; d <= b; d++) {
    const v = 10 ** d;
    out.push(`<line x1="${x0}" y1="${num(y(v))}" x2="${x0 + pw}" y2="${num(y(v))}" stroke="#ddd"/>`, `<text x="${x0 - 6}" y="${num(y(v)) + 4}" text-anchor="end">${label(v)}</text>`);
  }
  counts.forEach((w, i) => out.push(`<text x="${num(x(i))}" y="${y0 + ph + 16}" text-anchor="middle">${w}</text>`));
  out.push(`<text x="${x0 + pw / 2}" y="${y0 + ph + 32}" text-anchor="middle">workers (worker_threads; cluster: processes)</text>`);
  const short = { rseq: 'rseq/metrics registry.metrics()', 'rseq-prom': 'rseq/metrics via prom-client Registry', 'prom-threads': 'prom-client, worker_threads + aggregate', 'prom-cluster': 'prom-client AggregatorRegistry (cluster)' };
  ids.forEach((id, k) => {
    const pts = counts.map((w, i) => [x(i), sec.byWorkers[w][id]]).filter(([, s]) => s);
    const color = COLORS[id] || '#000';
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${DASH[id] ? ` stroke-dasharray="${DASH[id]}"` : ''} points="${pts.map(([px, s]) => `${num(px)},${num(y(s.msPerScrape.median))}`).join(' ')}"/>`);
    for (const [px, s] of pts) {
      const m = s.msPerScrape;
      out.push(`<line x1="${num(px)}" y1="${num(y(m.min))}" x2="${num(px)}" y2="${num(y(m.max))}" stroke="${color}"/>`, `<circle cx="${num(px)}" cy="${num(y(m.median))}" r="3" fill="${color}"><title>${esc(s.label)}: ${m.median} ms (${m.min}-${m.max})</title></circle>`);
    }
    out.push(`<line x1="${x0 + 8}" y1="${y0 + ph + 50 + k * 16}" x2="${x0 + 32}" y2="${y0 + ph + 50 + k * 16}" stroke="${color}" stroke-width="2"${DASH[id] ? ` stroke-dasharray="${DASH[id]}"` : ''}/>`, `<text x="${x0 + 38}" y="${y0 + ph + 54 + k * 16}">${esc(short[id] || id)}</text>`);
  });
  out.push(`<line x1="${x0}" y1="${y0 + ph}" x2="${x0 + pw}" y2="${y0 + ph}" stroke="#000"/>`, `<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y0 + ph}" stroke="#000"/>`);
}

function svgFor(results) {
  if (!results.sections || !results.sections.thread || !results.sections.scrape) throw new Error('metrics-chart: the results need both sections (thread and scrape)');
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">rseq/metrics against prom-client ${esc(results.machine.promClient)}: median of ${results.config.rounds} rounds, bars min to max (${esc(results.date.slice(0, 10))}, Node ${esc(results.machine.node)}, ${results.machine.cpus} CPUs)</text>`,
  ];
  barsPanel(out, results, 70, 60, 380, 300);
  linesPanel(out, results, 540, 60, 390, 300);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function writeMetricsChart(results, file) {
  fs.writeFileSync(file, svgFor(results));
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const copy = args.includes('--copy');
  let file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    const dir = path.join(__dirname, 'results');
    const runs = fs.readdirSync(dir).filter((f) => /^metrics-.*\.json$/.test(f) && !f.includes('-quick')).sort();
    if (runs.length === 0) throw new Error('metrics-chart: no full run in bench/results/ (node bench/metrics.cjs)');
    file = path.join(dir, runs[runs.length - 1]);
  }
  const results = JSON.parse(fs.readFileSync(file, 'utf8'));
  const svg = file.replace(/\.json$/, '') + '.svg';
  writeMetricsChart(results, svg);
  console.log(svg);
  if (copy) {
    fs.writeFileSync(path.join(__dirname, 'metrics.svg'), svgFor(results));
    console.log(path.join(__dirname, 'metrics.svg'));
  }
}

module.exports = { writeMetricsChart, svgFor };
