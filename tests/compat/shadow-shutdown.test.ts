import Database from 'better-sqlite3';
import { ManualClock } from '../../src/core/clock';
import type { Logger } from '../../src/core/logger';
import { MirrorWriter } from '../../src/compat';
import type { Run } from '../../src/manager';
import { openMirrorStore } from '../../src/queue/sqlite/mirror-store';
import { tempDb, type TempDb } from './helpers';

const running = (runId: string): Run => ({ runId, moduleId: 'm', moduleName: 'M', status: 'running', createdAt: new Date(0), startedAt: new Date(1), parameters: {} });

/** A logger that keeps what it is given. */
function recordingLogger(): Logger & { lines: { level: string; message: string; meta?: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; meta?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, meta?: Record<string, unknown>): void => void lines.push({ level, message, meta });
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

describe('shadow mirror shutdown', () => {
  let db: TempDb;
  beforeEach(() => (db = tempDb()));
  afterEach(() => db.remove());

  it('closing while the database is locked returns, and the states it could not write are counted as dropped and logged by run id', () => {
    const clock = new ManualClock();
    const logger = recordingLogger();
    const writer = new MirrorWriter(openMirrorStore(db.dbPath, clock, 20), { clock, logger, owner: 'o', flushDelayMs: 600_000, leaseMs: 30_000 });
    writer.push(running('a'));
    writer.push(running('b'));
    const locker = new Database(db.dbPath, { timeout: 1 });
    locker.prepare('BEGIN EXCLUSIVE').run();
    try {
      writer.close();
    } finally {
      locker.prepare('COMMIT').run();
      locker.close();
    }
    const stats = writer.stats();
    expect(stats).toMatchObject({ pending: 0, dropped: 2, mirrored: 0 });
    expect(stats.faultsByCode.SQLITE_BUSY).toBe(1);
    const lost = logger.lines.find((l) => l.level === 'error');
    expect(lost?.meta?.runIds).toEqual(['a', 'b']);
    // Closed means closed: a late change is neither queued nor counted.
    writer.push(running('c'));
    expect(writer.stats()).toMatchObject({ pending: 0, dropped: 2 });
  });
});
