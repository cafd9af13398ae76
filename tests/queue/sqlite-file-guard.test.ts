import { chmodSync, existsSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseReplacedError } from '../../src/core/errors';
import { HandlerRegistry } from '../../src/queue/handler-registry';
import { SqliteTaskStore } from '../../src/queue/sqlite/store';
import { Worker } from '../../src/queue/worker';
import { fifo } from '../../src/strategies/ordered';
import { advanceUntil, MemoryLogger, tempDir } from './worker-helpers';

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('SqliteTaskStore: the database file changed under an open store', () => {
  let dir: string;
  let cleanup: () => void;
  let dbPath: string;
  let logger: MemoryLogger;
  let store: SqliteTaskStore;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('taskbridge-file-guard-'));
    dbPath = join(dir, 'queue.db');
    logger = new MemoryLogger();
    store = new SqliteTaskStore({ path: dbPath, logger });
    // Committed pages wait in the WAL, which is what a checkpoint on close would copy into the file.
    store.enqueueBatchSync(Array.from({ length: 300 }, (_, i) => ({ type: 'work', payload: { i, pad: 'p'.repeat(300) } })));
  });
  afterEach(() => {
    store.closeSync();
    chmodSync(dbPath, 0o600);
    cleanup();
  });

  const errors = (): string[] => logger.lines.filter((l) => l.level === 'error').map((l) => l.message);

  it('a healthy store still checkpoints on close and removes its WAL', () => {
    expect(() => store.verifyFileSync()).not.toThrow();
    store.closeSync();
    expect(existsSync(`${dbPath}-wal`)).toBe(false);
    const again = new SqliteTaskStore({ path: dbPath, logger });
    expect(again.countsSync().total).toBe(300);
    again.closeSync();
    expect(errors()).toEqual([]);
  });

  it.each([
    ['overwritten with garbage', (): void => writeFileSync(dbPath, randomBytes(64 * 1024), { flag: 'r+' }), 'was overwritten with content that is not an SQLite database'],
    ['truncated to 0 bytes', (): void => truncateSync(dbPath, 0), 'was truncated to 0 bytes'],
    ['truncated below one page', (): void => truncateSync(dbPath, 1000), 'was truncated to 1000 bytes'],
    ['made read-only', (): void => chmodSync(dbPath, 0o400), 'was made read-only (mode 0400)'],
  ])('a file %s in place: every call refuses with DatabaseReplacedError, one error is logged, close writes nothing', async (_name, damage, change) => {
    damage();
    const hash = sha256(dbPath);
    expect(() => store.verifyFileSync()).toThrow(DatabaseReplacedError);
    const calls: (() => unknown)[] = [
      () => store.enqueueSync({ type: 'work' }),
      () => store.claimSync({ workerId: 'w', limit: 1, leaseMs: 1000, strategy: fifo }),
      () => store.getSync(1),
      () => store.countsSync(),
      () => store.completeSync(1, 1),
    ];
    for (const call of calls) {
      expect(call).toThrow(DatabaseReplacedError);
      expect(call).toThrow(`Database ${dbPath} ${change} while taskbridge had it open; the store stopped using it (the file was not modified)`);
    }
    await expect(store.touchWorker('w')).rejects.toMatchObject({ code: 'TASKBRIDGE_DATABASE_REPLACED', retryable: false });
    await expect(store.list()).rejects.toBeInstanceOf(DatabaseReplacedError);
    store.closeSync();
    expect(sha256(dbPath)).toBe(hash);
    expect(errors()).toEqual(['database file changed while open; the store stopped using it without writing to it']);
    expect(() => store.countsSync()).toThrow(/is closed/);
  });

  it('a file changed in place is noticed by close even without any call in between, and close writes nothing', () => {
    writeFileSync(dbPath, randomBytes(32 * 1024));
    const hash = sha256(dbPath);
    store.closeSync();
    expect(sha256(dbPath)).toBe(hash);
    expect(errors()).toHaveLength(1);
  });

  it('a file renamed over the database: calls refuse and the new file is untouched', () => {
    const incoming = join(dir, 'incoming.bin');
    writeFileSync(incoming, randomBytes(64 * 1024));
    const hash = sha256(incoming);
    renameSync(incoming, dbPath);
    expect(() => store.verifyFileSync()).toThrow('was replaced by another file');
    expect(() => store.countsSync()).toThrow(DatabaseReplacedError);
    store.closeSync();
    expect(sha256(dbPath)).toBe(hash);
    expect(errors()).toEqual(['database file changed while open; the store stopped using it without writing to it']);
  });

  it('a deleted database file: calls refuse with a clear error and close creates nothing', () => {
    rmSync(dbPath);
    expect(() => store.verifyFileSync()).toThrow(`Database ${dbPath} was deleted while taskbridge had it open`);
    store.closeSync();
    expect(existsSync(dbPath)).toBe(false);
    writeFileSync(dbPath, ''); // for afterEach's chmod
  });

  it('a worker whose store loses its file stops once and reports it through halted, without a log line per poll or per task', async () => {
    // Fake timers (promise plumbing stays real): after stop() the test moves time far past every
    // poll, heartbeat, retry and error backoff of the worker, so a loop that outlived stop() shows
    // itself in the log on any machine, however slow, and however slow the loop.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const registry = new HandlerRegistry();
      registry.register('work', async () => undefined);
      const worker = new Worker(store, registry, { logger, pollInterval: { min: '5ms', max: '10ms' }, heartbeatInterval: '10ms' });
      await worker.start();
      await advanceUntil(() => store.countsSync().byStatus.completed >= 50, 'some completions');
      writeFileSync(dbPath, randomBytes(64 * 1024), { flag: 'r+' });
      expect(() => store.verifyFileSync()).toThrow(DatabaseReplacedError);
      let error: Error | undefined;
      void worker.halted.then((e) => (error = e));
      await advanceUntil(() => error !== undefined, 'the worker to halt');
      expect(error).toBeInstanceOf(DatabaseReplacedError);
      let stopped = false;
      void worker.stop().then(() => (stopped = true));
      await advanceUntil(() => stopped, 'stop() to resolve');
      expect(worker.status).toBe('stopped');
      // docs/worker.md: when stop() resolves the worker holds no timer, so nothing can loop later.
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(60_000);
      expect(errors()).toEqual([
        'database file changed while open; the store stopped using it without writing to it',
        'worker stopped: its database file changed under it',
      ]);
      expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
    } finally {
      jest.useRealTimers();
    }
  });
});
