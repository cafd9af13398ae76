'use strict';
/**
 * Scenario "strategies" (issue 3): claim latency (claimSync, limit 1, the worker's request shape)
 * of each built-in strategy with 1k, 100k and 1M ready tasks spread evenly over 10 priority
 * levels. Each timed claim is followed (untimed) by a complete and an enqueue of a replacement
 * task at the same level, so the ready count stays at the stated size throughout. One fresh
 * database per (run, size); the strategy order rotates from run to run.
 */
const { parseArgs } = require('./lib/args');
const { percentile, median } = require('./lib/stats');
const { tempDbPath, removeDb } = require('./lib/tmp');
const { openStore, fillBacklog, claimRequest } = require('./lib/queue');
const { writeRows, log } = require('./lib/report');

const args = parseArgs(process.argv.slice(2));
const STRATEGIES = ['fifo', 'lifo', 'priority', 'weighted-random'];
const SIZES = args.quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000];
const SAMPLES = args.quick ? 1_000 : 3_000;
const WARMUP = 300;
const RUNS = args.runs ?? (args.quick ? 1 : 3);
const LEVELS = 10;

function measureStrategy(store, name) {
  const req = claimRequest(name);
  const times = new Float64Array(SAMPLES);
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const t = process.hrtime.bigint();
    const [c] = store.claimSync(req);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (i >= WARMUP) times[i - WARMUP] = ms;
    store.completeSync(c.task.id, c.token);
    store.enqueueSync({ type: 'noop', payload: { r: i }, priority: c.task.priority });
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function main() {
  const results = {}; // results[strategy][size] = [{p50, p99} per run]
  for (const s of STRATEGIES) results[s] = Object.fromEntries(SIZES.map((n) => [n, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const size of SIZES) {
      const file = tempDbPath('strategies');
      const store = openStore(file);
      try {
        fillBacklog(store, size, { priorityOf: (i) => i % LEVELS });
        const order = STRATEGIES.map((_, i) => STRATEGIES[(i + r) % STRATEGIES.length]);
        for (const s of order) {
          const m = measureStrategy(store, s);
          results[s][size].push(m);
          log(`strategies run ${r + 1}/${RUNS}: ${s} @ ${size}: p50 ${(m.p50 * 1000).toFixed(1)} µs, p99 ${(m.p99 * 1000).toFixed(1)} µs`);
        }
      } finally {
        store.closeSync();
        removeDb(file);
      }
    }
  }
  const rows = [];
  const big = SIZES[SIZES.length - 1];
  const label = (n) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
  for (const s of STRATEGIES) {
    const p99At = (n) => median(results[s][n].map((m) => m.p99));
    for (const n of SIZES) {
      const p50 = median(results[s][n].map((m) => m.p50));
      rows.push({ scenario: 'strategies', metric: `${s} claim p50 @ ${label(n)} ready`, value: p50 * 1000, unit: 'µs', runs: RUNS });
      const isBig = n === big;
      rows.push({
        scenario: 'strategies', metric: `${s} claim p99 @ ${label(n)} ready`, value: p99At(n) * 1000, unit: 'µs',
        target: isBig ? '< 1,000 µs' : undefined, pass: isBig ? p99At(n) < 1 : undefined, runs: RUNS,
      });
    }
    const growth = median(results[s][big].map((m, i) => m.p99 / results[s][SIZES[0]][i].p99));
    rows.push({ scenario: 'strategies', metric: `${s} p99 ${label(big)} / p99 1k`, value: growth, unit: 'x', target: '<= 2', pass: growth <= 2, runs: RUNS });
  }
  writeRows(args.out, rows, { sizes: SIZES, samples: SAMPLES, levels: LEVELS, results });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
