import fs from 'node:fs';
import { DatabaseReplacedError } from '../../src/core/errors';
import { thrownBy } from '../support/thrown';
import { until } from './helpers';
import { within } from './process-helpers';
import { reviewRun, withStoreManager } from './sqlite-review-helpers';

describe('sqlite mode: the database file replaced under a running manager', () => {
  it('runs still queued in the lost file are failed with the store error, and waitAll resolves', async () => {
    await withStoreManager({ TASKBRIDGE_CONCURRENCY: '1' }, async ({ manager, registry, store }) => {
      let release!: () => void;
      manager.startTask(reviewRun('busy'), () => new Promise<void>((r) => (release = r)));
      // Concurrency 1 prefetches one run: the others stay queued in the file.
      for (const id of ['q1', 'q2', 'q3']) manager.startTask(reviewRun(id), async () => undefined);
      await until(() => registry.getRun('busy')?.status === 'running', 'the first run to start');

      fs.writeFileSync(`${store.options.path}.other`, 'not a database '.repeat(1000));
      fs.renameSync(`${store.options.path}.other`, store.options.path);
      // Noticed now rather than at the next call after the guard's interval.
      expect(thrownBy(() => store.verifyFileSync())).toBeInstanceOf(DatabaseReplacedError);
      release();

      await within(manager.waitAll(), 'waitAll after the database was replaced', 20_000);
      expect(manager.getActiveTaskCount()).toBe(0);
      const lost = ['q1', 'q2', 'q3'].map((id) => registry.getRun(id)!).filter((r) => r.status !== 'completed');
      // At least the runs that were never claimed; each is failed, says why, and is closed.
      expect(lost.length).toBeGreaterThanOrEqual(1);
      for (const run of lost) {
        expect(run.status).toBe('failed');
        expect(run.errorMessage).toMatch(/was replaced by another file/);
        expect(run.completedAt).toBeInstanceOf(Date);
        expect(run.durationSeconds).toBe(0);
      }
      // A new run is refused with the typed error, as before.
      expect(thrownBy(() => manager.startTask(reviewRun('after'), async () => undefined))).toBeInstanceOf(DatabaseReplacedError);
    });
  });
});
