import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { FIXTURES, SILENT, acceptedIds, lines, nextMessage, report, waitFor, useSandbox } from './harness';
import { checkInvariant } from './invariant';

interface ProducerStats { batches: number; tasks: number; busy: number; full: number; other: number; otherCodes: string[]; cancels: number }

describe('lock storms', () => {
  const box = useSandbox();

  it('while another process holds the write lock past busy_timeout, 4 workers and 2 producers see only typed retryable errors and nothing is half-written', async () => {
    const dbPath = join(box.dir, 'queue.db');
    box.store = createSqliteTaskStore({ path: dbPath, logger: SILENT });
    const busyTimeout = '100ms';
    const runFiles = [0, 1, 2, 3].map((k) => join(box.dir, `runs-${k}.txt`));
    const logFiles = [0, 1, 2, 3].map((k) => join(box.dir, `log-${k}.jsonl`));
    const workers = runFiles.map((runs, k) => box.children.fork(join(FIXTURES, 'worker.js'), [], {
      TB_DB: dbPath, TB_RUNS: runs, TB_WORKER_ID: `w${k}`, TB_BUSY_TIMEOUT: busyTimeout, TB_LOG: logFiles[k]!, TB_LEASE: '3s',
    }));
    await Promise.all(workers.map((w) => nextMessage(w, (m) => m === 'ready')));
    const acceptedFiles = [0, 1].map((k) => join(box.dir, `accepted-${k}.txt`));
    const producers = acceptedFiles.map((file, k) => box.children.fork(join(FIXTURES, 'producer.js'), [], {
      TB_DB: dbPath, TB_ACCEPTED: file, TB_PRODUCER: `p${k}`, TB_BATCH: '5', TB_BUSY_TIMEOUT: busyTimeout,
    }));
    await Promise.all(producers.map((p) => nextMessage(p, (m) => m === 'ready')));

    // Hold the lock for 600 ms at a time: longer than busy_timeout plus the box.store's internal retries.
    const locker = box.children.fork(join(FIXTURES, 'locker.js'), [], { TB_DB: dbPath, TB_HOLD_MS: '600', TB_GAP_MS: '250', TB_STORMS: '8' });
    const storm = await nextMessage<{ storms: number; heldMs: number }>(locker);

    const stats = await Promise.all(producers.map(async (p) => {
      const done = nextMessage<{ stats: ProducerStats }>(p, (m) => typeof m === 'object');
      p.send('stop');
      return (await done).stats;
    }));
    const accepted = acceptedFiles.flatMap(acceptedIds);
    const s = box.store;
    await waitFor(async () => {
      const c = (await s.counts()).byStatus;
      return c.queued === 0 && c.running === 0;
    }, 60_000, 'every accepted task finished');
    const rss = await Promise.all(workers.map(async (w) => {
      const done = nextMessage<{ rss: unknown }>(w, (m) => typeof m === 'object');
      w.send('stop');
      return (await done).rss;
    }));
    void rss;

    // No caller saw a raw SQLITE_BUSY: producers got only TASKBRIDGE_BUSY (retryable), workers logged only typed errors.
    for (const st of stats) expect(st.otherCodes).toEqual([]);
    const logLines = logFiles.flatMap(lines);
    const raw = logLines.filter((l) => /SQLITE_BUSY|database is locked/i.test(l));
    expect(raw).toEqual([]);
    const workerBusy = logLines.filter((l) => l.includes('Database busy')).length;

    // Nothing half-written: a refused batch has no row at all; every stored batch is whole.
    const db = new Database(dbPath, { readonly: true });
    const payloads = (db.prepare('SELECT payload FROM tasks').pluck().all() as string[]).map((p) => JSON.parse(p) as { producer: string; batch: number; size: number });
    db.close();
    const perBatch = new Map<string, number>();
    for (const p of payloads) perBatch.set(`${p.producer}/${p.batch}`, (perBatch.get(`${p.producer}/${p.batch}`) ?? 0) + 1);
    for (const n of perBatch.values()) expect(n).toBe(5);
    const refused = acceptedFiles.flatMap((f, k) => lines(f).filter((l) => l.startsWith('refused ')).map((l) => `p${k}/${l.split(' ')[1]}`));
    for (const key of refused) expect(perBatch.has(key)).toBe(false);

    const inv = checkInvariant({ dbPath, accepted, runFiles });
    expect(inv.problems).toEqual([]);
    const attempts = stats.reduce((n, st) => n + st.batches + st.busy, 0);
    const busy = stats.reduce((n, st) => n + st.busy, 0);
    expect(busy).toBeGreaterThan(0); // the storm did reach the producers
    report('lock storms', {
      tasks: inv.tasks, faults: storm.storms, lockHeldMs: storm.heldMs, producerCalls: attempts, producerBusy: busy,
      busyRate: Number((busy / attempts).toFixed(4)), workerBusyLogLines: workerBusy, doubleRuns: inv.doubleRuns, lost: inv.lost,
    });
  });
});
