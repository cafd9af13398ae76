import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { StorageFullError } from '../../src/core/errors';
import { HandlerRegistry } from '../../src/queue/handler-registry';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import { Worker } from '../../src/queue/worker';
import { SILENT, dump, report, tempDir, waitFor } from './harness';
import { checkInvariant } from './invariant';

/**
 * max_page_count is a per-connection limit, so it is set on the store's own connection (a test-only
 * reach into the store): from then on every write that needs a new page fails with SQLITE_FULL,
 * exactly as on a full disk.
 */
function connectionOf(store: SqliteTaskStore): Database.Database {
  return (store as unknown as { ctx: { db: Database.Database } }).ctx.db;
}

describe('disk full', () => {
  let dir: string;
  let cleanup: () => void;
  let store: SqliteTaskStore;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    store = createSqliteTaskStore({ path: join(dir, 'queue.db'), logger: SILENT });
  });
  afterEach(async () => {
    await store.close();
    cleanup();
  });

  it('enqueue fails with StorageFullError, stored tasks and running workers are untouched, and work resumes when room is made', async () => {
    const dbPath = join(dir, 'queue.db');
    const runs = join(dir, 'runs.txt');
    const ids = (await store.enqueueBatch(Array.from({ length: 10 }, (_, i) => ({ type: 'work', payload: { i } })))).map((r) => r.task.id);
    let open = false;
    const registry = new HandlerRegistry().register('work', async (_p, ctx) => {
      appendFileSync(runs, `${ctx.taskId} start\n`);
      await waitFor(() => open, 30_000, 'the test to open the gate');
      appendFileSync(runs, `${ctx.taskId} done\n`);
      return 'ok';
    });
    const worker = new Worker(store, registry, { concurrency: 2, logger: SILENT, heartbeatInterval: '20ms', leaseDuration: '5s', pollInterval: { min: '5ms', max: '20ms' } });
    await worker.start();
    try {
      await waitFor(() => store.countsSync().byStatus.running === 2, 20_000, 'two tasks running');
      const runningBefore = store.listSync({ status: 'running' }).map((t) => [t.id, t.leaseOwner, t.leaseToken]);

      const db = connectionOf(store);
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      const pad = 'x'.repeat(20_000);
      let accepted = 0;
      let full = 0;
      // Fill what room is left, until the first refusal.
      for (let i = 0; i < 1000 && full === 0; i++) {
        try {
          ids.push((await store.enqueue({ type: 'work', payload: { pad, i } })).task.id);
          accepted++;
        } catch (err) {
          expect(err).toBeInstanceOf(StorageFullError);
          expect(err).toMatchObject({ code: 'TASKBRIDGE_STORAGE_FULL', retryable: true });
          full++;
        }
      }
      expect(full).toBe(1);
      const before = dump(dbPath);
      for (const request of [{ type: 'work', payload: { pad } }, { type: 'work', payload: { pad: pad + pad } }]) {
        await expect(store.enqueue(request)).rejects.toBeInstanceOf(StorageFullError);
        full++;
      }
      await expect(store.enqueueBatch(Array.from({ length: 20 }, (_, i) => ({ type: 'work', payload: { pad, i } })))).rejects.toBeInstanceOf(StorageFullError);
      full++;
      expect(dump(dbPath)).toBe(before);

      // Running workers keep their state: still leased to the same worker, heartbeats still land.
      const beatsBefore = store.listSync({ status: 'running' }).map((t) => t.leaseExpiresAt!.getTime());
      await waitFor(() => store.listSync({ status: 'running' }).some((t, i) => t.leaseExpiresAt!.getTime() > beatsBefore[i]!), 20_000, 'a heartbeat while full');
      expect(store.listSync({ status: 'running' }).map((t) => [t.id, t.leaseOwner, t.leaseToken])).toEqual(runningBefore);
      expect(worker.status).toBe('running');

      // Room is made: everything resumes.
      db.pragma('max_page_count = 1073741823');
      ids.push((await store.enqueue({ type: 'work', payload: { pad, after: true } })).task.id);
      open = true;
      await waitFor(() => store.countsSync().byStatus.completed === ids.length, 20_000, 'all completed');
      const inv = checkInvariant({ dbPath, accepted: ids, runFiles: [runs] });
      expect(inv.problems).toEqual([]);
      expect(inv.doubleRuns).toBe(0);
      report('disk full', { tasks: inv.tasks, acceptedWhileFilling: accepted, faults: full, lost: inv.lost });
    } finally {
      open = true;
      await worker.stop();
    }
  });
});
