import Database from 'better-sqlite3';
import { ManualClock } from '../../src/core/clock';
import { InvalidOptionError } from '../../src/core/errors';
import { checkpoint, cleanupFinishedTasks, MaintenanceScheduler } from '../../src/queue/maintenance';
import type { SqliteTaskStore } from '../../src/queue/store-factory';
import { createStrategy } from '../../src/strategies';
import { closeMaintenanceWorkspace, openMaintenanceWorkspace } from './maintenance-workspace';

const fifo = createStrategy('fifo');

describe('maintenance refuses bad input with nothing written', () => {
  let dir: string;
  let file: string;
  let clock: ManualClock;
  let store: SqliteTaskStore;

  beforeEach(() => {
    ({ dir, file, clock, store } = openMaintenanceWorkspace('taskbridge-maint-bad-'));
  });
  afterEach(() => closeMaintenanceWorkspace({ dir, store }));

  async function completeOne(): Promise<number> {
    const { task } = await store.enqueue({ type: 'a' });
    const [claimed] = await store.claim({ workerId: 'w', limit: 1, leaseMs: 60_000, strategy: fifo });
    await store.complete(claimed!.task.id, claimed!.token, null);
    return task.id;
  }

  it('a cleanup with one bad age deletes nothing, not even the statuses whose age was valid', async () => {
    const done = await completeOne();
    clock.advance(10 * 86_400_000);
    const db = new Database(file);
    try {
      expect(() => cleanupFinishedTasks(db, { completedOlderThanMs: 0, failedOlderThanMs: -1 }, { clock })).toThrow(InvalidOptionError);
      expect(() => cleanupFinishedTasks(db, { completedOlderThanMs: 0, cancelledOlderThanMs: Number.NaN }, { clock })).toThrow(/cancelledOlderThanMs/);
      expect(await store.get(done)).toBeDefined();
    } finally {
      db.close();
    }
  });

  it('a cleanup policy with an unknown key is refused, naming it, instead of silently deleting nothing', async () => {
    const done = await completeOne();
    clock.advance(10 * 86_400_000);
    const db = new Database(file);
    try {
      const policy = { completedOlderThan: 0 } as unknown as Parameters<typeof cleanupFinishedTasks>[1];
      expect(() => cleanupFinishedTasks(db, policy, { clock })).toThrow(/policy\.completedOlderThan.*completedOlderThanMs/);
      expect(await store.get(done)).toBeDefined();
    } finally {
      db.close();
    }
  });

  it('checkpoint refuses an unknown mode with a typed error, and the scheduler refuses it at construction', () => {
    const db = new Database(file);
    try {
      const mode = 'FAST' as unknown as 'PASSIVE';
      expect(() => checkpoint(db, { mode })).toThrow(InvalidOptionError);
      expect(() => checkpoint(db, { mode })).toThrow(/mode.*FAST.*PASSIVE, FULL, RESTART, TRUNCATE/);
      expect(() => new MaintenanceScheduler({ path: file, checkpoint: { every: '1m', mode } })).toThrow(/checkpoint\.mode/);
    } finally {
      db.close();
    }
  });
});
