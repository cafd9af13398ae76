'use strict';
/**
 * Probe (not part of `npm run bench`, no target): how far could sqlite mode get if its SQLite work
 * ran on a second thread? Points 10-15 of bench/README.md found that the 1 ms timers of sqlite mode
 * fire late because the main event loop is busy ~55 % of the time with the durable writes and the
 * JavaScript around them. This prices the one design no earlier probe covered: keep only what
 * `startTask` must do synchronously on the main thread, and move every SQLite statement to a
 * `worker_threads` thread that owns the connection (this machine has 2 cores).
 *
 * The "offload" case, main thread, per run: the real BackgroundTaskManager and RunRegistry (their
 * validation and copies), one journal append with `fs.writeSync` (what would make `startTask`
 * durable before it returns without a SQLite commit; the same process-crash durability as a WAL
 * frame under synchronous=NORMAL), the enqueue request handed to the thread in one message per
 * loop turn, and a run starts only when the thread's claim names it (so the claim's round trip is
 * priced). Thread: one `enqueueBatchSync` per message (keyed by run id, as sqlite mode does),
 * then one `completeAndClaimSync` (fifo) for the finished runs and the free slots plus a prefetch
 * of one batch, then posts the claims back.
 *
 * Not priced, so this is an upper bound: lease renewal, journal replay and truncation, cancel,
 * failure and retry paths, recovery of other processes' runs. Same workload as the sustained bench
 * row (1 ms work, concurrency 10, W = 100, 500 warm-up runs, then N timed), each case in its own
 * child process, cases interleaved per round.
 *   node bench/probes/thread-offload.js [--runs 5] [--n 5000]     (uses dist/: build first)
 */
const fs = require('node:fs');
const { Worker: Thread, isMainThread, parentPort, workerData } = require('node:worker_threads');
const { median } = require('../lib/stats');
const { QUIET, memoryC10, sqliteMode, measureSustained, runRounds } = require('../lib/probe-cases');

const DEFAULT_CASES = ['memory c10', 'sqlite', 'sqlite offload', 'sqlite offload INSERT on main', 'sqlite SQL metered'];
// `--cases 'memory c10,sqlite offload +15us'`: a case 'sqlite offload +Nus' spins N µs of extra main-thread
// JavaScript per run (half at start, half at the end), to price what the real executor and Worker
// keep on the main thread beyond this probe's bare executor.
const casesArg = process.argv.indexOf('--cases');
const CASES = casesArg === -1 ? DEFAULT_CASES : process.argv[casesArg + 1].split(',');
const W = 100;
const WARMUP = 500;
const CONCURRENCY = 10;
const PREFETCH = 10;

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

/** The thread: owns the store, writes what the main thread sends, answers with claims. */
function threadMain() {
  const dist = require('../../dist');
  const store = new dist.SqliteTaskStore({ path: workerData.file });
  const request = { workerId: 'offload', limit: 1, leaseMs: 30_000, strategy: dist.fifo, types: ['bench'] };
  let closed = false;
  parentPort.on('message', (msg) => {
    if (closed) return;
    if (msg.close) {
      closed = true;
      // Every run was completed exactly once: checked here, where the rows are.
      const counts = store.countsSync();
      store.closeSync();
      parentPort.postMessage({ counts });
      parentPort.close();
      return;
    }
    if (msg.enqueue.length > 0) store.enqueueBatchSync(msg.enqueue);
    let claims = [];
    if (msg.want > 0 || msg.complete.length > 0) {
      const result = store.completeAndClaimSync(msg.complete, { ...request, limit: Math.max(1, msg.want) });
      claims = result.claimed.map((c) => ({ taskId: c.task.id, token: c.token, runId: c.task.idempotencyKey }));
    }
    parentPort.postMessage({ claims, asked: msg.want });
  });
}

/** The main thread's executor in the offload case (RunExecutor, see src/manager/types.ts). */
class OffloadExecutor {
  constructor(registry, dist, file, insertOnMain, extraUs = 0) {
    this.registry = registry;
    this.spinNs = BigInt(Math.round((extraUs * 1000) / 2));
    this.dist = dist;
    // insertOnMain: startTask commits its row itself on a main-thread connection (no journal);
    // only claims and completions go to the thread.
    this.mainStore = insertOnMain ? new dist.SqliteTaskStore({ path: file }) : undefined;
    this.journal = insertOnMain ? undefined : fs.openSync(`${file}.journal`, 'a');
    this.thread = new Thread(__filename, { workerData: { file } });
    this.thread.on('message', (msg) => this.onClaims(msg));
    this.thread.on('error', (err) => { console.error(err); process.exit(1); });
    this.entries = new Map();
    this.unsettled = new Set();
    this.pending = { enqueue: [], complete: [] };
    this.reserved = 0; // slots asked of the thread and not yet finished (claims in flight, ready or running)
    this.ready = [];
    this.running = 0;
    this.flushScheduled = false;
  }

  spin() {
    if (this.spinNs === 0n) return;
    const until = process.hrtime.bigint() + this.spinNs;
    while (process.hrtime.bigint() < until);
  }

  start(run, work) {
    this.spin();
    const request = { type: 'bench', payload: run.parameters ?? null, idempotencyKey: run.runId };
    if (this.mainStore) this.mainStore.enqueueSync(request);
    else fs.writeSync(this.journal, JSON.stringify(request) + '\n');
    let resolveSettled;
    const settled = new Promise((resolve) => (resolveSettled = resolve));
    const entry = { runId: run.runId, work, settled, resolveSettled };
    this.entries.set(run.runId, entry);
    this.unsettled.add(entry);
    if (!this.mainStore) this.pending.enqueue.push(request);
    this.scheduleFlush();
  }

  scheduleFlush() {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const queuedHere = this.entries.size - this.reserved;
      const want = Math.max(0, Math.min(CONCURRENCY + PREFETCH - this.reserved, queuedHere));
      if (want === 0 && this.pending.enqueue.length === 0 && this.pending.complete.length === 0) return;
      this.reserved += want;
      this.thread.postMessage({ ...this.pending, want });
      this.pending = { enqueue: [], complete: [] };
    });
  }

  onClaims(msg) {
    this.reserved -= msg.asked - msg.claims.length;
    for (const claim of msg.claims) this.ready.push(claim);
    this.drain();
    if (this.entries.size > this.reserved) this.scheduleFlush();
  }

  drain() {
    while (this.running < CONCURRENCY && this.ready.length > 0) {
      const claim = this.ready.shift();
      const entry = this.entries.get(claim.runId);
      this.running++;
      const startedAtMs = Date.now();
      this.registry.updateRun(entry.runId, { status: 'running', startedAt: new Date(startedAtMs) });
      Promise.resolve(entry.work({ runId: entry.runId, signal: undefined, reportProgress() {} })).then(() => {
        this.registry.updateRun(entry.runId, { status: 'completed', exitCode: 0, ...this.dist.closingFields?.(Date.now(), startedAtMs) ?? { completedAt: new Date(), durationSeconds: (Date.now() - startedAtMs) / 1000 } });
        this.spin();
        this.running--;
        this.reserved--;
        this.entries.delete(entry.runId);
        this.unsettled.delete(entry);
        this.pending.complete.push({ taskId: claim.taskId, token: claim.token });
        entry.resolveSettled();
        this.drain();
        this.scheduleFlush();
      });
    }
  }

  cancel() { throw new Error('not priced'); }
  async waitAll() { while (this.unsettled.size > 0) await Promise.all([...this.unsettled].map((e) => e.settled)); }
  activeRunIds() { return [...this.entries.keys()]; }
  isActive(runId) { return this.entries.has(runId); }

  async close() {
    // The last completions may still sit in `pending`: send them before asking for the counts.
    await new Promise((resolve) => setImmediate(resolve));
    this.thread.removeAllListeners('message');
    const counts = new Promise((resolve) => this.thread.once('message', (msg) => resolve(msg.counts)));
    this.thread.postMessage({ close: true });
    this.counts = await counts;
    await new Promise((resolve) => this.thread.once('exit', resolve));
    if (this.journal !== undefined) fs.closeSync(this.journal);
    this.mainStore?.closeSync();
  }
}

/**
 * 'sqlite SQL metered': sqlite mode as shipped, with the wall time spent inside the store's
 * synchronous methods (every statement the main thread runs; the async methods call them) summed.
 * Busy time minus this is the main thread's non-SQL work per run, which a thread design would keep.
 */
const sqlTime = { ns: 0n };
function meterSql(dist) {
  const proto = dist.SqliteTaskStore.prototype;
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (!name.endsWith('Sync') || typeof proto[name] !== 'function') continue;
    const inner = proto[name];
    let depth = 0;
    proto[name] = function meteredSql(...args) {
      if (depth > 0) return inner.apply(this, args);
      depth++;
      const t0 = process.hrtime.bigint();
      try { return inner.apply(this, args); } finally { sqlTime.ns += process.hrtime.bigint() - t0; depth--; }
    };
  }
}

function build(dist, name, file) {
  if (name === 'sqlite SQL metered') meterSql(dist);
  if (name === 'memory c10') return memoryC10(dist);
  if (name.startsWith('sqlite offload')) {
    const registry = new dist.RunRegistry({ logger: QUIET });
    const extra = /\+(\d+)us$/.exec(name);
    const executor = new OffloadExecutor(registry, dist, file, name.includes('INSERT on main'), extra ? Number(extra[1]) : 0);
    return { manager: new dist.BackgroundTaskManager(registry, { executor }), close: () => executor.close(), counts: () => executor.counts };
  }
  return sqliteMode(dist, file);
}

async function child(name, n) {
  const dist = require('../../dist');
  const { tempDbPath, removeDb } = require('../lib/tmp');
  const file = tempDbPath('thread-offload');
  const built = build(dist, name, file);
  try {
    const figures = await measureSustained(built.manager, { n, warmup: WARMUP, window: W, onTimedStart: () => (sqlTime.ns = 0n) });
    const sqlUsPerRun = Number(sqlTime.ns) / 1e3 / n;
    await built.close();
    const counts = built.counts?.();
    if (counts && (counts.byStatus.completed !== WARMUP + n || counts.total !== WARMUP + n)) {
      throw new Error(`offload lost or repeated runs: ${JSON.stringify(counts.byStatus)}`);
    }
    process.stdout.write(JSON.stringify({ ...figures, sqlUsPerRun }));
  } finally {
    removeDb(file);
    fs.rmSync(`${file}.journal`, { force: true });
  }
}

function main() {
  const runs = arg('--runs', 5);
  const n = arg('--n', 5000);
  const results = runRounds(__filename, CASES, { runs, n });
  const memoryMedian = median(results['memory c10'].map((r) => r.runsPerSec));
  console.log(`| case (1 ms work, c10, W=${W}, N=${n}, median of ${runs}) | runs/s | / memory c10 | CPU per run (both threads) | main loop busy | of it per run | in SQL per run |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const name of CASES) {
    const rate = median(results[name].map((r) => r.runsPerSec));
    const cpu = median(results[name].map((r) => r.cpuPerRunUs));
    const busy = median(results[name].map((r) => r.loopBusy));
    const busyUs = median(results[name].map((r) => r.busyUsPerRun));
    const sqlUs = median(results[name].map((r) => r.sqlUsPerRun));
    console.log(`| ${name} | ${Math.round(rate).toLocaleString('en-US')} | ${(rate / memoryMedian).toFixed(3)} x | ${cpu.toFixed(1)} µs | ${(busy * 100).toFixed(1)} % | ${busyUs.toFixed(1)} µs | ${sqlUs > 0 ? `${sqlUs.toFixed(1)} µs` : '-'} |`);
  }
}

if (!isMainThread) {
  threadMain();
} else if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4])).catch((err) => { console.error(err); process.exit(1); });
} else {
  main();
}
