import fs from 'node:fs';
import { ManualClock } from '../../src/core/clock';
import { InvalidOptionError } from '../../src/core/errors';
import { MaintenanceScheduler, type MaintenanceOptions } from '../../src/queue/maintenance';
import type { SqliteTaskStore } from '../../src/queue/store-factory';
import { thrownBy } from '../support/thrown';
import { closeMaintenanceWorkspace, openMaintenanceWorkspace } from './maintenance-workspace';
import { MemoryLogger } from './worker-helpers';

describe('maintenance scheduler (review)', () => {
  let dir: string;
  let file: string;
  let clock: ManualClock;
  let store: SqliteTaskStore;

  beforeEach(() => {
    ({ dir, file, clock, store } = openMaintenanceWorkspace('taskbridge-maint-review-'));
  });
  afterEach(() => closeMaintenanceWorkspace({ dir, store }));

  it('refuses an interval longer than a timer can wait (Node would run the job every 1 ms), naming the field, the value and the limit', () => {
    // 2^31 - 1 ms is about 24.8 days: '30d' or a year used to become a 1 ms loop of backups.
    for (const [options, field, value] of [
      [{ checkpoint: { every: '30d' } }, 'checkpoint.every', '30d'],
      [{ retention: { every: '1y', completedOlderThan: '7d' } }, 'retention.every', '1y'],
      [{ backup: { every: 2 ** 31, directory: dir, keep: 1 } }, 'backup.every', 2 ** 31],
    ] as const) {
      const error = thrownBy(() => new MaintenanceScheduler({ path: file, ...options } as MaintenanceOptions));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ field, value });
      expect((error as Error).message).toContain('2147483647');
    }
    // The longest interval a timer honours is still accepted.
    expect(new MaintenanceScheduler({ path: file, checkpoint: { every: 2 ** 31 - 1 } }).jobs.get('checkpoint')).toBe(2 ** 31 - 1);
  });

  it('refuses a backup folder that is missing, empty or not a string at construction, not at the first backup hours later', () => {
    for (const directory of [undefined, '', '   ', 42]) {
      const options = { path: file, backup: { every: '6h', directory, keep: 3 } } as unknown as MaintenanceOptions;
      const error = thrownBy(() => new MaintenanceScheduler(options));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ field: 'backup.directory', value: directory });
    }
  });

  it('refuses an unknown option (a typo would otherwise keep dead tasks forever, silently), naming it and the known ones', () => {
    const typo = { path: file, retention: { every: '1h', completedOlderThan: '7d', failedOlderthan: '30d' } } as unknown as MaintenanceOptions;
    const error = thrownBy(() => new MaintenanceScheduler(typo));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ field: 'retention.failedOlderthan', value: '30d' });
    expect((error as Error).message).toContain('failedOlderThan');

    const topLevel = { path: file, checkpointEvery: '5m' } as unknown as MaintenanceOptions;
    expect(thrownBy(() => new MaintenanceScheduler(topLevel))).toMatchObject({ field: 'checkpointEvery' });
    const inBackup = { path: file, backup: { every: '1h', directory: dir, keep: 2, prefix: 'x-' } } as unknown as MaintenanceOptions;
    expect(thrownBy(() => new MaintenanceScheduler(inBackup))).toMatchObject({ field: 'backup.prefix' });
    const inCheckpoint = { path: file, checkpoint: { every: '1h', mod: 'PASSIVE' } } as unknown as MaintenanceOptions;
    expect(thrownBy(() => new MaintenanceScheduler(inCheckpoint))).toMatchObject({ field: 'checkpoint.mod' });
  });

  /**
   * A started scheduler that ran one checkpoint, then frames in the WAL (what a checkpoint on close
   * would copy over the file), then the file overwritten in place (same inode, as `cp other.bin q.db`).
   */
  async function checkpointedThenOverwritten(): Promise<{ scheduler: MaintenanceScheduler; logger: MemoryLogger; garbage: Buffer }> {
    const logger = new MemoryLogger();
    const scheduler = new MaintenanceScheduler({ path: file, clock, logger, verifyFile: () => store.verifyFileSync(), checkpoint: { every: '5m' } });
    scheduler.start();
    await scheduler.runNow('checkpoint');
    for (let i = 0; i < 20; i++) await store.enqueue({ type: 't' });
    const garbage = Buffer.alloc(fs.statSync(file).size, 0x5a);
    fs.writeFileSync(file, garbage);
    return { scheduler, logger, garbage };
  }

  it('holds no connection between runs, so closing the store first and the scheduler after never checkpoints into a file overwritten meanwhile', async () => {
    const { scheduler, garbage } = await checkpointedThenOverwritten();
    // The store's close always checks the file: it sees the change and closes without a checkpoint.
    await store.close();
    expect(fs.readFileSync(file).equals(garbage)).toBe(true);
    await scheduler.stop();
    expect(fs.readFileSync(file).equals(garbage)).toBe(true);
  });

  it('after halting on a changed file, a later store close leaves the file as the user put it', async () => {
    const { scheduler, logger, garbage } = await checkpointedThenOverwritten();
    await scheduler.runNow('checkpoint');
    expect(logger.lines.filter((l) => l.message === 'maintenance stopped: the database file changed')).toHaveLength(1);
    await store.close();
    await scheduler.stop();
    expect(fs.readFileSync(file).equals(garbage)).toBe(true);
  });

  it('start, stop and start again while a run is in flight keeps one timer per job, and a final stop ends the runs', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const logger = new MemoryLogger();
      const scheduler = new MaintenanceScheduler({ path: file, clock, logger, checkpoint: { every: '1s' } });
      const runs = (): number => logger.lines.filter((l) => l.message === 'wal checkpoint').length;
      scheduler.start();
      jest.advanceTimersByTime(1000); // the first run begins; its reschedule waits on its promise
      const stopping = scheduler.stop();
      scheduler.start(); // a restart before the stop has finished waiting for that run
      await stopping;
      expect(runs()).toBe(1);
      await jest.advanceTimersByTimeAsync(1000);
      expect(runs()).toBe(2); // one timer for the job, not two
      await scheduler.stop();
      await jest.advanceTimersByTimeAsync(5000);
      expect(runs()).toBe(2);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('runNow of a job that is not configured is refused with a typed error naming the job and the configured ones', async () => {
    const logger = new MemoryLogger();
    const scheduler = new MaintenanceScheduler({ path: file, clock, logger, checkpoint: { every: '5m' } });
    for (const job of ['retention', 'backup', 'vacuum']) {
      const error = await scheduler.runNow(job as 'retention').then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ field: 'job', value: job });
      expect((error as Error).message).toContain('checkpoint');
    }
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
