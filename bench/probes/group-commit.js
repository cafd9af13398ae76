'use strict';
/**
 * Probe (not part of `npm run bench`, no target): how far could sqlite mode get if startTask did
 * NOT commit its own row? It prices the "write-ahead journal" design for issue 4: startTask
 * appends the run to a journal file (one write(2), survives a process crash like a WAL frame under
 * synchronous=NORMAL), and the rows reach SQLite in one transaction per event-loop turn.
 *
 * The "grouped" case fakes that design from outside, with the store as shipped: the first
 * enqueueSync of a loop turn opens BEGIN IMMEDIATE, a setImmediate commits it, so every insert,
 * claim and completion of that turn shares one commit (better-sqlite3 turns the store's own
 * transactions into savepoints), and each startTask also appends its request as one JSON line to a
 * journal file. No fold, replay or liveness logic is priced, so this is an upper bound of the
 * design, not an implementation; it is NOT durable as written (the rows commit one turn late).
 *
 * Workload = bench/manager.js's sustained case: 1 ms of async work, concurrency 10, at most W=100
 * runs outstanding, 500 warm-up runs, then N timed runs. Each case of each round runs in its own
 * child process, cases interleaved per round.
 *   node bench/probes/group-commit.js [--runs 5] [--n 5000]     (uses dist/: build first)
 */
const fs = require('node:fs');
const path = require('node:path');
const { median } = require('../lib/stats');
const { memoryC10, sqliteMode, measureSustained, runRounds } = require('../lib/probe-cases');
const { tempDbPath, removeDb } = require('../lib/tmp');

const CASES = ['memory c10', 'sqlite', 'sqlite grouped + journal'];
const W = 100;
const WARMUP = 500;

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

function installGroupedCommit(dist, journalFile) {
  const proto = dist.SqliteTaskStore.prototype;
  const enqueueSync = proto.enqueueSync;
  const journal = fs.openSync(journalFile, 'a');
  proto.enqueueSync = function groupedEnqueueSync(request) {
    const db = this.open().db;
    if (!db.inTransaction) {
      db.exec('BEGIN IMMEDIATE');
      setImmediate(() => { if (db.inTransaction) db.exec('COMMIT'); });
    }
    fs.writeSync(journal, JSON.stringify(request) + '\n');
    return enqueueSync.call(this, request);
  };
}

function build(dist, name, file) {
  if (name === 'memory c10') return memoryC10(dist);
  if (name !== 'sqlite') installGroupedCommit(dist, `${file}.journal`);
  return sqliteMode(dist, file);
}

async function child(name, n) {
  const dist = require('../../dist');
  const file = tempDbPath('group-commit');
  const built = build(dist, name, file);
  try {
    const { runsPerSec, cpuPerRunUs } = await measureSustained(built.manager, { n, warmup: WARMUP, window: W });
    process.stdout.write(JSON.stringify({ runsPerSec, cpuPerRunUs }));
  } finally {
    await built.close();
    removeDb(file);
  }
}

function main() {
  const runs = arg('--runs', 5);
  const n = arg('--n', 5000);
  const results = runRounds(__filename, CASES, { runs, n });
  const memoryMedian = median(results['memory c10'].map((r) => r.runsPerSec));
  console.log(`| case (1 ms work, c10, W=${W}, N=${n}, median of ${runs}) | runs/s | / memory c10 | CPU per run |`);
  console.log('|---|---:|---:|---:|');
  for (const name of CASES) {
    const rate = median(results[name].map((r) => r.runsPerSec));
    const cpu = median(results[name].map((r) => r.cpuPerRunUs));
    console.log(`| ${name} | ${Math.round(rate).toLocaleString('en-US')} | ${(rate / memoryMedian).toFixed(3)} x | ${cpu.toFixed(1)} µs |`);
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4])).catch((err) => { console.error(err); process.exit(1); });
} else {
  main();
}
