import { closeModeExecutor, createModeExecutor, loadConfig } from '../../src/compat';
import { createLogger } from '../../src/core/logger';
import { InvalidOptionError } from '../../src/core/errors';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { BackgroundTaskManager, RunRegistry, type Run } from '../../src/manager';
import { tempDb } from './helpers';

const silent = createLogger('silent');

function run(runId: string, moduleId: string): Run {
  return { runId, moduleId, moduleName: moduleId, status: 'queued', createdAt: new Date(), parameters: {} };
}

describe('registerHandler retry policy in sqlite mode', () => {
  let db: ReturnType<typeof tempDb>;
  let registry: RunRegistry;
  let manager: BackgroundTaskManager;
  let executor: ReturnType<typeof createModeExecutor>;

  beforeEach(() => {
    db = tempDb();
    registry = new RunRegistry();
    const config = loadConfig({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_POLL_INTERVAL: '20ms' }, {});
    executor = createModeExecutor(config, registry, { logger: silent });
    manager = new BackgroundTaskManager(registry, { executor, logger: silent });
  });
  afterEach(async () => {
    await closeModeExecutor(executor);
    db.remove();
  });

  async function attemptsOf(runId: string): Promise<number> {
    const store = createSqliteTaskStore({ path: db.dbPath, logger: silent });
    const tasks = await store.list({ limit: 100 });
    await store.close();
    return tasks.find((t) => t.idempotencyKey === runId)!.attempts;
  }

  it('retries a failing run after its backoff and completes it on a later attempt', async () => {
    const handler = jest.fn(async () => undefined);
    expect(manager.registerHandler('flaky', handler, { maxAttempts: 3, retryFailures: true, backoff: { base: '10ms', jitter: 0 } })).toBe(true);
    let calls = 0;
    manager.startTask(run('r-flaky', 'flaky'), async () => {
      calls += 1;
      if (calls < 3) throw new Error(`upstream timeout #${calls}`);
    });
    await manager.waitAll();
    const done = registry.getRun('r-flaky')!;
    expect(done.status).toBe('completed');
    expect(done.exitCode).toBe(0);
    expect(done.errorMessage).toBeUndefined();
    expect(calls).toBe(3);
    // The closure ran each time while its process lived; the durable handler was not needed.
    expect(handler).not.toHaveBeenCalled();
    expect(await attemptsOf('r-flaky')).toBe(3);
  });

  it('fails the run with the last error once the attempts are used up', async () => {
    manager.registerHandler('broken', async () => undefined, { maxAttempts: 2, retryFailures: true, backoff: { base: 5, jitter: 0 } });
    let calls = 0;
    manager.startTask(run('r-broken', 'broken'), async () => {
      calls += 1;
      throw new Error(`disk quota exceeded #${calls}`);
    });
    await manager.waitAll();
    const failed = registry.getRun('r-broken')!;
    expect(failed.status).toBe('failed');
    expect(failed.errorMessage).toBe('disk quota exceeded #2');
    expect(failed.completedAt).toBeInstanceOf(Date);
    expect(calls).toBe(2);
    expect(await attemptsOf('r-broken')).toBe(2);
  });

  it('an attempt that rejects with an unreadable value (a revoked Proxy) is retried with that said as its error', async () => {
    manager.registerHandler('odd', async () => undefined, { maxAttempts: 2, retryFailures: true, backoff: { base: 5, jitter: 0 } });
    let calls = 0;
    manager.startTask(run('r-odd', 'odd'), async () => {
      calls += 1;
      if (calls > 1) return;
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      throw proxy;
    });
    await manager.waitAll();
    expect(registry.getRun('r-odd')!.status).toBe('completed');
    const store = createSqliteTaskStore({ path: db.dbPath, logger: silent });
    const [task] = (await store.list({ limit: 10 })).filter((t) => t.idempotencyKey === 'r-odd');
    await store.close();
    // The first attempt's error, kept as history: the value's own description, not a TypeError from reading it.
    expect(task!.lastError).toMatch(/unreadable/);
    expect(task!.lastError).not.toMatch(/revoked/);
  });

  it('keeps a failure final, as in memory mode, unless retryFailures is set', async () => {
    manager.registerHandler('plain', async () => undefined, { maxAttempts: 5 });
    let calls = 0;
    manager.startTask(run('r-plain', 'plain'), async () => {
      calls += 1;
      throw new Error('bad input file');
    });
    await manager.waitAll();
    expect(registry.getRun('r-plain')!.status).toBe('failed');
    expect(calls).toBe(1);
  });

  it('refuses bad options with a typed error naming the field', () => {
    expect(() => manager.registerHandler('m', async () => undefined, { maxAttempts: 0 })).toThrow(InvalidOptionError);
    expect(() => manager.registerHandler('m', async () => undefined, { maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => manager.registerHandler('m', async () => undefined, { backoff: { base: 'soon' } })).toThrow(/backoff.base/);
    expect(() => manager.registerHandler('m', async () => undefined, { retries: 3 } as never)).toThrow(/options.retries/);
    expect(() => manager.registerHandler('m', async () => undefined, { retryFailures: 'yes' } as never)).toThrow(/retryFailures/);
  });
});
