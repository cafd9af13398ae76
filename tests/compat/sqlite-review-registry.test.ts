import { RUN_QUEUE } from '../../src/compat';
import type { TaskState } from '../../src/queue/sqlite/store';
import { until } from './helpers';
import { reviewRun, withStoreManager } from './sqlite-review-helpers';

describe('sqlite mode: what the registry shows for runs this process follows', () => {
  it('a run of a handled module that the worker claimed ahead (prefetch) stays queued, without startedAt, until its work begins', async () => {
    const reads = new Map<number, TaskState>();
    await withStoreManager({ TASKBRIDGE_CONCURRENCY: '1' }, async ({ manager, registry, store }) => {
      manager.registerHandler('m', async () => undefined);
      let release!: () => void;
      let began = false;
      manager.startTask(reviewRun('busy'), () => new Promise<void>((r) => (release = r)));
      manager.startTask(reviewRun('next'), async () => {
        began = true;
      });
      await until(() => registry.getRun('busy')?.status === 'running', 'the first run to start');
      const next = await store.getByIdempotencyKey(RUN_QUEUE, 'next');
      // Claimed behind 'busy' (concurrency 1 prefetches one): leased by this process, not started.
      await until(async () => (await store.getByIdempotencyKey(RUN_QUEUE, 'next'))?.status === 'running', "'next' to be prefetched");
      // A poll that read the claimed task: the registry has seen what the store says about it.
      reads.clear();
      await until(() => reads.get(next!.id)?.status === 'running', 'the poll to read the prefetched task');
      expect(began).toBe(false);
      expect(registry.getRun('next')?.status).toBe('queued');
      expect(registry.getRun('next')?.startedAt).toBeUndefined();
      expect(manager.getActiveTaskIds().sort()).toEqual(['busy', 'next']);
      release();
      await manager.waitAll();
      expect(began).toBe(true);
      expect(registry.getRun('next')).toMatchObject({ status: 'completed', exitCode: 0 });
    }, {
      prepare: (store) => {
        // The poll reads the states of the runs it follows in one batch.
        const taskStatesSync = store.taskStatesSync.bind(store);
        store.taskStatesSync = (...args: Parameters<typeof taskStatesSync>) => {
          const states = taskStatesSync(...args);
          for (const state of states) reads.set(state.id, state);
          return states;
        };
      },
    });
  });
});
