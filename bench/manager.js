'use strict';
/**
 * Scenario "manager" (issue 4): BackgroundTaskManager.startTask latency and throughput per mode,
 * with noop work and with 1 ms of async work (setTimeout 1 ms).
 * Managers are built the way the application gets them: createContainer(config) and
 * TYPES.BackgroundTaskManager, with TASKBRIDGE_MODE memory | shadow | sqlite, a fresh temp
 * TASKBRIDGE_DB_PATH and TASKBRIDGE_CONCURRENCY=10 (used by sqlite mode only).
 * memory mode through the container keeps the legacy behaviour: no concurrency limit. For a like-
 * for-like comparison at concurrency 10 the bench also builds a MemoryRunExecutor with
 * { concurrency: 10 } directly ("memory c10"); the sqlite target is judged against that one.
 * Burst (the first rows): per case 200 warm-up runs, then N runs started in one synchronous loop
 * (each startTask call timed), and throughput = N / (first startTask -> waitAll() resolved). Nothing
 * runs until the loop ends, so in sqlite mode this is N x startTask latency plus the drain.
 * Sustained (1 ms work only; the "sustained W=..." rows): a windowed producer, like a server that
 * receives requests faster than it can run them, keeps at most W runs outstanding (started, work
 * not finished). It calls startTask one at a time while outstanding < W without yielding; when the
 * window is full it awaits the end of some run's work (the work itself decrements `outstanding` and
 * wakes the producer). Per case 500 warm-up runs through the same producer, then N timed runs;
 * throughput = N / (first timed startTask -> waitAll() resolved). W = 100 (headline) and 20.
 */
const { parseArgs } = require('./lib/args');
const { percentile, median } = require('./lib/stats');
const { tempDbPath, removeDb } = require('./lib/tmp');
const { writeRows, log } = require('./lib/report');
const { produceSustained: produce } = require('./lib/sustained');
const dist = require('../dist');

const args = parseArgs(process.argv.slice(2));
const N = args.quick ? 1_000 : 5_000;
const RUNS = args.runs ?? (args.quick ? 1 : 5);
const WARMUP = 200;
const SUSTAINED_WARMUP = 500;
const WINDOWS = [100, 20];

const WORK = {
  noop: async () => undefined,
  '1ms': () => new Promise((resolve) => setTimeout(resolve, 1)),
};

const MODES = {
  memory: (file) => fromContainer({ TASKBRIDGE_MODE: 'memory', TASKBRIDGE_DB_PATH: file }),
  'memory c10': (file) => {
    const registry = new dist.RunRegistry({ logger: quietLogger() });
    const executor = new dist.MemoryRunExecutor(registry, { concurrency: 10, logger: quietLogger() });
    return { manager: new dist.BackgroundTaskManager(registry, { executor }), close: async () => undefined, file };
  },
  shadow: (file) => fromContainer({ TASKBRIDGE_MODE: 'shadow', TASKBRIDGE_DB_PATH: file }),
  sqlite: (file) => fromContainer({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: file, TASKBRIDGE_CONCURRENCY: 10 }),
};

function quietLogger() {
  return { error: (...a) => console.error(...a), warn() {}, info() {}, debug() {} };
}

function fromContainer(config) {
  const container = dist.createContainer({ TASKBRIDGE_LOG_LEVEL: 'error', ...config });
  return { manager: container.get(dist.TYPES.BackgroundTaskManager), close: () => dist.shutdown(container) };
}

let seq = 0;
function newRun() {
  seq++;
  return { runId: `run-${seq}`, moduleId: 'bench', moduleName: 'bench', status: 'queued', createdAt: new Date(), parameters: { seq } };
}

async function measure(mode, workName) {
  const file = tempDbPath('manager');
  const built = MODES[mode](file);
  const { manager } = built;
  const work = WORK[workName];
  try {
    for (let i = 0; i < WARMUP; i++) manager.startTask(newRun(), work);
    await manager.waitAll();
    const runs = Array.from({ length: N }, newRun);
    const times = new Float64Array(N);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) {
      const t = process.hrtime.bigint();
      manager.startTask(runs[i], work);
      times[i] = Number(process.hrtime.bigint() - t) / 1e6;
    }
    await manager.waitAll();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const completed = runs.filter((r) => manager.registry.getRun(r.runId)?.status === 'completed').length;
    if (completed !== N) throw new Error(`${mode}/${workName}: ${completed} of ${N} runs completed`);
    return { p50: percentile(times, 50), p99: percentile(times, 99), rate: (N / ms) * 1000 };
  } finally {
    await built.close();
    removeDb(file);
  }
}

async function measureSustained(mode, window) {
  const file = tempDbPath('manager');
  const built = MODES[mode](file);
  const { manager } = built;
  try {
    await produce(manager, Array.from({ length: SUSTAINED_WARMUP }, newRun), window);
    const runs = Array.from({ length: N }, newRun);
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    await produce(manager, runs, window);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = process.cpuUsage(cpu0);
    // The share of the time the event loop was busy: what makes a 1 ms timer fire late.
    const loopBusy = performance.eventLoopUtilization(elu0).utilization;
    const completed = runs.filter((r) => manager.registry.getRun(r.runId)?.status === 'completed').length;
    if (completed !== N) throw new Error(`${mode}/1ms sustained W=${window}: ${completed} of ${N} runs completed`);
    return { ms, rate: (N / ms) * 1000, cpuPerRun: (cpu.user + cpu.system) / N, loopBusy };
  } finally {
    await built.close();
    removeDb(file);
  }
}

async function main() {
  const modes = Object.keys(MODES);
  const results = {};
  for (const w of Object.keys(WORK)) for (const m of modes) results[`${m}|${w}`] = [];
  const sustained = {};
  for (const W of WINDOWS) for (const m of modes) sustained[`${m}|W=${W}`] = [];
  // Interleaved: each run measures every case once, the mode order rotating between runs.
  for (let r = 0; r < RUNS; r++) {
    for (const w of Object.keys(WORK)) {
      for (let i = 0; i < modes.length; i++) {
        const m = modes[(i + r) % modes.length];
        const res = await measure(m, w);
        results[`${m}|${w}`].push(res);
        log(`manager run ${r + 1}/${RUNS}: ${m} / ${w}: startTask p50 ${(res.p50 * 1000).toFixed(1)} µs p99 ${(res.p99 * 1000).toFixed(1)} µs, ${Math.round(res.rate)} runs/s`);
      }
    }
    for (const W of WINDOWS) {
      for (let i = 0; i < modes.length; i++) {
        const m = modes[(i + r) % modes.length];
        const res = await measureSustained(m, W);
        sustained[`${m}|W=${W}`].push(res);
        log(`manager run ${r + 1}/${RUNS}: ${m} / 1ms sustained W=${W}: ${Math.round(res.rate)} runs/s (${res.ms.toFixed(0)} ms)`);
      }
    }
  }
  const rows = [];
  const row = (metric, value, unit, target, pass) => rows.push({ scenario: 'manager', metric, value, unit, target, pass, runs: RUNS });
  const med = (k, f) => median(results[k].map((x) => x[f]));
  for (const w of Object.keys(WORK)) {
    for (const m of modes) {
      const k = `${m}|${w}`;
      row(`${m} / ${w}: startTask p50`, med(k, 'p50') * 1000, 'µs');
      row(`${m} / ${w}: startTask p99`, med(k, 'p99') * 1000, 'µs');
      row(`${m} / ${w}: throughput (N=${N})`, med(k, 'rate'), 'runs/s');
    }
    // Paired per run, then the median: both cases ran within seconds of each other.
    const added = median(results[`shadow|${w}`].map((s, i) => s.p99 - results[`memory|${w}`][i].p99)) * 1000;
    row(`shadow - memory startTask p99 (${w})`, added, 'µs', '< 20 µs', added < 20);
  }
  const ratio = median(results['sqlite|1ms'].map((s, i) => s.rate / results['memory c10|1ms'][i].rate));
  row('sqlite / memory c10 throughput, 1 ms work (burst)', ratio, 'x', '>= 0.9', ratio >= 0.9);
  const ratioUnl = median(results['sqlite|1ms'].map((s, i) => s.rate / results['memory|1ms'][i].rate));
  row('sqlite / memory (unlimited, legacy) throughput, 1 ms work', ratioUnl, 'x');
  for (const W of WINDOWS) {
    for (const m of modes) row(`${m} / 1ms sustained W=${W}: throughput`, median(sustained[`${m}|W=${W}`].map((x) => x.rate)), 'runs/s');
  }
  // Where sqlite mode's time goes (bench/README point 11): CPU per run, and how busy it keeps the loop.
  for (const m of ['memory c10', 'sqlite']) {
    const k = `${m}|W=${WINDOWS[0]}`;
    row(`${m} / 1ms sustained W=${WINDOWS[0]}: CPU per run`, median(sustained[k].map((x) => x.cpuPerRun)), 'µs');
    row(`${m} / 1ms sustained W=${WINDOWS[0]}: event loop busy`, median(sustained[k].map((x) => x.loopBusy * 100)), '%');
  }
  for (const W of WINDOWS) {
    const r = median(sustained[`sqlite|W=${W}`].map((s, i) => s.rate / sustained[`memory c10|W=${W}`][i].rate));
    if (W === 100) row(`sqlite / memory c10 throughput, 1 ms work, sustained W=${W}`, r, 'x', '>= 0.9', r >= 0.9);
    else row(`sqlite / memory c10 throughput, 1 ms work, sustained W=${W}`, r, 'x');
  }
  writeRows(args.out, rows, { n: N, warmup: WARMUP, results, sustained: { n: N, warmup: SUSTAINED_WARMUP, windows: WINDOWS, results: sustained } });
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
