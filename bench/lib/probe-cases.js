'use strict';
/**
 * What the `bench/probes` scripts share: the two baseline managers they compare a design against,
 * built as bench/manager.js builds them, and the sustained producer with fresh run records.
 */
const { produceSustained } = require('./sustained');

/** A logger that keeps errors visible and drops the rest. */
const QUIET = { error: (...a) => console.error(...a), warn() {}, info() {}, debug() {} };

/** `memory c10`: the legacy in-memory engine limited to sqlite mode's concurrency of 10. */
function memoryC10(dist) {
  const registry = new dist.RunRegistry({ logger: QUIET });
  const executor = new dist.MemoryRunExecutor(registry, { concurrency: 10, logger: QUIET });
  return { manager: new dist.BackgroundTaskManager(registry, { executor }), close: async () => undefined };
}

/** sqlite mode as shipped, through the container, on `file`. */
function sqliteMode(dist, file) {
  const container = dist.createContainer({ TASKBRIDGE_LOG_LEVEL: 'error', TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: file, TASKBRIDGE_CONCURRENCY: 10 });
  return { manager: container.get(dist.TYPES.BackgroundTaskManager), close: () => dist.shutdown(container) };
}

let seq = 0;
/** Starts `n` new runs through the windowed producer (at most `window` outstanding, 1 ms work). */
function produceRuns(manager, n, window) {
  const runs = Array.from({ length: n }, () => {
    seq++;
    return { runId: `run-${seq}`, moduleId: 'bench', moduleName: 'bench', status: 'queued', createdAt: new Date(), parameters: { seq } };
  });
  return produceSustained(manager, runs, window);
}

/**
 * Warms `manager` up with `warmup` runs, then times `n` runs through the producer: the rate, the
 * CPU per run (process, all threads) and the main event loop's utilization. `onTimedStart` runs
 * right before the timed runs (to reset a probe's own meters).
 */
async function measureSustained(manager, { n, warmup, window, onTimedStart = () => undefined }) {
  const { performance } = require('node:perf_hooks');
  await produceRuns(manager, warmup, window);
  const cpu0 = process.cpuUsage();
  const loop0 = performance.eventLoopUtilization();
  const t0 = process.hrtime.bigint();
  onTimedStart();
  await produceRuns(manager, n, window);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const loop = performance.eventLoopUtilization(loop0);
  return { runsPerSec: (n / ms) * 1000, cpuPerRunUs: (cpu.user + cpu.system) / n, loopBusy: loop.utilization, busyUsPerRun: (loop.active * 1e3) / n };
}

/**
 * Runs every case of `cases` once per round, each in its own child process (`script --child <case>
 * <n>`, which prints one JSON object), the cases interleaved; prints each round's ratios to memory
 * c10 on stderr. Returns the results by case, one entry per round.
 */
function runRounds(script, cases, { runs, n }) {
  const { spawnSync } = require('node:child_process');
  const results = Object.fromEntries(cases.map((c) => [c, []]));
  for (let round = 0; round < runs; round++) {
    for (const name of cases) {
      const out = spawnSync(process.execPath, [script, '--child', name, String(n)], { encoding: 'utf8' });
      if (out.status !== 0) throw new Error(`${name} failed: ${out.stderr}`);
      results[name].push(JSON.parse(out.stdout));
    }
    const memory = results['memory c10'][round].runsPerSec;
    process.stderr.write(`round ${round + 1}: ${cases.map((c) => `${c} ${(results[c][round].runsPerSec / memory).toFixed(3)} x`).join(', ')}\n`);
  }
  return results;
}

module.exports = { QUIET, memoryC10, sqliteMode, produceRuns, measureSustained, runRounds };
