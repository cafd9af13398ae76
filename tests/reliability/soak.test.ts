import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { FIXTURES, SILENT, acceptedIds, exited, lines, nextMessage, report, waitFor, useSandbox } from './harness';
import { checkInvariant } from './invariant';

// A bounded soak: TASKBRIDGE_SOAK_SECONDS (default 45) of 4 `taskbridge worker` processes and 2
// producers, with random handler failures and cancellations, then a drain.
const SECONDS = Number(process.env.TASKBRIDGE_SOAK_SECONDS ?? 45);
const MiB = 1024 * 1024;

describe('soak', () => {
  const box = useSandbox();

  it(`${SECONDS} s of 4 worker processes, 2 producers, failures and cancellations: flat memory, bounded WAL, nothing lost`, async () => {
    const dbPath = join(box.dir, 'queue.db');
    box.store = createSqliteTaskStore({ path: dbPath, logger: SILENT });
    const runFiles = [0, 1, 2, 3].map((k) => join(box.dir, `runs-${k}.txt`));
    const rssFiles = [0, 1, 2, 3].map((k) => join(box.dir, `rss-${k}.txt`));
    const workers = [0, 1, 2, 3].map((k) => box.children.cli(
      ['--db', dbPath, 'worker', '--handlers', join(FIXTURES, 'handlers.js'), '--concurrency', '8', '--checkpoint-every', '2s'],
      { TB_RUNS: runFiles[k]!, TB_RSS: rssFiles[k]!, TB_FAIL_RATE: '0.05', TB_WORK_MS: '1', TASKBRIDGE_LOG_LEVEL: 'warn' },
    ));
    await waitFor(() => workers.every((w) => w.out.join('').includes('started')), 20_000, 'workers started');
    const acceptedFiles = [0, 1].map((k) => join(box.dir, `accepted-${k}.txt`));
    const producers = acceptedFiles.map((file, k) => box.children.fork(join(FIXTURES, 'producer.js'), [], {
      TB_DB: dbPath, TB_ACCEPTED: file, TB_PRODUCER: `p${k}`, TB_BATCH: '10', TB_PAUSE_MS: '15', TB_CANCEL_RATE: '0.2',
    }));
    await Promise.all(producers.map((p) => nextMessage(p, (m) => m === 'ready')));

    const wal = `${dbPath}-wal`;
    let walMax = 0;
    const end = Date.now() + SECONDS * 1000;
    await waitFor(() => {
      if (existsSync(wal)) walMax = Math.max(walMax, statSync(wal).size);
      return Date.now() >= end;
    }, SECONDS * 1000 + 5_000, 'the soak period');

    const producerResults = await Promise.all(producers.map(async (p) => {
      const done = nextMessage<{ stats: { tasks: number; cancels: number; busy: number; other: number; otherCodes: string[] }; rss: { start: number; end: number } }>(p, (m) => typeof m === 'object');
      p.send('stop');
      return done;
    }));
    const s = box.store;
    await waitFor(async () => {
      if (existsSync(wal)) walMax = Math.max(walMax, statSync(wal).size);
      const c = (await s.counts()).byStatus;
      return c.queued === 0 && c.running === 0;
    }, 60_000, 'the drain');
    for (const w of workers) w.kill('SIGTERM');
    const exits = await Promise.all(workers.map(exited));
    expect(exits.map((e) => e.code)).toEqual([0, 0, 0, 0]);

    for (const r of producerResults) expect(r.stats.otherCodes).toEqual([]);
    const inv = checkInvariant({ dbPath, accepted: acceptedFiles.flatMap(acceptedIds), runFiles });
    expect(inv.problems).toEqual([]);
    const workerRss = rssFiles.map((f) => {
      const l = lines(f);
      const start = Number(l.find((x) => x.startsWith('start '))!.split(' ')[1]);
      const last = l.filter((x) => x.startsWith('now ')).pop();
      return { start, end: last === undefined ? start : Number(last.split(' ')[1]) };
    });
    // Flat memory: no process ends far above where it settled (a leak of a few bytes per task over
    // thousands of tasks would show; warm-up of caches and JIT is bounded).
    for (const r of [...workerRss, ...producerResults.map((p) => p.rss)]) expect(r.end).toBeLessThan(r.start + 120 * MiB);
    // Bounded WAL: the 2 s checkpoints keep it far below what the run wrote in total.
    expect(walMax).toBeLessThan(64 * MiB);
    const reasons: Record<string, number> = {};
    for (const t of await s.list({ status: 'failed', limit: 10_000 })) {
      const key = (t.lastError ?? '').replace(/\d+/g, 'N').slice(0, 60);
      reasons[key] = (reasons[key] ?? 0) + 1;
    }
    const failures = runFiles.flatMap(lines).filter((l) => l.endsWith(' fail')).length;
    report('soak', {
      seconds: SECONDS, tasks: inv.tasks, byStatus: inv.byStatus, handlerRuns: inv.startedRuns, injectedFailures: failures,
      cancellations: producerResults.reduce((n, p) => n + p.stats.cancels, 0), producerBusy: producerResults.reduce((n, p) => n + p.stats.busy, 0),
      walMaxBytes: walMax, dbBytes: statSync(dbPath).size,
      rssMiB: [...workerRss, ...producerResults.map((p) => p.rss)].map((r) => `${(r.start / MiB).toFixed(0)}->${(r.end / MiB).toFixed(0)}`),
      failedReasons: reasons, doubleRuns: inv.doubleRuns, lost: inv.lost,
    });
    // Only the injected failures may kill a task (three in a row). Anything else is a healthy task
    // the queue killed: a 10 s trial once ended with 70 % of its tasks dead and this test still passed.
    const unexplained = Object.fromEntries(Object.entries(reasons).filter(([why]) => why !== 'injected failure'));
    expect(unexplained).toEqual({});
  }, (SECONDS + 120) * 1000);
});
