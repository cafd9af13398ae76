'use strict';
/**
 * Scenario "store" (issue 2): single enqueue latency, batch enqueue rate, and claim latency with
 * 10k and 1M tasks queued. Every run uses a fresh temp database with the store's defaults
 * (WAL, synchronous NORMAL); figures are the median over runs of each run's percentile.
 */
const { parseArgs } = require('./lib/args');
const { percentile, msSince, medianOfRuns } = require('./lib/stats');
const { tempDbPath, removeDb } = require('./lib/tmp');
const { openStore, fillBacklog, claimRequest } = require('./lib/queue');
const { writeRows, log } = require('./lib/report');

const args = parseArgs(process.argv.slice(2));
const SIZES = args.quick
  ? { singles: 2_000, batchTotal: 20_000, claimSamples: 1_000, backlogs: [10_000, 100_000], runs: args.runs ?? 2 }
  : { singles: 20_000, batchTotal: 200_000, claimSamples: 5_000, backlogs: [10_000, 1_000_000], runs: args.runs ?? 5 };
const WARMUP = 500;

function withStore(label, fn) {
  const file = tempDbPath(label);
  const store = openStore(file);
  try {
    return fn(store, file);
  } finally {
    store.closeSync();
    removeDb(file);
  }
}

/** enqueueSync is the synchronous core: the task is committed when it returns. */
function singleEnqueue() {
  return withStore('enqueue', (store) => {
    for (let i = 0; i < WARMUP; i++) store.enqueueSync({ type: 'noop', payload: { i } });
    const times = new Float64Array(SIZES.singles);
    for (let i = 0; i < SIZES.singles; i++) {
      const t = process.hrtime.bigint();
      store.enqueueSync({ type: 'noop', payload: { i } });
      times[i] = msSince(t);
    }
    return { p50: percentile(times, 50), p99: percentile(times, 99) };
  });
}

function batchEnqueue() {
  return withStore('batch', (store) => {
    const batches = [];
    for (let b = 0; b < SIZES.batchTotal / 1000; b++) {
      batches.push(Array.from({ length: 1000 }, (_, i) => ({ type: 'noop', payload: { i: b * 1000 + i } })));
    }
    store.enqueueBatchSync(batches[0]); // warm-up batch, not timed
    const t = process.hrtime.bigint();
    for (const batch of batches) store.enqueueBatchSync(batch);
    const ms = msSince(t);
    return { rate: (SIZES.batchTotal / ms) * 1000 };
  });
}

/** Claims one task (fifo, limit 1, the worker's request shape) and completes it; both timed separately. */
function claimLatency(backlog) {
  return withStore('claim', (store) => {
    const t0 = process.hrtime.bigint();
    fillBacklog(store, backlog + WARMUP + SIZES.claimSamples);
    const buildMs = msSince(t0);
    const req = claimRequest('fifo');
    const claimT = new Float64Array(SIZES.claimSamples);
    const bothT = new Float64Array(SIZES.claimSamples);
    for (let i = 0; i < WARMUP + SIZES.claimSamples; i++) {
      const t = process.hrtime.bigint();
      const [c] = store.claimSync(req);
      const tc = process.hrtime.bigint();
      store.completeSync(c.task.id, c.token);
      if (i >= WARMUP) {
        claimT[i - WARMUP] = Number(tc - t) / 1e6;
        bothT[i - WARMUP] = msSince(t);
      }
    }
    return { claimP50: percentile(claimT, 50), claimP99: percentile(claimT, 99), bothP50: percentile(bothT, 50), bothP99: percentile(bothT, 99), buildMs };
  });
}

async function main() {
  const rows = [];
  const runs = SIZES.runs;
  const row = (metric, value, unit, target, pass, r = runs) => rows.push({ scenario: 'store', metric, value, unit, target, pass, runs: r });

  log(`store: single enqueue x${SIZES.singles}, ${runs} runs`);
  const single = await medianOfRuns(runs, singleEnqueue);
  row('single enqueue p50', single.p50 * 1000, 'µs');
  row('single enqueue p99', single.p99 * 1000, 'µs', '< 200 µs', single.p99 < 0.2);

  log(`store: batch enqueue ${SIZES.batchTotal} in batches of 1,000, ${runs} runs`);
  const batch = await medianOfRuns(runs, batchEnqueue);
  row('batch enqueue rate (batches of 1,000)', batch.rate, 'tasks/s');

  const claimRuns = Math.min(runs, 3);
  const claims = {};
  for (const backlog of SIZES.backlogs) {
    log(`store: claim latency with ${backlog} queued, ${SIZES.claimSamples} samples, ${claimRuns} runs`);
    const c = await medianOfRuns(claimRuns, () => claimLatency(backlog));
    claims[backlog] = c;
    const k = backlog >= 1_000_000 ? `${backlog / 1_000_000}M` : `${backlog / 1000}k`;
    const big = backlog === SIZES.backlogs[SIZES.backlogs.length - 1];
    row(`claim p50 @ ${k} queued`, c.claimP50 * 1000, 'µs', undefined, undefined, claimRuns);
    row(`claim p99 @ ${k} queued`, c.claimP99 * 1000, 'µs', big ? '< 1,000 µs' : undefined, big ? c.claimP99 < 1 : undefined, claimRuns);
    row(`claim+complete p50 @ ${k} queued`, c.bothP50 * 1000, 'µs', undefined, undefined, claimRuns);
    row(`claim+complete p99 @ ${k} queued`, c.bothP99 * 1000, 'µs', undefined, undefined, claimRuns);
    row(`build ${k} backlog (enqueueBatch of 10,000)`, c.buildMs / 1000, 's', undefined, undefined, claimRuns);
  }
  writeRows(args.out, rows, { sizes: SIZES, raw: { single, batch, claims } });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
