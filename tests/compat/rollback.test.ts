import { planRollback, RUN_QUEUE } from '../../src/compat';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { tempDb } from './helpers';

describe('rollback plan', () => {
  it('lists every run the queue still holds by id: taken over with a handler, waiting without one', async () => {
    const db = tempDb();
    try {
      const store = createSqliteTaskStore({ path: db.dbPath });
      store.enqueueSync({ type: 'job', queue: RUN_QUEUE, idempotencyKey: 'a', payload: { parameters: {}, run: { moduleName: 'J', createdAt: new Date().toISOString(), owner: 'x' } } });
      store.enqueueSync({ type: 'mail', queue: RUN_QUEUE, idempotencyKey: 'b', payload: {} });
      store.enqueueSync({ type: 'job', queue: RUN_QUEUE, idempotencyKey: 'c', payload: {} });
      const [claimed] = store.claimSync({ workerId: 'w', limit: 1, leaseMs: 60_000, strategy: { kind: 'ordered', name: 'fifo', order: [{ field: 'seq', direction: 'asc' }] }, types: ['job'] });
      expect(claimed!.task.idempotencyKey).toBe('a');
      await store.close();
      const plan = planRollback(db.dbPath, { handledModules: ['job'] });
      expect(plan.total).toBe(3);
      expect(plan.busy).toEqual(['a']);
      expect([...plan.takeOver].sort()).toEqual(['c']);
      expect(plan.waiting).toEqual(['b']);
      expect(planRollback(`${db.dir}/missing.db`).total).toBe(0);
    } finally {
      db.remove();
    }
  });
});
