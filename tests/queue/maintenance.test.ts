import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ManualClock } from '../../src/core/clock';
import { health } from '../../src/queue/health';
import {
  BackupVerificationError,
  MaintenanceScheduler,
  backupDatabase,
  checkpoint,
  cleanupFinishedTasks,
  restoreDatabase,
  rotatingBackup,
  tableCounts,
} from '../../src/queue/maintenance';
import type { SqliteTaskStore } from '../../src/queue/store-factory';
import { createStrategy } from '../../src/strategies';
import { closeMaintenanceWorkspace, openMaintenanceWorkspace } from './maintenance-workspace';
import { MemoryLogger } from './worker-helpers';

const fifo = createStrategy('fifo');

describe('maintenance', () => {
  let dir: string;
  let file: string;
  let clock: ManualClock;
  let store: SqliteTaskStore;
  let logger: MemoryLogger;

  beforeEach(() => {
    ({ dir, file, clock, store } = openMaintenanceWorkspace('taskbridge-maint-'));
    logger = new MemoryLogger();
  });
  afterEach(() => closeMaintenanceWorkspace({ dir, store }));

  async function finish(type: string, outcome: 'complete' | 'fail' | 'cancel'): Promise<number> {
    const { task } = await store.enqueue({ type, maxAttempts: 1 });
    if (outcome === 'cancel') {
      await store.cancel(task.id);
      return task.id;
    }
    const [claimed] = await store.claim({ workerId: 'w', limit: 1, leaseMs: 60_000, strategy: fifo, types: [type] });
    if (outcome === 'complete') await store.complete(claimed!.task.id, claimed!.token, null);
    else await store.fail(claimed!.task.id, claimed!.token, { message: 'x' });
    return task.id;
  }

  it('retention deletes finished tasks older than each age and never touches queued or running ones', async () => {
    const oldDone = await finish('a', 'complete');
    const oldDead = await finish('b', 'fail');
    const oldCancelled = await finish('c', 'cancel');
    const queued = (await store.enqueue({ type: 'q' })).task.id;
    await store.enqueue({ type: 'r' });
    // A lease long enough to outlive the clock jumps below, so the task stays running.
    await store.claim({ workerId: 'w', limit: 1, leaseMs: 90 * 86_400_000, strategy: fifo, types: ['r'] });
    clock.advance(8 * 86_400_000);
    const newDone = await finish('a', 'complete');
    const db = new Database(file);
    try {
      const result = cleanupFinishedTasks(db, { completedOlderThanMs: 7 * 86_400_000, failedOlderThanMs: 30 * 86_400_000, batchSize: 1 }, { clock, logger });
      expect(result).toEqual({ completed: 1, failed: 0, cancelled: 0, total: 1 });
      expect(await store.get(oldDone)).toBeUndefined();
      expect(await store.get(oldDead)).toBeDefined();
      expect(await store.get(oldCancelled)).toBeDefined();
      expect(await store.get(newDone)).toBeDefined();
      expect(await store.get(queued)).toBeDefined();
      expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'info', message: 'retention cleanup' }));

      clock.advance(1);
      const all = cleanupFinishedTasks(db, { completedOlderThanMs: 0, failedOlderThanMs: 0, cancelledOlderThanMs: 0 }, { clock });
      expect(all.total).toBe(3);
      expect((await store.counts()).byStatus).toMatchObject({ queued: 1, running: 1, completed: 0, failed: 0, cancelled: 0 });
      expect(() => cleanupFinishedTasks(db, { completedOlderThanMs: -1 }, { clock })).toThrow(/completedOlderThanMs/);
    } finally {
      db.close();
    }
  });

  it('a backup verifies and restores to the same rows; a damaged backup is refused', async () => {
    await store.enqueueBatch(Array.from({ length: 30 }, (_, i) => ({ type: 't', payload: { i } })));
    const copy = path.join(dir, 'copy.db');
    const progress: number[] = [];
    const result = await backupDatabase(file, copy, { logger, pagesPerStep: 1, onProgress: (p) => progress.push(p.copiedPages) });
    expect(result.tables.tasks).toBe(30);
    expect(progress[progress.length - 1]).toBe(result.pages);
    expect(fs.statSync(copy).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).filter((n) => n.includes('.partial-'))).toEqual([]);

    const target = path.join(dir, 'restored.db');
    const restored = await restoreDatabase(copy, target);
    expect(restored.tables).toEqual(result.tables);
    const db = new Database(target, { readonly: true });
    try {
      expect(tableCounts(db)).toEqual(result.tables);
    } finally {
      db.close();
    }

    const bytes = fs.readFileSync(copy);
    bytes.fill(0x5a, 4096);
    fs.writeFileSync(copy, bytes);
    await expect(restoreDatabase(copy, path.join(dir, 'other.db'))).rejects.toBeInstanceOf(BackupVerificationError);
    expect(fs.existsSync(path.join(dir, 'other.db'))).toBe(false);
    await expect(backupDatabase(file, file)).rejects.toThrow(/cannot be the database itself/);
  });

  it('restore asks beforeCopy once the backup verified, and a refusal there leaves the target as it was', async () => {
    await store.enqueueBatch(Array.from({ length: 5 }, () => ({ type: 't' })));
    const copy = path.join(dir, 'copy.db');
    await backupDatabase(file, copy);
    await store.enqueue({ type: 'after-backup' });
    const before = fs.readFileSync(file);

    const seen: Record<string, number>[] = [];
    const refuse = (counts: Record<string, number>): void => {
      seen.push(counts);
      throw new Error('workers hold leases');
    };
    await expect(restoreDatabase(copy, file, { beforeCopy: refuse })).rejects.toThrow('workers hold leases');
    expect(seen).toEqual([expect.objectContaining({ tasks: 5 })]);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect((await store.counts()).byStatus.queued).toBe(6);

    // A backup that does not verify is refused before beforeCopy is asked.
    fs.writeFileSync(copy, 'not a database');
    await expect(restoreDatabase(copy, file, { beforeCopy: refuse })).rejects.toBeInstanceOf(BackupVerificationError);
    expect(seen).toHaveLength(1);
  });

  it('rotating backups keep the newest N', async () => {
    await store.enqueue({ type: 't' });
    const backups = path.join(dir, 'backups');
    fs.mkdirSync(backups);
    fs.writeFileSync(path.join(backups, 'unrelated.txt'), 'keep me');
    for (let i = 0; i < 4; i++) {
      await rotatingBackup(file, { directory: backups, keep: 2, clock, logger });
      clock.advance(3_600_000);
    }
    expect(fs.readdirSync(backups).sort()).toEqual(['taskbridge-20260101T020000000Z.db', 'taskbridge-20260101T030000000Z.db', 'unrelated.txt']);
  });

  it('checkpoint truncates the WAL and reports it', () => {
    const db = new Database(file);
    try {
      db.pragma('wal_autocheckpoint = 0');
      db.prepare("INSERT INTO workers VALUES ('x', 1, 'h', 'q', 1, 'fifo', '{}', 0, 0)").run();
      const result = checkpoint(db, { logger });
      expect(result).toMatchObject({ mode: 'TRUNCATE', busy: false, walBytesAfter: 0 });
      expect(result.walBytesBefore).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it('the scheduler validates its options, runs jobs on demand, logs failures instead of throwing, and stops', async () => {
    expect(() => new MaintenanceScheduler({ path: file, checkpoint: { every: '10ms' } })).toThrow(/checkpoint\.every: "10ms"; accepted: a duration from 1s to 2147483647 ms/);
    expect(() => new MaintenanceScheduler({ path: file, retention: { every: '1h', completedOlderThan: 'soon' } })).toThrow(/retention.completedOlderThan/);
    expect(() => new MaintenanceScheduler({ path: file, backup: { every: '1h', directory: dir, keep: 0 } })).toThrow(/backup.keep/);

    await finish('a', 'complete');
    clock.advance(86_400_000 * 8);
    const scheduler = new MaintenanceScheduler({
      path: file,
      clock,
      logger,
      checkpoint: { every: '5m' },
      retention: { every: '1h', completedOlderThan: '7d' },
      backup: { every: '6h', directory: path.join(dir, 'auto'), keep: 1 },
    });
    expect(Object.fromEntries(scheduler.jobs)).toEqual({ checkpoint: 300_000, retention: 3_600_000, backup: 21_600_000 });
    scheduler.start();
    await scheduler.runNow('retention');
    await scheduler.runNow('checkpoint');
    await scheduler.runNow('backup');
    expect((await store.counts()).total).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'auto'))).toHaveLength(1);
    expect(logger.lines.map((l) => l.message)).toEqual(expect.arrayContaining(['retention cleanup', 'wal checkpoint', 'rotating backup']));

    fs.rmSync(path.join(dir, 'auto'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'auto'), 'a file where the folder should be');
    await scheduler.runNow('backup');
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'error', message: 'maintenance backup failed' }));
    await scheduler.stop();
  });

  it('the scheduler never checkpoints, cleans or backs up into a database file overwritten while it runs', async () => {
    // Frames in the WAL are what a checkpoint would copy over the user's content.
    for (let i = 0; i < 20; i++) await finish('a', 'complete');
    const scheduler = new MaintenanceScheduler({
      path: file, clock, logger,
      verifyFile: () => store.verifyFileSync(),
      checkpoint: { every: '5m' },
      retention: { every: '1h', completedOlderThan: '1s' },
      backup: { every: '6h', directory: path.join(dir, 'auto'), keep: 1 },
    });
    scheduler.start();
    const garbage = Buffer.alloc(fs.statSync(file).size, 0x5a);
    fs.writeFileSync(file, garbage); // in place: same inode, as `cp other.bin q.db` does
    clock.advance(86_400_000);
    await scheduler.runNow('checkpoint');
    await scheduler.runNow('retention');
    await scheduler.runNow('backup');
    await scheduler.stop();
    expect(fs.readFileSync(file).equals(garbage)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'auto'))).toBe(false);
    expect(logger.lines.filter((l) => l.message === 'maintenance stopped: the database file changed')).toHaveLength(1);
    expect(logger.lines.map((l) => l.message)).not.toContain('wal checkpoint');
    await store.close();
    expect(fs.readFileSync(file).equals(garbage)).toBe(true);
  });

  it('health reports stale workers and dead tasks, failing only past the thresholds given', async () => {
    await store.registerWorker({ workerId: 'gone', pid: 1, hostname: 'h', queue: 'default', concurrency: 1, strategy: 'fifo', capabilities: {} });
    await finish('d', 'fail');
    clock.advance(120_000);
    const relaxed = health({ path: file, clock });
    expect(relaxed.healthy).toBe(true);
    expect(relaxed.staleWorkers.map((w) => w.workerId)).toEqual(['gone']);
    expect(relaxed.deadLastHour).toBe(1);
    expect(relaxed.checks.find((c) => c.name === 'workers')?.status).toBe('warn');

    const strict = health({ path: file, clock, maxStaleWorkers: 0, maxDeadLastHour: 0 });
    expect(strict.healthy).toBe(false);
    expect(strict.reasons).toEqual([expect.stringMatching(/^1 stale worker\(s\): gone/), expect.stringMatching(/^1 task\(s\) went dead in the last hour/)]);

    clock.advance(3_600_000);
    expect(health({ path: file, clock, maxDeadLastHour: 0 }).deadLastHour).toBe(0);
  });
});
