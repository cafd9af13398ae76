import { RUN_QUEUE, runRequest } from '../../src/compat/run-payload';
import type { ClaimedTask } from '../../src/queue/types';
import { tempDb, until } from './helpers';
import { reviewRun, withStoreManager } from './sqlite-review-helpers';

/**
 * A process that started runs of a module with closures only (no handler registered) claims that
 * module's type to run them. It used to claim every run of the type, so it also took runs that a
 * process with the module's handler had started (not pinned to anyone): having neither their
 * closure nor a handler, it failed them as "closure gone", runs that process would have completed.
 */
describe('sqlite mode: a process without a handler leaves the module\'s unpinned runs alone', () => {
  it('claims only its own pinned runs of a module it has no handler for; a process with the handler runs the rest', async () => {
    const db = tempDb();
    try {
      const claimed: string[] = [];
      let claimsSinceForeign = 0;
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      await withStoreManager({}, async (a) => {
        a.manager.startTask(reviewRun('mine'), () => held);
        await until(() => a.registry.getRun('mine')?.status === 'running', 'mine running');
        // A run of module m as a process with m's handler starts it: unpinned, any handler may run it.
        a.store.enqueueSync(runRequest(reviewRun('theirs'), 'owner-of-a-gone-process', { maxAttempts: 3, retryFailures: false, backoff: undefined }, false));
        claimsSinceForeign = 0;
        await until(() => claimsSinceForeign >= 3, 'three claims by the closure-only process');
        expect(claimed).not.toContain('theirs');
        expect(a.store.listSync({ queue: RUN_QUEUE }).find((t) => t.idempotencyKey === 'theirs')).toMatchObject({ status: 'queued', attempts: 0 });
        release();
        await a.manager.waitAll();
        expect(a.registry.getRun('mine')).toMatchObject({ status: 'completed' });
      }, {
        db,
        prepare: (store) => {
          const record = (got: readonly ClaimedTask[]): void => {
            claimsSinceForeign++;
            for (const c of got) claimed.push(c.task.idempotencyKey ?? '');
          };
          const claim = store.claim.bind(store);
          store.claim = async (request) => {
            const got = await claim(request);
            record(got);
            return got;
          };
          const completeAndClaim = store.completeAndClaim.bind(store);
          store.completeAndClaim = async (items, request) => {
            const result = await completeAndClaim(items, request);
            record(result.claimed);
            return result;
          };
        },
      });
      // A process with the module's handler takes the run over and completes it.
      await withStoreManager({}, async (b) => {
        b.manager.registerHandler('m', async () => undefined);
        await until(() => b.store.listSync({ queue: RUN_QUEUE }).find((t) => t.idempotencyKey === 'theirs')?.status === 'completed', 'theirs completed by the handler');
      }, { db });
    } finally {
      db.remove();
    }
  });
});
