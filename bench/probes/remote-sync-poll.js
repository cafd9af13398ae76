'use strict';
/**
 * Probe (not part of `npm run bench`, no target): what one store poll of sqlite mode costs the main
 * thread with a backlog. Every poll interval (200 ms by default) SqliteRunExecutor follows the runs
 * not executing in this process through `syncRemoteRuns`; a backlog of unpinned runs (modules with a
 * registered handler, so any process may run them) is read on every poll.
 *
 * Per backlog size, one fresh file holding N runs enqueued as sqlite mode enqueues them
 * (`runRequest`, unpinned, queued; a small parameters object), a RunRegistry holding their records
 * and one unsettled entry each. Two cases, interleaved per round so load drift hits both:
 *   - "point reads": the pre-batch poll, one `syncRemoteRun` (one `getSync`) per run;
 *   - "poll": `syncRemoteRuns` as the build at hand implements it.
 * Against a build from before the batched read both cases are the same loop. Each timed call is
 * one whole poll in which nothing changes (every run stays queued: the steady state of a backlog).
 *   node bench/probes/remote-sync-poll.js [--dist dist] [--sizes 5000,20000] [--rounds 9]   (build first)
 */
const path = require('node:path');
const { median, msSince } = require('../lib/stats');
const { tempDbPath, removeDb } = require('../lib/tmp');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
}

const DIST = path.resolve(arg('--dist', path.join(__dirname, '../../dist')));
const SIZES = arg('--sizes', '5000,20000').split(',').map(Number);
const ROUNDS = Number(arg('--rounds', '9'));
const WARMUP = 2;
const OWNER = 'probe-owner';

const { SqliteTaskStore } = require(path.join(DIST, 'queue/sqlite/store'));
const { RunRegistry } = require(path.join(DIST, 'manager'));
const { createLogger } = require(path.join(DIST, 'core/logger'));
const { createRunEntry } = require(path.join(DIST, 'compat/run-entry'));
const { runRequest } = require(path.join(DIST, 'compat/run-payload'));
const remote = require(path.join(DIST, 'compat/remote-sync'));

/** A store holding `n` queued unpinned runs, their registry records and entries. */
function backlog(n) {
  const file = tempDbPath('remote-sync');
  const store = new SqliteTaskStore({ path: file });
  const registry = new RunRegistry();
  const policy = { maxAttempts: 1, retryFailures: false, backoff: undefined };
  const runs = Array.from({ length: n }, (_, i) => ({
    runId: `run-${i}`, moduleId: 'm', moduleName: 'module m', status: 'queued', createdAt: new Date(), parameters: { customer: i, region: 'eu-west', dryRun: false },
  }));
  const results = store.enqueueBatchSync(runs.map((r) => runRequest(r, OWNER, policy, false)));
  const entries = runs.map((r, i) => {
    registry.addRun(r);
    return createRunEntry(r.runId, results[i].task.id, r.moduleId, undefined, false);
  });
  let changes = 0;
  const deps = {
    store, registry, logger: createLogger('silent'), workerSaturated: false,
    update: (runId, patch) => {
      changes += 1;
      registry.updateRun(runId, patch);
    },
    settle: (e) => {
      changes += 1;
      e.done = true;
    },
    leasedHere: () => false,
    storeLost: () => {
      throw new Error('the probe store was lost');
    },
  };
  return { file, store, entries, deps, changes: () => changes };
}

const CASES = {
  'point reads': (entries, deps) => {
    for (const e of entries) if (remote.needsRead(e, deps.workerSaturated)) remote.syncRemoteRun(e, deps);
  },
  poll: (entries, deps) => remote.syncRemoteRuns(entries, deps),
};

function main() {
  console.log(`dist: ${DIST}; ${ROUNDS} timed rounds (${WARMUP} warm-up), cases interleaved; ms per poll`);
  const rows = [];
  for (const n of SIZES) {
    const b = backlog(n);
    try {
      const times = Object.fromEntries(Object.keys(CASES).map((c) => [c, []]));
      for (let round = 0; round < WARMUP + ROUNDS; round++) {
        // Alternate which case goes first, so neither always follows the other's garbage.
        const order = round % 2 === 0 ? Object.keys(CASES) : Object.keys(CASES).reverse();
        for (const c of order) {
          const start = process.hrtime.bigint();
          CASES[c](b.entries, b.deps);
          const ms = msSince(start);
          if (round >= WARMUP) times[c].push(ms);
        }
      }
      if (b.changes() !== 0) throw new Error(`a poll changed ${b.changes()} runs; every run should have stayed queued`);
      const point = median(times['point reads']);
      const poll = median(times.poll);
      rows.push({ backlog: n, 'point reads ms': point.toFixed(2), 'poll ms': poll.toFixed(2), 'point/poll': (point / poll).toFixed(1) });
    } finally {
      b.store.closeSync();
      removeDb(b.file);
    }
  }
  console.table(rows);
}

main();
