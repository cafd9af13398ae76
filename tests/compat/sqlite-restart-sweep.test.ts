import path from 'node:path';
import { closeModeExecutor, createModeExecutor, loadConfig, RUN_QUEUE, type ModeExecutor } from '../../src/compat';
import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry } from '../../src/manager';
import { tempDb, until } from './helpers';
import { readAsLeft, spawnApp, within } from './process-helpers';

/** Status and error of each run's task in the work queue, read as another process would (read-only). */
function queueRows(dbPath: string): Record<string, { status: string; error: string | null }> {
  return readAsLeft(dbPath, (raw) => {
    const rows = raw.prepare('SELECT idempotency_key AS k, status, last_error AS error FROM tasks WHERE queue = ?').all(RUN_QUEUE) as { k: string; status: string; error: string | null }[];
    return Object.fromEntries(rows.map((r) => [r.k, { status: r.status, error: r.error }]));
  }, {});
}

describe('sqlite mode: a process restarted right after a crash', () => {
  it("fails its predecessor's closure-only runs, queued and running, instead of leaving them in the queue for good", async () => {
    const db = tempDb();
    const marker = path.join(db.dir, 'markers');
    // A 5 s lease: the dead process's worker row counts as fresh for 10 s, far longer than the restart takes.
    const env = { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LEASE: '5s', TASKBRIDGE_POLL_INTERVAL: '50ms', TASKBRIDGE_CONCURRENCY: '1' };
    const lost = ['lost-1', 'lost-2', 'lost-3'];
    try {
      // Module 'no-handler' has only closures: each run is pinned to the process that started it.
      // With concurrency 1, lost-1 runs, lost-2 is claimed ahead (prefetched) and lost-3 waits queued.
      const first = spawnApp(env, { start: lost, hang: true, marker, module: 'no-handler' });
      await until(() => first.out().includes('RUNNING lost-1'), 'lost-1 to run');
      await until(() => queueRows(db.dbPath)['lost-2']?.status === 'running', 'lost-2 to be claimed ahead');
      expect(queueRows(db.dbPath)['lost-3']?.status).toBe('queued');
      first.child.kill('SIGKILL');
      await first.exited;

      // The restart: a long-lived process (its own run of module 'job' keeps it busy) with no handler for 'no-handler'.
      const second = spawnApp(env, { start: ['keep'], hang: true, marker });
      try {
        await until(() => second.out().includes('RUNNING keep'), 'the restarted process to run');
        // Two leases after the crash at the latest: the time a process with the module's handler gets to take them over.
        await until(() => lost.every((id) => queueRows(db.dbPath)[id]?.status === 'failed'), 'the lost runs to be failed', 30_000).catch((err: Error) => {
          throw new Error(`${err.message}; the queue holds ${JSON.stringify(queueRows(db.dbPath))}`);
        });
        for (const id of lost) expect(queueRows(db.dbPath)[id]?.error).toMatch(/closure passed to startTask is gone.*no handler is registered for module no-handler/);
      } finally {
        second.child.kill('SIGKILL');
        await within(second.exited, 'the restarted process to end');
      }
    } finally {
      db.remove();
    }
  }, 60_000);

  it("leaves them to a live process that registered the module's handler, which runs them", async () => {
    const db = tempDb();
    const marker = path.join(db.dir, 'markers');
    const env = { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LEASE: '5s', TASKBRIDGE_POLL_INTERVAL: '50ms', TASKBRIDGE_CONCURRENCY: '1' };
    const lost = ['lost-1', 'lost-2', 'lost-3'];
    // This test process is a serving replica that has the handler of 'no-handler' (the app processes do not).
    const registry = new RunRegistry();
    const executor = createModeExecutor(loadConfig(env, {}), registry, { logger: createLogger('silent') }) as ModeExecutor & { serve(): void };
    const manager = new BackgroundTaskManager(registry, { executor, logger: createLogger('silent') });
    const handled: string[] = [];
    try {
      const first = spawnApp(env, { start: lost, hang: true, marker, module: 'no-handler' });
      await until(() => first.out().includes('RUNNING lost-1'), 'lost-1 to run');
      await until(() => queueRows(db.dbPath)['lost-2']?.status === 'running', 'lost-2 to be claimed ahead');
      // Registered while the first process lives: its pinned runs stay its own.
      manager.registerHandler('no-handler', async (r) => {
        handled.push(r.runId);
      });
      executor.serve();
      expect(manager.getActiveTaskIds()).toEqual([]);
      first.child.kill('SIGKILL');
      await first.exited;
      const second = spawnApp(env, { start: ['keep'], hang: true, marker });
      try {
        await until(() => second.out().includes('RUNNING keep'), 'the restarted process to run');
        await until(() => lost.every((id) => queueRows(db.dbPath)[id]?.status === 'completed'), 'the lost runs to be completed by the handler', 30_000).catch((err: Error) => {
          throw new Error(`${err.message}; the queue holds ${JSON.stringify(queueRows(db.dbPath))}`);
        });
        expect(handled.sort()).toEqual(lost);
      } finally {
        second.child.kill('SIGKILL');
        await within(second.exited, 'the restarted process to end');
      }
    } finally {
      await closeModeExecutor(executor);
      db.remove();
    }
  }, 60_000);
});
