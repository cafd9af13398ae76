import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock';
import { metrics } from '../../src/queue/metrics';
import { SqliteMetricsSource } from '../../src/queue/sqlite/stats';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import { openMaintenanceConnection } from '../../src/queue/maintenance/sqlite-file';
import { createStrategy } from '../../src/strategies';
import { MemoryLogger, tempDir } from './worker-helpers';

/**
 * A worker's leases were looked up by its id in a plain object: an id that names an
 * Object.prototype member (`constructor`, `toString`, `__proto__`, ...) found the member instead of
 * "no leases", so `stats` showed that worker's leases as a function or the prototype, with no
 * `active`/`expired` counts. Worker ids are free text (`--worker-id`, `workerId`).
 */
describe('metrics() for workers whose ids name Object.prototype members', () => {
  let cleanup: () => void;
  let store: SqliteTaskStore;
  let clock: ManualClock;
  let path: string;

  beforeEach(() => {
    const tmp = tempDir('taskbridge-');
    cleanup = tmp.cleanup;
    path = join(tmp.dir, 'q.db');
    clock = new ManualClock();
    store = createSqliteTaskStore({ path, clock, logger: new MemoryLogger() });
  });

  afterEach(async () => {
    await store.close();
    cleanup();
  });

  const info = (workerId: string) => ({ workerId, pid: 1, hostname: 'h', queue: 'default', concurrency: 1, strategy: 'fifo', capabilities: {} });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])('a worker named %s with no task reports zero leases', async (workerId) => {
    await store.registerWorker(info(workerId));
    await store.registerWorker(info('busy'));
    await store.enqueue({ type: 't' });
    await store.claim({ workerId: 'busy', limit: 1, leaseMs: 60_000, strategy: createStrategy('fifo') });
    const db = openMaintenanceConnection(path, { readonly: true });
    try {
      const m = await metrics({ store, source: new SqliteMetricsSource(db), clock });
      const byId = Object.fromEntries(m.workers.list.map((w) => [w.workerId, w.leases]));
      expect(Object.keys(byId).sort()).toEqual(['busy', workerId].sort());
      expect(m.workers.list.find((w) => w.workerId === workerId)!.leases).toEqual({ active: 0, expired: 0 });
      expect(m.workers.list.find((w) => w.workerId === 'busy')!.leases).toEqual({ active: 1, expired: 0 });
      expect(m.leases).toEqual({ active: 1, expired: 0 });
    } finally {
      db.close();
    }
  });
});
