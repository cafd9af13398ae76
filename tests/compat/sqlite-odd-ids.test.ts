import { closeModeExecutor, createModeExecutor, loadConfig, planRollback, type ModeExecutor } from '../../src/compat';
import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry, type Run } from '../../src/manager';
import { tempDb, until, type TempDb } from './helpers';

// The contract takes any non-empty string as runId and moduleId; the queue's keys and types are at
// most 1,000 / 200 characters of well-formed Unicode. Each case is past one of those limits.
const ODD: Record<string, { runId: string; moduleId: string }> = {
  'a 1,500-character run id': { runId: `job:${'x'.repeat(1500)}`, moduleId: 'reports' },
  'a run id with a lone surrogate': { runId: 'run-\ud800-1', moduleId: 'reports' },
  'a 300-character module id': { runId: 'run-long-module', moduleId: `module:${'m'.repeat(300)}` },
  'a module id with a lone surrogate': { runId: 'run-odd-module', moduleId: 'mod-\udc00' },
};

const logger = createLogger('silent');
const run = (runId: string, moduleId: string): Run => ({ runId, moduleId, moduleName: 'Odd', status: 'queued', createdAt: new Date(), parameters: { n: 1 } });

function sqliteManager(db: TempDb, env: Record<string, string> = {}): { executor: ModeExecutor; registry: RunRegistry; manager: BackgroundTaskManager } {
  const registry = new RunRegistry();
  const config = loadConfig({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_POLL_INTERVAL: '20ms', ...env }, {});
  const executor = createModeExecutor(config, registry, { logger });
  return { executor, registry, manager: new BackgroundTaskManager(registry, { executor, logger }) };
}

describe('sqlite mode: run and module ids the queue cannot use as they are', () => {
  it.each(Object.entries(ODD))('%s: startTask accepts it as memory mode does, the work runs, the registry keeps the ids', async (_name, ids) => {
    const db = tempDb();
    const { executor, registry, manager } = sqliteManager(db);
    try {
      let seen: string | undefined;
      expect(manager.startTask(run(ids.runId, ids.moduleId), async (ctx) => {
        seen = ctx.runId;
      })).toBe(ids.runId);
      await manager.waitAll();
      expect(seen).toBe(ids.runId);
      expect(registry.getRun(ids.runId)).toMatchObject({ runId: ids.runId, moduleId: ids.moduleId, status: 'completed' });
      expect(registry.getRunsByModule(ids.moduleId).map((r) => r.runId)).toEqual([ids.runId]);
      // Started again once finished: a new run of the same id.
      manager.startTask(run(ids.runId, ids.moduleId), async () => undefined);
      await manager.waitAll();
      expect(registry.getRun(ids.runId)).toMatchObject({ status: 'completed' });
    } finally {
      await closeModeExecutor(executor);
      db.remove();
    }
  });

  it('another process with the module\'s handler runs such a run under its own ids, and the rollback report names them', async () => {
    const db = tempDb();
    const { runId, moduleId } = { runId: `job:${'y'.repeat(1200)}\ud800`, moduleId: `module:${'z'.repeat(250)}` };
    // A starts the run and shuts down before its worker claims it: the run stays queued in the file.
    const a = sqliteManager(db);
    a.manager.registerHandler(moduleId, async () => 'from A');
    a.manager.startTask(run(runId, moduleId), async () => 'closure of A');
    await closeModeExecutor(a.executor);
    const plan = planRollback(db.dbPath, { handledModules: [moduleId] });
    expect(plan.items.map((r) => [r.runId, r.moduleId, r.state, r.hasHandler])).toEqual([[runId, moduleId, 'queued', true]]);

    const b = sqliteManager(db);
    try {
      const handled: Run[] = [];
      b.manager.registerHandler(moduleId, async (r) => {
        handled.push({ ...r });
      });
      await until(() => b.registry.getRun(runId)?.status === 'completed', 'B to run the odd run');
      expect(handled.map((r) => [r.runId, r.moduleId, r.parameters])).toEqual([[runId, moduleId, { n: 1 }]]);
      expect(b.registry.getRun(runId)).toMatchObject({ runId, moduleId, moduleName: 'Odd' });
    } finally {
      await closeModeExecutor(b.executor);
      db.remove();
    }
  });
});
