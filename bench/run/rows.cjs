'use strict';
// Table rows and ratios the sections of bench/run.cjs share.
const { fmt, paired } = require('../lib/stats.cjs');

/** A contender's row of ns figures: label, median, min, max. */
function nsRow(label, s) {
  return [label, fmt(s.median), fmt(s.min), fmt(s.max)];
}

/** paired(), or null when a side was not measured (a contender skipped). */
function pairedIf(a, b) {
  return a && b ? paired(a, b) : null;
}

module.exports = { nsRow, pairedIf };
