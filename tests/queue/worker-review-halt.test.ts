import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseReplacedError } from '../../src/core/errors';
import { HandlerRegistry } from '../../src/queue/handler-registry';
import { SqliteTaskStore } from '../../src/queue/sqlite/store';
import { Worker } from '../../src/queue/worker';
import { gate, MemoryLogger, tempDir, waitFor } from './worker-helpers';

// A replaced database file stops the worker with one log line (worker-writes.ts: "per-task failures
// are not logged (the store logged once)"). sqlite mode prefetches a batch, so a halt usually finds
// claims waiting; handing those back fails the same way for every one of them.
describe('worker halted by a replaced database file, holding prefetched claims', () => {
  let cleanup: () => void;
  let dbPath: string;
  let logger: MemoryLogger;
  let store: SqliteTaskStore;

  beforeEach(() => {
    const tmp = tempDir('taskbridge-worker-halt-');
    cleanup = tmp.cleanup;
    dbPath = join(tmp.dir, 'queue.db');
    logger = new MemoryLogger();
    store = new SqliteTaskStore({ path: dbPath, logger });
  });

  afterEach(() => {
    store.closeSync();
    cleanup();
  });

  it('logs no warning per waiting claim it could not hand back', async () => {
    const open = gate();
    const registry = new HandlerRegistry().register('work', () => open.promise);
    store.enqueueBatchSync([{ type: 'work' }, { type: 'work' }, { type: 'work' }]);
    const worker = new Worker(store, registry, { logger, concurrency: 1, prefetch: 2, heartbeatInterval: '10ms', pollInterval: { min: '5ms', max: '10ms' } });
    await worker.start();
    await waitFor(() => store.countsSync().byStatus.running === 3, 'one running, two waiting');
    writeFileSync(dbPath, randomBytes(64 * 1024), { flag: 'r+' });
    expect(() => store.verifyFileSync()).toThrow(DatabaseReplacedError);
    expect(await worker.halted).toBeInstanceOf(DatabaseReplacedError);
    open.open();
    await worker.stop();
    expect(worker.status).toBe('stopped');
    expect(logger.lines.map((l) => [l.level, l.message])).toEqual([
      ['error', 'database file changed while open; the store stopped using it without writing to it'],
      ['error', 'worker stopped: its database file changed under it'],
    ]);
  });
});
