import { checkParityWithFile, closeModeExecutor, createModeExecutor, loadConfig, SHADOW_QUEUE } from '../../src/compat';
import { ManualClock } from '../../src/core/clock';
import { InvalidOptionError } from '../../src/core/errors';
import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry, type Run } from '../../src/manager';
import { openMaintenanceConnection } from '../../src/queue/maintenance/sqlite-file';
import { cleanupFinishedTasks } from '../../src/queue/maintenance/retention';
import { openMirrorStore, type MirrorRow } from '../../src/queue/sqlite/mirror-store';
import { tempDb, type TempDb } from './helpers';

const DAY = 24 * 60 * 60 * 1000;
const silent = createLogger('silent');
const run = (runId: string, clock: ManualClock): Run => ({ runId, moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(clock.now()), parameters: {} });

/**
 * A shadow manager on a manual clock: `old` finished ten days before `recent`, both mirrored. The
 * flush timer never fires during a test: waitAll writes the mirror.
 */
async function mirroredHistory(db: TempDb, clock: ManualClock): Promise<{ registry: RunRegistry; close: () => Promise<void> }> {
  const registry = new RunRegistry({ clock });
  const config = loadConfig({ TASKBRIDGE_MODE: 'shadow', TASKBRIDGE_MIRROR_FLUSH_DELAY: '10m', TASKBRIDGE_DB_PATH: db.dbPath }, {});
  const executor = createModeExecutor(config, registry, { clock, logger: silent });
  const manager = new BackgroundTaskManager(registry, { executor, logger: silent, clock });
  manager.startTask(run('old', clock), async () => undefined);
  await manager.waitAll();
  clock.advance(10 * DAY);
  manager.startTask(run('recent', clock), async () => undefined);
  await manager.waitAll();
  return { registry, close: () => closeModeExecutor(executor) };
}

/** What `taskbridge cleanup --completed-older-than 7d` (or a worker's retention) does to the file. */
function cleanupMirror(dbPath: string, clock: ManualClock, olderThanMs: number): void {
  const db = openMaintenanceConnection(dbPath);
  try {
    expect(cleanupFinishedTasks(db, { completedOlderThanMs: olderThanMs }, { clock }).completed).toBe(1);
  } finally {
    db.close();
  }
}

describe('parity after retention on one side', () => {
  let db: TempDb;
  beforeEach(() => (db = tempDb()));
  afterEach(() => db.remove());

  it('runs the mirror deleted by its retention are not reported when finishedSince covers that retention', async () => {
    const clock = new ManualClock();
    const { registry, close } = await mirroredHistory(db, clock);
    try {
      cleanupMirror(db.dbPath, clock, 7 * DAY);
      // Without a window the comparison is as before: the registry still keeps `old` (30 days).
      expect(checkParityWithFile(registry, db.dbPath, {}, clock).mismatches).toEqual([{ runId: 'old', kind: 'missing-in-sqlite', registry: 'completed' }]);
      for (const finishedSince of ['7d', 7 * DAY, new Date(clock.now() - 7 * DAY)]) {
        const report = checkParityWithFile(registry, db.dbPath, { finishedSince }, clock);
        expect({ finishedSince, report }).toEqual({ finishedSince, report: { checked: 1, matched: 1, mismatches: [], skippedActive: 0, skippedBeforeWindow: 1 } });
      }
    } finally {
      await close();
    }
  });

  it('rows the registry dropped with cleanupOldRuns are not reported as missing-in-registry within the window', async () => {
    const clock = new ManualClock();
    const { registry, close } = await mirroredHistory(db, clock);
    try {
      expect(registry.cleanupOldRuns(7)).toBe(1);
      expect(checkParityWithFile(registry, db.dbPath, { reportUnknownRows: true }, clock).mismatches).toEqual([{ runId: 'old', kind: 'missing-in-registry', sqlite: 'completed' }]);
      const report = checkParityWithFile(registry, db.dbPath, { reportUnknownRows: true, finishedSince: '7d' }, clock);
      expect(report).toEqual({ checked: 1, matched: 1, mismatches: [], skippedActive: 0, skippedBeforeWindow: 1 });
    } finally {
      await close();
    }
  });

  it('a run unfinished on either side is compared whatever the window', async () => {
    const clock = new ManualClock();
    const longAgo = clock.now() - 60 * DAY;
    const registry = new RunRegistry({ clock });
    // Finished long ago in the registry, but its mirror row kept an unfinished state (a cutover would adopt it).
    registry.addRun({ ...run('stale-row', clock), status: 'completed', startedAt: new Date(longAgo), completedAt: new Date(longAgo), exitCode: 0 });
    // Active in the registry with no row at all.
    registry.addRun({ ...run('active-unmirrored', clock), status: 'running', startedAt: new Date(longAgo) });
    const row = (key: string, status: 'running' | 'completed', finishedAt: number | null): MirrorRow => ({
      key, type: 'm', payload: {}, status, createdAt: longAgo, startedAt: longAgo, finishedAt, lastError: null, progress: null,
      leaseOwner: finishedAt === null ? 'gone' : null, leaseExpiresAt: finishedAt === null ? longAgo : null,
    });
    const store = openMirrorStore(db.dbPath, clock);
    try {
      store.upsertMany(SHADOW_QUEUE, [row('stale-row', 'running', null), row('orphan-row', 'running', null), row('old-unknown', 'completed', longAgo)]);
    } finally {
      store.close();
    }
    const report = checkParityWithFile(registry, db.dbPath, { finishedSince: '7d', includeActive: true, reportUnknownRows: true }, clock);
    expect(report.mismatches).toHaveLength(4);
    expect(report.mismatches).toEqual(expect.arrayContaining([
      { runId: 'stale-row', kind: 'status', registry: 'completed', sqlite: 'running' },
      { runId: 'stale-row', kind: 'completedAt', registry: new Date(longAgo).toISOString(), sqlite: undefined },
      { runId: 'active-unmirrored', kind: 'missing-in-sqlite', registry: 'running' },
      { runId: 'orphan-row', kind: 'missing-in-registry', sqlite: 'running' },
    ]));
    expect(report).toMatchObject({ checked: 2, skippedBeforeWindow: 1 });
  });

  it('a finishedSince that is neither a Date nor a duration is refused, naming the option', () => {
    const registry = new RunRegistry();
    for (const bad of ['seven days', -1, new Date('not a date'), null, {}]) {
      let thrown: unknown;
      try {
        checkParityWithFile(registry, db.dbPath, { finishedSince: bad as never });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(InvalidOptionError);
      expect((thrown as Error).message).toMatch(/^Invalid finishedSince: .*; accepted: a Date/);
    }
  });
});
