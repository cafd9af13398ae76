import { ManualClock } from '../../src/core/clock';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { fifo } from '../../src/strategies/ordered';
import { refused } from '../support/thrown';

describe('the store lease default (leaseDefaults.lease)', () => {
  const clock = new ManualClock(1_000_000);

  it('gives a claim that names no leaseMs the store default, 30s unless set', async () => {
    for (const [leaseDefaults, expected] of [[undefined, 30_000], [{ lease: '2m' }, 120_000], [{ lease: 500 }, 500]] as const) {
      const store = createSqliteTaskStore({ path: ':memory:', clock, leaseDefaults });
      await store.enqueue({ type: 't' });
      const [c] = await store.claim({ workerId: 'w', limit: 1, strategy: fifo });
      expect(c!.task.leaseExpiresAt!.getTime() - clock.now()).toBe(expected);
      await store.close();
    }
  });

  it('lets a claim name its own leaseMs over the default', async () => {
    const store = createSqliteTaskStore({ path: ':memory:', clock, leaseDefaults: { lease: '2m' } });
    await store.enqueue({ type: 't' });
    const [c] = await store.claim({ workerId: 'w', limit: 1, strategy: fifo, leaseMs: 1000 });
    expect(c!.task.leaseExpiresAt!.getTime() - clock.now()).toBe(1000);
    await store.close();
  });

  it('expires a default lease when it runs out, and the next claim takes it back', async () => {
    const own = new ManualClock(0);
    const store = createSqliteTaskStore({ path: ':memory:', clock: own, leaseDefaults: { lease: '10s' } });
    const id = (await store.enqueue({ type: 't' })).task.id;
    await store.claim({ workerId: 'w1', limit: 1, strategy: fifo });
    own.advance(9_999);
    expect(await store.claim({ workerId: 'w2', limit: 1, strategy: fifo })).toEqual([]);
    own.advance(1);
    const [again] = await store.claim({ workerId: 'w2', limit: 1, strategy: fifo });
    expect(again!.task).toMatchObject({ id, attempts: 2, leaseOwner: 'w2' });
    await store.close();
  });

  it('refuses a default lease outside 1 ms .. 365 days, naming it', () => {
    for (const lease of [0, '400d', 'long']) {
      const err = refused(() => createSqliteTaskStore({ path: ':memory:', leaseDefaults: { lease } }));
      expect(err.field).toBe('leaseDefaults.lease');
    }
  });
});
