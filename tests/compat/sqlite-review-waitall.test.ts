import { until } from './helpers';
import { reviewRun, withStoreManager } from './sqlite-review-helpers';

describe('sqlite mode: waitAll', () => {
  it('waits for a run started while it stops the idle worker', async () => {
    let startLate: (() => void) | undefined;
    await withStoreManager({}, async ({ manager, registry }) => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      // The idle worker's stop unregisters it from the store: a run started right then is started
      // while waitAll is still waiting.
      startLate = () => {
        startLate = undefined;
        manager.startTask(reviewRun('late'), () => gate);
      };
      manager.startTask(reviewRun('first'), async () => undefined);
      let statusOfLateWhenResolved: string | undefined = 'not resolved';
      const waiting = manager.waitAll().then(() => {
        statusOfLateWhenResolved = registry.getRun('late')?.status;
      });
      await until(() => registry.getRun('late')?.status === 'running', "the run started during waitAll to begin");
      expect(statusOfLateWhenResolved).toBe('not resolved');
      release();
      await waiting;
      expect(statusOfLateWhenResolved).toBe('completed');
      expect(manager.getActiveTaskCount()).toBe(0);
    }, {
      prepare: (store) => {
        const unregister = store.unregisterWorker.bind(store);
        store.unregisterWorker = (workerId: string) => {
          startLate?.();
          return unregister(workerId);
        };
      },
    });
  });
});
