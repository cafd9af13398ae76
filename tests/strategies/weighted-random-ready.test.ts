import { storeFactories, type StoreHarness } from '../queue/store-factories';
import { weightedRandom } from '../../src/strategies';
import type { TaskStore } from '../../src/queue/types';

/** How often, over `draws` claims each handed straight back, the first claim carried `label`. */
async function firstClaimShare(store: TaskStore, label: string, draws: number, extra: { capabilities?: Record<string, string> } = {}): Promise<number> {
  const strategy = weightedRandom();
  let hits = 0;
  for (let i = 0; i < draws; i++) {
    const [c] = await store.claim({ workerId: 'w', limit: 1, leaseMs: 60_000, strategy, ...extra });
    if (c!.task.payload === label) hits++;
    // release: the attempt is not counted and the task keeps its place, so every draw sees the same backlog.
    expect(await store.release(c!.task.id, c!.token)).toBe(true);
  }
  return hits / draws;
}

describe.each(storeFactories)('weighted random weighs ready tasks on the $name store', (factory) => {
  let h: StoreHarness;
  beforeEach(() => {
    h = factory.create({ seed: 99 });
  });
  afterEach(() => h.cleanup());

  // The level draw used the level's queued count, delayed tasks included: 5,000 low-priority tasks
  // scheduled for later made the one ready low-priority task win ~80 % of first claims against ten
  // ready urgent ones, where the documented weights (10 x 1 against 1 x 0.01) give it 0.1 %.
  it('tasks scheduled for later do not add to their level\'s chance', async () => {
    await h.store.enqueueBatch(Array.from({ length: 10 }, () => ({ type: 'w', payload: 'urgent', priority: 0 })));
    await h.store.enqueue({ type: 'w', payload: 'low', priority: 99 });
    await h.store.enqueueBatch(Array.from({ length: 5_000 }, () => ({ type: 'w', payload: 'later', priority: 99, delay: '1h' })));
    expect(await firstClaimShare(h.store, 'low', 400)).toBeLessThan(0.02);
  });

  it('a few hundred delayed tasks do not add to their level\'s chance either', async () => {
    await h.store.enqueueBatch(Array.from({ length: 10 }, () => ({ type: 'w', payload: 'urgent', priority: 0 })));
    await h.store.enqueue({ type: 'w', payload: 'low', priority: 99 });
    await h.store.enqueueBatch(Array.from({ length: 500 }, () => ({ type: 'w', payload: 'retrying', priority: 99, delay: '30s' })));
    // Counted, the 500 delayed tasks gave the low level 5.01 against 10: a third of first claims.
    expect(await firstClaimShare(h.store, 'low', 400)).toBeLessThan(0.02);
  });

  // The ready count of a level with 1,024 or more tasks on both sides of now is capped; a batch
  // claim took the capped count as the level's size and stopped after 1,024 tasks.
  it('a batch claim takes every ready task of a level whose ready count was capped', async () => {
    await h.store.enqueueBatch(Array.from({ length: 1_500 }, () => ({ type: 'w', payload: 'ready', priority: 5 })));
    await h.store.enqueueBatch(Array.from({ length: 1_500 }, () => ({ type: 'w', payload: 'later', priority: 5, delay: '1h' })));
    const claimed = await h.store.claim({ workerId: 'w', limit: 2_000, leaseMs: 60_000, strategy: weightedRandom() });
    expect(claimed.length).toBe(1_500);
    expect(new Set(claimed.map((c) => c.task.payload))).toEqual(new Set(['ready']));
  });

  it('once the delayed tasks come due they count like any ready task', async () => {
    await h.store.enqueueBatch(Array.from({ length: 10 }, () => ({ type: 'w', payload: 'urgent', priority: 0 })));
    await h.store.enqueueBatch(Array.from({ length: 2_000 }, () => ({ type: 'w', payload: 'low', priority: 99, delay: '1m' })));
    expect(await firstClaimShare(h.store, 'low', 200)).toBe(0);
    h.clock.advance(60_000);
    // Now 2,000 x 0.01 = 20 against 10: low wins two draws in three.
    const low = await firstClaimShare(h.store, 'low', 600);
    expect(low).toBeGreaterThan(0.6);
    expect(low).toBeLessThan(0.73);
  });
});
