#!/usr/bin/env node
'use strict';
// Throughput against workers, as a hand-written SVG, from a results JSON of
// bench/run.cjs (its section 3): one line per contender through the medians,
// a bar from min to max at every point.
//
//   node bench/chart.cjs [results.json] [--copy]
//
// Writes <results>.svg beside the JSON (default: the newest full run in
// bench/results/); --copy also writes bench/throughput.svg (the README's).

const fs = require('node:fs');
const path = require('node:path');

const W = 760;
const H = 460;
const M = { left: 70, right: 250, top: 58, bottom: 56 };
const COLORS = {
  'counter-default': '#000000',
  'counter-lane': '#17becf',
  'counter-atomics': '#1f77b4',
  'counter-rseq': '#9467bd',
  'shared-bigint64': '#d62728',
  'shared-int32': '#ff7f0e',
  'padded-slot': '#2ca02c',
  'padded-slot-int32': '#8c564b',
  'owned-f64': '#7f7f7f',
};
const DASH = { 'counter-default': '1 3', 'padded-slot': '6 4', 'padded-slot-int32': '6 4', 'owned-f64': '6 4', 'shared-int32': '2 3' };
const FALLBACK = ['#e377c2', '#bcbd22', '#aec7e8', '#ffbb78'];

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A round step for about 5 ticks from 0 to max. */
function niceStep(max) {
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
}

function num(x) {
  return Number(x.toFixed(1));
}

function svgFor(results) {
  const sec = results.sections && results.sections.workers;
  if (!sec) throw new Error('chart: the results have no workers section (section 3)');
  const counts = sec.workerCounts;
  const ids = Object.keys(sec.contenders);
  const mops = (w, id, k) => sec.byWorkers[w][id].opsPerSec[k] / 1e6;
  let ymax = 0;
  for (const w of counts) for (const id of ids) ymax = Math.max(ymax, mops(w, id, 'max'));
  const step = niceStep(ymax || 1);
  const top = Math.ceil((ymax || 1) / step) * step;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const inset = 28; // keeps the first and last points' bars off the axes
  const x = (i) => M.left + (counts.length === 1 ? pw / 2 : inset + (i * (pw - 2 * inset)) / (counts.length - 1));
  const y = (v) => M.top + ph - (v / top) * ph;

  const m = results.machine || {};
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${M.left}" y="24" font-size="16" font-weight="bold">One counter, many workers: adds per second</text>`);
  const sub = `${m.cpus || '?'} x ${m.model || '?'}, Linux ${m.kernel || '?'}, Node ${m.node || '?'}; ${sec.durationMs} ms runs, median of ${results.config ? results.config.rounds : '?'} rounds (bars: min-max)`;
  out.push(`<text x="${M.left}" y="42" fill="#555">${esc(sub)}</text>`);

  // Grid and y axis.
  for (let v = 0; v <= top + 1e-9; v += step) {
    const yy = num(y(v));
    out.push(`<line x1="${M.left}" y1="${yy}" x2="${M.left + pw}" y2="${yy}" stroke="${v === 0 ? '#333' : '#e4e4e4'}"/>`);
    out.push(`<text x="${M.left - 8}" y="${num(yy + 4)}" text-anchor="end">${Number(v.toPrecision(6))}</text>`);
  }
  out.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + ph}" stroke="#333"/>`);
  out.push(`<text transform="translate(18 ${num(M.top + ph / 2)}) rotate(-90)" text-anchor="middle">millions of adds per second (all workers)</text>`);
  // X axis.
  counts.forEach((w, i) => {
    const xx = num(x(i));
    out.push(`<line x1="${xx}" y1="${M.top + ph}" x2="${xx}" y2="${M.top + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${xx}" y="${M.top + ph + 20}" text-anchor="middle">${w}</text>`);
  });
  out.push(`<text x="${num(M.left + pw / 2)}" y="${H - 14}" text-anchor="middle">worker threads (${m.cpus || '?'} CPUs)</text>`);

  // Series.
  ids.forEach((id, k) => {
    const color = COLORS[id] || FALLBACK[k % FALLBACK.length];
    const dash = DASH[id] ? ` stroke-dasharray="${DASH[id]}"` : '';
    const pts = counts.map((w, i) => `${num(x(i))},${num(y(mops(w, id, 'median')))}`).join(' ');
    out.push(`<g>`);
    out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2.2"${dash}/>`);
    counts.forEach((w, i) => {
      const xx = num(x(i) + (k - (ids.length - 1) / 2) * 3);
      out.push(`<line x1="${xx}" y1="${num(y(mops(w, id, 'min')))}" x2="${xx}" y2="${num(y(mops(w, id, 'max')))}" stroke="${color}" stroke-opacity="0.45" stroke-width="2"/>`);
      out.push(`<circle cx="${num(x(i))}" cy="${num(y(mops(w, id, 'median')))}" r="3.5" fill="${color}"><title>${esc(`${sec.contenders[id]}, ${w} workers: ${mops(w, id, 'median').toFixed(2)} Mops/s (min ${mops(w, id, 'min').toFixed(2)}, max ${mops(w, id, 'max').toFixed(2)})`)}</title></circle>`);
    });
    out.push(`</g>`);
  });

  // Legend.
  const lx = M.left + pw + 18;
  ids.forEach((id, k) => {
    const color = COLORS[id] || FALLBACK[k % FALLBACK.length];
    const dash = DASH[id] ? ` stroke-dasharray="${DASH[id]}"` : '';
    const ly = M.top + 10 + k * 38;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${color}" stroke-width="2.2"${dash}/>`);
    out.push(`<circle cx="${lx + 12}" cy="${ly}" r="3.5" fill="${color}"/>`);
    const words = sec.contenders[id].split(' ');
    // Wrap the label at about 30 characters.
    const lines = [];
    let cur = '';
    for (const wd of words) {
      if ((cur + ' ' + wd).trim().length > 30 && cur) {
        lines.push(cur);
        cur = wd;
      } else cur = (cur + ' ' + wd).trim();
    }
    if (cur) lines.push(cur);
    lines.forEach((t, j) => out.push(`<text x="${lx + 32}" y="${ly + 4 + j * 14}">${esc(t)}</text>`));
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function writeChart(results, file) {
  fs.writeFileSync(file, svgFor(results));
}

function newestFullRun(dir) {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^\d{4}-\d\d-\d\dT[\d-]+Z\.json$/.test(f)).sort() : [];
  if (!files.length) throw new Error(`chart: no full-run results in ${dir}; run \`npm run bench\` first`);
  return path.join(dir, files[files.length - 1]);
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const copy = args.includes('--copy');
  const file = path.resolve(args.find((a) => !a.startsWith('--')) || newestFullRun(path.join(__dirname, 'results')));
  const results = JSON.parse(fs.readFileSync(file, 'utf8'));
  const svg = file.replace(/\.json$/, '') + '.svg';
  writeChart(results, svg);
  console.log(`chart: ${path.relative(process.cwd(), svg)}`);
  if (copy) {
    const readme = path.join(__dirname, 'throughput.svg');
    fs.copyFileSync(svg, readme);
    console.log(`chart: ${path.relative(process.cwd(), readme)}`);
  }
}

module.exports = { svgFor, writeChart };
