import { ManualClock } from '../../src/core/clock';
import { ConfigError } from '../../src/core/errors';
import { TYPES } from '../../src/core/tokens';
import { createContainer, shutdown } from '../../src/container';
import { ShadowRunExecutor, SqliteRunExecutor, TakeoverExecutor, type TaskbridgeConfig } from '../../src/compat';
import { BackgroundTaskManager, RunRegistry } from '../../src/manager';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { lifo } from '../../src/strategies';
import { tempDb } from './helpers';

describe('createContainer', () => {
  it('binds every service and the resolved manager follows the flag from the config object', async () => {
    const db = tempDb();
    const container = createContainer({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LOG_LEVEL: 'silent' });
    try {
      const config = container.get<TaskbridgeConfig>(TYPES.Config);
      expect(config.mode).toBe('sqlite');
      const manager = container.get<BackgroundTaskManager>(TYPES.BackgroundTaskManager);
      expect(manager.executor).toBeInstanceOf(SqliteRunExecutor);
      expect(container.get(TYPES.BackgroundTaskManager)).toBe(manager);
      expect(manager.registry).toBe(container.get<RunRegistry>(TYPES.RunRegistry));
      for (const token of [TYPES.Clock, TYPES.Logger, TYPES.Random, TYPES.StrategyFactory, TYPES.Strategy, TYPES.HandlerRegistry, TYPES.TaskStore]) {
        expect(container.get(token)).toBeDefined();
      }
      manager.startTask({ runId: 'c1', moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(), parameters: {} }, async () => undefined);
      await manager.waitAll();
      expect(manager.registry.getRun('c1')?.status).toBe('completed');
    } finally {
      await shutdown(container);
      db.remove();
    }
  });

  it('a sqlite-mode manager takes its store from TYPES.TaskStoreFactory and its claim order from TYPES.Strategy', async () => {
    const db = tempDb();
    const container = createContainer({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_CONCURRENCY: '1', TASKBRIDGE_LOG_LEVEL: 'silent' });
    let stores = 0;
    container.rebindSync(TYPES.TaskStoreFactory).toConstantValue(() => {
      stores += 1;
      return createSqliteTaskStore({ path: db.dbPath });
    });
    container.rebindSync(TYPES.Strategy).toConstantValue(lifo);
    try {
      const manager = container.get<BackgroundTaskManager>(TYPES.BackgroundTaskManager);
      expect(stores).toBe(1);
      const order: string[] = [];
      for (const runId of ['a', 'b', 'c']) {
        manager.startTask({ runId, moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(), parameters: {} }, async () => {
          order.push(runId);
        });
      }
      await manager.waitAll();
      expect(order).toEqual(['c', 'b', 'a']);
    } finally {
      await shutdown(container);
      db.remove();
    }
  });

  it('defaults to memory mode and lets tests rebind the clock', async () => {
    const container = createContainer({ TASKBRIDGE_LOG_LEVEL: 'silent', TASKBRIDGE_MODE: 'memory' });
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    container.rebindSync(TYPES.Clock).toConstantValue(clock);
    const manager = container.get<BackgroundTaskManager>(TYPES.BackgroundTaskManager);
    expect(manager.executor).toBeInstanceOf(TakeoverExecutor);
    manager.startTask({ runId: 't', moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: undefined as unknown as Date, parameters: {} }, async () => undefined);
    await manager.waitAll();
    expect(manager.registry.getRun('t')?.completedAt?.getTime()).toBe(clock.now());
    await shutdown(container);
  });

  it('shadow mode resolves a shadow executor', async () => {
    const db = tempDb();
    const container = createContainer({ TASKBRIDGE_MODE: 'shadow', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LOG_LEVEL: 'silent' });
    expect(container.get<BackgroundTaskManager>(TYPES.BackgroundTaskManager).executor).toBeInstanceOf(ShadowRunExecutor);
    await shutdown(container);
    db.remove();
  });

  it('a wrong value or key refuses start-up with ConfigError', () => {
    expect(() => createContainer({ TASKBRIDGE_MODE: 'cloud' })).toThrow(ConfigError);
    expect(() => createContainer({ MODE: 'sqlite' } as never)).toThrow(/MODE/);
  });

  it('sqlite mode refuses to start on an unopenable database by default, and falls back to memory when told to', async () => {
    const db = tempDb();
    require('node:fs').writeFileSync(db.dbPath, 'garbage garbage garbage garbage');
    const refuse = createContainer({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LOG_LEVEL: 'silent' });
    expect(() => refuse.get(TYPES.BackgroundTaskManager)).toThrow(/not a taskbridge SQLite database/);
    const fallback = createContainer({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_FALLBACK: 'memory', TASKBRIDGE_LOG_LEVEL: 'silent' });
    const manager = fallback.get<BackgroundTaskManager>(TYPES.BackgroundTaskManager);
    expect(manager.executor).toBeInstanceOf(TakeoverExecutor);
    manager.startTask({ runId: 'f', moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(), parameters: {} }, async () => undefined);
    await manager.waitAll();
    expect(manager.registry.getRun('f')?.status).toBe('completed');
    await shutdown(fallback);
    db.remove();
  });
});
