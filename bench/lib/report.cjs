'use strict';
// What every benchmark run shares (bench/run.cjs, bench/metrics.cjs) around
// its sections: the results object (the machine it ran on, the wait for a
// quiet machine, the run's configuration), the sections as they print (a
// text table on the console and the same table in Markdown) with the other
// work the machine did during each, the targets and their table, and the
// results files (<date>.json and <date>.md in bench/results/).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { fmt, table, markdownTable } = require('./stats.cjs');
const { machine, cpuSnapshot, otherLoad, waitQuiet } = require('./machine.cjs');

const RESULTS_DIR = path.join(__dirname, '..', 'results');

/** A results file's date, 2026-12-01T16-54-36Z. */
function stamp() {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

class Report {
  /**
   * opts: parseOptions()'s. config: the run's sizes. rseq: the package's,
   * when the run loads it (its probe joins the machine). machineExtra: more
   * machine facts. head / tail: the run's own top-level keys (before `date`,
   * before `notes`). notesInResults: every note also goes into
   * results.notes.
   */
  constructor({ opts, config, rseq = null, machineExtra = {}, head = {}, tail = {}, notesInResults = false }) {
    this.opts = opts;
    this.notesInResults = notesInResults;
    const quiet = opts.waitQuiet > 0 ? waitQuiet(opts.waitQuiet) : null;
    this.results = {
      schema: 1,
      ...head,
      date: new Date().toISOString(),
      quick: opts.quick,
      argv: process.argv.slice(2),
      machine: { ...machine(rseq), ...machineExtra, otherLoadBySection: {}, waitQuiet: quiet, sectionWaits: {} },
      config,
      sections: {},
      ratios: {},
      targets: [],
      checks: [],
      ...tail,
      notes: [],
    };
    this.md = [];
    this.section = null;
  }

  log(s = '') {
    process.stdout.write(`${s}\n`);
  }

  /** Ends the current section: records the other work the machine did during it (in CPUs; see otherLoad). */
  closeSection() {
    if (this.section) this.results.machine.otherLoadBySection[this.section.name] = otherLoad(this.section.snap, cpuSnapshot());
    this.section = null;
  }

  /** Starts a section named by the first word of its title ("3." -> "3"); with --wait-quiet, after up to 300 s of waiting. */
  heading(title) {
    this.closeSection();
    const name = title.split(' ')[0].replace(/\.$/, '');
    if (this.opts.waitQuiet > 0 && name !== 'Targets') this.results.machine.sectionWaits[name] = waitQuiet(Math.min(300, this.opts.waitQuiet), 2000);
    this.section = { name, snap: cpuSnapshot() };
    this.log(`\n== ${title} ==`);
    this.md.push(`\n### ${title}\n`);
  }

  emit(header, rows) {
    this.log(table(header, rows));
    this.md.push(markdownTable(header, rows));
  }

  note(s) {
    this.log(s);
    this.md.push(`\n${s}\n`);
    if (this.notesInResults) this.results.notes.push(s);
  }

  /** Closes the last section and notes the other work during each; `remark` ends the note. Returns [[section, CPUs]]. */
  noteOtherLoad(remark) {
    this.closeSection();
    const loads = Object.entries(this.results.machine.otherLoadBySection).filter(([, v]) => v !== null);
    if (loads.length) this.note(`Other work on the machine during each section, in CPUs of ${this.results.machine.cpus}: ${loads.map(([k, v]) => `${k} ${v}`).join(', ')} (${remark}).`);
    return loads;
  }

  /** A target: `ratio` (a paired() figure, or null when not measured) against `limit`, kind 'max' (<=) or 'min' (>=). */
  target(id, description, ratio, limit, kind, detail) {
    if (!ratio) {
      this.results.targets.push({ id, description, ratio: null, limit, met: null, detail: 'not measured in this run' });
      return;
    }
    const met = kind === 'max' ? ratio.median <= limit : ratio.median >= limit;
    this.results.targets.push({ id, description, ratio, limit, comparison: kind === 'max' ? '<=' : '>=', met, detail });
  }

  /** The Targets section: one row per target, then each target's detail. */
  targetsTable() {
    this.heading('Targets');
    this.emit(
      ['target', 'ratio (median of rounds)', 'min', 'max', 'limit', 'met'],
      this.results.targets.map((t) => [t.description, t.ratio ? fmt(t.ratio.median) : '-', t.ratio ? fmt(t.ratio.min) : '-', t.ratio ? fmt(t.ratio.max) : '-', `${t.comparison || ''} ${t.limit}`, t.met === null ? 'not run' : t.met ? 'met' : 'MISSED']),
    );
    const details = this.results.targets.filter((t) => t.detail).map((t) => `- ${t.id}: ${t.detail}`);
    if (details.length) this.note(details.join('\n'));
  }

  /**
   * Writes the results (unless --no-write): --out, or bench/results/
   * <prefix><date>[-quick].json, and the .md beside it under the heading
   * head(machine). Returns the JSON's path, or null.
   */
  write({ prefix = '', head }) {
    const m = this.results.machine;
    m.loadavgAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
    if (!this.opts.write) return null;
    const file = this.opts.out || path.join(RESULTS_DIR, `${prefix}${stamp()}${this.opts.quick ? '-quick' : ''}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(this.results, null, 2)}\n`);
    const mdFile = `${file.replace(/\.json$/, '')}.md`;
    fs.writeFileSync(mdFile, `${head(m)}${this.md.join('\n')}\n`);
    this.log(`\nresults: ${path.relative(process.cwd(), file)}`);
    this.log(`tables:  ${path.relative(process.cwd(), mdFile)}`);
    return file;
  }
}

module.exports = { Report, stamp, RESULTS_DIR };
