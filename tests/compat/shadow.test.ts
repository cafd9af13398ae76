import fs from 'node:fs';
import Database from 'better-sqlite3';
import { createLogger } from '../../src/core/logger';
import { SystemClock } from '../../src/core/clock';
import { checkParity, createModeExecutor, loadConfig, ShadowRunExecutor, SHADOW_QUEUE } from '../../src/compat';
import { BackgroundTaskManager, RunRegistry, type Run, type TaskWork } from '../../src/manager';
import { openMirrorStore } from '../../src/queue/sqlite/mirror-store';
import { tempDb, withModeManager, type ModeManager, type TempDb } from './helpers';

const run = (runId: string): Run => ({ runId, moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(), parameters: { id: runId } });

/** The app's view of its runs, without the times (which differ between two executions). */
function outcome(registry: RunRegistry): unknown {
  return registry.getRecentRuns(1000).map((r) => ({ runId: r.runId, status: r.status, errorMessage: r.errorMessage, exitCode: r.exitCode, progress: r.progressPercent }))
    .sort((a, b) => a.runId.localeCompare(b.runId));
}

/** A small app: some runs succeed, one fails, one is cancelled mid-run; `midway` runs while work is in flight. */
async function app(manager: BackgroundTaskManager, midway: () => void): Promise<void> {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const work = (fail: boolean): TaskWork => async (ctx) => {
    ctx.reportProgress({ percent: 50 });
    await gate;
    if (fail) throw new Error('boom');
  };
  for (let i = 0; i < 5; i++) manager.startTask(run(`ok-${i}`), work(false));
  manager.startTask(run('bad'), work(true));
  manager.startTask(run('cancel-me'), async (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))));
  await new Promise((r) => setImmediate(r));
  midway();
  await manager.cancelTask('cancel-me');
  for (let i = 5; i < 8; i++) manager.startTask(run(`ok-${i}`), work(false));
  release();
  await manager.waitAll();
}

/** Runs `body` with a shadow-mode manager whose mirror flushes 5 ms after a change, on `db` (default: a fresh temp folder). */
function withShadowManager(body: (m: ModeManager<ShadowRunExecutor>) => Promise<void>, db?: TempDb): Promise<void> {
  return withModeManager<ShadowRunExecutor>({ TASKBRIDGE_MODE: 'shadow', TASKBRIDGE_MIRROR_FLUSH_DELAY: '5ms' }, body, db);
}

describe('shadow mode', () => {
  let expected: unknown;
  beforeAll(async () => {
    const registry = new RunRegistry();
    const manager = new BackgroundTaskManager(registry, { executor: createModeExecutor(loadConfig({}, {}), registry, { logger: createLogger('silent') }) });
    await app(manager, () => undefined);
    expected = outcome(registry);
  });

  it('the mirror stores the parameters as they were at startTask, Dates as ISO strings', async () => {
    await withShadowManager(async ({ db, manager }) => {
      const parameters = { since: new Date('2026-01-01T00:00:00Z'), ids: [1] };
      manager.startTask({ ...run('p'), parameters }, async () => undefined);
      // The application reuses its object right after startTask returns, before the mirror flushes.
      parameters.ids.push(2);
      await manager.waitAll();
      const store = openMirrorStore(db.dbPath, new SystemClock());
      const row = store.listQueue(SHADOW_QUEUE).find((r) => r.key === 'p');
      store.close();
      expect((row?.payload as { parameters: unknown }).parameters).toEqual({ since: '2026-01-01T00:00:00.000Z', ids: [1] });
    });
  });

  it('mirrors every run and status change; parity reports zero mismatches', async () => {
    await withShadowManager(async ({ db, registry, executor, manager }) => {
      await app(manager, () => undefined);
      expect(outcome(registry)).toEqual(expected);
      const store = openMirrorStore(db.dbPath, new SystemClock());
      const report = checkParity(registry, store, { reportUnknownRows: true });
      expect(report.mismatches).toEqual([]);
      expect(report.checked).toBe(10);
      expect(store.listQueue(SHADOW_QUEUE).find((r) => r.key === 'bad')?.lastError).toBe('boom');
      store.close();
      expect(executor.shadowStats().faults).toBe(0);
    });
  });

  it('parity reports each mismatch by run id: missing, status, timestamps', async () => {
    await withShadowManager(async ({ db, registry, manager }) => {
      manager.startTask(run('x'), async () => undefined);
      manager.startTask(run('y'), async () => undefined);
      await manager.waitAll();
      registry.addRun({ ...run('z'), status: 'completed', completedAt: new Date() });
      const raw = new Database(db.dbPath);
      raw.prepare("UPDATE tasks SET status = 'failed' WHERE idempotency_key = 'x'").run();
      raw.prepare("UPDATE tasks SET started_at = started_at + 5 WHERE idempotency_key = 'y'").run();
      raw.close();
      const store = openMirrorStore(db.dbPath, new SystemClock());
      const kinds = checkParity(registry, store).mismatches.map((m) => `${m.runId}:${m.kind}`).sort();
      store.close();
      expect(kinds).toEqual(['x:status', 'y:startedAt', 'z:missing-in-sqlite']);
    });
  });

  it('a database locked mid-run never reaches the app: results identical to memory, the fault counted', async () => {
    await withShadowManager(async ({ db, registry, executor, manager }) => {
      const locker = new Database(db.dbPath, { timeout: 1 });
      try {
        // Another connection holds the write lock for the whole run; the mirror's busy_timeout is short.
        await app(manager, () => locker.prepare('BEGIN EXCLUSIVE').run());
        expect(outcome(registry)).toEqual(expected);
        // waitAll() in app() flushed the mirror, so the write the lock refused has been tried already.
        expect(executor.shadowStats().faults).toBeGreaterThan(0);
        expect(Object.keys(executor.shadowStats().faultsByCode).join()).toMatch(/BUSY|LOCKED/);
        locker.prepare('COMMIT').run();
        executor.flushMirror();
        expect(executor.shadowStats().pending).toBe(0);
      } finally {
        locker.close();
      }
    });
  }, 60_000);

  it('a database made read-only mid-run never reaches the app: results identical to memory, the fault counted', async () => {
    await withShadowManager(async ({ db, registry, executor, manager }) => {
      await app(manager, () => {
        executor.flushMirror();
        fs.chmodSync(db.dbPath, 0o400);
        // Tests may run as root, which ignores file modes; query_only makes the mirror's own
        // connection fail every write with SQLITE_READONLY, the same error a read-only file gives.
        (executor as unknown as { mirror: { store: { db: Database.Database } } }).mirror.store.db.pragma('query_only = 1');
      });
      expect(outcome(registry)).toEqual(expected);
      expect(executor.shadowStats().faults).toBeGreaterThan(0);
      expect(Object.keys(executor.shadowStats().faultsByCode).join()).toMatch(/READONLY/);
      expect(() => executor.shadowStats()).not.toThrow();
    });
  });

  it('an unopenable database in shadow mode is a counted fault, not a start-up error', async () => {
    const db = tempDb();
    fs.writeFileSync(db.dbPath, 'this is not a database at all, not even close');
    await withShadowManager(async ({ registry, executor, manager }) => {
      await app(manager, () => undefined);
      expect(outcome(registry)).toEqual(expected);
      expect(executor.shadowStats().faults).toBeGreaterThanOrEqual(1);
    }, db);
  });
});
