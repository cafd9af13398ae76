import fs from 'node:fs';
import path from 'node:path';
import { checkParityWithFile, closeModeExecutor, createModeExecutor, loadConfig, type ShadowRunExecutor } from '../../src/compat';
import { ManualClock } from '../../src/core/clock';
import type { Logger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry, type Run } from '../../src/manager';
import { tempDb, type TempDb } from './helpers';

/** A logger that keeps what it was told, by level. */
function capturingLogger(): Logger & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string): void => void lines.push({ level, message });
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

interface Shadow {
  readonly clock: ManualClock;
  readonly registry: RunRegistry;
  readonly executor: ShadowRunExecutor;
  readonly manager: BackgroundTaskManager;
  readonly logger: ReturnType<typeof capturingLogger>;
  runAll(ids: readonly string[]): Promise<void>;
}

/**
 * Shadow mode on `dbPath` with a manual clock. The flush timer never fires during a test (10 min
 * flush delay, and the clock only moves when told): every write or reopen attempt is a flushMirror
 * or waitAll, each right after the clock was moved, so the test does not depend on machine speed.
 */
async function withShadow(dbPath: string, body: (s: Shadow) => Promise<void>): Promise<void> {
  const clock = new ManualClock();
  const logger = capturingLogger();
  const registry = new RunRegistry({ clock });
  const config = loadConfig({ TASKBRIDGE_MODE: 'shadow', TASKBRIDGE_MIRROR_FLUSH_DELAY: '10m', TASKBRIDGE_DB_PATH: dbPath }, {});
  const executor = createModeExecutor(config, registry, { clock, logger }) as ShadowRunExecutor;
  const manager = new BackgroundTaskManager(registry, { executor, logger, clock });
  const runAll = async (ids: readonly string[]): Promise<void> => {
    for (const runId of ids) {
      const run: Run = { runId, moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(clock.now()), parameters: {} };
      manager.startTask(run, async (ctx) => ctx.reportProgress({ percent: 100 }));
    }
    await manager.waitAll();
  };
  try {
    await body({ clock, registry, executor, manager, logger, runAll });
  } finally {
    await closeModeExecutor(executor);
  }
}

describe('shadow mirror whose database cannot be opened at start-up', () => {
  let db: TempDb;
  beforeEach(() => (db = tempDb()));
  afterEach(() => db.remove());

  it('retries the open with a bounded backoff and catches up once the path can be opened', async () => {
    // A regular file where the database's folder should be: mkdir fails even for root.
    const blocker = path.join(db.dir, 'blocker');
    fs.writeFileSync(blocker, 'not a folder');
    const dbPath = path.join(blocker, 'q.db');
    await withShadow(dbPath, async ({ clock, registry, executor, logger, runAll }) => {
      await runAll(['a', 'b', 'c']);
      expect(registry.getRecentRuns().map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
      expect(executor.shadowStats()).toMatchObject({ mirrored: 0, pending: 3, dropped: 0, faults: 1, faultsByCode: { TASKBRIDGE_DATABASE_UNAVAILABLE: 1 } });

      // Before the backoff is over, flushes do not touch the path again.
      clock.advance(999);
      for (let i = 0; i < 5; i++) executor.flushMirror();
      expect(executor.shadowStats().faults).toBe(1);

      // Each failed attempt is a fault; the wait doubles from 1 s and stops growing at 60 s.
      const waits = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000];
      let clockAtLastAttempt = clock.now() - 999;
      for (const [i, wait] of waits.entries()) {
        clock.set(clockAtLastAttempt + wait - 1);
        executor.flushMirror();
        expect({ attempt: i, faults: executor.shadowStats().faults }).toEqual({ attempt: i, faults: 1 + i });
        clock.set(clockAtLastAttempt + wait);
        executor.flushMirror();
        expect({ attempt: i, faults: executor.shadowStats().faults }).toEqual({ attempt: i, faults: 2 + i });
        clockAtLastAttempt = clock.now();
      }
      expect(executor.shadowStats()).toMatchObject({ pending: 3, dropped: 0, faultsByCode: { TASKBRIDGE_DATABASE_UNAVAILABLE: 1 + waits.length } });
      // Ten faults of the same cause, one warning: the first.
      expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toHaveLength(1);

      // The volume arrives late: the folder now exists. The next attempt opens and writes the backlog.
      fs.rmSync(blocker);
      fs.mkdirSync(blocker);
      clock.advance(60_000);
      executor.flushMirror();
      expect(executor.shadowStats()).toMatchObject({ mirrored: 3, pending: 0, dropped: 0, faults: 1 + waits.length });
      expect(logger.lines.some((l) => l.level === 'info' && /opened its database/.test(l.message))).toBe(true);

      await runAll(['d']);
      expect(executor.shadowStats()).toMatchObject({ mirrored: 4, pending: 0, faults: 1 + waits.length });
      const report = checkParityWithFile(registry, dbPath, { reportUnknownRows: true }, clock);
      expect(report).toMatchObject({ checked: 4, matched: 4, mismatches: [] });
    });
  });

  it('a mirror file deleted under a running process is not reopened: it stays stopped for good', async () => {
    await withShadow(db.dbPath, async ({ clock, executor, runAll }) => {
      await runAll(['before']);
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(db.dbPath + suffix, { force: true });
      await runAll(['after']);
      expect(executor.shadowStats().faultsByCode.TASKBRIDGE_DATABASE_REPLACED).toBe(1);
      clock.advance(3_600_000);
      await runAll(['later']);
      executor.flushMirror();
      expect(fs.existsSync(db.dbPath)).toBe(false);
      expect(executor.shadowStats()).toMatchObject({ mirrored: 1, faultsByCode: { TASKBRIDGE_DATABASE_REPLACED: 1 } });
    });
  });
});
