'use strict';
/**
 * `npm run bench`: runs each scenario in its own Node process (fresh heap, fresh temp database),
 * prints one table of medians with targets, and writes everything to bench/results/<time>.json.
 * Options: --quick (small sizes, smoke run), --only <scenario>, --runs <n> (override runs per figure).
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('./lib/args');
const { printTable, markdownTable } = require('./lib/table');

const SCENARIOS = {
  store: 'store.js',
  'end-to-end': 'end-to-end.js',
  strategies: 'strategies.js',
  manager: 'manager.js',
};

function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  return { nproc: os.availableParallelism(), cpu, node: process.version, platform: `${os.platform()} ${os.release()}`, loadavg: os.loadavg() };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.only !== undefined && !(args.only in SCENARIOS)) {
    throw new Error(`--only ${args.only}: one of ${Object.keys(SCENARIOS).join(', ')}`);
  }
  const names = args.only ? [args.only] : Object.keys(SCENARIOS);
  const resultsDir = path.join(__dirname, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const startedAt = new Date();
  const report = { startedAt: startedAt.toISOString(), quick: args.quick, machine: machine(), scenarios: {} };
  const rows = [];
  for (const name of names) {
    const out = path.join(resultsDir, `.${name}-${process.pid}.json`);
    const childArgs = [path.join(__dirname, SCENARIOS[name]), '--out', out];
    if (args.quick) childArgs.push('--quick');
    if (args.runs !== undefined) childArgs.push('--runs', String(args.runs));
    process.stderr.write(`\n== ${name} ==\n`);
    const t = Date.now();
    try {
      execFileSync(process.execPath, childArgs, { stdio: ['ignore', 'inherit', 'inherit'] });
      const data = JSON.parse(fs.readFileSync(out, 'utf8'));
      report.scenarios[name] = { seconds: (Date.now() - t) / 1000, ...data };
      rows.push(...data.rows);
    } catch (err) {
      report.scenarios[name] = { error: String(err.message ?? err) };
      rows.push({ scenario: name, metric: 'FAILED (see stderr)', value: '', unit: '' });
    } finally {
      fs.rmSync(out, { force: true });
    }
  }
  report.machine.loadavgAfter = os.loadavg();
  process.stdout.write(`\ntaskbridge bench — ${report.machine.cpu}, ${report.machine.nproc} cores, node ${report.machine.node}${args.quick ? ' (--quick: small sizes, not for the README)' : ''}\n\n`);
  printTable(rows);
  report.markdown = markdownTable(rows);
  const file = path.join(resultsDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}${args.quick ? '-quick' : ''}.json`);
  fs.writeFileSync(file, JSON.stringify(report, null, 2));
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), file)}\n`);
  if (Object.values(report.scenarios).some((s) => s.error)) process.exitCode = 1;
}

try {
  main();
} catch (err) {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exitCode = 2;
}
