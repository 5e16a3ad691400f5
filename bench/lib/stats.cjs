'use strict';
// Small statistics and formatting helpers for the benchmarks.

function sorted(xs) {
  return [...xs].sort((a, b) => a - b);
}

function median(xs) {
  if (xs.length === 0) return NaN;
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** { median, min, max, samples } of a list of numbers. */
function summary(xs) {
  const s = sorted(xs);
  return { median: median(s), min: s[0], max: s[s.length - 1], samples: xs.map(round4) };
}

/**
 * Median/min/max of the per-round ratios a[i] / b[i]: each round's two
 * contenders ran back to back, so a slow moment hits both sides of a ratio.
 */
function paired(a, b) {
  const n = Math.min(a.length, b.length);
  const r = [];
  for (let i = 0; i < n; i++) r.push(a[i] / b[i]);
  const s = summary(r);
  return { median: round4(s.median), min: round4(s.min), max: round4(s.max) };
}

function round4(x) {
  if (!Number.isFinite(x)) return x;
  const a = Math.abs(x);
  const digits = a >= 100 ? 1 : a >= 10 ? 2 : a >= 1 ? 3 : 4;
  return Number(x.toFixed(digits));
}

/** A number for a table cell: 3 significant digits, no exponent below 1e6. */
function fmt(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1e6) return x.toExponential(2);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

/** Prints rows (arrays of strings) as an aligned text table with a header. */
function table(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  return out.join('\n');
}

/** The same rows as a Markdown table (first column left-aligned, the rest right-aligned). */
function markdownTable(header, rows) {
  const esc = (c) => String(c ?? '').replace(/\|/g, '\\|');
  const out = [`| ${header.map(esc).join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? ':---' : '---:')).join('|')}|`];
  for (const r of rows) out.push(`| ${r.map(esc).join(' | ')} |`);
  return out.join('\n');
}

module.exports = { median, summary, paired, round4, fmt, table, markdownTable };
