import { ManualClock } from '../../src/core/clock';
import { HandlerRegistry } from '../../src/queue/handler-registry';
import { Worker } from '../../src/queue/worker';
import { MemoryLogger, openStore, tempDir, waitFor } from './worker-helpers';
import type { TaskStore } from '../../src/queue/types';

/**
 * The store takes an attempt's error only as `{ message: string }`. An Error whose `message` (or,
 * when that is empty, `name`) is not a string reached it as is: the store refused the write, the
 * worker logged that it could not record the failure, and the task stayed `running` until its
 * lease expired, then ran again with "lease expired" as its error instead of the handler's.
 */
describe('handlers that throw Errors with odd message or name values', () => {
  let cleanup: () => void;
  let store: TaskStore;
  let worker: Worker | undefined;
  let logger: MemoryLogger;

  beforeEach(() => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    logger = new MemoryLogger();
    worker = undefined;
    // A clock that never moves: no lease can expire during the test.
    store = openStore(tmp.dir, { clock: new ManualClock() });
  });

  afterEach(async () => {
    await worker?.stop({ timeout: 0 });
    await store.close();
    cleanup();
  });

  const oddErrors: [string, () => Error, RegExp][] = [
    ['a number as message', () => Object.assign(new Error('x'), { message: 42 }), /42/],
    ['an object as message', () => Object.assign(new Error('x'), { message: { code: 'E_ODD' } }), /E_ODD/],
    ['an empty message and a number as name', () => Object.assign(new Error(''), { name: 7 }), /7|Error/],
    ['an empty message and an empty name', () => Object.assign(new Error(''), { name: '' }), /Error/],
  ];

  it.each(oddErrors)('an Error with %s fails the attempt at once, with a readable lastError', async (_what, make, expected) => {
    const registry = new HandlerRegistry().register('odd', async () => {
      throw make();
    });
    worker = new Worker(store, registry, { logger, pollInterval: { min: '5ms', max: '20ms' } });
    await worker.start();
    const { task } = await store.enqueue({ type: 'odd', maxAttempts: 1 });
    // The attempt's slot frees once its failure write settled, whatever the store answered.
    await waitFor(async () => (await store.get(task.id))?.attempts === 1 && worker!.activeCount === 0 && !worker!.full, 'the attempt to settle');
    const stored = await store.get(task.id);
    expect(stored).toMatchObject({ status: 'failed' });
    expect(typeof stored!.lastError).toBe('string');
    expect(stored!.lastError).toMatch(expected);
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
