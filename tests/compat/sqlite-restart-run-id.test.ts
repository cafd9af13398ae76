import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { closeModeExecutor, createModeExecutor, loadConfig, RUN_QUEUE } from '../../src/compat';
import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry } from '../../src/manager';
import { tempDb, until } from './helpers';
import { spawnApp } from './process-helpers';

function statusOf(dbPath: string, key: string): string | undefined {
  const raw = new Database(dbPath, { readonly: true });
  try {
    return (raw.prepare('SELECT status FROM tasks WHERE queue = ? AND idempotency_key = ?').get(RUN_QUEUE, key) as { status: string } | undefined)?.status;
  } finally {
    raw.close();
  }
}

describe('sqlite mode: a run id started again by the process that replaced a crashed one', () => {
  it('runs the new closure at once, instead of attaching to the dead process\'s pinned task (never claimable here, failed later as a lost closure)', async () => {
    const db = tempDb();
    const marker = path.join(db.dir, 'markers');
    // Long leases: the dead process's leases and worker rows stay live for the whole test, so
    // nothing here waits for a lease to run out or for the orphan sweep.
    const env = { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LEASE: '5m', TASKBRIDGE_POLL_INTERVAL: '50ms', TASKBRIDGE_CONCURRENCY: '1' };
    // Module 'report' has only closures, so each run is pinned to the process that started it.
    // With concurrency 1: daily-1 runs, daily-2 is claimed ahead, daily-3 waits queued.
    const first = spawnApp(env, { start: ['daily-1', 'daily-2', 'daily-3'], hang: true, marker, module: 'report' });
    await until(() => first.out().includes('RUNNING daily-1'), 'daily-1 to run');
    await until(() => fs.existsSync(db.dbPath) && statusOf(db.dbPath, 'daily-3') === 'queued', 'daily-3 to be queued');
    first.child.kill('SIGKILL');
    await first.exited;

    const registry = new RunRegistry();
    const logger = createLogger('silent');
    const executor = createModeExecutor(loadConfig(env, {}), registry, { logger });
    const manager = new BackgroundTaskManager(registry, { executor, logger });
    try {
      const ran: string[] = [];
      for (const runId of ['daily-1', 'daily-2', 'daily-3']) {
        manager.startTask({ runId, moduleId: 'report', moduleName: 'Report', status: 'queued', createdAt: new Date(), parameters: {} }, async () => {
          ran.push(runId);
        });
      }
      await until(() => ['daily-1', 'daily-2', 'daily-3'].every((id) => registry.getRun(id)?.status === 'completed'), 'the three runs to complete here', 20_000)
        .catch((err: Error) => {
          throw new Error(`${err.message}; registry: ${JSON.stringify(registry.getRunsByModule('report').map((r) => [r.runId, r.status, r.errorMessage]))}`);
        });
      expect(ran.sort()).toEqual(['daily-1', 'daily-2', 'daily-3']);
      await manager.waitAll();
    } finally {
      await closeModeExecutor(executor);
      db.remove();
    }
  }, 60_000);
});
