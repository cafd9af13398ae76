import { StoreBusyError } from '../../src/core/errors';
import { within } from './process-helpers';
import { reviewRun, withStoreManager } from './sqlite-review-helpers';

describe('sqlite mode: the worker could not register (the database stayed locked)', () => {
  it('is started again, and the runs waiting for it run: waitAll resolves', async () => {
    let refusals = 1;
    await withStoreManager({}, async ({ manager, registry }) => {
      let ran = false;
      manager.startTask(reviewRun('r1'), async () => {
        ran = true;
      });
      await within(manager.waitAll(), 'waitAll, with the worker started again', 20_000);
      expect(ran).toBe(true);
      expect(registry.getRun('r1')?.status).toBe('completed');
      expect(refusals).toBe(0);
    }, {
      prepare: (store) => {
        // A backup or VACUUM in another process held the write lock longer than the busy timeout.
        const register = store.registerWorker.bind(store);
        store.registerWorker = async (info) => {
          if (refusals > 0) {
            refusals -= 1;
            throw new StoreBusyError('registerWorker');
          }
          return register(info);
        };
      },
    });
  });
});
