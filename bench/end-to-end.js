'use strict';
/**
 * Scenario "end-to-end" (issue 2): noop-handler throughput, taskbridge vs plainjob, 1 and 4 processes.
 * Per run: fresh temp database, N tasks enqueued up front (not timed), worker processes forked and
 * ready (store opened, handler registered), then the clock starts, 'go' is sent, and the clock
 * stops when the parent's own connection sees no queued or running task left (an existence check
 * on an index, polled every 5 ms). Every task's final state is then checked (N completed / done,
 * none handled twice). taskbridge children also report their CPU and the CPU they spent holding the
 * write lock (bench/lib/lock-meter.js), from which the scenario derives the lock's ceiling: the
 * rate no number of processes can pass while every task's writes go through that one lock.
 */
const { fork } = require('node:child_process');
const path = require('node:path');
const Database = require('better-sqlite3');
const { parseArgs } = require('./lib/args');
const { msSince, median } = require('./lib/stats');
const { tempDbPath, removeDb } = require('./lib/tmp');
const { openStore, fillBacklog } = require('./lib/queue');
const { writeRows, log } = require('./lib/report');

const args = parseArgs(process.argv.slice(2));
const N = args.quick ? 5_000 : 50_000;
const RUNS = args.runs ?? (args.quick ? 1 : 5);
const CONCURRENCY = 10; // the Worker's default
const POLL_MS = 5;

const SYSTEMS = {
  taskbridge: {
    script: path.join(__dirname, 'e2e-worker.js'),
    argv: (file, metered) => [file, String(CONCURRENCY), ...(metered ? ['meter'] : [])],
    fill(file) {
      const store = openStore(file);
      fillBacklog(store, N);
      store.closeSync();
    },
    // EXISTS over the two partial indexes: O(1) per poll. (A count over status scanned the whole
    // table every 5 ms once migration 2 dropped the status index: ~1,100 page reads per poll at
    // 30k tasks, CPU taken from the workers on a 2-core machine.)
    remaining: `SELECT EXISTS (SELECT 1 FROM tasks INDEXED BY tasks_ready_by_time WHERE status = 'queued')
                    OR EXISTS (SELECT 1 FROM tasks INDEXED BY tasks_lease_expiry WHERE status = 'running') AS n`,
    finished: "SELECT count(*) AS n FROM tasks WHERE status = 'completed'",
  },
  plainjob: {
    script: path.join(__dirname, 'plainjob-worker.mjs'),
    argv: (file) => [file],
    async fill(file) {
      const { better, defineQueue } = await import('plainjob');
      const db = new Database(file);
      const queue = defineQueue({ connection: better(db), logger: { error() {}, warn() {}, info() {}, debug() {} } });
      for (let done = 0; done < N; done += 10_000) {
        queue.addMany('noop', Array.from({ length: Math.min(10_000, N - done) }, (_, i) => ({ i: done + i })));
      }
      queue.close();
    },
    // The same O(1) existence check, on plainjob's (status, type, next_run_at) index.
    remaining: 'SELECT EXISTS (SELECT 1 FROM plainjob_jobs WHERE status IN (0, 1)) AS n',
    finished: 'SELECT count(*) AS n FROM plainjob_jobs WHERE status = 2',
  },
};

function once(child, predicate) {
  return new Promise((resolve, reject) => {
    const onMsg = (m) => {
      if (predicate(m)) {
        child.off('message', onMsg);
        resolve(m);
      }
    };
    child.on('message', onMsg);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`worker child exited with ${code}`))));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** CPU and write-lock CPU per task over all children, in µs. */
function lockLoad(results) {
  const sum = (f) => results.reduce((s, r) => s + f(r), 0);
  return { cpuPerTask: sum((r) => r.cpuUs) / N, lockPerTask: sum((r) => r.lock.cpuUs) / N, lockUs: sum((r) => r.lock.cpuUs) };
}

async function measure(systemName, processes, metered = false) {
  const sys = SYSTEMS[systemName];
  const file = tempDbPath(`e2e-${systemName}`);
  try {
    await sys.fill(file);
    const children = Array.from({ length: processes }, () => fork(sys.script, sys.argv(file, metered), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    await Promise.all(children.map((c) => once(c, (m) => m === 'ready')));
    const db = new Database(file, { readonly: true });
    const remaining = db.prepare(sys.remaining);
    const t = process.hrtime.bigint();
    for (const c of children) c.send('go');
    while (remaining.get().n > 0) await sleep(POLL_MS);
    const ms = msSince(t);
    const results = await Promise.all(children.map((c) => {
      const done = once(c, (m) => typeof m === 'object' && m !== null && 'handled' in m);
      c.send('stop');
      return done;
    }));
    const finished = db.prepare(sys.finished).get().n;
    db.close();
    const handled = results.reduce((s, r) => s + r.handled, 0);
    if (finished !== N || handled !== N) throw new Error(`${systemName} x${processes}: ${finished} finished, ${handled} handled, expected ${N}`);
    return { rate: (N / ms) * 1000, ms, load: metered ? lockLoad(results) : undefined };
  } finally {
    removeDb(file);
  }
}

async function main() {
  const rows = [];
  const cases = [['taskbridge', 1], ['taskbridge', 4], ['plainjob', 1], ['plainjob', 4]];
  const perRun = Object.fromEntries(cases.map(([s, p]) => [`${s} x${p}`, []]));
  // Metered runs are extra runs, apart from the headline ones: the meter's getrusage call per
  // write transaction costs a few per cent, which the rates above must not carry.
  const metered = { 1: [], 4: [] };
  // Interleaved: every run measures every case, so a noisy minute hits all of them alike.
  for (let r = 0; r < RUNS; r++) {
    for (const [s, p] of cases) {
      const { rate } = await measure(s, p);
      perRun[`${s} x${p}`].push(rate);
      log(`end-to-end run ${r + 1}/${RUNS}: ${s} x${p} process(es): ${Math.round(rate)} tasks/s`);
    }
    for (const p of [1, 4]) {
      const { rate, ms, load } = await measure('taskbridge', p, true);
      metered[p].push({ rate, ...load, lockShare: load.lockUs / 1000 / ms });
      log(`end-to-end run ${r + 1}/${RUNS}: taskbridge x${p} process(es), write lock metered: ${Math.round(rate)} tasks/s`);
    }
  }
  const med = Object.fromEntries(Object.entries(perRun).map(([k, v]) => [k, median(v)]));
  const ratio1 = perRun['taskbridge x1'].map((v, i) => v / perRun['plainjob x1'][i]);
  const ratio4 = perRun['taskbridge x4'].map((v, i) => v / perRun['plainjob x4'][i]);
  const scale = perRun['taskbridge x4'].map((v, i) => v / perRun['taskbridge x1'][i]);
  const row = (metric, value, unit, target, pass) => rows.push({ scenario: 'end-to-end', metric, value, unit, target, pass, runs: RUNS });
  row(`taskbridge noop, 1 process (N=${N}, concurrency ${CONCURRENCY})`, med['taskbridge x1'], 'tasks/s', '>= 25,000', med['taskbridge x1'] >= 25_000);
  row(`taskbridge noop, 4 processes`, med['taskbridge x4'], 'tasks/s');
  row('taskbridge 4 processes / 1 process', median(scale), 'x', '>= 1', median(scale) >= 1);
  row(`plainjob noop, 1 process (one job at a time)`, med['plainjob x1'], 'tasks/s');
  row(`plainjob noop, 4 processes`, med['plainjob x4'], 'tasks/s');
  row('taskbridge / plainjob, 1 process', median(ratio1), 'x', '>= 3', median(ratio1) >= 3);
  row('taskbridge / plainjob, 4 processes', median(ratio4), 'x', '>= 3', median(ratio4) >= 3);
  for (const p of [1, 4]) {
    row(`metered taskbridge, ${p} process(es): CPU per task, all children`, median(metered[p].map((m) => m.cpuPerTask)), 'µs');
    row(`metered taskbridge, ${p} process(es): of which holding the write lock`, median(metered[p].map((m) => m.lockPerTask)), 'µs');
  }
  row('metered taskbridge, 4 processes: write lock held (CPU share of wall time)', median(metered[4].map((m) => m.lockShare * 100)), '%');
  // The lock's ceiling for 4 processes (1 / lock CPU per task, as if the lock never sat idle) over
  // the metered 1-process rate of the same run: near or below 1, no way of handing the lock over
  // can make 4 processes clearly faster than 1.
  const ceiling = metered[4].map((m, i) => 1e6 / m.lockPerTask / metered[1][i].rate);
  row('metered taskbridge, 4 processes: write-lock ceiling / 1 process', median(ceiling), 'x');
  writeRows(args.out, rows, { n: N, concurrency: CONCURRENCY, perRun, metered });
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
